/**
 * The paired one-standard-error rule, recomputed from a model answer's reported fold losses (not a
 * test file itself): used by the tests of analytics.build_predictive_model's daily and per-attempt
 * models to check that the candidate SQL chose is the one the rule's definition picks.
 *
 * @example
 * assert.equal(m.chosen, oneSe(m.candidates));
 */
import assert from "node:assert/strict";

// deno-lint-ignore no-explicit-any
type Json = any;

/**
 * The candidate model_type auto ends with: the paired one-SE rule's choice, unless it is not a
 * baseline and does not beat the better baseline (the lower mean loss among `baselines`) by the
 * answer's baseline_test (its Diebold–Mariano test, checked against statsmodels in
 * tests/baseline_test_test.ts) — then that baseline. Also checks baseline_test's verdict against its
 * own t and critical value.
 */
export function autoChoice(m: Json, baselines: string[]): string {
  const bt = m.baseline_test;
  assert.equal(bt.beats, bt.gain > 0 && (bt.se === 0 || bt.t > bt.t_crit), `baseline_test ${JSON.stringify(bt)}`);
  const choice = oneSe(m.candidates);
  if (baselines.includes(choice) || bt.beats) return choice;
  return m.candidates.filter((c: Json) => baselines.includes(c.name)).sort((a: Json, b: Json) => a.loss_mean - b.loss_mean || a.simplicity - b.simplicity)[0].name;
}

/** The candidate the paired one-SE rule picks from the reported fold losses (computed here, not read from vs_best). */
export function oneSe(candidates: Json[]): string {
  const best = [...candidates].sort((a, b) => a.loss_mean - b.loss_mean || a.simplicity - b.simplicity)[0];
  const within = (c: Json) => {
    const d: number[] = c.fold_losses.map((l: number, i: number) => l - best.fold_losses[i]);
    const mean = d.reduce((a, b) => a + b, 0) / d.length;
    const se = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / (d.length - 1) / d.length);
    assert.ok(Math.abs(c.vs_best.mean - mean) <= 1e-9 * Math.max(1, Math.abs(mean)) && Math.abs(c.vs_best.se - se) <= 1e-9 * Math.max(1, se),
      `${c.name}: vs_best ${JSON.stringify(c.vs_best)} vs ${mean} ± ${se}`);
    return mean <= se;
  };
  return [...candidates].sort((a, b) => a.simplicity - b.simplicity).find(within).name;
}
