/**
 * Git ingest: the history of one or many repositories into aoma.repositories, aoma.git_commits and
 * aoma.deployments, incrementally.
 *
 * How it reads: `git log` (Deno.Command, no shell) streams NUL-separated commits with `--numstat -z`
 * (parsed by src/ingest/git_log.ts) while earlier batches are being written: a reader parses up to
 * `readAhead` batches ahead, so git and the database work at the same time.
 * What it reads: every commit reachable from the branch (default: the repository's HEAD branch) and
 * not reachable from the tips already ingested (`--not <old tips>`), so a second run reads only what
 * is new, and a run with nothing new runs no `git log` at all.
 * Cursor: aoma.ingest_state (source 'git', scope = repo name) holds `{ refs: { <ref>: <sha> } }`; it
 * moves only in the transaction of the last batch, so a run killed halfway re-reads from the old
 * tips and, the upsert being idempotent, leaves exactly the rows a clean run leaves.
 * Deployments: tags whose name matches `tagPattern` (deployed_at = tagger date, or commit date for
 * a lightweight tag and an annotated tag without a tagger date; a tag of a tag is peeled to its
 * commit; id "<repo>:tag:<name>"; a matching tag that is no deployment is listed in the report)
 * and, with `mergeDeployments`, the merge commits on the branch's first-parent line
 * (id "<repo>:merge:<sha>", deployed_at = commit time).
 * Merge commits carry no numstat (files/insertions/deletions 0), like the demo data.
 *
 * @example
 * const report = await ingestGit(db, { path: ["../api", "../web"], tagPattern: "v*" }, progress);
 * console.log(report.format());
 */
import type { Db, Queryable } from "../db/types.ts";
import { type IngestReport, type Progress, type Rejection, SILENT } from "./report.ts";
import { runIngest } from "./run.ts";
import { writeBatch } from "./batch.ts";
import { RegexGuard, TIMEOUT } from "./regex_guard.ts";
import { upsertRows } from "./upsert.ts";
import { fallbackDecoder, GIT_LOG_ARGS, type GitCommitRow, GitLogParser, toCommitRow } from "./git_log.ts";

export type { GitCommitRow } from "./git_log.ts";

/** Commits per batch (one transaction each) unless told otherwise. */
export const GIT_BATCH_COMMITS = 5000;
/**
 * A batch also ends once its rows hold this many characters of text (messages, names, e-mails,
 * plus ~400 for the fixed fields of a row as JSON), so a history of long messages (up to 65,536
 * characters each) still holds a bounded amount in memory: ~4 MiB per batch, a few batches at once.
 */
export const GIT_BATCH_CHARS = 4 * 1024 * 1024;
/** Tags that count as deployments unless told otherwise: comma-separated globs. */
export const DEFAULT_TAG_PATTERN = "v[0-9]*,release-*";

/** A row of aoma.deployments written by the git ingest. */
export interface GitDeploymentRow {
  deployment_id: string;
  repo: string;
  environment: string;
  ref: string;
  sha: string;
  deployed_at: string;
  status: "succeeded";
  raw: {
    source: "git-tag" | "git-merge";
    annotated?: boolean;
    /** An annotated tag without a (readable) tagger date: deployed_at is its commit's time. */
    dated?: "commit";
    /** A tag of a tag: `sha` is the commit at the end of the chain. */
    peeled?: boolean;
    parents?: string[];
  };
}

/** The incremental cursor of one repository: the tip commit of every ref already ingested. */
export interface GitCursor {
  refs: Record<string, string>;
  /** The merges behind `refs` were scanned for deployments (else the next merge scan starts over). */
  mergeDeployments?: boolean;
}

/** One batch from readGitCommits: the rows with their log positions, the commits kept out (with theirs), the count read. */
export interface GitCommitBatch {
  rows: GitCommitRow[];
  /** Position in the log of each row (the "line" of a row the database refuses). */
  lines: number[];
  rejections: Rejection[];
  read: number;
}

/** What readGitCommits reads. */
export interface ReadGitOptions {
  /** Repository name written into every row. */
  repo: string;
  /** Commits or refs to read from (default ["HEAD"]). */
  revs?: string[];
  /** Commits already read: their history is skipped (`--not`). */
  exclude?: string[];
  /** Only commits at or after this time (`--since`). */
  since?: string | Date;
  /** Commits per batch (default GIT_BATCH_COMMITS). */
  batchSize?: number;
  /** Characters of text per batch at most, the commit that crosses it included (default GIT_BATCH_CHARS). */
  batchChars?: number;
  /** Batches parsed ahead while the caller is busy with the previous one (default 2). */
  readAhead?: number;
  /** Encoding of text that is not valid UTF-8 (default: the repository's i18n.commitEncoding, else Windows-1252). */
  fallbackEncoding?: string;
}

