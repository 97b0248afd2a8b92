/**
 * Vega-Lite spec of a root-cause answer, two panels stacked: the top cause's daily failure rate over
 * the baseline and the window, with the two rates of its change point as rules and the window
 * shaded; and the ranking of segments by how much their rate rose (change ratio, window ÷ baseline)
 * with its 95% interval on a log axis, causes coloured and significant segments filled. Every value
 * comes from SQL (analytics.root_cause_segments / root_cause_timeline); nothing is computed here.
 */
import { CHART_FONT } from "./correlation_matrix.ts";

/** One day of the top cause. */
export interface CauseDay {
  day: string;
  rate: number | null;
  inWindow: boolean;
}

/** One bar of the ranking. */
export interface RankedSegment {
  label: string;
  change: number;
  low: number;
  high: number;
  /** "cause 1", "cause 2", … or "q < 0.05" / "not significant". */
  status: string;
}

/**
 * Builds the spec. `timeline` may be empty (no cause): the ranking stands alone.
 *
 * @example
 * rootCauseSpec("360RA, legacy", "failure rate", days, { before: 0.049, after: 0.43 }, rows);
 */
export function rootCauseSpec(
  causeLabel: string | null,
  rateTitle: string,
  timeline: CauseDay[],
  levels: { before: number; after: number; day: string } | null,
  ranking: RankedSegment[],
  width = 560,
): Record<string, unknown> {
  const statuses = [...new Set(ranking.map((r) => r.status))].sort();
  const colours = statuses.map((s) => (s.startsWith("cause") ? ["#b2182b", "#ef8a62", "#fddbc7"][Number(s.slice(6)) - 1] ?? "#b2182b" : s === "q < 0.05" ? "#2166ac" : "#999999"));
  const panels: Record<string, unknown>[] = [];
  if (causeLabel && timeline.length) {
    const windowDays = timeline.filter((d) => d.inWindow).map((d) => d.day);
    panels.push({
      title: { text: `${causeLabel}: daily ${rateTitle}`, anchor: "start", fontSize: 13 },
      width,
      height: 160,
      layer: [
        ...(windowDays.length
          ? [{
            data: { values: [{ start: windowDays[0], end: windowDays[windowDays.length - 1] }] },
            mark: { type: "rect", color: "#fee0d2", opacity: 0.6 },
            encoding: { x: { field: "start", type: "temporal" }, x2: { field: "end" } },
          }]
          : []),
        {
          data: { values: timeline },
          mark: { type: "line", point: true, color: "#444" },
          encoding: {
            x: { field: "day", type: "temporal", title: null, axis: { format: "%d %b" } },
            y: { field: "rate", type: "quantitative", title: rateTitle },
            tooltip: [{ field: "day", type: "temporal" }, { field: "rate", type: "quantitative", format: ".3f" }],
          },
        },
        ...(levels
          ? [{
            data: { values: [{ day: levels.day, label: `changed ${levels.day}` }] },
            mark: { type: "rule", color: "#b2182b", strokeDash: [4, 3] },
            encoding: { x: { field: "day", type: "temporal" } },
          }]
          : []),
      ],
    });
  }
  panels.push({
    title: { text: "Segments ranked: rate now ÷ baseline rate, 95% CI", anchor: "start", fontSize: 13 },
    width,
    height: Math.max(60, ranking.length * 20),
    data: { values: ranking },
    encoding: { y: { field: "label", type: "nominal", sort: ranking.map((r) => r.label), title: null, axis: { labelLimit: 300 } } },
    layer: [
      {
        data: { values: [{ one: 1 }] },
        mark: { type: "rule", color: "#888", strokeDash: [3, 3] },
        encoding: { x: { field: "one", type: "quantitative" }, y: null },
      },
      {
        mark: { type: "rule", strokeWidth: 2 },
        encoding: {
          x: { field: "low", type: "quantitative", scale: { type: "log" }, title: "change ratio (log scale)" },
          x2: { field: "high" },
          color: { field: "status", type: "nominal", title: null, scale: { domain: statuses, range: colours } },
        },
      },
      {
        mark: { type: "point", filled: true, size: 60 },
        encoding: {
          x: { field: "change", type: "quantitative" },
          color: { field: "status", type: "nominal" },
          tooltip: [
            { field: "label", type: "nominal", title: "segment" },
            { field: "change", type: "quantitative", format: ".2f" },
            { field: "low", type: "quantitative", format: ".2f" },
            { field: "high", type: "quantitative", format: ".2f" },
          ],
        },
      },
    ],
  });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    config: { font: CHART_FONT },
    vconcat: panels,
  };
}
