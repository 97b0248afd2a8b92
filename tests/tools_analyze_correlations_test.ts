/**
 * analyze_correlations end to end: the SDK's own Client over Streamable HTTP with a bearer token,
 * against a gateway on an ephemeral port and an in-memory PGlite holding the planted demo quarter
 * (seed 1). Asserts the numbers are analytics.correlate's, that the planted effects are found, that
 * the null quarter yields no key findings, and that bad input gets one clear sentence while the
 * database stays unchanged.
 */
import assert from "node:assert/strict";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { startServer } from "../src/server/gateway.ts";
import { loadDemo } from "../src/demo/load.ts";
import { formatCi, formatR } from "../src/insights/wording.ts";
import { connectClient, rowCounts, testAuth, testDb } from "./mcp_fixture.ts";
import truth from "../src/demo/truth.json" with { type: "json" };

// deno-lint-ignore no-explicit-any
type Json = any;

async function call(client: Client, args: Record<string, unknown> | undefined): Promise<Json> {
  return await client.callTool({ name: "analyze_correlations", arguments: args });
}

function errorText(res: Json): string {
  assert.equal(res.isError, true, `expected a tool error, got ${JSON.stringify(res).slice(0, 300)}`);
  assert.equal(res.content.length, 1);
  assert.equal(res.content[0].type, "text");
  const text: string = res.content[0].text;
  assert.doesNotMatch(text, /\n\s+at |stack|Error:/, "no stack trace in a tool error");
  return text;
}

