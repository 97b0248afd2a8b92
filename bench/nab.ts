/**
 * Benchmark: analytics.anomaly_scores (sql/80_anomaly.sql) on the Numenta Anomaly Benchmark's
 * realAWSCloudwatch category (17 series, 5-minute CloudWatch metrics, 30 labelled windows; NAB
 * commit ea702d75, MIT; ../shared/data/nab-aws), scored with NAB's own scoring (bench/nab_score.ts:
 * windows, scaled sigmoid, 15% probationary period; profiles standard, reward_low_FP_rate,
 * reward_low_FN_rate) and event-level precision / recall / F1, next to a rolling z-score baseline
 * computed here (mean and sample standard deviation of the same 48 points before t, at least 12;
 * |z| = |x − mean| / sd, sd = 0 → 0 when x = mean, else a detection).
 *
 * One fixed configuration for the whole category, no per-file tuning: season 0 (the series are 5
 * minutes apart and 4–16 days long: at most a few days of a daily period), direction 'both'.
 * Detections, two ways, for both detectors:
 *   - points: every anomalous point (what NAB's "thresholded anomaly score" means);
 *   - onsets: the first point of each event — what a monitor that alerts once per event sends. For
 *     ours the SQL's own event column (sql/80_anomaly.sql: a new event only more than 3 points after
 *     the previous anomalous point and more than 48 points after the current event's first point, so
 *     an event's points need not be adjacent); for the baseline, anomalous points at most 3 positions
 *     apart form one event (the rule of the previous version of ours, kept so its rows compare with
 *     earlier sections of bench/RESULTS.md).
 * Thresholds, two ways:
 *   - fixed in advance: sensitivity 0.5 (the default: Z ≥ 4, i.e. |z| ≥ 4 or 5% past the range of
 *     the history) for ours, |z| ≥ 3 (the textbook rule) for the baseline;
 *   - optimised over the category as NAB does (per detector and profile, on these same 17 files, so
 *     an in-sample upper bound): points — NAB's sweep over every distinct anomaly score
 *     (nab_score.sweepThreshold); onsets — the best of sensitivities 0.1, 0.15, …, 0.9 (Z ≥ 2/s;
 *     the baseline on the same |z| cut-offs), each a new SQL call.
 * The detector gets the rows in NAB's order, 5 minutes apart from the file's first timestamp (two files
 * repeat 11 timestamps at the 2014-03-09 daylight-saving change, which analytics.anomaly_scores
 * refuses as not strictly increasing; NAB scores rows, not times, so nothing else changes).
 * Times: wall time of one analytics.anomaly_scores call per series (arrays in, rows out) and of the
 * baseline's loop.
 *
 * Usage (local cluster up, the sql/ library applied to the database at --url):
 *   deno run -A bench/nab.ts [--url postgresql://postgres:postgres@127.0.0.1:54322/postgres]
 *     [--data ../shared/data/nab-aws] [--no-sweep] [--write]
 */
import postgres from "postgres";
import { appendResults, benchArgs } from "./_common.ts";
import {
  eventCounts,
  eventMetrics,
  normalizedScore,
  type NabProfile,
  type NabWindow,
  PROFILES,
  scoreFile,
  sweepThreshold,
  windowsToIndexes,
} from "./nab_score.ts";

const args = benchArgs();
const url = args.get("url") ?? "postgresql://postgres:postgres@127.0.0.1:54322/postgres";
const dataDir = args.get("data") ?? new URL("../../shared/data/nab-aws/", import.meta.url).pathname;
const sweep = !args.has("no-sweep");
const LEVEL_WINDOW = 48; // the baseline's window: the level window of sql/80_anomaly.sql without seasonality
const GRID = Array.from({ length: 17 }, (_, k) => Math.round((0.1 + 0.05 * k) * 100) / 100);
const PROFILE_NAMES = Object.keys(PROFILES) as (keyof typeof PROFILES)[];

interface Series {
  file: string;
  ts: string[];
  values: number[];
  windows: NabWindow[];
}
/** One detector's output on one series: per-point score (null = none), and detections per cut-off. */
interface Run {
  scores: (number | null)[];
  points: boolean[];
  onsets: boolean[];
  ms: number;
}

