/**
 * Vega-Lite spec of a forecast: per variable, its recent history (a solid line), the forecast (a
 * dashed line with points) and one band per interval level (the widest lightest), stacked as rows
 * with their own y scales. Every value comes from SQL (analytics.feature_history and
 * analytics.forecast_feature); nothing is computed here.
 */
import { CHART_FONT } from "./correlation_matrix.ts";

/** One variable of the chart. */
export interface ForecastPanel {
  /** Row title, e.g. "processing failure rate (processing_failure_rate)". */
  title: string;
  history: { period: string; value: number | null }[];
  forecast: { period: string; point: number; bands: { level: number; lower: number; upper: number }[] }[];
}

/**
 * Builds the spec.
 *
 * @example
 * forecastSpec("Next 7 days", [{ title: "asset volume", history: [...], forecast: [...] }]);
 */
export function forecastSpec(title: string, panels: ForecastPanel[], width = 560): Record<string, unknown> {
  const levels = [...new Set(panels.flatMap((p) => p.forecast.flatMap((f) => f.bands.map((b) => b.level))))].sort((a, b) => b - a);
  const bandNames = levels.map((l) => `${l}% interval`);
  const shades = levels.map((_, i) => ["#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5"][Math.min(i, 4)]);
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: title, anchor: "start", fontSize: 15 },
    description: "Recent history, the forecast and its conformal intervals, per variable.",
    background: "white",
    padding: 12,
    config: { font: CHART_FONT, view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 12 } },
    vconcat: panels.map((p) => ({
      title: { text: p.title, anchor: "start", fontSize: 13 },
      width,
      height: 140,
      layer: [
        {
          data: {
            values: p.forecast.flatMap((f) =>
              f.bands.map((b) => ({ period: f.period, band: `${b.level}% interval`, level: b.level, lower: b.lower, upper: b.upper }))
            ),
          },
          mark: { type: "area", opacity: 0.9 },
          encoding: {
            x: { field: "period", type: "temporal", title: null },
            y: { field: "lower", type: "quantitative", title: null },
            y2: { field: "upper" },
            color: { field: "band", type: "nominal", title: null, scale: { domain: bandNames, range: shades } },
            order: { field: "level", sort: "descending" },
            detail: { field: "band" },
          },
        },
        {
          data: { values: p.history.filter((h) => h.value !== null) },
          mark: { type: "line", color: "#222222", strokeWidth: 1.5 },
          encoding: {
            x: { field: "period", type: "temporal" },
            y: { field: "value", type: "quantitative" },
            tooltip: [{ field: "period", type: "temporal" }, { field: "value", type: "quantitative", format: ",.4~g" }],
          },
        },
        {
          data: { values: p.forecast.map((f) => ({ period: f.period, point: f.point })) },
          mark: { type: "line", color: "#08519c", strokeDash: [5, 3], strokeWidth: 2, point: { filled: true, size: 30 } },
          encoding: {
            x: { field: "period", type: "temporal" },
            y: { field: "point", type: "quantitative" },
            tooltip: [{ field: "period", type: "temporal" }, { field: "point", type: "quantitative", title: "forecast", format: ",.4~g" }],
          },
        },
      ],
      resolve: { scale: { y: "shared" } },
    })),
    spacing: 24,
  };
}
