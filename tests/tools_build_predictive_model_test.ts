/**
 * build_predictive_model end to end: the SDK's own Client over Streamable HTTP with a bearer token,
 * against the gateway on the planted demo quarter (seed 1), on PGlite and — with AOMA_TEST_DB_URL —
 * in a scratch database of the server. Asserts every number of the answer is SQL's
 * (analytics.build_predictive_model / analytics.what_if / analytics.forecast_feature called with the
 * same arguments), the output schema (the SDK client validates structuredContent against it), the
 * text and the chart; the routes of modelType; source scheduled after the nightly job's model; the
 * bad inputs of the issue (each one sentence naming the variable and the fix); that the tool writes
 * nothing and that only service_role may register a model.
 */
import assert from "node:assert/strict";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { asRole } from "../src/db/caller.ts";
import type { Db } from "../src/db/types.ts";
import { loadDemo } from "../src/demo/load.ts";
import { startServer } from "../src/server/gateway.ts";
import { testOnBothEngines } from "./_engines.ts";
import { connectClient, tableChecksums, testAuth } from "./mcp_fixture.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

async function call(client: Client, args: Record<string, unknown> | undefined): Promise<Json> {
  return await client.callTool({ name: "build_predictive_model", arguments: args }, undefined, { timeout: 180_000 });
}

function errorText(res: Json): string {
  assert.equal(res.isError, true, `expected a tool error, got ${JSON.stringify(res).slice(0, 300)}`);
  assert.equal(res.content.length, 1);
  const text: string = res.content[0].text;
  assert.doesNotMatch(text, /\n\s+at |stack|Error:|database error|\(\d{2}[0-9A-Z]{3}\)/, "no stack trace or SQLSTATE in a tool error");
  return text;
}

async function sqlModel(db: Db, args: string): Promise<Json> {
  const [r] = await db.query<Json>(`select analytics.build_predictive_model(${args}) as m`);
  return r.m;
}

/** A number to 12 significant digits (a float sum's last bits are not part of the claim). */
const r12 = (v: unknown) => (typeof v === "number" ? Number(v.toPrecision(12)) : v);
const rows12 = (rows: unknown[][]) => rows.map((r) => r.map(r12));

/** The answer equals SQL's model: candidates, choice, terms, predictions. */
function assertSameAsSql(s: Json, m: Json): void {
  assert.equal(s.chosen, m.chosen);
  assert.equal(s.best, m.best);
  assert.equal(s.baseline, m.baseline);
  assert.equal(s.beatsBaseline, m.beats_baseline);
  assert.equal(r12(s.meanValue), r12(m.mean_value));
  assert.deepEqual(s.window, { from: m.window.from, to: m.window.to, days: m.n_days });
  assert.deepEqual(rows12(s.candidates.map((c: Json) => [c.name, c.lossMean, c.lossSe, ...c.foldLosses, c.vsBest?.mean, c.vsBest?.se])),
    rows12(m.candidates.map((c: Json) => [c.name, c.loss_mean, c.loss_se, ...c.fold_losses, c.vs_best?.mean, c.vs_best?.se])));
  assert.deepEqual(JSON.parse(JSON.stringify(s.candidates.map((c: Json) => c.metrics), (_, v) => r12(v))),
    JSON.parse(JSON.stringify(m.candidates.map((c: Json) => c.metrics), (_, v) => r12(v))));
  assert.deepEqual(rows12(s.model.predictions.map((p: Json) => [p.date, p.weekday, p.prediction, p.low95, p.high95, p.low80, p.high80, p.risk, p.ratioToMean])),
    rows12(m.predictions.map((p: Json) => [p.day, p.weekday, p.prediction, p.low95, p.high95, p.low80, p.high80, p.risk, p.ratio_to_mean])));
  for (const p of s.model.predictions) {
    assert.ok(p.low95 <= p.low80 && p.low80 <= p.prediction && p.prediction <= p.high80 && p.high80 <= p.high95, `${p.date}: nested intervals around the prediction`);
  }
  if (m.model.glm?.terms?.length) {
    assert.deepEqual(rows12(s.glm.terms.map((t: Json) => [t.term, t.feature, t.lag, t.threshold, t.estimate, t.stdError, t.pValue, t.ratio, t.ratioLow, t.ratioHigh, t.importance])),
      rows12(m.model.glm.terms.map((t: Json) => [t.term, t.feature, t.lag, t.threshold ?? null, t.estimate, t.std_error, t.p_value, t.ratio, t.ratio_low, t.ratio_high, t.importance])));
  }
}

