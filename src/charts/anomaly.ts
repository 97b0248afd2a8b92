/**
 * Vega-Lite spec of an anomaly detection: the series with its expected value and band (the band
 * whose crossing makes a point anomalous at the chosen sensitivity), anomalous points in red, and
 * the events as shaded spans. Every value comes from SQL (analytics.detect_anomalies /
 * detect_anomaly_events); nothing is computed here.
 */
import { CHART_FONT } from "./correlation_matrix.ts";

/** One period of the series. */
export interface AnomalyPoint {
  period: string;
  value: number | null;
  expected: number | null;
  lower: number | null;
  upper: number | null;
  anomalous: boolean;
}

/** One event span. */
export interface EventSpan {
  started: string;
  ended: string;
  severity: string;
}

/**
 * Builds the spec.
 *
 * @example
 * anomalySpec("processing failures, 360RA legacy", "failures", points, [{ started: "2026-11-11", ended: "2026-11-11", severity: "low" }]);
 */
export function anomalySpec(title: string, valueTitle: string, points: AnomalyPoint[], events: EventSpan[], width = 560): Record<string, unknown> {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: title, anchor: "start", fontSize: 13 },
    width,
    height: 220,
    config: { font: CHART_FONT },
    layer: [
      ...(events.length
        ? [{
          data: { values: events },
          mark: { type: "rect", opacity: 0.25 },
          encoding: {
            x: { field: "started", type: "temporal" },
            x2: { field: "ended" },
            color: { field: "severity", type: "nominal", title: "event", scale: { domain: ["low", "medium", "high"], range: ["#fdd0a2", "#fd8d3c", "#d94801"] } },
          },
        }]
        : []),
      {
        data: { values: points },
        mark: { type: "area", color: "#c6dbef", opacity: 0.8 },
        encoding: {
          x: { field: "period", type: "temporal", title: null },
          y: { field: "lower", type: "quantitative", title: valueTitle },
          y2: { field: "upper" },
        },
      },
      {
        data: { values: points },
        mark: { type: "line", color: "#6baed6", strokeDash: [4, 3] },
        encoding: { x: { field: "period", type: "temporal" }, y: { field: "expected", type: "quantitative" } },
      },
      {
        data: { values: points },
        mark: { type: "line", color: "#333", point: false },
        encoding: { x: { field: "period", type: "temporal" }, y: { field: "value", type: "quantitative" } },
      },
      {
        data: { values: points.filter((p) => p.anomalous) },
        mark: { type: "point", filled: true, color: "#de2d26", size: 70 },
        encoding: {
          x: { field: "period", type: "temporal" },
          y: { field: "value", type: "quantitative" },
          tooltip: [{ field: "period", type: "temporal" }, { field: "value", type: "quantitative" }, { field: "expected", type: "quantitative" }],
        },
      },
    ],
  };
}
