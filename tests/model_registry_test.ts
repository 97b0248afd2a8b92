/**
 * The model registry and what-if scoring (sql/72_model_registry.sql), on both engines.
 *
 * - analytics.register_glm as service_role stores one aoma.predictive_models row: the spec, training
 *   window, rows, data hash, library version, the fit (equal to analytics.fit_glm's) and the
 *   evaluation (equal to analytics.cross_validate_glm's, without the predictions); accuracy is the
 *   pooled cross-validated AUC. Registering the same spec on the same rows again returns the same
 *   id and writes nothing; a changed row gives a new model.
 * - analytics.model_weights and analytics.model_evaluation read it back.
 * - analytics.score_glm equals statsmodels' GLM Binomial get_prediction (mean and 95% interval) at
 *   x = (3.5, 25, 1) on the Spector data (tests/reference/glm_reference.json), to 1e-6.
 * - authenticated may read and score but not register (nothing written); bad conditions get a sentence.
 */
import assert from "node:assert/strict";
import { asRole } from "../src/db/caller.ts";
import type { Db } from "../src/db/types.ts";
import { testOnBothEngines } from "./_engines.ts";

const REF = JSON.parse(await Deno.readTextFile(new URL("./reference/glm_reference.json", import.meta.url))) as {
  cases: Record<string, { rows: number[][]; score?: { conditions: Record<string, number>; mean: number; ci_low: number; ci_high: number } }>;
};
type Json = Record<string, unknown>;

function near(got: number, want: number, what: string) {
  assert.ok(Math.abs(got - want) <= 1e-6 * Math.abs(want), `${what}: got ${got}, want ${want}`);
}

async function count(db: Db): Promise<number> {
  const [r] = await db.query<{ n: number }>("select count(*)::int as n from aoma.predictive_models");
  return r.n;
}

