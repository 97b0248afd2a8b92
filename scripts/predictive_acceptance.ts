/**
 * Issue 10's acceptance of analytics.build_predictive_model (sql/74_predictive.sql), measured over
 * generator seeds nobody developed on (default 41..80), for the planted and the null demo quarter.
 *
 * For each seed and variant: loads the demo quarter into a scratch database (aoma_pred_accept), calls
 * `select analytics.build_predictive_model() as m` (default target processing_failure_rate) and times
 * it, then records:
 *   - m.chosen, m.beats_baseline; the per-attempt expected calibration error
 *     (metrics.calibration_per_attempt.ece) of the chosen candidate and of the glm candidate;
 *   - planted: for the three planted effects (src/demo/truth.json) — failures ×3 the day after an asset
 *     volume above 1,200 (asset_volume, lag 1), ×2.3 on Mondays (is_monday, lag 0), ×1.33 on days with
 *     more than 15 service commits (service_commits, lag 0) — the term of m.model.glm.terms with the
 *     same feature and lag: covered when ratio_low ≤ multiplier ≤ ratio_high. A missing term, or a
 *     chosen model other than glm, is NOT covered (the reason is recorded). The learned thresholds;
 *   - planted, next 7 days: is the day with the highest prediction a Monday or a day whose
 *     asset_volume lag-1 driver has p_high ≥ 0.5? The rank of the Monday among the 7 predictions;
 *   - null, next 7 days: are the predictions flat within their intervals, max(low95) ≤ min(high95)?
 * An error on a seed (SQL or otherwise) is recorded verbatim for that seed and the run goes on.
 *
 * Prints one line per seed and variant, then a summary; writes everything as JSON to --out.
 *
 * Usage (local cluster up): deno run -A scripts/predictive_acceptance.ts [--seeds 41-80]
 *   [--variants planted,null] [--out /tmp/predictive_acceptance.json]
 */
import postgres from "postgres";
import { migrateAll } from "../src/db/migrate.ts";
import { openPostgres } from "../src/db/postgres.ts";
import { loadDemo } from "../src/demo/load.ts";

const arg = (name: string, dflt: string) => {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : dflt;
};
const [s0, s1] = arg("seeds", "41-80").split("-").map(Number);
const variants = arg("variants", "planted,null").split(",").map((v) => v.trim()).filter(Boolean) as ("planted" | "null")[];
for (const v of variants) if (v !== "planted" && v !== "null") throw new Error(`unknown variant "${v}": use planted and/or null`);
const outPath = arg("out", "/tmp/predictive_acceptance.json");
const adminUrl = Deno.env.get("AOMA_BENCH_ADMIN_URL") ?? "postgresql://postgres:postgres@127.0.0.1:54322/postgres";
const NAME = "aoma_pred_accept";

// deno-lint-ignore no-explicit-any
type J = any;
const EFFECTS = [
  { key: "asset_volume", feature: "asset_volume", lag: 1, multiplier: 3 },
  { key: "is_monday", feature: "is_monday", lag: 0, multiplier: 2.3 },
  { key: "service_commits", feature: "service_commits", lag: 0, multiplier: 1.33 },
] as const;

