/**
 * The Numenta Anomaly Benchmark's scoring (NAB v1.x, nab/sweeper.py and nab/runner.py of
 * github.com/numenta/NAB), re-implemented from its published description and code for bench/nab.ts —
 * plus event-level precision / recall / F1. No database: plain functions over row indexes.
 *
 * NAB, as implemented here:
 *   - a file of n rows has a probationary period of the first min(⌊0.15·n⌋, 0.15·5000) rows: detections
 *     there are ignored, and a window with no row after it is not scored;
 *   - a window [left, right] (row indexes, inclusive, width w = right − left + 1) is a true positive when
 *     at least one detection falls in it: it scores tp · σ(−(right − i + 1)/w) / σ(−1) for its
 *     best (= earliest) detection i, where σ is the scaled sigmoid σ(x) = 2/(1 + e^{5x}) − 1 (−1 for
 *     x ≥ 3); so a detection at the window's first row scores tp, one at its last row tp·σ(−1/w)/σ(−1);
 *     a window without a detection scores −fn;
 *   - every detection outside the windows scores fp · σ(|prevRight − i| / (prevWidth − 1)), where prev is
 *     the last window that ended before i (−fp before any window): just after a window it costs almost
 *     nothing, far after it (≥ 3 widths) the full −fp;
 *   - a category's score is the sum over its files; normalised = 100·(raw − null)/(perfect − null), null
 *     = the score of no detection at all (−fn per scored window), perfect = tp × number of windows;
 *   - NAB optimises the threshold per detector and profile over the corpus: sweepThreshold does that
 *     sweep (all points of all files sorted by anomaly score, detections = score ≥ threshold).
 * Profiles (NAB config/profiles.json): standard tp 1 / fp 0.11 / fn 1, reward_low_FP_rate 1 / 0.22 / 1,
 * reward_low_FN_rate 1 / 0.11 / 2.
 *
 * @example
 * const w = [{ left: 400, right: 499 }];
 * const raw = scoreFile(detections, w, PROFILES.standard).raw;   // 1.0 for a detection at row 400
 */

/** Weights of one NAB application profile. */
export interface NabProfile {
  tp: number;
  fp: number;
  fn: number;
}

/** NAB's three profiles (config/profiles.json). */
export const PROFILES: Record<"standard" | "reward_low_FP_rate" | "reward_low_FN_rate", NabProfile> = {
  standard: { tp: 1, fp: 0.11, fn: 1 },
  reward_low_FP_rate: { tp: 1, fp: 0.22, fn: 1 },
  reward_low_FN_rate: { tp: 1, fp: 0.11, fn: 2 },
};

/** A labelled anomaly window as row indexes (0-based, both inclusive). */
export interface NabWindow {
  left: number;
  right: number;
}

/** NAB's scaled sigmoid: 2/(1 + e^{5x}) − 1, and −1 from x = 3 on (sweeper.py). */
export function scaledSigmoid(x: number): number {
  return x >= 3 ? -1 : 2 / (1 + Math.exp(5 * x)) - 1;
}

/** Rows of the probationary period of a file of n rows: min(⌊0.15·n⌋, 750). */
export function probationaryLength(n: number): number {
  return Math.min(Math.floor(0.15 * n), 0.15 * 5000);
}

/** Windows given as timestamps, mapped to row indexes; throws when a limit is not a row's timestamp. */
export function windowsToIndexes(timestamps: string[], limits: [string, string][]): NabWindow[] {
  const at = new Map(timestamps.map((t, i) => [t, i]));
  return limits.map(([a, b]) => {
    const left = at.get(a), right = at.get(b);
    if (left === undefined || right === undefined) {
      throw new Error(`Cannot map the NAB window ${a} – ${b}: a limit is not a timestamp of the file`);
    }
    return { left, right };
  });
}

/** What one row contributes when it is a detection: its weight, and its window (null outside, −1 in probation). */
export interface RowWeight {
  weight: number;
  window: number | null;
}

/** NAB's per-row weights (sweeper.calcSweepScore) of a file of n rows under a profile. */
export function rowWeights(n: number, windows: NabWindow[], profile: NabProfile): RowWeight[] {
  const maxTp = scaledSigmoid(-1);
  const probation = probationaryLength(n);
  const out: RowWeight[] = [];
  let prev: NabWindow | null = null;
  for (let i = 0; i < n; i++) {
    const k = windows.findIndex((w) => w.left <= i && i <= w.right);
    let weight: number;
    if (k >= 0) {
      const w = windows[k];
      weight = scaledSigmoid(-(w.right - i + 1) / (w.right - w.left + 1)) * profile.tp / maxTp;
    } else {
      const past = prev === null ? 3 : Math.abs(prev.right - i) / (prev.right - prev.left);
      weight = scaledSigmoid(past) * profile.fp;
    }
    out.push({ weight, window: i < probation ? -1 : k >= 0 ? k : null });
    if (k >= 0 && i === windows[k].right) prev = windows[k];
  }
  return out;
}

/** One file's NAB result for a set of detections. */
export interface FileScore {
  /** The raw score: Σ window scores + Σ false-positive weights. */
  raw: number;
  /** Scored windows (with at least one row after the probationary period). */
  windows: number;
  /** Windows with a detection. */
  detected: number;
  /** Detections outside every window (after the probationary period). */
  falsePositives: number;
}