testOnBothEngines("model registry: register (idempotent), read back, score what-ifs", "aoma_test_model_registry", async (t, db) => {
  const c = REF.cases.spector_logit;
  await db.query("create table public.spector (t integer, y float8, x1 float8, x2 float8, x3 float8)");
  await db.query(
    "insert into public.spector select (r.i)::int, r.y, r.x1, r.x2, r.x3 from jsonb_to_recordset($1::text::jsonb) as r(i int, y float8, x1 float8, x2 float8, x3 float8)",
    [JSON.stringify(c.rows.map(([y, x1, x2, x3], i) => ({ i: i + 1, y, x1, x2, x3 })))],
  );
  await db.query("grant select, update on public.spector to service_role, authenticated");
  const writer = asRole(db, "service_role");
  const reader = asRole(db, "authenticated");
  const register = (d: Db) =>
    d.query<{ id: string }>("select analytics.register_glm('public.spector', 'y', '{x1,x2,x3}', 'binomial', 't', folds => 2) as id");

  let id = "";
  await t.step("service_role registers; the same spec on the same rows is the same model", async () => {
    [{ id }] = await register(writer);
    const [again] = await register(writer);
    assert.equal(again.id, id);
    assert.equal(await count(db), 1);
    const [m] = await db.query<Json>("select * from aoma.predictive_models where model_id = $1", [id]);
    assert.equal(m.model_type, "logistic");
    assert.equal(m.family, "binomial");
    assert.deepEqual([m.target, m.predictors, m.order_by, m.train_from, m.train_to, m.n_rows], ["y", ["x1", "x2", "x3"], "t", "1", "32", 32]);
    assert.equal(m.fitted_by, "service_role");
    assert.match(String(m.data_hash), /^32:\d+$/);
    assert.match(String(m.library_version), /^[0-9a-f]{32}$/);
    const fit = await db.query<Json>("select term, estimate, std_error, p_value from analytics.fit_glm('public.spector', 'y', '{x1,x2,x3}', 'binomial')");
    const weights = await db.query<Json>("select term, estimate, std_error, p_value from analytics.model_weights where model_id = $1", [id]);
    assert.deepEqual(weights, fit, "model_weights = fit_glm on the same rows");
    const [cv] = await db.query<{ cv: Json }>("select analytics.cross_validate_glm('public.spector', 'y', '{x1,x2,x3}', 'binomial', 't', 2) as cv");
    const evals = await db.query<Json>("select fold, metrics, note from analytics.model_evaluation where model_id = $1 order by fold nulls last", [id]);
    const folds = cv.cv.folds as Json[];
    assert.equal(evals.length, folds.length + 1);
    folds.forEach((f, i) => {
      assert.equal(evals[i].fold, f.fold);
      assert.deepEqual(evals[i].metrics ?? null, f.metrics ?? null);
      assert.equal(evals[i].note ?? null, f.note ?? null);
    });
    assert.deepEqual(evals.at(-1)!.metrics, cv.cv.pooled);
    assert.equal(m.accuracy, (cv.cv.pooled as Json).auc, "accuracy = pooled cross-validated AUC");
  });

  await t.step("a changed row is a new model; the earlier one is kept", async () => {
    await writer.query("update public.spector set x2 = x2 + 1 where t = 5");
    const [other] = await register(writer);
    assert.notEqual(other.id, id);
    assert.equal(await count(db), 2);
    await writer.query("update public.spector set x2 = x2 - 1 where t = 5");
    const [back] = await register(writer);
    assert.equal(back.id, id, "the original rows give the original model again");
  });

  await t.step("what-if scoring equals statsmodels' get_prediction", async () => {
    const s = c.score!;
    const [r] = await reader.query<{ prediction: number; ci_low: number; ci_high: number }>(
      "select prediction, ci_low, ci_high from analytics.score_glm($1::uuid, $2::text::jsonb)",
      [id, JSON.stringify(s.conditions)],
    );
    near(r.prediction, s.mean, "probability");
    near(r.ci_low, s.ci_low, "95% low");
    near(r.ci_high, s.ci_high, "95% high");
    const [b] = await reader.query<{ prediction: number }>(
      "select prediction from analytics.score_glm($1::uuid, '{\"x1\": 3.5, \"x2\": 25, \"x3\": true}')",
      [id],
    );
    near(b.prediction, s.mean, "a boolean condition is 0/1");
    // an extreme condition saturates the probability instead of overflowing exp()
    const [far] = await reader.query<{ prediction: number; ci_low: number }>(
      "select prediction, ci_low from analytics.score_glm($1::uuid, '{\"x1\": 1e6, \"x2\": 25, \"x3\": 1}')",
      [id],
    );
    assert.equal(far.prediction, 1);
    assert.ok(far.ci_low > 0.99);
  });

  await t.step("a ridge model: its own row, cross-validated with the penalty, scored without an interval", async () => {
    const [{ id: ridge }] = await writer.query<{ id: string }>(
      "select analytics.register_glm('public.spector', 'y', '{x1,x2,x3}', 'binomial', 't', folds => 2, l2 => 0.05) as id");
    assert.notEqual(ridge, id);
    const [m] = await db.query<{ l2: number; cv_l2: number; se: unknown }>(
      "select (fit ->> 'l2')::float8 as l2, (evaluation ->> 'l2')::float8 as cv_l2, fit -> 'std_error' -> 1 as se from aoma.predictive_models where model_id = $1",
      [ridge],
    );
    assert.deepEqual([m.l2, m.cv_l2, m.se], [0.05, 0.05, null]);
    const [r] = await reader.query<{ prediction: number; ci_low: number | null; ci_high: number | null }>(
      "select prediction, ci_low, ci_high from analytics.score_glm($1::uuid, '{\"x1\": 3.5, \"x2\": 25, \"x3\": 1}')",
      [ridge],
    );
    assert.ok(r.prediction > 0 && r.prediction < 1);
    assert.deepEqual([r.ci_low, r.ci_high], [null, null]);
  });

  await t.step("authenticated cannot register; bad conditions get a sentence", async () => {
    const before = await count(db);
    await assert.rejects(register(reader), /permission denied for function register_glm/);
    assert.equal(await count(db), before);
    const err = async (conditions: string, re: RegExp) =>
      await assert.rejects(reader.query("select * from analytics.score_glm($1::uuid, $2::text::jsonb)", [id, conditions]), (e: Error) => {
        assert.match(e.message, re);
        return true;
      });
    await err('{"x1": 3.5, "x2": 25}', /^condition "x3" must be a number \(or true\/false\); the model needs every predictor: x1, x2, x3$/);
    await err('{"x1": 3.5, "x2": 25, "x3": 1, "x9": 2}', /^unknown condition "x9": the model's predictors are x1, x2, x3$/);
    await err('{"x1": "a lot", "x2": 25, "x3": 1}', /^condition "x1" must be a number/);
    await err("[1,2]", /^conditions must be an object naming every predictor: x1, x2, x3$/);
    await assert.rejects(reader.query("select * from analytics.score_glm('00000000-0000-0000-0000-000000000000', '{}')"), /no registered model with id 00000000-0000-0000-0000-000000000000$/);
  });
});