interface EffectResult {
  covered: boolean;
  reason: string | null;
  term: string | null;
  threshold: number | null;
  ratio: number | null;
  ratio_low: number | null;
  ratio_high: number | null;
  p_value: number | null;
}
interface SeedResult {
  variant: string;
  seed: number;
  error: string | null;
  error_detail: { code: string | null; where: string | null; detail: string | null; hint: string | null } | null;
  load_ms: number | null;
  model_ms: number | null;
  chosen: string | null;
  best: string | null;
  beats_baseline: boolean | null;
  ece_chosen: number | null;
  ece_glm: number | null;
  candidates: { name: string; loss_mean: number; loss_se: number; ece: number | null }[];
  /** Asset segments the failure-rate fit screened out (model.glm.excluded_segments). */
  excluded: string[];
  glm_terms: { term: string; feature: string; lag: number; threshold: number | null; ratio: number | null; ratio_low: number | null; ratio_high: number | null }[];
  effects: Record<string, EffectResult> | null;
  predictions: { day: string; weekday: string; prediction: number; low95: number; high95: number; av_lag1_p_high: number | null; av_lag1_known: boolean | null }[];
  top_day: string | null;
  top_weekday: string | null;
  top_is_monday: boolean | null;
  top_av_lag1_p_high: number | null;
  next7_ok: boolean | null; // planted: top day is a Monday or has asset_volume lag-1 p_high ≥ 0.5
  monday_rank: number | null; // planted: 1 = the highest prediction of the 7
  flat: boolean | null; // null: max(low95) ≤ min(high95)
  max_low95: number | null;
  min_high95: number | null;
  notes: string[];
}

const num = (x: unknown): number | null => (x === null || x === undefined ? null : Number(x));
const asJson = (x: unknown): J => (typeof x === "string" ? JSON.parse(x) : x);

const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
await admin.unsafe(`drop database if exists ${NAME} with (force)`);
await admin.unsafe(`create database ${NAME}`);
const db = openPostgres(adminUrl.replace(/\/[^/?]+(\?|$)/, `/${NAME}$1`), { max: 1 });
const t0 = performance.now();
await migrateAll(db);

