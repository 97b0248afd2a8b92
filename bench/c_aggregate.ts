/**
 * Experiment (issue 10's unmet speed goals): what a C aggregate would buy over the SQL fits of
 * sql/70_models.sql — measured, so "allow an optional C aggregate on server PostgreSQL" can be decided
 * on numbers. The C code (bench/c_aggregate/xtx.c) is NOT part of the library: the design card puts
 * the math in SQL/PL/pgSQL, and PGlite cannot load C.
 *
 * On bench/models_fit.ts's rows (same generator, same seed), for each size, `--reps` rounds (best
 * of each), max_parallel_workers_per_gather 0 and 2, interleaved:
 *   floor        select sum(x1), …, sum(x5), sum(y)
 *   SQL OLS scan the one scan of an OLS fit (aoma_private.ols_moments_sql: 15 regr_* pairs)
 *   SQL OLS      analytics.fit_glm(rows, 'y', x1..x5, robust => false)
 *   SQL IRLS scan one logistic IRLS scan (aoma_private.glm_moments_sql, binomial, at fit_glm's estimate)
 *   SQL logistic analytics.fit_glm(rows, 'yb', x1..x5, 'binomial')
 *   C IRLS scan  one aoma_logit_scan (XᵀWX, the score and the deviance in one transition a row), at the same β
 *   C OLS        aoma_c_ols: one aoma_xtx scan (XᵀX and Xᵀy in one transition a row), glm_solve
 *   C logistic   aoma_c_logistic: fit_glm's start for a 0/1 target from one aoma_xtx scan, then a
 *                Newton step an aoma_logit_scan (glm_solve) until the Newton decrement ≤ 1e-14
 *                (|dev| + 1) — fit_glm's rule; "scans" counts the start's scan, as fit_glm's
 *                iterations do (the fits: bench/c_aggregate/xtx.sql, the library's solve)
 *   (b)          bench/models_fit.py: psql \copy → pandas → statsmodels OLS / Logit, end to end
 * The C fits' coefficients must equal fit_glm's to 1e-6 relative, or the bench throws.
 *
 * Usage (local cluster up, `cc` and postgresql-server-dev-15 installed — the bench says so if not):
 *   deno run -A bench/c_aggregate.ts [--sizes 1000000,10000000] [--reps 3] [--write]
 * A database of its own (aoma_cagg_bench, dropped and recreated, dropped at the end) on the cluster at
 * AOMA_BENCH_ADMIN_URL (default postgresql://postgres:postgres@127.0.0.1:54322/postgres).
 */
import { appendResults } from "./_common.ts";
import { args, type Fit, floorSql, fmt, loadRows, logitSql, olsSql, openBenchDb, pair, pandasBest, ratio, relDiff, relOf, reps, sizes, timed, WORKERS, X } from "./models_fit.ts";

const DB_NAME = "aoma_cagg_bench";

/** Builds xtx.c into a temporary folder the server can read; returns the library's path. */
async function buildLibrary(): Promise<string> {
  const run = async (cmd: string, cargs: string[]) => {
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command(cmd, { args: cargs }).output();
    } catch {
      throw new Error(`c_aggregate: ${cmd} is not installed (the bench needs cc and postgresql-server-dev-15)`);
    }
    if (!out.success) throw new Error(`c_aggregate: ${cmd} ${cargs.join(" ")} failed:\n${new TextDecoder().decode(out.stderr)}`);
    return new TextDecoder().decode(out.stdout).trim();
  };
  const include = await run("pg_config", ["--includedir-server"]);
  const dir = await Deno.makeTempDir({ prefix: "aoma_cagg_" });
  await Deno.chmod(dir, 0o755);
  const so = `${dir}/aoma_xtx.so`;
  await run("cc", ["-O2", "-fPIC", "-shared", "-Wall", `-I${include}`, "-o", so, new URL("./c_aggregate/xtx.c", import.meta.url).pathname]);
  return so;
}

