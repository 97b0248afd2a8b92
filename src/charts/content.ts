/**
 * Turns a Vega-Lite spec into MCP content items: the SVG as an embedded resource
 * (image/svg+xml) and the PNG as an image, rendered on worker threads (src/charts/render_pool.ts)
 * so the serving thread stays free. Rendering failures are not fatal: what could be rendered
 * is returned, and each failure becomes a note for the answer.
 */
import { Buffer } from "node:buffer";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { workerRenderers } from "./render_pool.ts";

/** The renderers used (replaceable in tests). */
export interface Renderers {
  svg(spec: Record<string, unknown>): Promise<string>;
  png(svg: string): Promise<Uint8Array>;
}

/**
 * Renders `spec` to content items under `uri` (e.g. chart://analyze_correlations/matrix.svg).
 *
 * @example
 * const { content, notes } = await chartContent(spec, "chart://analyze_correlations/matrix.svg");
 */
export async function chartContent(
  spec: Record<string, unknown>,
  uri: string,
  renderers: Renderers = workerRenderers,
): Promise<{ content: CallToolResult["content"]; notes: string[] }> {
  const content: CallToolResult["content"] = [];
  const notes: string[] = [];
  let svg: string;
  try {
    svg = await renderers.svg(spec);
  } catch (e) {
    return { content, notes: [`The chart could not be rendered (${(e as Error).message}); its Vega-Lite spec is in structuredContent.chart.`] };
  }
  content.push({ type: "resource", resource: { uri, mimeType: "image/svg+xml", text: svg } });
  try {
    const png = await renderers.png(svg);
    content.push({ type: "image", mimeType: "image/png", data: Buffer.from(png).toString("base64") });
  } catch (e) {
    notes.push(`The PNG version of the chart could not be rendered (${(e as Error).message}); the SVG is attached.`);
  }
  return { content, notes };
}
