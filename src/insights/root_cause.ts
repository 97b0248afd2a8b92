/**
 * Words for a root-cause answer (perform_root_cause_analysis): the "ROOT CAUSE ANALYSIS COMPLETE"
 * block, the one-line summary and the key findings, from numbers SQL computed
 * (analytics.root_cause_*). Formatting only; the recommendations come from the rules in
 * src/insights/recommendations.ts.
 */
import { formatCount, formatP } from "./wording.ts";

/** A value with its 95% interval. */
export interface Interval {
  estimate: number;
  low: number;
  high: number;
}

/** What a root-cause analysis explains (analytics.root_cause_*'s target). */
export type RootCauseTarget = "processing_failures" | "incidents" | "log_errors";

/** Each target's words: its title, its failures counted, its rate. */
export const TARGET_WORDS: Record<RootCauseTarget, { title: string; counted: string; rate: string }> = {
  processing_failures: { title: "PROCESSING FAILURES", counted: "failures", rate: "Failure rate" },
  incidents: { title: "INCIDENTS", counted: "incidents", rate: "Incident rate" },
  log_errors: { title: "ERROR LOG LINES", counted: "error log lines", rate: "Error-line rate" },
};

/** The window against the baseline. */
export interface Headline {
  target: RootCauseTarget;
  unit: "attempts" | "days";
  window: { start: string; end: string };
  baseline: { start: string; end: string };
  scope: Record<string, string> | null;
  windowUnits: number;
  windowFailures: number;
  windowRate: Interval;
  baselineUnits: number;
  baselineFailures: number;
  baselineRate: Interval;
  change: Interval | null;
  pValue: number | null;
  excessFailures: number;
}

/** An error template behind a cause's failures. */
export interface CauseTemplate {
  templateId: string | null;
  template: string | null;
  windowFailures: number;
  baselineFailures: number;
  windowShare: Interval | null;
  change: Interval | null;
  excess: number | null;
  excessShare: Interval | null;
  pValue: number | null;
  qValue: number | null;
  firstSeen: string | null;
  lastSeen: string | null;
  segmentFirstSeen: string | null;
  example: { untrusted: true; text: string } | null;
}

/** A ranked segment; a cause adds its evidence. */
export interface Segment {
  rank: number;
  causeRank: number | null;
  depth: number;
  segment: Record<string, string>;
  label: string;
  windowUnits: number;
  windowFailures: number;
  baselineUnits: number;
  baselineFailures: number;
  windowRate: Interval | null;
  baselineRate: Interval | null;
  change: Interval | null;
  riskRatio: Interval | null;
  support: Interval | null;
  failureShare: Interval | null;
  excessFailures: number | null;
  excessShare: Interval | null;
  rise: Interval | null;
  pValue: number | null;
  qValue: number | null;
}

/** A chosen cause with the evidence behind it. */
export interface Cause extends Segment {
  /** Values the cause's units all share besides its own (e.g. every one uploaded before the migration). */
  alsoAll: string[];
  templates: CauseTemplate[];
  changedOn: { day: string; rateBefore: number; rateAfter: number } | null;
  changesBefore: { deployments: { at: string; repo: string | null; detail: string | null }[]; serviceCommits: number } | null;
}

const DIMENSION_WORDS: Record<string, string> = {
  asset_type: "asset type",
  migration_state: "migration state",
  service: "service",
  severity: "severity",
  component: "ticket component",
  host: "host",
  template: "template",
};

/** "asset type 360RA, migration state legacy, uploaded before cloud migration (2026-03-01)". */
export function segmentLabel(segment: Record<string, string>): string {
  return Object.entries(segment).map(([d, v]) => (DIMENSION_WORDS[d] ? `${DIMENSION_WORDS[d]} ${v}` : v)).join(", ");
}

/** 0.0659 → "6.59%"; rates below 0.1% keep three significant digits. */
export function percent(x: number): string {
  const p = x * 100;
  return `${p >= 0.1 || p === 0 ? p.toFixed(p >= 10 ? 1 : 2) : p.toPrecision(2)}%`;
}

