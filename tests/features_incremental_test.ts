/**
 * The incremental feature refresh (sql/10_features.sql) gives exactly the rows of a full rebuild.
 *
 * A seeded random walk of writes over every raw table — inserts, updates and deletes of tickets,
 * incidents (linked to tickets: the leakage guard), failure rules with the sync, commits, the service
 * flag of a repository, deployments, metrics with fractional values, processing attempts, log events,
 * data before the first and after the last period, edges cut off, a truncate — each round followed by
 * analytics.refresh_features() (incremental) and compared, every row and column of the three
 * feature tables and the hourly sums, with a full rebuild computed in a transaction that is rolled
 * back (so the next round goes on from the incremental state). The analysis window is set to 20 days
 * so that its edge moves. The seed is printed; AOMA_TEST_SEED replays one.
 *
 * Also: a refresh with nothing to do leaves the data version; one that changes anything bumps it.
 */
import assert from "node:assert/strict";
import type { Db, Executor } from "../src/db/types.ts";
import { testOnBothEngines } from "./_engines.ts";

const SEED = Number(Deno.env.get("AOMA_TEST_SEED") ?? 20261203);
const ROUNDS = 24;
const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 1);
const SPAN_DAYS = 40;

/** mulberry32: a small deterministic generator. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Walk {
  private rand: () => number;
  private n = 0;
  constructor(seed: number) {
    this.rand = rng(seed);
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rand() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)];
  }
  chance(p: number): boolean {
    return this.rand() < p;
  }
  /** A time in the data's span, widened by `pad` days each side (new data at either end). */
  time(pad = 0): string {
    return new Date(START - pad * DAY + Math.floor(this.rand() * (SPAN_DAYS + 2 * pad) * DAY)).toISOString();
  }
  id(prefix: string): string {
    return `${prefix}${++this.n}`;
  }
  sha(): string {
    return (++this.n).toString(16).padStart(12, "0");
  }
  float(): number {
    return Math.round(this.rand() * 1e6) / 7; // fractions that do not add up exactly in binary
  }
}

const TYPES = ["Bug", "Story", "Task", "Sub-task", "Incident", "Epic"] as const;
const PRIORITIES = ["Blocker", "Highest", "High", "Medium", "Low", null] as const;
const REPOS = ["svc", "lib", "ui"] as const;

async function insert(db: Executor, table: string, rows: Record<string, unknown>[]): Promise<void> {
  if (!rows.length) return;
  await db.query(
    `insert into aoma.${table} select * from jsonb_populate_recordset(null::aoma.${table}, $1::text::jsonb) on conflict do nothing`,
    [JSON.stringify(rows)],
  );
}

/** Deletes or updates `k` rows of `table` picked by key order from offset `o`. */
function some(table: string, key: string, k: number, o: number): string {
  return `(select ${key} from aoma.${table} order by ${key} limit ${k} offset ${o})`;
}

function ticket(w: Walk, pad = 0) {
  const created = w.time(pad);
  return {
    issue_key: w.id("T-"),
    project: "T",
    issue_type: w.pick(TYPES),
    priority: w.pick(PRIORITIES),
    status: "Open",
    components: [],
    labels: [],
    created_at: created,
    resolved_at: w.chance(0.5) ? new Date(Date.parse(created) + w.int(1, 200) * 3_600_000).toISOString() : null,
  };
}

