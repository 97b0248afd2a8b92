/**
 * The executive text of a predictive model — "🔮 PREDICTIVE MODEL GENERATED": what it was fitted on,
 * which candidate won the time-ordered cross-validation and how good it is next to the baseline,
 * the effects with their intervals, the next days with their risk, and what to do — written only
 * from the numbers analytics.build_predictive_model returned. A model that does not beat the
 * baseline is called that, and its predictions are the baseline's.
 */
import { formatValue } from "./forecasts.ts";
import { featureLabel, formatCount, formatP } from "./wording.ts";

/** One term of the fitted model. */
export interface ModelTerm {
  term: string;
  feature: string;
  lag: number;
  form: string;
  threshold: number | null;
  /** The per-attempt model's segment level (form "level"): the attempt's asset type, migration state or upload-age cohort. */
  level: string | null;
  /** Indicator features (calendar, yes/no): the step is the feature itself. */
  binary: boolean;
  estimate: number;
  stdError: number | null;
  pValue: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  /** exp(β): a rate ratio (counts, rates) or an odds ratio (indicators); null for a continuous target. */
  ratio: number | null;
  ratioLow: number | null;
  ratioHigh: number | null;
  /** Share of the window's days at or above the threshold (steps). */
  shareHigh: number | null;
  importance: number;
  direction: "raises" | "lowers";
}

/** One predicted day. */
export interface PredictionDay {
  date: string;
  weekday: string;
  prediction: number;
  low95: number;
  high95: number;
  low80: number;
  high80: number;
  risk: "LOW" | "MEDIUM" | "HIGH";
  ratioToMean: number | null;
  drivers: { term: string; feature: string; lag: number; valueDay: string; known: boolean; value: number | null; forecastSd: number | null; pHigh: number | null }[];
  /** The per-attempt model: each group of uploads (segment × upload-age cohort) with its failure probability that day. */
  groups?: { group: string; share: number; prediction: number; low95: number; high95: number; risk: "LOW" | "MEDIUM" | "HIGH" }[];
}

/** A cross-validated candidate. */
export interface Candidate {
  name: string;
  lossMean: number;
  lossSe: number | null;
  /** Fold losses minus the best candidate's: mean and SE (the paired one-SE rule); null where not cross-validated so. */
  vsBest: { mean: number; se: number } | null;
  foldLosses: number[];
  metrics: Record<string, unknown>;
}

/** What the writer needs. */
export interface PredictiveReport {
  target: { name: string; kind: string; family: string; unit: string; description: string };
  window: { from: string; to: string; days: number };
  folds: number;
  candidates: Candidate[];
  chosen: string;
  baseline: string;
  beatsBaseline: boolean;
  loss: string;
  meanValue: number;
  accuracy: { value: number; measure: string; baseline: number };
  terms: ModelTerm[];
  boostedImportance: { feature: string; importance: number; direction: number | null }[] | null;
  predictions: PredictionDay[];
  riskText: string;
  glmNote: string | null;
  /** Asset segments left out of the failure-rate fit: their failures do not follow the common drivers. */
  excludedSegments: { segment: string; days: number; failures: number; dispersion: number; z: number }[];
  /** Their share of the attempts and own failure rate over the window's last 7 days (how the predictions carry them). */
  excludedMix: { share: number; rate: number } | null;
  /** The data behind the window (attempts, failures), when the target is the failure rate. */
  volume: { attempts: number | null; failures: number | null };
  whatIf: { prediction: number; ciLow: number | null; ciHigh: number | null; terms: { term: string; value: number; source: string }[] } | null;
}

/** The written answer. */
export interface PredictiveInsights {
  summary: string;
  keyFindings: string[];
  recommendations: string[];
  lines: string[];
}

export const CANDIDATE_NAMES: Record<string, string> = {
  mean: "the window's mean (baseline)",
  seasonal_naive: "seasonal naive: the same weekday a week earlier (baseline)",
  glm: "threshold GLM",
  segment_rate: "each upload segment × age cohort at its own rate (baseline)",
  boosted: "boosted stumps (gradient boosting, depth 1)",
};

