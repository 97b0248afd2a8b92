/**
 * MCP tool `analyze_failure_patterns` (the seed's FailurePatternRequest / FailurePatternResponse):
 * when processing failures happen (weekday, hour of day, trend: analytics.failure_patterns), what
 * precedes them (threshold drivers: analytics.explain_drivers), which cohort carries the latest rise
 * (the root-cause SQL of perform_root_cause_analysis), what the registered predictive model expects
 * (aoma.predictive_models, aoma.failure_predictions), the risk factors with today's values,
 * rule-based recommendations, and a confidence computed from the evidence by a stated formula. One
 * read-only transaction as the caller; each part that fails is a note, the rest stands.
 */
import { z } from "zod";
import { chartContent } from "../charts/content.ts";
import { rootCauseSpec } from "../charts/root_cause.ts";
import { withCaller } from "../db/caller.ts";
import { withSavepoint } from "../db/savepoint.ts";
import type { Executor } from "../db/types.ts";
import { causeRecommendations, type Recommendation } from "../insights/recommendations.ts";
import { percent, writeRootCauseInsights } from "../insights/root_cause.ts";
import { featureLabel, formatCount, formatP, lagPhrase } from "../insights/wording.ts";
import { partFailureNote } from "../mcp/tool_error.ts";
import { ANSWER_FIELDS, writeAnswer } from "./answer.ts";
import { toolArguments } from "./args.ts";
import { readRootCause, type RootCauseData, toHeadline } from "./perform_root_cause_analysis.ts";
import type { Tool, ToolContext, ToolDefinition, ToolResult } from "./types.ts";

// ───────────────────────────── definition (data only) ─────────────────────────────

const inputSchema = toolArguments({
  analysisDepth: z.enum(["surface", "deep", "comprehensive"], { error: "analysisDepth must be one of surface, deep, comprehensive" }).optional()
    .describe("surface: weekday and trend patterns and the root cause of the last 14 days; deep (default): also hour of day and the " +
      "threshold drivers; comprehensive: also the registered predictive model and its stored predictions."),
  includeVisualization: z.boolean({ error: "includeVisualization must be true or false" }).optional().describe("Attach the chart (default true)."),
  generateRecommendations: z.boolean({ error: "generateRecommendations must be true or false" }).optional()
    .describe("Add the rule-based recommendations (default true)."),
});

const interval = z.object({ estimate: z.number(), low: z.number(), high: z.number() });
const outputSchema = z.object({
  analysisDepth: z.enum(["surface", "deep", "comprehensive"]),
  patterns: z.object({
    temporal: z.array(z.object({
      kind: z.enum(["weekday", "hour", "trend"]),
      key: z.number().int().nullable(),
      label: z.string(),
      attempts: z.number(),
      failures: z.number(),
      rate: interval.nullable(),
      ratio: interval.nullable().describe("weekday/hour: rate ÷ the other attempts' rate; trend: change per week"),
      pValue: z.number().nullable(),
      qValue: z.number().nullable(),
      significant: z.boolean(),
    })),
    causal: z.array(z.object({
      feature: z.string(),
      lag: z.number().int(),
      threshold: z.number().nullable(),
      rateRatio: interval.nullable(),
      qValue: z.number().nullable(),
      inModel: z.boolean(),
      note: z.string().nullable(),
    })),
    predictive: z.array(z.object({
      modelId: z.string(),
      modelType: z.string().nullable(),
      target: z.string().nullable(),
      trainedTo: z.string().nullable(),
      pooled: z.record(z.string(), z.unknown()).nullable().describe("cross-validated metrics pooled over folds, with the baseline's"),
      predictions: z.array(z.object({ date: z.string(), probability: z.number(), low95: z.number().nullable(), high95: z.number().nullable(), risk: z.string().nullable() })),
    })),
  }),
  rootCause: z.object({
    window: z.object({ start: z.string(), end: z.string() }),
    windowRate: interval,
    baselineRate: interval,
    causes: z.array(z.object({ label: z.string(), change: interval.nullable(), excessShare: interval.nullable(), qValue: z.number().nullable() })),
  }).nullable(),
  riskFactors: z.array(z.object({
    kind: z.enum(["weekday", "driver", "cohort", "trend"]),
    factor: z.string(),
    ratio: interval.nullable(),
    qValue: z.number().nullable(),
    liveValue: z.object({ value: z.number().nullable(), asOf: z.string(), threshold: z.number().nullable(), above: z.boolean().nullable() }).nullable(),
  })),
  recommendationRules: z.array(z.object({ rule: z.string(), text: z.string(), finding: z.string(), trigger: z.string() })),
  confidence: z.number().describe("see confidenceFormula"),
  confidenceFormula: z.string(),
  ...ANSWER_FIELDS,
});

