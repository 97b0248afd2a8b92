/**
 * The per-attempt failure model (analytics.build_predictive_model('processing_attempt_failure'),
 * sql/76_attempt_model.sql) against the parts it is made of, on both engines, on the planted and the
 * null demo quarter (seed 1):
 * - the cells hold every attempt and failure of the window exactly once;
 * - a cell's segment excess is recomputed here from the attempts of the 7 days before its day (none
 *   of its own day's outcomes);
 * - the grouped fit is the per-attempt logistic regression: analytics.fit_glm on a table with one row
 *   per attempt gives the same coefficients and standard errors;
 * - the base rate's fold losses are recomputed from counts of the attempts; the one-SE rule picks
 *   what its definition says; a day's prediction is its groups' mixture by share;
 * - planted: the glm beats the base rate, the legacy 360RA uploads are the riskiest group; null: no
 *   model beats the base rate.
 */
import assert from "node:assert/strict";
import type { Db } from "../src/db/types.ts";
import { loadDemo } from "../src/demo/load.ts";
import { testOnBothEngines } from "./_engines.ts";
import { autoChoice } from "./_one_se.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

async function build(db: Db, args = ""): Promise<Json> {
  const [r] = await db.query<Json>(`select analytics.build_predictive_model('processing_attempt_failure'${args}) as m`);
  return r.m;
}

const close = (a: number, b: number, rel: number, what: string) =>
  assert.ok(Math.abs(a - b) <= rel * Math.max(1e-300, Math.abs(b)), `${what}: ${a} vs ${b}`);

/** The cells of from..to as SQL's FROM item (aoma_private.attempt_cells_literal). */
async function cells(db: Db, from: string, to: string): Promise<string> {
  const [r] = await db.query<{ q: string }>("select aoma_private.attempt_cells_literal($1::date, $2::date) as q", [from, to]);
  return r.q;
}

const DAY = `(started_at at time zone 'UTC')::date`;

