/**
 * The forecast ledger and the nightly job (sql/65_forecast_ledger.sql, src/jobs/forecast_schedule.ts).
 *
 * Both engines: a 63-day history of asset_volume is fed, the job (seasonal naive, horizon 7) stores
 * its run for 2026-11-03, then the actuals of the 7 forecast days arrive (an ingest of metrics and a
 * feature refresh). Every number the ledger reports is checked against a computation by hand here:
 * the points (last week's values), the stored MASE scale (mean |y_t − y_{t−7}| over the history),
 * per row the error and scaled error and the interval hits, per step and overall the realised MASE
 * and coverage of each level. A re-run for the same day gives the same forecast (its history ends
 * at 00:00 UTC of the day, whatever arrived later) and replaces the run.
 *
 * PGlite: the in-process schedule of `npm start`, on an injected clock and timer: a job that never
 * ran waits for its run time, it fires at run_at (UTC), never runs a day twice, follows a changed
 * run_at, catches up the latest missed day of a job that ran before, records and logs a failing run
 * (no forecast stored), and stops.
 */
import assert from "node:assert/strict";
import { asRole } from "../src/db/caller.ts";
import { migrateAll } from "../src/db/migrate.ts";
import { openPglite } from "../src/db/pglite.ts";
import type { Db } from "../src/db/types.ts";
import { dueDay, nextRunAt, startForecastSchedule } from "../src/jobs/forecast_schedule.ts";
import { testOnBothEngines } from "./_engines.ts";

const DAY = 86_400_000;
const FIRST = Date.UTC(2026, 8, 1); // 2026-09-01, a Tuesday

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** A deterministic daily series with a weekly rhythm: 63 values from 2026-09-01. */
function history(n: number): number[] {
  const weekly = [40, 90, 100, 95, 85, 70, 30];
  return Array.from({ length: n }, (_, i) => weekly[i % 7] + ((i * 37) % 23) + Math.floor(i / 7) * 3);
}

/** Stores one asset_volume value per day (at 23:00 UTC, so each day is complete once stored). */
async function feed(db: Db, fromMs: number, values: number[]): Promise<void> {
  await asRole(db, "service_role").query(
    `insert into aoma.aoma_system_metrics (source, "timestamp", asset_volume)
     select 'ledger-test', ($1::date + (i - 1)::integer + time '23:00') at time zone 'UTC', v
     from unnest($2::int[]) with ordinality as u(v, i)`,
    [isoDay(fromMs), values],
  );
}

/** Points the job at asset_volume alone, seasonal naive, 7 days. */
async function configure(db: Db, method = "seasonal_naive"): Promise<void> {
  await asRole(db, "service_role").query(
    `update analytics.forecast_jobs set features = '{asset_volume}', method = $1, horizon = 7, levels = '{80,95}'
     where job_name = 'nightly'`,
    [method],
  );
}

interface JobAnswer {
  status: string;
  rows_written: number;
  run_id: number;
  error: string | null;
}