if (import.meta.main) {
  const so = await buildLibrary();
  const { admin, url, db } = await openBenchDb(DB_NAME);
  await db.exec((await Deno.readTextFile(new URL("./c_aggregate/xtx.sql", import.meta.url))).replaceAll("MODULE_PATHNAME", so));
  const [{ version }] = await db.query<{ version: string }>("select split_part(version(), ' on ', 1) as version");
  const cores = navigator.hardwareConcurrency;
  const loadStart = Deno.loadavg();
  await loadRows(db);

  const rows: string[] = [];
  const goals: string[] = [];
  for (const n of sizes) {
    const rel = relOf(n);
    const src = `select ${X.map((x, j) => `${x} as x_${j + 1}`).join(", ")}, %s as y, 0::float8 as off from ${rel}`;
    const [{ q: olsScanSql }] = await db.query<{ q: string }>("select aoma_private.ols_moments_sql($1, $2) as q", [src.replace("%s", "y"), X.length]);
    // the IRLS scans (SQL and C) at the logistic estimate, where the fits' last scans run (untimed fit)
    const betaHat = `{${(await db.query<Fit>(logitSql(rel))).map((f) => f.estimate).join(",")}}`;
    const [{ q: irlsScanSql }] = await db.query<{ q: string }>(
      "select aoma_private.glm_moments_sql($1, $2::int, 'binomial', $3::float8[], array_fill(0::float8, array[$2::int])) as q",
      [src.replace("%s", "yb"), X.length, betaHat],
    );
    const sql = {
      floor: floorSql(rel),
      olsScan: olsScanSql,
      ols: olsSql(rel),
      irlsScan: irlsScanSql,
      logit: logitSql(rel),
      cOls: `select aoma_c_ols('${rel}', 'y') as beta`,
      cLogit: `select beta, scans from aoma_c_logistic('${rel}')`,
      cIrlsScan: `select aoma_logit_scan('${betaHat}'::float8[], yb, ${X.join(", ")}) from ${rel}`,
    };
    await timed(db, 0, sql.floor); // page cache warm
    const best = new Map<string, number>();
    const keep = (k: string, s: number) => best.set(k, Math.min(best.get(k) ?? Infinity, s));
    let sqlOls: number[] = [], sqlLogit: number[] = [], cOls: number[] = [], cLogit: number[] = [], iters = 0, scans = 0;
    for (let r = 0; r < reps; r++) {
      for (const w of WORKERS) {
        keep(`floor${w}`, (await timed(db, w, sql.floor)).s);
        keep(`olsScan${w}`, (await timed(db, w, sql.olsScan)).s);
        const o = await timed<Fit>(db, w, sql.ols);
        keep(`ols${w}`, o.s);
        sqlOls = o.rows.map((f) => f.estimate);
        keep(`irlsScan${w}`, (await timed(db, w, sql.irlsScan)).s);
        const l = await timed<Fit>(db, w, sql.logit);
        keep(`logit${w}`, l.s);
        sqlLogit = l.rows.map((f) => f.estimate);
        iters = l.rows[0].iterations;
        const c = await timed<{ beta: number[] }>(db, w, sql.cOls);
        keep(`cOls${w}`, c.s);
        cOls = c.rows[0].beta;
        keep(`cIrlsScan${w}`, (await timed(db, w, sql.cIrlsScan)).s);
        const cl = await timed<{ beta: number[]; scans: number }>(db, w, sql.cLogit);
        keep(`cLogit${w}`, cl.s);
        cLogit = cl.rows[0].beta;
        scans = cl.rows[0].scans;
      }
    }
    const dOls = relDiff(cOls, sqlOls), dLogit = relDiff(cLogit, sqlLogit);
    if (!(dOls <= 1e-6 && dLogit <= 1e-6)) {
      throw new Error(`size ${n}: C vs fit_glm coefficients differ (OLS ${dOls}, logistic ${dLogit}): ${cOls} / ${sqlOls}; ${cLogit} / ${sqlLogit}`);
    }
    const py = await pandasBest(url, rel, n);
    const g = (k: string) => best.get(k)!;
    const both = (k: string) => pair(g(`${k}0`), g(`${k}2`));
    const both2 = (a: string, b: string) => pair(g(`${a}0`) / g(`${b}0`), g(`${a}2`) / g(`${b}2`), ratio);
    rows.push(
      `| ${n.toLocaleString("en-US")} | ${both("floor")} | ${both("olsScan")} | ${both("ols")} | ${both2("ols", "floor")} | ${both("cOls")} | ${both2("cOls", "floor")} | ` +
        `${both("irlsScan")} | ${both("cIrlsScan")} | ${both("logit")} (${iters}) | ${both2("logit", "ols")} | ${both("cLogit")} (${scans}) | ${both2("cLogit", "cOls")} | ` +
        `${fmt(py.ols_e2e_s)} / ${fmt(py.logit_e2e_s)} | ${pair(py.ols_e2e_s / g("cOls0"), py.ols_e2e_s / g("cOls2"), ratio)} | ${pair(py.logit_e2e_s / g("cLogit0"), py.logit_e2e_s / g("cLogit2"), ratio)} |`,
    );
    console.log(rows.at(-1));
    const yes = (ok: boolean) => (ok ? "met" : "**not met**");
    goals.push(
      `- ${n.toLocaleString("en-US")} rows, with the C aggregates: OLS ≤ 1.2× floor ${yes(g("cOls0") <= 1.2 * g("floor0") && g("cOls2") <= 1.2 * g("floor2"))}; ` +
        `logistic ≤ (iterations + 1) × OLS = ${scans + 1}× ${yes(g("cLogit0") <= (scans + 1) * g("cOls0") && g("cLogit2") <= (scans + 1) * g("cOls2"))}; ` +
        `≥ 5× faster than (b): OLS ${yes(py.ols_e2e_s / g("cOls0") >= 5)} / ${yes(py.ols_e2e_s / g("cOls2") >= 5)}, logistic ${yes(py.logit_e2e_s / g("cLogit0") >= 5)} / ${yes(py.logit_e2e_s / g("cLogit2") >= 5)}; ` +
        `C vs fit_glm coefficients: OLS ${dOls.toExponential(1)}, logistic ${dLogit.toExponential(1)} max relative difference.`,
    );
  }
  await db.close();
  await admin.unsafe(`drop database if exists ${DB_NAME} with (force)`);
  await admin.end();
  await Deno.remove(so.replace(/\/[^/]+$/, ""), { recursive: true });
  const loadEnd = Deno.loadavg();
  const section = [
    `### Experiment: a C aggregate vs the SQL fits — ${new Date().toISOString().slice(0, 10)}, ${version}, ${cores} cores (bench/c_aggregate.ts)`,
    "",
    `Command: \`deno run -A bench/c_aggregate.ts --sizes ${sizes.join(",")} --reps ${reps}${args.has("write") ? " --write" : ""}\` (best of ${reps}; ` +
      `load average ${loadStart.map((x) => x.toFixed(2)).join(" / ")} at start, ${loadEnd.map((x) => x.toFixed(2)).join(" / ")} at the end). ` +
      "The rows of bench/models_fit.ts. C: bench/c_aggregate/xtx.c — an experiment, not part of the library. \"a / b\" = 0 / 2 parallel workers; " +
      "the SQL scans are the queries fit_glm runs (OLS: its one scan; IRLS: one logistic scan at fit_glm's estimate, C the same); C OLS = one aoma_xtx scan + glm_solve; " +
      "C logistic = fit_glm's start from an aoma_xtx scan, then Newton over aoma_logit_scan and glm_solve (scans in brackets, the start's included) with fit_glm's stopping rule (bench/c_aggregate/xtx.sql); (b) = pandas + statsmodels end to end. Times in seconds.",
    "",
    "| rows | floor | SQL OLS scan | SQL OLS fit | ÷ floor | C OLS | ÷ floor | SQL IRLS scan | C IRLS scan | SQL logistic (iterations) | ÷ SQL OLS | C logistic (scans) | ÷ C OLS | (b) OLS / logistic | (b) ÷ C OLS | (b) ÷ C logistic |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
    "",
    "Goals (issue 10), had the fits these aggregates:",
    ...goals,
    "",
  ].join("\n");
  console.log(section);
  if (args.has("write")) await appendResults(section);
}
