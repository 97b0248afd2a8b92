/**
 * The synthetic multi-dimensional root-cause benchmark of RiskLoc (Kalander 2022, arXiv 2205.10004;
 * github.com/shaido987/riskloc, generate_dataset.py), as a plain module: `generateCases` returns
 * cases of leaves (every combination of dimension values, each with a real and a forecast value)
 * and the set of cuboids whose leaves were made anomalous. No I/O; seeded, so a seed is a data set.
 *
 * One case, as in generate_dataset.py (S = its defaults, L = the README's L command):
 *   - zero share z ~ U[0, 0.25], noise σ ~ U[0, 0.25] (L: U[0, 0.1]); 1–3 anomalies (L: 1–5);
 *     each anomaly: layer (number of its dimensions) ~ U{1..#dims} (L: all dimensions), elements
 *     (cuboids sharing those dimensions) ~ U{1..3} (L: 1), severity ~ U[0.2, 1] + σ (L: U[0.5, 1] + σ),
 *     deviation ~ U[0, 0.1] (L: 0);
 *   - real = Weibull(α)·100 with α ~ U[0.5, 1]; a leaf is set to 0 with probability z;
 *     forecast = real·(1 + N(0, σ)); real and forecast swapped with probability ½ per leaf;
 *   - direction = real above forecast in total (1) or not (0); in every leaf of an anomalous cuboid
 *     the noise is reset and one side scaled: direction 0 → real = forecast·max(1 − r, 0), direction
 *     1 → forecast = real·max(1 − r, 0), r ~ N(severity, deviation) per leaf. A zero leaf stays 0/0
 *     (zero leaves are never anomalous), and an element of the last layer (a single leaf) is never a
 *     zero leaf.
 *   - placement as generate_dataset.py: a dimension set already used by an earlier anomaly is not
 *     reused (except the last layer), values used by an earlier anomaly in a shared dimension are
 *     not reused, elements are unique. Two departures, both stated: generate_dataset.py lets two
 *     anomalies over disjoint dimension sets (a=a1 and b=b2) share leaves (a1&b2); here they never
 *     overlap — a placement that shares no dimension with an earlier anomaly is redrawn (the layer
 *     redrawn after 100 failed placements; after 20 layers the anomaly is dropped, when the earlier
 *     ones leave no room). And a value pushed below 0 by the noise is set to
 *     0 on both sides (generate_dataset.py clips only the forecast, so a swapped leaf can have a
 *     negative real value, which an additive KPI never has).
 * The PRNG is the demo's (src/demo/random.ts: sfc32 seeded through splitmix32, not numpy's PCG64:
 * the cases are the same distribution as RiskLoc's published S and L sets, not the same draws).
 *
 * @example
 * const [c] = generateCases("S", 1, 20261203);
 * c.leaves.length;   // 48000
 * c.truth;           // e.g. [["a3", null, null, "d5", null]] — aligned with c.dims, null = any value
 */
import { Rng } from "../src/demo/random.ts";

export { Rng };

/** An integer in lo..hi, both included. */
const rngInteger = (rng: Rng, lo: number, hi: number): number => lo + rng.int(hi - lo + 1);

/** The two published settings. */
export type Shape = "S" | "S3" | "L";

export interface ShapeSettings {
  /** number of values of each dimension */
  sizes: number[];
  noise: [number, number];
  severity: [number, number];
  deviation: [number, number];
  anomalies: [number, number];
  elements: [number, number];
  onlyLastLayer: boolean;
  /** most dimensions an anomaly fixes (default: all); S3 = the wording, "a combination of 1–3 dimension values" */
  maxLayer?: number;
}

export const SHAPES: Record<Shape, ShapeSettings> = {
  S: { sizes: [10, 12, 10, 8, 5], noise: [0, 0.25], severity: [0.2, 1], deviation: [0, 0.1], anomalies: [1, 3], elements: [1, 3], onlyLastLayer: false },
  S3: { sizes: [10, 12, 10, 8, 5], noise: [0, 0.25], severity: [0.2, 1], deviation: [0, 0.1], anomalies: [1, 3], elements: [1, 3], onlyLastLayer: false, maxLayer: 3 },
  L: { sizes: [10, 24, 10, 15], noise: [0, 0.1], severity: [0.5, 1], deviation: [0, 0], anomalies: [1, 5], elements: [1, 1], onlyLastLayer: true },
};