const FAMILY_NAMES: Record<string, string> = {
  quasipoisson: "quasi-Poisson",
  binomial: "logistic",
  gaussian: "OLS",
};

/** A predicted value as a reader wants it: rates and probabilities as percentages. */
export function predictedValue(v: number, kind: string, unit: string): string {
  if (kind === "rate" || kind === "binary" || kind === "attempt") return `${(v * 100).toFixed(v < 0.1 ? 1 : 0)}%`;
  return formatValue(v, unit);
}

function noun(kind: string): string {
  return kind === "rate" || kind === "attempt" ? "failure probability per attempt" : kind === "binary" ? "probability" : kind === "count" ? "expected count" : "expected value";
}

/** "asset volume ≥ 1,194 on the previous day", "Mondays", "service commits ≥ 16". */
export function termPhrase(t: { feature: string; lag: number; threshold: number | null; binary: boolean; form: string; level?: string | null }): string {
  if (t.form === "level") return `${t.feature === "age" ? "uploaded" : featureLabel(t.feature)} ${t.level ?? ""}${t.feature === "age" ? " before" : ""}`.trim();
  if (t.form === "excess") return "its segment's excess failures over the previous 7 days (per unit of ln-odds)";
  if (t.form === "flag") return "its segment failing significantly above the rest over the previous 7 days";
  const when = t.lag === 0 ? "" : t.lag === 1 ? " on the previous day" : ` ${t.lag} days before`;
  if (t.form !== "step") return `${featureLabel(t.feature)}${when} (per unit)`;
  if (t.binary) return `${featureLabel(t.feature)}${when}`;
  return `${featureLabel(t.feature)} ≥ ${formatCount(t.threshold ?? 0)}${when}`;
}

function effectText(t: ModelTerm, kind: string): string {
  const p = t.pValue === null ? "" : `, ${formatP("p", t.pValue)}`;
  if (t.ratio !== null && t.ratioLow !== null && t.ratioHigh !== null) {
    const what = kind === "binary" || kind === "attempt" ? "odds" : kind === "count" ? "count" : "failure rate";
    const share = t.shareHigh !== null && !t.binary ? ` — ${Math.round(t.shareHigh * 100)}% of days` : "";
    return `${termPhrase(t)}: ${what} ×${t.ratio.toFixed(2)} (95% CI ${t.ratioLow.toFixed(2)}–${t.ratioHigh.toFixed(2)}${p})${share}`;
  }
  const lo = t.ciLow === null ? "" : ` (95% CI ${t.ciLow.toPrecision(3)} to ${(t.ciHigh ?? 0).toPrecision(3)}${p})`;
  return `${termPhrase(t)}: ${t.estimate >= 0 ? "+" : ""}${t.estimate.toPrecision(3)}${lo}`;
}

function dayLabel(d: PredictionDay): string {
  return `${d.weekday} ${d.date.slice(5).replace("-", "/")}`;
}

/** Why the day's risk is what it is: its known and forecast steps that are on. */
function dayReasons(d: PredictionDay, terms: ModelTerm[]): string {
  const raised = terms.filter((t) => t.direction === "raises" && t.form === "step");
  const on = d.drivers.flatMap((x) => {
    const t = raised.find((r) => r.term === x.term);
    if (!t || x.pHigh === null || x.pHigh < 0.5) return [];
    return [x.known ? termPhrase(t) : `${termPhrase(t)} (forecast, ${Math.round(x.pHigh * 100)}% likely)`];
  });
  return on.length ? ` — ${on.join(", ")}` : "";
}

/**
 * Writes the answer.
 *
 * @example
 * const { lines, summary } = writePredictiveInsights(report);
 */
