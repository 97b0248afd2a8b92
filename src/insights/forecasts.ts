/**
 * The executive text of a forecast: a headline, what the forecasts rest on, the next periods with
 * their intervals per variable, and what to watch — written only from the numbers
 * analytics.forecast_feature and analytics.feature_history returned. Every accuracy is shown next
 * to the seasonal-naive baseline's; a model that does not beat it is called that.
 */
import { featureLabel, formatCount, type Grain, grainAdjective, periods } from "./wording.ts";

/** One forecast period of a variable. */
export interface ForecastPoint {
  /** Start of the period, ISO (UTC). */
  period: string;
  step: number;
  point: number;
  intervals: { level: number; lower: number; upper: number }[];
  /** Backtest errors this step's intervals rest on. */
  nErrors: number;
}

/** The forecast of one variable, as the tool reports it. */
export interface VariableForecast {
  variable: string;
  description: string;
  unit: string;
  /** seasonal_naive | ets | seasonal_naive_2 | combination */
  method: string;
  model: string | null;
  backtest: { mase: number | null; baselineMase: number | null; beatsBaseline: boolean | null };
  /** Share of held-out backtest errors inside each level's interval (null when too few errors). */
  coverage: { level: number; backtest: number | null }[];
  nHistory: number;
  /** Mean of the last `horizon` observed periods (what the forecast is compared with). */
  recentMean: number | null;
  points: ForecastPoint[];
  notes: string[];
  /** For a stored forecast: how good the stored forecasts of this variable have been (all steps). */
  realised?: { nForecasts: number; nScored: number; mase: number | null; coverage: { level: number; realised: number | null; n: number }[] } | null;
}

/** A forecast the nightly job stored, and the job's health. */
export interface StoredRun {
  runDay: string;
  scheduler: string;
  madeAt: string;
  job: { name: string; state: string; lastStatus: string | null; nextRunAt: string | null; runs30d: number; failed30d: number; lastError: string | null };
}

/** What the writer needs to know. */
export interface ForecastReport {
  grain: Grain;
  horizon: number;
  levels: number[];
  method: string;
  /** The last period with data (ISO), or null. */
  lastObserved: string | null;
  forecasts: VariableForecast[];
  /** Variables that could not be forecast, with the reason. */
  skipped: { variable: string; reason: string }[];
  /** Set when the forecasts are the nightly job's stored ones (source "scheduled"). */
  stored?: StoredRun | null;
}

/** The written answer. */
export interface ForecastInsights {
  summary: string;
  keyFindings: string[];
  recommendations: string[];
  lines: string[];
}

/** Relative change of the forecast mean against the recent mean above which a variable is "moving". */
const MOVE = 0.1;
/** Periods listed in the text per variable (all of them are in structuredContent). */
const LISTED = 7;

const METHOD_NAMES: Record<string, string> = {
  seasonal_naive: "Seasonal naive (the baseline)",
  ets: "Exponential smoothing",
  seasonal_naive_2: "Seasonal naive at the weekly season",
  combination: "Combination of exponential smoothing and the weekly seasonal naive",
};