const ZERO_RATE: [number, number] = [0, 0.25];
const WEIBULL_ALPHA: [number, number] = [0.5, 1];

export interface Leaf {
  vals: string[];
  real: number;
  forecast: number;
}

export interface RcaCase {
  /** "S", "L", or "custom" for settings passed in */
  shape: Shape | "custom";
  /** dimension names a, b, c, … */
  dims: string[];
  /** every combination of dimension values (value j of dimension "a" is "a<j>", j from 1) */
  leaves: Leaf[];
  /** the anomalous cuboids, each aligned with dims: a value, or null for any value */
  truth: (string | null)[][];
  /** drawn parameters, for reports */
  meta: { zeroRate: number; noise: number; direction: 0 | 1; layers: number[]; severities: number[] };
}

interface Anomaly {
  /** dimension indexes, ascending */
  dims: number[];
  /** one value index (from 1) per dimension, per element */
  elements: number[][];
}

/** Leaf index of a full combination (value indexes from 1), row-major like itertools.product. */
function leafIndex(sizes: number[], combo: number[]): number {
  return combo.reduce((acc, v, i) => acc * sizes[i] + (v - 1), 0);
}

/** Whether two anomaly elements can share a leaf: equal in every dimension they both fix. */
function overlaps(a: Anomaly, ea: number[], b: Anomaly, eb: number[]): boolean {
  return a.dims.every((d, i) => {
    const j = b.dims.indexOf(d);
    return j < 0 || eb[j] === ea[i];
  });
}

function placeAnomaly(
  rng: Rng,
  sizes: number[],
  layer: number,
  nElements: number,
  placed: Anomaly[],
  isZero: (leaf: number) => boolean,
): Anomaly | null {
  const nd = sizes.length;
  const lastLayer = layer === nd;
  for (let attempt = 0; attempt < 100; attempt++) {
    const dims = rng.sample([...Array(nd).keys()], layer);
    if (!lastLayer && placed.some((p) => p.dims.join() === dims.join())) continue;
    const columns: number[][] = [];
    for (const d of dims) {
      const used = new Set(placed.flatMap((p) => {
        const j = p.dims.indexOf(d);
        return j < 0 ? [] : p.elements.map((e) => e[j]);
      }));
      const free = [...Array(sizes[d]).keys()].map((v) => v + 1).filter((v) => !used.has(v));
      if (free.length === 0) break;
      columns.push(Array.from({ length: nElements }, () => free[Math.floor(rng.uniform() * free.length)]));
    }
    if (columns.length < dims.length) continue;
    const elements = Array.from({ length: nElements }, (_, i) => columns.map((c) => c[i]));
    if (new Set(elements.map((e) => e.join())).size < nElements) continue;
    const candidate = { dims, elements };
    if (placed.some((p) => p.elements.some((pe) => elements.some((e) => overlaps(candidate, e, p, pe))))) continue;
    if (lastLayer && elements.some((e) => isZero(leafIndex(sizes, e)))) continue;
    return candidate;
  }
  return null;
}

/**
 * One case of a shape (see the module header), or of settings of one's own (smaller grids for tests).
 *
 * @example
 * const rng = new Rng(5);
 * const small = generateCase({ ...SHAPES.S, sizes: [5, 4, 3] }, rng);   // 60 leaves
 */
