/**
 * A chart-rendering thread: renders Vega-Lite specs to SVG and SVGs to PNG (src/charts/render.ts)
 * off the thread that serves HTTP, so a render (tens to hundreds of milliseconds of synchronous
 * WASM) never delays another request. Driven by src/charts/render_pool.ts.
 *
 * Messages in:  { id, op: "svg", spec } | { id, op: "png", svg, scale }
 * Messages out: { id, ok: true, svg } | { id, ok: true, png } | { id, ok: false, message }
 */
import { renderPng, renderSvg } from "./render.ts";

export type RenderRequest =
  | { id: number; op: "svg"; spec: Record<string, unknown> }
  | { id: number; op: "png"; svg: string; scale?: number };

export type RenderReply =
  | { id: number; ok: true; svg?: string; png?: Uint8Array }
  | { id: number; ok: false; message: string };

const scope = self as unknown as {
  onmessage: ((event: MessageEvent<RenderRequest>) => void) | null;
  postMessage(message: RenderReply, transfer?: Transferable[]): void;
};

scope.onmessage = async (event: MessageEvent<RenderRequest>) => {
  const m = event.data;
  try {
    if (m.op === "svg") {
      scope.postMessage({ id: m.id, ok: true, svg: await renderSvg(m.spec) });
    } else {
      const png = await renderPng(m.svg, m.scale);
      scope.postMessage({ id: m.id, ok: true, png }, [png.buffer as ArrayBuffer]);
    }
  } catch (e) {
    scope.postMessage({ id: m.id, ok: false, message: (e as Error)?.message ?? String(e) });
  }
};
