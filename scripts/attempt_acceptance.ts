/**
 * The per-attempt failure model (analytics.build_predictive_model('processing_attempt_failure'),
 * sql/76_attempt_model.sql) measured over generator seeds, planted and null demo quarter: for each
 * seed and variant, the choice, whether it beats the base rate, the cross-validated per-attempt AUC,
 * Brier skill and ECE of the glm candidate, and on the first predicted day the riskiest group of
 * uploads with its probability, and the rank of the legacy 360RA uploads (planted: 40% failures in
 * the last 14 days). Prints a line per seed and a summary; writes JSON to --out.
 *
 * Usage (local cluster up): deno run -A scripts/attempt_acceptance.ts [--seeds 121-140] [--out /tmp/attempt_acceptance.json]
 */
import postgres from "postgres";
import { migrateAll } from "../src/db/migrate.ts";
import { openPostgres } from "../src/db/postgres.ts";
import { loadDemo } from "../src/demo/load.ts";

const arg = (name: string, dflt: string) => {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : dflt;
};
const [s0, s1] = arg("seeds", "121-140").split("-").map(Number);
const outPath = arg("out", "/tmp/attempt_acceptance.json");
const adminUrl = Deno.env.get("AOMA_BENCH_ADMIN_URL") ?? "postgresql://postgres:postgres@127.0.0.1:54322/postgres";
const NAME = "aoma_attempt_accept";
// deno-lint-ignore no-explicit-any
type J = any;

const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
await admin.unsafe(`drop database if exists ${NAME} with (force)`);
await admin.unsafe(`create database ${NAME}`);
const db = openPostgres(adminUrl.replace(/\/[^/?]+(\?|$)/, `/${NAME}$1`), { max: 1 });
await migrateAll(db);

const rows: J[] = [];
const f = (x: number | null | undefined, d = 3) => (x === null || x === undefined ? "–" : x.toFixed(d));
for (let seed = s0; seed <= s1; seed++) {
  for (const variant of ["planted", "null"] as const) {
    await loadDemo(db, { variant, seed });
    const t = performance.now();
    const [{ m }] = await db.query<{ m: J }>("select analytics.build_predictive_model('processing_attempt_failure') as m");
    const ms = Math.round(performance.now() - t);
    const glm = (m.candidates as J[]).find((c) => c.name === "glm")?.metrics ?? {};
    const groups: J[] = m.predictions[0].groups ?? [];
    const legacyRank = groups.findIndex((g) => String(g.group).startsWith("360RA/legacy")) + 1;
    const r = {
      seed, variant, ms, chosen: m.chosen, beats: m.beats_baseline, auc: glm.auc ?? null, brier_skill: glm.brier_skill ?? null, ece: glm.ece ?? null,
      top_group: groups[0]?.group ?? null, top_prediction: groups[0]?.prediction ?? null, top_risk: groups[0]?.risk ?? null, legacy_rank: legacyRank || null,
      flag_in_model: ((m.model?.glm?.spec ?? []) as J[]).some((s) => s.form === "flag"),
    };
    rows.push(r);
    console.log(`${variant.padEnd(7)} seed ${seed}  ${String(ms).padStart(6)} ms  chosen ${String(r.chosen).padEnd(12)} beats ${String(r.beats).padEnd(5)} ` +
      `glm AUC ${f(r.auc)} Brier skill ${f(r.brier_skill)} ECE ${f(r.ece, 4)}  top ${r.top_group} ${f(r.top_prediction)} ${r.top_risk}  legacy rank ${r.legacy_rank}  flag ${r.flag_in_model}`);
  }
}
const P = rows.filter((r) => r.variant === "planted"), N = rows.filter((r) => r.variant === "null");
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(`\nplanted (${P.length} seeds): beats the base rate ${P.filter((r) => r.beats).length}; glm AUC mean ${f(mean(P.map((r) => r.auc)))} ` +
  `(min ${f(Math.min(...P.map((r) => r.auc)))}), Brier skill mean ${f(mean(P.map((r) => r.brier_skill)))}, ECE max ${f(Math.max(...P.map((r) => r.ece)), 4)}; ` +
  `legacy 360RA the riskiest group ${P.filter((r) => r.legacy_rank === 1).length}/${P.length} (mean predicted ${f(mean(P.filter((r) => r.legacy_rank === 1).map((r) => r.top_prediction)))}; planted 0.40)`);
console.log(`null (${N.length} seeds): beats the base rate ${N.filter((r) => r.beats).length}; ECE max ${f(Math.max(...N.map((r) => r.ece ?? 0)), 4)}`);
Deno.writeTextFileSync(outPath, JSON.stringify(rows, null, 1));
await db.close();
await admin.end();
