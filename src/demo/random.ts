/**
 * A small seeded pseudo-random generator for the demo data (sfc32, seeded through splitmix32),
 * with the distributions the generator needs: uniform, normal, log-normal, gamma, Poisson,
 * negative binomial, Weibull, categorical choice and sampling without replacement. The RCA
 * benchmark's generator (bench/rca_generate.ts) draws from it too.
 *
 * Reproducibility across runs and JavaScript engines: the generator state is 32-bit integer
 * arithmetic, and every transcendental function used here (`ln`, `exp`) is computed from
 * + − × ÷ only, which IEEE 754 rounds identically everywhere. `Math.log`, `Math.exp`,
 * `Math.pow` and `Math.cos` are not required to be correctly rounded and may differ in the last
 * bit between engines, so they are never used. No `Math.random`, no clock.
 *
 * @example
 * const rng = Rng.derive(1, "commits");
 * rng.poisson(4.2);        // → a non-negative integer, the same on every run
 * rng.negbin(15, 6);       // → mean 15, standard deviation 6
 */

const LN2 = 0.6931471805599453;
const LN2_HI = 6.93147180369123816490e-01;
const LN2_LO = 1.90821492927058770002e-10;
const TWO_32 = 4294967296;
const TWO_53 = 9007199254740992;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0; // word holding sign+exponent

/** 2^k for integer k in [-1022, 1023], built from the bit pattern (exact). */
function pow2(k: number): number {
  u32[HI] = (k + 1023) << 20;
  u32[1 - HI] = 0;
  return f64[0];
}

/**
 * Natural logarithm of x > 0 from basic arithmetic only (relative error ~1e-16).
 * Returns -Infinity for 0 and NaN for negative input.
 */
export function ln(x: number): number {
  if (!(x > 0)) return x === 0 ? -Infinity : NaN;
  if (x === Infinity) return Infinity;
  let e = 0;
  if (x < 2.2250738585072014e-308) { // subnormal: scale into the normal range first
    x *= TWO_53;
    e = -53;
  }
  f64[0] = x;
  const hi = u32[HI];
  e += ((hi >>> 20) & 0x7ff) - 1023;
  u32[HI] = (hi & 0x000fffff) | 0x3ff00000; // mantissa m in [1, 2)
  let m = f64[0];
  if (m > Math.SQRT2) {
    m /= 2;
    e += 1;
  }
  // ln m = 2 atanh(f), f = (m-1)/(m+1), |f| <= 0.1716: the odd series converges fast.
  const f = (m - 1) / (m + 1);
  const f2 = f * f;
  let term = f;
  let sum = f;
  for (let n = 3; n <= 41; n += 2) {
    term *= f2;
    sum += term / n;
  }
  return e * LN2_HI + (2 * sum + e * LN2_LO);
}

/** e^x from basic arithmetic only (relative error ~1e-16); 0 below -745, Infinity above 709.78. */
export function exp(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x > 709.782712893384) return Infinity;
  if (x < -745.1332191019411) return 0;
  const k = Math.round(x / LN2);
  const r = (x - k * LN2_HI) - k * LN2_LO; // |r| <= ln2/2
  // Taylor series of e^r, Horner form, to degree 20 (|r|^21/21! < 1e-22).
  let p = 1;
  for (let n = 20; n >= 1; n--) p = 1 + (r * p) / n;
  if (k > 1023) return p * pow2(1023) * pow2(k - 1023);
  if (k < -1022) return p * pow2(k + 1022) * pow2(-1022);
  return p * pow2(k);
}

/** ln Γ(x) for x > 0 (Stirling series after shifting x above 10; absolute error < 1e-13). */
export function lnGamma(x: number): number {
  let shift = 0;
  while (x < 10) {
    shift -= ln(x);
    x += 1;
  }
  const x2 = x * x;
  const series = 1 / (12 * x) - 1 / (360 * x * x2) + 1 / (1260 * x2 * x2 * x) - 1 / (1680 * x2 * x2 * x2 * x);
  return shift + (x - 0.5) * ln(x) - x + 0.9189385332046728 + series;
}

