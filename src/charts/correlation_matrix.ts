/**
 * Vega-Lite spec of a correlation-matrix heatmap: one cell per variable pair, colour = Pearson r
 * on a fixed diverging scale [-1, 1] (blue negative, red positive), the value printed in the cell,
 * and n in the tooltip. The numbers come from analytics.correlation_matrix; nothing is computed here.
 */

/** One cell as analytics.correlation_matrix returns it. `r` is null when undefined (constant input). */
export interface MatrixCell {
  x: string;
  y: string;
  n: number;
  r: number | null;
}

/** The font the spec asks for; src/charts/render.ts ships it for PNG rendering. */
export const CHART_FONT = "DejaVu Sans";

/**
 * Builds the heatmap spec (Vega-Lite v6 schema, also valid v5).
 *
 * @param cells   matrix cells (both triangles and the diagonal, as SQL returns them)
 * @param variables axis order (e.g. the target first, then features by rank)
 * @param title   chart title
 *
 * @example
 * correlationMatrixSpec([{ x: "a", y: "a", n: 90, r: 1 }], ["a"], "Correlation matrix");
 */
export function correlationMatrixSpec(
  cells: MatrixCell[],
  variables: string[],
  title: string,
): Record<string, unknown> {
  const size = Math.max(120, Math.min(560, variables.length * 56));
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: title, anchor: "start", fontSize: 14 },
    description: "Pearson correlation between each pair of variables (same period, lag 0).",
    width: size,
    height: size,
    background: "white",
    padding: 12,
    config: { font: CHART_FONT, view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 12 } },
    data: {
      values: cells.map((c) => ({ x: c.x, y: c.y, n: c.n, r: c.r, label: c.r === null ? "–" : c.r.toFixed(2) })),
    },
    encoding: {
      x: { field: "x", type: "nominal", sort: variables, title: null, axis: { labelAngle: -40, labelLimit: 260 } },
      y: { field: "y", type: "nominal", sort: variables, title: null, axis: { labelLimit: 260 } },
    },
    layer: [
      {
        mark: { type: "rect" },
        encoding: {
          color: {
            field: "r",
            type: "quantitative",
            title: "Pearson r",
            scale: { domain: [-1, 1], scheme: "blueorange", domainMid: 0 },
            legend: { direction: "vertical", gradientLength: Math.min(size, 200) },
          },
          tooltip: [
            { field: "x", type: "nominal", title: "variable" },
            { field: "y", type: "nominal", title: "with" },
            { field: "r", type: "quantitative", title: "r", format: ".3f" },
            { field: "n", type: "quantitative", title: "n" },
          ],
        },
      },
      {
        mark: { type: "text", fontSize: 11 },
        encoding: {
          text: { field: "label", type: "nominal" },
          color: { condition: { test: "datum.r !== null && abs(datum.r) > 0.6", value: "white" }, value: "black" },
        },
      },
    ],
  };
}
