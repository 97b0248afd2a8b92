/**
 * Benchmark of the feature refresh (sql/10_features.sql), two sections in one run:
 *
 * 1. Full rebuild over 1M and 10M processing attempts next to one bare GROUP BY over the same rows
 *    computing the same per-period aggregates (the floor). Goal: ≤ 1.5x. PostgreSQL 15 only.
 * 2. Incremental refresh after a one-day ingest into two years of data from every source (tickets,
 *    commits, deployments, hourly metrics, attempts, logs, incidents) next to a full rebuild of the
 *    same data. Goal: ≤ 5% of the full. On PostgreSQL 15 and on PGlite.
 *
 * Usage (local cluster up: `npm run db:start`):
 *   deno run -A bench/features_refresh.ts [--sizes 1000000,10000000] [--repeat 3] [--days 730] [--no-pglite] [--write]
 * It works in a database of its own (aoma_bench_features, dropped and recreated) on the cluster at
 * AOMA_BENCH_ADMIN_URL (default postgresql://postgres:postgres@127.0.0.1:54322/postgres), and in an
 * in-memory PGlite. --sizes "" skips section 1. --write appends the result tables to bench/RESULTS.md.
 */
import postgres from "postgres";
import { openPostgres } from "../src/db/postgres.ts";
import { openPglite } from "../src/db/pglite.ts";
import { migrateAll } from "../src/db/migrate.ts";
import type { Db } from "../src/db/types.ts";
import { appendResults, benchArgs } from "./_common.ts";

const args = benchArgs();
const sizes = (args.get("sizes") ?? "1000000,10000000").split(",").filter(Boolean).map(Number);
const repeat = Number(args.get("repeat") ?? 3);
const historyDays = Number(args.get("days") ?? 730);
const adminUrl = Deno.env.get("AOMA_BENCH_ADMIN_URL") ?? "postgresql://postgres:postgres@127.0.0.1:54322/postgres";
const benchUrl = adminUrl.replace(/\/[^/?]+(\?|$)/, "/aoma_bench_features$1");

const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
await admin.unsafe("drop database if exists aoma_bench_features with (force)");
await admin.unsafe("create database aoma_bench_features");
await admin.end();

const db = openPostgres(benchUrl, { max: 1 });
await migrateAll(db);