export function generateCase(shape: Shape | ShapeSettings, rng: Rng): RcaCase {
  const set = typeof shape === "string" ? SHAPES[shape] : shape;
  const { sizes } = set;
  const nd = sizes.length;
  const dims = sizes.map((_, i) => String.fromCharCode(97 + i));

  const zeroRate = rng.between(...ZERO_RATE);
  const noise = rng.between(...set.noise);
  const nAnomalies = rngInteger(rng, ...set.anomalies);
  const props = Array.from({ length: nAnomalies }, () => ({
    layer: set.onlyLastLayer ? nd : rngInteger(rng, 1, Math.min(nd, set.maxLayer ?? nd)),
    elements: rngInteger(rng, ...set.elements),
    severity: rng.between(...set.severity) + noise,
    deviation: rng.between(...set.deviation),
  }));

  const n = sizes.reduce((a, b) => a * b, 1);
  const real = new Float64Array(n);
  const forecast = new Float64Array(n);
  const alpha = rng.between(...WEIBULL_ALPHA);
  for (let i = 0; i < n; i++) real[i] = rng.weibull(alpha) * 100;
  for (let i = 0; i < n; i++) if (rng.uniform() <= zeroRate) real[i] = 0;
  for (let i = 0; i < n; i++) forecast[i] = real[i] + real[i] * rng.normal(0, noise);
  for (let i = 0; i < n; i++) {
    if (rng.uniform() < 0.5) [real[i], forecast[i]] = [forecast[i], real[i]];
    real[i] = Math.max(real[i], 0);
    forecast[i] = Math.max(forecast[i], 0);
  }

  const placed: Anomaly[] = [];
  const kept: typeof props = [];
  for (const p of props) {
    let a = placeAnomaly(rng, sizes, p.layer, p.elements, placed, (i) => real[i] === 0 || forecast[i] === 0);
    // no placement disjoint from the earlier anomalies at this layer: draw the layer again (up to
    // 20 times; the earlier anomalies can leave no room at any layer, e.g. every value of the one
    // dimension they share used — then this anomaly is dropped)
    for (let redraw = 0; a === null && redraw < 20; redraw++) {
      p.layer = set.onlyLastLayer ? nd : rngInteger(rng, 1, Math.min(nd, set.maxLayer ?? nd));
      a = placeAnomaly(rng, sizes, p.layer, p.elements, placed, (i) => real[i] === 0 || forecast[i] === 0);
    }
    if (a === null) continue;
    placed.push(a);
    kept.push(p);
  }

  let sumReal = 0, sumForecast = 0;
  for (let i = 0; i < n; i++) [sumReal, sumForecast] = [sumReal + real[i], sumForecast + forecast[i]];
  const direction: 0 | 1 = sumReal > sumForecast ? 1 : 0;

  const strides = sizes.map((_, i) => sizes.slice(i + 1).reduce((a, b) => a * b, 1));
  const combo = new Array<number>(nd);
  placed.forEach((a, k) => {
    const { severity, deviation } = kept[k];
    for (let i = 0; i < n; i++) {
      for (let d = 0; d < nd; d++) combo[d] = Math.floor(i / strides[d]) % sizes[d] + 1;
      if (!a.elements.some((e) => a.dims.every((d, j) => combo[d] === e[j]))) continue;
      const scale = Math.max(1 - rng.normal(severity, deviation), 0);
      if (direction === 0) real[i] = forecast[i] * scale;
      else forecast[i] = real[i] * scale;
    }
  });

  const leaves: Leaf[] = new Array(n);
  for (let i = 0; i < n; i++) {
    leaves[i] = {
      vals: dims.map((name, d) => name + (Math.floor(i / strides[d]) % sizes[d] + 1)),
      real: real[i],
      forecast: forecast[i],
    };
  }
  const truth = placed.flatMap((a) =>
    a.elements.map((e) => dims.map((name, d) => {
      const j = a.dims.indexOf(d);
      return j < 0 ? null : name + e[j];
    }))
  );
  return {
    shape: typeof shape === "string" ? shape : "custom",
    dims,
    leaves,
    truth,
    meta: { zeroRate, noise, direction, layers: kept.map((p) => p.layer), severities: kept.map((p) => p.severity) },
  };
}

/**
 * `count` cases of a shape from one seed (case i is the same whatever `count` is).
 *
 * @example
 * for (const c of generateCases("L", 100, 7)) console.log(c.truth.length);
 */
export function generateCases(shape: Shape, count: number, seed: number): RcaCase[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => generateCase(shape, rng));
}

/** A cuboid as one comparable key: "a=a3&d=d5" (the fixed dimensions in dims order). */
export function cuboidKey(dims: string[], cuboid: (string | null)[]): string {
  return dims.flatMap((d, i) => cuboid[i] === null ? [] : [`${d}=${cuboid[i]}`]).join("&");
}