const results: SeedResult[] = [];
for (let seed = s0; seed <= s1; seed++) {
  for (const variant of variants) {
    const r: SeedResult = {
      variant, seed, error: null, error_detail: null, load_ms: null, model_ms: null, chosen: null, best: null, beats_baseline: null,
      ece_chosen: null, ece_glm: null, candidates: [], excluded: [], glm_terms: [], effects: null, predictions: [], top_day: null,
      top_weekday: null, top_is_monday: null, top_av_lag1_p_high: null, next7_ok: null, monday_rank: null, flat: null,
      max_low95: null, min_high95: null, notes: [],
    };
    results.push(r);
    try {
      let t = performance.now();
      await loadDemo(db, { variant, seed });
      r.load_ms = Math.round(performance.now() - t);
      t = performance.now();
      const [{ m: raw }] = await db.query<{ m: unknown }>("select analytics.build_predictive_model() as m");
      r.model_ms = Math.round(performance.now() - t);
      const m = asJson(raw);
      r.chosen = m.chosen ?? null;
      r.best = m.best ?? null;
      r.beats_baseline = m.beats_baseline ?? null;
      r.notes = (m.notes ?? []) as string[];
      const cands = (m.candidates ?? []) as J[];
      r.candidates = cands.map((c) => ({
        name: c.name, loss_mean: num(c.loss_mean)!, loss_se: num(c.loss_se)!, ece: num(c.metrics?.calibration_per_attempt?.ece),
      }));
      r.ece_chosen = r.candidates.find((c) => c.name === r.chosen)?.ece ?? null;
      r.ece_glm = r.candidates.find((c) => c.name === "glm")?.ece ?? null;
      r.excluded = ((m.model?.glm?.excluded_segments ?? []) as J[]).map((x) => String(x.level));
      const terms = (m.model?.glm?.terms ?? []) as J[];
      r.glm_terms = terms.map((x) => ({
        term: x.term, feature: x.feature, lag: Number(x.lag), threshold: num(x.threshold), ratio: num(x.ratio),
        ratio_low: num(x.ratio_low), ratio_high: num(x.ratio_high),
      }));

      if (variant === "planted") {
        r.effects = {};
        for (const e of EFFECTS) {
          const x = terms.find((y) => y.feature === e.feature && Number(y.lag) === e.lag);
          const lo = num(x?.ratio_low), hi = num(x?.ratio_high);
          const inInterval = x !== undefined && lo !== null && hi !== null && lo <= e.multiplier && e.multiplier <= hi;
          const termNote = !x ? `no glm term for ${e.feature} at lag ${e.lag}`
            : inInterval ? null : `interval [${lo?.toFixed(3)}, ${hi?.toFixed(3)}] misses ${e.multiplier}`;
          const reason = r.chosen !== "glm"
            ? `chosen model is ${r.chosen}, not glm` + (termNote ? `; ${termNote}` : "; the whole-window glm term would cover it")
            : termNote;
          r.effects[e.key] = {
            covered: r.chosen === "glm" && inInterval, reason, term: x?.term ?? null, threshold: num(x?.threshold),
            ratio: num(x?.ratio), ratio_low: lo, ratio_high: hi, p_value: num(x?.p_value),
          };
        }
      }

      const preds = (m.predictions ?? []) as J[];
      r.predictions = preds.map((p) => {
        const d = ((p.drivers ?? []) as J[]).find((y) => y.feature === "asset_volume" && Number(y.lag) === 1);
        return {
          day: String(p.day), weekday: String(p.weekday), prediction: Number(p.prediction), low95: Number(p.low95), high95: Number(p.high95),
          av_lag1_p_high: num(d?.p_high), av_lag1_known: d ? Boolean(d.known) : null,
        };
      });
      if (r.predictions.length > 0) {
        const top = r.predictions.reduce((a, b) => (b.prediction > a.prediction ? b : a));
        r.top_day = top.day;
        r.top_weekday = top.weekday;
        r.top_is_monday = top.weekday === "Monday";
        r.top_av_lag1_p_high = top.av_lag1_p_high;
        const sorted = [...r.predictions].sort((a, b) => b.prediction - a.prediction);
        const mi = sorted.findIndex((p) => p.weekday === "Monday");
        r.max_low95 = Math.max(...r.predictions.map((p) => p.low95));
        r.min_high95 = Math.min(...r.predictions.map((p) => p.high95));
        if (variant === "planted") {
          r.next7_ok = r.top_is_monday || (top.av_lag1_p_high !== null && top.av_lag1_p_high >= 0.5);
          r.monday_rank = mi >= 0 ? mi + 1 : null;
        } else {
          r.flat = r.max_low95 <= r.min_high95;
        }
      }
    } catch (err) {
      r.error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      // postgres.js's PostgresError carries the SQLSTATE and the PL/pgSQL context
      const pe = err as { code?: string; where?: string; detail?: string; hint?: string };
      r.error_detail = pe.code || pe.where ? { code: pe.code ?? null, where: pe.where ?? null, detail: pe.detail ?? null, hint: pe.hint ?? null } : null;
    }
    const f = (x: number | null, d = 3) => (x === null ? "–" : x.toFixed(d));
    let line = `${variant.padEnd(7)} seed ${seed}`;
    if (r.error) line += `  ERROR ${r.error}`;
    else {
      line += `  ${String(r.model_ms).padStart(5)} ms  chosen ${String(r.chosen).padEnd(14)} beats ${String(r.beats_baseline).padEnd(5)}` +
        `  ECE chosen ${f(r.ece_chosen, 4)} glm ${f(r.ece_glm, 4)}`;
      if (variant === "planted") {
        line += "  " + EFFECTS.map((e) => {
          const x = r.effects![e.key];
          return `${e.key}${x.threshold !== null && e.key !== "is_monday" ? `≥${x.threshold}` : ""} ${f(x.ratio, 2)} [${f(x.ratio_low, 2)},${f(x.ratio_high, 2)}] ${x.covered ? "✓" : "✗"}`;
        }).join("  ");
        line += `  top ${r.top_day} ${r.top_weekday} p_high ${f(r.top_av_lag1_p_high, 2)} ${r.next7_ok ? "✓" : "✗"}  Monday rank ${r.monday_rank ?? "–"}`;
      } else {
        line += `  flat ${r.flat ? "✓" : "✗"} (max low95 ${f(r.max_low95, 4)} ≤ min high95 ${f(r.min_high95, 4)})`;
      }
    }
    console.log(line);
  }
}
const elapsedS = (performance.now() - t0) / 1000;