async function runJob(db: Db, day: string, scheduler = "manual"): Promise<JobAnswer> {
  const [r] = await asRole(db, "service_role").query<JobAnswer>(
    "select status, rows_written, run_id::int as run_id, error from analytics.run_forecast_job($1::date, $2)",
    [day, scheduler],
  );
  return r;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${what}: got ${a}, expected ${b}`);

testOnBothEngines("forecast ledger: stored forecasts scored against MASE and coverage computed by hand", "aoma_lg_ledger", async (_t, db) => {
  const y = history(63); // 2026-09-01 … 2026-11-02
  await feed(db, FIRST, y);
  await configure(db);
  const runDay = isoDay(FIRST + 63 * DAY); // 2026-11-03
  const first = await runJob(db, runDay);
  assert.equal(first.status, "succeeded", `the job runs: ${first.error}`);
  assert.equal(first.rows_written, 7);

  const reader = asRole(db, "authenticated");
  const stored = await reader.query<{ step: number; day: string; point: number; lower: number[]; upper: number[]; scale: number; season: number }>(
    `select step, to_char(period at time zone 'UTC', 'YYYY-MM-DD') as day, point, lower, upper, scale, season
     from analytics.forecast_values where run_id = $1 order by step`,
    [first.run_id],
  );
  // by hand: seasonal naive repeats the last week; the scale is its in-sample MAE at lag 7
  const scale = mean(y.slice(7).map((v, i) => Math.abs(v - y[i])));
  assert.deepEqual(stored.map((r) => r.day), Array.from({ length: 7 }, (_, s) => isoDay(FIRST + (63 + s) * DAY)));
  stored.forEach((r, s) => {
    assert.equal(r.point, y[56 + s], `step ${s + 1} point = the value one week earlier`);
    assert.equal(r.season, 7);
    close(r.scale, scale, "stored scale = in-sample seasonal naive MAE");
    assert.ok(r.lower[0] < r.point && r.point < r.upper[0] && r.lower[1] <= r.lower[0] && r.upper[1] >= r.upper[0],
      `step ${s + 1}: nested intervals around the point`);
  });

  // nothing is scored before the actuals arrive
  const before = await reader.query<{ n: number }>(
    "select count(*)::int as n from analytics.forecast_ledger where run_id = $1 and actual is not null", [first.run_id]);
  assert.equal(before[0].n, 0);

  // the actuals: in and out of the 80% and 95% intervals
  const mult = [0.2, -0.5, 0.9, 1.6, -1.3, 3.0, -0.1];
  const actual = stored.map((r, s) => Math.round(r.point + mult[s] * (r.upper[0] - r.point)));
  await feed(db, FIRST + 63 * DAY, actual);
  await asRole(db, "service_role").query("select * from analytics.refresh_features()");

  const ledger = await reader.query<{ step: number; actual: number; error: number; abs_error: number; scaled_error: number; covered: boolean[] }>(
    "select step, actual, error, abs_error, scaled_error, covered from analytics.forecast_ledger where run_id = $1 order by step",
    [first.run_id],
  );
  const hits = stored.map((r, s) => [0, 1].map((l) => actual[s] >= r.lower[l] && actual[s] <= r.upper[l]));
  ledger.forEach((row, s) => {
    assert.equal(row.actual, actual[s]);
    close(row.error, actual[s] - stored[s].point, `step ${s + 1} error`);
    close(row.scaled_error, Math.abs(actual[s] - stored[s].point) / scale, `step ${s + 1} scaled error`);
    assert.deepEqual(row.covered, hits[s], `step ${s + 1} covered`);
  });
  // the multipliers put some actuals outside each interval and some inside: the check can fail
  assert.ok(hits.some((h) => !h[0]) && hits.some((h) => h[0]), "80%: hits and misses");

  const scores = await reader.query<{ step: number | null; n_scored: number; mase: number; mae: number; bias: number; levels: number[]; coverage: number[] }>(
    `select step, n_scored, mase, mae, bias, levels, coverage from analytics.forecast_scores
     where grain = 'day' and feature = 'asset_volume' order by step nulls last`,
  );
  assert.equal(scores.length, 8, "a row per step and one for all steps");
  const errs = actual.map((a, s) => a - stored[s].point);
  scores.slice(0, 7).forEach((row, s) => {
    assert.equal(row.step, s + 1);
    assert.equal(row.n_scored, 1);
    close(row.mase, Math.abs(errs[s]) / scale, `step ${s + 1} MASE`);
    assert.deepEqual(row.coverage, hits[s].map((h) => (h ? 1 : 0)), `step ${s + 1} coverage`);
  });
  const all = scores[7];
  assert.equal(all.step, null);
  assert.equal(all.n_scored, 7);
  close(all.mase, mean(errs.map((e) => Math.abs(e) / scale)), "MASE over all steps");
  close(all.mae, mean(errs.map(Math.abs)), "MAE");
  close(all.bias, mean(errs), "bias");
  assert.deepEqual(all.levels, [80, 95]);
  [0, 1].forEach((l) => close(all.coverage[l], hits.filter((h) => h[l]).length / 7, `realised coverage ${all.levels[l]}%`));

  // a re-run of the day: the same forecast (history ends at 00:00 UTC of the day), one run, two attempts
  const again = await runJob(db, runDay);
  assert.equal(again.status, "succeeded");
  const points = await reader.query<{ point: number }>("select point from analytics.forecast_values where run_id = $1 order by step", [again.run_id]);
  assert.deepEqual(points.map((p) => p.point), stored.map((r) => r.point), "the later actuals are not history of that day");
  const runs = await reader.query<{ runs: number; attempts: number }>(
    `select (select count(*)::int from analytics.forecast_runs where job_name = 'nightly' and run_day = $1::date) as runs,
            (select attempts from analytics.forecast_job_runs where job_name = 'nightly' and run_day = $1::date) as attempts`,
    [runDay],
  );
  assert.deepEqual(runs[0], { runs: 1, attempts: 2 });
});

testOnBothEngines("forecast ledger: later runs recalibrate their intervals from 30+ realised errors; on-demand runs", "aoma_lg_recal", async (_t, db) => {
  // 100 days ending yesterday (UTC); the job runs for each of the last 33 days, as a backfill would
  const today = Math.floor(Date.now() / DAY) * DAY;
  const start = today - 100 * DAY;
  const y = history(100);
  await feed(db, start, y);
  await configure(db);
  const firstRun = 67; // index of the first run day in y
  for (let d = firstRun; d <= 100; d++) {
    const r = await runJob(db, isoDay(start + d * DAY));
    assert.equal(r.status, "succeeded", `run ${isoDay(start + d * DAY)}: ${r.error}`);
  }
  const last = await db.query<{ step: number; point: number; lower: number[]; upper: number[]; backtest_lower: number[]; backtest_upper: number[]; recalibrated: boolean; realised_errors: number; notes: string | null }>(
    `select v.step, v.point, v.lower, v.upper, v.backtest_lower, v.backtest_upper, v.recalibrated, v.realised_errors, v.notes
     from analytics.forecast_values v join analytics.forecast_runs r using (run_id)
     where r.job_name = 'nightly' and r.run_day = $1::date order by v.step`,
    [isoDay(today)],
  );
  assert.equal(last.length, 7);
  const range = Math.max(...y) - Math.min(...y);
  // every earlier run's stored backtest half-widths (the promise each ratio is measured against)
  const promised = new Map<string, number[]>();
  for (
    const r of await db.query<{ day: string; step: number; point: number; backtest_upper: number[] }>(
      `select to_char(r.run_day, 'YYYY-MM-DD') as day, v.step, v.point, v.backtest_upper
       from analytics.forecast_values v join analytics.forecast_runs r using (run_id) where r.job_name = 'nightly'`,
    )
  ) promised.set(`${r.day}/${r.step}`, r.backtest_upper.map((u) => u - r.point));
  let recalibrated = 0;
  for (const row of last) {
    // by hand: the earlier runs (day index d) whose step-s target d + s − 1 ended by today (index 100);
    // seasonal naive's error there is y[t] − y[t − 7]; the rule's ratio is |error| / that run's
    // backtest half-width at the level
    const ratios: number[][] = [[], []];
    for (let d = firstRun; d < 100; d++) {
      const t = d + row.step - 1;
      if (t + 1 > 100) continue;
      const hw = promised.get(`${isoDay(start + d * DAY)}/${row.step}`)!;
      hw.forEach((w, l) => {
        if (w > 0) ratios[l].push(Math.abs(y[t] - y[t - 7]) / w);
      });
    }
    const k = Math.max(ratios[0].length, ratios[1].length);
    assert.equal(row.realised_errors, k, `step ${row.step}: realised errors counted`);
    assert.equal(row.recalibrated, k >= 30, `step ${row.step}: recalibrated iff ≥ 30 realised errors`);
    if (!row.recalibrated) {
      assert.deepEqual([row.lower, row.upper], [row.backtest_lower, row.backtest_upper], `step ${row.step}: backtest bounds kept`);
      continue;
    }
    recalibrated++;
    [80, 95].forEach((level, l) => {
      const sorted = [...ratios[l]].sort((a, b) => a - b);
      const factor = sorted[Math.ceil((sorted.length + 1) * level / 100) - 1];
      const hw = Math.min(factor * (row.backtest_upper[l] - row.point), range);
      close(row.lower[l], Math.max(0, row.point - hw), `step ${row.step} ${level}% lower`);
      close(row.upper[l], row.point + hw, `step ${row.step} ${level}% upper`);
    });
    assert.match(row.notes ?? "", new RegExp(`intervals recalibrated from the latest ${k} of ${k} realised errors`));
  }
  assert.ok(recalibrated >= 1 && recalibrated < 7, `some steps have 30 realised errors, the far ones not yet (${recalibrated})`);

  // on demand: as of 00:00 UTC today, kept beside the job's runs; a bad call stores nothing
  const writer = asRole(db, "service_role");
  const [od] = await writer.query<{ run_id: number; rows_written: number }>(
    "select run_id::int as run_id, rows_written from analytics.store_forecasts('{asset_volume}', horizon => 3)");
  assert.equal(od.rows_written, 3);
  const [run] = await db.query<{ kind: string; scheduler: string; history_end: string; first: string }>(
    `select kind, scheduler, to_char(history_end at time zone 'UTC', 'YYYY-MM-DD HH24:MI') as history_end,
            (select to_char(min(period) at time zone 'UTC', 'YYYY-MM-DD') from analytics.forecast_values v where v.run_id = r.run_id) as first
     from analytics.forecast_runs r where run_id = $1`,
    [od.run_id],
  );
  assert.deepEqual(run, { kind: "on_demand", scheduler: "manual", history_end: `${isoDay(today)} 00:00`, first: isoDay(today) });
  const count = async () => (await db.query<{ n: number }>("select count(*)::int as n from analytics.forecast_runs"))[0].n;
  const before = await count();
  await assert.rejects(writer.query("select * from analytics.store_forecasts('{asset_volume,nope}')"),
    /unknown feature "nope" for grain day; valid: /);
  assert.equal(await count(), before, "nothing stored by the refused call");
});

Deno.test("forecast schedule: due day and next run time (UTC)", () => {
  const at = (s: string) => new Date(s);
  assert.equal(dueDay("02:00:00", at("2026-11-01T01:59:59Z")), "2026-10-31");
  assert.equal(dueDay("02:00:00", at("2026-11-01T02:00:00Z")), "2026-11-01");
  assert.equal(dueDay("23:30", at("2026-01-01T00:10:00Z")), "2025-12-31");
  assert.equal(nextRunAt("02:00", at("2026-11-01T01:59:00Z")).toISOString(), "2026-11-01T02:00:00.000Z");
  assert.equal(nextRunAt("02:00", at("2026-11-01T02:00:00Z")).toISOString(), "2026-11-02T02:00:00.000Z");
  assert.throws(() => dueDay("2am", at("2026-11-01T00:00:00Z")), /Cannot read the run time "2am"/);
});

Deno.test({
  name: "forecast schedule on PGlite: fires at run_at, never twice a day, follows run_at, catches up after downtime, records a failure, stops",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const db = await openPglite();
    try {
      await migrateAll(db);
      await feed(db, FIRST, history(63));
      await configure(db);
      let clock = new Date("2026-11-03T01:59:00Z");
      const timers: { fn: () => void; ms: number; cleared: boolean }[] = [];
      const logs: string[] = [];
      const schedule = startForecastSchedule(db, {
        now: () => clock,
        setTimer: (fn, ms) => {
          const t = { fn, ms, cleared: false };
          timers.push(t);
          return t;
        },
        clearTimer: (h) => ((h as { cleared: boolean }).cleared = true),
        log: (l) => logs.push(l),
        initialDelayMs: 5_000,
        recheckMs: 600_000,
      });
      assert.equal(timers.length, 1);
      assert.equal(timers[0].ms, 5_000, "the first check waits for start-up");
      const jobRuns = () =>
        db.query<{ run_day: string; scheduler: string; status: string; attempts: number; error: string | null; runs: number }>(
          `select to_char(j.run_day, 'YYYY-MM-DD') as run_day, j.scheduler, j.status, j.attempts, j.error,
                  (select count(*)::int from analytics.forecast_runs r where r.job_name = j.job_name and r.run_day = j.run_day
                     and r.scheduler = 'in-process') as runs
           from analytics.forecast_job_runs j where j.job_name = 'nightly' order by j.run_day`,
        );
      const fire = async () => {
        const t = timers.at(-1)!;
        assert.ok(!t.cleared, "the armed timer fires");
        t.fn();
        await schedule.check(); // joins the check the timer started
      };

      // 01:59, a job that never ran: yesterday's 02:00 is not caught up (a fresh database is not
      // written at start-up); armed for 02:00 today
      await fire();
      assert.deepEqual(await jobRuns(), []);
      assert.equal(timers.at(-1)!.ms, 60_000, "the next check is at 02:00");
      assert.equal(schedule.nextCheckAt?.toISOString(), "2026-11-03T02:00:00.000Z");

      // 02:00: today's run
      clock = new Date("2026-11-03T02:00:00Z");
      await fire();
      assert.deepEqual(await jobRuns(), [{ run_day: "2026-11-03", scheduler: "in-process", status: "succeeded", attempts: 1, error: null, runs: 1 }]);
      assert.equal(timers.at(-1)!.ms, 600_000, "next: the recheck interval (earlier than tomorrow 02:00)");

      // 02:10: nothing due (the day has its run)
      clock = new Date("2026-11-03T02:10:00Z");
      assert.deepEqual(await schedule.check(), []);
      assert.equal((await jobRuns()).length, 1);

      // run_at moved to 03:30: at 03:25 the next check is at 03:30 (a day whose run exists is not re-run)
      await asRole(db, "service_role").query("select * from analytics.schedule_forecast_job(run_at => '03:30')");
      clock = new Date("2026-11-03T03:25:00Z");
      assert.deepEqual(await schedule.check(), []);
      assert.equal(timers.at(-1)!.ms, 5 * 60_000);
      assert.equal(schedule.nextCheckAt?.toISOString(), "2026-11-03T03:30:00.000Z");

      // down all of 11-04, back on 11-05 at 09:00: the job ran before, so the latest due day is caught up
      clock = new Date("2026-11-05T09:00:00Z");
      await fire();
      assert.deepEqual((await jobRuns()).map((r) => [r.run_day, r.status, r.runs]), [["2026-11-03", "succeeded", 1], ["2026-11-05", "succeeded", 1]],
        "11-05 caught up once; 11-04 is not run");

      // the next day the catalog no longer knows the feature: the run fails, is recorded and logged, stores nothing
      await db.query("delete from analytics.feature_catalog where name = 'asset_volume' and grain = 'day'");
      clock = new Date("2026-11-06T03:30:00Z");
      const [failed] = await schedule.check();
      assert.equal(failed.status, "failed");
      const last = (await jobRuns())[2];
      assert.equal(last.run_day, "2026-11-06");
      assert.equal(last.status, "failed");
      assert.equal(last.runs, 0, "a failed run stores no forecast");
      assert.match(last.error ?? "", /^unknown feature "asset_volume" for grain day; valid: /);
      assert.match(logs.at(-1)!, /^Forecast job nightly for 2026-11-06 \(in-process schedule\) failed after [\d.]+ s: unknown feature "asset_volume"/);
      assert.match(logs[0], /^Forecast job nightly for 2026-11-03 \(in-process schedule\): 7 forecasts of 1 features stored in/);

      // the failed day is not retried by the schedule
      assert.deepEqual(await schedule.check(), []);

      await schedule.stop();
      assert.equal(schedule.nextCheckAt, null);
      assert.ok(timers.at(-1)!.cleared, "stop disarms the timer");
      assert.deepEqual(await schedule.check(), [], "a stopped schedule runs nothing");
    } finally {
      await db.close();
    }
  },
});