/** One repository to ingest, and how. */
export interface GitIngestOptions {
  /** Working tree or bare repository; several paths ingest several repositories in one run. */
  path: string | string[];
  /** Repository name (default: the directory name without ".git"); only with a single path. */
  name?: string;
  /** Mark the repository as the deployed service (feeds service_commits); unset keeps what is stored. */
  isService?: boolean;
  /** Branch to read (default: the repository's HEAD branch). */
  branch?: string;
  /** Tags that are deployments: comma-separated globs ("v*,release-*"), "/regex/", a RegExp, or null for none. */
  tagPattern?: string | RegExp | null;
  /** Also count merge commits on the branch's first-parent line as deployments (default false). */
  mergeDeployments?: boolean;
  /** Environment written on deployments (default "production"). */
  environment?: string;
  /**
   * Only commits at or after this time. It bounds the first read; later runs continue from the
   * stored tips, so older history is never read unless the cursor is deleted.
   */
  since?: string | Date;
  /** Commits per batch and transaction (default GIT_BATCH_COMMITS). */
  batchSize?: number;
  /** Refresh the feature views afterwards (default true). */
  refresh?: boolean;
  /** Stops the run between batches (what is written stays; the cursor does not move). */
  signal?: AbortSignal;
}

// ───────────────────────────── running git ─────────────────────────────

/**
 * GIT_FLUSH=0: git writes its output fully buffered. Unset, git flushes after every commit when
 * stdout is a pipe, and the reader then gets one ~500-byte chunk per commit (91,000 reads and as
 * many wake-ups of both processes for 100,000 commits; ~4 KiB chunks with it).
 */
const GIT_ENV = { GIT_TERMINAL_PROMPT: "0", GIT_PAGER: "cat", LC_ALL: "C", GIT_FLUSH: "0" };
const decoder = new TextDecoder();

function gitError(path: string, what: string, stderr: string, code: number): Error {
  const first = stderr.trim().split("\n").find((l) => l.trim() !== "") ?? `exit code ${code}`;
  return new Error(`Cannot ${what} in ${JSON.stringify(path)}: git says "${first.slice(0, 300)}"`);
}

/**
 * Starts git in `path` (no shell); `stdin`, when given, is written and closed (a git that exits
 * before reading it all says why in its exit status, so a write error is not the error).
 */
async function startGit(path: string, args: string[], what: string, stdin?: string): Promise<Deno.ChildProcess> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("git", {
      args: ["-C", path, ...args],
      stdin: stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      env: GIT_ENV,
    }).spawn();
  } catch (e) {
    throw new Error(`Cannot ${what}: git could not be started (${(e as Error).message})`);
  }
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin)).catch(() => {});
    await w.close().catch(() => {});
  }
  return child;
}

/** Runs a short git command and returns its stdout; `null` when `allowFail` and git fails. */
async function git(
  path: string,
  args: string[],
  what: string,
  opts: { stdin?: string; allowFail?: boolean } = {},
): Promise<string | null> {
  const out = await (await startGit(path, args, what, opts.stdin)).output();
  if (!out.success) {
    if (opts.allowFail) return null;
    throw gitError(path, what, decoder.decode(out.stderr), out.code);
  }
  return decoder.decode(out.stdout);
}

/** A streaming git process: its stdout to read, and its exit as an Error with git's own words. */
interface GitStream {
  child: Deno.ChildProcess;
  /** Resolves once git exited: throws gitError(path, what, …) when it failed. */
  finished(): Promise<void>;
  /** Stops git (reading ended early) and waits for it. */
  stop(): Promise<void>;
}

/** Starts a long git command (`git log …`) whose stdout is read as a stream. */
async function spawnGit(path: string, args: string[], what: string, stdin: string): Promise<GitStream> {
  const child = await startGit(path, args, what, stdin);
  let stderrTail = "";
  const stderrDone = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      stderrTail = (stderrTail + chunk).slice(-4000);
    }
  })().catch(() => {});
  return {
    child,
    async finished() {
      const status = await child.status;
      await stderrDone;
      if (!status.success) throw gitError(path, what, stderrTail, status.code);
    },
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.stdout.cancel().catch(() => {});
      await child.status.catch(() => {});
      await stderrDone;
    },
  };
}