// ── summary ──
const pct = (a: number, b: number) => `${a}/${b} = ${b ? (100 * a / b).toFixed(1) : "–"}%`;
const dist = (xs: (string | number | null)[]) => {
  const c = new Map<string, number>();
  for (const x of xs) c.set(String(x), (c.get(String(x)) ?? 0) + 1);
  return Object.fromEntries([...c].sort((a, b) => b[1] - a[1]));
};
const summary: Record<string, J> = { seeds: `${s0}-${s1}`, variants, elapsed_s: Math.round(elapsedS) };
console.log(`\nseeds ${s0}..${s1}, variants ${variants.join(", ")}; ${elapsedS.toFixed(0)} s in all`);
const errors = results.filter((r) => r.error).map((r) => ({ variant: r.variant, seed: r.seed, error: r.error, detail: r.error_detail }));
summary.errors = errors;
if (errors.length) {
  console.log(`errors (${errors.length}):`);
  for (const e of errors) {
    console.log(`  ${e.variant} seed ${e.seed}: ${e.error}`);
    if (e.detail) console.log(`    SQLSTATE ${e.detail.code}; context: ${e.detail.where?.replaceAll("\n", " ← ")}`);
  }
}
const ok = results.filter((r) => !r.error);
const modelMs = ok.map((r) => r.model_ms!);
if (modelMs.length) {
  summary.model_ms = { mean: Math.round(modelMs.reduce((a, b) => a + b, 0) / modelMs.length), max: Math.max(...modelMs) };
  console.log(`build_predictive_model time: mean ${summary.model_ms.mean} ms, max ${summary.model_ms.max} ms`);
}

