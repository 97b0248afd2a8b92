/**
 * Vega-Lite spec of a predictive model's answer, two panels stacked: the predicted value for each of
 * the next days with its 95% and 80% bands, the points coloured by risk level and the window's mean
 * as a rule; and each model term's importance as a bar coloured by its direction (raises / lowers
 * the outcome), labelled with its ratio or coefficient. Every value comes from SQL
 * (analytics.build_predictive_model); nothing is computed here.
 */
import { CHART_FONT } from "./correlation_matrix.ts";

/** One predicted day. */
export interface PredictedDay {
  date: string;
  weekday: string;
  prediction: number;
  low95: number;
  high95: number;
  low80: number;
  high80: number;
  risk: "LOW" | "MEDIUM" | "HIGH";
}

/** One bar of the importance panel. */
export interface ImportanceBar {
  term: string;
  importance: number;
  direction: "raises" | "lowers";
  /** Printed at the bar's end, e.g. "×2.83". */
  label: string;
}

const BY_IMPORTANCE = { field: "importance", op: "max", order: "descending" };
const RISK_COLOURS = { domain: ["LOW", "MEDIUM", "HIGH"], range: ["#31a354", "#fd8d3c", "#de2d26"] };

/**
 * Builds the spec.
 *
 * @example
 * predictiveSpec("Failure probability, next 7 days", "failure probability", 0.054, days, bars);
 */
export function predictiveSpec(
  title: string,
  valueTitle: string,
  mean: number,
  days: PredictedDay[],
  bars: ImportanceBar[],
  importanceTitle: string,
  width = 560,
): Record<string, unknown> {
  const predictions = {
    title: { text: `${valueTitle}: prediction, 80% and 95% intervals, risk`, anchor: "start", fontSize: 13 },
    width,
    height: 180,
    data: { values: days },
    layer: [
      {
        mark: { type: "area", color: "#c6dbef", opacity: 0.9 },
        encoding: {
          x: { field: "date", type: "temporal", title: null, axis: { format: "%a %d %b" } },
          y: { field: "low95", type: "quantitative", title: valueTitle },
          y2: { field: "high95" },
        },
      },
      {
        mark: { type: "area", color: "#9ecae1", opacity: 0.9 },
        encoding: { x: { field: "date", type: "temporal" }, y: { field: "low80", type: "quantitative" }, y2: { field: "high80" } },
      },
      {
        mark: { type: "line", color: "#08519c", strokeWidth: 2 },
        encoding: { x: { field: "date", type: "temporal" }, y: { field: "prediction", type: "quantitative" } },
      },
      {
        mark: { type: "point", filled: true, size: 90 },
        encoding: {
          x: { field: "date", type: "temporal" },
          y: { field: "prediction", type: "quantitative" },
          color: { field: "risk", type: "nominal", title: "risk", scale: RISK_COLOURS },
          tooltip: [
            { field: "weekday", type: "nominal" },
            { field: "date", type: "temporal" },
            { field: "prediction", type: "quantitative", format: ".4~g" },
            { field: "low95", type: "quantitative", format: ".4~g" },
            { field: "high95", type: "quantitative", format: ".4~g" },
            { field: "risk", type: "nominal" },
          ],
        },
      },
      {
        data: { values: [{ mean }] },
        mark: { type: "rule", color: "#555555", strokeDash: [4, 3] },
        encoding: { y: { field: "mean", type: "quantitative" } },
      },
    ],
  };
  const importance = {
    title: { text: importanceTitle, anchor: "start", fontSize: 13 },
    width,
    height: Math.max(40, 26 * bars.length),
    data: { values: bars },
    layer: [
      {
        mark: { type: "bar" },
        encoding: {
          y: { field: "term", type: "nominal", sort: BY_IMPORTANCE, title: null, axis: { labelLimit: 320 } },
          x: { field: "importance", type: "quantitative", title: "importance" },
          color: {
            field: "direction",
            type: "nominal",
            title: "direction",
            scale: { domain: ["raises", "lowers"], range: ["#de2d26", "#3182bd"] },
          },
        },
      },
      {
        mark: { type: "text", align: "left", dx: 4, fontSize: 11 },
        encoding: {
          y: { field: "term", type: "nominal", sort: BY_IMPORTANCE },
          x: { field: "importance", type: "quantitative" },
          text: { field: "label", type: "nominal" },
        },
      },
    ],
  };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: title, anchor: "start", fontSize: 15 },
    description: "Predicted values for the next days with their intervals and risk levels, and the model's feature importance with direction.",
    background: "white",
    padding: 12,
    config: { font: CHART_FONT, view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 12 } },
    vconcat: bars.length ? [predictions, importance] : [predictions],
    resolve: { scale: { color: "independent" } },
    spacing: 24,
  };
}
