/**
 * MCP tool `build_predictive_model`: fits the predictive model of a daily outcome in Postgres and
 * answers like the seed's "PREDICTIVE MODEL GENERATED": candidates (the baselines, a threshold GLM,
 * boosted stumps) cross-validated in time order, the one chosen by the one-standard-error rule, its
 * effects with intervals, the next days with simulated intervals and risk levels, a what-if, and
 * a chart. Every number comes from SQL (analytics.build_predictive_model and analytics.what_if,
 * sql/74_predictive.sql and sql/75_predictions.sql; modelType time_series routes to
 * analytics.forecast_feature); source scheduled reads what the nightly job stored
 * (aoma.predictive_models, analytics.prediction_ledger, analytics.prediction_scores). One read-only
 * transaction as the caller: the tool never writes — registering a model is service_role's
 * (analytics.register_predictive_model, run nightly by the forecast job).
 */
import { z } from "zod";
import { chartContent } from "../charts/content.ts";
import { type ImportanceBar, predictiveSpec } from "../charts/predictive.ts";
import { withCaller } from "../db/caller.ts";
import { withSavepoint } from "../db/savepoint.ts";
import type { Executor } from "../db/types.ts";
import { AppError } from "../errors.ts";
import {
  type Candidate,
  type ModelTerm,
  type PredictionDay,
  type PredictiveReport,
  termPhrase,
  writePredictiveInsights,
} from "../insights/predictive.ts";
import { featureLabel } from "../insights/wording.ts";
import { partFailureNote } from "../mcp/tool_error.ts";
import { ANSWER_FIELDS, writeAnswer } from "./answer.ts";
import { checkRangeHasData, isoDate, text, toolArguments, utcDay } from "./args.ts";
import type { Tool, ToolContext, ToolDefinition, ToolResult } from "./types.ts";

// ───────────────────────────── definition (data only) ─────────────────────────────

const windowError = "timeWindow must be a whole number of days from 20 to 1500";
const horizonError = "predictionHorizon must be a whole number of days from 1 to 30";
const conditionError = "each whatIf condition must be a number or true/false";

const inputSchema = toolArguments({
  targetVariable: text("targetVariable", { max: 63, noun: "a daily outcome name (text)" }).optional()
    .describe("Outcome to model: a daily outcome of analytics.feature_catalog (kind outcome) — processing_failure_rate (default: failed attempts " +
      "per attempt), a count such as failure_count, a yes/no day such as critical_failure_flag, or a continuous metric — or " +
      "processing_attempt_failure: will a processing attempt fail (one row per attempt with its asset type, migration state, upload age and the day's drivers)."),
  predictorVariables: z.array(text("each predictor", { max: 63, noun: "a feature name (text)" }), { error: "predictorVariables must be a list of feature names" })
    .min(1, { error: "predictorVariables must list at least one name (leave it out for every driver and calendar feature)" })
    .max(40, { error: "predictorVariables must list at most 40 names" })
    .optional()
    .describe("Candidate drivers (daily driver or calendar features); default every one that does not count the target's own records."),
  timeWindow: z.int({ error: windowError }).min(20, { error: windowError }).max(1500, { error: windowError }).optional()
    .describe("Days to look back from the window's end (default: all the data)."),
  windowEnd: isoDate("windowEnd").optional()
    .describe("Last day of the training window (ISO date; default the last day with data); the predictions start the day after."),
  predictionHorizon: z.int({ error: horizonError }).min(1, { error: horizonError }).max(30, { error: horizonError }).optional()
    .describe("Days to predict after the window (default 7)."),
  modelType: z.enum(["auto", "regression", "classification", "time_series", "boosted"], {
    error: "modelType must be one of auto, regression, classification, time_series, boosted",
  }).optional()
    .describe("auto (default): the candidate the time-ordered cross-validation picks (one-SE rule); regression: the GLM for a count, " +
      "rate or continuous target; classification: the logistic GLM of a yes/no day or of processing_attempt_failure; boosted: gradient-boosted stumps; " +
      "time_series: the target's own forecast (ETS or seasonal naive, analytics.forecast_feature)."),
  maxLag: z.int({ error: "maxLag must be a whole number of days from 0 to 7" }).min(0, { error: "maxLag must be a whole number of days from 0 to 7" })
    .max(7, { error: "maxLag must be a whole number of days from 0 to 7" }).optional()
    .describe("Drivers are tried at lags 0..maxLag days (default 1: the same and the previous day)."),
  whatIf: z.record(
    text("each whatIf name", { max: 80, noun: "a feature or term name" }),
    z.union([z.number({ error: conditionError }), z.boolean({ error: conditionError })], { error: conditionError }),
    { error: "whatIf must be an object of feature names and values, e.g. {\"asset_volume\": 1300, \"is_monday\": 1}" },
  ).optional()
    .describe("Score conditions with the fitted GLM: {\"asset_volume\": 1300, \"is_monday\": 1} — a feature's value applies at every lag the " +
      "model uses; terms not given are set to their share of days in the window."),
  source: z.enum(["computed", "scheduled"], { error: "source must be one of computed, scheduled" }).optional()
    .describe("computed (default): fit now; scheduled: the model and predictions the nightly job stored last, with their track record."),
  includeChart: z.boolean({ error: "includeChart must be true or false" }).optional()
    .describe("Attach the chart of the predictions and the feature importance (SVG and PNG); default true."),
}).superRefine((a, ctx) => {
  if (a.source === "scheduled") {
    const own = (["predictorVariables", "timeWindow", "windowEnd", "predictionHorizon", "modelType", "maxLag"] as const).filter((k) => a[k] !== undefined);
    if (own.length) {
      ctx.addIssue({ code: "custom", path: [own[0]], message: `${own.join(", ")} ${own.length > 1 ? "apply" : "applies"} to computed models only; a scheduled model has the job's own` });
    }
  }
  if (a.whatIf && Object.keys(a.whatIf).length > 40) ctx.addIssue({ code: "custom", path: ["whatIf"], message: "whatIf must name at most 40 conditions" });
});

