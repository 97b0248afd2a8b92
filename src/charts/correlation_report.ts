/**
 * The chart of an analyze_correlations answer: the forest plot of the top tests (what the findings
 * cite, with lags and intervals) above the lag-0 correlation-matrix heatmap of the target and its
 * top features, as one Vega-Lite vconcat spec.
 */
import { correlationForestSpec, type ForestRow } from "./correlation_forest.ts";
import { CHART_FONT, correlationMatrixSpec, type MatrixCell } from "./correlation_matrix.ts";

/** Properties only a top-level Vega-Lite spec may carry. */
const TOP_LEVEL_ONLY = ["$schema", "config", "background", "padding", "autosize"];

function inner(spec: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(spec).filter(([k]) => !TOP_LEVEL_ONLY.includes(k)));
}

/**
 * Builds the combined spec.
 *
 * @example
 * correlationReportSpec({ title: "Failures", forest: rows, forestTitle: "Top tests", cells, variables, matrixTitle: "Matrix" });
 */
export function correlationReportSpec(parts: {
  title: string;
  forest: ForestRow[];
  forestTitle: string;
  cells: MatrixCell[];
  variables: string[];
  matrixTitle: string;
}): Record<string, unknown> {
  const matrix = correlationMatrixSpec(parts.cells, parts.variables, parts.matrixTitle);
  const sections = [inner(matrix)];
  if (parts.forest.length) {
    sections.unshift(inner(correlationForestSpec(parts.forest, parts.forestTitle, matrix.width as number)));
  }
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: parts.title, anchor: "start", fontSize: 15 },
    description: "Top tested drivers (Pearson r, 95% CI) and the same-period correlation matrix.",
    background: "white",
    padding: 12,
    config: { font: CHART_FONT, view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 12 } },
    vconcat: sections,
    spacing: 28,
    resolve: { scale: { color: "independent" }, legend: { color: "independent" } },
  };
}