async function loadSeries(): Promise<Series[]> {
  const limits = JSON.parse(await Deno.readTextFile(`${dataDir}/windows.json`)) as Record<string, [string, string][]>;
  const out: Series[] = [];
  for (const file of Object.keys(limits).sort()) {
    const lines = (await Deno.readTextFile(`${dataDir}/${file}`)).trim().split("\n").slice(1);
    const ts = lines.map((l) => l.split(",")[0]);
    const values = lines.map((l) => Number(l.split(",")[1]));
    const windows = windowsToIndexes(ts, limits[file].map(([a, b]) => [a.slice(0, 19), b.slice(0, 19)] as [string, string]));
    out.push({ file, ts, values, windows });
  }
  return out;
}

/** Marks the first point of each run of flags at most 3 positions apart (the detector's event rule). */
function eventStarts(flags: boolean[]): boolean[] {
  let last = -Infinity;
  return flags.map((f, i) => {
    if (!f) return false;
    const opens = i - last > 3;
    last = i;
    return opens;
  });
}

async function ours(sql: postgres.Sql, s: Series, sensitivity: number): Promise<Run> {
  const t0 = performance.now();
  const rows = await sql.unsafe<{ idx: number; score: number | null; anomalous: boolean; event: number | null }[]>(
    `select a.idx, a.score, a.anomalous, a.event
     from analytics.anomaly_scores(
       (select array_agg(($1 || '+00')::timestamptz + (o - 1) * interval '5 minutes' order by o)
        from jsonb_array_elements_text($2::text::jsonb) with ordinality as j(e, o)),
       (select array_agg(e::float8 order by o) from jsonb_array_elements_text($2::text::jsonb) with ordinality as j(e, o)),
       0, $3::float8, 'both') a order by a.idx`,
    [s.ts[0], JSON.stringify(s.values), sensitivity],
  );
  const ms = performance.now() - t0;
  const points = rows.map((r) => r.anomalous);
  // the first point of each event: the SQL numbered the events (an event's points need not be
  // adjacent: see the event rule of sql/80_anomaly.sql), nothing is regrouped here
  const seen = new Set<number>();
  const onsets = rows.map((r) => r.event !== null && !seen.has(r.event) && seen.add(r.event) !== undefined);
  return { scores: rows.map((r) => r.score), points, onsets, ms };
}

function rollingZ(values: number[]): { z: (number | null)[]; ms: number } {
  const t0 = performance.now();
  const z = values.map((x, t) => {
    const h = values.slice(Math.max(0, t - LEVEL_WINDOW), t);
    if (h.length < 12) return null;
    const mean = h.reduce((a, b) => a + b, 0) / h.length;
    const sd = Math.sqrt(h.reduce((a, b) => a + (b - mean) ** 2, 0) / (h.length - 1));
    return sd > 0 ? Math.abs(x - mean) / sd : x === mean ? 0 : Infinity;
  });
  return { z, ms: performance.now() - t0 };
}

function baseline(z: (number | null)[], cut: number, ms: number): Run {
  const points = z.map((v) => v !== null && v >= cut);
  return { scores: z, points, onsets: eventStarts(points), ms };
}

/** NAB score (normalised over the category) and event counts of one detection kind over all series. */
function category(series: Series[], detections: boolean[][], profile: NabProfile) {
  let raw = 0, nullRaw = 0, windows = 0;
  for (const [i, s] of series.entries()) {
    raw += scoreFile(detections[i], s.windows, profile).raw;
    nullRaw += scoreFile(detections[i].map(() => false), s.windows, profile).raw;
    windows += s.windows.length;
  }
  return normalizedScore(raw, nullRaw, windows, profile);
}

function eventTotals(series: Series[], detections: boolean[][]) {
  const c = { tp: 0, fn: 0, fp: 0 };
  for (const [i, s] of series.entries()) {
    const e = eventCounts(detections[i], s.windows);
    c.tp += e.tp;
    c.fn += e.fn;
    c.fp += e.fp;
  }
  return eventMetrics(c);
}

