/**
 * Benchmark (issue 10): analytics.fit_glm (OLS and logistic, sql/70_models.sql) on 1M and 10M rows
 * next to the floor — one bare aggregate scan of the same columns — each with
 * max_parallel_workers_per_gather 0 and 2, and next to pandas + statsmodels end to end on the same rows
 * (bench/models_fit.py: psql \copy → pandas.read_csv → statsmodels OLS / Logit), in the same run.
 *
 * The rows (seeded with setseed(0.42), generated in SQL, the same every run; the first N rows do not
 * depend on the largest size): id bigint, x1 ~ N(0,1), x2 ~ U(0,10), x3 ~ N(1,2²), x4 ~ U(0,1),
 * x5 = 0.5·x1 + N(0,1); y = 1 + 2x1 − 0.5x2 + 0.3x3 + 0.8x4 − 1.2x5 + N(0,1.5²); yb ~ Bernoulli(logistic(
 * −0.5 + 0.8x1 − 0.1x2 + 0.3x3 + 0.5x4 − 0.6x5)) as 0/1 float8. One unlogged table `fit_rows` at the
 * largest size; every smaller size gets its own table `fit_rows_N` (copy of `id <= N`), so every scan
 * reads exactly N rows. Each table is vacuumed (freeze) and analysed before timing, and scanned once
 * untimed (page cache warm).
 *
 * Timed, `--reps` rounds (default 3; the best of each is reported), the eight SQL measures interleaved
 * within a round: floor `select sum(x1), …, sum(x5), sum(y)`, OLS `fit_glm(rows, 'y', x1..x5,
 * robust => false)` (what statsmodels' OLS fit computes), OLS with its robust standard errors
 * `fit_glm(rows, 'y', x1..x5)` (HC0–HC3: one more scan), logistic `fit_glm(rows, 'yb', x1..x5,
 * 'binomial')`, each in its own transaction on a single
 * connection after `set local max_parallel_workers_per_gather` 0 or 2 (only the statement is timed);
 * then (b) the Python script `--reps` times. Workers launched at "2" are read once per size with
 * auto_explain (untimed). The SQL OLS coefficients must equal statsmodels' to 1e-6 relative (same
 * data), or the bench throws.
 *
 * Usage (local cluster up: `npm run db:start`):
 *   deno run -A bench/models_fit.ts [--sizes 1000000,10000000] [--reps 3] [--write]
 * A database of its own (aoma_models_bench_fit, dropped and recreated) on the cluster at
 * AOMA_BENCH_ADMIN_URL (default postgresql://postgres:postgres@127.0.0.1:54322/postgres).
 */
import postgres from "postgres";
import { migrateAll } from "../src/db/migrate.ts";
import { openPostgres } from "../src/db/postgres.ts";
import type { Db } from "../src/db/types.ts";
import { appendResults, benchArgs } from "./_common.ts";

// shared with bench/c_aggregate.ts: the flags, the rows, the timing and the fits' queries
export const args = benchArgs();
export const sizes = (args.get("sizes") ?? "1000000,10000000").split(",").map(Number).sort((a, b) => a - b);
export const reps = Number(args.get("reps") ?? 3);
export const adminUrl = Deno.env.get("AOMA_BENCH_ADMIN_URL") ?? "postgresql://postgres:postgres@127.0.0.1:54322/postgres";
const DB_NAME = "aoma_models_bench_fit";
export const X = ["x1", "x2", "x3", "x4", "x5"];
export const WORKERS = [0, 2] as const;

/** The rows, generated in SQL on one connection (random() is parallel-restricted: a serial plan, so deterministic). */
function generateSql(n: number): string {
  const bm = (a: string, b: string) => `sqrt(-2 * ln(1 - ${a})) * cos(2 * pi() * ${b})`; // Box–Muller: N(0,1)
  const r = Array.from({ length: 11 }, (_, i) => `random() as r${i + 1}`).join(", ");
  return `
    select setseed(0.42);
    create unlogged table fit_rows as
    select id, x1, x2, x3, x4, x5,
      1 + 2 * x1 - 0.5 * x2 + 0.3 * x3 + 0.8 * x4 - 1.2 * x5 + 1.5 * e as y,
      (u < 1 / (1 + exp(-(-0.5 + 0.8 * x1 - 0.1 * x2 + 0.3 * x3 + 0.5 * x4 - 0.6 * x5))))::int::float8 as yb
    from (
      select id, ${bm("r1", "r2")} as x1, 10 * r3 as x2, 1 + 2 * ${bm("r4", "r5")} as x3, r6 as x4,
        0.5 * ${bm("r1", "r2")} + ${bm("r7", "r8")} as x5, ${bm("r9", "r10")} as e, r11 as u
      from (select g::bigint as id, ${r} from generate_series(1, ${n}) as g offset 0) as r
    ) as s;`;
}