testOnBothEngines("the per-attempt failure model equals its parts (planted and null demo quarter)", "aoma_test_attempt_model", async (t, db) => {
  await loadDemo(db, { variant: "planted", seed: 1 });
  const m = await build(db);
  const from = m.window.from, to = m.window.to;

  await t.step("cells: every attempt and failure of the window once", async () => {
    const [c] = await db.query<Json>(`select sum(attempts)::float8 as n, sum(failures)::float8 as y, count(*)::int as k,
                                             count(distinct (day, seg, age))::int as distinct_k from ${await cells(db, from, to)} c`);
    const [a] = await db.query<Json>(
      `select count(*)::float8 as n, count(*) filter (where status = 'failed')::float8 as y from aoma.processing_attempts where ${DAY} between $1 and $2`,
      [from, to],
    );
    assert.equal(c.n, a.n);
    assert.equal(c.y, a.y);
    assert.equal(c.k, c.distinct_k, "one cell per day × segment × cohort");
    assert.equal(m.n_attempts, a.n);
  });

  await t.step("the segment excess: from the 7 days before the day, recomputed here", async () => {
    const rows = await db.query<Json>(`select day::text as day, seg, excess, flag from ${await cells(db, from, to)} c
      where seg in ('360RA/legacy', 'WAV/migrated') and day in ($1::date + 20, $2::date, $2::date - 3) order by day, seg, age`, [from, to]);
    assert.ok(rows.length >= 4, `${rows.length} cells`);
    for (const r of rows) {
      const [s] = await db.query<Json>(
        `select count(*) filter (where asset_type || '/' || coalesce(migration_state, 'unknown') = $2)::float8 as n7,
                count(*) filter (where asset_type || '/' || coalesce(migration_state, 'unknown') = $2 and status = 'failed')::float8 as y7,
                count(*)::float8 as tn, count(*) filter (where status = 'failed')::float8 as ty
         from aoma.processing_attempts where ${DAY} between $1::date - 7 and $1::date - 1`,
        [r.day, r.seg],
      );
      const p = s.ty / s.tn;
      const want = s.n7 > 0 ? Math.log((s.y7 + 50 * p) / (s.n7 - s.y7 + 50 * (1 - p))) - Math.log(p / (1 - p)) : 0;
      close(r.excess, want, 1e-9, `excess of ${r.seg} on ${r.day}`);
      const z = (s.y7 - s.n7 * p) / Math.sqrt(s.n7 * p * (1 - p));
      assert.equal(r.flag, s.n7 >= 20 && z > 3.090232306167813 ? 1 : 0, `onset flag of ${r.seg} on ${r.day} (z = ${z})`);
    }
    // the planted cohort fails at 40% in the last 14 days: its excess there is large, and 0-ish before
    const legacy = rows.filter((r) => r.seg === "360RA/legacy");
    assert.ok(legacy.some((r) => r.day === to && r.excess > 1 && r.flag === 1), JSON.stringify(legacy));
    assert.ok(rows.filter((r) => r.seg === "WAV/migrated").every((r) => r.flag === 0), "an ordinary segment is not flagged");
  });

  await t.step("planted: the grouped fit is the per-attempt logistic regression (fit_glm on one row per attempt)", async () => {
    assert.equal(m.chosen, autoChoice(m, ["mean"]));
    assert.equal(m.chosen, "glm");
    assert.equal(m.beats_baseline, true);
    const spec: Json[] = m.model.glm.spec;
    assert.deepEqual(spec.slice(0, 3).map((s) => s.feature), ["asset_volume", "is_monday", "service_commits"]);
    assert.ok(spec.some((s) => s.form === "level" && s.feature === "asset_type" && s.level === "360RA"));
    assert.equal(spec.at(-1).form, "excess");
    // the planted cohort's onset is in the window: the flag is a term, and a flagged cell follows no day driver
    assert.equal(spec.at(-2).form, "flag");
    const [f] = await db.query<{ q: string }>(
      "select aoma_private.attempt_frame_sql($1::text::jsonb, $2, $3::date, $4::date) as q",
      [JSON.stringify(spec), await cells(db, from, to), from, to],
    );
    const cols = spec.map((_, i) => `x_${i + 1}`);
    // one row per attempt: a cell of t attempts with y failures is y rows of 1 and t − y rows of 0
    await db.query(`create table public.attempt_rows as
      select (g.i <= f.y)::int as failed, ${cols.map((c) => `f.${c}`).join(", ")}
      from (${f.q}) f cross join lateral generate_series(1, round(exp(f.off))::int) g(i)`);
    const ref = await db.query<Json>(
      `select term, estimate, std_error from analytics.fit_glm('public.attempt_rows', 'failed', $1::text[], 'binomial')`,
      [cols],
    );
    const fit = m.model.glm.fit;
    assert.equal(ref.length, spec.length + 1);
    ref.forEach((r, i) => {
      close(fit.estimate[i], r.estimate, 1e-6, `estimate ${fit.terms[i]}`);
      close(fit.std_error[i], r.std_error, 1e-6, `SE ${fit.terms[i]}`);
    });
    const [rows] = await db.query<Json>("select count(*)::float8 as n from public.attempt_rows");
    assert.equal(rows.n, m.n_attempts);
    await db.query("drop table public.attempt_rows");
  });

  await t.step("cross-validation: the base rate's fold losses from counts of the attempts; metrics per attempt", async () => {
    const mean = m.candidates.find((c: Json) => c.name === "mean");
    let pooled = 0, attempts = 0;
    for (const [i, fold] of m.folds.entries()) {
      const [c] = await db.query<Json>(
        `select count(*) filter (where ${DAY} between $1 and $2)::float8 as tn, count(*) filter (where ${DAY} between $1 and $2 and status = 'failed')::float8 as ty,
                count(*) filter (where ${DAY} between $3 and $4)::float8 as n, count(*) filter (where ${DAY} between $3 and $4 and status = 'failed')::float8 as y
         from aoma.processing_attempts`,
        [fold.train_from, fold.train_to, fold.test_from, fold.test_to],
      );
      const p = c.ty / c.tn;
      close(mean.fold_losses[i], -(c.y * Math.log(p) + (c.n - c.y) * Math.log(1 - p)) / c.n, 1e-9, `fold ${fold.fold} log loss of the base rate`);
      pooled += -(c.y * Math.log(p) + (c.n - c.y) * Math.log(1 - p));
      attempts += c.n;
      assert.ok(fold.train_to < fold.test_from, "a fold trains only on the days before it");
    }
    const glm = m.candidates.find((c: Json) => c.name === "glm");
    // one 0/1 value per cross-validated attempt: as many as the test days' attempts
    const [n] = await db.query<Json>(`select count(*)::int as n from aoma.processing_attempts where ${DAY} between $1 and $2`, [m.folds[0].test_from, to]);
    assert.equal(glm.metrics.n, n.n);
    close(mean.metrics.log_loss, pooled / attempts, 1e-9, "the pooled log loss per attempt of the base rate");
    assert.ok(glm.metrics.auc > 0.6, `AUC ${glm.metrics.auc}`);
    assert.ok(glm.metrics.brier_skill > 0, `Brier skill ${glm.metrics.brier_skill}`);
    assert.ok(glm.metrics.ece <= 0.05, `ECE ${glm.metrics.ece}`);
    close(m.accuracy.value, glm.metrics.auc, 1e-12, "accuracy = the chosen candidate's AUC");
    close(m.threshold, 1.5 * m.mean_value, 1e-12, "the confusion matrix at the HIGH-risk cut");
  });

  await t.step("planted: the next days per group — legacy 360RA uploads riskiest; a day is its groups' mixture", () => {
    const first = m.predictions[0];
    assert.equal(m.predictions.length, 7);
    assert.match(first.groups[0].group, /^360RA\/legacy/);
    assert.equal(first.groups[0].risk, "HIGH");
    // flagged: the same every day whatever the day's drivers (day_weight 0), unlike the ordinary groups
    const legacy = (d: Json) => d.groups.find((g: Json) => g.group === first.groups[0].group);
    assert.ok(m.predictions.every((d: Json) => Math.abs(legacy(d).prediction - legacy(first).prediction) < 1e-12));
    const other = (d: Json) => d.groups.find((g: Json) => g.group.startsWith("WAV/migrated"));
    assert.ok(other(m.predictions[6]).prediction > 1.5 * other(first).prediction, "an ordinary group follows the days (the Monday is riskier)");
    for (const d of m.predictions) {
      close(d.groups.reduce((s: number, g: Json) => s + g.share, 0), 1, 1e-9, "shares add up to 1");
      close(d.prediction, d.groups.reduce((s: number, g: Json) => s + g.share * g.prediction, 0), 1e-9, `${d.day}: mixture`);
      for (const g of d.groups) assert.ok(g.low95 <= g.prediction && g.prediction <= g.high95, JSON.stringify(g));
    }
    assert.ok(m.predictions.every((d: Json) => d.drivers.every((x: Json) => x.feature !== "asset_type")), "segment terms are not drivers of the day");
  });

  await t.step("bad input: a boosted per-attempt model is refused with a sentence", async () => {
    await assert.rejects(build(db, ", model_type => 'boosted'"), /no boosted candidate; use model_type auto, glm or baseline/);
  });

  await t.step("null: no model beats the base rate", async () => {
    await loadDemo(db, { variant: "null", seed: 1 });
    const n = await build(db);
    assert.equal(n.chosen, autoChoice(n, ["mean"]));
    assert.equal(n.beats_baseline, false);
    const g = n.predictions[0].groups;
    close(g[0].prediction, g.at(-1).prediction, 1e-12, "the base rate predicts every group alike");
  });
});
