/**
 * Benchmark: log ingest throughput, next to the time to read the same file, in the same run.
 * Generates a realistic log (default 500,000 lines, 30 message shapes with varying ids, numbers,
 * paths, IPs, quoted values and bare words) as JSON lines and as plain text, then times for each:
 *   1. read — stream the file and split it into lines (the floor: src/ingest/logs.ts readFileLines);
 *   2. templating — read + parse (JSON / regex, timestamp, level, event key) + mask + Drain, no database;
 *   3. ingest — `ingestLogs` end to end into PostgreSQL (templating + transactional upserts of 5,000
 *      lines + template stats), without the feature refresh (a separate, data-size-bound step);
 *   4. re-run — the same ingest again: 0 inserted, 0 updated (checked).
 *
 * Usage (local cluster up: `npm run db:start`):
 *   deno run -A bench/log_ingest.ts [--lines 500000] [--write] [--templates (print the mined templates)]
 * Works in a database of its own (aoma_bench_logs, dropped and recreated, dropped at the end) on the
 * cluster at AOMA_BENCH_ADMIN_URL (default postgresql://postgres:postgres@127.0.0.1:54322/postgres).
 * --write appends the result table to bench/RESULTS.md.
 */
import postgres from "postgres";
import { migrateAll } from "../src/db/migrate.ts";
import { openPostgres } from "../src/db/postgres.ts";
import { ingestLogs, LogLineParser, readFileLines } from "../src/ingest/logs.ts";
import { TemplateMiner } from "../src/ingest/templates.ts";
import { appendResults, benchArgs } from "./_common.ts";

const args = benchArgs();
const LINES = Number(args.get("lines") ?? 500_000);
const adminUrl = Deno.env.get("AOMA_BENCH_ADMIN_URL") ?? "postgresql://postgres:postgres@127.0.0.1:54322/postgres";
const benchUrl = adminUrl.replace(/\/[^/?]+(\?|$)/, "/aoma_bench_logs$1");

// ───────────────────────────── the generated log ─────────────────────────────

let seed = 20261125;
const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const int = (n: number) => Math.floor(rnd() * n);
const pick = <T>(xs: T[]) => xs[int(xs.length)];
const hex = (n: number) => Array.from({ length: n }, () => "0123456789abcdef"[int(16)]).join("");
const asset = () => `AST-${String(int(1e8)).padStart(8, "0")}`;
const ip = () => `10.${int(256)}.${int(256)}.${int(256)}`;
const user = () => `user-${1000 + int(9000)}`;

