/**
 * generate_forecasts end to end: the SDK's own Client over Streamable HTTP with a bearer token,
 * against the gateway on the planted demo quarter (seed 1), on PGlite and — with AOMA_TEST_DB_URL —
 * in a scratch database of the server. Asserts every forecast value is analytics.forecast_feature's
 * (called in SQL with the same arguments), the output schema, the text and the chart; that a
 * variable that cannot be forecast is skipped with its reason while the others are answered; that
 * bad input gets one clear sentence; and that nothing is written.
 */
import assert from "node:assert/strict";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Db } from "../src/db/types.ts";
import { loadDemo } from "../src/demo/load.ts";
import { formatValue } from "../src/insights/forecasts.ts";
import { startServer } from "../src/server/gateway.ts";
import { DEFAULT_VARIABLES } from "../src/tools/generate_forecasts.ts";
import { testOnBothEngines } from "./_engines.ts";
import { connectClient, tableChecksums, testAuth } from "./mcp_fixture.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

async function call(client: Client, args: Record<string, unknown> | undefined): Promise<Json> {
  return await client.callTool({ name: "generate_forecasts", arguments: args }, undefined, { timeout: 120_000 });
}

function errorText(res: Json): string {
  assert.equal(res.isError, true, `expected a tool error, got ${JSON.stringify(res).slice(0, 300)}`);
  assert.equal(res.content.length, 1);
  const text: string = res.content[0].text;
  assert.doesNotMatch(text, /\n\s+at |stack|Error:|database error|\(\d{2}[0-9A-Z]{3}\)/, "no stack trace or SQLSTATE in a tool error");
  return text;
}

/** analytics.forecast_feature's rows for the same arguments, by variable. */
async function sqlForecast(db: Db, variables: string[], grain: string, horizon: number, levels: number[], method: string): Promise<Map<string, Json[]>> {
  const rows = await db.query<Json>(
    `select * from analytics.forecast_feature($1::text[], $2, $3, $4::float8[], $5) order by feature, step`,
    [variables, grain, horizon, levels, method],
  );
  const out = new Map<string, Json[]>();
  for (const r of rows) out.set(r.feature, [...(out.get(r.feature) ?? []), r]);
  return out;
}

/** The answer's forecast of a variable equals SQL's rows: every point, bound, count and accuracy. */
function assertSameAsSql(f: Json, rows: Json[]): void {
  assert.ok(rows?.length, `SQL has rows for ${f.variable}`);
  assert.equal(f.points.length, rows.length);
  assert.equal(f.method, rows[0].method_used);
  assert.equal(f.model, rows[0].model);
  assert.equal(f.nHistory, rows[0].n_history);
  assert.equal(f.backtest.mase, rows[0].backtest_mase);
  assert.equal(f.backtest.baselineMase, rows[0].baseline_mase);
  assert.deepEqual(f.coverage.map((c: Json) => c.backtest), rows[0].coverage);
  for (const [i, p] of f.points.entries()) {
    const r = rows[i];
    assert.equal(p.step, r.step);
    assert.equal(p.period, new Date(r.period).toISOString());
    assert.equal(p.point, r.point);
    assert.equal(p.nErrors, r.n_errors);
    assert.deepEqual(p.intervals.map((x: Json) => [x.level, x.lower, x.upper]), r.interval_levels.map((l: number, k: number) => [l, r.lower[k], r.upper[k]]));
    for (const x of p.intervals) assert.ok(x.lower <= p.point && p.point <= x.upper, `${f.variable} step ${p.step}: the point lies inside its ${x.level}% interval`);
  }
}

