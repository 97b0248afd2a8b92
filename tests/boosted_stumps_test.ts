/**
 * Boosted stumps (sql/73_boosted_stumps.sql) against an independent numpy implementation of the same
 * algorithm (tests/reference/make_boost_reference.py → boost_reference.json), on both engines:
 * 200 rows with planted effects (volume > 1,200 ×3, one day in 7 ×2.3), a Poisson rate with exposure
 * and a 0/1 outcome; 40 rounds, rate 0.1, λ 1, 16 bins, 10 rows a side. Every stump (feature,
 * threshold, both leaf values, gain), the training deviance and the permutation importances must
 * agree to 1e-9; the strongest planted predictor must come first with a positive direction.
 */
import assert from "node:assert/strict";
import { testOnBothEngines } from "./_engines.ts";

interface Case {
  family: string;
  rows: number[][];
  rounds: number;
  rate: number;
  lambda: number;
  bins: number;
  min_rows: number;
  base: number;
  stumps: { feature: number; threshold: number; left: number; right: number; gain: number }[];
  deviance: number;
  importance: number[];
}
const REF = JSON.parse(await Deno.readTextFile(new URL("./reference/boost_reference.json", import.meta.url))) as { cases: Record<string, Case> };
type Json = Record<string, unknown>;
const NAMES = ["volume", "monday", "commits"];

function near(got: number, want: number, what: string) {
  assert.ok(Math.abs(got - want) <= 1e-9 * Math.max(Math.abs(want), 1e-3), `${what}: got ${got}, want ${want}`);
}

testOnBothEngines("boosted stumps equal the numpy reference", "aoma_test_boost", async (t, db) => {
  await db.query("create table boost_rows (i integer, y float8, volume float8, monday float8, commits float8, exposure float8)");
  for (const [name, c] of Object.entries(REF.cases)) {
    await t.step(`${name}: stumps, deviance, permutation importance`, async () => {
      await db.query("delete from boost_rows");
      await db.query(
        `insert into boost_rows select r.i, r.y, r.volume, r.monday, r.commits, r.exposure
         from jsonb_to_recordset($1::text::jsonb) as r(i int, y float8, volume float8, monday float8, commits float8, exposure float8)`,
        [JSON.stringify(c.rows.map(([y, v, m, k, e], i) => ({ i, y, volume: v, monday: m, commits: k, exposure: e })))],
      );
      const [r] = await db.query<{ m: Json }>(
        `select analytics.fit_boosted_stumps('boost_rows', 'y', '{volume,monday,commits}', $1, 'i', $2, $3, $4, $5, $6, $7) as m`,
        [c.family, c.family === "poisson" ? "exposure" : null, c.rounds, c.rate, c.lambda, c.bins, c.min_rows],
      );
      const m = r.m;
      near(m.base as number, c.base, "base");
      const stumps = m.stumps as Json[];
      assert.equal(stumps.length, c.stumps.length, "rounds used");
      c.stumps.forEach((s, i) => {
        assert.equal(stumps[i].feature, NAMES[s.feature - 1], `stump ${i + 1} feature`);
        assert.equal(stumps[i].threshold, s.threshold, `stump ${i + 1} threshold`);
        near(stumps[i].left as number, s.left, `stump ${i + 1} left`);
        near(stumps[i].right as number, s.right, `stump ${i + 1} right`);
        near(stumps[i].gain as number, s.gain, `stump ${i + 1} gain`);
      });
      near(m.deviance as number, c.deviance, "deviance");
      const imp = m.importance as { feature: string; importance: number; direction: number | null }[];
      c.importance.forEach((want, j) => near(imp.find((x) => x.feature === NAMES[j])!.importance, want, `importance of ${NAMES[j]}`));
      assert.equal(imp[0].feature, "volume", "the strongest planted driver first");
      assert.equal(imp[0].direction, 1, "higher volume, more failures");
    });
  }
  await t.step("bad input: one sentence", async () => {
    await assert.rejects(db.query("select analytics.fit_boosted_stumps('boost_rows', 'y', '{volume}', 'poisson')"), /order_by must name the column/);
    await assert.rejects(db.query("select analytics.fit_boosted_stumps('boost_rows', 'y', '{volume}', 'poisson', 'i', rounds => 0)"), /rounds must be between 1 and 1000 \(got 0\)/);
    await assert.rejects(db.query("select analytics.fit_boosted_stumps('boost_rows', 'y', '{volume}', 'poisson', 'i', learning_rate => 2)"), /learning_rate must be in \(0, 1\] \(got 2\)/);
    await assert.rejects(db.query("select analytics.fit_boosted_stumps('boost_rows', 'y', '{volume}', 'tweedie', 'i')"), /family must be one of binomial, poisson, gaussian \(got "tweedie"\)/);
    await assert.rejects(db.query("select analytics.fit_boosted_stumps('boost_rows', 'volume', '{commits}', 'binomial', 'i')"), /a binomial \(logistic\) target must be 0 or 1/);
  });
});