/** FNV-1a hash of a string to an unsigned 32-bit integer. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Seeded generator. Construct with `Rng.derive(seed, label)` to get an independent stream per
 * purpose, so that adding draws to one part of the demo never shifts the numbers of another.
 */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  #spare: number | null = null;

  /** A generator seeded from a 32-bit integer through splitmix32. */
  constructor(seed: number) {
    let s = seed | 0;
    const splitmix = () => {
      s = (s + 0x9e3779b9) | 0;
      let t = s ^ (s >>> 16);
      t = Math.imul(t, 0x21f0aaad);
      t ^= t >>> 15;
      t = Math.imul(t, 0x735a2d97);
      return (t ^ (t >>> 15)) >>> 0;
    };
    this.#a = splitmix();
    this.#b = splitmix();
    this.#c = splitmix();
    this.#d = splitmix();
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** The stream for `label` under `seed`: independent of every other label's stream. */
  static derive(seed: number, label: string): Rng {
    return new Rng((Math.imul(seed | 0, 0x9e3779b1) ^ hash32(label)) | 0);
  }

  /** Next raw output, an unsigned 32-bit integer (sfc32). */
  nextUint32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / TWO_53;
  }

  /** Uniform in the open interval (0, 1): safe to take the logarithm of. */
  uniformOpen(): number {
    return (this.nextUint32() + 0.5) / TWO_32;
  }

  /** Uniform in [lo, hi). */
  between(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Integer uniform in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** True with probability p. */
  bernoulli(p: number): boolean {
    return this.uniform() < p;
  }

  /** Normal(mean, sd) by Marsaglia's polar method. */
  normal(mean = 0, sd = 1): number {
    if (this.#spare !== null) {
      const z = this.#spare;
      this.#spare = null;
      return mean + sd * z;
    }
    for (;;) {
      const u = 2 * this.uniform() - 1;
      const v = 2 * this.uniform() - 1;
      const s = u * u + v * v;
      if (s >= 1 || s === 0) continue;
      const k = Math.sqrt((-2 * ln(s)) / s);
      this.#spare = v * k;
      return mean + sd * u * k;
    }
  }

  /** Log-normal: exp(Normal(mu, sigma)). */
  lognormal(mu: number, sigma: number): number {
    return exp(this.normal(mu, sigma));
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -mean * ln(this.uniformOpen());
  }

  /** Gamma(shape, scale) by Marsaglia and Tsang (shape < 1 through the boost u^(1/shape)). */
  gamma(shape: number, scale = 1): number {
    if (shape < 1) {
      const g = this.gamma(shape + 1, 1);
      return scale * g * exp(ln(this.uniformOpen()) / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      const x = this.normal();
      let v = 1 + c * x;
      if (v <= 0) continue;
      v = v * v * v;
      const u = this.uniformOpen();
      if (u < 1 - 0.0331 * x * x * x * x) return scale * d * v;
      if (ln(u) < 0.5 * x * x + d * (1 - v + ln(v))) return scale * d * v;
    }
  }

  /** Poisson(lambda): multiplication method below 30, Hörmann's PTRS above. */
  poisson(lambda: number): number {
    if (!(lambda > 0)) return 0;
    if (lambda < 30) {
      const limit = exp(-lambda);
      let k = 0;
      let p = this.uniform();
      while (p > limit) {
        k++;
        p *= this.uniform();
      }
      return k;
    }
    const slam = Math.sqrt(lambda);
    const loglam = ln(lambda);
    const b = 0.931 + 2.53 * slam;
    const a = -0.059 + 0.02483 * b;
    const invalpha = 1.1239 + 1.1328 / (b - 3.4);
    const vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
      const u = this.uniform() - 0.5;
      const v = this.uniformOpen();
      const us = 0.5 - Math.abs(u);
      const k = Math.floor((2 * a / us + b) * u + lambda + 0.43);
      if (us >= 0.07 && v <= vr) return k;
      if (k < 0 || (us < 0.013 && v > us)) continue;
      if (ln(v) + ln(invalpha) - ln(a / (us * us) + b) <= -lambda + k * loglam - lnGamma(k + 1)) return k;
    }
  }

  /**
   * Negative binomial with the given mean and standard deviation (sd² > mean), drawn as a
   * gamma–Poisson mixture; falls back to Poisson when sd² <= mean.
   */
  negbin(mean: number, sd: number): number {
    const variance = sd * sd;
    if (variance <= mean) return this.poisson(mean);
    const r = (mean * mean) / (variance - mean);
    return this.poisson(this.gamma(r, mean / r));
  }

  /** One element of `items`, uniformly. */
  choice<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** An index drawn with probability proportional to `weights`. */
  weightedIndex(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let x = this.uniform() * total;
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i];
      if (x < 0) return i;
    }
    return weights.length - 1;
  }

  /** Standard Weibull with shape α > 0 (numpy's rng.weibull): (−ln U)^(1/α), U in (0, 1). */
  weibull(alpha: number): number {
    const e = -ln(this.uniformOpen());
    return e > 0 ? exp(ln(e) / alpha) : 0;
  }

  /** `k` distinct items of `xs`, in their original order (a partial Fisher–Yates shuffle). */
  sample<T>(xs: T[], k: number): T[] {
    const idx = xs.map((_, i) => i);
    for (let i = 0; i < k; i++) {
      const j = i + this.int(idx.length - i);
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    return idx.slice(0, k).sort((x, y) => x - y).map((i) => xs[i]);
  }

  /** `n` lower-case hex digits. */
  hex(n: number): string {
    let s = "";
    while (s.length < n) s += this.nextUint32().toString(16).padStart(8, "0");
    return s.slice(0, n);
  }
}
