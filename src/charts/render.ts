/**
 * Server-side rendering of Vega-Lite specs: SVG with vega + vega-lite (headless, renderer "none"),
 * PNG with resvg-wasm and the shipped DejaVu font (resvg-wasm has no system fonts: without the
 * font bytes every label would vanish), encoded by src/charts/png.ts (a third of resvg's encoding time).
 */
import * as vega from "vega";
import * as vegaLite from "vega-lite";
import { initWasm, Resvg } from "@resvg/resvg-wasm";
import { CHART_FONT } from "./correlation_matrix.ts";
import { encodePng } from "./png.ts";

const FONT_FILES = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf"];
const FONT_DIR = new URL("../../assets/fonts/", import.meta.url);

/**
 * Compiles a Vega-Lite spec and renders it to an SVG string.
 *
 * @example
 * const svg = await renderSvg({ mark: "point", data: { values: [{ a: 1 }] }, encoding: { x: { field: "a", type: "quantitative" } } });
 */
export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  // deno-lint-ignore no-explicit-any
  const compiled = vegaLite.compile(spec as any).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

let ready: Promise<Uint8Array[]> | undefined;

/** Loads the resvg wasm module (once per process) and the font bytes. */
function prepare(): Promise<Uint8Array[]> {
  ready ??= (async () => {
    const wasmUrl = new URL("index_bg.wasm", import.meta.resolve("@resvg/resvg-wasm"));
    await initWasm(await Deno.readFile(wasmUrl));
    return await Promise.all(FONT_FILES.map((f) => Deno.readFile(new URL(f, FONT_DIR))));
  })();
  // a failed load may be retried by the next call
  ready.catch(() => (ready = undefined));
  return ready;
}

/**
 * The PNG's zoom over the SVG's size. 1.5 puts the analyze_correlations report (about 1,000 × 1,050
 * CSS pixels) at about 1,500 × 1,580: sharp on high-density screens and within the ~1,568-pixel long
 * side that vision models downscale to, at about 60% of the time of zoom 2 (whose extra pixels such a
 * model throws away). The SVG stays in the answer for any zoom.
 */
export const PNG_SCALE = 1.5;

/**
 * Rasterises an SVG to PNG bytes at `scale` (default PNG_SCALE).
 *
 * @example
 * const png = await renderPng(await renderSvg(spec));
 */
export async function renderPng(svg: string, scale = PNG_SCALE): Promise<Uint8Array> {
  const fontBuffers = await prepare();
  const resvg = new Resvg(svg, {
    fitTo: { mode: "zoom", value: scale },
    background: "white",
    font: {
      fontBuffers,
      loadSystemFonts: false,
      defaultFontFamily: CHART_FONT,
      sansSerifFamily: CHART_FONT,
    },
  });
  try {
    const image = resvg.render();
    try {
      return encodePng(image.pixels, image.width, image.height);
    } finally {
      image.free();
    }
  } finally {
    resvg.free();
  }
}