const SAFE_REV = /^[^-\s][^\s]*$/;
function checkRev(rev: string, what: string): string {
  if (!SAFE_REV.test(rev)) {
    throw new Error(`Cannot use ${what} ${JSON.stringify(rev)}: a ref or commit must not start with "-" or contain spaces`);
  }
  return rev;
}

/** Revisions for `--stdin`: the tips, then "^<sha>" for each excluded commit (works on git < 2.42, where "--not" is refused there). */
function revList(revs: string[], exclude: string[]): string {
  return [...revs, ...exclude.map((e) => `^${e}`)].join("\n") + "\n";
}

function sinceArg(since: string | Date | undefined): string[] {
  if (since === undefined) return [];
  const d = since instanceof Date ? since : new Date(since);
  if (Number.isNaN(d.getTime())) {
    throw new Error(`Cannot use since ${JSON.stringify(String(since))}: not a date (use e.g. 2025-01-31 or 2025-01-31T12:00:00Z)`);
  }
  return [`--since=${d.toISOString()}`];
}

/** The branch to read: its short name, full ref and tip commit. Detached HEAD reads HEAD. */
async function resolveBranch(path: string, branch?: string): Promise<{ name: string; ref: string; sha: string }> {
  let ref: string;
  if (branch !== undefined) {
    checkRev(branch, "branch");
    ref = (await git(path, ["rev-parse", "--verify", "--quiet", "--symbolic-full-name", branch], "resolve a branch", { allowFail: true }))?.trim() || branch;
  } else {
    ref = (await git(path, ["symbolic-ref", "--quiet", "HEAD"], "read HEAD", { allowFail: true }))?.trim() || "HEAD";
  }
  const sha = (await git(path, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], "resolve a branch", { allowFail: true }))?.trim();
  if (!sha) {
    throw new Error(
      `Cannot read branch ${JSON.stringify(branch ?? "HEAD")} in ${JSON.stringify(path)}: it does not name a commit (an empty repository has nothing to ingest)`,
    );
  }
  let name = ref.replace(/^refs\/(heads|remotes)\//, "");
  if (ref === "HEAD") {
    // detached (e.g. a CI checkout): name the branch the remote calls its default, if any
    const remoteHead = (await git(path, ["symbolic-ref", "--quiet", "refs/remotes/origin/HEAD"], "read origin/HEAD", { allowFail: true }))?.trim();
    name = remoteHead ? remoteHead.replace(/^refs\/remotes\/origin\//, "") : "HEAD";
  }
  return { name, ref, sha };
}

/** The given commits that still exist in the repository (a force-push or gc may remove old tips). */
async function existingCommits(path: string, shas: string[]): Promise<string[]> {
  if (shas.length === 0) return [];
  const out = await git(path, ["cat-file", "--batch-check=%(objectname) %(objecttype)"], "check the stored tips", {
    stdin: shas.map((s) => s + "\n").join(""),
  });
  return (out ?? "").split("\n").map((l) => l.split(" ")).filter((p) => p[1] === "commit").map((p) => p[0]);
}

// ───────────────────────────── deployments ─────────────────────────────

/** Which tag names a tag pattern takes as deployments. */
export interface TagPattern {
  /** Per tag: does it match. A tag a "/regex/" pattern overran its time limit on counts as no match. */
  match(tags: readonly string[]): Promise<boolean[]>;
  /** Tags a "/regex/" pattern overran its time limit on (regex_guard.ts), in the order met. */
  readonly timedOut: string[];
}

type GlobPart = { kind: "char"; ch: string } | { kind: "one" } | { kind: "star" } | { kind: "class"; re: RegExp };

/** One glob ("v[0-9]*") as parts: `*` any text, `?` one character, `[…]` a class (`[!…]` negated), the rest literal. */
function globParts(g: string, whole: string): GlobPart[] {
  const parts: GlobPart[] = [];
  for (let i = 0; i < g.length; i++) {
    const c = g[i];
    if (c === "*") {
      if (parts.at(-1)?.kind !== "star") parts.push({ kind: "star" });
    } else if (c === "?") parts.push({ kind: "one" });
    else if (c === "[" && g.indexOf("]", i + 2) > 0) {
      const end = g.indexOf("]", i + 2);
      const body = g.slice(i + 1, end).replace(/^!/, "^").replace(/\\/g, "\\\\");
      try {
        // a class tests one character: no backtracking
        parts.push({ kind: "class", re: new RegExp(`^[${body}]$`) });
      } catch (e) {
        throw new Error(`Cannot use the tag pattern ${JSON.stringify(whole)}: ${(e as Error).message}`);
      }
      i = end;
    } else parts.push({ kind: "char", ch: c });
  }
  return parts;
}

/**
 * Whether `s` matches the glob `parts` as a whole, in O(length of s × parts): a wildcard match that
 * only ever returns to the last `*` (the regex a glob once compiled to backtracked polynomially on
 * patterns like "*a*a*a*a*b").
 */
function globMatches(parts: readonly GlobPart[], s: string): boolean {
  const one = (p: GlobPart, ch: string) =>
    p.kind === "one" ? ch !== "\n" && ch !== "\r" : p.kind === "char" ? p.ch === ch : p.kind === "class" && p.re.test(ch);
  let p = 0, i = 0, star = -1, resume = 0;
  while (i < s.length) {
    if (p < parts.length && parts[p].kind === "star") {
      star = p++;
      resume = i;
    } else if (p < parts.length && one(parts[p], s[i])) {
      p++;
      i++;
    } else if (star !== -1) {
      p = star + 1;
      i = ++resume;
    } else return false;
  }
  while (p < parts.length && parts[p].kind === "star") p++;
  return p === parts.length;
}

/**
 * Compiles a tag pattern: comma-separated globs (`*` any text, `?` one character, `[…]` a class),
 * "/regex/" or a RegExp. null or "" matches nothing. Globs match in linear time on this thread; a
 * "/regex/" is the caller's and runs in the regex guard (a time limit per tag, regex_guard.ts); a
 * RegExp object comes from code and runs here. Throws an Error with a sentence for a bad pattern.
 *
 * @example
 * const p = compileTagPattern("v*,release-*");
 * await p.match(["v1.2.0", "nightly"]); // [true, false]
 */
export function compileTagPattern(pattern: string | RegExp | null | undefined): TagPattern {
  const timedOut: string[] = [];
  const sync = (test: (tag: string) => boolean): TagPattern => ({ match: (tags) => Promise.resolve(tags.map(test)), timedOut });
  if (pattern === null || pattern === "") return sync(() => false);
  if (pattern instanceof RegExp) return sync((t) => pattern.test(t));
  const p = pattern ?? DEFAULT_TAG_PATTERN;
  const re = /^\/(.+)\/([a-z]*)$/.exec(p);
  if (re) {
    const guard = new RegexGuard(re[1], re[2], { what: `the tag pattern ${JSON.stringify(p)}` });
    return {
      timedOut,
      async match(tags) {
        try {
          const answers = await guard.test(tags);
          answers.forEach((a, i) => a === TIMEOUT && timedOut.push(tags[i]));
          return answers.map((a) => a === true);
        } finally {
          guard.close();
        }
      },
    };
  }
  const globs = p.split(",").map((g) => g.trim()).filter((g) => g !== "").map((g) => globParts(g, p));
  return sync((t) => globs.some((g) => globMatches(g, t)));
}

const RAW_DATE = /^(-?\d{1,15}) [+-]\d{4}$/;
// the range toCommitRow accepts for commit dates (git_log.ts)
const MIN_MS = Date.UTC(1900, 0, 1), MAX_MS = Date.UTC(9999, 11, 31);
/** A raw git date ("<unix seconds> <±hhmm>") as ISO, or null when it is missing, unreadable or absurd. */
const rawToIso = (raw: string) => {
  const m = RAW_DATE.exec(raw.trim());
  const ms = m ? Number(m[1]) * 1000 : NaN;
  return ms >= MIN_MS && ms <= MAX_MS ? new Date(ms).toISOString() : null;
};

/** At most this many tag names are listed in one note of the report; the rest are counted. */
const NOTE_NAMES = 20;
/** "<repo>: <count> <what>: " + the first NOTE_NAMES items + the count of the rest. */
function listNote(repo: string, what: string, items: string[]): string {
  const more = items.length > NOTE_NAMES ? ` and ${items.length - NOTE_NAMES} more` : "";
  return `${repo}: ${items.length} ${what}: ${items.slice(0, NOTE_NAMES).join(", ")}${more}`;
}

/** A tag ref as for-each-ref lists it. */
interface TagRef {
  name: string;
  /** "commit" for a lightweight tag of a commit, "tag" for an annotated one. */
  type: string;
  sha: string;
  /** Type of the object an annotated tag points to ("tag" for a tag of a tag). */
  targetType: string;
  /** The annotated tag's tagger date (raw), "" for a lightweight tag or a tag without a tagger. */
  taggerDate: string;
}

/**
 * Tags matching the pattern, as deployments of the commit they point to — through any chain of tags
 * (a tag of a tag is peeled to its commit). deployed_at is the tag's tagger date, or the commit's
 * time for a lightweight tag and for an annotated tag without a (readable) tagger date. No matching
 * tag is dropped without a line: the report's notes list the tags dated by their commit, the tags
 * of tags, and the tags that are no deployment (a tag of a tree or a blob, a commit whose date
 * cannot be read).
 */
async function tagDeployments(
  path: string,
  repo: string,
  pattern: TagPattern,
  environment: string,
  notes: string[],
): Promise<GitDeploymentRow[]> {
  const out = await git(path, [
    "for-each-ref",
    "--format=%(refname:strip=2)%00%(objecttype)%00%(objectname)%00%(*objecttype)%00%(taggerdate:raw)",
    "refs/tags",
  ], "list tags");
  const refs: TagRef[] = (out ?? "").split("\n").filter((line) => line !== "").map((line) => {
    const [name, type, sha, targetType, taggerDate] = line.split("\0");
    return { name, type, sha, targetType: targetType ?? "", taggerDate: taggerDate ?? "" };
  });
  const matches = await pattern.match(refs.map((r) => r.name));
  const tags = refs.filter((_, k) => matches[k]);
  if (tags.length === 0) return [];

  // peel every tag to the object at the end of its chain: "<sha> <type>" per tag, in order
  const peeled = (await git(path, ["cat-file", "--batch-check=%(objectname) %(objecttype)"], "peel tags", {
    stdin: tags.map((t) => `${t.sha}^{}\n`).join(""),
  }))!.split("\n").slice(0, tags.length).map((l) => l.split(" "));
  const target = (k: number) => (peeled[k]?.[1] === "commit" ? peeled[k][0] : null);
  // the commit time of every tag's commit (the date of a tag without a tagger date)
  const commits = [...new Set(tags.map((_, k) => target(k)).filter((s): s is string => s !== null))];
  const commitDates = new Map<string, string>();
  if (commits.length) {
    const log = await git(path, [
      "log", "--no-walk=unsorted", "--no-show-signature", "--date=raw", "--format=%H%x00%cd", "--stdin",
    ], "read the tagged commits", { stdin: commits.map((c) => c + "\n").join("") });
    for (const line of (log ?? "").split("\n")) {
      const [sha, date] = line.split("\0");
      if (date !== undefined) commitDates.set(sha, date);
    }
  }

  const rows: GitDeploymentRow[] = [];
  const undated: string[] = [], nested: string[] = [], refused: string[] = [];
  for (const [k, tag] of tags.entries()) {
    const annotated = tag.type === "tag";
    const commit = target(k);
    if (!commit) {
      const what = peeled[k]?.[1] && peeled[k][1] !== "missing" ? `a ${peeled[k][1]}` : "a missing object";
      refused.push(`${JSON.stringify(tag.name)} (it points at ${what}, not a commit)`);
      continue;
    }
    const tagged = annotated ? rawToIso(tag.taggerDate) : null;
    const at = tagged ?? rawToIso(commitDates.get(commit) ?? "");
    if (!at) {
      refused.push(`${JSON.stringify(tag.name)} (its commit ${commit.slice(0, 12)} has no readable date)`);
      continue;
    }
    const raw: GitDeploymentRow["raw"] = { source: "git-tag", annotated };
    if (annotated && !tagged) {
      undated.push(JSON.stringify(tag.name));
      raw.dated = "commit";
    }
    if (tag.targetType === "tag") {
      nested.push(JSON.stringify(tag.name));
      raw.peeled = true;
    }
    rows.push({
      deployment_id: `${repo}:tag:${tag.name}`,
      repo,
      environment,
      ref: tag.name,
      sha: commit,
      deployed_at: at,
      status: "succeeded",
      raw,
    });
  }
  if (undated.length) notes.push(listNote(repo, "annotated tag(s) without a tagger date are deployments at their commit's time", undated));
  if (nested.length) notes.push(listNote(repo, "tag(s) of a tag are deployments of the commit at the end of the chain", nested));
  if (refused.length) notes.push(listNote(repo, "tag(s) matching the pattern are no deployment", refused));
  return rows;
}

/**
 * Merge commits on the branch's first-parent line (not reachable from `exclude`), as deployments,
 * in batches of at most `batchSize`: `git log` is read as a stream, so a history of any length
 * holds one batch in memory.
 */
async function* mergeDeployments(
  path: string,
  repo: string,
  branch: { name: string; sha: string },
  exclude: string[],
  environment: string,
  batchSize: number,
): AsyncGenerator<GitDeploymentRow[]> {
  const log = await spawnGit(path, [
    "log", "--first-parent", "--merges", "--no-show-signature", "--date=raw",
    "--format=%H%x00%P%x00%cd", "--stdin",
  ], "list merges", revList([branch.sha], exclude));
  let done = false;
  try {
    let rows: GitDeploymentRow[] = [];
    let rest = "";
    const take = (line: string) => {
      if (line === "") return;
      const [sha, parents, date] = line.split("\0");
      const at = rawToIso(date ?? "");
      if (!at) return; // its commit is rejected for the same date (toCommitRow): the rejection says why
      rows.push({
        deployment_id: `${repo}:merge:${sha}`,
        repo,
        environment,
        ref: branch.name,
        sha,
        deployed_at: at,
        status: "succeeded",
        raw: { source: "git-merge", parents: parents.split(" ") },
      });
    };
    for await (const text of log.child.stdout.pipeThrough(new TextDecoderStream())) {
      const lines = (rest + text).split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        take(line);
        if (rows.length >= batchSize) {
          yield rows;
          rows = [];
        }
      }
    }
    take(rest);
    await log.finished();
    done = true;
    if (rows.length) yield rows;
  } finally {
    if (!done) await log.stop();
  }
}

