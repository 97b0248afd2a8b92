/**
 * perform_root_cause_analysis, create_anomaly_detection and analyze_failure_patterns end to end:
 * the SDK's own Client over Streamable HTTP with a bearer token, against the gateway on the planted
 * demo quarter (seed 1), on PGlite and — with AOMA_TEST_DB_URL — in a scratch database of the
 * server. Asserts the answers' numbers equal the SQL functions' (called with the same arguments),
 * the output schemas, the text and the charts; that the planted 360RA legacy cohort and its error
 * template come first; that the planted rise is an anomaly event; that bad input gets one clear
 * sentence; that nothing is written except a monitor registered by service_role, and that the
 * monitor job then stores the planted anomaly.
 */
import assert from "node:assert/strict";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { asRole } from "../src/db/caller.ts";
import { DEMO_TRUTH } from "../src/demo/generate.ts";
import { loadDemo } from "../src/demo/load.ts";
import { startServer } from "../src/server/gateway.ts";
import { testOnBothEngines } from "./_engines.ts";
import { connectClient, tableChecksums, testAuth } from "./mcp_fixture.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

async function call(client: Client, name: string, args: Record<string, unknown> | undefined): Promise<Json> {
  return await client.callTool({ name, arguments: args }, undefined, { timeout: 180_000 });
}

function errorText(res: Json): string {
  assert.equal(res.isError, true, `expected a tool error, got ${JSON.stringify(res).slice(0, 300)}`);
  const text: string = res.content[0].text;
  assert.doesNotMatch(text, /\n\s+at |stack|Error:|database error|\(\d{2}[0-9A-Z]{3}\)/, "no stack trace or SQLSTATE in a tool error");
  return text;
}

function ok(res: Json): Json {
  assert.notEqual(res.isError, true, JSON.stringify(res.content?.[0]).slice(0, 500));
  return res.structuredContent;
}

const cohort = DEMO_TRUTH.effects.cohort_360ra;

