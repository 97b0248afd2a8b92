/**
 * aoma_private.baseline_test (sql/74_predictive.sql) — the Diebold–Mariano test that decides whether a
 * model beats the baseline in cross-validation — equals the reference values of
 * tests/reference/make_dm_reference.py (statsmodels HAC standard error, scipy t quantile) to 1e-9
 * relative, on both engines.
 */
import assert from "node:assert/strict";
import { testOnBothEngines } from "./_engines.ts";
import ref from "./reference/dm_reference.json" with { type: "json" };

testOnBothEngines("baseline_test equals the Diebold–Mariano reference (statsmodels HAC, scipy t)", "aoma_test_baseline_test", async (t, db) => {
  for (const c of ref.cases) {
    await t.step(c.name, async () => {
      const [r] = await db.query<{ b: Record<string, number | boolean> }>("select aoma_private.baseline_test($1::float8[]) as b", [c.d]);
      const e = c.expected as Record<string, number | boolean>;
      for (const k of ["gain", "se", "t", "t_crit"]) {
        const a = Number(r.b[k]), b = Number(e[k]);
        assert.ok(Math.abs(a - b) <= 1e-9 * Math.abs(b), `${k}: ${a} vs ${b}`);
      }
      assert.equal(r.b.days, e.days);
      assert.equal(r.b.lags, e.lags);
      assert.equal(r.b.beats, e.beats);
    });
  }
});