/** One random write; returns what it did (for the failure message). */
async function step(db: Executor, w: Walk): Promise<string> {
  const pad = w.chance(0.2) ? 6 : 0;
  const n = () => w.int(1, 12);
  const o = () => w.int(0, 60);
  switch (w.int(0, 17)) {
    case 0:
      await insert(db, "jira_issues", Array.from({ length: n() }, () => ticket(w, pad)));
      return "insert tickets";
    case 1:
      await db.query(
        `update aoma.jira_issues set issue_type = $1, priority = $2 where issue_key in ${some("jira_issues", "issue_key", n(), o())}`,
        [w.pick(TYPES), w.pick(PRIORITIES)],
      );
      return "retype tickets";
    case 2:
      await db.query(
        `update aoma.jira_issues set created_at = created_at + $1 * interval '1 hour', resolved_at = resolved_at + $1 * interval '3 hours'
          where issue_key in ${some("jira_issues", "issue_key", n(), o())}`,
        [w.int(1, 30)],
      );
      return "move tickets";
    case 3:
      await db.query(`delete from aoma.jira_issues where issue_key in ${some("jira_issues", "issue_key", n(), o())}`);
      return "delete tickets";
    case 4: {
      // an incident from another source pointing at a ticket: the guard takes the ticket out
      const keys = await db.query<{ issue_key: string }>(`select issue_key from aoma.jira_issues order by issue_key limit 3 offset $1`, [o()]);
      await insert(db, "incidents", keys.map((k) => ({ incident_key: w.id("PD-"), started_at: w.time(pad), source: "pager", jira_key: k.issue_key, severity: "major" })));
      return "link incidents";
    }
    case 5:
      await db.query(`delete from aoma.incidents where incident_key in ${some("incidents", "incident_key", n(), o())}`);
      return "delete incidents";
    case 6:
      if (w.chance(0.5)) await db.query(`insert into aoma.jira_failure_rules (rule_id, priorities) values ('blockers', '{Blocker}') on conflict do nothing`);
      else await db.query(`delete from aoma.jira_failure_rules where rule_id = 'blockers'`);
      await db.query("select * from aoma_private.sync_jira_incidents()");
      return "failure rule + sync";
    case 7:
      await insert(db, "git_commits", Array.from({ length: n() }, () => {
        const at = w.time(pad);
        return {
          repo: w.pick(REPOS), sha: w.sha(), authored_at: at, committed_at: at,
          files_changed: w.int(0, 9), insertions: w.int(0, 300), deletions: w.int(0, 300), is_merge: w.chance(0.1), parents: [],
        };
      }));
      return "insert commits";
    case 8:
      await db.query(`insert into aoma.repositories (repo, is_service) values ($1, $2)
                      on conflict (repo) do update set is_service = excluded.is_service`, [w.pick(REPOS), w.chance(0.5)]);
      return "service flag";
    case 9:
      await db.query(`delete from aoma.git_commits where (repo, sha) in (select repo, sha from aoma.git_commits order by sha limit $1 offset $2)`, [n(), o()]);
      return "delete commits";
    case 10:
      await insert(db, "deployments", Array.from({ length: n() }, () => ({
        deployment_id: w.id("D-"), deployed_at: w.time(pad), environment: "production", status: w.pick(["succeeded", "failed", "rolled_back"]),
      })));
      await db.query(`update aoma.deployments set status = 'failed' where deployment_id in ${some("deployments", "deployment_id", 2, o())}`);
      return "deployments";
    case 11:
      await insert(db, "aoma_system_metrics", Array.from({ length: n() * 3 }, () => ({
        source: w.pick(["a", "b"]), timestamp: w.time(pad), asset_volume: w.int(0, 900),
        processing_time: w.chance(0.8) ? w.float() : null, error_count: w.int(0, 5), performance_score: w.chance(0.8) ? w.float() : null,
      })));
      await db.query(`update aoma.aoma_system_metrics set processing_time = processing_time * 1.1
                      where (source, "timestamp") in (select source, "timestamp" from aoma.aoma_system_metrics order by 2, 1 limit $1 offset $2)`, [n(), o()]);
      return "metrics";
    case 12:
      await insert(db, "processing_attempts", Array.from({ length: n() * 3 }, () => {
        const at = w.time(pad);
        const failed = w.chance(0.2);
        return {
          attempt_id: w.id("A-"), asset_id: "x", asset_type: "WAV", started_at: at,
          finished_at: w.chance(0.9) ? new Date(Date.parse(at) + w.int(1, 900_000) + 0.125).toISOString() : null,
          status: failed ? "failed" : "succeeded", error_message: failed ? "boom" : null,
        };
      }));
      await db.query(`update aoma.processing_attempts set status = 'failed', error_message = 'late' where attempt_id in ${some("processing_attempts", "attempt_id", 3, o())}`);
      return "attempts";
    case 13:
      await insert(db, "log_events", Array.from({ length: n() * 3 }, () => ({
        source: "app", event_key: w.id("L-"), ts: w.time(pad), level: w.pick(["INFO", "WARN", "ERROR", "FATAL"]), message: "m",
      })));
      await db.query(`delete from aoma.log_events where (source, event_key) in (select source, event_key from aoma.log_events order by 2 limit $1 offset $2)`, [n(), o()]);
      return "logs";
    case 14: {
      // cut everything before a day near the start (the ranges shrink at the start)
      const cut = new Date(START + w.int(-6, 4) * DAY).toISOString();
      for (const [t, c] of TIME_COLUMNS) await db.query(`delete from aoma.${t} where ${c} < $1`, [cut]);
      return `cut before ${cut}`;
    }
    case 15: {
      const cut = new Date(START + (SPAN_DAYS + w.int(-4, 6)) * DAY).toISOString();
      for (const [t, c] of TIME_COLUMNS) await db.query(`delete from aoma.${t} where ${c} > $1`, [cut]);
      return `cut after ${cut}`;
    }
    case 16:
      // a lone row far before the rest: daily and weekly keep it, the hourly window does not
      await insert(db, "log_events", [{ source: "old", event_key: w.id("O-"), ts: new Date(START - w.int(60, 400) * DAY).toISOString(), level: "WARN", message: "old" }]);
      return "old row";
    default:
      if (w.chance(0.3)) {
        await db.query("truncate aoma.deployments");
        return "truncate deployments";
      }
      await db.query(`update aoma.incidents set started_at = started_at - interval '2 days' where incident_key in ${some("incidents", "incident_key", n(), o())}`);
      return "move incidents";
  }
}

