/**
 * Benchmark (issue 9): time to forecast 1, 100 and 1,000 daily series of two years (730 days,
 * horizon 14, levels 80/95) with analytics.forecast_series `auto` (season 7: seasonal naive, the
 * nine ETS forms by MLE and AICc, rolling-origin backtest, conformal intervals) next to the
 * statsmodels loop on the same series in the same run (bench/forecast_statsmodels.py: ETSModel for
 * each of the same forms, lowest AICc, analytic intervals — no backtest), with the same
 * parallelism: the SQL on `workers` connections, Python in `workers` processes (the series split
 * evenly), wall time for each.
 *
 * The series (seeded, the same every run): level 20–500, a weekday/weekend rhythm of ±10–40%, a
 * slow drift, Gaussian noise of 5–15% of the level; all positive, so every form is tried.
 *
 * Usage (local cluster up: `npm run db:start`):
 *   deno run -A bench/forecast_speed.ts [--sizes 1,100,1000] [--workers 2] [--write]
 * A database of its own (aoma_fc_bench_speed, dropped and recreated) on the cluster at
 * AOMA_BENCH_ADMIN_URL (default postgresql://postgres:postgres@127.0.0.1:54322/postgres).
 */
import postgres from "postgres";
import { migrateAll } from "../src/db/migrate.ts";
import { openPostgres } from "../src/db/postgres.ts";
import { appendResults, benchArgs } from "./_common.ts";

const args = benchArgs();
const sizes = (args.get("sizes") ?? "1,100,1000").split(",").map(Number);
const workers = Number(args.get("workers") ?? 2);
const adminUrl = Deno.env.get("AOMA_BENCH_ADMIN_URL") ?? "postgresql://postgres:postgres@127.0.0.1:54322/postgres";
const DAYS = 730, H = 14;

/** mulberry32: a small seeded PRNG, so the series are the same every run. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function series(i: number): number[] {
  const r = rng(1000 + i);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const level = 20 + 480 * r(), weekly = 0.1 + 0.3 * r(), drift = (r() - 0.5) * 0.4 / DAYS, noise = 0.05 + 0.1 * r();
  return Array.from({ length: DAYS }, (_, t) => {
    const base = level * (1 + drift * t) * (t % 7 >= 5 ? 1 - weekly : 1 + weekly * 0.4);
    return Math.max(1, Math.round(base * (1 + noise * gauss()) * 100) / 100);
  });
}

if (import.meta.main) {
  const all = Array.from({ length: Math.max(...sizes) }, (_, i) => series(i));
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe("drop database if exists aoma_fc_bench_speed with (force)");
  await admin.unsafe("create database aoma_fc_bench_speed");
  const db = openPostgres(adminUrl.replace(/\/[^/?]+(\?|$)/, "/aoma_fc_bench_speed$1"), { max: workers });
  await migrateAll(db);
  const load = Deno.loadavg();
  const rows: string[] = [];
  const picks = new Map<string, number>();
  for (const size of sizes) {
    const t0 = performance.now();
    const queue = Array.from({ length: size }, (_, i) => i);
    await Promise.all(Array.from({ length: Math.min(workers, size) }, async () => {
      for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
        const r = await db.query<{ method_used: string }>(
          `select method_used from analytics.forecast_series($1::float8[], 7, ${H}) where step = 1`,
          [all[i]],
        );
        if (size === Math.max(...sizes)) picks.set(r[0].method_used, (picks.get(r[0].method_used) ?? 0) + 1);
      }
    }));
    const sql = (performance.now() - t0) / 1000;
    const tmp = await Deno.makeTempDir();
    const chunks = Array.from({ length: Math.min(workers, size) }, (_, w) => all.slice(0, size).filter((_, i) => i % workers === w));
    await Promise.all(chunks.map((c, w) =>
      Deno.writeTextFile(
        `${tmp}/in${w}.json`,
        JSON.stringify({ season: 7, horizon: H, levels: [80, 95], series: Object.fromEntries(c.map((y, i) => [`s${i}`, y])) }),
      )
    ));
    // the loops run side by side; each reports its own loop time (without Python's start-up)
    const loops = await Promise.all(chunks.map(async (_, w) => {
      const py = await new Deno.Command("/usr/bin/python3", {
        args: [new URL("./forecast_statsmodels.py", import.meta.url).pathname, `${tmp}/in${w}.json`, `${tmp}/out${w}.json`],
      }).output();
      if (!py.success) throw new Error(new TextDecoder().decode(py.stderr));
      return JSON.parse(await Deno.readTextFile(`${tmp}/out${w}.json`)).seconds as number;
    }));
    const sm = Math.max(...loops);
    await Deno.remove(tmp, { recursive: true });
    rows.push(`| ${size} | ${sql.toFixed(1)} s | ${(sql / size).toFixed(2)} s | ${sm.toFixed(1)} s | ${(sm / size).toFixed(2)} s | ${(sql / sm).toFixed(2)}× |`);
    console.log(rows.at(-1));
  }
  await db.close();
  await admin.unsafe("drop database if exists aoma_fc_bench_speed with (force)");
  await admin.end();
  const section = [
    `## Forecasting: speed vs the statsmodels loop (${new Date().toISOString().slice(0, 10)}, bench/forecast_speed.ts)`,
    "",
    `Daily series of ${DAYS} days (seeded, weekly rhythm, drift, noise), horizon ${H}, levels 80/95. SQL: analytics.forecast_series auto ` +
    `(seasonal naive + nine ETS forms by MLE, AICc, rolling-origin backtest, conformal intervals) on ${workers} connections, PostgreSQL 15; ` +
    `statsmodels: ETSModel for the same nine forms, lowest AICc, analytic intervals (no backtest), ${workers} processes side by side (the slowest loop's time, start-up excluded). ` +
    `Load average at start ${load.map((x) => x.toFixed(2)).join(" / ")} (2 cores, shared).`,
    "",
    "| series | SQL | SQL per series | statsmodels loop | statsmodels per series | SQL / statsmodels |",
    "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
    "",
    `auto picked (largest size): ${[...picks].map(([k, v]) => `${k} ${v}`).join(", ")}.`,
    "",
  ].join("\n");
  console.log(section);
  if (args.has("write")) await appendResults(section);
}