export const relOf = (n: number) => (n === sizes.at(-1) ? "fit_rows" : `fit_rows_${n}`);
export const floorSql = (rel: string) => `select ${[...X, "y"].map((c) => `sum(${c})`).join(", ")} from ${rel}`;
export const olsSql = (rel: string) => `select term, estimate, iterations from analytics.fit_glm('${rel}', 'y', '{${X}}', robust => false)`;
const olsHcSql = (rel: string) => `select term, estimate, iterations from analytics.fit_glm('${rel}', 'y', '{${X}}')`;
export const logitSql = (rel: string) => `select term, estimate, iterations from analytics.fit_glm('${rel}', 'yb', '{${X}}', 'binomial')`;

export type Fit = { term: string; estimate: number; iterations: number };

/** Generates the rows (the largest size) and one table per smaller size, frozen and analysed. */
export async function loadRows(db: Db): Promise<void> {
  await db.exec(generateSql(sizes.at(-1)!));
  for (const n of sizes.slice(0, -1)) {
    await db.exec(`create unlogged table ${relOf(n)} as select * from fit_rows where id <= ${n} order by id`);
  }
  for (const n of sizes) await db.exec(`vacuum (freeze, analyze) ${relOf(n)}`);
}

/** One statement in its own transaction with the worker setting, timed (seconds) without the set/commit. */
export async function timed<T>(db: Db, workers: number, text: string): Promise<{ s: number; rows: T[] }> {
  return await db.transaction(async (tx) => {
    await tx.exec(`set local max_parallel_workers_per_gather = ${workers}`);
    const t0 = performance.now();
    const rows = await tx.query<T>(text);
    return { s: (performance.now() - t0) / 1000, rows };
  });
}

/** Workers launched (max over the plans) for a statement at 2 workers, through auto_explain's notices. */
async function workersLaunched(url: string, text: string): Promise<string> {
  const notes: string[] = [];
  const c = postgres(url, { max: 1, onnotice: (n) => notes.push(String(n.message)) });
  try {
    await c.begin(async (tx) => {
      await tx.unsafe(
        `load 'auto_explain'; set local auto_explain.log_min_duration = 0; set local auto_explain.log_analyze = on;
         set local auto_explain.log_nested_statements = on; set local auto_explain.log_level = notice;
         set local max_parallel_workers_per_gather = 2`,
      ).simple();
      await tx.unsafe(text);
    });
  } finally {
    await c.end();
  }
  const planned = notes.flatMap((m) => [...m.matchAll(/Workers Planned: (\d+)/g)].map((x) => +x[1]));
  const launched = notes.flatMap((m) => [...m.matchAll(/Workers Launched: (\d+)/g)].map((x) => +x[1]));
  return planned.length ? `${Math.max(...launched)} of ${Math.max(...planned)}` : "no parallel plan";
}

export const fmt = (s: number) => (s < 100 ? s.toPrecision(3) : s.toFixed(0));
export const pair = (a: number, b: number, f = fmt) => `${f(a)} / ${f(b)}`;
export const ratio = (x: number) => `${x.toFixed(2)}×`;

/** What bench/models_fit.py prints: seconds per part, the rows read, statsmodels' coefficients. */
export type Py = Record<"read_s" | "ols_s" | "ols_hc_s" | "logit_s" | "ols_e2e_s" | "ols_hc_e2e_s" | "logit_e2e_s" | "total_s" | "import_s", number> & {
  rows: number;
  ols_params: number[];
  logit_params: number[];
  logit_iterations: number;
};

/** (b): pandas + statsmodels on rel (n rows), `reps` runs, the best of each part. */
export async function pandasBest(url: string, rel: string, n: number): Promise<Py> {
  let py: Py | undefined;
  for (let r = 0; r < reps; r++) {
    const out = await new Deno.Command("/usr/bin/python3", {
      args: [new URL("./models_fit.py", import.meta.url).pathname, url, rel],
    }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    const run = JSON.parse(new TextDecoder().decode(out.stdout)) as Py;
    if (run.rows !== n) throw new Error(`models_fit.py read ${run.rows} rows, expected ${n}`);
    py = py ? { ...run, ...Object.fromEntries(Object.entries(run).filter(([k]) => k.endsWith("_s")).map(([k, v]) => [k, Math.min(v as number, py![k as keyof Py] as number)])) } as Py : run;
  }
  return py!;
}

/** The largest relative difference of two coefficient vectors. */
export const relDiff = (a: number[], b: number[]) => Math.max(...a.map((x, i) => Math.abs(x - b[i]) / Math.max(Math.abs(x), Math.abs(b[i]), 1e-300)));

/** A fresh database `name` on the cluster (dropped first), the library migrated into it. */
export async function openBenchDb(name: string): Promise<{ admin: postgres.Sql; url: string; db: Db }> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.unsafe(`create database ${name}`);
  const url = adminUrl.replace(/\/[^/?]+(\?|$)/, `/${name}$1`);
  const db = openPostgres(url, { max: 1 });
  await migrateAll(db);
  return { admin, url, db };
}