const f1 = (x: number) => x.toFixed(1);
const f3 = (x: number) => x.toFixed(3);

function summaryRow(label: string, cut: string, series: Series[], detections: boolean[][]): string {
  const nab = PROFILE_NAMES.map((p) => f1(category(series, detections, PROFILES[p])));
  const e = eventTotals(series, detections);
  return `| ${label} | ${cut} | ${nab.join(" | ")} | ${f3(e.precision)} | ${f3(e.recall)} | ${f3(e.f1)} | ${e.tp} / ${e.fn} / ${e.fp} |`;
}

const series = await loadSeries();
const sql = postgres(url, { max: 1, onnotice: () => {} });
const [{ version }] = await sql.unsafe<{ version: string }[]>("select split_part(version(), ' on ', 1) as version");
const load0 = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" / ");
const fixedOurs: Run[] = [];
const fixedBase: Run[] = [];
const zs: (number | null)[][] = [];
for (const s of series) {
  fixedOurs.push(await ours(sql, s, 0.5));
  const { z, ms } = rollingZ(s.values);
  zs.push(z);
  fixedBase.push(baseline(z, 3, ms));
}

const lines: string[] = [];
const date = new Date().toISOString().slice(0, 10);
lines.push(`### NAB realAWSCloudwatch: analytics.anomaly_scores vs a rolling z-score — ${date}, ${version} (bench/nab.ts)`, "");
const command = ["deno run -A bench/nab.ts", ...Deno.args].join(" ").replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
lines.push(`Command: \`${command}\`. Data: NAB realAWSCloudwatch, ${series.length} series, ` +
  `${series.reduce((a, s) => a + s.values.length, 0).toLocaleString("en-US")} points, ${series.reduce((a, s) => a + s.windows.length, 0)} windows ` +
  `(numenta/NAB ea702d75, MIT). Scoring: bench/nab_score.ts (NAB's windows, scaled sigmoid, 15% probationary period; normalised ` +
  `100·(raw − null)/(perfect − null) over the category). Ours: season 0, direction both; Z = max(\\|z\\| of the residual, range z: 80 × ` +
  `the excess beyond the min–max of all earlier values ÷ their range, from 288 values on); an event alerts once (no new event within 48 ` +
  `points of its first point); baseline: rolling z over the 48 points before t, events split at gaps of more than 3. ` +
  `Load average ${load0} at start. Goal: NAB standard ≥ 75 (best published on this category 73.4).`, "");