const TIME_COLUMNS = [
  ["jira_issues", "created_at"], ["git_commits", "committed_at"], ["deployments", "deployed_at"],
  ["aoma_system_metrics", '"timestamp"'], ["processing_attempts", "started_at"], ["log_events", "ts"], ["incidents", "started_at"],
] as const;

const TABLES = [
  ["aoma_private.features_hourly_raw", "hour_utc"], ["analytics.features_hourly", "hour"],
  ["analytics.features_daily", "day"], ["analytics.features_weekly", "week"], ["analytics.segments_daily", "day, segment"],
] as const;

/** Every row of every feature table, as text, in key order. */
async function snapshot(db: Executor): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const [t, k] of TABLES) {
    out[t] = (await db.query<{ r: string }>(`select t::text as r from ${t} t order by ${k}`)).map((x) => x.r);
  }
  return out;
}

const ROLLBACK = new Error("rollback");

/** The rows a full rebuild gives now, without keeping them. */
async function fullRebuild(db: Db): Promise<Record<string, string[]>> {
  let rows: Record<string, string[]> = {};
  try {
    await db.transaction(async (tx) => {
      await tx.query("select * from analytics.refresh_features(full => true)");
      rows = await snapshot(tx);
      throw ROLLBACK;
    });
  } catch (e) {
    if (e !== ROLLBACK) throw e;
  }
  return rows;
}

function sameRows(inc: Record<string, string[]>, full: Record<string, string[]>, what: string): void {
  for (const [t] of TABLES) {
    const a = inc[t], b = full[t];
    const i = a.findIndex((r, j) => r !== b[j]);
    assert(i < 0 && a.length === b.length, `${what}: ${t} differs from a full rebuild (${a.length} vs ${b.length} rows)` +
      (i >= 0 ? `; first at row ${i}:\n  incremental ${a[i]}\n  full        ${b[i]}` : ""));
  }
}

