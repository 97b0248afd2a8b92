/**
 * The executive text of a correlation analysis: a headline, key findings, recommendations and the
 * full answer, written only from the numbers analytics.correlate returned (q < 0.05 is the bar for
 * a finding). When nothing passes the bar, it says so plainly; when the data are too few, it says that.
 */
import {
  featureLabel,
  formatCi,
  formatCount,
  formatP,
  formatR,
  type Grain,
  grainAdjective,
  lagPhrase,
  leadPhrase,
  periods,
} from "./wording.ts";

/** Significance bar for a key finding (Benjamini–Hochberg q of the Pearson test). */
export const Q_THRESHOLD = 0.05;
/** At most this many key findings (one per feature). */
const MAX_FINDINGS = 5;

/** One tested (feature, lag), as the tool reports it. */
export interface CorrelationRow {
  feature: string;
  description: string;
  unit: string;
  kind: string;
  lag: number;
  n: number;
  pearson: { r: number | null; p: number | null; ci: [number | null, number | null] };
  spearman: { rho: number | null; p: number | null; q: number | null };
  q: number | null;
  rank: number;
  significant: boolean;
  note: string | null;
  /** "weekday" etc. when the row is a partial correlation given that pattern, else null. */
  adjustedFor: string | null;
}

/** What the writer needs to know about the analysis. */
export interface CorrelationReport {
  target: string;
  grain: Grain;
  period: { start: string | null; end: string | null };
  dataSources: { tickets: number; commits: number; days: number; processingAttempts: number; incidents: number; logEvents: number };
  testsRun: number;
  results: CorrelationRow[];
}

/** The written answer. */
export interface CorrelationInsights {
  /** One sentence: the strongest driver, or that none is significant, or that data are too few. */
  summary: string;
  keyFindings: string[];
  recommendations: string[];
  /** The full text answer (executive style). */
  text: string;
}

/** How the text names a target: the noun, and "more X" / "fewer X" phrases. */
export interface TargetWords {
  noun: string;
  more: string;
  fewer: string;
}

/** "failures" / "more failures" for counts; "the processing failure rate" / "a higher …" for levels. */
export function targetWords(target: string): TargetWords {
  const counts: Record<string, string> = {
    failure_count: "failures",
    processing_failures: "processing failures",
    failure_flag: "failure days",
  };
  if (counts[target]) return { noun: counts[target], more: `more ${counts[target]}`, fewer: `fewer ${counts[target]}` };
  const label = target === "processing_failure_rate" ? "processing failure rate" : featureLabel(target);
  return { noun: `the ${label}`, more: `a higher ${label}`, fewer: `a lower ${label}` };
}

/** The target's noun ("failures", "the processing failure rate"). */
export function targetNoun(target: string): string {
  return targetWords(target).noun;
}

/** "asset volume the previous day", or "Mondays" for calendar features (always lag 0). */
function subject(row: CorrelationRow, grain: Grain): string {
  return row.kind === "calendar" ? featureLabel(row.feature) : `${featureLabel(row.feature)} ${lagPhrase(row.lag, grain)}`;
}

/** "r = 0.61 (95% CI 0.45 to 0.73), Spearman ρ = 0.58, n = 89, q < 0.001". */
function stats(row: CorrelationRow): string {
  const { r, ci } = row.pearson;
  const parts = [`r = ${formatR(r!)}` + (ci[0] !== null && ci[1] !== null ? ` (${formatCi(ci[0], ci[1])})` : "")];
  if (row.spearman.rho !== null) parts.push(`Spearman \u03c1 = ${formatR(row.spearman.rho)}`);
  parts.push(`n = ${formatCount(row.n)}`);
  if (row.adjustedFor) parts.push(`${row.adjustedFor} pattern removed`);
  if (row.q !== null) parts.push(formatP("q", row.q));
  return parts.join(", ");
}

function direction(row: CorrelationRow, words: TargetWords): string {
  const outcome = row.pearson.r! > 0 ? words.more : words.fewer;
  return row.kind === "calendar"
    ? `${featureLabel(row.feature)} → ${outcome}`
    : `more ${featureLabel(row.feature)} → ${outcome}`;
}

function basedOn(rep: CorrelationReport): string {
  const d = rep.dataSources;
  const range = rep.period.start && rep.period.end ? ` (${rep.period.start} to ${rep.period.end})` : "";
  return `Based on ${formatCount(d.tickets)} Jira tickets, ${formatCount(d.commits)} git commits, ` +
    `${formatCount(d.processingAttempts)} processing attempts, ${formatCount(d.incidents)} incidents and ` +
    `${periods(d.days, "day")} of data${range}`;
}

function recommendation(row: CorrelationRow, grain: Grain, words: TargetWords): string {
  const label = featureLabel(row.feature);
  const r = `r = ${formatR(row.pearson.r!)}`;
  if (row.pearson.r! < 0) {
    return `Find out why ${label} ${lagPhrase(row.lag, grain)} is linked to ${words.fewer} (${r}) before relying on it.`;
  }
  if (row.kind === "calendar") {
    return `Plan for ${label}: they come with ${words.more} (${r}); strengthen on-call cover and defer risky changes on those ${grain}s.`;
  }
  if (row.lag > 0) {
    return `Treat high ${label} as an early warning: it precedes ${words.more} ${leadPhrase(row.lag, grain)} (${r}). Alert on it and find the level at which risk rises.`;
  }
  return `Watch ${label} ${lagPhrase(row.lag, grain)}: it is linked to ${words.more} (${r}); check whether it is a cause or a symptom before acting on it.`;
}