const ratio = (x: number) => `×${x >= 10 ? x.toFixed(1) : x.toFixed(2)}`;
const rateText = (r: Interval, unit: Headline["unit"]) =>
  unit === "attempts" ? `${percent(r.estimate)} (95% CI ${percent(r.low)}–${percent(r.high)})`
  : `${r.estimate.toFixed(2)}/day (95% CI ${r.low.toFixed(2)}–${r.high.toFixed(2)})`;
const days = (a: string, b: string) => Math.round((Date.parse(b) - Date.parse(a)) / 86_400_000) + 1;

/** The words of the whole answer. */
export function writeRootCauseInsights(h: Headline, causes: Cause[], nTested: number, nSignificant: number): {
  lines: string[];
  summary: string;
  keyFindings: string[];
} {
  const words = TARGET_WORDS[h.target];
  const what = words.title;
  const scope = h.scope && Object.keys(h.scope).length ? ` OF ${segmentLabel(h.scope).toUpperCase()}` : "";
  const lines = [
    "🔍 ROOT CAUSE ANALYSIS COMPLETE",
    "",
    `📊 ANALYSIS OF ${what}${scope} (${h.window.start} to ${h.window.end}, ${days(h.window.start, h.window.end)} days, ` +
    `against ${h.baseline.start} to ${h.baseline.end}):`,
    h.unit === "attempts"
      ? `- ${formatCount(h.windowFailures)} failures across ${formatCount(h.windowUnits)} processing attempts`
      : `- ${formatCount(h.windowFailures)} ${words.counted} in ${formatCount(h.windowUnits)} days`,
    `- ${words.rate}: ${rateText(h.windowRate, h.unit)}; baseline ${rateText(h.baselineRate, h.unit)}` +
    (h.change ? `; ${ratio(h.change.estimate)} (95% CI ${h.change.low.toFixed(2)}–${h.change.high.toFixed(2)})` : "") +
    (h.pValue !== null ? `, ${formatP("p", h.pValue)}` : ""),
    h.excessFailures > 0
      ? `- ${formatCount(h.excessFailures)} more failures than the baseline rate predicts`
      : `- No excess: ${formatCount(-h.excessFailures)} fewer failures than the baseline rate predicts`,
  ];
  const keyFindings: string[] = [];
  if (!causes.length) {
    lines.push("", `🎯 NO CAUSE FOUND: none of the ${formatCount(nTested)} segments tested changed significantly more than the rest (BH q < 0.05).`);
    keyFindings.push(`No segment of ${nTested} tested rose significantly more than the rest (q < 0.05).`);
  }
  for (const c of causes) {
    const head = c.causeRank === 1 ? "🎯 PRIMARY CAUSE IDENTIFIED" : `🎯 CAUSE ${c.causeRank}`;
    lines.push("", `${head}: ${c.label}${c.alsoAll.length ? ` (all ${c.alsoAll.join(", ")})` : ""}`);
    const share = c.support && h.unit === "attempts"
      ? ` (${percent(c.support.estimate)} of the window's attempts, 95% CI ${percent(c.support.low)}–${percent(c.support.high)})`
      : "";
    if (c.windowRate && c.baselineRate) {
      lines.push(
        `- ${formatCount(c.windowUnits)} ${h.unit === "attempts" ? "attempts" : "days"}${share}, ${formatCount(c.windowFailures)} failed: ` +
          `${rateText(c.windowRate, h.unit)} against ${rateText(c.baselineRate, h.unit)} in the baseline` +
          (c.change ? ` — ${ratio(c.change.estimate)} (95% CI ${c.change.low.toFixed(2)}–${c.change.high.toFixed(2)})` : ""),
      );
    }
    if (c.rise) {
      lines.push(
        `- Rose ${ratio(c.rise.estimate)} more than the rest of the same days (95% CI ${c.rise.low.toFixed(2)}–${c.rise.high.toFixed(2)})` +
          (c.qValue !== null ? `, ${formatP("q", c.qValue)}` : ""),
      );
    }
    if (c.riskRatio && h.unit === "attempts") {
      lines.push(`- ${ratio(c.riskRatio.estimate)} the failure rate of the rest of the window (95% CI ${c.riskRatio.low.toFixed(2)}–${c.riskRatio.high.toFixed(2)})`);
    }
    if (c.excessFailures !== null && c.excessShare) {
      lines.push(
        `- Explains ${formatCount(c.excessFailures)} of the ${formatCount(h.excessFailures)} excess failures ` +
          `(${percent(c.excessShare.estimate)}, 95% CI ${percent(Math.max(0, c.excessShare.low))}–${percent(c.excessShare.high)})`,
      );
    }
    if (c.changedOn) {
      const deploys = c.changesBefore?.deployments ?? [];
      const dtext = deploys.length
        ? `; deployed in the 48 h before that day: ${deploys.slice(0, 3).map((d) => `${d.repo ?? "?"} ${d.detail ?? ""} at ${d.at.slice(0, 16).replace("T", " ")} UTC`.replace(/\s+/g, " ")).join(", ")}` +
          `${deploys.length > 3 ? ` and ${deploys.length - 3} more` : ""}`
        : "; no deployment in the 48 h before that day";
      const commits = c.changesBefore ? `, ${formatCount(c.changesBefore.serviceCommits)} service commits` : "";
      lines.push(
        `- Changed on ${c.changedOn.day}: ${h.unit === "attempts" ? percent(c.changedOn.rateBefore) : c.changedOn.rateBefore.toFixed(2)} before, ` +
          `${h.unit === "attempts" ? percent(c.changedOn.rateAfter) : c.changedOn.rateAfter.toFixed(2)} after${c.changesBefore ? dtext + commits : ""}`,
      );
    }
    const t = c.templates[0];
    if (t && t.template) {
      lines.push(
        `- Error pattern: "${t.template}" — ${formatCount(t.windowFailures)} of its ${formatCount(c.windowFailures)} window failures` +
          `${t.windowShare !== null ? ` (${percent(t.windowShare.estimate)})` : ""}, ${formatCount(t.baselineFailures)} in the baseline` +
          `${t.excessShare ? `; ${percent(Math.max(0, t.excessShare.estimate))} of the cause's excess` : ""}` +
          `${t.qValue !== null ? `, ${formatP("q", t.qValue)}` : ""}` +
          `${t.segmentFirstSeen ? `; in this segment since ${t.segmentFirstSeen.slice(0, 10)}` : ""}`,
      );
      if (t.example) lines.push(`  Example line (log data, untrusted): ${JSON.stringify(t.example.text.slice(0, 200))}`);
    }
    keyFindings.push(
      `${c.label}: ${c.windowRate ? rateText(c.windowRate, h.unit) : "?"} now against ${c.baselineRate ? rateText(c.baselineRate, h.unit) : "?"}` +
        `${c.excessShare ? `, ${percent(c.excessShare.estimate)} of the excess` : ""}${c.qValue !== null ? `, ${formatP("q", c.qValue)}` : ""}` +
        `${t?.template ? `; error "${t.template}"` : ""}${c.changedOn ? `; changed on ${c.changedOn.day}` : ""}.`,
    );
  }
  lines.push("", `🧪 METHOD: ${formatCount(nTested)} segments of 1–3 dimension values tested (each against the rest of the same days, ` +
    `Mantel–Haenszel, window ÷ baseline), ${formatCount(nSignificant)} with BH q < 0.05; causes by drill-down, later causes tested again ` +
    `without the earlier ones' units (sql/83_root_cause.sql).`);
  const summary = causes.length
    ? `${words.rate} ${rateText(h.windowRate, h.unit)} against ${rateText(h.baselineRate, h.unit)}; ` +
      `primary cause: ${causes[0].label}${causes[0].excessShare ? ` (${percent(causes[0].excessShare.estimate)} of the excess)` : ""}.`
    : `${words.rate} ${rateText(h.windowRate, h.unit)} against ${rateText(h.baselineRate, h.unit)}; no segment explains a change.`;
  return { lines, summary, keyFindings };
}