/** A value in its unit: ratios as percentages, large counts with separators, small ones with 2–3 digits. */
export function formatValue(v: number, unit: string): string {
  if (unit === "ratio") return `${(v * 100).toFixed(Math.abs(v) < 0.1 ? 1 : 0)}%`;
  const a = Math.abs(v);
  if (a >= 100) return formatCount(v);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** The day or hour of a period, as a reader wants it: "Tue 2026-11-24", "2026-11-24 13:00", "week of 2026-11-23". */
export function periodLabel(iso: string, grain: Grain): string {
  const d = new Date(iso);
  const day = d.toISOString().slice(0, 10);
  if (grain === "hour") return `${day} ${d.toISOString().slice(11, 16)} UTC`;
  if (grain === "week") return `week of ${day}`;
  return `${["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][d.getUTCDay()]} ${day}`;
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

function intervalText(p: ForecastPoint, unit: string): string {
  return p.intervals.map((i) => `${i.level}%: ${formatValue(i.lower, unit)} to ${formatValue(i.upper, unit)}`).join("; ");
}

function accuracyText(f: VariableForecast): string {
  const { mase, baselineMase } = f.backtest;
  if (mase === null || baselineMase === null) return "backtest accuracy not available";
  if (f.method === "seasonal_naive") return `backtest MASE ${mase.toFixed(2)} (the baseline itself)`;
  const gain = baselineMase > 0 ? (baselineMase - mase) / baselineMase : 0;
  return `backtest MASE ${mase.toFixed(2)} vs ${baselineMase.toFixed(2)} for seasonal naive` +
    (gain > 0 ? ` (${pct(gain)} lower error)` : "");
}

function coverageText(f: VariableForecast): string {
  const known = f.coverage.filter((c) => c.backtest !== null);
  const unchecked = f.coverage.filter((c) => c.backtest === null).map((c) => `${c.level}%`);
  const parts = known.map((c) => `${pct(c.backtest!)} for the ${c.level}% interval`);
  if (unchecked.length) parts.push(`too few backtest errors to check the ${unchecked.join(" and ")} ${unchecked.length > 1 ? "intervals" : "interval"}`);
  return parts.length ? `; held-out backtest coverage ${parts.join(", ")}` : "";
}

/** Mean of the forecast points. */
function forecastMean(f: VariableForecast): number {
  return f.points.reduce((s, p) => s + p.point, 0) / f.points.length;
}

/** "+12%" / "−8%" change of the forecast mean against the recent mean, or null when not comparable. */
function change(f: VariableForecast): number | null {
  if (f.recentMean === null || !f.points.length || Math.abs(f.recentMean) < 1e-12) return null;
  return (forecastMean(f) - f.recentMean) / Math.abs(f.recentMean);
}

/**
 * Writes the answer.
 *
 * @example
 * const { lines, summary } = writeForecastInsights(report);
 */
export function writeForecastInsights(rep: ForecastReport): ForecastInsights {
  const ahead = periods(rep.horizon, rep.grain);
  const names = rep.forecasts.map((f) => featureLabel(f.variable));
  const st = rep.stored;
  const header = !rep.forecasts.length
    ? `📈 FORECAST: nothing could be forecast`
    : st
    ? `📈 STORED FORECAST: what the ${st.job.name} job forecast on ${st.runDay} for the next ${ahead} of ${listing(names)}, ${grainAdjective(rep.grain)}`
    : `📈 FORECAST COMPLETE: the next ${ahead} of ${listing(names)}, ${grainAdjective(rep.grain)}`;
  const lines = [header, ""];
  const keyFindings: string[] = [];
  const recommendations: string[] = [];
  if (rep.forecasts.length) {
    const nh = rep.forecasts.map((f) => f.nHistory);
    const ne = rep.forecasts.flatMap((f) => f.points.map((p) => p.nErrors));
    const upTo = rep.lastObserved ? ` up to ${periodLabel(rep.lastObserved, rep.grain)}` : "";
    if (st) {
      lines.push(
        `JOB: made ${st.madeAt.slice(0, 19).replace("T", " ")} UTC by ${st.scheduler}; state ${st.job.state}` +
          (st.job.lastStatus ? `, last run ${st.job.lastStatus}` : "") +
          `; ${st.job.runs30d} runs in the last 30 days, ${st.job.failed30d} failed` +
          (st.job.nextRunAt ? `; next run ${st.job.nextRunAt.slice(0, 16).replace("T", " ")} UTC` : "") +
          (st.job.lastError ? `; last error: ${st.job.lastError}` : "") + ".",
      );
    }
    lines.push(
      `${st ? "THE FORECASTS REST ON" : "ANALYSIS COMPLETE"}: ${rep.forecasts.length} series, ${span(nh, rep.grain)} of history each${upTo}. ` +
        (rep.method === "auto"
          ? "Each series gets the method with the lowest rolling-origin backtest error (MASE) — the seasonal-naive baseline unless a model beats it. "
          : `Method: ${(METHOD_NAMES[rep.method] ?? rep.method).toLowerCase()}. `) +
        `Intervals (${rep.levels.map((l) => `${l}%`).join(", ")}) are conformal: each step's from its own backtest errors ` +
        `(${Math.min(...ne)}–${Math.max(...ne)} per step).`,
      "",
      `🔮 FORECAST (${st ? `made ${st.runDay} for ` : ""}next ${ahead}):`,
    );
    for (const f of rep.forecasts) {
      const first = f.points[0];
      const c = change(f);
      const against = c === null || f.recentMean === null
        ? ""
        : `; mean ${formatValue(forecastMean(f), f.unit)} against ${formatValue(f.recentMean, f.unit)} over the last ${ahead}`;
      lines.push(
        `• ${featureLabel(f.variable)}: ${formatValue(first.point, f.unit)} for ${periodLabel(first.period, rep.grain)} ` +
          `(${intervalText(first, f.unit)})${against}. ${METHOD_NAMES[f.method] ?? f.method}: ${accuracyText(f)}${coverageText(f)}.`,
      );
      for (const p of f.points.slice(1, LISTED)) {
        lines.push(`    ${periodLabel(p.period, rep.grain)}: ${formatValue(p.point, f.unit)} (${intervalText(p, f.unit)})`);
      }
      if (f.points.length > LISTED) lines.push(`    … ${f.points.length - LISTED} more periods in structuredContent.forecasts`);
    }
    if (st) lines.push("", ...realisedLines(rep.forecasts));
    // what to watch: moves beyond MOVE whose widest interval leaves the recent mean out at some step
    const widest = Math.max(...rep.levels);
    for (const f of rep.forecasts) {
      const c = change(f);
      if (c === null || Math.abs(c) < MOVE || f.recentMean === null) continue;
      const clear = f.points.some((p) => {
        const i = p.intervals.find((x) => x.level === widest);
        return i && (f.recentMean! < i.lower || f.recentMean! > i.upper);
      });
      const word = c > 0 ? "rise" : "fall";
      keyFindings.push(
        `${featureLabel(f.variable)} is forecast to ${word} ${pct(Math.abs(c))} against the last ${ahead} ` +
          `(mean ${formatValue(forecastMean(f), f.unit)} vs ${formatValue(f.recentMean, f.unit)})` +
          (clear ? `; the recent level lies outside the ${widest}% interval on at least one ${rep.grain}.` : `, within its ${widest}% intervals.`),
      );
    }
    const noBetter = rep.forecasts.filter((f) => f.method === "seasonal_naive" || f.backtest.beatsBaseline === false);
    for (const f of noBetter) {
      recommendations.push(
        `${featureLabel(f.variable)}: no model beat the seasonal-naive baseline in the backtest, so its forecast repeats the last ` +
          `season — plan with its intervals, not with the point.`,
      );
    }
    const under = rep.forecasts.flatMap((f) =>
      f.coverage.filter((c) => c.backtest !== null && c.backtest < c.level / 100 - 0.1).map((c) => ({ f, c }))
    );
    for (const { f, c } of under) {
      recommendations.push(
        `${featureLabel(f.variable)}: its ${c.level}% intervals held ${pct(c.backtest!)} of the held-out backtest errors — ` +
          `read them as narrower than stated.`,
      );
    }
    if (keyFindings.length) {
      lines.push("", "⚠️ WHAT TO WATCH:", ...keyFindings.map((k, i) => `${i + 1}. ${k}`));
    } else {
      lines.push("", `⚠️ WHAT TO WATCH: no series is forecast to move ${pct(MOVE)} or more against its last ${ahead}.`);
    }
    if (!st) recommendations.push(
      `Compare these forecasts with what happens: the nightly job stores its forecasts and scores them against the actuals ` +
        `(analytics.forecast_scores), so the intervals can be checked on data they never saw.`,
    );
  }
  if (rep.skipped.length) lines.push("", `• Not forecast — ${groupedReasons(rep.skipped)}.`);
  if (recommendations.length) lines.push("", "RECOMMENDATIONS:", ...recommendations.map((r, i) => `${i + 1}. ${r}`));
  const summary = rep.forecasts.length
    ? keyFindings[0] ?? `No forecast series moves ${pct(MOVE)} or more against its last ${ahead}.`
    : `Nothing could be forecast — ${groupedReasons(rep.skipped)}.`;
  return { summary, keyFindings, recommendations, lines };
}

/** The "how good it has been" section of a stored forecast. */
function realisedLines(forecasts: VariableForecast[]): string[] {
  const out = ["📏 HOW GOOD THE STORED FORECASTS HAVE BEEN (scored against the actuals, all steps):"];
  for (const f of forecasts) {
    const r = f.realised;
    if (!r || r.nScored === 0) {
      out.push(`• ${featureLabel(f.variable)}: not enough data — none of its ${r?.nForecasts ?? 0} stored forecasts has an actual yet.`);
      continue;
    }
    const promised = f.backtest.mase === null ? "" : ` (the backtest promised ${f.backtest.mase.toFixed(2)})`;
    const cov = r.coverage.filter((c) => c.realised !== null)
      .map((c) => `${c.level}% intervals held ${pct(c.realised!)} (n = ${formatCount(c.n)})`).join(", ");
    out.push(
      `• ${featureLabel(f.variable)}: realised MASE ${r.mase === null ? "not defined (constant history)" : r.mase.toFixed(2)} over ` +
        `${formatCount(r.nScored)} scored of ${formatCount(r.nForecasts)} stored forecasts${promised}${cov ? `; ${cov}` : ""}.`,
    );
  }
  return out;
}

/** "a, b: reason; c: other reason" — variables that failed alike named together. */
export function groupedReasons(skipped: { variable: string; reason: string }[]): string {
  const groups = new Map<string, string[]>();
  for (const s of skipped) groups.set(s.reason, [...(groups.get(s.reason) ?? []), s.variable]);
  return [...groups].map(([reason, vs]) => `${vs.join(", ")}: ${reason}`).join("; ");
}

function listing(names: string[]): string {
  if (names.length <= 4) return names.length > 1 ? `${names.slice(0, -1).join(", ")} and ${names.at(-1)}` : names[0];
  return `${names.slice(0, 3).join(", ")} and ${names.length - 3} more`;
}

function span(ns: number[], grain: Grain): string {
  const lo = Math.min(...ns), hi = Math.max(...ns);
  return lo === hi ? periods(lo, grain) : `${formatCount(lo)}–${periods(hi, grain)}`;
}