const num = z.number();
const nnum = z.number().nullable();

const predictionSchema = z.object({
  date: z.string(),
  weekday: z.string(),
  prediction: num.describe("expected value: failure probability per attempt (rate), probability (yes/no day), count or value"),
  low95: num, high95: num, low80: num, high80: num,
  risk: z.enum(["LOW", "MEDIUM", "HIGH"]),
  ratioToMean: nnum,
  drivers: z.array(z.object({
    term: z.string(), feature: z.string(), lag: z.number().int(), valueDay: z.string(), known: z.boolean(),
    value: nnum, forecastSd: nnum, pHigh: nnum.describe("probability the step is on (1/0 when the value is known)"),
  })),
  groups: z.array(z.object({
    group: z.string(), share: num.describe("its share of the last 28 days' attempts"), prediction: num, low95: num, high95: num,
    risk: z.enum(["LOW", "MEDIUM", "HIGH"]),
  })).optional().describe("processing_attempt_failure: each group of uploads (asset type / migration state × upload age) with its failure probability that day, riskiest first"),
});

const termSchema = z.object({
  term: z.string(), feature: z.string(), lag: z.number().int(), form: z.string().describe("step | linear | level (an upload segment) | excess (its segment's recent excess) | flag (its segment failing significantly above the rest)"),
  threshold: nnum, level: z.string().nullable().describe("form level: the asset type, migration state or upload-age cohort"), binary: z.boolean(),
  estimate: num, stdError: nnum, pValue: nnum, ciLow: nnum, ciHigh: nnum,
  ratio: nnum.describe("exp(estimate): rate ratio (counts, rates) or odds ratio (yes/no days)"), ratioLow: nnum, ratioHigh: nnum,
  shareHigh: nnum, importance: num.describe("|estimate| × sd of the term over the window"), direction: z.enum(["raises", "lowers"]),
});

const outputSchema = z.object({
  target: z.object({ name: z.string(), kind: z.string().describe("rate | count | binary | continuous | attempt"), family: z.string(), unit: z.string(), description: z.string() }),
  window: z.object({ from: z.string(), to: z.string(), days: z.number().int() }),
  modelType: z.string(),
  model: z.object({
    type: z.string().describe("glm | boosted | mean | seasonal_naive | time_series"),
    description: z.string(),
    accuracy: num.describe("out of sample: see accuracyMeasure"),
    accuracyMeasure: z.string(),
    accuracyBaseline: num,
    features: z.array(z.object({ name: z.string(), importance: num, direction: z.string(), ratio: nnum, ciLow: nnum, ciHigh: nnum, pValue: nnum })),
    predictions: z.array(predictionSchema),
  }),
  candidates: z.array(z.object({
    name: z.string(), lossMean: num, lossSe: nnum, foldLosses: z.array(num), metrics: z.record(z.string(), z.unknown()),
    vsBest: z.object({ mean: num, se: num }).nullable()
      .describe("its fold losses minus the best candidate's on the same folds: mean and standard error (the paired one-SE rule)"),
  })),
  chosen: z.string(),
  best: z.string(),
  baseline: z.string(),
  beatsBaseline: z.boolean(),
  rule: z.string(),
  loss: z.string(),
  folds: z.array(z.object({ fold: z.number().int(), trainDays: z.number().int(), testFrom: z.string(), testTo: z.string() })),
  glm: z.object({
    terms: z.array(termSchema), intercept: nnum, n: z.number().int().nullable(), scale: nnum, cond: nnum, note: z.string().nullable(),
    excludedSegments: z.array(z.object({ segment: z.string(), days: z.number().int(), failures: num, dispersion: num, z: num }))
      .describe("asset segments (asset type / migration state) left out of the failure-rate fit: their failures do not follow the common drivers"),
  }).nullable(),
  meanValue: num,
  riskCutoffs: z.object({ high: num, medium: num, text: z.string() }),
  predictionMethod: z.string(),
  whatIf: z.object({
    prediction: num, ciLow: nnum, ciHigh: nnum, level: num,
    terms: z.array(z.object({ term: z.string(), value: num, source: z.string() })),
  }).nullable(),
  registry: z.object({ modelId: z.string().nullable(), note: z.string() }),
  source: z.enum(["computed", "scheduled"]),
  trackRecord: z.object({
    daysScored: z.number().int(), meanPredicted: nnum, meanObserved: nnum, brier: nnum, brierBaseline: nnum, shareInside95: nnum,
  }).nullable().describe("source scheduled: how the stored predictions of this target have done"),
  insights: z.array(z.string()),
  visualizations: z.array(z.object({ type: z.string(), title: z.string(), uri: z.string() })),
  ...ANSWER_FIELDS,
});

