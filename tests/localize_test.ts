/**
 * analytics.localize_cuboids (sql/82_localize.sql) on generated RiskLoc-style cases small enough
 * for every test run (3 dimensions of 6 · 5 · 4 values, bench/rca_generate.ts with low noise and
 * clear anomalies), on PGlite and on the PostgreSQL server: the predicted set is exactly the planted
 * set, and both engines give the same rows. The contract and the error sentences are in
 * tests/sql/96_localize.sql; F1 on the full S and L sets in bench/rca_riskloc.ts.
 */
import nodeAssert from "node:assert/strict";
import { SERVER_URL, testOnBothEngines } from "./_engines.ts";
import { cuboidKey, generateCase, type RcaCase, Rng, SHAPES, type ShapeSettings } from "../bench/rca_generate.ts";
import type { Db } from "../src/db/types.ts";

/** Clear anomalies: noise ≤ 5%, severity ≥ 0.5 (+ noise), one to two anomalies of one or two elements. */
const SMALL: ShapeSettings = {
  ...SHAPES.S,
  sizes: [6, 5, 4],
  noise: [0, 0.05],
  severity: [0.5, 1],
  deviation: [0, 0.05],
  anomalies: [1, 2],
  elements: [1, 2],
};
const N_CASES = 12;
const rng = new Rng(20261204);
/**
 * Clear cases only: a planted cuboid whose leaves are all zero leaves cannot be seen, nor one that
 * moves the KPI by less than 0.5% of its total (a single leaf of 1.2 falling to 0.2 among thousands).
 */
const cases: RcaCase[] = [];
while (cases.length < N_CASES) {
  const c = generateCase(SMALL, rng);
  const total = c.leaves.reduce((a, l) => a + l.forecast, 0);
  const clear = c.truth.every((t) => {
    const inside = c.leaves.filter((l) => t.every((v, i) => v === null || v === l.vals[i]));
    return inside.some((l) => l.real > 0 || l.forecast > 0) && inside.reduce((a, l) => a + Math.abs(l.real - l.forecast), 0) >= 0.005 * total;
  });
  if (clear) cases.push(c);
}

interface Row {
  rank: number;
  cuboid: (string | null)[];
  n_leaves: number;
  score: number;
}

async function localize(db: Db, c: RcaCase, maxDepth = 3): Promise<Row[]> {
  return await db.query<Row>(
    `select r.rank, to_jsonb(r.cuboid) as cuboid, r.n_leaves, r.score
     from analytics.localize_cuboids($1::text[],
       array(select row(string_to_array(u.v, '|'), u.r, u.f)::aoma_private.rca_leaf
             from unnest($2::text[], $3::float8[], $4::float8[]) with ordinality as u(v, r, f, i) order by u.i),
       $5) as r
     order by r.rank`,
    [c.dims, c.leaves.map((l) => l.vals.join("|")), c.leaves.map((l) => l.real), c.leaves.map((l) => l.forecast), maxDepth],
  );
}

const answers: Record<"pglite" | "server", Row[][]> = { pglite: [], server: [] };

testOnBothEngines("localize_cuboids recovers the planted cuboids of small generated cases", "aoma_test_localize", async (t, db) => {
  const engine = answers.pglite.length < N_CASES ? "pglite" : "server";
  for (const [i, c] of cases.entries()) {
    await t.step(`case ${i}: ${c.truth.map((x) => cuboidKey(c.dims, x)).join("; ")}`, async () => {
      const rows = await localize(db, c);
      answers[engine].push(rows);
      nodeAssert.deepEqual(
        rows.map((r) => cuboidKey(c.dims, r.cuboid)).sort(),
        c.truth.map((x) => cuboidKey(c.dims, x)).sort(),
        "the predicted set is the planted set",
      );
      nodeAssert.deepEqual(rows.map((r) => r.rank), rows.map((_, k) => k + 1), "ranks 1..n");
      nodeAssert.ok(rows.every((r, k) => r.score > 0 && (k === 0 || r.score <= rows[k - 1].score)), "scores positive, descending");
      for (const r of rows) {
        const n = c.leaves.filter((l) => r.cuboid.every((v, j) => v === null || v === l.vals[j])).length;
        nodeAssert.equal(r.n_leaves, n, `n_leaves of ${cuboidKey(c.dims, r.cuboid)}`);
      }
    });
  }
  await t.step("with the anomalous leaves restored to their forecast, the empty set", async () => {
    for (const c of cases.slice(0, 4)) {
      const calm = {
        ...c,
        leaves: c.leaves.map((l) =>
          c.truth.some((x) => x.every((v, j) => v === null || v === l.vals[j])) ? { ...l, real: l.forecast } : l
        ),
      };
      nodeAssert.deepEqual(await localize(db, calm), []);
    }
  });
});

Deno.test({
  name: "PGlite and the PostgreSQL server give the same rows on every case",
  ignore: !SERVER_URL,
  fn() {
    nodeAssert.equal(answers.pglite.length, N_CASES, "the PGlite run went first");
    nodeAssert.equal(answers.server.length, N_CASES, "the server run went second");
    answers.pglite.forEach((rows, i) => {
      const other = answers.server[i];
      nodeAssert.deepEqual(other.map((r) => [r.rank, r.cuboid, r.n_leaves]), rows.map((r) => [r.rank, r.cuboid, r.n_leaves]), `case ${i}`);
      rows.forEach((r, k) =>
        nodeAssert.ok(Math.abs(r.score - other[k].score) <= 1e-9 * Math.abs(r.score), `case ${i} score ${r.score} vs ${other[k].score}`)
      );
    });
  },
});