testOnBothEngines("generate_forecasts over MCP on the demo quarter", "aoma_test_forecast_tool", async (t, db) => {
  await loadDemo(db, { variant: "planted", seed: 1 });
  const srv = await startServer({ port: 0, db, auth: testAuth() });
  const client = await connectClient(srv.url, await srv.token());
  const before = await tableChecksums(db);
  try {
    await t.step("tools/list: generate_forecasts, read-only, with its schemas", async () => {
      const { tools }: Json = await client.listTools();
      const tool = tools.find((x: Json) => x.name === "generate_forecasts");
      assert.ok(tool);
      assert.equal(tool.annotations?.readOnlyHint, true);
      assert.equal((tool.inputSchema as Json).additionalProperties, false);
      assert.deepEqual(Object.keys((tool.inputSchema as Json).properties).sort(), [
        "aggregationLevel", "history", "horizon", "includeChart", "intervalLevels", "method", "source", "variables",
      ]);
      assert.ok((tool.outputSchema as Json).properties.forecasts);
    });

    await t.step("no arguments: the next 7 days of four series, every number analytics.forecast_feature's", async () => {
      const res: Json = await call(client, undefined);
      assert.notEqual(res.isError, true, JSON.stringify(res.content?.[0]));
      const s = res.structuredContent;
      assert.deepEqual([s.grain, s.horizon, s.levels, s.method], ["day", 7, [80, 95], "auto"]);
      assert.deepEqual(s.forecasts.map((f: Json) => f.variable), DEFAULT_VARIABLES);
      assert.deepEqual(s.skipped, []);
      const sql = await sqlForecast(db, DEFAULT_VARIABLES, "day", 7, [80, 95], "auto");
      for (const f of s.forecasts) assertSameAsSql(f, sql.get(f.variable)!);
      // the forecasts start the day after the last day with data
      const [last] = await db.query<{ day: string }>("select max(day)::text as day from analytics.features_daily");
      assert.equal(s.lastObserved.slice(0, 10), last.day);
      assert.equal(s.forecasts[0].points[0].period.slice(0, 10), new Date(Date.parse(last.day) + 86_400_000).toISOString().slice(0, 10));
      // the recent mean is the mean of the last 7 observed days
      const [recent] = await db.query<{ m: number }>(
        "select avg(v) as m from (select processing_failure_rate as v from analytics.features_daily order by day desc limit 7) x",
      );
      assert.ok(Math.abs(s.forecasts[0].recentMean - recent.m) < 1e-12);
      // the text: headline, counts, each variable's first period with its intervals, accuracy beside the baseline
      const text: string = res.content[0].text;
      assert.match(text, /^📈 FORECAST COMPLETE: the next 7 days of processing failure rate, asset volume, tickets created and commits, daily/);
      assert.match(text, /ANALYSIS COMPLETE: 4 series, 90 days of history each up to /);
      const asset = s.forecasts.find((f: Json) => f.variable === "asset_volume");
      const p = asset.points[0];
      assert.ok(text.includes(`• asset volume: ${formatValue(p.point, "files/day")} for `), text);
      assert.ok(text.includes(`(80%: ${formatValue(p.intervals[0].lower, "files/day")} to ${formatValue(p.intervals[0].upper, "files/day")}`), text);
      assert.ok(text.includes(`backtest MASE ${asset.backtest.mase.toFixed(2)}`) || text.includes(`MASE ${asset.backtest.mase.toFixed(2)}`));
      assert.ok(text.includes(`vs ${asset.backtest.baselineMase.toFixed(2)} for seasonal naive`) || asset.method === "seasonal_naive", text);
      assert.match(text, /⚠️ WHAT TO WATCH/);
      // the chart: one panel per variable, SVG and PNG
      const spec = s.chart.vegaLite;
      assert.equal(spec.vconcat.length, 4);
      const [bands, history, forecast] = spec.vconcat[1].layer;
      assert.equal(forecast.data.values.length, 7);
      assert.equal(forecast.data.values[0].point, p.point);
      assert.equal(bands.data.values.length, 14, "two bands per day");
      assert.ok(history.data.values.length >= 21);
      const svg = res.content.find((c: Json) => c.type === "resource");
      assert.equal(svg.resource.uri, "chart://generate_forecasts/forecast.svg");
      assert.ok(svg.resource.text.includes("asset volume"));
      const png = res.content.find((c: Json) => c.type === "image");
      assert.ok(atob(png.data).startsWith("\x89PNG"));
    });

    await t.step("arguments: one variable, horizon 3, levels 50 and 90, the baseline, no chart", async () => {
      const res: Json = await call(client, {
        variables: ["failure_count"], horizon: 3, intervalLevels: [50, 90], method: "seasonal_naive", includeChart: false,
      });
      assert.notEqual(res.isError, true, JSON.stringify(res.content?.[0]));
      const s = res.structuredContent;
      assert.equal(s.chart, undefined);
      assert.equal(res.content.length, 1);
      const [f] = s.forecasts;
      assertSameAsSql(f, (await sqlForecast(db, ["failure_count"], "day", 3, [50, 90], "seasonal_naive")).get("failure_count")!);
      assert.equal(f.method, "seasonal_naive");
      // seasonal naive repeats the same weekday of the last week
      const last = await db.query<{ v: number }>("select failure_count::float8 as v from analytics.features_daily order by day desc limit 7");
      assert.deepEqual(f.points.map((x: Json) => x.point), [last[6].v, last[5].v, last[4].v]);
      // a 50% interval inside the 90% one
      for (const x of f.points) assert.ok(x.intervals[1].lower <= x.intervals[0].lower && x.intervals[0].upper <= x.intervals[1].upper);
    });

    await t.step("a variable that cannot be forecast is skipped with its reason; the others are answered", async () => {
      const res: Json = await call(client, { variables: ["asset_volume", "is_monday"], method: "seasonal_naive", includeChart: false });
      assert.notEqual(res.isError, true, JSON.stringify(res.content?.[0]));
      const s = res.structuredContent;
      assert.deepEqual(s.forecasts.map((f: Json) => f.variable), ["asset_volume"]);
      assert.equal(s.skipped.length, 1);
      assert.equal(s.skipped[0].variable, "is_monday");
      assert.match(s.skipped[0].reason, /calendar features have a known future and are not forecast: is_monday/);
      assert.match(res.content[0].text, /Not forecast — is_monday: calendar features/);
    });

    await t.step("bad input → one clear sentence; nothing written by any call", async () => {
      assert.match(errorText(await call(client, { variables: ["no_such_feature"] })), /^unknown variable "no_such_feature" for grain day; valid: .*asset_volume/);
      assert.match(errorText(await call(client, { variables: ["is_monday"] })), /calendar features have a known future and are not forecast: is_monday/);
      assert.equal(
        errorText(await call(client, { horizon: 0 })),
        "Cannot run generate_forecasts: horizon must be a whole number of periods from 1 to 90 for daily, 336 for hourly or 52 for weekly forecasts.",
      );
      assert.equal(
        errorText(await call(client, { horizon: 91 })),
        "Cannot run generate_forecasts: horizon must be a whole number of periods from 1 to 90 for daily, 336 for hourly or 52 for weekly forecasts.",
      );
      assert.equal(
        errorText(await call(client, { intervalLevels: [80, 100] })),
        "Cannot run generate_forecasts: intervalLevels.1: each interval level must be a percentage strictly between 0 and 100 (e.g. 80, 95).",
      );
      assert.equal(errorText(await call(client, { intervalLevels: [80, 80] })), "Cannot run generate_forecasts: intervalLevels must not repeat a level.");
      assert.equal(errorText(await call(client, { method: "arima" })), "Cannot run generate_forecasts: method must be one of auto, ets, seasonal_naive.");
      assert.equal(errorText(await call(client, { history: 5 })), "Cannot run generate_forecasts: history must be a whole number of periods from 30 to 5000.");
      assert.match(errorText(await call(client, { variables: ["asset\u0000"] })), /must be printable text without NUL bytes/);
      // 14 weeks of demo data: too short for a weekly backtest, said with the minimum
      assert.match(errorText(await call(client, { aggregationLevel: "weekly", variables: ["asset_volume", "commits"] })), /^Cannot run generate_forecasts: asset_volume, commits: history too short: 14 periods; at least \d+ are needed/);
      // the work bound is the call's (not retried variable by variable): two hourly series of 6 weeks
      // fitted (the seasonal naive method fits nothing and is not bounded by it)
      assert.match(
        errorText(await call(client, { aggregationLevel: "hourly", variables: ["asset_volume", "commits"], horizon: 24 })),
        /^too much work: 2 features × 1008 hours \(31104 units each\) = 62208 units; at most 50,000 per call .*fewer features per call or a shorter history\.$/,
      );
      const naive = await call(client, { aggregationLevel: "hourly", variables: ["asset_volume", "commits"], horizon: 24, method: "seasonal_naive", includeChart: false });
      assert.notEqual(naive.isError, true, JSON.stringify(naive.content?.[0]));
      assert.deepEqual(await tableChecksums(db), before);
    });

    await t.step("source scheduled: the nightly job's stored run, and how good its forecasts have been", async () => {
      const none = errorText(await call(client, { source: "scheduled" }));
      assert.match(none, /^Cannot run generate_forecasts: the nightly job has stored no daily forecast of .* yet \(job state \w+; its next run is at .* UTC\); ask with source computed, or run analytics\.run_forecast_job\(\) as service_role\.$/);
      assert.equal(
        errorText(await call(client, { source: "scheduled", horizon: 3, method: "ets" })),
        "Cannot run generate_forecasts: horizon, method apply to computed forecasts only; a scheduled forecast has the job's own.",
      );
      // the job, run for four days of the quarter (as pg_cron or the in-process schedule would)
      for (const day of ["2026-11-14", "2026-11-17", "2026-11-20", "2026-11-23"]) {
        const [r] = await db.query<Json>("select status from analytics.run_forecast_job($1::date, 'manual')", [day]);
        assert.equal(r.status, "succeeded");
      }
      const stored = await tableChecksums(db);
      const res: Json = await call(client, { source: "scheduled", variables: ["asset_volume", "failure_count", "churn"] });
      assert.notEqual(res.isError, true, JSON.stringify(res.content?.[0]));
      const s = res.structuredContent;
      assert.equal(s.source, "scheduled");
      assert.equal(s.stored.runDay, "2026-11-23");
      assert.equal(s.stored.scheduler, "manual");
      assert.equal(s.stored.job.name, "nightly");
      assert.deepEqual(s.forecasts.map((f: Json) => f.variable), ["asset_volume", "failure_count"]);
      assert.deepEqual(s.skipped, [{ variable: "churn", reason: "the nightly job stores no forecast of it" }]);
      const latest = await db.query<Json>(
        "select * from analytics.forecast_latest where kind = 'job' and grain = 'day' and feature in ('asset_volume', 'failure_count') order by feature, step",
      );
      for (const f of s.forecasts) {
        const rows = latest.filter((r) => r.feature === f.variable);
        assert.deepEqual(f.points.map((p: Json) => [p.period, p.point, p.intervals.map((x: Json) => [x.lower, x.upper])]),
          rows.map((r) => [new Date(r.period).toISOString(), r.point, r.levels.map((_: number, k: number) => [r.lower[k], r.upper[k]])]));
        const [score] = await db.query<Json>("select * from analytics.forecast_scores where grain = 'day' and step is null and feature = $1", [f.variable]);
        assert.deepEqual([f.realised.nForecasts, f.realised.nScored, f.realised.mase], [score.n_forecasts, score.n_scored, score.mase]);
        assert.deepEqual(f.realised.coverage.map((c: Json) => c.realised), score.coverage);
        assert.ok(f.realised.nScored > 0, "the earlier runs' forecasts have actuals");
      }
      const text: string = res.content[0].text;
      assert.match(text, /^📈 STORED FORECAST: what the nightly job forecast on 2026-11-23 for the next 7 days of asset volume and failure count, daily/);
      assert.match(text, /📏 HOW GOOD THE STORED FORECASTS HAVE BEEN/);
      const a = s.forecasts[0];
      assert.ok(text.includes(`• asset volume: realised MASE ${a.realised.mase.toFixed(2)} over ${a.realised.nScored} scored of ${a.realised.nForecasts} stored forecasts`), text);
      assert.deepEqual(await tableChecksums(db), stored, "reading the stored forecasts writes nothing");
    });
  } finally {
    await client.close();
    await srv.close();
  }
});
