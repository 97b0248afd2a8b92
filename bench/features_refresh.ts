/**
 * Benchmark: refreshing the feature views over 1M and 10M processing attempts, next to one bare
 * GROUP BY over the same rows computing the same per-period aggregates (the floor), in the same run.
 *
 * Usage (local cluster up: `npm run db:start`):
 *   deno run -A bench/features_refresh.ts [--sizes 1000000,10000000] [--repeat 3] [--write]
 * It works in a database of its own (aoma_bench, dropped and recreated) on the cluster at
 * AOMA_BENCH_ADMIN_URL (default postgresql://postgres:postgres@127.0.0.1:54322/postgres).
 * --write appends the result table to bench/RESULTS.md.
 */
import postgres from "postgres";
import { openPostgres } from "../src/db/postgres.ts";
import { migrateAll } from "../src/db/migrate.ts";
import { appendResults, benchArgs } from "./_common.ts";

const args = benchArgs();
const sizes = (args.get("sizes") ?? "1000000,10000000").split(",").map(Number);
const repeat = Number(args.get("repeat") ?? 3);
const adminUrl = Deno.env.get("AOMA_BENCH_ADMIN_URL") ?? "postgresql://postgres:postgres@127.0.0.1:54322/postgres";
const benchUrl = adminUrl.replace(/\/[^/?]+(\?|$)/, "/aoma_bench$1");

const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
await admin.unsafe("drop database if exists aoma_bench with (force)");
await admin.unsafe("create database aoma_bench");
await admin.end();

const db = openPostgres(benchUrl, { max: 1 });
await migrateAll(db);

// Same aggregates the hourly feature pass computes from processing_attempts, grouped once by day.
const FLOOR = `
  select date_trunc('day', started_at at time zone 'UTC') as d,
         count(*), count(*) filter (where status = 'failed'),
         sum(extract(epoch from finished_at - started_at)), count(finished_at)
  from aoma.processing_attempts group by 1`;
const REFRESH = "select * from analytics.refresh_features()";

async function timeIt(sql: string): Promise<number> {
  const t0 = performance.now();
  await db.query(sql);
  return performance.now() - t0;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

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
  await timeIt(FLOOR); // warm the cache for both
  for (let r = 0; r < repeat; r++) {
    floors.push(await timeIt(FLOOR));
    refreshes.push(await timeIt(REFRESH));
  }
  const days = (await db.query<{ n: number }>("select count(*)::int as n from analytics.features_daily"))[0].n;
  results.push({ n, floor: median(floors), refresh: median(refreshes), load, days });
  console.log(
    `n=${n.toLocaleString("en-US")}: floor ${median(floors).toFixed(0)} ms, refresh ${median(refreshes).toFixed(0)} ms, ` +
      `ratio ${(median(refreshes) / median(floors)).toFixed(2)}x (days=${days}; floors ${floors.map((x) => x.toFixed(0))}, refreshes ${refreshes.map((x) => x.toFixed(0))})`,
  );
}
await db.close();

const table = [
  `### Feature refresh vs bare GROUP BY — ${new Date().toISOString().slice(0, 10)}, PostgreSQL ${pgVersion}, ${navigator.hardwareConcurrency} cores`,
  "",
  "Command: `deno run -A bench/features_refresh.ts --write` (median of " + repeat + " alternating runs each; goal ≤ 1.5x).",
  "Floor: one `GROUP BY day` over processing_attempts with the same aggregates the feature pass computes.",
  "Refresh: `analytics.refresh_features()` = hourly sums from every raw table + hourly, daily, weekly views.",
  "",
  "| attempts | floor (ms) | refresh (ms) | ratio | days |",
  "|---:|---:|---:|---:|---:|",
  ...results.map((r) =>
    `| ${r.n.toLocaleString("en-US")} | ${r.floor.toFixed(0)} | ${r.refresh.toFixed(0)} | ${(r.refresh / r.floor).toFixed(2)}x | ${r.days} |`
  ),
  "",
].join("\n");
console.log("\n" + table);
if (args.has("write")) await appendResults(table);
