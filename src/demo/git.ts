/**
 * Git history of the demo quarter: commits in ten repositories (service commits with their planted
 * count) and deployments.
 * Part of the generator in src/demo/generate.ts (see there for the whole picture).
 */
import { DAY, Day, HOUR, iso, lastAtOrBefore, pickKey, sortBy } from "./common.ts";
import { Person } from "./people.ts";
import type { GitCommitRow, DeploymentRow } from "../db/rows.ts";
import { Rng } from "./random.ts";
import truth from "./truth.json" with { type: "json" };

// ───────────────────────────── git ─────────────────────────────

export const COMMIT_KINDS = ["fix", "feat", "chore", "refactor", "test", "docs", "perf"];
export const COMMIT_KIND_WEIGHTS = [0.3, 0.25, 0.15, 0.12, 0.08, 0.06, 0.04];
export const COMMIT_SCOPES = ["upload", "processing", "metadata", "api", "ui", "storage", "auth", "migration", "ci", "deps"];
export const COMMIT_PHRASES = [
  "handle empty manifest",
  "retry on 503 from storage",
  "add sorting step for 360RA",
  "validate ISRC format",
  "bump dependencies",
  "remove dead code",
  "improve error message",
  "add integration test",
  "speed up checksum",
  "fix race in job scheduler",
  "paginate asset list",
  "log upload session id",
  "update docs",
  "tune worker pool size",
  "move config to env vars",
  "guard against null territory",
];

export interface CommitDraft {
  committed: number;
  authored: number;
  author: Person;
  merge: boolean;
  files: number;
  insertions: number;
  deletions: number;
  sha: string;
  message: string;
}

export function commitSize(rng: Rng): { files: number; insertions: number; deletions: number } {
  const c = truth.commits;
  if (rng.bernoulli(c.huge_commit_share)) {
    const files = 200 + rng.int(1800);
    const insertions = 10_000 + rng.int(70_000);
    return { files, insertions, deletions: rng.int(insertions) };
  }
  const files = Math.min(
    c.files_lognormal.max,
    1 + Math.floor(rng.lognormal(c.files_lognormal.mu, c.files_lognormal.sigma)),
  );
  const insertions = Math.min(
    c.insertions_lognormal.max,
    Math.round(rng.lognormal(c.insertions_lognormal.mu, c.insertions_lognormal.sigma)),
  );
  const u = rng.uniform();
  const deletions = Math.round(insertions * u * u * 0.9) + rng.int(3);
  return { files, insertions, deletions };
}