/** The data-only definition of build_predictive_model. */
export const definition: ToolDefinition<typeof inputSchema, typeof outputSchema> = {
  name: "build_predictive_model",
  title: "Build predictive model",
  description: "Builds the predictive model of a daily AOMA outcome (default: the processing failure rate) in Postgres on the real data: " +
    "the baselines (the mean, the same weekday last week), a GLM of learned thresholds (\"asset volume ≥ 1,194 the day before\", Mondays, " +
    "busy commit days; quasi-Poisson rate ratios or logistic odds ratios with 95% CIs) and gradient-boosted stumps, cross-validated in " +
    "time order; the simplest within one standard error of the best (of the fold-by-fold difference) wins and a model that does not beat the baseline is said to. " +
    "Returns accuracy next to the baseline, calibration, feature importance with direction, the next days' failure probability with " +
    "simulated 80%/95% intervals and LOW/MEDIUM/HIGH risk, an optional what-if, and a chart. source scheduled reads the nightly job's stored model.",
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: true, openWorldHint: false, destructiveHint: false, idempotentHint: true },
  maxArgumentBytes: 16 * 1024,
  narrowing: "shorten timeWindow, name fewer predictorVariables or lower maxLag",
};

export type BuildPredictiveModelInput = z.output<typeof inputSchema>;
type Output = z.input<typeof outputSchema>;

// ───────────────────────────── SQL ─────────────────────────────

const BUILD_SQL = `select analytics.build_predictive_model($1::text, (select array(select jsonb_array_elements_text($2::text::jsonb)) where $2::text is not null),
  $3::date, $4::date, $5::int, $6::text, $7::int) as m`;
/** The target's kind (rate, count, binary, continuous); an unknown name raises the sentence listing the targets. */
const TARGET_SQL = `select (select kind from aoma_private.model_target($1)) as kind`;
const WHAT_IF_SQL = `select analytics.what_if($1::text::jsonb, $2::text::jsonb) as w`;
const SPAN_SQL = `select to_char(max(day), 'YYYY-MM-DD') as last_day from analytics.features_daily`;
const CATALOG_SQL = `select description from analytics.feature_catalog where grain = 'day' and name = $1`;
const VOLUME_SQL = `select sum(processing_attempts)::float8 as attempts, sum(processing_failures)::float8 as failures
  from analytics.features_daily where day between $1::date and $2::date`;
const STORED_SQL = `select model_id::text, model_type, evaluation, fit, features, train_from, train_to, created_at
  from aoma.predictive_models where target = $1 and relation = 'analytics.features_daily' and evaluation ? 'candidates'
  order by created_at desc, model_id limit 1`;
const LEDGER_SQL = `select to_char(l.predicted_date, 'YYYY-MM-DD') as day, l.predicted, l.low95, l.high95, l.risk, fp.confidence_interval
  from analytics.prediction_ledger l join aoma.failure_predictions fp on fp.prediction_id = l.prediction_id
  where l.model_id = $1::uuid order by l.predicted_date`;
const SCORES_SQL = `select days_scored, mean_predicted, mean_observed, brier, brier_baseline, share_inside95
  from analytics.prediction_scores where target = $1 and model_type = $2`;
const FORECAST_SQL = `select to_char(period, 'YYYY-MM-DD') as day, point, interval_levels, lower, upper, method_used, backtest_mase, baseline_mase
  from analytics.forecast_feature(array[$1::text], 'day', $2::int, array[80, 95]::float8[], 'auto') order by step`;

type Json = Record<string, unknown>;
const ATTEMPT_DESCRIPTION = "Will a processing attempt fail: one row per attempt (aoma.processing_attempts) with its asset type, migration state, " +
  "upload age and the day's drivers";
const n = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

// ───────────────────────────── from SQL's jsonb to the answer ─────────────────────────────