lines.push("| detector, detections | threshold | NAB standard | low FP | low FN | event precision | recall | F1 | windows hit / missed / FP events |");
lines.push("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
lines.push(summaryRow("ours, points", "fixed: sensitivity 0.5 (Z ≥ 4)", series, fixedOurs.map((r) => r.points)));
lines.push(summaryRow("ours, onsets", "fixed: sensitivity 0.5 (Z ≥ 4)", series, fixedOurs.map((r) => r.onsets)));
lines.push(summaryRow("rolling z, points", "fixed: \\|z\\| ≥ 3", series, fixedBase.map((r) => r.points)));
lines.push(summaryRow("rolling z, onsets", "fixed: \\|z\\| ≥ 3", series, fixedBase.map((r) => r.onsets)));

let best: { label: string; standard: number }[] = [];
if (sweep) {
  // points: NAB's own sweep over every distinct score, per profile
  for (const [label, runs] of [["ours, points", fixedOurs], ["rolling z, points", fixedBase]] as const) {
    const cells = PROFILE_NAMES.map((p) => {
      const files = series.map((s, i) => ({ scores: runs[i].scores, windows: s.windows }));
      const nullRaw = series.reduce((a, s) => a + scoreFile(s.values.map(() => false), s.windows, PROFILES[p]).raw, 0);
      const b = sweepThreshold(files, PROFILES[p]);
      return { p, threshold: b.threshold, score: normalizedScore(b.raw, nullRaw, series.reduce((a, s) => a + s.windows.length, 0), PROFILES[p]) };
    });
    const cutText = cells.map((c) => `${c.p.replace("reward_", "").replace("_rate", "")} ${c.threshold.toPrecision(6)}`).join(", ");
    lines.push(`| ${label} | NAB-optimised score threshold (${cutText}) | ${cells.map((c) => f1(c.score)).join(" | ")} | | | | |`);
    best.push({ label, standard: cells[0].score });
  }
  // onsets: the sensitivity grid (ours: one SQL call per series and sensitivity), per profile
  const oursGrid = new Map<number, boolean[][]>();
  for (const s of GRID) oursGrid.set(s, await Promise.all(series.map(async (x) => (await ours(sql, x, s)).onsets)));
  const baseGrid = new Map(GRID.map((s) => [s, zs.map((z) => baseline(z, 2 / s, 0).onsets)]));
  for (const [label, grid] of [["ours, onsets", oursGrid], ["rolling z, onsets", baseGrid]] as const) {
    const cells = PROFILE_NAMES.map((p) => {
      let top = { s: 0, score: -Infinity };
      for (const [s, det] of grid) {
        const score = category(series, det, PROFILES[p]);
        if (score > top.score) top = { s, score };
      }
      return { p, ...top };
    });
    const bestStd = grid.get(cells[0].s)!;
    const e = eventTotals(series, bestStd);
    const z = label.startsWith("ours") ? "Z" : "\\|z\\|";
    const cutText = cells.map((c) => `${c.p.replace("reward_", "").replace("_rate", "")} ${z} ≥ ${(2 / c.s).toFixed(2)}`).join(", ");
    lines.push(`| ${label} | grid-optimised (${cutText}) | ${cells.map((c) => f1(c.score)).join(" | ")} | ${f3(e.precision)} | ${f3(e.recall)} | ${f3(e.f1)} | ${e.tp} / ${e.fn} / ${e.fp} |`);
    best.push({ label, standard: cells[0].score });
  }
}
best = best.sort((a, b) => b.standard - a.standard);
lines.push("");
lines.push("Per series, fixed thresholds, onsets (NAB standard raw score of the file; windows hit / missed; FP events; ms = one " +
  "analytics.anomaly_scores call, arrays in and rows out / the baseline's loop):", "");
lines.push("| series | points | windows | ours raw | ours hit / missed / FP | rolling z raw | rolling z hit / missed / FP | ms ours | ms baseline |");
lines.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const [i, s] of series.entries()) {
  const o = scoreFile(fixedOurs[i].onsets, s.windows, PROFILES.standard);
  const b = scoreFile(fixedBase[i].onsets, s.windows, PROFILES.standard);
  const eo = eventCounts(fixedOurs[i].onsets, s.windows), eb = eventCounts(fixedBase[i].onsets, s.windows);
  lines.push(`| ${s.file.replace(".csv", "")} | ${s.values.length} | ${s.windows.length} | ${o.raw.toFixed(2)} | ${eo.tp} / ${eo.fn} / ${eo.fp} | ` +
    `${b.raw.toFixed(2)} | ${eb.tp} / ${eb.fn} / ${eb.fp} | ${fixedOurs[i].ms.toFixed(0)} | ${fixedBase[i].ms.toFixed(1)} |`);
}
const msOurs = fixedOurs.map((r) => r.ms).sort((a, b) => a - b);
const fixedStd = category(series, fixedOurs.map((r) => r.onsets), PROFILES.standard);
lines.push("");
lines.push(`Time per series (ours): median ${msOurs[Math.floor(msOurs.length / 2)].toFixed(0)} ms, max ${msOurs[msOurs.length - 1].toFixed(0)} ms.`);
lines.push(`Goal NAB standard ≥ 75: ${fixedStd >= 75 ? "met" : "**not met**"} with the fixed threshold (onsets ${f1(fixedStd)})` +
  (best.length ? `; best in-sample optimised: ${best[0].label} ${f1(best[0].standard)}.` : "."));
const section = lines.join("\n") + "\n";
console.log(section);
await sql.end();
if (args.has("write")) await appendResults(section);