/** NAB's score of one file: detections[i] true when row i is a detection. */
export function scoreFile(detections: boolean[], windows: NabWindow[], profile: NabProfile): FileScore {
  const weights = rowWeights(detections.length, windows, profile);
  const best = new Map<number, number>();
  let raw = 0, falsePositives = 0;
  for (const [i, r] of weights.entries()) {
    if (r.window === -1) continue;
    if (r.window !== null) {
      if (!best.has(r.window)) best.set(r.window, -profile.fn);
      if (detections[i]) best.set(r.window, Math.max(best.get(r.window)!, r.weight));
    } else if (detections[i]) {
      raw += r.weight;
      falsePositives++;
    }
  }
  const detected = [...best.values()].filter((v) => v !== -profile.fn).length;
  for (const v of best.values()) raw += v;
  return { raw, windows: best.size, detected, falsePositives };
}

/** 100·(raw − null)/(perfect − null): 0 = the null detector, 100 = every window at its first row. */
export function normalizedScore(raw: number, nullRaw: number, windowCount: number, profile: NabProfile): number {
  const perfect = windowCount * profile.tp;
  return 100 * (raw - nullRaw) / (perfect - nullRaw);
}

/** One file for a threshold sweep: its anomaly scores (null = none) and windows. */
export interface SweepFile {
  scores: (number | null)[];
  windows: NabWindow[];
}

/**
 * NAB's threshold optimisation (sweeper.calcScoreByThreshold over a whole corpus): the threshold t
 * (detections = score ≥ t) with the highest summed raw score, and that score. Thresholds tried: every
 * distinct score, and "above the maximum" (no detection).
 */
export function sweepThreshold(files: SweepFile[], profile: NabProfile): { threshold: number; raw: number } {
  const points: { score: number; weight: number; key: string | null }[] = [];
  let raw = 0;
  for (const [f, file] of files.entries()) {
    const weights = rowWeights(file.scores.length, file.windows, profile);
    const seen = new Set<number>();
    for (const [i, r] of weights.entries()) {
      if (r.window === -1) continue;
      if (r.window !== null && !seen.has(r.window)) {
        seen.add(r.window);
        raw -= profile.fn;
      }
      const s = file.scores[i];
      if (s !== null && Number.isFinite(s)) points.push({ score: s, weight: r.weight, key: r.window === null ? null : `${f}:${r.window}` });
    }
  }
  points.sort((a, b) => b.score - a.score);
  const windowScore = new Map<string, number>();
  let best = { threshold: Infinity, raw };
  for (let i = 0; i < points.length; i++) {
    const p = points[i];
    if (p.key === null) raw += p.weight;
    else {
      const before = windowScore.get(p.key) ?? -profile.fn;
      const after = Math.max(before, p.weight);
      windowScore.set(p.key, after);
      raw += after - before;
    }
    // a threshold is complete once every point with this score is in
    if ((i + 1 === points.length || points[i + 1].score !== p.score) && raw > best.raw) best = { threshold: p.score, raw };
  }
  return best;
}

/** Event-level counts and rates of one set of detections. */
export interface EventMetrics {
  /** Windows with at least one detection. */
  tp: number;
  /** Windows without one. */
  fn: number;
  /** False-positive events: runs of detections outside every window, a new run after a gap of more than 3 rows. */
  fp: number;
  precision: number;
  recall: number;
  f1: number;
}

/**
 * Event-level precision / recall / F1: a window (scored as NAB scores it: not entirely probationary)
 * counts as detected when any detection after the probationary period falls in it; detections outside
 * every window after the probationary period are grouped into false-positive events (consecutive ones
 * at most 3 rows apart are one event, the detector's own event rule). precision = tp/(tp + fp) (1 when
 * nothing was detected), recall = tp/(tp + fn), F1 their harmonic mean (0 when both are 0).
 */
export function eventCounts(detections: boolean[], windows: NabWindow[]): { tp: number; fn: number; fp: number } {
  const probation = probationaryLength(detections.length);
  let tp = 0, fn = 0, fp = 0, last = -Infinity;
  for (const w of windows) {
    if (w.right < probation) continue;
    let hit = false;
    for (let i = Math.max(w.left, probation); i <= w.right; i++) hit ||= detections[i];
    if (hit) tp++;
    else fn++;
  }
  for (let i = probation; i < detections.length; i++) {
    if (!detections[i] || windows.some((w) => w.left <= i && i <= w.right)) continue;
    if (i - last > 3) fp++;
    last = i;
  }
  return { tp, fn, fp };
}

/** Precision, recall and F1 of summed event counts (see eventCounts). */
export function eventMetrics(c: { tp: number; fn: number; fp: number }): EventMetrics {
  const precision = c.tp + c.fp === 0 ? 1 : c.tp / (c.tp + c.fp);
  const recall = c.tp + c.fn === 0 ? 1 : c.tp / (c.tp + c.fn);
  const f1 = precision + recall === 0 ? 0 : 2 * precision * recall / (precision + recall);
  return { ...c, precision, recall, f1 };
}