function toTerm(t: Json): ModelTerm {
  return {
    term: String(t.term), feature: String(t.feature), lag: Number(t.lag), form: String(t.form), threshold: n(t.threshold),
    level: typeof t.level === "string" ? t.level : null, binary: t.binary === true, estimate: Number(t.estimate), stdError: n(t.std_error), pValue: n(t.p_value), ciLow: n(t.ci_low),
    ciHigh: n(t.ci_high), ratio: n(t.ratio), ratioLow: n(t.ratio_low), ratioHigh: n(t.ratio_high), shareHigh: n(t.share_high),
    importance: Number(t.importance ?? 0), direction: Number(t.direction) < 0 ? "lowers" : "raises",
  };
}

function toPrediction(d: Json): PredictionDay {
  return {
    date: String(d.day), weekday: String(d.weekday), prediction: Number(d.prediction), low95: Number(d.low95), high95: Number(d.high95),
    low80: Number(d.low80), high80: Number(d.high80), risk: d.risk as PredictionDay["risk"], ratioToMean: n(d.ratio_to_mean),
    drivers: ((d.drivers ?? []) as Json[]).map((x) => ({
      term: String(x.term), feature: String(x.feature), lag: Number(x.lag), valueDay: String(x.value_day), known: x.known === true,
      value: n(x.value), forecastSd: n(x.forecast_sd), pHigh: n(x.p_high),
    })),
    ...(Array.isArray(d.groups)
      ? {
        groups: (d.groups as Json[]).map((g) => ({
          group: String(g.group), share: Number(g.share), prediction: Number(g.prediction), low95: Number(g.low95), high95: Number(g.high95),
          risk: g.risk as PredictionDay["risk"],
        })),
      }
      : {}),
  };
}

function toCandidate(c: Json): Candidate {
  return {
    name: String(c.name), lossMean: Number(c.loss_mean), lossSe: n(c.loss_se),
    foldLosses: ((c.fold_losses ?? []) as unknown[]).map(Number), metrics: (c.metrics ?? {}) as Record<string, unknown>,
    vsBest: c.vs_best ? { mean: Number((c.vs_best as Json).mean), se: Number((c.vs_best as Json).se) } : null,
  };
}

/** The chosen candidate's out-of-sample accuracy as SQL computed it (analytics.build_predictive_model's `accuracy`). */
function accuracyOf(a: Json | undefined): { value: number; measure: string; baseline: number } {
  return { value: Number(a?.value ?? 0), measure: String(a?.measure ?? ""), baseline: Number(a?.baseline ?? 0) };
}

function importanceBars(report: PredictiveReport): ImportanceBar[] {
  if (report.chosen === "boosted" && report.boostedImportance) {
    return report.boostedImportance.slice(0, 10).map((b) => ({
      term: b.feature, importance: b.importance, direction: (b.direction ?? 1) < 0 ? "lowers" : "raises", label: "",
    }));
  }
  return report.terms.map((t) => ({
    term: termPhrase(t), importance: t.importance, direction: t.direction,
    label: t.ratio !== null ? `×${t.ratio.toFixed(2)}` : `${t.estimate >= 0 ? "+" : ""}${t.estimate.toPrecision(3)}`,
  }));
}

// ───────────────────────────── handler ─────────────────────────────

const CHART_URI = "chart://build_predictive_model/predictions.svg";

interface Built {
  report: PredictiveReport;
  extra: Pick<Output, "modelType" | "folds" | "best" | "rule" | "glm" | "riskCutoffs" | "predictionMethod" | "registry" | "trackRecord">;
  modelTypeName: string;
}

/** The window's days as (from, to): `timeWindow` days back from `windowEnd` (default the last day with data). */
async function window(tx: Executor, input: BuildPredictiveModelInput): Promise<{ from: string | null; to: string | null }> {
  const to = input.windowEnd ? utcDay(input.windowEnd) : null;
  let end = to;
  if (input.timeWindow !== undefined && end === null) {
    const [s] = await tx.query<{ last_day: string | null }>(SPAN_SQL);
    end = s?.last_day ?? null;
  }
  const from = input.timeWindow !== undefined && end !== null
    ? new Date(Date.parse(`${end}T00:00:00Z`) - (input.timeWindow - 1) * 86_400_000).toISOString().slice(0, 10)
    : null;
  await checkRangeHasData(tx, definition.name, "timeWindow/windowEnd", from, to);
  return { from, to };
}

/** The SQL model type of a requested one, checked against the target's kind. */
function sqlModelType(requested: string, kind: string, target: string): string {
  if (kind === "attempt" && (requested === "regression" || requested === "time_series")) {
    throw new AppError(400, `Cannot run build_predictive_model: ${target} is a yes/no outcome per attempt; use modelType classification or auto (${requested} applies to daily targets).`);
  }
  if (requested === "classification" && kind !== "binary" && kind !== "attempt") {
    throw new AppError(400, `Cannot run build_predictive_model: modelType classification needs a yes/no daily target such as critical_failure_flag or failure_flag; ${target} is a ${kind} (use regression or auto).`);
  }
  if (requested === "regression" && kind === "binary") {
    throw new AppError(400, `Cannot run build_predictive_model: ${target} is a yes/no day; use modelType classification or auto.`);
  }
  return requested === "regression" || requested === "classification" ? "glm" : requested;
}