/**
 * Writes the answer for a correlation report.
 *
 * @example
 * const { text, keyFindings } = writeCorrelationInsights(report);
 */
export function writeCorrelationInsights(rep: CorrelationReport): CorrelationInsights {
  const words = targetWords(rep.target);
  const noun = words.noun;
  const tested = rep.results.filter((r) => r.pearson.p !== null && r.pearson.r !== null);
  const untested = rep.results.filter((r) => r.pearson.p === null || r.pearson.r === null);
  const header = `📊 CORRELATION ANALYSIS COMPLETE: what moves with ${noun} (${rep.target}), ${grainAdjective(rep.grain)}`;
  const adjusted = rep.results.find((r) => r.adjustedFor)?.adjustedFor;
  const scope = `${basedOn(rep)}: ${formatCount(rep.testsRun)} tests (feature × lag), Pearson and Spearman, ` +
    `Benjamini–Hochberg q-values over all of them.` +
    (adjusted ? ` Non-calendar features are compared after removing the ${adjusted} pattern from both series ` +
      `(partial correlations), so a shared weekly rhythm does not count as a driver.` : "");

  if (rep.results.length === 0) {
    const summary = `Nothing to test: the chosen features leave no (feature, lag) pair to correlate with ${noun} ` +
      `(calendar features are tested at lag 0 only, the target itself only at lags 1 and up).`;
    const recommendations = ["Name other features, or leave features out to test every driver."];
    return { summary, keyFindings: [], recommendations, text: [header, "", `⚠️ ${summary}`, "", ...numbered(recommendations)].join("\n") };
  }
  if (tested.length === 0) {
    const note = untested[0]?.note ?? "no statistics";
    const m = /^not enough data \((.*)\)$/.exec(note);
    const summary = m
      ? `Not enough data to correlate anything with ${noun} (${m[1]}).`
      : `Not enough data to correlate anything with ${noun}: ${note}.`;
    const recommendations = [
      `Load more data or widen the time range: a correlation needs at least a handful of ${grainAdjective(rep.grain)} periods with varying values.`,
    ];
    return { summary, keyFindings: [], recommendations, text: [header, "", scope, "", `⚠️ ${summary}`, "", ...numbered(recommendations)].join("\n") };
  }

  const seen = new Set<string>();
  const significant = tested
    .filter((r) => r.significant)
    .sort((a, b) => a.rank - b.rank)
    .filter((r) => (seen.has(r.feature) ? false : (seen.add(r.feature), true)));
  const best = [...tested].sort((a, b) => a.rank - b.rank)[0];

  let summary: string;
  const keyFindings: string[] = [];
  const recommendations: string[] = [];
  if (significant.length === 0) {
    summary = `No driver is statistically significant at q < ${Q_THRESHOLD} over ${formatCount(rep.testsRun)} tests; ` +
      `the strongest candidate, ${subject(best, rep.grain)}, has ${stats(best)}.`;
    recommendations.push(
      `Do not act on any single driver yet: none passes q < ${Q_THRESHOLD}. Collect more ${grainAdjective(rep.grain)} data, ` +
        `or test fewer features at the lag you expect, to gain power.`,
    );
  } else {
    const top = significant[0];
    summary = `Strongest driver: ${subject(top, rep.grain)}, ${stats(top)}; ${direction(top, words)}.`;
    for (const [i, row] of significant.slice(0, MAX_FINDINGS).entries()) {
      keyFindings.push(i === 0 ? summary : `${subject(row, rep.grain)}: ${stats(row)}; ${direction(row, words)}.`);
      recommendations.push(recommendation(row, rep.grain, words));
    }
    if (significant.length > MAX_FINDINGS) {
      const more = significant.length - MAX_FINDINGS;
      keyFindings.push(`${more} more ${more === 1 ? "feature passes" : "features pass"} q < ${Q_THRESHOLD}; see the results table.`);
    }
    recommendations.push(
      "These are correlations, not proof of cause: confirm the top driver with a controlled change or a predictive model before acting on it.",
    );
  }

  const lines = [header, "", scope, ""];
  if (keyFindings.length) {
    lines.push("📈 KEY FINDINGS:", ...keyFindings.map((f) => `• ${f}`));
  } else {
    lines.push(`📈 ${summary}`);
  }
  const notTestable = [...new Map(untested.map((r) => [r.feature, r.note ?? "no statistics"])).entries()];
  if (notTestable.length) {
    const names = notTestable.slice(0, 5).map(([f, note]) => `${f} (${note})`).join("; ");
    lines.push(`• Not testable: ${names}${notTestable.length > 5 ? `; and ${notTestable.length - 5} more features` : ""}.`);
  }
  lines.push("", "⚠️ RECOMMENDATIONS:", ...numbered(recommendations));
  return { summary, keyFindings, recommendations, text: lines.join("\n") };
}

function numbered(items: string[]): string[] {
  return items.map((s, i) => `${i + 1}. ${s}`);
}