/** 30 message shapes: [level, weight, make()]. */
const SHAPES: [string, number, () => string][] = [
  ["INFO", 12, () => `Asset ${asset()} uploaded by user ${user()} (${int(1e8)} bytes)`],
  ["INFO", 12, () => `Processing job job-${hex(8)} completed in ${int(9000)} ms`],
  ["INFO", 6, () => `Scheduled sync with '${pick(["jira", "dam", "royalty-ledger", "catalog"])}' finished: ${int(5000)} records`],
  ["INFO", 5, () => `User ${user()} signed in from ${ip()}`],
  ["DEBUG", 5, () => `Cache refresh for ${pick(["territories", "labels", "asset-types", "users"])} took ${int(900)} ms`],
  ["WARN", 4, () => `Slow query on table '${pick(["assets", "processing_jobs", "metadata_fields"])}' took ${1000 + int(9000)} ms`],
  ["WARN", 4, () => `Retrying upload chunk ${int(64)} for asset ${asset()} (attempt ${1 + int(4)} of 5)`],
  ["WARN", 2, () => `Disk usage at ${80 + int(19)}% on volume /data/vol${1 + int(3)}`],
  ["ERROR", 2, () => `Transcode failed for asset ${asset()}: ffmpeg exited with code ${pick([1, 137, 139, 255])}`],
  ["ERROR", 2, () => `Timeout after ${pick([5000, 10000, 30000])} ms waiting for storage response from storage-${1 + int(8)}.aoma.internal`],
  ["ERROR", 1, () => `Checksum mismatch for /mnt/assets/${asset()}/source.wav: expected ${hex(32)} got ${hex(32)}`],
  ["ERROR", 1, () => `Metadata validation failed: field '${pick(["ISRC", "UPC", "ReleaseDate"])}' is required`],
  ["ERROR", 1, () => `S3 PutObject failed for key ingest/${asset()}/part-${int(64)}.bin: SlowDown`],
  ["ERROR", 1, () => `AssetUploadTask type '${pick(["AssetUploadSorting", "AssetUploadStems", "AssetUploadLyrics"])}' not supported`],
  ["ERROR", 1, () => `Out of memory while processing ${asset()} (${pick([512, 1024, 2048])} MB requested)`],
  ["ERROR", 1, () => `Connection reset by peer while reading /mnt/assets/${asset()}/source.mp4`],
  ["INFO", 5, () => `GET /api/v1/assets/${asset()} 200 ${int(400)}ms`],
  ["INFO", 4, () => `POST /api/v1/uploads 201 ${int(900)}ms from ${ip()}`],
  ["INFO", 3, () => `Worker ${pick(["transcoder", "thumbnailer", "indexer", "notifier"])} started with ${1 + int(16)} threads`],
  ["INFO", 3, () => `Queue ${pick(["ingest", "transcode", "notify"])} depth is ${int(10000)}`],
  ["INFO", 3, () => `Session ${crypto.randomUUID()} expired for ${user()}`],
  ["DEBUG", 3, () => `Loaded ${int(500)} metadata fields for release ${int(1e6)}`],
  ["DEBUG", 2, () => `Heartbeat from node aoma-app-0${1 + int(9)} ok`],
  ["INFO", 2, () => `Email sent to ${user()}@example.com about asset ${asset()}`],
  ["INFO", 2, () => `Webhook delivered to https://hooks.example.com/${hex(12)} in ${int(800)} ms`],
  ["WARN", 2, () => `Rate limit reached for client ${pick(["dam", "portal", "mobile"])}: ${int(100)} requests in 60 s`],
  ["WARN", 1, () => `Certificate for ${pick(["cdn", "api", "upload"])}.aoma.example.com expires in ${int(30)} days`],
  ["INFO", 2, () => `Deployment ${pick(["aoma-mesh", "aoma-worker", "aoma-ui"])} v${int(5)}.${int(20)}.${int(10)} rolled out to ${pick(["eu-west-1", "us-east-1"])}`],
  ["ERROR", 1, () => `Database connection pool exhausted (${int(200)} waiting)`],
  ["FATAL", 0.2, () => `Worker ${pick(["transcoder", "indexer"])} crashed: segmentation fault at 0x${hex(12)}`],
];
const TOTAL_WEIGHT = SHAPES.reduce((a, s) => a + s[1], 0);
function shape(): [string, () => string] {
  let x = rnd() * TOTAL_WEIGHT;
  for (const [level, w, make] of SHAPES) {
    if ((x -= w) <= 0) return [level, make];
  }
  return [SHAPES[0][0], SHAPES[0][2]];
}

async function generate(dir: string): Promise<{ jsonl: string; text: string; bytes: [number, number] }> {
  const jsonl = `${dir}/bench.jsonl`, text = `${dir}/bench.log`;
  const j = await Deno.open(jsonl, { write: true, create: true, truncate: true });
  const t = await Deno.open(text, { write: true, create: true, truncate: true });
  const enc = new TextEncoder();
  let ts = Date.UTC(2026, 9, 1);
  let jb: string[] = [], tb: string[] = [];
  for (let i = 0; i < LINES; i++) {
    ts += int(20_000);
    const [level, make] = shape();
    const msg = make();
    const iso = new Date(ts).toISOString();
    const host = `aoma-app-0${1 + int(6)}`;
    jb.push(JSON.stringify({ ts: iso, level: level.toLowerCase(), service: "aoma-mesh", host, msg }));
    tb.push(`${iso.replace("T", " ").replace("Z", "")} ${level} [aoma-mesh@${host}] ${msg}`);
    if (jb.length === 10_000 || i === LINES - 1) {
      await j.write(enc.encode(jb.join("\n") + "\n"));
      await t.write(enc.encode(tb.join("\n") + "\n"));
      jb = [];
      tb = [];
    }
  }
  j.close();
  t.close();
  return { jsonl, text, bytes: [(await Deno.stat(jsonl)).size, (await Deno.stat(text)).size] };
}

// ───────────────────────────── the three timings ─────────────────────────────

async function timeRead(path: string): Promise<number> {
  const t0 = performance.now();
  let n = 0;
  for await (const _ of readFileLines(path)) n++;
  if (n !== LINES) throw new Error(`read ${n} lines, expected ${LINES}`);
  return performance.now() - t0;
}

async function timeTemplating(path: string, format: "jsonl" | "text"): Promise<{ ms: number; templates: number }> {
  const t0 = performance.now();
  const parser = new LogLineParser({ source: "bench", format });
  const miner = new TemplateMiner();
  let n = 0;
  for await (const { text, line } of readFileLines(path)) {
    const r = parser.parse(text, line);
    if (!r || "reason" in r) throw new Error(`line ${line} rejected: ${r?.reason}`);
    miner.resolve(miner.mine(r.message));
    n++;
  }
  if (n !== LINES) throw new Error(`templated ${n} lines, expected ${LINES}`);
  if (args.has("templates")) for (const c of miner.drain.clusters()) console.log(`  ${c.size}\t${c.template}`);
  return { ms: performance.now() - t0, templates: miner.drain.clusters().length };
}