async function compute(input: BuildPredictiveModelInput, notes: string[], ctx: ToolContext): Promise<Built> {
  const target = input.targetVariable ?? "processing_failure_rate";
  return await withCaller(ctx.db, ctx.caller, async (tx) => {
    const { from, to } = await window(tx, input);
    const requested = input.modelType ?? "auto";
    // the target's kind decides which model types apply (SQL checks the name itself)
    const [kindRow] = await tx.query<{ kind: string | null }>(TARGET_SQL, [target]);
    const kind = kindRow?.kind ?? "count";
    const sqlType = sqlModelType(requested, kind, target);
    if (requested === "time_series") return await timeSeries(tx, input, target, from, to, notes);
    const [row] = await tx.query<{ m: Json }>(BUILD_SQL, [
      target, input.predictorVariables ? JSON.stringify(input.predictorVariables) : null, from, to,
      input.predictionHorizon ?? 7, sqlType, input.maxLag ?? 1,
    ]);
    const m = row.m;
    const [cat] = await tx.query<{ description: string }>(CATALOG_SQL, [target]);
    const win = m.window as { from: string; to: string };
    const [vol] = kind === "rate" || kind === "attempt" ? await tx.query<{ attempts: number; failures: number }>(VOLUME_SQL, [win.from, win.to]) : [];
    const glm = (m.model as Json).glm as Json | undefined;
    let whatIf: PredictiveReport["whatIf"] = null;
    if (input.whatIf && kind === "attempt") {
      notes.push("whatIf scores the daily models; the per-attempt model answers per group of uploads in model.predictions[].groups instead.");
    } else if (input.whatIf) {
      if (!glm || !((glm.terms as Json[]) ?? []).length) {
        notes.push("whatIf: there is no fitted GLM on this window to score (no threshold passed the selection), so no what-if.");
      } else {
        try {
          const [w] = await withSavepoint(tx, (sp) => sp.query<{ w: Json }>(WHAT_IF_SQL, [JSON.stringify({ fit: glm.fit, spec: glm.spec, terms: glm.terms }), JSON.stringify(input.whatIf)]));
          whatIf = {
            prediction: Number(w.w.prediction), ciLow: n(w.w.ci_low), ciHigh: n(w.w.ci_high),
            terms: (w.w.terms as Json[]).map((t) => ({ term: String(t.term), value: Number(t.value), source: String(t.source) })),
          };
        } catch (e) {
          notes.push(partFailureNote("whatIf", e, ctx.signal));
        }
      }
    }
    for (const x of (m.notes as string[]) ?? []) notes.push(x);
    const candidates = ((m.candidates as Json[]) ?? []).map(toCandidate);
    const chosen = String(m.chosen), baseline = String(m.baseline);
    const terms = glm ? ((glm.terms as Json[]) ?? []).map(toTerm) : [];
    const boosted = (m.model as Json).boosted as Json | undefined;
    const report: PredictiveReport = {
      target: { name: target, kind: String(m.kind), family: String(m.family), unit: String(m.unit), description: cat?.description ?? (kind === "attempt" ? ATTEMPT_DESCRIPTION : "") },
      window: { from: win.from, to: win.to, days: Number(m.n_days) },
      folds: ((m.folds as Json[]) ?? []).length,
      candidates, chosen, baseline, beatsBaseline: m.beats_baseline === true, loss: String(m.loss), meanValue: Number(m.mean_value),
      accuracy: accuracyOf(m.accuracy as Json),
      terms,
      boostedImportance: boosted
        ? ((boosted.importance as Json[]) ?? []).map((b) => ({ feature: String(b.feature), importance: Number(b.importance), direction: n(b.direction) }))
        : null,
      predictions: ((m.predictions as Json[]) ?? []).map(toPrediction),
      riskText: String((m.risk_cutoffs as Json).text),
      glmNote: glm && typeof glm.note === "string" ? glm.note : null,
      excludedSegments: ((glm?.excluded_segments ?? []) as Json[]).map((x) => ({
        segment: String(x.level), days: Number(x.days), failures: Number(x.failures), dispersion: Number(x.dispersion), z: Number(x.z),
      })),
      excludedMix: glm?.excluded_mix ? { share: Number((glm.excluded_mix as Json).share), rate: Number((glm.excluded_mix as Json).rate) } : null,
      volume: { attempts: n(vol?.attempts), failures: n(vol?.failures) },
      whatIf,
    };
    return {
      report,
      modelTypeName: requested,
      extra: {
        modelType: requested,
        folds: ((m.folds as Json[]) ?? []).map((f) => ({ fold: Number(f.fold), trainDays: Number(f.train_days), testFrom: String(f.test_from), testTo: String(f.test_to) })),
        best: String(m.best),
        rule: String(m.rule),
        glm: glm
          ? {
            terms, intercept: n(glm.intercept), n: n(glm.n), scale: n(glm.scale), cond: n(glm.cond), note: typeof glm.note === "string" ? glm.note : null,
            excludedSegments: report.excludedSegments,
          }
          : null,
        riskCutoffs: { high: Number((m.risk_cutoffs as Json).high), medium: Number((m.risk_cutoffs as Json).medium), text: String((m.risk_cutoffs as Json).text) },
        predictionMethod: String((m.prediction_method as Json).text),
        registry: {
          modelId: null,
          note: "not stored: this tool only reads. Registering a model writes aoma.predictive_models and is allowed to service_role only " +
            "(analytics.register_predictive_model); the nightly forecast job registers the failure-rate model and stores its predictions " +
            "every night — ask with source scheduled for them.",
        },
        trackRecord: null,
      },
    };
  }, { signal: ctx.signal, statementTimeoutMs: ctx.deadlineMs });
}

