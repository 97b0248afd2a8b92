/**
 * Model metrics and time-ordered cross-validation (sql/71_model_eval.sql) against numpy/scipy and
 * statsmodels, on both engines: reference values in tests/reference/metrics_reference.json, made by
 * tests/reference/make_metrics_reference.py.
 *
 * - analytics.binary_metrics on a case with tied probabilities and a rare-outcome case (threshold
 *   0.2, 5 bins): AUC with mid-ranks, Brier and its skill over the base rate, log loss and its
 *   baseline, accuracy, balanced and majority accuracy, the confusion matrix, every calibration bin,
 *   ECE;
 * - analytics.count_metrics: MAE, RMSE, mean Poisson deviance, and the same of a baseline;
 * - analytics.cross_validate_glm on 160 time-ordered rows, 4 folds: each fold's training size, its
 *   metrics from Logit fitted by statsmodels on the rows before it, and the pooled metrics;
 * all to 1e-9 relative (1e-12 absolute for values near 0). Bad input: one sentence.
 */
import assert from "node:assert/strict";
import { testOnBothEngines } from "./_engines.ts";

type Json = Record<string, unknown>;
const REF = JSON.parse(await Deno.readTextFile(new URL("./reference/metrics_reference.json", import.meta.url))) as {
  binary: Record<string, { y: number[]; p: number[]; threshold: number; bins: number; expected: Json }>;
  counts: Record<string, { y: number[]; mu: number[]; baseline: number[]; expected: Json; expected_baseline: Json }>;
  cv: { rows: number[][]; folds: { fold: number; train_rows: number; test_rows: number; metrics: Json }[]; pooled: Json };
};

function near(got: unknown, want: unknown, what: string) {
  if (typeof want === "number") {
    assert.equal(typeof got, "number", `${what}: got ${got}`);
    const err = Math.abs((got as number) - want);
    assert.ok(err <= 1e-9 * Math.abs(want) || err <= 1e-12, `${what}: got ${got}, want ${want}`);
  } else if (Array.isArray(want)) {
    assert.equal((got as unknown[]).length, want.length, `${what}: length`);
    want.forEach((w, i) => near((got as unknown[])[i], w, `${what}[${i}]`));
  } else if (want && typeof want === "object") {
    for (const [k, w] of Object.entries(want)) near((got as Json)[k], w, `${what}.${k}`);
  } else {
    assert.equal(got, want, what);
  }
}

const BINARY_KEYS = ["n", "positives", "base_rate", "auc", "brier", "brier_baseline", "brier_skill", "log_loss", "log_loss_baseline",
  "accuracy", "balanced_accuracy", "majority_accuracy", "tp", "fp", "tn", "fn", "calibration", "ece"];

testOnBothEngines("model metrics and time-ordered cross-validation equal numpy/scipy/statsmodels", "aoma_test_model_eval", async (t, db) => {
  await t.step("binary metrics (ties; a rare outcome at threshold 0.2)", async () => {
    for (const [name, c] of Object.entries(REF.binary)) {
      const [r] = await db.query<{ m: Json }>("select analytics.binary_metrics($1::float8[], $2::float8[], $3, $4) as m", [c.y, c.p, c.threshold, c.bins]);
      for (const k of BINARY_KEYS) near(r.m[k], c.expected[k], `${name} ${k}`);
    }
  });

  await t.step("count metrics next to a baseline", async () => {
    const c = REF.counts.poisson;
    const [r] = await db.query<{ m: Json }>("select analytics.count_metrics($1::float8[], $2::float8[], $3::float8[]) as m", [c.y, c.mu, c.baseline]);
    for (const k of ["mae", "rmse", "poisson_deviance"]) {
      near(r.m[k], c.expected[k], k);
      near(r.m[`${k}_baseline`], c.expected_baseline[k], `${k}_baseline`);
    }
  });

  await t.step("cross-validation: expanding window, 4 folds, logistic", async () => {
    await db.query("create table cv_rows (t float8, y float8, x1 float8, x2 float8)");
    await db.query(
      "insert into cv_rows select * from jsonb_to_recordset($1::text::jsonb) as r(t float8, y float8, x1 float8, x2 float8)",
      [JSON.stringify(REF.cv.rows.map(([tt, y, x1, x2]) => ({ t: tt, y, x1, x2 })))],
    );
    const [r] = await db.query<{ cv: Json }>("select analytics.cross_validate_glm('cv_rows', 'y', '{x1,x2}', 'binomial', 't', 4) as cv");
    const folds = r.cv.folds as Json[];
    assert.equal(folds.length, 4);
    REF.cv.folds.forEach((want, i) => {
      assert.equal(folds[i].train_rows, want.train_rows, `fold ${want.fold} trains on every earlier row`);
      assert.equal(folds[i].test_rows, want.test_rows);
      for (const k of BINARY_KEYS) near((folds[i].metrics as Json)[k], want.metrics[k], `fold ${want.fold} ${k}`);
    });
    for (const k of BINARY_KEYS) near((r.cv.pooled as Json)[k], REF.cv.pooled[k], `pooled ${k}`);
    const across = r.cv.across_folds as Record<string, { mean: number; sd: number; folds: number }>;
    const aucs = REF.cv.folds.map((f) => f.metrics.auc as number);
    near(across.auc.mean, aucs.reduce((a, b) => a + b) / 4, "mean AUC over the folds");
    assert.equal(across.auc.folds, 4);
    assert.equal((r.cv.predictions as Json[]).length, 80, "every row of the later half predicted once");
  });

  await t.step("bad input: one sentence", async () => {
    const err = async (sql: string, re: RegExp) =>
      await assert.rejects(db.query(sql), (e: Error) => {
        assert.match(e.message, re);
        return true;
      });
    await err("select analytics.cross_validate_glm('cv_rows', 'y', '{x1}', 'binomial')", /^order_by must name the column that orders the rows in time/);
    await err("select analytics.cross_validate_glm('cv_rows', 'y', '{x1}', 'binomial', 'when')", /^order_by "when" is not a column of (public\.)?cv_rows$/);
    await err("select analytics.cross_validate_glm('cv_rows', 'y', '{x1}', 'binomial', 't', 1)", /^folds must be between 2 and 20 \(got 1\)$/);
    await err("select analytics.cross_validate_glm('cv_rows', 'x1', '{x2}', 'binomial', 't')", /^a binomial \(logistic\) target must be 0 or 1 in every row/);
  });
});
