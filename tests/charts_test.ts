/**
 * Charts: the correlation-matrix Vega-Lite spec renders to an SVG that carries the variable names
 * and values, and to a PNG in which text is actually drawn (resvg-wasm with the shipped DejaVu font).
 */
import assert from "node:assert/strict";
import { correlationMatrixSpec, type MatrixCell } from "../src/charts/correlation_matrix.ts";
import { chartContent } from "../src/charts/content.ts";
import { correlationReportSpec } from "../src/charts/correlation_report.ts";
import { encodePng } from "../src/charts/png.ts";
import { PNG_SCALE, renderPng, renderSvg } from "../src/charts/render.ts";
import { Resvg } from "@resvg/resvg-wasm";
import { crc32, inflateSync } from "node:zlib";

// deno-lint-ignore no-explicit-any
type Json = any;

const VARS = ["failure_count", "asset_volume", "is_monday"];
const R: Record<string, number | null> = {
  "failure_count|asset_volume": 0.46,
  "failure_count|is_monday": 0.43,
  "asset_volume|is_monday": -0.07,
};
const cells: MatrixCell[] = VARS.flatMap((x) =>
  VARS.map((y) => ({ x, y, n: 90, r: x === y ? 1 : R[`${x}|${y}`] ?? R[`${y}|${x}`] }))
);

/** Width and height from a PNG's IHDR chunk. */
function pngSize(png: Uint8Array): [number, number] {
  const v = new DataView(png.buffer, png.byteOffset);
  return [v.getUint32(16), v.getUint32(20)];
}

/**
 * A PNG decoder for the tests (8-bit RGB/RGBA, any row filter, no interlace): checks every chunk's
 * CRC and returns the size, colour type and RGB bytes — enough to compare two encoders' pixels.
 */
function decodePng(png: Uint8Array): { width: number; height: number; colorType: number; rgb: Uint8Array } {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "PNG signature");
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let at = 8, width = 0, height = 0, colorType = 0;
  const idat: Uint8Array[] = [];
  for (;;) {
    const len = v.getUint32(at);
    const type = String.fromCharCode(...png.subarray(at + 4, at + 8));
    assert.equal(v.getUint32(at + 8 + len), crc32(png.subarray(at + 4, at + 8 + len)) >>> 0, `CRC of ${type}`);
    const data = png.subarray(at + 8, at + 8 + len);
    if (type === "IHDR") {
      [width, height, colorType] = [v.getUint32(at + 8), v.getUint32(at + 12), data[9]];
      assert.deepEqual([data[8], data[12]], [8, 0], "8 bits, not interlaced");
    }
    if (type === "IDAT") idat.push(data);
    at += 12 + len;
    if (type === "IEND") break;
  }
  const ch = colorType === 6 ? 4 : colorType === 2 ? 3 : NaN;
  const raw = new Uint8Array(inflateSync(new Uint8Array(idat.flatMap((d) => [...d]))));
  const stride = width * ch;
  const px = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const cur = raw[y * (stride + 1) + 1 + x];
      const a = x >= ch ? px[y * stride + x - ch] : 0;
      const b = y > 0 ? px[(y - 1) * stride + x] : 0;
      const c = x >= ch && y > 0 ? px[(y - 1) * stride + x - ch] : 0;
      const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const pred = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][f];
      px[y * stride + x] = (cur + pred) & 255;
    }
  }
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, o = 0; i < px.length; i += ch) {
    rgb[o++] = px[i];
    rgb[o++] = px[i + 1];
    rgb[o++] = px[i + 2];
  }
  return { width, height, colorType, rgb };
}

Deno.test("encodePng: the same pixels as resvg's own encoder, as RGB when opaque, RGBA otherwise; bad sizes refused", async () => {
  const svg = await renderSvg(correlationMatrixSpec(cells, VARS, "Failures and their drivers"));
  await renderPng(svg); // loads resvg's wasm (once per process)
  const image = new Resvg(svg, { background: "white", font: { loadSystemFonts: false } }).render();
  const ours = decodePng(encodePng(image.pixels, image.width, image.height));
  const theirs = decodePng(image.asPng());
  assert.equal(ours.colorType, 2, "opaque → RGB");
  assert.deepEqual([ours.width, ours.height], [theirs.width, theirs.height]);
  assert.ok(ours.rgb.length > 10_000 && ours.rgb.every((x, i) => x === theirs.rgb[i]), "every pixel equal to resvg's PNG");

  const rgba = new Uint8Array([255, 0, 0, 255, 0, 255, 0, 128, 0, 0, 255, 0, 9, 9, 9, 255]);
  const t = decodePng(encodePng(rgba, 2, 2));
  assert.equal(t.colorType, 6, "a transparent pixel keeps the alpha channel");
  assert.deepEqual([...t.rgb], [255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9]);
  assert.throws(() => encodePng(rgba, 3, 2), /Cannot encode a PNG: 16 bytes are not 3 × 2 RGBA pixels/);
});

