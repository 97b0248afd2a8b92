/**
 * The one answer writer of every tool: turns what a handler computed — its text lines, its chart
 * (a Vega-Lite spec whose rendering started early, on the render workers) and the notes of parts
 * that could not be computed — into the MCP result: one text item (the lines, then a line saying
 * what the chart shows, then every note), the chart's SVG and PNG items, and structuredContent with
 * `chart.vegaLite` and `notes` added. A chart that cannot be rendered becomes a note; the answer stands.
 *
 * @example
 * return await writeAnswer({
 *   lines: ["📈 FORECAST COMPLETE: …", "", "…"],
 *   chart: { spec, rendered: chartContent(spec, "chart://generate_forecasts/forecast.svg"), caption: "history, forecast and intervals." },
 *   notes,
 *   structured: { forecasts, summary },
 * });
 */
import { z } from "zod";
import type { chartContent } from "../charts/content.ts";
import type { ToolResult } from "./types.ts";

/**
 * The fields every tool's structuredContent ends with (spread into its output schema): the one-line
 * summary, key findings, recommendations, the chart's Vega-Lite spec, and the notes.
 */
export const ANSWER_FIELDS = {
  summary: z.string(),
  keyFindings: z.array(z.string()),
  recommendations: z.array(z.string()),
  chart: z.object({ vegaLite: z.record(z.string(), z.unknown()) }).optional(),
  notes: z.array(z.string()),
};

/** A chart of an answer. */
export interface AnswerChart {
  /** The Vega-Lite spec (returned as structuredContent.chart.vegaLite). */
  spec: Record<string, unknown>;
  /** Its rendering, started by the handler as soon as the spec was known. */
  rendered: ReturnType<typeof chartContent>;
  /** What it shows, completing "📊 CHART attached: …". */
  caption: string;
}

/** The parts of an answer. */
export interface AnswerParts<S extends Record<string, unknown>> {
  /** The text, headline first; sections separated by empty strings. */
  lines: string[];
  chart?: AnswerChart | null;
  /** Notes on parts that are missing or approximate (the writer adds the chart's own). */
  notes: string[];
  /** structuredContent without chart and notes. */
  structured: S;
}

/** Writes the MCP result of a tool call (see the module comment). */
export async function writeAnswer<S extends Record<string, unknown>>(
  parts: AnswerParts<S>,
): Promise<ToolResult & { structuredContent: S & { notes: string[]; chart?: { vegaLite: Record<string, unknown> } } }> {
  const notes = [...parts.notes];
  const media: ToolResult["content"] = [];
  if (parts.chart) {
    const rendered = await parts.chart.rendered;
    media.push(...rendered.content);
    notes.push(...rendered.notes);
  }
  const tail: string[] = [];
  if (media.length) tail.push(`📊 CHART attached: ${parts.chart!.caption}`);
  for (const n of notes) tail.push(`Note: ${n}`);
  const text = [...parts.lines, ...(tail.length ? ["", ...tail] : [])].join("\n");
  return {
    content: [{ type: "text", text }, ...media],
    structuredContent: {
      ...parts.structured,
      ...(parts.chart ? { chart: { vegaLite: parts.chart.spec } } : {}),
      notes,
    },
  };
}