// ───────────────────────────── reading commits ─────────────────────────────

/** What a row (or a rejection's reason) weighs against GIT_BATCH_CHARS. */
function rowChars(r: GitCommitRow | string): number {
  if (typeof r === "string") return r.length;
  return 400 + (r.message?.length ?? 0) + (r.author_name?.length ?? 0) + (r.author_email?.length ?? 0) +
    (r.committer_name?.length ?? 0) + (r.committer_email?.length ?? 0);
}

/**
 * Reads commits from the repository at `path` as batches of aoma.git_commits rows, streaming
 * `git log` (never the whole log in memory) and parsing up to `readAhead` batches ahead while the
 * caller handles the previous one. The iterator ends only after git exited successfully; if git
 * fails it throws (after yielding what was read), and stopping early kills git.
 *
 * @example
 * for await (const b of readGitCommits("../api", { repo: "api", exclude: oldTips })) {
 *   await writeGitBatch(db, "api", b.rows, report);
 * }
 */
export async function* readGitCommits(path: string, opts: ReadGitOptions): AsyncGenerator<GitCommitBatch> {
  const batchSize = Math.max(1, Math.floor(opts.batchSize ?? GIT_BATCH_COMMITS));
  const batchChars = Math.max(1, opts.batchChars ?? GIT_BATCH_CHARS);
  const depth = Math.max(1, Math.floor(opts.readAhead ?? 2));
  const revs = (opts.revs ?? ["HEAD"]).map((r) => checkRev(r, "revision"));
  const exclude = (opts.exclude ?? []).map((r) => checkRev(r, "excluded revision"));
  const stdin = revList(revs, exclude);
  const fallbackEncoding = opts.fallbackEncoding ??
    (await git(path, ["config", "--get", "i18n.commitEncoding"], "read the configuration", { allowFail: true }))?.trim();
  const log = await spawnGit(path, [...GIT_LOG_ARGS, ...sinceArg(opts.since), "--stdin"], "read the history", stdin);
  const child = log.child;

  const queue: GitCommitBatch[] = [];
  let finished = false, stop = false, failure: unknown = null;
  // resolvers of the side waiting: the consumer for a batch, the producer for room in the queue
  const wake: { consumer: (() => void) | null; producer: (() => void) | null } = { consumer: null, producer: null };
  const signalConsumer = () => {
    wake.consumer?.();
    wake.consumer = null;
  };
  const signalProducer = () => {
    wake.producer?.();
    wake.producer = null;
  };

  const producer = (async () => {
    const parser = new GitLogParser(fallbackDecoder(fallbackEncoding));
    let batch: GitCommitBatch = { rows: [], lines: [], rejections: [], read: 0 };
    let chars = 0;
    const take = (recs: ReturnType<GitLogParser["push"]>) => {
      for (const rec of recs) {
        batch.read++;
        const r = toCommitRow(opts.repo, rec);
        if (typeof r === "string") batch.rejections.push({ line: rec.index, reason: r });
        else batch.rows.push(r), batch.lines.push(rec.index);
        chars += rowChars(r);
        if (batch.read >= batchSize || chars >= batchChars) {
          queue.push(batch);
          batch = { rows: [], lines: [], rejections: [], read: 0 };
          chars = 0;
          signalConsumer();
        }
      }
    };
    const reader = child.stdout.getReader();
    try {
      while (!stop) {
        while (queue.length >= depth && !stop) await new Promise<void>((r) => (wake.producer = r));
        if (stop) break;
        const { value, done } = await reader.read();
        if (done) break;
        take(parser.push(value));
      }
      if (!stop) {
        take(parser.end());
        await log.finished();
        if (batch.read > 0) queue.push(batch);
      }
    } catch (e) {
      failure = e;
    } finally {
      reader.releaseLock();
      finished = true;
      signalConsumer();
    }
  })();

  try {
    while (true) {
      if (queue.length > 0) {
        const b = queue.shift()!;
        signalProducer();
        yield b;
        continue;
      }
      if (finished) {
        if (failure) throw failure;
        return;
      }
      await new Promise<void>((r) => (wake.consumer = r));
    }
  } finally {
    if (!finished) {
      stop = true;
      signalProducer();
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
    }
    await producer;
    await log.stop();
  }
}