/** modelType time_series: the target's own forecast (analytics.forecast_feature), with its backtest next to seasonal naive. */
async function timeSeries(tx: Executor, input: BuildPredictiveModelInput, target: string, from: string | null, to: string | null, notes: string[]): Promise<Built> {
  if (from !== null || to !== null) notes.push("time_series forecasts from the last 730 days of data up to the last day; timeWindow and windowEnd do not apply to it.");
  const h = input.predictionHorizon ?? 7;
  const rows = await tx.query<{ day: string; point: number; interval_levels: number[]; lower: number[]; upper: number[]; method_used: string; backtest_mase: number | null; baseline_mase: number | null }>(
    FORECAST_SQL,
    [target, h],
  );
  const [info] = await tx.query<{ kind: string; family: string; unit: string; description: string; mean: number; days: number; first: string; last: string }>(
    `select t.kind, t.family, t.unit, c.description, avg(v.y) as mean, count(v.y)::int as days, min(v.o)::text as first, max(v.o)::text as last
     from aoma_private.model_target($1) t join analytics.feature_catalog c on c.name = $1 and c.grain = 'day'
     cross join lateral (select d.day as o, (to_jsonb(d) ->> $1)::float8 as y from analytics.features_daily d
                         where d.day > (select max(day) from analytics.features_daily) - 730) v
     group by t.kind, t.family, t.unit, c.description`,
    [target],
  );
  const mean = Number(info.mean);
  const at = (r: typeof rows[number], level: number, side: "lower" | "upper") => Number(r[side][r.interval_levels.map(Number).indexOf(level)]);
  const predictions: PredictionDay[] = rows.map((r) => {
    const p = Number(r.point);
    return {
      date: r.day, weekday: WEEKDAYS[new Date(`${r.day}T00:00:00Z`).getUTCDay()], prediction: p,
      low95: at(r, 95, "lower"), high95: at(r, 95, "upper"), low80: at(r, 80, "lower"), high80: at(r, 80, "upper"),
      risk: p >= 1.5 * mean ? "HIGH" : p >= mean ? "MEDIUM" : "LOW", ratioToMean: mean ? p / mean : null, drivers: [],
    };
  });
  const mase = n(rows[0]?.backtest_mase), bmase = n(rows[0]?.baseline_mase);
  const beats = mase !== null && bmase !== null && mase < bmase;
  const method = rows[0]?.method_used ?? "seasonal_naive";
  const candidates: Candidate[] = [
    { name: "seasonal_naive", lossMean: bmase ?? 0, lossSe: null, foldLosses: [], metrics: { mase: bmase }, vsBest: null },
    ...(method === "seasonal_naive" ? [] : [{ name: "time_series", lossMean: mase ?? 0, lossSe: null, foldLosses: [], metrics: { mase }, vsBest: null }]),
  ];
  const report: PredictiveReport = {
    target: { name: target, kind: info.kind, family: info.family, unit: info.unit, description: info.description },
    window: { from: info.first, to: info.last, days: Number(info.days) },
    folds: 0, candidates, chosen: method === "seasonal_naive" ? "seasonal_naive" : "time_series", baseline: "seasonal_naive",
    beatsBaseline: beats, loss: "backtest MASE", meanValue: mean,
    accuracy: { value: beats && mase !== null && bmase ? 1 - mase / bmase : 0, measure: "of the seasonal-naive backtest error removed (MASE)", baseline: 0 },
    terms: [], boostedImportance: null, predictions,
    riskText: "HIGH ≥ 1.5 × the mean of the last 730 days, MEDIUM from 1 × to 1.5 ×, LOW below the mean",
    glmNote: `time_series: ${method} forecast of the target itself (no drivers)`, excludedSegments: [], excludedMix: null, volume: { attempts: null, failures: null }, whatIf: null,
  };
  if (input.whatIf) notes.push("whatIf needs a model with drivers; a time_series forecast has none.");
  return {
    report,
    modelTypeName: "time_series",
    extra: {
      modelType: "time_series", folds: [], best: report.chosen, rule: "rolling-origin backtest of analytics.forecast_feature: the method with the lower MASE (seasonal naive unless a model beats it)",
      glm: null, riskCutoffs: { high: 1.5 * mean, medium: mean, text: report.riskText },
      predictionMethod: "analytics.forecast_feature: conformal intervals from the backtest errors of each step",
      registry: { modelId: null, note: "a time_series forecast is not a registry model; the nightly forecast job stores forecasts (generate_forecasts, source scheduled)." },
      trackRecord: null,
    },
  };
}

