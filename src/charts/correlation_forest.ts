/**
 * Vega-Lite spec of the top tested (feature, lag) pairs as a forest plot: Pearson r with its 95%
 * confidence interval on a fixed [-1, 1] axis, filled when q < 0.05. Shows exactly what the findings
 * cite (including lags), next to the lag-0 matrix. Values come from analytics.correlate.
 */
import { CHART_FONT } from "./correlation_matrix.ts";

/** One row of the plot. */
export interface ForestRow {
  /** Axis label, e.g. "asset_volume (lag 1)". */
  label: string;
  r: number;
  lo: number;
  hi: number;
  n: number;
  q: number | null;
  significant: boolean;
}

/**
 * Builds the forest-plot spec; rows are drawn top to bottom in the given order.
 *
 * @example
 * correlationForestSpec([{ label: "asset_volume (lag 1)", r: 0.46, lo: 0.28, hi: 0.61, n: 89, q: 0.0002, significant: true }], "Top drivers");
 */
export function correlationForestSpec(rows: ForestRow[], title: string, width = 420): Record<string, unknown> {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: title, anchor: "start", fontSize: 13 },
    width,
    height: Math.max(60, rows.length * 22),
    config: { font: CHART_FONT },
    data: {
      values: rows.map((r) => ({ ...r, status: r.significant ? "q < 0.05" : "not significant" })),
    },
    encoding: {
      y: { field: "label", type: "nominal", sort: rows.map((r) => r.label), title: null, axis: { labelLimit: 260 } },
    },
    layer: [
      {
        mark: { type: "rule", color: "#888", strokeDash: [3, 3] },
        data: { values: [{ zero: 0 }] },
        encoding: { x: { field: "zero", type: "quantitative" }, y: null },
      },
      {
        mark: { type: "rule", strokeWidth: 2 },
        encoding: {
          x: { field: "lo", type: "quantitative", title: "Pearson r with 95% CI", scale: { domain: [-1, 1] } },
          x2: { field: "hi" },
          color: { field: "status", type: "nominal", title: null, scale: { domain: ["q < 0.05", "not significant"], range: ["#b35806", "#999999"] } },
        },
      },
      {
        mark: { type: "point", filled: true, size: 70 },
        encoding: {
          x: { field: "r", type: "quantitative" },
          color: { field: "status", type: "nominal" },
          tooltip: [
            { field: "label", type: "nominal", title: "feature" },
            { field: "r", type: "quantitative", format: ".3f" },
            { field: "lo", type: "quantitative", title: "CI low", format: ".3f" },
            { field: "hi", type: "quantitative", title: "CI high", format: ".3f" },
            { field: "n", type: "quantitative" },
            { field: "q", type: "quantitative", format: ".2g" },
          ],
        },
      },
    ],
  };
}
