/**
 * Benchmark (issue 8): do the analyses scale with the length of the history? analytics.correlate,
 * analytics.explain_drivers and the analyze_correlations tool (default arguments but the target:
 * failure_count, chart included) on 90 days, 2 years and 10 years of daily data, timed in the same
 * run; the ratio to 90 days next to the ratio of days (near-linear = the two close).
 *
 * The data (generated in SQL, seeded, the same for every length: the longer history extends the
 * shorter one backwards): per day 0–40 commits to two repositories, a deployment on about a third of
 * the days, ~6 Jira tickets, hourly asset volume, and failures (incidents, about Poisson with mean
 * 1.5) ×3 after a day with asset volume in its top fifth and ×2 on Mondays — so the
 * driver model has real work (three steps to find) at every length.
 *
 * Usage (local cluster up: `npm run db:start`):
 *   deno run -A bench/analysis_scaling.ts [--days 90,730,3650] [--repeat 3] [--engines postgres,pglite] [--write]
 * PostgreSQL: a database of its own (aoma_bench_scaling, dropped and recreated) on the cluster at
 * AOMA_BENCH_ADMIN_URL (default postgresql://postgres:postgres@127.0.0.1:54322/postgres);
 * PGlite: a temp folder. --write appends the result table to bench/RESULTS.md.
 */
import postgres from "postgres";
import { migrateAll } from "../src/db/migrate.ts";
import { openDb } from "../src/db/open.ts";
import type { Db } from "../src/db/types.ts";
import { handler } from "../src/tools/analyze_correlations.ts";
import { appendResults, benchArgs } from "./_common.ts";

const args = benchArgs();
const lengths = (args.get("days") ?? "90,730,3650").split(",").map(Number);
const repeat = Number(args.get("repeat") ?? 3);
const engines = (args.get("engines") ?? "postgres,pglite").split(",");
const adminUrl = Deno.env.get("AOMA_BENCH_ADMIN_URL") ?? "postgresql://postgres:postgres@127.0.0.1:54322/postgres";
const END = "2026-11-30";

/** Replaces the source tables with `days` days of generated history ending on END (seeded). */
async function generate(db: Db, days: number): Promise<void> {
  await db.transaction(async (tx) => {
    for (const t of ["incidents", "git_commits", "deployments", "aoma_system_metrics", "jira_issues", "repositories"]) {
      await tx.query(`delete from aoma.${t}`);
    }
    await tx.query("select setseed(0.42)");
    await tx.query(`insert into aoma.repositories (repo, is_service) values ('svc', true), ('web', false)`);
    // one row per day with its draws; a day's draws depend on its date only (hash), so the longer
    // histories extend the shorter ones
    await tx.query(`
      create temp table bench_days on commit drop as
      select d::date as day,
             ('x' || substr(md5(d::date::text), 1, 8))::bit(32)::int::float8 / 4294967296 + 0.5 as u1,
             ('x' || substr(md5(d::date::text), 9, 8))::bit(32)::int::float8 / 4294967296 + 0.5 as u2,
             ('x' || substr(md5(d::date::text), 17, 8))::bit(32)::int::float8 / 4294967296 + 0.5 as u3,
             ('x' || substr(md5(d::date::text), 25, 8))::bit(32)::int::float8 / 4294967296 + 0.5 as u4,
             ('x' || substr(md5(d::date::text || 'noise'), 1, 8))::bit(32)::int::float8 / 4294967296 + 0.5 as u5
      from generate_series(date '${END}' - ${days - 1}, date '${END}', interval '1 day') as g(d)`);
    await tx.query(`
      insert into aoma.aoma_system_metrics (source, "timestamp", asset_volume, processing_time, error_count, performance_score)
      select 'bench', b.day + make_interval(hours => h),
             (20 + 30 * b.u1)::int, 40, 0, 95
      from bench_days b, generate_series(0, 23) as h`);
    await tx.query(`
      insert into aoma.git_commits (repo, sha, authored_at, committed_at, files_changed, insertions, deletions)
      select case when k % 3 = 0 then 'svc' else 'web' end, md5(b.day::text || k), b.day + interval '11 hours' + make_interval(mins => k),
             b.day + interval '11 hours' + make_interval(mins => k), 1 + k % 4, 10 + k, k
      from bench_days b, generate_series(1, (40 * b.u2)::int) as k`);
    await tx.query(`
      insert into aoma.deployments (deployment_id, repo, deployed_at)
      select 'svc:' || b.day, 'svc', b.day + interval '15 hours' from bench_days b where b.u3 < 0.33`);
    await tx.query(`
      insert into aoma.jira_issues (issue_key, project, issue_type, status, priority, summary, created_at, updated_at)
      select 'BEN-' || (to_char(b.day, 'YYYYMMDD')::bigint * 100 + k), 'BEN', case when k % 2 = 0 then 'Bug' else 'Task' end, 'Open',
             'Medium', 'bench ticket', b.day + interval '9 hours' + make_interval(mins => k), b.day + interval '9 hours'
      from bench_days b, generate_series(1, 3 + (6 * b.u3)::int) as k`);
    // failures: about Poisson(λ) (normal approximation, Box–Muller on u4, u5: draws used by nothing else), λ = 1.5, ×3 after a day
    // whose asset volume was in its top fifth (u1 > 0.8), ×2 on Mondays
    await tx.query(`
      insert into aoma.incidents (incident_key, started_at, source)
      select 'INC-' || to_char(b.day, 'YYYYMMDD') || '-' || k, b.day + interval '13 hours' + make_interval(mins => k), 'bench'
      from (select day, u4, u5, lag(u1) over (order by day) as u1_prev, 1.5
                   * case when lag(u1) over (order by day) > 0.8 then 3 else 1 end
                   * case when extract(isodow from day) = 1 then 2 else 1 end as lambda
            from bench_days) b,
           generate_series(1, greatest(0, round(b.lambda + sqrt(b.lambda) * sqrt(-2 * ln(b.u4)) * cos(2 * pi() * b.u5)))::int) as k`);
  });
  await db.query("select analytics.refresh_features()");
}

