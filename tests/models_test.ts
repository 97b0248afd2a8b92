/**
 * Regression fits in SQL (sql/70_models.sql, analytics.fit_glm) against statsmodels 0.13, on both
 * engines: the reference data and values are tests/reference/glm_reference.json, made by
 * tests/reference/make_glm_reference.py.
 *
 * - OLS on the Longley data (raw design condition number 4.9e9) and on 300 heteroscedastic rows:
 *   coefficients, classical and HC0–HC3 standard errors, t, p, 95% CIs, R², adjusted R², F and its
 *   p, SSR, log-likelihood, AIC, BIC, condition number of the standardised design;
 * - Logit (Spector & Mazzeo) and GLM Poisson with exposure (400 rows), and quasi-Poisson's scale and
 *   standard errors: coefficients, SE, z, p, CIs, deviance, log-likelihood, AIC;
 * all to 1e-6 relative (p-values: 1e-6 relative or 1e-12 absolute — statsmodels' own 0 for a z of 100).
 * Ridge (l2 > 0): the penalised optimum equals the closed form (OLS) and scipy's trust-exact optimum
 * (logistic), with no standard errors reported.
 * Bad input: one sentence naming the column and the fix; nothing else happens.
 */
import assert from "node:assert/strict";
import type { Db } from "../src/db/types.ts";
import { testOnBothEngines } from "./_engines.ts";

interface Case {
  family: "gaussian" | "binomial" | "poisson";
  rows: number[][];
  statsmodels: Record<string, number | number[]>;
  ridge?: { l2: number; params: number[] };
  /** The last column is the exposure (a binomial row's trials) — poisson cases always have one. */
  exposure?: boolean;
}
const REF = JSON.parse(await Deno.readTextFile(new URL("./reference/glm_reference.json", import.meta.url))) as {
  cases: Record<string, Case>;
};

type FitRow = Record<string, number | string | null>;

function near(got: number | null, want: number, what: string, abs = 0) {
  assert.ok(got !== null && Number.isFinite(got), `${what}: got ${got}, want ${want}`);
  const err = Math.abs(got - want);
  assert.ok(err <= 1e-6 * Math.abs(want) || err <= abs, `${what}: got ${got}, want ${want} (relative error ${err / Math.abs(want)})`);
}

/** Creates table ref_<name> (y, x1 … xk[, exposure]) holding the case's rows. */
async function load(db: Db, name: string, c: Case): Promise<string[]> {
  const exposed = c.family === "poisson" || c.exposure === true; // the last column: a rate's exposure, or a binomial row's trials
  const k = c.rows[0].length - 1 - (exposed ? 1 : 0);
  const xs = Array.from({ length: k }, (_, i) => `x${i + 1}`);
  const cols = ["y", ...xs, ...(exposed ? ["exposure"] : [])];
  await db.query(`create table ref_${name} (${cols.map((x) => `${x} float8`).join(", ")})`);
  await db.query(
    `insert into ref_${name} select * from jsonb_to_recordset($1::text::jsonb) as r(${cols.map((x) => `${x} float8`).join(", ")})`,
    [JSON.stringify(c.rows.map((r) => Object.fromEntries(cols.map((x, i) => [x, r[i]]))))],
  );
  return xs;
}

async function fit(db: Db, name: string, xs: string[], family: string, exposure: string | null = null): Promise<FitRow[]> {
  return await db.query<FitRow>(
    "select * from analytics.fit_glm($1::regclass, 'y', $2::text[], $3, $4)",
    [`ref_${name}`, xs, family, exposure],
  );
}

/** fit_glm's columns and statsmodels' GLM result names of the same numbers. */
const GLM_COLUMNS: [string, string][] = [["estimate", "params"], ["std_error", "bse"], ["statistic", "tvalues"], ["p_value", "pvalues"], ["ci_low", "ci_low"], ["ci_high", "ci_high"]];