if (import.meta.main) {
  const { admin, url, db } = await openBenchDb(DB_NAME);
  const [{ version }] = await db.query<{ version: string }>("select split_part(version(), ' on ', 1) as version");
  const cpu = (await Deno.readTextFile("/proc/cpuinfo")).match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown CPU";
  const cores = navigator.hardwareConcurrency;
  const loadStart = Deno.loadavg();

  const tGen = performance.now();
  await loadRows(db);
  console.log(`rows generated in ${((performance.now() - tGen) / 1000).toFixed(1)} s`);

  const rows: string[] = [];
  const goals: string[] = [];
  const notes: string[] = [];
  for (const n of sizes) {
    const rel = relOf(n);
    const [{ mb }] = await db.query<{ mb: number }>(`select pg_total_relation_size('${rel}') / 1048576.0::float8 as mb`);
    await timed(db, 0, floorSql(rel)); // page cache warm
    const best = new Map<string, number>();
    const keep = (k: string, s: number) => best.set(k, Math.min(best.get(k) ?? Infinity, s));
    const fits = new Map<string, Fit[]>();
    for (let r = 0; r < reps; r++) {
      for (const w of WORKERS) {
        keep(`floor${w}`, (await timed(db, w, floorSql(rel))).s);
        const o = await timed<Fit>(db, w, olsSql(rel));
        keep(`ols${w}`, o.s);
        fits.set(`ols${w}`, o.rows);
        keep(`olshc${w}`, (await timed<Fit>(db, w, olsHcSql(rel))).s);
        const l = await timed<Fit>(db, w, logitSql(rel));
        keep(`logit${w}`, l.s);
        fits.set(`logit${w}`, l.rows);
      }
    }
    const par = { floor: await workersLaunched(url, floorSql(rel)), ols: await workersLaunched(url, olsSql(rel)) };

    const py = await pandasBest(url, rel, n);

    // sanity: same data, same OLS (and report the logistic difference)
    for (const w of WORKERS) {
      const est = fits.get(`ols${w}`)!.map((f) => f.estimate);
      const d = relDiff(est, py.ols_params);
      if (!(d <= 1e-6)) {
        throw new Error(`size ${n}, ${w} workers: SQL OLS ${JSON.stringify(est)} vs statsmodels ${JSON.stringify(py.ols_params)} (max relative difference ${d})`);
      }
    }
    const olsDiff = relDiff(fits.get("ols0")!.map((f) => f.estimate), py.ols_params);
    const logitDiff = Math.max(...WORKERS.map((w) => relDiff(fits.get(`logit${w}`)!.map((f) => f.estimate), py.logit_params)));
    const iters = fits.get("logit0")![0].iterations;
    const iters2 = fits.get("logit2")![0].iterations;

    const g = (k: string) => best.get(k)!;
    rows.push(
      `| ${n.toLocaleString("en-US")} | ${mb.toFixed(0)} | ${pair(g("floor0"), g("floor2"))} | ${pair(g("ols0"), g("ols2"))} | ` +
        `${pair(g("ols0") / g("floor0"), g("ols2") / g("floor2"), ratio)} | ${pair(g("olshc0"), g("olshc2"))} | ${pair(g("logit0"), g("logit2"))} | ` +
        `${iters}${iters2 !== iters ? ` / ${iters2}` : ""} | ` +
        `${pair(g("logit0") / g("ols0"), g("logit2") / g("ols2"), ratio)} | ${fmt(py.read_s)} | ${fmt(py.ols_e2e_s)} | ${fmt(py.ols_hc_e2e_s)} | ` +
        `${fmt(py.logit_e2e_s)} | ${pair(py.ols_e2e_s / g("ols0"), py.ols_e2e_s / g("ols2"), ratio)} | ` +
        `${pair(py.ols_hc_e2e_s / g("olshc0"), py.ols_hc_e2e_s / g("olshc2"), ratio)} | ` +
        `${pair(py.logit_e2e_s / g("logit0"), py.logit_e2e_s / g("logit2"), ratio)} |`,
    );
    console.log(rows.at(-1));
    const yes = (ok: boolean) => (ok ? "met" : "**not met**");
    const speedOls = g("ols0") / g("ols2"), speedFloor = g("floor0") / g("floor2"), speedLogit = g("logit0") / g("logit2");
    goals.push(
      `- ${n.toLocaleString("en-US")} rows: OLS ≤ 1.2× floor: ${yes(g("ols0") <= 1.2 * g("floor0") && g("ols2") <= 1.2 * g("floor2"))} ` +
        `(${ratio(g("ols0") / g("floor0"))} serial, ${ratio(g("ols2") / g("floor2"))} at 2 workers); ` +
        `logistic ≤ (iterations + 1) × OLS = ${iters + 1}×: ${yes(g("logit0") <= (iters + 1) * g("ols0") && g("logit2") <= (iters2 + 1) * g("ols2"))} ` +
        `(${ratio(g("logit0") / g("ols0"))} / ${ratio(g("logit2") / g("ols2"))}); ` +
        `≥ 5× faster than (b) end to end: OLS ${yes(py.ols_e2e_s / g("ols0") >= 5)} serial, ${yes(py.ols_e2e_s / g("ols2") >= 5)} at 2 workers; ` +
        `OLS + HC ${yes(py.ols_hc_e2e_s / g("olshc0") >= 5)} / ${yes(py.ols_hc_e2e_s / g("olshc2") >= 5)}; ` +
        `logistic ${yes(py.logit_e2e_s / g("logit0") >= 5)} / ${yes(py.logit_e2e_s / g("logit2") >= 5)}; ` +
        `real speed-up from 2 workers (≥ 1.3×): ${yes(speedOls >= 1.3 && speedLogit >= 1.3)} ` +
        `(floor ${ratio(speedFloor)}, OLS ${ratio(speedOls)}, logistic ${ratio(speedLogit)}; workers launched: floor ${par.floor}, OLS scan ${par.ols}).`,
    );
    notes.push(
      `- ${n.toLocaleString("en-US")} rows: (b) read ${fmt(py.read_s)} s, OLS fit ${fmt(py.ols_s)} s, its HC0–HC3 ${fmt(py.ols_hc_s)} s, Logit fit ${fmt(py.logit_s)} s ` +
        `(${py.logit_iterations} Newton iterations), all ${fmt(py.total_s)} s, imports ${fmt(py.import_s)} s (not counted); ` +
        `SQL vs statsmodels coefficients: OLS ${olsDiff.toExponential(1)}, logistic ${logitDiff.toExponential(1)} max relative difference.`,
    );
  }
  await db.close();
  await admin.unsafe(`drop database if exists ${DB_NAME} with (force)`);
  await admin.end();
  const loadEnd = Deno.loadavg();

  const section = [
    `### Regression fits in SQL vs the floor and pandas + statsmodels — ${new Date().toISOString().slice(0, 10)}, ${version}, ${cores} cores (bench/models_fit.ts)`,
    "",
    `Command: \`deno run -A bench/models_fit.ts --sizes ${sizes.join(",")} --reps ${reps}${args.has("write") ? " --write" : ""}\` ` +
      `(best of ${reps}; goals: OLS ≤ 1.2× floor, logistic ≤ (IRLS iterations + 1) × OLS, ≥ 5× faster than (b) end to end, a real speed-up from 2 workers).`,
    `Machine: ${cpu}, ${cores} cores, shared with other work; load average ${loadStart.map((x) => x.toFixed(2)).join(" / ")} at start, ` +
      `${loadEnd.map((x) => x.toFixed(2)).join(" / ")} at the end.`,
    `Rows: seeded, generated in SQL (x1..x5, y linear in x + noise, yb 0/1 from a logistic model), an unlogged table per size, frozen and analysed, page cache warm. ` +
      `Floor: \`select sum(x1), …, sum(x5), sum(y)\`. OLS: \`analytics.fit_glm(rows, 'y', '{x1,…,x5}', robust => false)\` (classical SEs, as statsmodels' fit); ` +
      `OLS + HC0–3: the same with its robust standard errors (the default; one more scan); logistic: \`fit_glm(rows, 'yb', '{x1,…,x5}', 'binomial')\`. ` +
      `"a / b" = max_parallel_workers_per_gather 0 / 2 (set local, single connection). ` +
      `(b): bench/models_fit.py — \`psql \\copy … to stdout with csv\` → pandas.read_csv → statsmodels OLS / Logit (params, SEs, p, CIs, fit statistics; OLS + HC: and HC0_se … HC3_se), end to end = read + fit, imports excluded. Times in seconds.`,
    "",
    "| rows | MB | floor | OLS | OLS ÷ floor | OLS + HC0–3 | logistic | iterations | logistic ÷ OLS | (b) read | (b) OLS end to end | (b) OLS + HC end to end | (b) logistic end to end | SQL speed-up vs (b), OLS | OLS + HC | logistic |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
    "",
    "Goals:",
    ...goals,
    "",
    "Notes:",
    ...notes,
    "",
  ].join("\n");
  console.log(section);
  if (args.has("write")) await appendResults(section);
}