// ───────────────────────────── writing ─────────────────────────────

/** The stored cursor of `repo`, or null before its first ingest. */
export async function loadGitCursor(db: Queryable, repo: string): Promise<GitCursor | null> {
  const rows = await db.query<{ state: string }>(
    "select state::text as state from aoma.ingest_state where source = 'git' and scope = $1",
    [repo],
  );
  if (rows.length === 0) return null;
  const state = JSON.parse(rows[0].state) as Partial<GitCursor>;
  return {
    refs: state.refs && typeof state.refs === "object" ? state.refs : {},
    mergeDeployments: state.mergeDeployments === true,
  };
}

/**
 * Writes one batch of commit rows in one transaction; with `cursor`, the cursor of `repo` moves in
 * that same transaction, and `deployments` are upserted there too (the last batch of a run carries
 * both). A commit the database refuses is rejected on its own at `lines[i]` (batch.ts); the cursor
 * and deployments then go with the last transaction of the batch. Counts go to the report only
 * after the commit.
 *
 * @example
 * await writeGitBatch(db, "api", rows, report, { cursor: { refs: { "refs/heads/main": tip } } });
 */
export async function writeGitBatch(
  db: Db,
  repo: string,
  rows: GitCommitRow[],
  report: IngestReport,
  extra: { cursor?: GitCursor; deployments?: GitDeploymentRow[]; lines?: readonly number[] } = {},
): Promise<void> {
  const commits = rows as unknown as Record<string, unknown>[];
  await writeBatch(db, commits, { report, lines: extra.lines }, async (tx, chunk, counts, last) => {
    counts.add("git_commits", await upsertRows(tx, "git_commits", chunk));
    if (!last) return;
    if (extra.deployments?.length) {
      counts.add("deployments", await upsertRows(tx, "deployments", extra.deployments as unknown as Record<string, unknown>[]));
    }
    if (extra.cursor) {
      await tx.query(
        `insert into aoma.ingest_state (source, scope, state) values ('git', $1, $2::text::jsonb)
         on conflict (source, scope) do update set state = excluded.state, updated_at = now()
         where ingest_state.state is distinct from excluded.state`,
        [repo, JSON.stringify(extra.cursor)],
      );
    }
  });
}