/** source scheduled: the latest stored model of the target, its predictions and their track record. */
async function readStored(input: BuildPredictiveModelInput, notes: string[], ctx: ToolContext): Promise<Built> {
  const target = input.targetVariable ?? "processing_failure_rate";
  return await withCaller(ctx.db, ctx.caller, async (tx) => {
    // the name first: an unknown target is refused with the list of targets, never echoed
    await tx.query(TARGET_SQL, [target]);
    const [m] = await tx.query<{ model_id: string; model_type: string; evaluation: Json; fit: Json | null; features: Json[]; train_from: string; train_to: string }>(STORED_SQL, [target]);
    if (!m) {
      throw new AppError(400, `Cannot run build_predictive_model: no stored model of ${target} yet — the nightly forecast job registers one on its live runs (or run analytics.run_prediction_job() as service_role); ask with source computed.`);
    }
    const ev = m.evaluation;
    const ledger = await tx.query<{ day: string; predicted: number; low95: number; high95: number; risk: string; confidence_interval: Json }>(LEDGER_SQL, [m.model_id]);
    const [score] = await tx.query<{ days_scored: number; mean_predicted: number; mean_observed: number; brier: number; brier_baseline: number; share_inside95: number }>(
      SCORES_SQL,
      [target, m.model_type],
    );
    const [cat] = await tx.query<{ description: string }>(CATALOG_SQL, [target]);
    const candidates = ((ev.candidates as Json[]) ?? []).map(toCandidate);
    const terms = m.model_type === "glm" ? (m.features ?? []).map(toTerm) : [];
    const report: PredictiveReport = {
      target: { name: target, kind: String(ev.kind), family: String(ev.family), unit: String(ev.unit), description: cat?.description ?? "" },
      window: { from: m.train_from, to: m.train_to, days: Number(ev.n_days) },
      folds: ((ev.folds as Json[]) ?? []).length, candidates, chosen: String(ev.chosen), baseline: String(ev.baseline),
      beatsBaseline: ev.beats_baseline === true, loss: String(ev.loss), meanValue: Number(ev.mean_value),
      accuracy: accuracyOf(ev.accuracy as Json),
      terms, boostedImportance: null,
      predictions: ledger.map((l) => toPrediction({
        day: l.day, weekday: WEEKDAYS[new Date(`${l.day}T00:00:00Z`).getUTCDay()], prediction: l.predicted, low95: l.low95, high95: l.high95,
        low80: l.confidence_interval.low80, high80: l.confidence_interval.high80, risk: l.risk, ratio_to_mean: l.confidence_interval.ratio_to_mean,
      })),
      riskText: String(((ev.risk_cutoffs ?? {}) as Json).text ?? ""), glmNote: null, excludedSegments: [], excludedMix: null, volume: { attempts: null, failures: null }, whatIf: null,
    };
    if (input.whatIf) {
      try {
        const [w] = await withSavepoint(tx, (sp) => sp.query<{ w: Json }>(`select analytics.score_predictive_model($1::uuid, $2::text::jsonb) as w`, [m.model_id, JSON.stringify(input.whatIf)]));
        report.whatIf = {
          prediction: Number(w.w.prediction), ciLow: n(w.w.ci_low), ciHigh: n(w.w.ci_high),
          terms: (w.w.terms as Json[]).map((t) => ({ term: String(t.term), value: Number(t.value), source: String(t.source) })),
        };
      } catch (e) {
        notes.push(partFailureNote("whatIf", e, ctx.signal));
      }
    }
    return {
      report,
      modelTypeName: String(ev.model_type ?? "auto"),
      extra: {
        modelType: String(ev.model_type ?? "auto"), folds: ((ev.folds as Json[]) ?? []).map((f) => ({ fold: Number(f.fold), trainDays: Number(f.train_days), testFrom: String(f.test_from), testTo: String(f.test_to) })),
        best: String(ev.best), rule: String(ev.rule),
        glm: terms.length ? { terms, intercept: n(m.fit?.estimate && (m.fit.estimate as number[])[0]), n: n(m.fit?.n), scale: n(m.fit?.scale), cond: n(m.fit?.cond), note: null, excludedSegments: [] } : null,
        riskCutoffs: { high: Number(((ev.risk_cutoffs ?? {}) as Json).high ?? 0), medium: Number(((ev.risk_cutoffs ?? {}) as Json).medium ?? 0), text: report.riskText },
        predictionMethod: String(((ev.prediction_method ?? {}) as Json).text ?? ""),
        registry: { modelId: m.model_id, note: `stored by the nightly job; model ${m.model_id} in aoma.predictive_models (analytics.model_weights for its coefficients)` },
        trackRecord: score
          ? { daysScored: Number(score.days_scored), meanPredicted: n(score.mean_predicted), meanObserved: n(score.mean_observed), brier: n(score.brier), brierBaseline: n(score.brier_baseline), shareInside95: n(score.share_inside95) }
          : { daysScored: 0, meanPredicted: null, meanObserved: null, brier: null, brierBaseline: null, shareInside95: null },
      },
    };
  }, { signal: ctx.signal, statementTimeoutMs: ctx.deadlineMs });
}