/** The data-only definition of analyze_failure_patterns. */
export const definition: ToolDefinition<typeof inputSchema, typeof outputSchema> = {
  name: "analyze_failure_patterns",
  title: "Analyze failure patterns",
  description: "Finds the patterns behind AOMA processing failures, computed in Postgres on the real data: failure rate by weekday and hour " +
    "with risk ratios, intervals and BH q-values, the weekly trend, the threshold drivers that precede failures (asset volume the day " +
    "before, commits, …), the cohort behind the latest rise (root cause of the last 14 days against the 60 before), the registered " +
    "predictive model's accuracy and next-day predictions, risk factors with today's values, rule-based recommendations each naming " +
    "its finding, and a confidence computed from the evidence by a stated formula.",
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: true, openWorldHint: false, destructiveHint: false, idempotentHint: true },
  maxArgumentBytes: 1024,
  narrowing: "use analysisDepth surface",
};

export type FailurePatternInput = z.output<typeof inputSchema>;

// ───────────────────────────── SQL ─────────────────────────────

const PATTERNS_SQL = `select * from analytics.failure_patterns()`;
const CONFIDENCE_SQL = `select confidence, formula from analytics.evidence_confidence($1::int, $2::text::jsonb)`;
const DRIVERS_SQL = `select feature, lag, threshold, rate_ratio, ci_low, ci_high, q_value, in_model, note
  from analytics.explain_drivers('processing_failure_rate') where in_model or q_value < 0.05 order by rank limit 8`;
const LATEST_SQL = `select feature, period, value from analytics.feature_history(array(select jsonb_array_elements_text($1::text::jsonb)), 'day', 1)`;
const MODEL_SQL = `
  select m.model_id::text, m.model_type, m.target, m.train_to, m.evaluation -> 'pooled' as pooled
  from aoma.predictive_models m where m.target = 'processing_failure_rate' order by m.created_at desc limit 1`;
const PREDICTIONS_SQL = `
  select predicted_date::text as date, failure_probability as probability, low95, high95, risk
  from analytics.prediction_ledger where model_id = $1::uuid and actual is null order by predicted_date limit 14`;

// deno-lint-ignore no-explicit-any
type Row = Record<string, any>;
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const iv = (e: unknown, lo: unknown, hi: unknown) =>
  num(e) === null || num(lo) === null || num(hi) === null ? null : { estimate: Number(e), low: Number(lo), high: Number(hi) };
/** A driver as words: "asset volume the previous day ≥ 1,205", calendar ones "on Mondays". */
const driverText = (feature: string, lag: number, threshold: number | null) =>
  feature.startsWith("is_") ? `on ${featureLabel(feature)}` : `${featureLabel(feature)} ${lagPhrase(lag, "day")} ≥ ${threshold === null ? "?" : formatCount(threshold)}`;
const ratioText = (r: { estimate: number; low: number; high: number }) => `×${r.estimate.toFixed(2)} (95% CI ${r.low.toFixed(2)}–${r.high.toFixed(2)})`;

/** Runs `fn` in a savepoint; its failure becomes a note and `fallback` is returned. */
async function part<T>(tx: Executor, what: string, notes: string[], signal: AbortSignal | undefined, fallback: T, fn: (sp: Executor) => Promise<T>): Promise<T> {
  try {
    return await withSavepoint(tx, fn);
  } catch (e) {
    notes.push(partFailureNote(what, e, signal));
    return fallback;
  }
}

// ───────────────────────────── handler ─────────────────────────────

/**
 * Analyses the failure patterns as `ctx.caller`.
 *
 * @example
 * const r = await handler({ analysisDepth: "deep" }, { db, caller: { role: "authenticated", claims: {} } });
 * r.structuredContent.patterns.temporal.find((t) => t.label === "Monday")?.ratio; // ×2.6
 */