/** Default repository name of a path: its last directory name without ".git". */
export function repoNameOf(path: string): string {
  const parts = path.replace(/[\\/]+$/, "").split(/[\\/]/);
  let name = parts[parts.length - 1] ?? "";
  if (name === ".git" && parts.length > 1) name = parts[parts.length - 2];
  name = name.replace(/\.git$/, "");
  if (name === "" || name === ".") name = Deno.cwd().split(/[\\/]/).pop() ?? "repo";
  return name;
}

async function ingestOne(
  db: Db,
  path: string,
  opts: GitIngestOptions,
  report: IngestReport,
  progress: Progress,
): Promise<void> {
  const absolute = (await git(path, ["rev-parse", "--absolute-git-dir"], "open the repository"))!.trim();
  const repo = opts.name ?? repoNameOf(absolute.endsWith("/.git") ? absolute.slice(0, -5) : absolute);
  const environment = opts.environment ?? "production";
  const branch = await resolveBranch(path, opts.branch);
  const stored = (await loadGitCursor(db, repo)) ?? { refs: {} };
  const oldTips = await existingCommits(path, [...new Set(Object.values(stored.refs))]);
  const cursor: GitCursor = {
    refs: { ...stored.refs, [branch.ref]: branch.sha },
    mergeDeployments: opts.mergeDeployments === true,
  };

  const repoRow: Record<string, unknown> = { repo, default_branch: branch.name };
  if (opts.isService !== undefined) repoRow.is_service = opts.isService;
  report.add("repositories", await upsertRows(db, "repositories", [repoRow]));

  const tagPattern = compileTagPattern(opts.tagPattern);
  const deployments = await tagDeployments(path, repo, tagPattern, environment, report.notes);
  if (tagPattern.timedOut.length) {
    report.notes.push(
      `${repo}: the tag pattern ran longer than its time limit on ${tagPattern.timedOut.length} tag(s) ` +
        `(${tagPattern.timedOut.slice(0, 5).map((t) => JSON.stringify(t)).join(", ")}); they were not taken as deployments`,
    );
  }
  const check = () => {
    if (opts.signal?.aborted) throw new Error(`Ingest of ${repo} stopped: ${String(opts.signal.reason ?? "aborted")}`);
  };
  const batchSize = Math.max(1, Math.floor(opts.batchSize ?? GIT_BATCH_COMMITS));
  if (opts.mergeDeployments) {
    // merges behind the old tips were listed already only if the previous run listed merges too.
    // Written batch by batch ahead of the commits (the upsert is idempotent: a run stopped before
    // its cursor moved lists them again), so their number never sits in memory.
    const seen = stored.mergeDeployments ? oldTips : [];
    for await (const rows of mergeDeployments(path, repo, branch, seen, environment, batchSize)) {
      check();
      await writeGitBatch(db, repo, [], report, { deployments: rows });
    }
  }
  if (oldTips.includes(branch.sha)) {
    check();
    await writeGitBatch(db, repo, [], report, { cursor, deployments });
    return;
  }
  if (progress !== SILENT) {
    const n = await git(path, ["rev-list", "--count", "--stdin", ...sinceArg(opts.since)], "count commits", {
      stdin: revList([branch.sha], oldTips),
    });
    progress.total(Number(n) || 0);
  }
  // the last batch is held back so that it carries the cursor: the cursor moves only after git
  // finished successfully and with the data it covers
  let held: GitCommitBatch | null = null;
  const hold = (b: GitCommitBatch) => {
    report.read += b.read;
    for (const r of b.rejections) report.reject(r.line, `${repo}: ${r.reason}`);
  };
  for await (
    const b of readGitCommits(path, {
      repo, revs: [branch.sha], exclude: oldTips, since: opts.since, batchSize,
    })
  ) {
    if (held) {
      check();
      await writeGitBatch(db, repo, held.rows, report, { lines: held.lines });
      progress.advance(held.read);
    }
    hold(b);
    held = b;
  }
  check();
  await writeGitBatch(db, repo, held?.rows ?? [], report, { cursor, deployments, lines: held?.lines });
  if (held) progress.advance(held.read);
}