/**
 * Builds (or reads) the predictive model of `input.targetVariable` as `ctx.caller`.
 *
 * @example
 * const r = await handler({}, { db, caller: { role: "authenticated", claims: {} } });
 * r.structuredContent.model.predictions[0].risk; // "LOW" | "MEDIUM" | "HIGH"
 */
export async function handler(input: BuildPredictiveModelInput, ctx: ToolContext): Promise<ToolResult<typeof outputSchema>> {
  const notes: string[] = [];
  const source = input.source ?? "computed";
  const built = source === "scheduled" ? await readStored(input, notes, ctx) : await compute(input, notes, ctx);
  const r = built.report;
  const insights = writePredictiveInsights(r);
  const { kind } = r.target;
  const valueTitle = kind === "rate" ? "failure probability per attempt" : kind === "binary" ? "probability" : featureLabel(r.target.name);
  let chart = null;
  if ((input.includeChart ?? true) && r.predictions.length) {
    const spec = predictiveSpec(
      `${featureLabel(r.target.name)}: next ${r.predictions.length} days (${r.chosen})`,
      valueTitle,
      r.meanValue,
      r.predictions.map((d) => ({ date: d.date, weekday: d.weekday, prediction: d.prediction, low95: d.low95, high95: d.high95, low80: d.low80, high80: d.high80, risk: d.risk })),
      importanceBars(r),
      r.chosen === "boosted" ? "permutation importance (boosted stumps)" : "importance |β|·sd with direction (label: ratio)",
    );
    chart = {
      spec,
      rendered: chartContent(spec, CHART_URI),
      caption: `the next ${r.predictions.length} days' ${valueTitle} with 80%/95% intervals and risk colours, and the model's feature importance with direction.`,
    };
  }
  const features = r.chosen === "boosted" && r.boostedImportance
    ? r.boostedImportance.map((b) => ({ name: b.feature, importance: b.importance, direction: (b.direction ?? 1) < 0 ? "lowers" : "raises", ratio: null, ciLow: null, ciHigh: null, pValue: null }))
    : (r.chosen === "glm" ? r.terms : []).map((t) => ({ name: t.term, importance: t.importance, direction: t.direction, ratio: t.ratio, ciLow: t.ratioLow ?? t.ciLow, ciHigh: t.ratioHigh ?? t.ciHigh, pValue: t.pValue }));
  const structured: Omit<Output, "notes" | "chart"> = {
    target: r.target,
    window: r.window,
    modelType: built.extra.modelType,
    model: {
      type: r.chosen,
      description: insights.lines.find((l) => l.startsWith("- Model Type:"))?.slice(14) ?? r.chosen,
      accuracy: r.accuracy.value,
      accuracyMeasure: r.accuracy.measure,
      accuracyBaseline: r.accuracy.baseline,
      features,
      predictions: r.predictions,
    },
    candidates: r.candidates,
    chosen: r.chosen,
    best: built.extra.best,
    baseline: r.baseline,
    beatsBaseline: r.beatsBaseline,
    rule: built.extra.rule,
    loss: r.loss,
    folds: built.extra.folds,
    glm: built.extra.glm,
    meanValue: r.meanValue,
    riskCutoffs: built.extra.riskCutoffs,
    predictionMethod: built.extra.predictionMethod,
    whatIf: r.whatIf ? { ...r.whatIf, level: 95 } : null,
    registry: built.extra.registry,
    source,
    trackRecord: built.extra.trackRecord,
    insights: insights.keyFindings,
    visualizations: chart ? [{ type: "vega-lite", title: `${valueTitle}: next days and feature importance`, uri: CHART_URI }] : [],
    summary: insights.summary,
    keyFindings: insights.keyFindings,
    recommendations: insights.recommendations,
  };
  return await writeAnswer({ lines: insights.lines, chart, notes, structured });
}

export const buildPredictiveModel: Tool<typeof inputSchema, typeof outputSchema> = { definition, handler };