testOnBothEngines("build_predictive_model over MCP on the demo quarter", "aoma_test_predictive_tool", async (t, db) => {
  await loadDemo(db, { variant: "planted", seed: 1 });
  const srv = await startServer({ port: 0, db, auth: testAuth() });
  const client = await connectClient(srv.url, await srv.token());
  const before = await tableChecksums(db);
  try {
    await t.step("tools/list: build_predictive_model, read-only, with its schemas", async () => {
      const { tools }: Json = await client.listTools();
      const tool = tools.find((x: Json) => x.name === "build_predictive_model");
      assert.ok(tool);
      assert.equal(tool.annotations?.readOnlyHint, true);
      assert.equal((tool.inputSchema as Json).additionalProperties, false);
      assert.deepEqual(Object.keys((tool.inputSchema as Json).properties).sort(), [
        "includeChart", "maxLag", "modelType", "predictionHorizon", "predictorVariables", "source", "targetVariable", "timeWindow", "whatIf", "windowEnd",
      ]);
      assert.ok(Object.keys((tool.outputSchema as Json).properties).includes("model"));
    });

    await t.step("default call: the failure-rate model, every number SQL's, the planted drivers found, Monday the riskiest day", async () => {
      const res: Json = await call(client, { whatIf: { asset_volume: 1300, is_monday: 1 } });
      assert.notEqual(res.isError, true, JSON.stringify(res.content?.[0]));
      const s = res.structuredContent;
      const m = await sqlModel(db, "");
      assertSameAsSql(s, m);
      assert.equal(s.target.name, "processing_failure_rate");
      assert.equal(s.target.kind, "rate");
      assert.equal(s.chosen, "glm");
      assert.equal(s.beatsBaseline, true);
      assert.equal(s.model.type, "glm");
      assert.ok(s.model.accuracy > 0.5 && s.model.accuracy <= 1, `deviance explained out of sample ${s.model.accuracy}`);
      assert.equal(s.model.accuracyBaseline, 0);
      // the planted effects (src/demo/truth.json): ×3 after a day above 1,200 files, ×2.3 on Mondays
      const vol = s.glm.terms.find((x: Json) => x.feature === "asset_volume" && x.lag === 1);
      const mon = s.glm.terms.find((x: Json) => x.feature === "is_monday" && x.lag === 0);
      assert.ok(vol && Math.abs(vol.threshold - 1200) <= 60, `asset volume step near 1,200: ${vol?.threshold}`);
      assert.ok(vol.ratioLow <= 3 && 3 <= vol.ratioHigh, `asset volume ratio CI ${vol.ratioLow}–${vol.ratioHigh} covers 3`);
      assert.ok(mon && mon.ratioLow > 1.5, `Monday ratio ${mon?.ratio}`);
      // the legacy 360RA cohort fails at 40% in the last 14 days whatever the drivers: screened out of the fit, and said
      assert.deepEqual(s.glm.excludedSegments.map((x: Json) => x.segment), ["360RA/legacy"]);
      assert.deepEqual(s.glm.excludedSegments.map((x: Json) => [x.days, x.failures, x.z]),
        m.model.glm.excluded_segments.map((x: Json) => [x.days, x.failures, x.z]));
      const top = [...s.model.predictions].sort((a: Json, b: Json) => b.prediction - a.prediction)[0];
      assert.ok(top.weekday === "Monday" || top.drivers.some((d: Json) => d.feature === "asset_volume" && d.pHigh >= 0.5), `riskiest day ${top.weekday}`);
      assert.equal(s.model.predictions.length, 7);
      assert.equal(s.registry.modelId, null);
      assert.match(s.registry.note, /service_role/);
      // the what-if is analytics.what_if's on the same glm
      const [w] = await db.query<Json>("select analytics.what_if($1::text::jsonb, $2::text::jsonb) as w",
        [JSON.stringify({ fit: m.model.glm.fit, spec: m.model.glm.spec, terms: m.model.glm.terms }), JSON.stringify({ asset_volume: 1300, is_monday: 1 })]);
      assert.deepEqual([s.whatIf.prediction, s.whatIf.ciLow, s.whatIf.ciHigh].map(r12), [w.w.prediction, w.w.ci_low, w.w.ci_high].map(r12));
      assert.ok(s.whatIf.prediction > top.prediction, "a Monday after a high-volume day is riskier than any day of the coming week");
      // the text: the seed's block, every prediction, the baseline beside the accuracy
      const text: string = res.content[0].text;
      assert.match(text, /^🔮 PREDICTIVE MODEL GENERATED\n\n📊 ANALYSIS COMPLETE:/);
      assert.match(text, /- Accuracy \(out of sample\): \d+\.\d% of the baseline's deviance explained out of sample \(baseline 0%\)/);
      assert.match(text, /asset volume ≥ [\d,]+ on the previous day: failure rate ×\d\.\d\d \(95% CI /);
      for (const p of s.model.predictions) assert.ok(text.includes(`${p.weekday} ${p.date.slice(5).replace("-", "/")}: `), `${p.date} listed`);
      assert.match(text, /🧪 WHAT IF:/);
      assert.match(text, /• Uploads of 360RA\/legacy fail by a cause of their own: \d+ failures over \d+ days that the common drivers do not explain/);
      assert.match(text, /⚠️ RECOMMENDATIONS:\n1\. /);
      // the chart: SVG and PNG, predictions with bands and risk colours, importance with direction
      assert.deepEqual(res.content.map((c: Json) => c.type), ["text", "resource", "image"]);
      assert.match(res.content[1].resource.text, /^<svg/);
      const spec = s.chart.vegaLite;
      assert.equal(spec.vconcat.length, 2);
      assert.deepEqual(spec.vconcat[0].data.values.map((v: Json) => v.prediction), s.model.predictions.map((p: Json) => p.prediction));
      assert.deepEqual(spec.vconcat[1].data.values.map((v: Json) => v.importance), s.glm.terms.map((x: Json) => x.importance));
      assert.deepEqual(s.visualizations, [{ type: "vega-lite", title: "failure probability per attempt: next days and feature importance", uri: "chart://build_predictive_model/predictions.svg" }]);
      assert.deepEqual(s.insights, s.keyFindings);
      assert.deepEqual(await tableChecksums(db), before, "the tool writes nothing");
    });

    await t.step("modelType routes: classification on a yes/no day, boosted, time_series", async () => {
      const cls: Json = await call(client, { targetVariable: "critical_failure_flag", modelType: "classification", includeChart: false });
      assert.notEqual(cls.isError, true, JSON.stringify(cls.content?.[0]));
      assertSameAsSql(cls.structuredContent, await sqlModel(db, "'critical_failure_flag', null, null, null, 7, 'glm'"));
      assert.equal(cls.structuredContent.target.kind, "binary");
      assert.equal(cls.structuredContent.model.accuracyMeasure, "AUC (cross-validated)");
      assert.equal(cls.structuredContent.model.accuracyBaseline, 0.5);
      const boosted: Json = await call(client, { modelType: "boosted", includeChart: false, timeWindow: 60 });
      assert.notEqual(boosted.isError, true, JSON.stringify(boosted.content?.[0]));
      const mb = await sqlModel(db, "'processing_failure_rate', null, '2026-09-25', null, 7, 'boosted'");
      assertSameAsSql(boosted.structuredContent, mb);
      assert.equal(boosted.structuredContent.chosen, "boosted");
      assert.ok(boosted.structuredContent.model.features.length > 0, "permutation importance of the boosted stumps");
      const ts: Json = await call(client, { targetVariable: "failure_count", modelType: "time_series", includeChart: false });
      assert.notEqual(ts.isError, true, JSON.stringify(ts.content?.[0]));
      const rows = await db.query<Json>("select point, lower, upper from analytics.forecast_feature(array['failure_count'], 'day', 7, array[80, 95]::float8[], 'auto') order by step");
      assert.deepEqual(ts.structuredContent.model.predictions.map((p: Json) => [p.prediction, p.low80, p.high80, p.low95, p.high95]),
        rows.map((r) => [r.point, r.lower[0], r.upper[0], r.lower[1], r.upper[1]]));
    });

    await t.step("per-attempt model: processing_attempt_failure, every number SQL's, the riskiest uploads named", async () => {
      const res: Json = await call(client, { targetVariable: "processing_attempt_failure", modelType: "classification", includeChart: false });
      assert.notEqual(res.isError, true, JSON.stringify(res.content?.[0]));
      const s = res.structuredContent;
      const m = await sqlModel(db, "'processing_attempt_failure', null, null, null, 7, 'glm'");
      assertSameAsSql(s, m);
      assert.deepEqual(s.model.predictions.map((p: Json) => rows12(p.groups.map((g: Json) => [g.group, g.share, g.prediction, g.low95, g.high95, g.risk]))),
        m.predictions.map((p: Json) => rows12(p.groups.map((g: Json) => [g.group, g.share, g.prediction, g.low95, g.high95, g.risk]))));
      assert.equal(s.target.kind, "attempt");
      assert.equal(s.model.accuracyMeasure, "AUC per attempt (cross-validated)");
      assert.equal(s.model.accuracyBaseline, 0.5);
      assert.ok(s.glm.terms.some((x: Json) => x.form === "level" && x.feature === "asset_type" && x.level === "360RA"), "the upload's asset type is a term");
      assert.ok(s.glm.terms.some((x: Json) => x.form === "excess"), "its segment's recent excess is a term");
      const text: string = res.content[0].text;
      assert.match(text, /- Model Type: Per-attempt GLM \(logistic, \d+ terms/);
      assert.match(text, /🚨 RISKIEST UPLOADS \(Tuesday 11\/24, by asset segment and upload age\):\n• 360RA\/legacy · uploaded [^:]+: \d+(\.\d)?% \(HIGH RISK; 95% /);
      assert.match(text, /Route or hold uploads of 360RA\/legacy/);
      assert.match(errorText(await call(client, { targetVariable: "processing_attempt_failure", modelType: "regression" })),
        /processing_attempt_failure is a yes\/no outcome per attempt; use modelType classification or auto/);
      assert.match(errorText(await call(client, { targetVariable: "processing_attempt_failure", modelType: "boosted" })), /no boosted candidate/);
    });

    await t.step("bad input: one sentence naming the variable and the fix", async () => {
      assert.match(errorText(await call(client, { targetVariable: "no_such" })), /^unknown target "no_such"; the targets are the daily outcomes \(.*processing_failure_rate.*\) and processing_attempt_failure \(one row per processing attempt\)/);
      assert.match(errorText(await call(client, { targetVariable: "asset_volume" })), /^"asset_volume" is a driver feature, not an outcome; the targets are the daily outcomes \(/);
      assert.match(errorText(await call(client, { predictorVariables: ["nope"] })), /^unknown predictor "nope"; the daily drivers and calendar features are: .*asset_volume/);
      assert.match(errorText(await call(client, { predictorVariables: ["failure_count"] })), /^"failure_count" is an outcome, not a predictor/);
      assert.match(errorText(await call(client, { predictorVariables: ["processing_attempts"] })), /^"processing_attempts" counts the records of the target processing_failure_rate itself/);
      assert.equal(errorText(await call(client, { predictionHorizon: 31 })), "Cannot run build_predictive_model: predictionHorizon must be a whole number of days from 1 to 30.");
      assert.equal(errorText(await call(client, { timeWindow: 5 })), "Cannot run build_predictive_model: timeWindow must be a whole number of days from 20 to 1500.");
      assert.match(errorText(await call(client, { timeWindow: 20 })), /^not enough data: 19 usable days of processing_failure_rate between .*; at least 20 are needed\.$/);
      assert.match(errorText(await call(client, { windowEnd: "2020-01-01" })), /there is no data up to 2020-01-01 \(timeWindow\/windowEnd\); the data runs from 2026-08-26 to /);
      assert.match(errorText(await call(client, { modelType: "classification" })), /modelType classification needs a yes\/no daily target such as critical_failure_flag/);
      assert.match(errorText(await call(client, { targetVariable: "performance_score_avg" })), /performance_score_avg is a continuous metric: name its predictorVariables/);
      assert.match(errorText(await call(client, { targetVariable: "performance_score_avg", predictorVariables: ["is_saturday", "is_sunday", "is_weekend"] })),
        /^the named predictorVariables cannot be fitted together: predictors are collinear: "is_weekend" is \(almost\) a linear combination of "is_saturday", "is_sunday"; leave one of them out\.$/);
      assert.match(errorText(await call(client, { whatIf: { asset_volume: "lots" } })), /each whatIf condition must be a number or true\/false/);
      assert.match(errorText(await call(client, { source: "scheduled", timeWindow: 30 })), /timeWindow applies to computed models only/);
      assert.match(errorText(await call(client, { source: "scheduled", targetVariable: "at foo.ts:1" })), /^unknown target "at foo\.ts:1"; the targets are the daily outcomes \(/);
      assert.deepEqual(await tableChecksums(db), before, "refused calls write nothing");
    });

    await t.step("registering is service_role's; source scheduled reads the nightly job's model and its ledger", async () => {
      assert.match(errorText(await call(client, { source: "scheduled" })), /^Cannot run build_predictive_model: no stored model of processing_failure_rate yet/);
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.query("select set_config('role', 'authenticated', true)");
          await tx.query("select analytics.register_predictive_model()");
        }),
        /permission denied for function register_predictive_model/,
      );
      const writer = asRole(db, "service_role");
      const [job] = await writer.query<Json>("select * from analytics.run_prediction_job('2026-11-17')");
      assert.equal(job.predictions, 7);
      const [again] = await writer.query<Json>("select * from analytics.run_prediction_job('2026-11-17')");
      assert.equal(again.model_id, job.model_id, "the same spec on the same rows is the stored model");
      const stored = await tableChecksums(db);
      const res: Json = await call(client, { source: "scheduled", whatIf: { is_monday: 1 } });
      assert.notEqual(res.isError, true, JSON.stringify(res.content?.[0]));
      const s = res.structuredContent;
      assert.equal(s.registry.modelId, job.model_id);
      const ledger = await db.query<Json>("select to_char(predicted_date, 'YYYY-MM-DD') as day, predicted, actual, brier from analytics.prediction_ledger where model_id = $1 order by predicted_date", [job.model_id]);
      assert.deepEqual(s.model.predictions.map((p: Json) => [p.date, p.prediction]), ledger.map((l) => [l.day, l.predicted]));
      assert.deepEqual(s.model.predictions.map((p: Json) => p.date), ["2026-11-17", "2026-11-18", "2026-11-19", "2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23"]);
      const [score] = await db.query<Json>("select * from analytics.prediction_scores where target = 'processing_failure_rate'");
      assert.ok(score.days_scored >= 6, "the passed days are scored");
      assert.equal(s.trackRecord.daysScored, score.days_scored);
      assert.deepEqual([s.trackRecord.brier, s.trackRecord.brierBaseline], [score.brier, score.brier_baseline]);
      const [w] = await db.query<Json>("select analytics.score_predictive_model($1::uuid, '{\"is_monday\": 1}') as w", [job.model_id]);
      assert.equal(s.whatIf.prediction, w.w.prediction);
      assert.deepEqual(await tableChecksums(db), stored, "reading the stored model writes nothing");
    });
  } finally {
    await client.close();
    await srv.close();
  }
});