/**
 * Ingests one or many repositories in one recorded run (aoma.ingest_runs), then refreshes the
 * feature views. Each repository: upsert of aoma.repositories (is_service kept unless
 * `isService` is given), new commits in batches, deployments and the cursor with the last batch.
 *
 * @example
 * const report = await ingestGit(db, { path: "/src/aoma-mesh", isService: true, mergeDeployments: true });
 * report.format(); // "git: read 1,204; inserted 1,204, updated 0, …"
 */
export async function ingestGit(db: Db, opts: GitIngestOptions, progress: Progress = SILENT): Promise<IngestReport> {
  const paths = Array.isArray(opts.path) ? opts.path : [opts.path];
  if (paths.length === 0) throw new Error("Cannot ingest git: no repository path given");
  if (opts.name !== undefined && paths.length > 1) {
    throw new Error(`Cannot name ${paths.length} repositories "${opts.name}": a name goes with a single path`);
  }
  if (opts.batchSize !== undefined && !(opts.batchSize >= 1)) {
    throw new Error(`Cannot use batch size ${opts.batchSize}: it must be at least 1`);
  }
  sinceArg(opts.since); // validate before any work
  compileTagPattern(opts.tagPattern);
  try {
    return await runIngest(db, "git", async (report) => {
      for (const path of paths) await ingestOne(db, path, opts, report, progress);
    }, { refresh: opts.refresh });
  } finally {
    progress.done();
  }
}
