/**
 * Fitted parity with statsmodels (issue 9), every form: for the 20 real series of
 * tests/reference/ets_reference.json (made by tests/reference/make_ets_reference.py), the SQL
 * optimiser (aoma_private.ets_fit, its default budget) fits every form statsmodels fitted; the
 * table gives, per series, the worst relative log-likelihood difference over the forms (SQL −
 * statsmodels, / |statsmodels|; ≥ −1e-6 is the acceptance), the form each picks by AICc, and why
 * the two differ where they do. tests/forecast_test.ts asserts the chosen form's log-likelihood on
 * both engines; this is the complete comparison, on PostgreSQL 15.
 *
 * Usage: deno run -A bench/forecast_fitted_parity.ts [--write]
 * A database of its own (aoma_fc_bench_parity, dropped and recreated) on the cluster at
 * AOMA_BENCH_ADMIN_URL (default postgresql://postgres:postgres@127.0.0.1:54322/postgres).
 */
import postgres from "postgres";
import { migrateAll } from "../src/db/migrate.ts";
import { openPostgres } from "../src/db/postgres.ts";
import { appendResults, benchArgs } from "./_common.ts";
import type { FittedCase } from "../tests/forecast_test.ts";

const args = benchArgs();
const adminUrl = Deno.env.get("AOMA_BENCH_ADMIN_URL") ?? "postgresql://postgres:postgres@127.0.0.1:54322/postgres";
const ref = JSON.parse(await Deno.readTextFile(new URL("../tests/reference/ets_reference.json", import.meta.url))) as {
  generator: string;
  fitted: FittedCase[];
};

const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
await admin.unsafe("drop database if exists aoma_fc_bench_parity with (force)");
await admin.unsafe("create database aoma_fc_bench_parity");
const db = openPostgres(adminUrl.replace(/\/[^/?]+(\?|$)/, "/aoma_fc_bench_parity$1"), { max: 1 });
await migrateAll(db);
const lines: string[] = [];
let worstAll = Infinity, differ = 0, fits = 0;
const t0 = performance.now();
for (const c of ref.fitted) {
  const ours: Record<string, { loglike: number; aicc: number }> = {};
  let worst = Infinity, worstForm = "";
  for (const form of Object.keys(c.forms)) {
    const [trend, season] = form.split(",");
    const [r] = await db.query<{ loglike: number; aicc: number }>(
      "select loglike, aicc from aoma_private.ets_fit($1::float8[], $2, $3, $4)",
      [c.y, trend, season, c.m],
    );
    fits++;
    ours[form] = r;
    const rel = (r.loglike - c.forms[form].loglike) / Math.abs(c.forms[form].loglike);
    if (rel < worst) [worst, worstForm] = [rel, form];
  }
  worstAll = Math.min(worstAll, worst);
  const chosen = Object.keys(ours).reduce((a, b) => (ours[b].aicc < ours[a].aicc ? b : a));
  let why = "";
  if (chosen !== c.chosen) {
    differ++;
    const gain = ours[chosen].loglike - c.forms[chosen].loglike;
    why = `SQL's AICc ${ours[chosen].aicc.toFixed(2)} for ${chosen} (log-likelihood +${gain.toExponential(2)} above statsmodels' fit of it) ` +
      `is below ${c.chosen}'s ${ours[c.chosen].aicc.toFixed(2)}; statsmodels stopped short on ${chosen} (its AICc ${c.forms[chosen].aicc.toFixed(2)})`;
  }
  lines.push(
    `| ${c.name} | ${c.y.length} | ${Object.keys(c.forms).length} | ${worst.toExponential(2)} (${worstForm}) | ${c.chosen} | ${chosen} | ${why} |`,
  );
}
const seconds = (performance.now() - t0) / 1000;
await db.close();
await admin.unsafe("drop database if exists aoma_fc_bench_parity with (force)");
await admin.end();
const section = [
  `## Forecasting: fitted parity with statsmodels, every form (${new Date().toISOString().slice(0, 10)}, bench/forecast_fitted_parity.ts)`,
  "",
  `20 real series of tests/reference/ets_reference.json (${ref.generator}), season 7; ${fits} fits by aoma_private.ets_fit on PostgreSQL 15 in ${seconds.toFixed(1)} s. ` +
  "Column 4: the smallest (SQL − statsmodels) / |statsmodels| log-likelihood over the forms of the series (acceptance: ≥ −1e-6; positive = SQL found a higher maximum). " +
  `Worst over all fits: ${worstAll.toExponential(2)}. Chosen forms differ on ${differ} of 20.`,
  "",
  "| series | n | forms | worst relative difference (form) | statsmodels picks | SQL picks | why they differ |",
  "| --- | ---: | ---: | ---: | --- | --- | --- |",
  ...lines,
  "",
].join("\n");
console.log(section);
if (args.has("write")) await appendResults(section);