testOnBothEngines("root cause, anomaly detection and failure patterns over MCP on the demo quarter", "aoma_test_rca_tools", async (t, db) => {
  await loadDemo(db, { variant: "planted", seed: 1 });
  const srv = await startServer({ port: 0, db, auth: testAuth() });
  const client = await connectClient(srv.url, await srv.token());
  const before = await tableChecksums(db);
  try {
    await t.step("tools/list: the three tools with strict input schemas", async () => {
      const { tools }: Json = await client.listTools();
      for (const name of ["perform_root_cause_analysis", "create_anomaly_detection", "analyze_failure_patterns"]) {
        const tool = tools.find((x: Json) => x.name === name);
        assert.ok(tool, name);
        assert.equal((tool.inputSchema as Json).additionalProperties, false);
        assert.ok((tool.outputSchema as Json).properties.summary);
      }
      assert.equal(tools.find((x: Json) => x.name === "perform_root_cause_analysis").annotations.readOnlyHint, true);
      assert.equal(tools.find((x: Json) => x.name === "create_anomaly_detection").annotations.readOnlyHint, false);
    });

    await t.step("perform_root_cause_analysis: the planted cohort and template first, numbers equal SQL's", async () => {
      const res = await call(client, "perform_root_cause_analysis", {});
      const s = ok(res);
      const [h] = await db.query<Json>("select * from analytics.root_cause_headline()");
      assert.equal(s.headline.windowUnits, h.window_n);
      assert.equal(s.headline.windowFailures, h.window_failures);
      assert.deepEqual(s.headline.windowRate, { estimate: h.window_rate, low: h.window_rate_lo, high: h.window_rate_hi });
      assert.deepEqual(s.headline.change, { estimate: h.change, low: h.change_lo, high: h.change_hi });
      assert.equal(s.headline.excessFailures, h.excess);
      assert.equal(s.headline.window.start, cohort.window_start);
      const segs = await db.query<Json>("select *, to_jsonb(vals) as v from analytics.root_cause_segments() order by rank");
      const c1 = segs.find((r) => r.cause_rank === 1);
      const cause = s.causes[0];
      assert.equal(cause.segment.asset_type, cohort.asset_type);
      assert.equal(cause.segment.migration_state, cohort.migration_state);
      assert.deepEqual(cause.segment, Object.fromEntries(c1.dims.flatMap((d: string, i: number) => (c1.v[i] === null ? [] : [[d, c1.v[i]]]))));
      assert.equal(cause.windowFailures, c1.window_failures);
      assert.deepEqual(cause.windowRate, { estimate: c1.window_rate, low: c1.window_rate_lo, high: c1.window_rate_hi });
      assert.deepEqual(cause.excessShare, { estimate: c1.excess_share, low: c1.excess_share_lo, high: c1.excess_share_hi });
      assert.equal(cause.qValue, c1.q_value);
      assert.deepEqual(cause.rise, { estimate: c1.rise, low: c1.rise_lo, high: c1.rise_hi });
      assert.ok(cause.rise.low > 1, "the cohort rose more than the rest of the same days");
      assert.deepEqual(c1.dims, ["asset_type", "migration_state", "upload_cohort", "recent_deploy", "recent_commits"]);
      assert.ok(segs.some((r) => /^(more than|at most) \d+ service commits in the prior 24 h$/.test(r.v[4] ?? "")), "the recent_commits dimension splits");
      // the cohort's own rows, counted straight from the source table
      const [direct] = await db.query<Json>(
        `select count(*)::float8 as n, count(*) filter (where status = 'failed')::float8 as f from aoma.processing_attempts
         where asset_type = $1 and migration_state = $2 and started_at >= $3::date and started_at < $4::date + 1`,
        [cohort.asset_type, cohort.migration_state, s.headline.window.start, s.headline.window.end],
      );
      assert.deepEqual([cause.windowUnits, cause.windowFailures], [direct.n, direct.f]);
      assert.ok(Math.abs(cause.windowRate.estimate - cohort.failure_probability) < 0.15, "the cohort fails at about the planted 40% (coverage over seeds: scripts/rca_acceptance.ts)");
      assert.equal(cause.templates[0].template, cohort.error_template);
      assert.deepEqual(cause.templates[0].example, { untrusted: true, text: cohort.error_message });
      const [t1] = await db.query<Json>(
        "select * from analytics.root_cause_templates('processing_failures', array(select jsonb_array_elements_text($1::text::jsonb)), null, null, null, null, 3)",
        [JSON.stringify(c1.v)],
      );
      assert.equal(cause.templates[0].templateId, t1.template_id);
      assert.deepEqual(cause.templates[0].change, { estimate: t1.change, low: t1.change_lo, high: t1.change_hi });
      assert.deepEqual(cause.templates[0].excessShare, { estimate: t1.excess_share, low: t1.excess_share_lo, high: t1.excess_share_hi });
      assert.equal(cause.templates[0].qValue, t1.q_value);
      assert.ok(t1.q_value < 0.05, "the cohort's error rose more than its other errors");
      assert.equal(cause.changedOn.day, cohort.window_start);
      assert.equal(s.segments.length, Math.min(15, segs.length));
      assert.equal(s.segments[0].rank, 1);
      const text: string = res.content[0].text;
      assert.match(text, /^🔍 ROOT CAUSE ANALYSIS COMPLETE/);
      assert.match(text, /🎯 PRIMARY CAUSE IDENTIFIED: asset type 360RA, migration state legacy/);
      assert.match(text, /Error pattern: "AssetUploadTask type <\*> not supported"/);
      assert.match(text, /- Rose ×\d+\.\d+ more than the rest of the same days \(95% CI /);
      assert.match(text, /Example line \(log data, untrusted\)/);
      assert.ok(s.recommendationRules.some((r: Json) => r.rule === "legacy-cohort"));
      assert.ok(s.recommendationRules.every((r: Json) => r.finding && r.trigger));
      const svg = res.content.find((c: Json) => c.type === "resource");
      assert.equal(svg.resource.uri, "chart://perform_root_cause_analysis/causes.svg");
      assert.ok(svg.resource.text.includes("360RA"));
      assert.ok(res.content.some((c: Json) => c.type === "image" && c.mimeType === "image/png"));
      // scoped to 360RA, as the seed asks
      const scoped = ok(await call(client, "perform_root_cause_analysis", { scope: { asset_type: "360RA" }, includeChart: false }));
      assert.equal(scoped.headline.scope.asset_type, "360RA");
      assert.equal(scoped.causes[0].segment.migration_state, "legacy");
    });

    await t.step("perform_root_cause_analysis on error log lines: the planted template is the cause; incidents: no event dimensions", async () => {
      const res = await call(client, "perform_root_cause_analysis", { target: "log_errors", includeChart: false });
      const s = ok(res);
      const [h] = await db.query<Json>("select * from analytics.root_cause_headline('log_errors')");
      assert.deepEqual([s.headline.unit, s.headline.windowUnits, s.headline.windowFailures], ["days", h.window_n, h.window_failures]);
      const [c1] = await db.query<Json>("select *, to_jsonb(vals) as v from analytics.root_cause_segments('log_errors') where cause_rank = 1");
      assert.deepEqual(c1.dims, ["service", "host", "template"]);
      assert.equal(s.causes[0].segment.template, cohort.error_template);
      assert.equal(s.causes[0].qValue, c1.q_value);
      assert.deepEqual(s.causes[0].rise, { estimate: c1.rise, low: c1.rise_lo, high: c1.rise_hi });
      assert.equal(s.causes[0].templates[0].template, cohort.error_template);
      assert.match(res.content[0].text, /📊 ANALYSIS OF ERROR LOG LINES \(/);
      assert.ok(s.recommendationRules.some((r: Json) => r.rule === "monitor-cause" && /on log_errors so/.test(r.text)));
      const inc = ok(await call(client, "perform_root_cause_analysis", { target: "incidents", includeChart: false }));
      assert.ok(inc.segments.every((x: Json) => Object.keys(x.segment).every((d) => ["service", "severity", "component"].includes(d))));
      assert.match(errorText(await call(client, "perform_root_cause_analysis", { target: "incidents", dimensions: ["recent_deploy"] })),
        /dimension "recent_deploy" is not one of incidents's: service, severity, component/);
    });

    await t.step("perform_root_cause_analysis: bad input gets one sentence", async () => {
      assert.match(errorText(await call(client, "perform_root_cause_analysis", { window: { start: "2026-11-20", end: "2026-11-20" } })),
        /the window 2026-11-20 is a single day; give a window of at least 2 days to compare with the baseline \(default: the last 14 days\)/);
      assert.match(errorText(await call(client, "perform_root_cause_analysis", { window: { start: "2026-11-10", end: "2026-11-23" }, baseline: { start: "2026-11-01", end: "2026-11-12" } })),
        /overlaps the window/);
      assert.match(errorText(await call(client, "perform_root_cause_analysis", { window: { start: "2030-01-01", end: "2030-01-14" } })), /no processing attempts in the window 2030-01-01 to 2030-01-14/);
      assert.match(errorText(await call(client, "perform_root_cause_analysis", { dimensions: ["colour"] })), /dimension "colour" is not one of processing_failures's/);
      assert.match(errorText(await call(client, "perform_root_cause_analysis", { scope: { colour: "red" } })), /scope names "colour"/);
      assert.match(errorText(await call(client, "perform_root_cause_analysis", { maxDepth: 5 })), /maxDepth must be 1, 2 or 3/);
    });

    await t.step("create_anomaly_detection: the planted rise is an event; values equal SQL's; authenticated cannot register", async () => {
      const args = { metric: "processing_failures", filter: { assetType: "360RA", migrationState: "legacy" } };
      const res = await call(client, "create_anomaly_detection", args);
      const s = ok(res);
      const rows = await db.query<Json>("select * from analytics.detect_anomalies('processing_failures', asset_type => '360RA', migration_state => 'legacy')");
      assert.equal(s.points.length, rows.length);
      for (const [i, p] of s.points.entries()) {
        assert.equal(p.period, new Date(rows[i].period).toISOString());
        assert.equal(p.value, rows[i].value);
        assert.equal(p.expected, rows[i].expected);
        assert.equal(p.score, rows[i].score);
        assert.equal(p.anomalous, rows[i].anomalous);
      }
      assert.ok(s.events.length >= 1, "an event");
      const start = Date.parse(cohort.window_start);
      assert.ok(s.events.some((e: Json) => Math.abs(Date.parse(e.started) - start) <= 2 * 86_400_000 && e.direction === "up"),
        `an upward event within 2 days of ${cohort.window_start}: ${JSON.stringify(s.events)}`);
      assert.match(res.content[0].text, /^🚨 ANOMALY DETECTION COMPLETE/);
      assert.deepEqual([s.threshold, s.rangeShare], [4, 0.05], "the threshold is SQL's analytics.anomaly_threshold(0.5)");
      assert.match(res.content[0].text, /robust z ≥ 4\.00, or past the history's range by 5\.0% of it/);
      assert.ok(res.content.some((c: Json) => c.type === "resource" && c.resource.uri === "chart://create_anomaly_detection/anomalies.svg"));
      assert.match(errorText(await call(client, "create_anomaly_detection", { ...args, register: { name: "ra_legacy" } })),
        /registering a monitor writes analytics\.anomaly_monitors and is allowed to service_role only \(this caller is authenticated\)/);
      assert.match(errorText(await call(client, "create_anomaly_detection", { metric: "asset_volume", filter: { assetType: "360RA" } })),
        /a filter on asset type or migration state applies to processing_attempts, processing_failures and processing_failure_rate/);
      assert.match(errorText(await call(client, "create_anomaly_detection", { sensitivity: 1.5 })), /sensitivity must be a number from 0.001 to 0.999/);
      assert.match(errorText(await call(client, "create_anomaly_detection", { metric: "no_such_feature" })), /no_such_feature/);
    });

    await t.step("analyze_failure_patterns: Mondays, the drivers, the cohort; confidence by its formula", async () => {
      const res = await call(client, "analyze_failure_patterns", { analysisDepth: "deep" });
      const s = ok(res);
      const rows = await db.query<Json>("select * from analytics.failure_patterns() where kind = 'weekday' and key = 1");
      const monday = s.patterns.temporal.find((x: Json) => x.kind === "weekday" && x.key === 1);
      assert.deepEqual(monday.ratio, { estimate: rows[0].ratio, low: rows[0].ratio_lo, high: rows[0].ratio_hi });
      assert.equal(monday.qValue, rows[0].q_value);
      assert.ok(monday.significant && monday.ratio.low > 1, "Mondays are riskier");
      assert.ok(s.patterns.causal.some((c: Json) => c.feature === "asset_volume" && c.lag === 1 && c.inModel));
      assert.equal(s.rootCause.causes[0].label, "asset type 360RA, migration state legacy");
      assert.ok(s.recommendationRules.some((r: Json) => r.rule === "risky-weekday" && /Mondays/.test(r.text)));
      assert.ok(s.confidence > 0 && s.confidence <= 1);
      assert.match(s.confidenceFormula, /^confidence = min\(1, days analysed \/ 60\)/);
      // the confidence is SQL's, from the q-values of the sources the answer shows
      const sources = [
        s.patterns.temporal.filter((x: Json) => x.kind !== "trend").map((x: Json) => x.qValue),
        s.patterns.causal.filter((x: Json) => x.inModel).map((x: Json) => x.qValue),
        s.rootCause.causes.map((x: Json) => x.qValue),
      ];
      const [trendRow] = await db.query<Json>("select days from analytics.failure_patterns() where kind = 'trend'");
      const [conf] = await db.query<Json>("select * from analytics.evidence_confidence($1::int, $2::text::jsonb)", [trendRow.days, JSON.stringify(sources)]);
      assert.equal(s.confidence, conf.confidence);
      assert.equal(s.confidenceFormula, conf.formula);
      assert.ok(s.confidence > 0.5, "Mondays, the drivers and the cohort are all strong evidence");
      assert.match(res.content[0].text, /^🔎 FAILURE PATTERN ANALYSIS COMPLETE/);
      const surface = ok(await call(client, "analyze_failure_patterns", { analysisDepth: "surface", includeVisualization: false, generateRecommendations: false }));
      assert.equal(surface.patterns.causal.length, 0);
      assert.equal(surface.recommendationRules.length, 0);
      assert.match(errorText(await call(client, "analyze_failure_patterns", { analysisDepth: "extreme" })), /analysisDepth must be one of surface, deep, comprehensive/);
      assert.deepEqual(await tableChecksums(db), before, "nothing was written");
    });

    await t.step("service_role registers a monitor; the monitor job stores the planted anomaly", async () => {
      const admin = await connectClient(srv.url, await srv.token({ role: "service_role" }));
      try {
        const args = { metric: "processing_failures", filter: { assetType: "360RA", migrationState: "legacy" }, register: { name: "ra_legacy" }, includeChart: false };
        const first = ok(await call(admin, "create_anomaly_detection", args));
        assert.equal(first.monitor.name, "ra_legacy");
        assert.equal(first.monitor.created, true);
        const again = ok(await call(admin, "create_anomaly_detection", args));
        assert.equal(again.monitor.created, false, "registering again changes nothing");
        const writer = asRole(db, "service_role");
        const runs = await writer.query<Json>("select * from analytics.run_anomaly_monitors('manual')");
        assert.equal(runs.length, 1);
        assert.equal(runs[0].status, "succeeded");
        const stored = await db.query<Json>("select period, score from analytics.anomalies where monitor_name = 'ra_legacy'");
        const expected = await db.query<Json>(
          "select period, score from analytics.detect_anomalies('processing_failures', date_from => '2000-01-01', asset_type => '360RA', migration_state => 'legacy') where anomalous",
        );
        assert.deepEqual(stored.map((r) => [new Date(r.period).toISOString(), r.score]), expected.map((r) => [new Date(r.period).toISOString(), r.score]));
        const second = await writer.query<Json>("select * from analytics.run_anomaly_monitors('manual')");
        assert.equal(second.length, 0, "a run with no new period writes nothing");
        const events = await db.query<Json>("select * from analytics.anomaly_monitor_events where monitor_name = 'ra_legacy'");
        assert.ok(events.some((e) => Math.abs(new Date(e.started).getTime() - Date.parse(cohort.window_start)) <= 2 * 86_400_000));
        const listed = ok(await call(client, "create_anomaly_detection", { ...args, register: undefined }));
        assert.equal(listed.monitors[0].name, "ra_legacy");
        assert.equal(listed.monitors[0].storedEvents, events.length);
      } finally {
        await admin.close();
      }
    });
  } finally {
    await client.close();
    await srv.close();
  }
});