export async function handler(input: FailurePatternInput, ctx: ToolContext): Promise<ToolResult<typeof outputSchema>> {
  const depth = input.analysisDepth ?? "deep";
  const notes: string[] = [];
  const signal = ctx.signal;
  const data = await withCaller(ctx.db, ctx.caller, async (tx: Executor) => {
    const patterns = await part<Row[]>(tx, "The temporal patterns", notes, signal, [], (sp) => sp.query<Row>(PATTERNS_SQL));
    const drivers = depth === "surface" ? [] : await part<Row[]>(tx, "The threshold drivers", notes, signal, [], (sp) => sp.query<Row>(DRIVERS_SQL));
    const latest = drivers.length
      ? await part<Row[]>(tx, "Today's driver values", notes, signal, [], (sp) => sp.query<Row>(LATEST_SQL, [JSON.stringify([...new Set(drivers.map((d) => d.feature))])]))
      : [];
    const rca = await part<RootCauseData | null>(tx, "The root cause", notes, signal, null, (sp) =>
      readRootCause(sp, ["processing_failures", null, null, null, null], null, 3, null, notes, signal));
    let model: Row | null = null;
    let predictions: Row[] = [];
    if (depth === "comprehensive") {
      [model] = await part<Row[]>(tx, "The registered model", notes, signal, [], (sp) => sp.query<Row>(MODEL_SQL));
      if (model) predictions = await part<Row[]>(tx, "The stored predictions", notes, signal, [], (sp) => sp.query<Row>(PREDICTIONS_SQL, [model!.model_id]));
      else notes.push("No predictive model of processing_failure_rate is registered yet: the nightly job registers one on its live runs (or call build_predictive_model).");
    }
    // the confidence (analytics.evidence_confidence): the q-values of each evidence source run
    const sources: ((number | null)[] | boolean)[] = [];
    if (patterns.length) {
      sources.push(patterns.filter((p) => p.kind !== "trend" && (depth !== "surface" || p.kind !== "hour")).map((p) => num(p.q_value)));
    }
    if (depth !== "surface") sources.push(drivers.filter((d) => d.in_model).map((d) => num(d.q_value)));
    if (rca) sources.push(rca.causes.map((c) => c.qValue));
    if (depth === "comprehensive" && model) sources.push((model.pooled as Record<string, unknown> | null)?.beats_baseline === true);
    const days = num(patterns.find((p) => p.kind === "trend")?.days) ?? 0;
    const [confidence] = await part<Row[]>(tx, "The confidence", notes, signal, [], (sp) => sp.query<Row>(CONFIDENCE_SQL, [days, JSON.stringify(sources)]));
    return { patterns, drivers, latest, rca, model: model ?? null, predictions, days, confidence: confidence ?? null };
  }, { signal, statementTimeoutMs: ctx.deadlineMs });

  // temporal
  const temporal = data.patterns
    .filter((p) => depth !== "surface" || p.kind !== "hour")
    .map((p) => {
      const ratio = iv(p.ratio, p.ratio_lo, p.ratio_hi);
      const q = num(p.q_value) ?? (p.kind === "trend" ? num(p.p_value) : null);
      return {
        kind: p.kind as "weekday" | "hour" | "trend",
        key: num(p.key),
        label: String(p.label),
        attempts: Number(p.attempts),
        failures: Number(p.failures),
        rate: iv(p.rate, p.rate_lo, p.rate_hi),
        ratio,
        pValue: num(p.p_value),
        qValue: num(p.q_value),
        significant: q !== null && q < 0.05 && ratio !== null,
      };
    });
  const days = data.days;
  // causal
  const latest = new Map(data.latest.map((r) => [r.feature, r]));
  const causal = data.drivers.map((d) => ({
    feature: String(d.feature),
    lag: Number(d.lag),
    threshold: num(d.threshold),
    rateRatio: iv(d.rate_ratio, d.ci_low, d.ci_high),
    qValue: num(d.q_value),
    inModel: !!d.in_model,
    note: d.note ?? null,
  }));
  // predictive
  const predictive = data.model
    ? [{
      modelId: String(data.model.model_id),
      modelType: data.model.model_type ?? null,
      target: data.model.target ?? null,
      trainedTo: data.model.train_to ?? null,
      pooled: data.model.pooled ?? null,
      predictions: data.predictions.map((p) => ({ date: p.date, probability: Number(p.probability), low95: num(p.low95), high95: num(p.high95), risk: p.risk ?? null })),
    }]
    : [];
  const rca = data.rca;
  const headline = rca ? toHeadline(rca.h, "processing_failures", null) : null;

  // risk factors
  const riskFactors: z.input<typeof outputSchema>["riskFactors"] = [];
  for (const t of temporal.filter((t) => t.significant && t.kind !== "trend" && t.ratio!.estimate > 1)) {
    riskFactors.push({ kind: "weekday", factor: t.kind === "weekday" ? `${t.label}s` : `attempts started ${t.label}`, ratio: t.ratio, qValue: t.qValue, liveValue: null });
  }
  for (const c of causal.filter((c) => c.inModel && c.rateRatio && c.rateRatio.estimate > 1)) {
    const l = c.feature.startsWith("is_") ? undefined : latest.get(c.feature);
    const value = num(l?.value);
    riskFactors.push({
      kind: "driver",
      factor: driverText(c.feature, c.lag, c.threshold),
      ratio: c.rateRatio,
      qValue: c.qValue,
      liveValue: l ? { value, asOf: new Date(l.period).toISOString().slice(0, 10), threshold: c.threshold, above: value === null || c.threshold === null ? null : value >= c.threshold } : null,
    });
  }
  for (const c of rca?.causes ?? []) riskFactors.push({ kind: "cohort", factor: c.label, ratio: c.change, qValue: c.qValue, liveValue: null });
  const trend = temporal.find((t) => t.kind === "trend");
  if (trend?.significant && trend.ratio!.low > 1) riskFactors.push({ kind: "trend", factor: "rising failure rate", ratio: trend.ratio, qValue: trend.pValue, liveValue: null });

  // recommendations by rule
  const rules: Recommendation[] = [];
  if (input.generateRecommendations ?? true) {
    for (const t of temporal.filter((t) => t.kind === "weekday" && t.significant && t.ratio!.low > 1)) {
      rules.push({
        rule: "risky-weekday",
        text: `Defer non-critical deploys and batch jobs on ${t.label}s: failures ${ratioText(t.ratio!)} the other days, ${formatP("q", t.qValue!)}.`,
        finding: `weekday pattern: ${t.label} ${percent(t.rate!.estimate)} of ${formatCount(t.attempts)} attempts failed`,
        trigger: `${t.label}s recur every week`,
      });
    }
    for (const f of riskFactors.filter((f) => f.kind === "driver" && f.liveValue)) {
      const lv = f.liveValue!;
      const feature = f.factor.replace(/ (the same day|the previous day|\d+ days earlier) ≥ .*/, "");
      const when = /the previous day|days earlier/.test(f.factor) ? "in the days after" : "on such a day";
      rules.push({
        rule: "driver-threshold",
        text: lv.above
          ? `Act now: ${feature} was ${lv.value === null ? "?" : formatCount(lv.value)} on ${lv.asOf}, at or above the threshold ${formatCount(lv.threshold ?? 0)} ` +
            `found in the data; failures run ${ratioText(f.ratio!)} ${when}: add processing capacity or spread the load.`
          : `Watch ${feature}: ${lv.value === null ? "no value" : formatCount(lv.value)} on ${lv.asOf}, below the threshold ${formatCount(lv.threshold ?? 0)} ` +
            `found in the data (above it failures run ${ratioText(f.ratio!)}).`,
        finding: `threshold driver: ${f.factor} ${ratioText(f.ratio!)}${f.qValue !== null ? `, ${formatP("q", f.qValue)}` : ""}`,
        trigger: `latest value ${lv.value === null ? "none" : formatCount(lv.value)} (${lv.asOf})`,
      });
    }
    if (trend?.significant && trend.ratio!.low > 1) {
      rules.push({
        rule: "rising-trend",
        text: `The failure rate is rising ${ratioText(trend.ratio!)} per week: find what changed with perform_root_cause_analysis over the trend's span.`,
        finding: `trend over ${days} days`,
        trigger: `${formatP("p", trend.pValue!)}`,
      });
    }
    rules.push(...causeRecommendations(rca?.causes ?? [], "processing_failures"));
  }

  const confidence = Number(data.confidence?.confidence ?? 0);
  const confidenceFormula = String(data.confidence?.formula ?? "confidence not computed (see the notes)");

  // words
  const lines = ["🔎 FAILURE PATTERN ANALYSIS COMPLETE", ""];
  const sigTemporal = temporal.filter((t) => t.significant && t.kind !== "trend");
  lines.push(`📅 TEMPORAL PATTERNS (${days} days, processing attempts):`);
  if (!sigTemporal.length) lines.push("- No weekday or hour differs from the others (BH q < 0.05).");
  for (const t of sigTemporal.sort((a, b) => b.ratio!.estimate - a.ratio!.estimate).slice(0, 6)) {
    lines.push(`- ${t.label}: ${percent(t.rate!.estimate)} of ${formatCount(t.attempts)} attempts failed, ${ratioText(t.ratio!)} the other ${t.kind === "weekday" ? "days" : "hours"}, ${formatP("q", t.qValue!)}`);
  }
  if (trend?.ratio) lines.push(`- Trend: ${ratioText(trend.ratio)} per week, ${formatP("p", trend.pValue!)}${trend.significant ? "" : " (no significant trend)"}`);
  if (depth !== "surface") {
    lines.push("", "🔗 WHAT PRECEDES FAILURES (threshold drivers, quasi-Poisson, explain_drivers):");
    if (!causal.length) lines.push("- No driver passes q < 0.05.");
    for (const c of causal.filter((c) => c.rateRatio)) {
      lines.push(`- ${driverText(c.feature, c.lag, c.threshold)}: ${ratioText(c.rateRatio!)}` +
        `${c.qValue !== null ? `, ${formatP("q", c.qValue)}` : ""}${c.inModel ? "" : " (not in the joint model)"}`);
    }
  }
  if (headline && rca) {
    const words = writeRootCauseInsights(headline, rca.causes, rca.all.filter((s) => s.pValue !== null).length, rca.all.filter((s) => s.qValue !== null && s.qValue < 0.05).length);
    lines.push("", ...words.lines.slice(2).filter((l) => !l.startsWith("🧪")));
  }
  if (depth === "comprehensive" && predictive.length) {
    const m = predictive[0];
    lines.push("", `🔮 PREDICTIVE INSIGHT (registered model ${m.modelType ?? ""} of ${m.target}, trained to ${m.trainedTo}):`);
    for (const p of m.predictions.slice(0, 7)) {
      lines.push(`- ${p.date}: ${percent(p.probability)}${p.low95 !== null && p.high95 !== null ? ` (95% ${percent(p.low95)}–${percent(p.high95)})` : ""}${p.risk ? ` ${p.risk}` : ""}`);
    }
    if (!m.predictions.length) lines.push("- No stored prediction for days still to come.");
  }
  if (rules.length) lines.push("", "💡 RECOMMENDATIONS (each from a finding above):", ...rules.map((r) => `- ${r.text}`));
  lines.push("", `🎯 CONFIDENCE: ${(confidence * 100).toFixed(0)}% — ${confidenceFormula}`);

  let chart = null;
  if ((input.includeVisualization ?? true) && rca) {
    const ranked = rca.all.filter((s) => s.change !== null).slice(0, 12);
    const top = rca.causes[0];
    const spec = rootCauseSpec(
      top?.label ?? null,
      "failure rate",
      rca.topTimeline.map((r) => ({ day: r.day, rate: num(r.rate), inWindow: !!r.in_window })),
      top?.changedOn ? { before: top.changedOn.rateBefore, after: top.changedOn.rateAfter, day: top.changedOn.day } : null,
      ranked.map((s) => ({
        label: s.label, change: s.change!.estimate, low: s.change!.low, high: s.change!.high,
        status: s.causeRank !== null ? `cause ${s.causeRank}` : s.qValue !== null && s.qValue < 0.05 ? "q < 0.05" : "not significant",
      })),
    );
    chart = { spec, rendered: chartContent(spec, "chart://analyze_failure_patterns/patterns.svg"), caption: "the top cause's daily failure rate and the segments ranked with 95% CIs." };
  }
  const keyFindings = [
    ...sigTemporal.slice(0, 3).map((t) => `${t.label}: failures ${ratioText(t.ratio!)} the other ${t.kind === "weekday" ? "days" : "hours"}.`),
    ...causal.filter((c) => c.inModel && c.rateRatio).map((c) => `${driverText(c.feature, c.lag, c.threshold)}: ${ratioText(c.rateRatio!)}.`),
    ...(rca?.causes ?? []).map((c) => `Cohort ${c.label}: ${c.change ? ratioText(c.change) : ""} now against the baseline.`),
  ];
  const summary = `${riskFactors.length} risk factor${riskFactors.length === 1 ? "" : "s"} found; confidence ${(confidence * 100).toFixed(0)}%` +
    `${riskFactors[0] ? `; strongest: ${riskFactors[0].factor}` : ""}.`;
  return await writeAnswer({
    lines,
    chart,
    notes,
    structured: {
      analysisDepth: depth,
      patterns: { temporal, causal, predictive },
      rootCause: headline && rca
        ? { window: headline.window, windowRate: headline.windowRate, baselineRate: headline.baselineRate,
            causes: rca.causes.map((c) => ({ label: c.label, change: c.change, excessShare: c.excessShare, qValue: c.qValue })) }
        : null,
      riskFactors,
      recommendationRules: rules,
      confidence,
      confidenceFormula,
      summary,
      keyFindings,
      recommendations: rules.map((r) => r.text),
    },
  });
}

export const analyzeFailurePatterns: Tool<typeof inputSchema, typeof outputSchema> = { definition, handler };