async function timeIt(on: Db, sql: string): Promise<number> {
  const t0 = performance.now();
  await on.query(sql);
  return performance.now() - t0;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const FULL = "select * from analytics.refresh_features(full => true)";
const INCREMENTAL = "select * from analytics.refresh_features()";

// ───────────────────────────── 1. full rebuild vs bare GROUP BY ─────────────────────────────

// Same aggregates the hourly feature pass computes from processing_attempts, grouped once by day.
const FLOOR = `
  select date_trunc('day', started_at at time zone 'UTC') as d,
         count(*), count(*) filter (where status = 'failed'),
         sum(extract(epoch from finished_at - started_at)), count(finished_at)
  from aoma.processing_attempts group by 1`;

const pgVersion = (await db.query<{ v: string }>("select current_setting('server_version') as v"))[0].v;
const results: { n: number; floor: number; refresh: number; load: number; days: number }[] = [];
for (const n of sizes) {
  await db.query("truncate aoma.processing_attempts");
  const t0 = performance.now();
  // 90 days of attempts, deterministic: ~2% failed, durations 30 s .. 5 min, four asset types.
  await db.query(
    `insert into aoma.processing_attempts
       (attempt_id, asset_id, asset_type, uploaded_at, migration_state, started_at, finished_at, status, error_message)
     select 'A' || g, 'asset-' || (g % 200000), (array['360RA', 'DDP', 'WAV', 'MP4'])[1 + g % 4],
            ts - interval '1 day', 'migrated', ts, ts + interval '30 seconds' * (1 + g % 10),
            case when g % 50 = 0 then 'failed' else 'succeeded' end,
            case when g % 50 = 0 then 'AssetUploadTask timed out' end
     from (select g, timestamptz '2026-08-26 00:00+00' + (g::float8 / $1 * 90) * interval '1 day' as ts
           from generate_series(1, $1::int) g) s`,
    [n],
  );
  await db.query("vacuum analyze aoma.processing_attempts");
  const load = performance.now() - t0;
  const floors: number[] = [], refreshes: number[] = [];
  await timeIt(db, FLOOR); // warm the cache for both
  for (let r = 0; r < repeat; r++) {
    floors.push(await timeIt(db, FLOOR));
    refreshes.push(await timeIt(db, FULL));
  }
  const days = (await db.query<{ n: number }>("select count(*)::int as n from analytics.features_daily"))[0].n;
  results.push({ n, floor: median(floors), refresh: median(refreshes), load, days });
  console.log(
    `n=${n.toLocaleString("en-US")}: floor ${median(floors).toFixed(0)} ms, full refresh ${median(refreshes).toFixed(0)} ms, ` +
      `ratio ${(median(refreshes) / median(floors)).toFixed(2)}x (days=${days}; floors ${floors.map((x) => x.toFixed(0))}, refreshes ${refreshes.map((x) => x.toFixed(0))})`,
  );
}
if (sizes.length) await db.query("truncate aoma.processing_attempts");

// ───────────────────────────── 2. one-day ingest into two years ─────────────────────────────

const END = "2026-11-30 00:00+00";
/**
 * Inserts every source's rows for the days [from, to) (day offsets before END): per day ~25
 * tickets, 60 commits, 1 deployment, 24 hourly metric rows, 500 attempts, 1,500 log events, a
 * failure on every fifth day. Deterministic; keys derive from the time, so a day inserts once.
 */
async function ingestDays(on: Db, from: number, to: number): Promise<void> {
  const p = [from, to];
  const span = `from generate_series($1::int, $2::int - 1) d
    cross join lateral (select timestamptz '${END}' + (d - ${historyDays}) * interval '1 day' as day0) x`;
  await on.query(`insert into aoma.jira_issues (issue_key, project, issue_type, priority, status, created_at, resolved_at)
    select 'B-' || (d * 100 + k), 'B', (array['Bug','Story','Task','Bug','Incident'])[1 + (d + k) % 5],
           (array['Blocker','High','Medium','Low'])[1 + (d * 7 + k) % 4], 'Open',
           day0 + k * interval '53 minutes', case when k % 2 = 0 then day0 + k * interval '53 minutes' + interval '2 days' end
    ${span} cross join generate_series(1, 25) k`, p);
  await on.query(`insert into aoma.git_commits (repo, sha, authored_at, committed_at, files_changed, insertions, deletions)
    select 'svc', lpad(to_hex(d * 1000 + k), 12, '0'), day0 + k * interval '23 minutes', day0 + k * interval '23 minutes', 1 + k % 7, k * 3, k
    ${span} cross join generate_series(1, 60) k`, p);
  await on.query(`insert into aoma.deployments (deployment_id, deployed_at) select 'dep-' || d, day0 + interval '15 hours' ${span}`, p);
  await on.query(`insert into aoma.aoma_system_metrics (source, "timestamp", asset_volume, processing_time, error_count, performance_score)
    select 'aoma', day0 + k * interval '1 hour', 40 + (d * 13 + k) % 50, 1.5 + ((d + k) % 10) / 7.0, (d + k) % 3, 90 - (k % 5)
    ${span} cross join generate_series(0, 23) k`, p);
  await on.query(`insert into aoma.processing_attempts (attempt_id, asset_id, asset_type, started_at, finished_at, status, error_message)
    select 'P-' || (d * 1000 + k), 'a' || k, 'WAV', day0 + k * interval '172 seconds', day0 + k * interval '172 seconds' + interval '40 seconds',
           case when (d + k) % 47 = 0 then 'failed' else 'succeeded' end, case when (d + k) % 47 = 0 then 'boom' end
    ${span} cross join generate_series(1, 500) k`, p);
  await on.query(`insert into aoma.log_events (source, event_key, ts, level, message)
    select 'app', (d * 10000 + k)::text, day0 + k * interval '57 seconds', (array['INFO','INFO','WARN','ERROR'])[1 + (d + k) % 4], 'm'
    ${span} cross join generate_series(1, 1500) k`, p);
  await on.query(`insert into aoma.incidents (incident_key, started_at, source)
    select 'INC-' || d, day0 + interval '9 hours', 'manual' ${span} where d % 5 = 0`, p);
}

interface IncrementalResult {
  engine: string;
  rowsLoaded: number;
  full: number;
  incremental: number;
  hours: number;
  days: number;
}

async function incrementalSection(on: Db, engine: string): Promise<IncrementalResult> {
  const t0 = performance.now();
  for (let from = 0; from < historyDays; from += 60) await ingestDays(on, from, Math.min(historyDays, from + 60));
  const [{ rows }] = await on.query<{ rows: number }>(
    `select ((select count(*) from aoma.jira_issues) + (select count(*) from aoma.git_commits) + (select count(*) from aoma.log_events)
           + (select count(*) from aoma.processing_attempts) + (select count(*) from aoma.aoma_system_metrics))::int as rows`,
  );
  if (engine.startsWith("PostgreSQL")) await on.query("vacuum analyze");
  console.log(`${engine}: loaded ${rows.toLocaleString("en-US")} rows over ${historyDays} days in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const fulls: number[] = [], incs: number[] = [];
  await timeIt(on, FULL); // warm
  for (let r = 0; r < repeat; r++) {
    fulls.push(await timeIt(on, FULL));
    // one more day of every source at the end, then the refresh every ingest runs
    await ingestDays(on, historyDays + r, historyDays + r + 1);
    incs.push(await timeIt(on, INCREMENTAL));
  }
  const [{ hours, days }] = await on.query<{ hours: number; days: number }>(
    "select (select count(*)::int from analytics.features_hourly) as hours, (select count(*)::int from analytics.features_daily) as days",
  );
  console.log(`${engine}: full ${fulls.map((x) => x.toFixed(0))} ms, incremental ${incs.map((x) => x.toFixed(0))} ms (hours=${hours}, days=${days})`);
  return { engine, rowsLoaded: rows, full: median(fulls), incremental: median(incs), hours, days };
}

const incremental: IncrementalResult[] = [await incrementalSection(db, `PostgreSQL ${pgVersion}`)];
await db.close();
if (!args.has("no-pglite")) {
  const lite = await openPglite();
  await migrateAll(lite);
  const [{ v }] = await lite.query<{ v: string }>("select current_setting('server_version') as v");
  incremental.push(await incrementalSection(lite, `PGlite (PostgreSQL ${v})`));
  await lite.close();
}

const date = new Date().toISOString().slice(0, 10);
const sections: string[] = [];
if (results.length) {
  sections.push([
    `### Feature refresh vs bare GROUP BY — ${date}, PostgreSQL ${pgVersion}, ${navigator.hardwareConcurrency} cores`,
    "",
    "Command: `deno run -A bench/features_refresh.ts --write` (median of " + repeat + " alternating runs each; goal ≤ 1.5x).",
    "Floor: one `GROUP BY day` over processing_attempts with the same aggregates the feature pass computes.",
    "Refresh: `analytics.refresh_features(full => true)` = hourly sums from every raw table + hourly, daily, weekly tables.",
    "",
    "| attempts | floor (ms) | full refresh (ms) | ratio | days |",
    "|---:|---:|---:|---:|---:|",
    ...results.map((r) =>
      `| ${r.n.toLocaleString("en-US")} | ${r.floor.toFixed(0)} | ${r.refresh.toFixed(0)} | ${(r.refresh / r.floor).toFixed(2)}x | ${r.days} |`
    ),
    "",
  ].join("\n"));
}
sections.push([
  `### Incremental feature refresh after a one-day ingest into ${historyDays} days — ${date}, ${navigator.hardwareConcurrency} cores`,
  "",
  "Command: `deno run -A bench/features_refresh.ts --write` (median of " + repeat + "; goal ≤ 5% of the full rebuild).",
  `Data: ${historyDays} days of every source (per day ~25 tickets, 60 commits, 24 metric rows, 500 attempts, 1,500 log events, a deployment; an incident every 5th day).`,
  "Full: `analytics.refresh_features(full => true)`; incremental: `analytics.refresh_features()` after one more day of every source.",
  "",
  "| engine | raw rows | full (ms) | incremental (ms) | incremental / full | hourly rows | daily rows |",
  "|---|---:|---:|---:|---:|---:|---:|",
  ...incremental.map((r) =>
    `| ${r.engine} | ${r.rowsLoaded.toLocaleString("en-US")} | ${r.full.toFixed(0)} | ${r.incremental.toFixed(0)} | ${(100 * r.incremental / r.full).toFixed(1)}% | ${r.hours.toLocaleString("en-US")} | ${r.days} |`
  ),
  "",
].join("\n"));
const table = sections.join("\n");
console.log("\n" + table);
if (args.has("write")) await appendResults(table);