function coefficients(rows: FitRow[], sm: Record<string, number | number[]>, pairs: [string, string][], label: string) {
  for (const [col, key] of pairs) {
    (sm[key] as number[]).forEach((want, j) => near(rows[j][col] as number, want, `${label} ${rows[j].term} ${col}`, col === "p_value" ? 1e-12 : 0));
  }
}

testOnBothEngines("regression fits in SQL equal statsmodels (OLS, Logit, GLM Poisson)", "aoma_test_models", async (t, db) => {
  await t.step("OLS: Longley (ill-conditioned) and 300 heteroscedastic rows", async () => {
    for (const name of ["longley_ols", "hetero_ols"]) {
      const c = REF.cases[name], sm = c.statsmodels;
      const rows = await fit(db, name, await load(db, name, c), "gaussian");
      assert.deepEqual(rows.map((r) => r.term), ["(intercept)", ...rows.slice(1).map((_, i) => `x${i + 1}`)]);
      coefficients(rows, sm, [
        ["estimate", "params"], ["std_error", "bse"], ["statistic", "tvalues"], ["p_value", "pvalues"], ["ci_low", "ci_low"],
        ["ci_high", "ci_high"], ["hc0_se", "hc0_se"], ["hc1_se", "hc1_se"], ["hc2_se", "hc2_se"], ["hc3_se", "hc3_se"],
      ], name);
      const r = rows[0];
      near(r.r2 as number, sm.rsquared as number, `${name} R²`);
      near(r.adj_r2 as number, sm.rsquared_adj as number, `${name} adjusted R²`);
      near(r.f as number, sm.fvalue as number, `${name} F`);
      near(r.f_p as number, sm.f_pvalue as number, `${name} F p`, 1e-300);
      near(r.deviance as number, sm.ssr as number, `${name} SSR`);
      near(r.llf as number, sm.llf as number, `${name} log-likelihood`);
      near(r.aic as number, sm.aic as number, `${name} AIC`);
      near(r.bic as number, sm.bic as number, `${name} BIC`);
      near(r.cond as number, sm.cond_standardised as number, `${name} condition number`);
      assert.equal(r.n, sm.nobs);
      assert.equal(r.df_resid, sm.df_resid);
      // robust => false: the same fit without the robust SEs' scan
      const plain = await db.query<FitRow>("select * from analytics.fit_glm($1::regclass, 'y', $2::text[], robust => false)", [`ref_${name}`, rows.slice(1).map((x) => x.term)]);
      assert.deepEqual(plain.map((x) => [x.hc0_se, x.hc1_se, x.hc2_se, x.hc3_se]), plain.map(() => [null, null, null, null]), `${name}: no robust SEs`);
      coefficients(plain, sm, [["estimate", "params"], ["std_error", "bse"], ["p_value", "pvalues"]], `${name} robust => false`);
      near(plain[0].r2 as number, sm.rsquared as number, `${name} R² (robust => false)`);
    }
  });

  await t.step("Logit (Spector & Mazzeo)", async () => {
    const c = REF.cases.spector_logit, sm = c.statsmodels;
    const rows = await fit(db, "spector_logit", await load(db, "spector_logit", c), "binomial");
    coefficients(rows, sm, GLM_COLUMNS, "logit");
    near(rows[0].llf as number, sm.llf as number, "logit log-likelihood");
    near(rows[0].null_deviance as number, -2 * (sm.llnull as number), "logit null deviance");
    near(rows[0].aic as number, sm.aic as number, "logit AIC");
    near(rows[0].deviance as number, sm.deviance as number, "logit deviance");
    assert.equal(rows[0].hc0_se, null, "robust SEs are for OLS only");
  });

  await t.step("GLM Poisson with exposure; quasi-Poisson", async () => {
    const c = REF.cases.exposure_poisson, sm = c.statsmodels;
    const xs = await load(db, "exposure_poisson", c);
    const rows = await fit(db, "exposure_poisson", xs, "poisson", "exposure");
    coefficients(rows, sm, GLM_COLUMNS, "poisson");
    near(rows[0].deviance as number, sm.deviance as number, "poisson deviance");
    near(rows[0].llf as number, sm.llf as number, "poisson log-likelihood");
    near(rows[0].aic as number, sm.aic as number, "poisson AIC");
    const quasi = await fit(db, "exposure_poisson", xs, "quasipoisson", "exposure");
    near(quasi[0].scale as number, sm.quasi_scale as number, "quasi-Poisson scale (Pearson χ² / df)");
    (sm.quasi_bse as number[]).forEach((want, j) => near(quasi[j].std_error as number, want, `quasi-Poisson SE ${j}`));
    assert.equal(quasi[0].llf, null, "quasi-Poisson has no likelihood");
  });

  await t.step("grouped binomial: successes of trials (exposure) equal statsmodels' GLM Binomial on [successes, failures]", async () => {
    const c = REF.cases.trials_binomial, sm = c.statsmodels;
    const xs = await load(db, "trials_binomial", c);
    const rows = await fit(db, "trials_binomial", xs, "binomial", "exposure");
    coefficients(rows, sm, GLM_COLUMNS, "grouped binomial");
    near(rows[0].deviance as number, sm.deviance as number, "grouped binomial deviance (against the saturated model)");
    near(rows[0].null_deviance as number, sm.null_deviance as number, "grouped binomial null deviance");
    near(rows[0].llf as number, sm.llf as number, "grouped binomial log-likelihood (with the binomial coefficients)");
    near(rows[0].aic as number, sm.aic as number, "grouped binomial AIC");
    assert.equal(rows[0].n, sm.nobs, "n counts the rows (cells), as statsmodels' nobs");
    // the same fit expanded to one 0/1 row per trial gives the same coefficients and SEs
    await db.exec(`create table ref_trials_expanded as select (g.i <= r.y)::int::float8 as y, ${xs.map((x) => `r.${x}`).join(", ")}
                   from ref_trials_binomial r cross join lateral generate_series(1, r.exposure::int) g(i)`);
    const expanded = await fit(db, "trials_expanded", xs, "binomial");
    rows.forEach((r, j) => {
      near(expanded[j].estimate as number, r.estimate as number, `expanded ${r.term} estimate`);
      near(expanded[j].std_error as number, r.std_error as number, `expanded ${r.term} SE`);
    });
    await db.exec("drop table ref_trials_expanded");
    await assert.rejects(
      db.query("select * from analytics.fit_glm('ref_trials_binomial', 'exposure', array['x1'], 'binomial', 'y')"),
      /must count successes, a whole number from 0 to the row's trials/,
    );
    await assert.rejects(
      db.query("select * from analytics.cross_validate_glm('ref_trials_binomial', 'y', array['x1'], 'binomial', exposure => 'exposure', order_by => 'x3')"),
      /cross_validate_glm takes 0\/1 rows for the binomial family, not trials/,
    );
  });

  await t.step("ridge (l2): equal to the closed form (OLS) and scipy's optimum (logistic); no intervals", async () => {
    for (const [name, family] of [["hetero_ols", "gaussian"], ["spector_logit", "binomial"]] as const) {
      const ridge = REF.cases[name].ridge!;
      const xs = Array.from({ length: ridge.params.length - 1 }, (_, i) => `x${i + 1}`);
      const rows = await db.query<FitRow>(
        "select * from analytics.fit_glm($1::regclass, 'y', $2::text[], $3, l2 => $4)",
        [`ref_${name}`, xs, family, ridge.l2],
      );
      ridge.params.forEach((want, j) => near(rows[j].estimate as number, want, `${name} ridge ${rows[j].term}`));
      assert.ok(rows.every((r) => r.std_error === null && r.p_value === null && r.ci_low === null && r.hc0_se === null),
        "a penalised fit reports no standard errors, tests or intervals");
      const plain = await fit(db, name, xs, family);
      assert.ok(Math.abs(rows[1].estimate as number) < Math.abs(plain[1].estimate as number), "the penalty shrinks");
    }
    await assert.rejects(db.query("select * from analytics.fit_glm('ref_hetero_ols', 'y', '{x1}', l2 => -1)"),
      /l2 must be a penalty between 0 \(none\) and 1e6 \(got -1\)/);
  });

  await t.step("bad input: one sentence naming the column and the fix", async () => {
    await db.query(`create table bad_fit as
      select g::float8 as y, (g % 7)::float8 as a, 2 * (g % 7)::float8 + 1 as b, 5::float8 as k, (g % 2)::float8 as yb,
             (g > 20)::int::float8 as sep, g % 3 = 0 as flag, 'x' || g as label, (g % 5)::float8 as c
      from generate_series(1, 40) g`);
    const err = async (sql: string, re: RegExp) => {
      await assert.rejects(db.query(sql), (e: Error) => {
        assert.match(e.message, re);
        return true;
      });
    };
    await err("select * from analytics.fit_glm('bad_fit', 'y', '{a,b}')", /^predictors are collinear: "b" is \(almost\) a linear combination of "a"; leave one of them out$/);
    await err("select * from analytics.fit_glm('bad_fit', 'y', '{a,k}')", /^predictor "k" is constant in the rows used \(5\.0+\): it cannot be estimated beside the intercept; leave it out$/);
    await err("select * from analytics.fit_glm('bad_fit', 'y', '{a,nope,label}')", /^columns "nope", "label": not a numeric \(or boolean\) column of (public\.)?bad_fit; valid: y, a, b, k, yb, sep, flag, c$/);
    await err("select * from analytics.fit_glm('bad_fit', 'y', '{a}', 'binomial')", /^a binomial \(logistic\) target must be 0 or 1 in every row \(it ranges from 1 to 40\)/);
    await err("select * from analytics.fit_glm('bad_fit', 'sep', '{y}', 'binomial')", /^the fit does not converge: the predictors \(almost\) perfectly separate the 0 and 1 rows/);
    await err("select * from analytics.fit_glm('bad_fit', 'y', '{a}', 'ols')", /^family must be one of gaussian, binomial, poisson, quasipoisson \(got "ols"\)$/);
    await err("select * from analytics.fit_glm('bad_fit', 'y', '{a}', 'gaussian', 'c')", /^exposure applies to the poisson and quasipoisson families \(a rate's exposure\) and to binomial \(the trials of a row whose target counts its successes\) only$/);
    await err("select * from analytics.fit_glm('bad_fit', 'y', '{a}', level => 100)", /^level must be a percentage strictly between 0 and 100 \(got 100\)$/);
    await err("select * from analytics.fit_glm('bad_fit', 'y', '{y}')", /^predictors must be distinct columns other than the target$/);
    await db.query("create table tiny_fit as select g::float8 as y, g::float8 * g as a, (g % 2)::float8 as b from generate_series(1, 4) g");
    await err("select * from analytics.fit_glm('tiny_fit', 'y', '{a,b}')", /^too few rows: 4 complete rows for 3 coefficients \(the intercept and 2 predictors\); at least 5 are needed$/);
    await db.query("create table one_class as select 1::float8 as y, g::float8 as a from generate_series(1, 20) g");
    await err("select * from analytics.fit_glm('one_class', 'y', '{a}', 'binomial')", /^the target has one class only \(20 of 20 rows are 1\): there is nothing to classify; widen the window$/);
    // booleans are 0/1; the fit of a boolean predictor works
    const [flag] = await db.query<FitRow>("select * from analytics.fit_glm('bad_fit', 'y', '{flag,a}') where term = 'flag'");
    assert.ok(Number.isFinite(flag.estimate as number));
  });
});