const version = async (db: Executor) => Number((await db.query<{ v: string }>("select version::text as v from analytics.data_version()"))[0].v);

testOnBothEngines("incremental feature refresh equals a full rebuild", "aoma_test_features_inc", async (t, db) => {
  console.log(`seed ${SEED} (AOMA_TEST_SEED=${SEED} replays it)`);
  const w = new Walk(SEED);
  await db.query("update analytics.settings set hourly_window = interval '20 days'");
  await db.query(`insert into aoma.repositories (repo, is_service) values ('svc', true), ('lib', false)`);
  for (let i = 0; i < 12; i++) await step(db, w);
  await db.query("select * from analytics.refresh_features(full => true)");

  await t.step("a refresh with nothing to do changes nothing, not even the data version", async () => {
    const before = await version(db);
    const rows = await snapshot(db);
    await db.query("select * from analytics.refresh_features()");
    assert.deepEqual(await version(db), before);
    assert.deepEqual(await snapshot(db), rows);
  });

  await t.step(`${ROUNDS} rounds of random writes: every incremental refresh equals a full rebuild`, async () => {
    let incremental = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const did: string[] = [];
      for (let k = w.int(1, 3); k > 0; k--) did.push(await step(db, w));
      const [{ full_before, dirty }] = await db.query<{ full_before: boolean; dirty: number }>(
        `select needs_full as full_before, (select count(*)::int from aoma_private.dirty_hours) as dirty
         from aoma_private.feature_refresh_state`,
      );
      if (!full_before) incremental++;
      const before = await version(db);
      await db.query("select * from analytics.refresh_features()");
      const inc = await snapshot(db);
      assert(inc["analytics.features_daily"].length > 0, "the walk keeps some data");
      sameRows(inc, await fullRebuild(db), `seed ${SEED}, round ${round} (${did.join(", ")})`);
      const changed = full_before || dirty > 0;
      assert.equal((await version(db)) > before, changed, `round ${round}: the refresh bumps the data version when it has work (${dirty} dirty hours)`);
    }
    assert(incremental >= ROUNDS - 6, `most rounds ran the incremental path (${incremental} of ${ROUNDS})`);
  });

  await t.step("contiguity holds after the incremental refreshes, and the hourly table keeps to the window", async () => {
    const [c] = await db.query<{ gaps_h: number; gaps_d: number; within: boolean; dfirst: string; hfirst: string }>(
      `select (select count(*)::int from (select hour - lag(hour) over (order by hour) as g from analytics.features_hourly) x where g <> interval '1 hour') as gaps_h,
              (select count(*)::int from (select day - lag(day) over (order by day) as g from analytics.features_daily) x where g <> 1) as gaps_d,
              (select max(hour) - min(hour) <= interval '20 days' from analytics.features_hourly) as within,
              (select min(day)::text from analytics.features_daily) as dfirst,
              (select (min(hour) at time zone 'UTC')::date::text from analytics.features_hourly) as hfirst`,
    );
    assert.deepEqual([c.gaps_h, c.gaps_d], [0, 0]);
    assert(c.within, "the hourly table spans at most the 20-day window");
    assert(c.dfirst < c.hfirst, `the daily table keeps the history before the window (${c.dfirst} < ${c.hfirst})`);
  });

  await t.step("a change of the window rebuilds in full; so does refresh_features(full => true)", async () => {
    await db.query("update analytics.settings set hourly_window = interval '3 days'");
    await db.query("select * from analytics.refresh_features()");
    const [s] = await db.query<{ within: boolean; window: string }>(
      `select (select max(hour) - min(hour) <= interval '3 days' from analytics.features_hourly) as within,
              (select hourly_window::text from aoma_private.feature_refresh_state) as window`,
    );
    assert.deepEqual(s.window, "3 days");
    assert(s.within, "the hourly table spans at most 3 days");
    sameRows(await snapshot(db), await fullRebuild(db), "after a window change");
  });
});
