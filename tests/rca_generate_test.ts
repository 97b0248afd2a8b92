/**
 * The RiskLoc benchmark generator (bench/rca_generate.ts): the properties the benchmark relies on,
 * checked on generated cases of both published shapes.
 */
import nodeAssert from "node:assert/strict";
import { cuboidKey, generateCase, generateCases, type RcaCase, Rng, SHAPES } from "../bench/rca_generate.ts";

const assert = (cond: boolean, what: string) => nodeAssert.ok(cond, what);

/** Whether a leaf (full value list) lies in a cuboid (null = any). */
const inCuboid = (vals: string[], cuboid: (string | null)[]) => cuboid.every((v, i) => v === null || v === vals[i]);
const fixed = (cuboid: (string | null)[]) => cuboid.filter((v) => v !== null).length;
const isZero = (l: { real: number; forecast: number }) => l.real === 0 && l.forecast === 0;

const cases: Record<"S" | "L", RcaCase[]> = { S: generateCases("S", 8, 424242), L: generateCases("L", 8, 424243) };

for (const shape of ["S", "L"] as const) {
  const settings = SHAPES[shape];
  const nLeaves = settings.sizes.reduce((a, b) => a * b, 1);

  Deno.test(`${shape}: every combination of dimension values is one leaf, values finite and ≥ 0`, () => {
    for (const c of cases[shape]) {
      nodeAssert.equal(c.leaves.length, nLeaves);
      nodeAssert.deepEqual(c.dims, settings.sizes.map((_, i) => "abcdefgh"[i]));
      nodeAssert.equal(new Set(c.leaves.map((l) => l.vals.join("|"))).size, nLeaves, "no combination twice");
      c.dims.forEach((d, i) =>
        nodeAssert.equal(new Set(c.leaves.map((l) => l.vals[i])).size, settings.sizes[i], `dimension ${d} has ${settings.sizes[i]} values`)
      );
      assert(c.leaves.every((l) => Number.isFinite(l.real) && Number.isFinite(l.forecast) && l.real >= 0 && l.forecast >= 0),
        "real and forecast finite and ≥ 0");
    }
  });

  Deno.test(`${shape}: zero share drawn in [0, 0.25] and realised (binomial, 5 sd)`, () => {
    for (const c of cases[shape]) {
      const { zeroRate } = c.meta;
      assert(zeroRate >= 0 && zeroRate <= 0.25, `zero rate ${zeroRate} in [0, 0.25]`);
      const share = c.leaves.filter(isZero).length / nLeaves;
      const sd = Math.sqrt(Math.max(zeroRate * (1 - zeroRate), 1e-4) / nLeaves);
      // a leaf whose noisy side fell below 0 (clipped) and then scaled to 0 adds a handful at most
      assert(Math.abs(share - zeroRate) <= 5 * sd + 20 / nLeaves, `zero share ${share} vs drawn ${zeroRate}`);
    }
  });

  Deno.test(`${shape}: noise, number of anomalies and their layers within the published ranges`, () => {
    for (const c of cases[shape]) {
      const { noise, severities, layers } = c.meta;
      assert(noise >= settings.noise[0] && noise <= settings.noise[1], `noise ${noise}`);
      assert(layers.length >= settings.anomalies[0] && layers.length <= settings.anomalies[1], `${layers.length} anomalies`);
      assert(severities.every((s) => s >= settings.severity[0] + noise && s <= settings.severity[1] + noise), "severity = U[range] + noise");
      assert(c.truth.length >= layers.length && c.truth.length <= layers.length * settings.elements[1], "1..max elements per anomaly");
      assert(c.truth.every((t) => layers.includes(fixed(t))), "every true cuboid sits in a drawn layer");
      nodeAssert.equal(new Set(c.truth.map((t) => cuboidKey(c.dims, t))).size, c.truth.length, "true cuboids are distinct");
    }
  });

  Deno.test(`${shape}: anomalies never overlap`, () => {
    for (const c of cases[shape]) {
      for (const l of c.leaves) {
        const n = c.truth.filter((t) => inCuboid(l.vals, t)).length;
        assert(n <= 1, `leaf ${l.vals.join("&")} lies in ${n} true cuboids`);
      }
    }
  });

  Deno.test(`${shape}: zero leaves are never anomalous; anomalous leaves deviate in the case's direction`, () => {
    for (const c of cases[shape]) {
      const anomalous = c.leaves.filter((l) => c.truth.some((t) => inCuboid(l.vals, t)));
      assert(anomalous.length > 0, "some leaf is anomalous");
      // a last-layer element (one leaf) is never a zero leaf
      for (const t of c.truth.filter((t) => fixed(t) === c.dims.length)) {
        const leaf = c.leaves.find((l) => inCuboid(l.vals, t))!;
        assert(!isZero(leaf), `the single-leaf anomaly ${cuboidKey(c.dims, t)} is not a zero leaf`);
      }
      const informative = anomalous.filter((l) => !isZero(l));
      const moved = informative.filter((l) => c.meta.direction === 0 ? l.real < l.forecast : l.forecast < l.real);
      // r ~ N(severity, deviation) with severity ≥ 0.2 and deviation ≤ 0.1: r ≤ 0 is a 2-sd event at worst
      assert(moved.length >= 0.9 * informative.length, `${moved.length} of ${informative.length} anomalous leaves moved in the direction`);
    }
  });
}