export function writePredictiveInsights(r: PredictiveReport): PredictiveInsights {
  const { kind, unit } = r.target;
  const chosen = r.candidates.find((c) => c.name === r.chosen);
  const base = r.candidates.find((c) => c.name === r.baseline);
  const terms = r.chosen === "glm" ? r.terms : [];
  const modelType = r.chosen === "glm" && kind === "attempt"
    ? `Per-attempt GLM (logistic, ${r.terms.length} terms: the day's threshold steps, the upload's segment, its segment's recent excess and onset)`
    : r.chosen === "glm"
    ? `Threshold GLM (${FAMILY_NAMES[r.target.family] ?? r.target.family}, ${r.terms.length} term${r.terms.length === 1 ? "" : "s"})`
    : r.chosen === "boosted" ? "Boosted stumps (gradient boosting of depth-1 trees)" : `Baseline: ${CANDIDATE_NAMES[r.chosen]}`;
  const acc = `${(r.accuracy.value * 100).toFixed(1)}% ${r.accuracy.measure} (baseline ${(r.accuracy.baseline * 100).toFixed(0)}%)`;
  const lines: string[] = ["🔮 PREDICTIVE MODEL GENERATED", "", "📊 ANALYSIS COMPLETE:"];
  const data = r.volume.attempts !== null
    ? `${r.window.days} days (${r.window.from} to ${r.window.to}), ${formatCount(r.volume.attempts)} processing attempts, ${formatCount(r.volume.failures ?? 0)} failures`
    : `${r.window.days} days (${r.window.from} to ${r.window.to})`;
  lines.push(`- Target: ${featureLabel(r.target.name)} (${r.target.name}) — ${r.target.description}`);
  lines.push(`- Data: ${data}`);
  lines.push(`- Model Type: ${modelType}, chosen by ${r.folds}-fold time-ordered cross-validation over ${r.candidates.map((c) => c.name).join(", ")} (paired one-standard-error rule)`);
  lines.push(`- Accuracy (out of sample): ${acc}`);
  if (chosen && base) {
    lines.push(`- ${r.loss}: ${chosen.lossMean.toPrecision(3)} ± ${(chosen.lossSe ?? 0).toPrecision(2)} (${r.chosen}) vs ${base.lossMean.toPrecision(3)} ± ${(base.lossSe ?? 0).toPrecision(2)} (${r.baseline})`);
  }
  const ece = (chosen?.metrics as { calibration_per_attempt?: { ece?: number }; ece?: number } | undefined);
  const eceValue = ece?.calibration_per_attempt?.ece ?? ece?.ece;
  if (typeof eceValue === "number") lines.push(`- Calibration (cross-validated): expected calibration error ${eceValue.toFixed(3)}`);
  if (!r.beatsBaseline) {
    lines.push(`- No model beats the baseline in cross-validation: the predictions below are the ${r.chosen === "seasonal_naive" ? "seasonal-naive" : "average"} ${noun(kind)}.`);
  }

  const keyFindings: string[] = [];
  if (terms.length) {
    for (const t of [...terms].sort((a, b) => b.importance - a.importance)) keyFindings.push(effectText(t, kind));
  } else if (r.chosen === "boosted" && r.boostedImportance) {
    for (const b of r.boostedImportance.slice(0, 5)) {
      keyFindings.push(`${b.feature}: permutation importance ${b.importance.toPrecision(3)} (${b.direction === 1 ? "higher values, higher outcome" : b.direction === -1 ? "higher values, lower outcome" : "mixed direction"})`);
    }
  } else if (r.terms.length) {
    keyFindings.push(`The threshold GLM found ${r.terms.map((t) => termPhrase(t)).join(", ")}, but it did not beat the baseline out of sample.`);
  } else {
    keyFindings.push(r.glmNote ?? "No driver passes the threshold search on this window.");
  }
  for (const x of r.chosen === "glm" ? r.excludedSegments : []) {
    keyFindings.push(`Uploads of ${x.segment} fail by a cause of their own: ${formatCount(x.failures)} failures over ${x.days} days that the common drivers do not explain ` +
      `(dispersion ${x.dispersion.toFixed(1)}× the other segments', z = ${x.z.toFixed(1)}); it is left out of the effects above and predicted at its own ` +
      `recent rate${r.excludedMix ? ` (${(r.excludedMix.rate * 100).toFixed(0)}% over the last 7 days, ${(r.excludedMix.share * 100).toFixed(1)}% of the attempts)` : ""} — look for its root cause.`);
  }
  lines.push("", "📈 KEY FINDINGS:", ...keyFindings.map((k) => `• ${k}`));

  lines.push("", `🎯 PREDICTIONS (Next ${r.predictions.length} Days, ${noun(kind)}):`);
  for (const d of r.predictions) {
    lines.push(`• ${dayLabel(d)}: ${predictedValue(d.prediction, kind, unit)} ${kind === "rate" ? "failure probability " : ""}(${d.risk} RISK; 95% ${predictedValue(d.low95, kind, unit)}–${predictedValue(d.high95, kind, unit)})${dayReasons(d, terms)}`);
  }
  lines.push(`  Risk: ${r.riskText} (mean ${predictedValue(r.meanValue, kind, unit)}).`);
  const first = r.predictions[0];
  if (first?.groups?.length) {
    lines.push("", `🚨 RISKIEST UPLOADS (${dayLabel(first)}, by asset segment and upload age):`);
    for (const g of first.groups.slice(0, 5)) {
      lines.push(`• ${g.group}: ${predictedValue(g.prediction, kind, unit)} (${g.risk} RISK; 95% ${predictedValue(g.low95, kind, unit)}–${predictedValue(g.high95, kind, unit)}; ${(g.share * 100).toFixed(1)}% of recent attempts)`);
    }
  }

  if (r.whatIf) {
    const given = r.whatIf.terms.filter((t) => t.source === "given").map((t) => `${t.term} = ${t.value}`).join(", ");
    lines.push("", "🧪 WHAT IF:", `• ${given || "no condition"}: ${predictedValue(r.whatIf.prediction, kind, unit)} (95% CI ${r.whatIf.ciLow === null ? "n/a" : predictedValue(r.whatIf.ciLow, kind, unit)}–${r.whatIf.ciHigh === null ? "n/a" : predictedValue(r.whatIf.ciHigh, kind, unit)}); terms not given are set to their share of days in the window`);
  }

  const recommendations: string[] = [];
  const top = [...r.predictions].sort((a, b) => b.prediction - a.prediction)[0];
  if (r.beatsBaseline && top && top.risk !== "LOW") {
    recommendations.push(`Defer non-critical deployments and staff the processing queue on ${dayLabel(top)}: ${predictedValue(top.prediction, kind, unit)} predicted (${top.risk} RISK, ${(top.ratioToMean ?? 1).toFixed(1)}× the mean)${dayReasons(top, terms)}.`);
  }
  const riskiest = first?.groups?.[0];
  if (r.beatsBaseline && riskiest && riskiest.risk === "HIGH") {
    recommendations.push(`Route or hold uploads of ${riskiest.group}: ${predictedValue(riskiest.prediction, kind, unit)} of them are predicted to fail on ${dayLabel(first)} ` +
      `(${(riskiest.prediction / r.meanValue).toFixed(1)}× the average attempt) — find their cause before retrying them.`);
  }
  for (const t of terms.filter((x) => x.direction === "raises" && x.form === "step" && !x.binary).slice(0, 2)) {
    recommendations.push(`Watch ${featureLabel(t.feature)}: at ${formatCount(t.threshold ?? 0)} or more${t.lag ? ` (felt ${t.lag === 1 ? "the next day" : `${t.lag} days later`})` : ""} the ${kind === "binary" || kind === "attempt" ? "odds rise" : "rate rises"} ×${(t.ratio ?? 1).toFixed(1)}; throttle or spread the load before it crosses that line.`);
  }
  if (!r.beatsBaseline) {
    recommendations.push("No candidate predicts better than the baseline out of sample: do not act on day-to-day differences; collect more days or name other predictorVariables.");
  }
  if (!recommendations.length) recommendations.push("No day stands out above the average risk this week: keep the usual monitoring.");
  lines.push("", "⚠️ RECOMMENDATIONS:", ...recommendations.map((x, i) => `${i + 1}. ${x}`));

  const summary = r.beatsBaseline
    ? `${modelType} of ${r.target.name} beats the baseline out of sample (${acc}); highest risk ${top ? `${dayLabel(top)} at ${predictedValue(top.prediction, kind, unit)}` : "n/a"}.`
    : `No model beats the baseline for ${r.target.name} in cross-validation; the next days are predicted at the average ${predictedValue(r.meanValue, kind, unit)}.`;
  return { summary, keyFindings, recommendations, lines };
}
