/**
 * bench/nab_score.ts (NAB scoring) on hand-computed cases: a file of 1,000 rows (probationary period
 * 150 rows) with one window at rows 400–499 (width 100). The scaled sigmoid 2/(1 + e^{5x}) − 1 is
 * written here as tanh(−5x/2), so the expected numbers do not reuse the module's formula.
 */
import nodeAssert from "node:assert/strict";
import {
  eventCounts,
  eventMetrics,
  normalizedScore,
  probationaryLength,
  PROFILES,
  scaledSigmoid,
  scoreFile,
  sweepThreshold,
  windowsToIndexes,
} from "../bench/nab_score.ts";

const N = 1000;
const WIN = [{ left: 400, right: 499 }];
const STD = PROFILES.standard;
const MAX_TP = Math.tanh(2.5); // σ(−1), a detection at the window's first row

function at(...rows: number[]): boolean[] {
  const d = new Array<boolean>(N).fill(false);
  for (const r of rows) d[r] = true;
  return d;
}
function near(actual: number, expected: number, what: string): void {
  nodeAssert.ok(Math.abs(actual - expected) < 1e-12, `${what}: got ${actual}, expected ${expected}`);
}

Deno.test("probationary period: 15% of the rows, at most 750", () => {
  nodeAssert.equal(probationaryLength(1000), 150);
  nodeAssert.equal(probationaryLength(1243), 186);
  nodeAssert.equal(probationaryLength(10000), 750);
});

Deno.test("scaled sigmoid: 0.98661 at −1, 0 at the window's end, −1 from 3 on", () => {
  near(scaledSigmoid(-1), 0.9866142981514303, "σ(−1)");
  near(scaledSigmoid(0), 0, "σ(0)");
  near(scaledSigmoid(2.999), -Math.tanh(2.5 * 2.999), "σ(2.999)");
  nodeAssert.equal(scaledSigmoid(3), -1);
});

Deno.test("a detection at the window's first row scores tp = 1; the null detector −1; normalised 100 and 0", () => {
  const s = scoreFile(at(400), WIN, STD);
  near(s.raw, 1, "raw");
  nodeAssert.deepEqual([s.windows, s.detected, s.falsePositives], [1, 1, 0]);
  const none = scoreFile(at(), WIN, STD);
  near(none.raw, -1, "null raw");
  near(normalizedScore(s.raw, none.raw, 1, STD), 100, "perfect normalised");
  near(normalizedScore(none.raw, none.raw, 1, STD), 0, "null normalised");
});

Deno.test("a detection at the window's last row scores σ(−1/100)/σ(−1); only the first detection counts", () => {
  near(scoreFile(at(499), WIN, STD).raw, Math.tanh(2.5 / 100) / MAX_TP, "last row");
  near(scoreFile(at(450), WIN, STD).raw, Math.tanh(2.5 * 50 / 100) / MAX_TP, "row 450: relative position −50/100");
  // a later detection in the same window adds nothing, an earlier one decides
  near(scoreFile(at(450, 499), WIN, STD).raw, Math.tanh(2.5 * 50 / 100) / MAX_TP, "450 and 499");
});

Deno.test("false positives: −fp before any window, scaled by the distance after one, −fp from 3 widths on", () => {
  near(scoreFile(at(300), WIN, STD).raw, -1 - 0.11, "before the window");
  // row 549 is 50 rows after the window's last row; width − 1 = 99
  near(scoreFile(at(549), WIN, STD).raw, -1 - 0.11 * Math.tanh(2.5 * 50 / 99), "50 rows after");
  near(scoreFile(at(900), WIN, STD).raw, -1 - 0.11, "401 rows after (≥ 3 × 99)");
  nodeAssert.equal(scoreFile(at(300, 549, 900), WIN, STD).falsePositives, 3);
  near(scoreFile(at(300), WIN, PROFILES.reward_low_FP_rate).raw, -1 - 0.22, "low-FP profile");
  near(scoreFile(at(), WIN, PROFILES.reward_low_FN_rate).raw, -2, "low-FN profile: a missed window costs 2");
});

Deno.test("detections in the probationary period are ignored; a window inside it is not scored", () => {
  near(scoreFile(at(100), WIN, STD).raw, -1, "detection at row 100");
  const early = [{ left: 50, right: 120 }];
  const s = scoreFile(at(60, 300), early, STD);
  nodeAssert.equal(s.windows, 0);
  // row 300: 180 rows after the early window's last row (width − 1 = 70): 2.57 widths, not yet the full −fp
  near(s.raw, -0.11 * Math.tanh(2.5 * 180 / 70), "only the false positive at row 300");
});

Deno.test("sweepThreshold finds NAB's best threshold over several files", () => {
  const scores = new Array<number | null>(N).fill(0.1);
  scores[300] = 0.95; // a false positive above the true detection
  scores[400] = 0.9;
  // thresholds: none → −1 −1; 0.95 → −1.11 −1; 0.9 → 0.89 + 0.89; 0.1 → hundreds of false positives
  const best = sweepThreshold([{ scores, windows: WIN }, { scores, windows: WIN }], STD);
  nodeAssert.equal(best.threshold, 0.9);
  near(best.raw, 2 * (1 - 0.11), "raw at 0.9");
  const quiet = sweepThreshold([{ scores: new Array(N).fill(0.5), windows: WIN }], STD);
  nodeAssert.deepEqual(quiet, { threshold: Infinity, raw: -1 }, "a constant score: no detection is best");
});

Deno.test("event-level metrics: a window with any detection is a TP, runs outside windows are FP events", () => {
  // 400, 401 in the window; 600 and 602 one run (2 rows apart), 610 another (8 after 602); 100 in probation
  const c = eventCounts(at(100, 400, 401, 600, 602, 610), WIN);
  nodeAssert.deepEqual(c, { tp: 1, fn: 0, fp: 2 });
  const m = eventMetrics(c);
  near(m.precision, 1 / 3, "precision");
  near(m.recall, 1, "recall");
  near(m.f1, 0.5, "F1");
  nodeAssert.deepEqual(eventMetrics(eventCounts(at(), WIN)), { tp: 0, fn: 1, fp: 0, precision: 1, recall: 0, f1: 0 });
});

Deno.test("windowsToIndexes maps NAB's window timestamps to rows, and refuses an unknown one", () => {
  const ts = ["2014-01-01 00:00:00", "2014-01-01 00:05:00", "2014-01-01 00:10:00"];
  nodeAssert.deepEqual(windowsToIndexes(ts, [["2014-01-01 00:05:00", "2014-01-01 00:10:00"]]), [{ left: 1, right: 2 }]);
  nodeAssert.throws(() => windowsToIndexes(ts, [["2014-01-01 00:05:00", "2014-01-02 00:00:00"]]), /Cannot map the NAB window/);
});