export function commitRows(
  seed: number,
  days: Day[],
  people: Person[],
  ticketCreated: number[],
  ticketKeys: string[],
): { rows: GitCommitRow[]; serviceTimes: number[]; serviceShas: string[] } {
  const c = truth.commits;
  const rng = Rng.derive(seed, "commits");
  const teamRng = Rng.derive(seed, "teams");
  const seen = new Set<string>();
  const newSha = () => {
    for (;;) {
      const s = rng.hex(40);
      if (!seen.has(s)) {
        seen.add(s);
        return s;
      }
    }
  };
  const rows: GitCommitRow[] = [];
  let serviceTimes: number[] = [];
  let serviceShas: string[] = [];
  for (const repo of truth.repositories) {
    const size = c.team_size[0] + teamRng.int(c.team_size[1] - c.team_size[0] + 1);
    const team: Person[] = [];
    while (team.length < size) {
      const p = teamRng.choice(people);
      if (!team.includes(p)) team.push(p);
    }
    const teamWeights = team.map((_, i) => 1 / (i + 1));
    const drafts: CommitDraft[] = [];
    let pr = 100 + teamRng.int(900);
    for (const day of days) {
      const n = repo.is_service
        ? day.serviceCommits
        : rng.poisson(repo.weight * c.other_per_weekday * (day.weekend ? c.weekend_factor : 1));
      for (let k = 0; k < n; k++) {
        const author = team[rng.weightedIndex(teamWeights)];
        const local = rng.weightedIndex(c.local_hour_shape) * HOUR + rng.int(3600) * 1000;
        const committed = day.start + (((local - author.offsetMs) % DAY) + DAY) % DAY;
        const merge = rng.bernoulli(c.merge_share);
        let authored = committed;
        if (!merge && rng.bernoulli(c.rebased_share)) {
          authored = committed - Math.round(rng.exponential(c.rebased_delay_hours_mean * 3600)) * 1000;
        }
        const size = merge ? { files: 0, insertions: 0, deletions: 0 } : commitSize(rng);
        let ref = "";
        const idx = lastAtOrBefore(ticketCreated, committed);
        if (idx >= 0 && rng.bernoulli(c.jira_reference_share)) ref = ticketKeys[Math.max(0, idx - rng.int(300))];
        const message = merge
          ? `Merge pull request #${pr++} from aoma/${ref ? ref.toLowerCase() : "topic"}-${rng.choice(COMMIT_SCOPES)}`
          : `${COMMIT_KINDS[rng.weightedIndex(COMMIT_KIND_WEIGHTS)]}(${rng.choice(COMMIT_SCOPES)}): ${
            rng.choice(COMMIT_PHRASES)
          }${ref ? ` (${ref})` : ""}`;
        drafts.push({ committed, authored, author, merge, ...size, sha: newSha(), message });
      }
    }
    const sorted = sortBy(drafts, (d) => d.committed);
    let previous = newSha(); // the last commit before the quarter
    sorted.forEach((d, i) => {
      const parents = [previous];
      if (d.merge) parents.push(i > 0 && rng.bernoulli(0.5) ? sorted[Math.max(0, i - 1 - rng.int(20))].sha : newSha());
      previous = d.sha;
      rows.push({
        repo: repo.repo,
        sha: d.sha,
        author_name: d.author.name,
        author_email: d.author.email,
        authored_at: iso(d.authored),
        author_tz: d.author.tz,
        committer_name: d.merge ? "GitHub" : d.author.name,
        committer_email: d.merge ? "noreply@github.com" : d.author.email,
        committed_at: iso(d.committed),
        committer_tz: d.merge ? "+0000" : d.author.tz,
        files_changed: d.files,
        insertions: d.insertions,
        deletions: d.deletions,
        is_merge: d.merge,
        parents,
        message: d.message,
      });
    });
    if (repo.is_service) {
      serviceTimes = sorted.map((d) => d.committed);
      serviceShas = sorted.map((d) => d.sha);
    }
  }
  return { rows, serviceTimes, serviceShas };
}

export function deploymentRows(
  seed: number,
  days: Day[],
  people: Person[],
  serviceTimes: number[],
  serviceShas: string[],
): DeploymentRow[] {
  const cfg = truth.deployments;
  const rng = Rng.derive(seed, "deployments");
  let [major, minor] = cfg.first_version;
  const rows: DeploymentRow[] = [];
  for (const day of days) {
    if (day.weekend) continue;
    const n = rng.weightedIndex(cfg.per_weekday_weights);
    const times: number[] = [];
    for (let k = 0; k < n; k++) {
      times.push(day.start + cfg.hours_utc[0] * HOUR + rng.int((cfg.hours_utc[1] - cfg.hours_utc[0]) * 3600) * 1000);
    }
    times.sort((a, b) => a - b);
    times.forEach((t, k) => {
      if (k === 0) minor++;
      const version = `v${major}.${minor}.${k}`;
      const idx = lastAtOrBefore(serviceTimes, t);
      rows.push({
        deployment_id: `${cfg.repo}:${version}`,
        repo: cfg.repo,
        environment: "production",
        ref: version,
        sha: idx >= 0 ? serviceShas[idx] : null,
        deployed_at: iso(t),
        status: pickKey(rng, cfg.status_weights),
        raw: {
          pipeline: "github-actions",
          run_id: 880_000 + rows.length,
          triggered_by: rng.choice(people).login,
          duration_s: 120 + rng.int(600),
        },
      });
    });
    if (minor > 99) [major, minor] = [major + 1, 0];
  }
  return rows;
}