const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
await admin.unsafe("drop database if exists aoma_bench_logs with (force)");
await admin.unsafe("create database aoma_bench_logs");
const db = openPostgres(benchUrl, { max: 2 });
await migrateAll(db);
const pgVersion = (await db.query<{ v: string }>("select current_setting('server_version') as v"))[0].v;

const dir = await Deno.makeTempDir({ prefix: "aoma-bench-logs-" });
const g0 = performance.now();
const files = await generate(dir);
console.log(`generated ${LINES.toLocaleString("en-US")} lines in ${((performance.now() - g0) / 1000).toFixed(1)} s: ` +
  `${(files.bytes[0] / 1e6).toFixed(0)} MB JSONL, ${(files.bytes[1] / 1e6).toFixed(0)} MB text`);

interface Result {
  format: string;
  mb: number;
  read: number;
  templating: number;
  ingest: number;
  rerun: number;
  templates: number;
  stored: number;
}
const results: Result[] = [];
for (const [format, path, bytes] of [["jsonl", files.jsonl, files.bytes[0]], ["text", files.text, files.bytes[1]]] as const) {
  await db.exec("truncate aoma.log_events; delete from aoma.message_templates;");
  await timeRead(path); // warm the page cache
  const read = await timeRead(path);
  const tpl = await timeTemplating(path, format);
  const t0 = performance.now();
  const report = await ingestLogs(db, { path, source: `bench-${format}`, format, refresh: false });
  const ingest = performance.now() - t0;
  if (report.tables.log_events.inserted !== LINES) throw new Error(`inserted ${report.tables.log_events.inserted}, expected ${LINES}`);
  const [{ n }] = await db.query<{ n: number }>("select count(*)::int as n from aoma.message_templates");
  const t1 = performance.now();
  const again = await ingestLogs(db, { path, source: `bench-${format}`, format, refresh: false });
  const rerun = performance.now() - t1;
  if (again.totals().inserted !== 0 || again.totals().updated !== 0) throw new Error(`re-run changed rows: ${again.format()}`);
  results.push({ format, mb: bytes / 1e6, read, templating: tpl.ms, ingest, rerun, templates: tpl.templates, stored: n });
  const rate = (ms: number) => Math.round(LINES / (ms / 1000)).toLocaleString("en-US");
  console.log(
    `${format}: read ${read.toFixed(0)} ms (${rate(read)} lines/s), templating ${tpl.ms.toFixed(0)} ms (${rate(tpl.ms)} lines/s, ` +
      `${tpl.templates} templates), ingest ${ingest.toFixed(0)} ms (${rate(ingest)} lines/s, ${n} templates stored), ` +
      `re-run ${rerun.toFixed(0)} ms (0 inserted, 0 updated)`,
  );
}
await db.close();
await admin.unsafe("drop database if exists aoma_bench_logs with (force)");
await admin.end();
await Deno.remove(dir, { recursive: true });

const rate = (ms: number) => Math.round(LINES / (ms / 1000)).toLocaleString("en-US");
const table = [
  `### Log ingest throughput — ${new Date().toISOString().slice(0, 10)}, PostgreSQL ${pgVersion}, ${navigator.hardwareConcurrency} cores`,
  "",
  `Command: \`deno run -A bench/log_ingest.ts --write\` (${LINES.toLocaleString("en-US")} generated lines, 30 message shapes; goal ≥ 20,000 lines/s with templating).`,
  "Read: stream the file and split lines (the floor). Templating: read + parse + mask + Drain, no database.",
  "Ingest: `ingestLogs` end to end into PostgreSQL (templating, upserts in transactions of 5,000 lines, template stats; no feature refresh).",
  "Re-run: the same ingest again (every line read, templated and compared; 0 inserted, 0 updated).",
  "",
  "| format | MB | read (ms) | read lines/s | templating (ms) | templating lines/s | ingest (ms) | ingest lines/s | ingest / read | re-run (ms) | templates |",
  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ...results.map((r) =>
    `| ${r.format} | ${r.mb.toFixed(0)} | ${r.read.toFixed(0)} | ${rate(r.read)} | ${r.templating.toFixed(0)} | ${rate(r.templating)} | ` +
    `${r.ingest.toFixed(0)} | ${rate(r.ingest)} | ${(r.ingest / r.read).toFixed(1)}x | ${r.rerun.toFixed(0)} | ${r.stored} |`
  ),
  "",
].join("\n");
console.log("\n" + table);
if (args.has("write")) await appendResults(table);