Deno.test("L: every anomaly is one leaf (all dimensions, one element), scaled by exactly 1 − severity", () => {
  for (const c of cases.L) {
    nodeAssert.equal(c.truth.length, c.meta.severities.length, "one element per anomaly");
    c.truth.forEach((t, k) => {
      nodeAssert.equal(fixed(t), c.dims.length, `${cuboidKey(c.dims, t)} fixes every dimension`);
      const leaf = c.leaves.find((l) => inCuboid(l.vals, t))!;
      const ratio = c.meta.direction === 0 ? leaf.real / leaf.forecast : leaf.forecast / leaf.real;
      nodeAssert.ok(Math.abs(ratio - Math.max(1 - c.meta.severities[k], 0)) < 1e-12, `ratio ${ratio} = 1 − ${c.meta.severities[k]} (deviation 0)`);
    });
  }
});

Deno.test("S: layers span 1..5 and anomalies have up to 3 elements over a seed's cases", () => {
  const many = generateCases("S", 40, 99);
  const layers = new Set(many.flatMap((c) => c.meta.layers));
  nodeAssert.deepEqual([...layers].sort(), [1, 2, 3, 4, 5]);
  assert(many.some((c) => c.truth.length > c.meta.layers.length), "some anomaly has several elements");
});

Deno.test("a seed is a data set: the same seed gives the same cases, another seed others", () => {
  const [a, b, c] = [generateCase("L", new Rng(7)), generateCase("L", new Rng(7)), generateCase("L", new Rng(8))];
  nodeAssert.deepEqual(a.truth, b.truth);
  nodeAssert.deepEqual(a.leaves.slice(0, 50), b.leaves.slice(0, 50));
  assert(a.leaves[0].real !== c.leaves[0].real || a.leaves[1].real !== c.leaves[1].real, "seed 8 differs from seed 7");
  nodeAssert.deepEqual(generateCases("S", 3, 11)[2].truth, generateCases("S", 5, 11)[2].truth, "case i does not depend on the count");
});

Deno.test("Rng: uniform in [0, 1), normal and Weibull with the right first moments", () => {
  const rng = new Rng(1);
  const n = 200_000;
  let [su, sn, sn2, sw] = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    const u = rng.uniform();
    assert(u >= 0 && u < 1, "uniform in [0, 1)");
    su += u;
    const z = rng.normal();
    sn += z;
    sn2 += z * z;
    sw += rng.weibull(1); // Weibull(1) = Exp(1), mean 1
  }
  assert(Math.abs(su / n - 0.5) < 0.005, `uniform mean ${su / n}`);
  assert(Math.abs(sn / n) < 0.01 && Math.abs(sn2 / n - 1) < 0.02, `normal mean ${sn / n}, variance ${sn2 / n}`);
  assert(Math.abs(sw / n - 1) < 0.01, `Weibull(1) mean ${sw / n}`);
});