if (variants.includes("planted")) {
  const P = ok.filter((r) => r.variant === "planted");
  const nErr = results.filter((r) => r.variant === "planted" && r.error).length;
  const s: Record<string, J> = { seeds_ok: P.length, seeds_error: nErr, coverage: {} };
  console.log(`\nplanted (${P.length} seeds without error${nErr ? `, ${nErr} with an error, left out of the counts` : ""}):`);
  let cov = 0, pairs = 0;
  for (const e of EFFECTS) {
    const c = P.filter((r) => r.effects![e.key].covered).length;
    cov += c;
    pairs += P.length;
    const reasons = dist(P.filter((r) => !r.effects![e.key].covered).map((r) => r.effects![e.key].reason!.replace(/\[.*\]/, "[…]")));
    const thresholds = dist(P.filter((r) => r.effects![e.key].threshold !== null).map((r) => r.effects![e.key].threshold));
    s.coverage[e.key] = { covered: c, pairs: P.length, pct: P.length ? 100 * c / P.length : null, not_covered_reasons: reasons, thresholds };
    console.log(`  coverage ${e.key.padEnd(15)} (×${e.multiplier}): ${pct(c, P.length)}` +
      `${Object.keys(reasons).length ? `  not covered: ${JSON.stringify(reasons)}` : ""}`);
    if (e.key !== "is_monday") console.log(`    thresholds learned: ${JSON.stringify(thresholds)}`);
  }
  s.coverage.overall = { covered: cov, pairs, pct: pairs ? 100 * cov / pairs : null };
  console.log(`  coverage overall: ${pct(cov, pairs)}`);
  // the whole-window glm's terms other than the three planted ones (feature and lag)
  const extra = P.flatMap((r) => r.glm_terms.filter((t) => !EFFECTS.some((e) => e.feature === t.feature && e.lag === t.lag)).map((t) => t.term));
  s.extra_glm_terms = { seeds_with_any: P.filter((r) => r.glm_terms.some((t) => !EFFECTS.some((e) => e.feature === t.feature && e.lag === t.lag))).length, of: P.length, terms: dist(extra.map((t) => t.replace(/ ≥ .*/, ""))) };
  console.log(`  glm terms besides the planted three: in ${pct(s.extra_glm_terms.seeds_with_any, P.length)} seeds; ${JSON.stringify(s.extra_glm_terms.terms)}`);
  s.excluded = dist(P.map((r) => r.excluded.join("+") || "none"));
  console.log(`  segments screened out of the fit: ${JSON.stringify(s.excluded)}`);
  const glmN = P.filter((r) => r.chosen === "glm").length;
  s.chosen_glm = { n: glmN, of: P.length };
  s.chosen = dist(P.map((r) => r.chosen));
  console.log(`  chosen = glm: ${pct(glmN, P.length)}  (chosen: ${JSON.stringify(s.chosen)})`);
  const beats = P.filter((r) => r.beats_baseline === true).length;
  s.beats_baseline = { n: beats, of: P.length };
  console.log(`  beats_baseline: ${pct(beats, P.length)}`);
  const ece = P.map((r) => r.ece_chosen).filter((x): x is number => x !== null);
  const eceG = P.map((r) => r.ece_glm).filter((x): x is number => x !== null);
  s.ece_chosen = { n: ece.length, mean: ece.length ? ece.reduce((a, b) => a + b, 0) / ece.length : null, max: ece.length ? Math.max(...ece) : null };
  s.ece_glm = { n: eceG.length, mean: eceG.length ? eceG.reduce((a, b) => a + b, 0) / eceG.length : null, max: eceG.length ? Math.max(...eceG) : null };
  console.log(`  ECE per attempt, chosen model: mean ${s.ece_chosen.mean?.toFixed(4)} max ${s.ece_chosen.max?.toFixed(4)} (n ${ece.length});` +
    ` glm candidate: mean ${s.ece_glm.mean?.toFixed(4)} max ${s.ece_glm.max?.toFixed(4)} (n ${eceG.length})`);
  const n7 = P.filter((r) => r.next7_ok).length;
  s.next7 = {
    ok: n7, of: P.length, top_is_monday: P.filter((r) => r.top_is_monday).length,
    top_high_volume_prev: P.filter((r) => r.top_av_lag1_p_high !== null && r.top_av_lag1_p_high >= 0.5).length,
    monday_rank: dist(P.map((r) => r.monday_rank)),
  };
  console.log(`  next 7 days, top day is a Monday or after a (known/forecast) high-volume day: ${pct(n7, P.length)}` +
    ` (Monday ${s.next7.top_is_monday}, p_high ≥ 0.5 ${s.next7.top_high_volume_prev}); Monday's rank: ${JSON.stringify(s.next7.monday_rank)}`);
  summary.planted = s;
}
if (variants.includes("null")) {
  const N = ok.filter((r) => r.variant === "null");
  const nErr = results.filter((r) => r.variant === "null" && r.error).length;
  const notBeats = N.filter((r) => r.beats_baseline === false).length;
  console.log(`  segments screened out of the fit: ${JSON.stringify(dist(N.map((r) => r.excluded.join("+") || "none")))}`);
  const flat = N.filter((r) => r.flat).length;
  const s = {
    seeds_ok: N.length, seeds_error: nErr, beats_baseline_false: { n: notBeats, of: N.length, acceptance: "≥ 38 of 40" },
    chosen: dist(N.map((r) => r.chosen)), flat: { n: flat, of: N.length },
  };
  console.log(`\nnull (${N.length} seeds without error${nErr ? `, ${nErr} with an error, left out of the counts` : ""}):`);
  console.log(`  beats_baseline = false: ${pct(notBeats, N.length)} (acceptance: ≥ 38 of 40)`);
  console.log(`  chosen: ${JSON.stringify(s.chosen)}`);
  console.log(`  next 7 days flat within their intervals (max low95 ≤ min high95): ${pct(flat, N.length)}`);
  summary.null = s;
}

await Deno.writeTextFile(outPath, JSON.stringify({ summary, results }, null, 2));
console.log(`\nJSON written to ${outPath}`);
await db.close();
await admin.unsafe(`drop database if exists ${NAME} with (force)`);
await admin.end();