Deno.test({
  name: "analyze_correlations over MCP on the demo quarter",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const db = await testDb("planted");
    const auth = testAuth();
    const srv = await startServer({ port: 0, db, auth });
    const client = await connectClient(srv.url, await srv.token());
    try {
      await t.step("tools/list: the tools with input and output schemas, in a fixed order", async () => {
        const { tools }: Json = await client.listTools();
        assert.deepEqual(tools.map((x: Json) => x.name), [
          "analyze_correlations", "generate_forecasts", "build_predictive_model", "perform_root_cause_analysis", "create_anomaly_detection",
          "analyze_failure_patterns",
        ]);
        const tool = tools[0];
        assert.equal(tool.annotations?.readOnlyHint, true);
        assert.equal(tool.annotations?.openWorldHint, false);
        assert.equal((tool.inputSchema as Json).additionalProperties, false);
        assert.deepEqual(Object.keys((tool.inputSchema as Json).properties).sort(), [
          "adjust", "aggregationLevel", "features", "includeChart", "maxLag", "targetVariable", "timeRange",
        ]);
        assert.ok((tool.outputSchema as Json).properties.results);
      });

      await t.step("no arguments: failures vs every daily driver, numbers straight from SQL", async () => {
        const res: Json = await call(client, undefined);
        assert.notEqual(res.isError, true, JSON.stringify(res.content?.[0]));
        const s = res.structuredContent;
        assert.equal(s.target, "processing_failure_rate");
        assert.equal(s.grain, "day");
        assert.deepEqual(s.period, { start: truth.calendar.start_date, end: "2026-11-23" });

        // data sources = the table counts
        const counts = await rowCounts(db);
        assert.deepEqual(
          [s.dataSources.tickets, s.dataSources.commits, s.dataSources.processingAttempts, s.dataSources.incidents,
            s.dataSources.logEvents, s.dataSources.days],
          [counts.jira_issues, counts.git_commits, counts.processing_attempts, counts.incidents, counts.log_events,
            truth.calendar.days],
        );

        // every row is analytics.correlate's row, unchanged
        const sql = await db.query<Json>("select * from analytics.correlate() order by rank");
        assert.equal(s.testsRun, sql.length);
        assert.equal(s.results.length, sql.length);
        for (const [i, r] of s.results.entries()) {
          const e = sql[i];
          assert.deepEqual(
            [r.feature, r.lag, r.n, r.pearson.r, r.pearson.p, r.pearson.ci[0], r.pearson.ci[1], r.spearman.rho, r.spearman.p, r.q, r.rank],
            [e.feature, e.lag, e.n, e.pearson_r, e.pearson_p, e.pearson_ci_low, e.pearson_ci_high, e.spearman_rho, e.spearman_p, e.pearson_q, e.rank],
          );
          assert.equal(r.significant, e.pearson_q !== null && e.pearson_q < 0.05);
        }

        // the planted effects: previous-day asset volume first, Mondays significant
        const top = s.results[0];
        assert.equal(top.feature, "asset_volume");
        assert.equal(top.lag, truth.effects.asset_volume.lag_days);
        assert.equal(top.n, truth.calendar.days - 1);
        assert.ok(top.pearson.r > 0.3 && top.q < 0.01, JSON.stringify(top));
        assert.equal(top.description, "Asset files uploaded");
        assert.equal(top.unit, "files/day");
        const monday = s.results.find((r: Json) => r.feature === "is_monday");
        assert.ok(monday.significant && monday.pearson.r > 0, JSON.stringify(monday));

        // the text cites the SQL numbers with n and the interval
        const text: string = res.content[0].text;
        assert.match(text, /^📊 CORRELATION ANALYSIS COMPLETE/);
        assert.ok(text.includes(
          `Based on ${counts.jira_issues.toLocaleString("en-US")} Jira tickets, ${counts.git_commits.toLocaleString("en-US")} git commits`,
        ), text);
        const headline = `Strongest driver: asset volume the previous day, r = ${formatR(top.pearson.r)} (${formatCi(top.pearson.ci[0], top.pearson.ci[1])})`;
        assert.ok(text.includes(headline), text);
        assert.ok(text.includes(`n = ${top.n}`));
        assert.ok(s.keyFindings.some((f: string) => f.startsWith(headline)));
        assert.ok(s.keyFindings.some((f: string) => f.startsWith("Mondays: r = ")));

        // drivers together = analytics.explain_drivers' rows, led by the three planted drivers, worded in the text
        const drv = await db.query<Json>("select * from analytics.explain_drivers() order by rank");
        assert.deepEqual(
          s.drivers.map((d: Json) => [d.feature, d.lag, d.threshold, d.daysHigh, d.rateRatio, d.ci, d.p, d.q, d.inModel]),
          drv.map((d) => [d.feature, d.lag, d.threshold, d.days_high, d.rate_ratio, [d.ci_low, d.ci_high], d.p_value, d.q_value, d.in_model]),
        );
        assert.deepEqual(
          s.drivers.slice(0, 3).map((d: Json) => `${d.feature}@${d.lag}`).sort(),
          ["asset_volume@1", "is_monday@0", "service_commits@0"],
        );
        const commits = s.drivers.find((d: Json) => d.feature === "service_commits" && d.lag === 0);
        const commitLine = `service commits the same day ≥ ${commits.threshold} commits (${commits.daysHigh} of ${commits.n} days): ` +
          `the processing failure rate ×${commits.rateRatio.toFixed(2)} (95% CI ${commits.ci[0].toFixed(2)} to ${commits.ci[1].toFixed(2)})`;
        assert.ok(text.includes("🎯 DRIVERS TOGETHER"), text);
        assert.ok(text.includes(commitLine), `${commitLine}\n${text}`);
        assert.ok(s.keyFindings[0].startsWith(s.drivers[0].feature === "is_monday" ? "Mondays (" : "asset volume the previous day ≥ "), s.keyFindings[0]);
        assert.ok(s.recommendations.length >= 2);
        assert.match(s.recommendations.at(-1), /correlations, not proof of cause/);

        // chart: Vega-Lite spec, SVG resource with the labels, PNG image
        assert.equal(s.chart.vegaLite.$schema, "https://vega.github.io/schema/vega-lite/v6.json");
        const [forest, matrix] = s.chart.vegaLite.vconcat;
        assert.equal(forest.data.values[0].label, "asset_volume (lag 1)");
        assert.equal(forest.data.values[0].r, top.pearson.r);
        assert.equal(matrix.data.values.length, 9 * 9, "target + 8 features, every pair");
        const svg = res.content.find((c: Json) => c.type === "resource");
        assert.equal(svg.resource.uri, "chart://analyze_correlations/matrix.svg");
        assert.equal(svg.resource.mimeType, "image/svg+xml");
        for (const label of ["processing_failure_rate", "asset_volume", "is_monday"]) assert.ok(svg.resource.text.includes(label), label);
        const png = res.content.find((c: Json) => c.type === "image");
        assert.equal(png.mimeType, "image/png");
        assert.ok(atob(png.data).startsWith("\x89PNG"));
        assert.deepEqual(s.notes, []);
      });

      await t.step("arguments: features, lag, range, weekly grain, no chart", async () => {
        const res: Json = await call(client, {
          targetVariable: "failure_count",
          features: ["asset_volume", "service_commits"],
          maxLag: 2,
          timeRange: { start: "2026-09-01", end: "2026-10-31" },
          aggregationLevel: "daily",
          includeChart: false,
        });
        const s = res.structuredContent;
        assert.equal(s.testsRun, 6);
        assert.deepEqual(s.period, { start: "2026-09-01", end: "2026-10-31" });
        assert.equal(s.chart, undefined);
        assert.equal(res.content.length, 1);
        const sql = await db.query<Json>(
          "select * from analytics.correlate('failure_count', array['asset_volume','service_commits'], 2, '2026-09-01', '2026-10-31') order by rank",
        );
        assert.deepEqual(s.results.map((r: Json) => [r.feature, r.lag, r.n, r.pearson.r]), sql.map((e) => [e.feature, e.lag, e.n, e.pearson_r]));
        assert.equal(s.results.find((r: Json) => r.feature === "asset_volume" && r.lag === 0).n, 61);

        const twoDays: Json = await call(client, { timeRange: { start: "2026-09-01", end: "2026-09-02" } });
        assert.notEqual(twoDays.isError, true);
        assert.equal(twoDays.structuredContent.summary, "Not enough data to correlate anything with the processing failure rate (n=2; need at least 4).");
        assert.deepEqual(twoDays.structuredContent.keyFindings, []);
        assert.equal(twoDays.structuredContent.dataSources.days, 2);
        assert.deepEqual(twoDays.content.map((c: Json) => c.type), ["text"], "no chart without testable features");

        const weekly: Json = await call(client, { aggregationLevel: "weekly", includeChart: false, maxLag: 0 });
        assert.equal(weekly.structuredContent.grain, "week");
        assert.ok(weekly.structuredContent.results.every((r: Json) => r.lag === 0));
        assert.match(weekly.content[0].text, /, weekly\n/);
      });

      await t.step("bad input → one clear sentence, database unchanged", async () => {
        const before = await rowCounts(db);
        const valid = /valid: .*asset_volume.*failure_count/;

        let text = errorText(await call(client, { targetVariable: "no_such_feature" }));
        assert.match(text, /^unknown variable "no_such_feature" for grain day; valid: /);
        assert.match(text, valid);

        text = errorText(await call(client, { targetVariable: "failure_count; drop table aoma.incidents" }));
        assert.match(text, /^unknown variable "failure_count; drop table aoma\.incidents" for grain day; valid: /);
        text = errorText(await call(client, { features: ['asset_volume"; delete from aoma.incidents; --'] }));
        assert.match(text, /^unknown variable "asset_volume\\?"; delete from aoma\.incidents; --" for grain day/);

        assert.equal(
          errorText(await call(client, { maxLag: 10000 })),
          "Cannot run analyze_correlations: maxLag must be a whole number from 0 to 30.",
        );
        assert.equal(
          errorText(await call(client, { timeRange: { start: "2026-10-10", end: "2026-10-01" } })),
          "Cannot run analyze_correlations: timeRange.start must be on or before timeRange.end.",
        );
        // a range outside the data names the data's first and last day
        const span = `the data runs from ${truth.calendar.start_date} to 2026-11-23.`;
        assert.equal(
          errorText(await call(client, { timeRange: { start: "2030-01-01", end: "2030-01-31" } })),
          `Cannot run analyze_correlations: there is no data from 2030-01-01 to 2030-01-31 (timeRange); ${span}`,
        );
        assert.equal(
          errorText(await call(client, { timeRange: { end: "2026-08-25T23:59:59Z" } })),
          `Cannot run analyze_correlations: there is no data up to 2026-08-25 (timeRange); ${span}`,
        );
        // …a range that touches it runs (a date-time counts as its UTC day: 08-25 19:00 −05:00 is 08-26)
        const edge: Json = await call(client, { timeRange: { end: "2026-08-25T19:00:00-05:00" }, includeChart: false });
        assert.notEqual(edge.isError, true, JSON.stringify(edge.content?.[0]));
        assert.deepEqual(edge.structuredContent.period, { start: "2026-08-26", end: "2026-08-26" });

        // the measured inputs that once reached Postgres (22021, 22P05/22P02, 22008, 22009): refused before SQL
        assert.equal(
          errorText(await call(client, { targetVariable: "\u0000" })),
          "Cannot run analyze_correlations: targetVariable must be printable text without NUL bytes, control characters or unpaired surrogates (found a NUL byte at position 1).",
        );
        assert.equal(
          errorText(await call(client, { features: ["\ud800"] })),
          "Cannot run analyze_correlations: features.0: each feature must be printable text without NUL bytes, control characters or unpaired surrogates (found an unpaired surrogate U+D800 at position 1).",
        );
        assert.equal(
          errorText(await call(client, { timeRange: { start: "0000-01-01" } })),
          "Cannot run analyze_correlations: timeRange.start must be a day from 0001-01-01 to 9999-12-31.",
        );
        assert.equal(
          errorText(await call(client, { timeRange: { start: "9999-12-31T23:59:59-12:00" } })),
          "Cannot run analyze_correlations: timeRange.start must be a day from 0001-01-01 to 9999-12-31 (it is 10000-01-01 in UTC).",
        );
        // …and with an end it does not slip past the start ≤ end check as text ("+010000-01" < "9999-12-31")
        assert.equal(
          errorText(await call(client, { timeRange: { start: "9999-12-31T23:59:59-12:00", end: "9999-12-31" } })),
          "Cannot run analyze_correlations: timeRange.start must be a day from 0001-01-01 to 9999-12-31 (it is 10000-01-01 in UTC).",
        );
        // compared as UTC days, not as text: 10-01 23:00 −05:00 is 10-02, 10-02 01:00 +05:00 is 10-01
        assert.equal(
          errorText(await call(client, { timeRange: { start: "2026-10-01T23:00:00-05:00", end: "2026-10-02T01:00:00+05:00" } })),
          "Cannot run analyze_correlations: timeRange.start must be on or before timeRange.end.",
        );
        assert.equal(
          errorText(await call(client, { timeRange: { start: "2026-02-30" } })),
          "Cannot run analyze_correlations: timeRange.start is not a real calendar date.",
        );
        assert.equal(
          errorText(await call(client, { maxLag: 20, aggregationLevel: "weekly" })),
          "max_lag must be between 0 and 12 for grain week (got 20).",
        );

        // wrong types and unknown keys
        assert.equal(
          errorText(await call(client, { maxLag: "3" })),
          "Cannot run analyze_correlations: maxLag must be a whole number from 0 to 30.",
        );
        assert.equal(
          errorText(await call(client, { features: "asset_volume" })),
          "Cannot run analyze_correlations: features must be a list of feature names.",
        );
        assert.equal(
          errorText(await call(client, { includeChart: "yes", aggregationLevel: "monthly" })),
          "Cannot run analyze_correlations: aggregationLevel must be one of hourly, daily, weekly; includeChart must be true or false.",
        );
        // every key of the advertised schema is listed as allowed, in its order
        const { tools }: Json = await client.listTools();
        const allowed = Object.keys(tools[0].inputSchema.properties).join(", ");
        assert.equal(allowed, "targetVariable, features, maxLag, timeRange, aggregationLevel, adjust, includeChart");
        assert.equal(
          errorText(await call(client, { target: "failure_count" })),
          `Cannot run analyze_correlations: unknown argument "target"; allowed: ${allowed}.`,
        );
        assert.equal(
          errorText(await call(client, { a: 1, b: 2, "c\nd": 3, e: 4 })),
          `Cannot run analyze_correlations: unknown arguments "a", "b", "c\\nd" and 1 more; allowed: ${allowed}.`,
        );
        // each problem once: 1e308 breaks two bounds of maxLag, two empty names share one message
        assert.equal(
          errorText(await call(client, { maxLag: 1e308 })),
          "Cannot run analyze_correlations: maxLag must be a whole number from 0 to 30.",
        );
        assert.equal(
          errorText(await call(client, { features: ["", "asset_volume", ""] })),
          "Cannot run analyze_correlations: features.0, features.2: each feature must not be empty.",
        );
        assert.equal(
          errorText(await call(client, { features: Array.from({ length: 101 }, (_, i) => `f${i}`) })),
          "Cannot run analyze_correlations: features must list at most 100 names.",
        );
        assert.equal(
          errorText(await call(client, { targetVariable: "x".repeat(64) })),
          "Cannot run analyze_correlations: targetVariable must be at most 63 characters.",
        );

        // large arguments: over 64 KB → tool error; over the 1 MiB body limit → HTTP 413
        text = errorText(await call(client, { features: ["a".repeat(100_000)] }));
        assert.match(text, /^Cannot run analyze_correlations: the arguments are 100,0\d\d bytes; the limit is 65,536 bytes\.$/);
        await assert.rejects(
          call(client, { targetVariable: "x".repeat(5 * 1024 * 1024) }),
          (e: Error) => (e as Json).code === 413 && /the body is larger than 1,048,576 bytes/.test(e.message),
        );

        assert.deepEqual(await rowCounts(db), before);
        // the server is still fine after all that
        const ok: Json = await call(client, { features: ["asset_volume"], includeChart: false });
        assert.notEqual(ok.isError, true);
      });

      await t.step("null quarter: no key findings, says so plainly", async () => {
        await loadDemo(db, { variant: "null", seed: 1 });
        const res: Json = await call(client, {});
        const s = res.structuredContent;
        assert.deepEqual(s.keyFindings, []);
        assert.ok(s.results.every((r: Json) => !r.significant));
        assert.match(s.summary, new RegExp(`^No driver is statistically significant at q < 0\\.05 over ${s.testsRun} tests`));
        assert.ok(res.content[0].text.includes(s.summary));
        assert.doesNotMatch(res.content[0].text, /KEY FINDINGS/);
      });
    } finally {
      await client.close();
      await srv.close();
      await db.close();
    }
  },
});
