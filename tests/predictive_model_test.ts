/**
 * analytics.build_predictive_model (sql/74_predictive.sql) against the parts it is made of, on both
 * engines, on the planted and the null demo quarter (seed 1):
 * - the final GLM's terms are explain_drivers' selected steps, and its coefficients, SEs and CIs are
 *   analytics.fit_glm's on a table holding the same rows; the segment screen leaves out the planted
 *   360RA cohort and nothing in the null variant;
 * - the folds never train on their own future; the losses and metrics are recomputed by hand from
 *   the fold predictions of the baseline (the mean of the training days);
 * - the one-SE rule picks what its definition says from the reported losses;
 * - the simulation is deterministic, its intervals nest, a baseline's predictions are flat;
 * - the null variant: no model beats the baseline.
 */
import assert from "node:assert/strict";
import type { Db } from "../src/db/types.ts";
import { loadDemo } from "../src/demo/load.ts";
import { testOnBothEngines } from "./_engines.ts";
import { autoChoice } from "./_one_se.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

async function build(db: Db, args = ""): Promise<Json> {
  const [r] = await db.query<Json>(`select analytics.build_predictive_model(${args}) as m`);
  return r.m;
}

testOnBothEngines("build_predictive_model equals its parts (planted and null demo quarter)", "aoma_test_predictive", async (t, db) => {
  await loadDemo(db, { variant: "planted", seed: 1 });

  await t.step("planted: the GLM is explain_drivers' steps fitted by fit_glm; folds look only back; the one-SE rule", async () => {
    const m = await build(db);
    assert.equal(m.chosen, autoChoice(m, ["mean", "seasonal_naive"]));
    assert.equal(m.chosen, "glm");
    // the baseline test's differential is the days' losses: its sum is the folds' day-weighted loss gap
    const base = m.candidates.find((c: Json) => c.name === m.baseline), glm = m.candidates.find((c: Json) => c.name === "glm");
    const foldDays = m.folds.map((f: Json) => (Date.parse(f.test_to) - Date.parse(f.test_from)) / 86_400_000 + 1);
    const gap = foldDays.reduce((s: number, n: number, i: number) => s + n * (base.fold_losses[i] - glm.fold_losses[i]), 0);
    assert.equal(m.baseline_test.days, foldDays.reduce((a: number, b: number) => a + b, 0));
    assert.ok(Math.abs(m.baseline_test.gain * m.baseline_test.days - gap) <= 1e-9 * Math.abs(gap), `${m.baseline_test.gain} × days vs ${gap}`);
    assert.equal(m.baseline_test.beats, true);
    assert.equal(m.beats_baseline, true);
    const glmLoss = m.candidates.find((c: Json) => c.name === "glm").loss_mean;
    const baseLoss = m.candidates.find((c: Json) => c.name === m.baseline).loss_mean;
    assert.ok(Math.abs(m.accuracy.value - (1 - glmLoss / baseLoss)) < 1e-12, "accuracy = the deviance explained against the baseline out of sample");
    // the scope: the segment screen on the whole window leaves the legacy 360RA cohort out of every candidate
    assert.deepEqual(m.scope.excluded_segments.map((x: Json) => x.level), ["360RA/legacy"]);
    assert.ok(m.notes.some((n: string) => n.startsWith("360RA/legacy left out of every candidate")), m.notes.join("\n"));
    // the steps: explain_drivers on the same days and the same attempts (the scope's), in entry order
    const steps = await db.query<Json>(
      `select feature, lag, threshold from analytics.explain_drivers('processing_failure_rate', null, 1, $1::date - 1, $2::date, 6, $3::text[])
       where in_model order by entry_order`,
      [m.window.from, m.window.to, m.scope.excluded_segments.map((x: Json) => x.level)],
    );
    assert.deepEqual(m.model.glm.terms.map((x: Json) => [x.feature, x.lag, x.threshold]), steps.map((s) => [s.feature, s.lag, s.threshold]));
    // the segment screen: the legacy 360RA cohort (40% failures in the last 14 days, src/demo/truth.json) and nothing else
    assert.deepEqual(m.model.glm.excluded_segments.map((x: Json) => x.level), ["360RA/legacy"]);
    // the same rows in a table of their own, fitted by analytics.fit_glm
    await db.exec("drop table if exists pm_frame");
    await db.query(`create table pm_frame as select ${m.model.glm.terms.map((_: Json, i: number) => `s.x_${i + 1} as t${i + 1}`).join(", ")},
      s.y, exp(s.off) as attempts from (${await frameSql(db, m)}) s`);
    const ref = await db.query<Json>(
      `select term, estimate, std_error, p_value, ci_low, ci_high from analytics.fit_glm('pm_frame', 'y', $1::text[], 'quasipoisson', 'attempts')`,
      [m.model.glm.terms.map((_: Json, i: number) => `t${i + 1}`)],
    );
    for (const [i, x] of m.model.glm.terms.entries()) {
      const r = ref[i + 1];
      for (const [a, b] of [[x.estimate, r.estimate], [x.std_error, r.std_error], [x.ci_low, r.ci_low], [x.ci_high, r.ci_high]]) {
        assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${x.term}: ${a} vs fit_glm ${b}`);
      }
      assert.ok(Math.abs(x.ratio - Math.exp(r.estimate)) < 1e-9 * x.ratio);
    }
    assert.ok(Math.abs(m.model.glm.intercept - ref[0].estimate) <= 1e-9 * Math.abs(ref[0].estimate), "the intercept is fit_glm's");
    await db.exec("drop table pm_frame");
    // folds: expanding windows, each tested on the days right after its training days
    const days = await db.query<{ d: string }>(
      "select to_char(day, 'YYYY-MM-DD') as d from analytics.features_daily where day between $1 and $2 and processing_attempts > 0 order by day",
      [m.window.from, m.window.to],
    );
    const idx = (d: string) => days.findIndex((x) => x.d === d);
    for (const [k, f] of m.folds.entries()) {
      assert.equal(f.train_from, m.window.from);
      assert.equal(idx(f.test_from), idx(f.train_to) + 1, `fold ${f.fold} tests the day after its training`);
      assert.equal(idx(f.train_to) + 1, f.train_days);
      if (k > 0) assert.equal(idx(f.test_from), idx(m.folds[k - 1].test_to) + 1, "consecutive blocks");
    }
    assert.equal(m.folds.at(-1).test_to, m.window.to);
    assert.equal(idx(m.folds[0].test_from), days.length - Math.floor(days.length / 2));
    // the mean baseline's fold losses by hand: the training days' rate × the day's attempts, Poisson deviance,
    // on the attempts in scope (every segment but the screened ones, counted here from the raw attempts)
    const rows = await db.query<{ d: string; y: number; e: number }>(
      `select to_char(a.started_at at time zone 'UTC', 'YYYY-MM-DD') as d, count(*) filter (where a.status = 'failed')::float8 as y,
              count(*)::float8 as e
       from aoma.processing_attempts a
       where (a.started_at at time zone 'UTC')::date between $1 and $2 and a.asset_type || '/' || coalesce(a.migration_state, 'unknown') <> all ($3::text[])
       group by 1 order by 1`,
      [m.window.from, m.window.to, m.scope.excluded_segments.map((x: Json) => x.level)],
    );
    assert.equal(rows.length, days.length, "every day has attempts in scope");
    const mean = m.candidates.find((c: Json) => c.name === "mean");
    for (const [k, f] of m.folds.entries()) {
      const train = rows.slice(0, f.train_days);
      const rate = train.reduce((s, r) => s + r.y, 0) / train.reduce((s, r) => s + r.e, 0);
      const test = rows.slice(idx(f.test_from), idx(f.test_to) + 1);
      const loss = test.reduce((s, r) => s + 2 * ((r.y > 0 ? r.y * Math.log(r.y / (rate * r.e)) : 0) - (r.y - rate * r.e)), 0) / test.length;
      assert.ok(Math.abs(mean.fold_losses[k] - loss) < 1e-9 * loss, `fold ${k + 1}: ${mean.fold_losses[k]} vs ${loss}`);
    }
    const avg = mean.fold_losses.reduce((s: number, x: number) => s + x, 0) / mean.fold_losses.length;
    assert.ok(Math.abs(mean.loss_mean - avg) < 1e-12 * avg);
    // the predictions: the same call gives the same numbers; intervals nest
    const again = await build(db);
    assert.deepEqual(again.predictions, m.predictions);
    for (const p of m.predictions) assert.ok(p.low95 <= p.low80 && p.low80 <= p.prediction && p.prediction <= p.high80 && p.high80 <= p.high95);
    const monday = m.predictions.find((p: Json) => p.weekday === "Monday");
    assert.equal(Math.max(...m.predictions.map((p: Json) => p.prediction)), monday.prediction, "Monday is the riskiest day of the coming week");
  });

  await t.step("a yes/no day: logistic, the base rate when nothing beats it, flat predictions", async () => {
    const m = await build(db, "'critical_failure_flag'");
    assert.equal(m.family, "binomial");
    assert.equal(m.chosen, autoChoice(m, ["mean", "seasonal_naive"]));
    if (m.chosen === "mean") {
      assert.equal(m.beats_baseline, false);
      const ps = m.predictions.map((p: Json) => p.prediction);
      assert.ok(Math.max(...ps) - Math.min(...ps) < 1e-12, "a baseline predicts the same every day");
      const [base] = await db.query<{ r: number }>("select avg(critical_failure_flag)::float8 as r from analytics.features_daily where day between $1 and $2", [m.window.from, m.window.to]);
      assert.ok(Math.abs(m.mean_value - base.r) < 1e-12, "the mean is the base rate of the window");
    }
  });

  await t.step("the nightly forecast job stores the predictions on a live run, not on a backfill", async () => {
    await db.query("update analytics.forecast_jobs set features = '{asset_volume}', method = 'seasonal_naive' where job_name = 'nightly'");
    const [past] = await db.query<Json>("select status, notes from analytics.run_forecast_job('2026-11-20', 'manual')");
    assert.equal(past.status, "succeeded");
    assert.equal((await db.query<Json>("select count(*)::int as n from aoma.failure_predictions"))[0].n, 0, "a backfill stores forecasts only");
    const [live] = await db.query<Json>("select status, notes, run_day::text from analytics.run_forecast_job((now() at time zone 'UTC')::date, 'manual')");
    assert.equal(live.status, "succeeded");
    assert.match(live.notes, /glm model of processing_failure_rate trained to \d{4}-\d{2}-\d{2}, 7 predictions stored/);
    const stored = await db.query<Json>(
      `select fp.predicted_date::text as day, fp.failure_probability, pm.train_to from aoma.failure_predictions fp
       join aoma.predictive_models pm using (model_id) order by fp.predicted_date`,
    );
    assert.equal(stored.length, 7);
    const [{ last }] = await db.query<Json>("select max(day)::text as last from analytics.features_daily");
    assert.equal(stored[0].train_to, last, "trained on the data up to its last day");
    for (const r of stored) assert.ok(r.failure_probability > 0 && r.failure_probability < 1);
  });

  await t.step("null variant: no model beats the baseline; the predictions are flat within their intervals", async () => {
    await loadDemo(db, { variant: "null", seed: 1 });
    const m = await build(db);
    assert.equal(m.chosen, autoChoice(m, ["mean", "seasonal_naive"]));
    assert.deepEqual(m.model.glm?.excluded_segments ?? [], [], "no segment has a cause of its own in the null variant");
    assert.equal(m.beats_baseline, false, `chosen ${m.chosen}: ${JSON.stringify(m.candidates.map((c: Json) => [c.name, c.loss_mean, c.loss_se]))}`);
    const lo = Math.max(...m.predictions.map((p: Json) => p.low95));
    const hi = Math.min(...m.predictions.map((p: Json) => p.high95));
    assert.ok(lo <= hi, "every day's interval overlaps every other day's");
  });
});

/** The frame of the model's GLM (aoma_private.model_frame_sql over its window). */
async function frameSql(db: Db, m: Json): Promise<string> {
  const [r] = await db.query<{ q: string }>(
    "select aoma_private.model_frame_sql('processing_failures', 'processing_attempts', $1::text::jsonb, $2::date, $3::date) as q",
    [JSON.stringify(m.model.glm.spec), m.window.from, m.window.to],
  );
  return r.q;
}