Deno.test("correlation matrix spec: fixed [-1, 1] colour scale, axis order, values as labels", () => {
  const spec = correlationMatrixSpec(cells, VARS, "Matrix") as Json;
  assert.equal(spec.$schema, "https://vega.github.io/schema/vega-lite/v6.json");
  assert.deepEqual(spec.encoding.x.sort, VARS);
  assert.deepEqual(spec.layer[0].encoding.color.scale.domain, [-1, 1]);
  assert.deepEqual(spec.data.values.find((d: Json) => d.x === "failure_count" && d.y === "asset_volume"),
    { x: "failure_count", y: "asset_volume", n: 90, r: 0.46, label: "0.46" });
  const withNull = correlationMatrixSpec([{ x: "a", y: "a", n: 90, r: null }], ["a"], "M") as Json;
  assert.equal(withNull.data.values[0].label, "–");
});

Deno.test("renderSvg: the SVG names every variable and prints the values", async () => {
  const svg = await renderSvg(correlationMatrixSpec(cells, VARS, "Failures and their drivers"));
  assert.match(svg, /^<svg[^>]+xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  for (const v of VARS) assert.ok(svg.includes(`>${v}<`), `label ${v} in the SVG`);
  for (const label of ["0.46", "0.43", "-0.07", "1.00", "Pearson r", "Failures and their drivers"]) {
    assert.ok(svg.includes(label), `text ${label} in the SVG`);
  }
  assert.ok(svg.includes("DejaVu Sans"), "the SVG asks for the shipped font");
});

Deno.test("renderPng: a PNG at PNG_SCALE (1.5x), with text drawn (the font is loaded)", async () => {
  const svg = await renderSvg(correlationMatrixSpec(cells, VARS, "Failures and their drivers"));
  const png = await renderPng(svg);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const width = Number(/width="(\d+)"/.exec(svg)![1]);
  const height = Number(/height="(\d+)"/.exec(svg)![1]);
  assert.equal(PNG_SCALE, 1.5);
  assert.deepEqual(pngSize(png), [Math.round(width * PNG_SCALE), Math.round(height * PNG_SCALE)]);

  // text only: without a font resvg draws nothing and the PNG is as small as a blank one
  const blank = `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="60"><rect width="400" height="60" fill="white"/></svg>`;
  const text = blank.replace("</svg>", `<text x="10" y="40" font-family="sans-serif" font-size="24">failure_count 0.46</text></svg>`);
  const [blankPng, textPng] = [await renderPng(blank, 1), await renderPng(text, 1)];
  assert.ok(textPng.byteLength > blankPng.byteLength + 500, `text PNG ${textPng.byteLength} B vs blank ${blankPng.byteLength} B`);
});

Deno.test("report chart: forest plot of the top tests above the matrix, one SVG with both", async () => {
  const spec = correlationReportSpec({
    title: "What moves with failures (failure_count), daily",
    forest: [
      { label: "asset_volume (lag 1)", r: 0.46, lo: 0.28, hi: 0.61, n: 89, q: 0.0002, significant: true },
      { label: "churn (lag 0)", r: -0.12, lo: -0.32, hi: 0.09, n: 90, q: 0.6, significant: false },
    ],
    forestTitle: "Top 2 tests",
    cells,
    variables: VARS,
    matrixTitle: "Correlation matrix",
  }) as Json;
  assert.equal(spec.vconcat.length, 2);
  assert.equal(spec.vconcat[0].$schema, undefined, "sub-specs carry no top-level-only keys");
  const svg = await renderSvg(spec);
  for (const label of ["asset_volume (lag 1)", "churn (lag 0)", "q &lt; 0.05", "not significant", "Correlation matrix", "is_monday"]) {
    assert.ok(svg.includes(label), `text ${label} in the SVG`);
  }
  const noForest = correlationReportSpec({ title: "T", forest: [], forestTitle: "", cells, variables: VARS, matrixTitle: "M" }) as Json;
  assert.equal(noForest.vconcat.length, 1);
});

Deno.test("chartContent: SVG resource + PNG image; render failures become notes, not errors", async () => {
  const spec = correlationMatrixSpec(cells, VARS, "M");
  const uri = "chart://analyze_correlations/matrix.svg";
  const ok = await chartContent(spec, uri);
  assert.deepEqual(ok.content.map((c: Json) => c.type), ["resource", "image"]);
  const [res, img] = ok.content as Json[];
  assert.deepEqual([res.resource.uri, res.resource.mimeType], [uri, "image/svg+xml"]);
  assert.equal(img.mimeType, "image/png");
  assert.deepEqual(ok.notes, []);

  const noPng = await chartContent(spec, uri, { svg: renderSvg, png: () => Promise.reject(new Error("wasm missing")) });
  assert.deepEqual(noPng.content.map((c: Json) => c.type), ["resource"]);
  assert.deepEqual(noPng.notes, ["The PNG version of the chart could not be rendered (wasm missing); the SVG is attached."]);

  const nothing = await chartContent(spec, uri, { svg: () => Promise.reject(new Error("bad spec")), png: renderPng });
  assert.deepEqual(nothing.content, []);
  assert.match(nothing.notes[0], /^The chart could not be rendered \(bad spec\)/);
});