async function median(fn: () => Promise<unknown>): Promise<number> {
  await fn(); // warm (plans, caches)
  const ts: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  return ts.sort((a, b) => a - b)[Math.floor(ts.length / 2)];
}

interface Row {
  engine: string;
  days: number;
  correlate: number;
  drivers: number;
  tool: number;
  terms: number;
}

const rows: Row[] = [];
for (const engine of engines) {
  let db: Db;
  let cleanup: () => Promise<void>;
  if (engine === "postgres") {
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe("drop database if exists aoma_bench_scaling with (force)");
    await admin.unsafe("create database aoma_bench_scaling");
    db = await openDb({ url: adminUrl.replace(/\/[^/?]+(\?|$)/, "/aoma_bench_scaling$1") });
    cleanup = async () => {
      await db.close();
      await admin.unsafe("drop database if exists aoma_bench_scaling with (force)");
      await admin.end();
    };
  } else {
    const dir = await Deno.makeTempDir({ prefix: "aoma-bench-scaling-" });
    db = await openDb({ pgliteDir: dir });
    cleanup = async () => {
      await db.close();
      await Deno.remove(dir, { recursive: true });
    };
  }
  try {
    await migrateAll(db);
    for (const days of lengths) {
      await generate(db, days);
      const caller = { role: "authenticated" as const, claims: {} };
      const correlate = await median(() => db.query("select * from analytics.correlate('failure_count')"));
      const drivers = await median(() => db.query("select * from analytics.explain_drivers('failure_count')"));
      const tool = await median(() => handler({ targetVariable: "failure_count" }, { db, caller, deadlineMs: 120_000 }));
      const [{ terms }] = await db.query<{ terms: number }>(
        "select count(*) filter (where in_model)::int as terms from analytics.explain_drivers('failure_count')",
      );
      const row = { engine, days, correlate, drivers, tool, terms };
      console.error(JSON.stringify(row));
      rows.push(row);
    }
  } finally {
    await cleanup();
  }
}

const f = (x: number) => x.toFixed(0);
const ratio = (x: number, base: number) => `${(x / base).toFixed(1)}x`;
const lines = [
  `### Analyses vs history length — ${new Date().toISOString().slice(0, 10)}, ${navigator.hardwareConcurrency} cores`,
  "",
  `Command: \`deno run -A bench/analysis_scaling.ts --write\` (median of ${repeat} after a warm-up; goal: near-linear in the days).`,
  "Data: generated daily history (commits, deployments, tickets, hourly asset volume, failures ≈ Poisson(1.5) ×3 after a high-volume day and ×2 on Mondays), the same seeded days at every length.",
  "Times in ms: analytics.correlate('failure_count'), analytics.explain_drivers('failure_count'), and the analyze_correlations tool (target failure_count, chart included); ratio = time / time at 90 days.",
  "",
  "| engine | days | days ratio | correlate | ratio | explain_drivers | ratio | model terms | tool | ratio |",
  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
];
for (const r of rows) {
  const base = rows.find((b) => b.engine === r.engine && b.days === lengths[0])!;
  lines.push(
    `| ${r.engine} | ${r.days.toLocaleString("en-US")} | ${ratio(r.days, base.days)} | ${f(r.correlate)} | ${ratio(r.correlate, base.correlate)} | ` +
      `${f(r.drivers)} | ${ratio(r.drivers, base.drivers)} | ${r.terms} | ${f(r.tool)} | ${ratio(r.tool, base.tool)} |`,
  );
}
const table = lines.join("\n") + "\n";
console.log(table);
if (args.has("write")) await appendResults(table);
Deno.exit(0);
