/**
 * Acceptance (issue 9): on the demo quarter, the rolling-origin coverage of the 80% intervals of
 * asset volume, ticket inflow and the failure rate lies within 75–85%.
 *
 * Rolling origin, as the nightly job would have run it: the default job (6 daily features, horizon 7,
 * 80% and 95%, auto) is run for every day from the 37th of the quarter (five weeks of history) to
 * the last, each run seeing only the days before it (analytics.run_forecast_job(day)); later runs
 * recalibrate from the earlier runs' realised errors as in production. analytics.forecast_scores
 * then says, per feature, which share of the stored intervals held the actual.
 *
 * Server only (about 80 s on PostgreSQL 15, in a scratch database of its own): seed 1 by default,
 * more with AOMA_COVERAGE_SEEDS=1,2,3. The other features' coverage is printed, not asserted (the
 * bullet names these three): the daily failure count (mean ≈ 4) is a small count whose |errors| take
 * few distinct values, so on some seeds its intervals hold more than 80% (README, "Measured on the
 * demo quarter", has six seeds).
 */
import assert from "node:assert/strict";
import { loadDemo } from "../src/demo/load.ts";
import { DEMO_TRUTH } from "../src/demo/generate.ts";
import { SERVER_URL, withScratchDatabase } from "./_engines.ts";

const SEEDS = (Deno.env.get("AOMA_COVERAGE_SEEDS") ?? "1").split(",").map(Number);
const ASSERTED = ["asset_volume", "tickets_created", "processing_failure_rate"];
const DAY = 86_400_000;

for (const seed of SEEDS) {
  Deno.test({
    name: `demo quarter (seed ${seed}): rolling-origin coverage of the 80% interval within 75–85%`,
    ignore: !SERVER_URL,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: () =>
      withScratchDatabase("aoma_test_fc_coverage", async (db) => {
        await loadDemo(db, { variant: "planted", seed });
        const start = Date.parse(`${DEMO_TRUTH.calendar.start_date}T00:00:00Z`);
        const iso = (d: number) => new Date(start + d * DAY).toISOString().slice(0, 10);
        const runs = await db.query<{ status: string; error: string | null }>(
          `select r.status, r.error from generate_series($1::date, $2::date, '1 day') d
           cross join lateral analytics.run_forecast_job(d::date) r`,
          [iso(36), iso(DEMO_TRUTH.calendar.days - 1)],
        );
        assert.equal(runs.length, DEMO_TRUTH.calendar.days - 36);
        assert.deepEqual(runs.filter((r) => r.status !== "succeeded"), []);
        const scores = await db.query<{ feature: string; n_scored: number; coverage: number[]; n_recalibrated: number }>(
          `select feature, n_scored, coverage, n_recalibrated from analytics.forecast_scores
           where grain = 'day' and step is null order by feature`,
        );
        console.log(scores.map((s) => `${s.feature}: 80% ${(100 * s.coverage[0]).toFixed(1)}%, 95% ${(100 * s.coverage[1]).toFixed(1)}% of ${s.n_scored} (${s.n_recalibrated} recalibrated)`).join("\n"));
        for (const feature of ASSERTED) {
          const s = scores.find((x) => x.feature === feature);
          assert.ok(s, `${feature} was scored`);
          assert.ok(s.n_scored >= 300, `${feature}: ${s.n_scored} scored forecasts`);
          assert.ok(
            s.coverage[0] >= 0.75 && s.coverage[0] <= 0.85,
            `${feature}: 80% intervals held ${(100 * s.coverage[0]).toFixed(1)}% of ${s.n_scored} actuals (75–85% required)`,
          );
          assert.ok(s.n_recalibrated > 0, `${feature}: later runs recalibrated from the ledger`);
        }
      }),
  });
}
