/**
 * GitHub `push` webhook payload → rows of aoma.git_commits (and a deployment for a pushed release
 * tag). Pure mapping, no database: the `ingest` function writes what this returns.
 *
 * A push payload carries no line counts, so `files_changed` is the number of added + removed +
 * modified paths and insertions/deletions are left out of the rows (stored as 0 for a new commit;
 * a commit already read by `aoma ingest git` keeps its numstat figures). Push payloads have one
 * `timestamp` per commit; it is used for both author and commit time, with its offset as time zone.
 *
 * @example
 * const push = mapGithubPush(payload, { tagPattern: /^v\d/ });
 * push.commits;     // [{ repo: "aoma-mesh", sha: "…", authored_at: "2026-01-05T10:00:00+01:00", … }]
 * push.deployment;  // { deployment_id: "aoma-mesh:tag:v1.2.0", … } or null
 */
import type { IngestReport } from "./report.ts";
import { unstorable } from "./storable.ts";

/**
 * Tags that count as deployments unless GITHUB_DEPLOY_TAG_PATTERN says otherwise — the same default
 * and the same syntax (comma-separated globs or "/regex/") as `aoma ingest git --tags`, so a tag read
 * from the repository and the same tag pushed through the webhook are one deployment.
 */
export { DEFAULT_TAG_PATTERN as DEFAULT_DEPLOY_TAG_PATTERN } from "./git.ts";

/** What a push maps to. */
export interface GithubPush {
  /** Repository name (payload.repository.name), the `repo` of every row. */
  repo: string;
  /** git_commits rows (without insertions/deletions/parents/is_merge: the payload lacks them). */
  commits: Record<string, unknown>[];
  /** The deployment of a pushed tag matching the pattern, else null. */
  deployment: Record<string, unknown> | null;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);
const count = (v: unknown) => (Array.isArray(v) ? v.length : 0);

/** "+0200" from an ISO time's offset ("…+02:00", "…Z"), or null when it has none. */
export function isoOffset(ts: string): string | null {
  if (/Z$/i.test(ts)) return "+0000";
  const m = /([+-])(\d{2}):?(\d{2})$/.exec(ts);
  return m ? `${m[1]}${m[2]}${m[3]}` : null;
}

/** The tag a push payload pushes (`ref` refs/tags/<tag>), or null. */
export function pushedTag(payload: unknown): string | null {
  return isObj(payload) ? /^refs\/tags\/(.+)$/.exec(String(payload.ref))?.[1] ?? null : null;
}

/**
 * Maps a push payload. Commits without a valid sha or timestamp, or holding a NUL character or a
 * lone surrogate (storable.ts), are rejected in `report` with their 1-based position in
 * payload.commits. Throws an Error with a sentence when the payload is not a
 * push (no repository name or ref).
 */
export function mapGithubPush(
  payload: unknown,
  opts: { tagPattern: { test(tag: string): boolean }; report?: IngestReport },
): GithubPush {
  if (!isObj(payload) || !isObj(payload.repository) || !str(payload.repository.name) || !str(payload.ref)) {
    throw new Error("Cannot read the push event: it needs repository.name and ref.");
  }
  const repo = str(payload.repository.name)!;
  const commits: Record<string, unknown>[] = [];
  const list = Array.isArray(payload.commits) ? payload.commits : [];
  list.forEach((c, i) => {
    if (opts.report) opts.report.read++;
    const bad = unstorable(c);
    if (bad) {
      opts.report?.reject(i + 1, bad);
      return;
    }
    const sha = isObj(c) ? str(c.id)?.toLowerCase() : null;
    const ts = isObj(c) ? str(c.timestamp) : null;
    if (!isObj(c) || !sha || !/^[0-9a-f]{7,64}$/.test(sha)) {
      opts.report?.reject(i + 1, "commit without a hexadecimal id");
      return;
    }
    if (!ts || Number.isNaN(Date.parse(ts))) {
      opts.report?.reject(i + 1, `commit ${sha.slice(0, 12)} has no valid timestamp`);
      return;
    }
    const author = isObj(c.author) ? c.author : {};
    const committer = isObj(c.committer) ? c.committer : author;
    const tz = isoOffset(ts);
    commits.push({
      repo,
      sha,
      author_name: str(author.name),
      author_email: str(author.email),
      authored_at: ts,
      author_tz: tz,
      committer_name: str(committer.name),
      committer_email: str(committer.email),
      committed_at: ts,
      committer_tz: tz,
      files_changed: count(c.added) + count(c.removed) + count(c.modified),
      message: typeof c.message === "string" ? c.message : null,
    });
  });

  let deployment: Record<string, unknown> | null = null;
  const tag = pushedTag(payload);
  if (tag && payload.deleted !== true && opts.tagPattern.test(tag)) {
    const head = isObj(payload.head_commit) ? payload.head_commit : {};
    const sha = (str(head.id) ?? str(payload.after))?.toLowerCase() ?? null;
    const pushedAt = payload.repository.pushed_at;
    const deployedAt = typeof pushedAt === "number"
      ? new Date(pushedAt * 1000).toISOString()
      : str(pushedAt) ?? str(head.timestamp) ?? new Date().toISOString();
    deployment = {
      deployment_id: `${repo}:tag:${tag}`, // the id `aoma ingest git` gives the same tag
      repo,
      environment: "production",
      ref: tag,
      sha,
      deployed_at: deployedAt,
      status: "succeeded",
      raw: { source: "github-push", ref: payload.ref, before: payload.before ?? null, after: payload.after ?? null },
    };
  }
  return { repo, commits, deployment };
}
