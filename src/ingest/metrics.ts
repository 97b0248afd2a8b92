/**
 * Asset-metric ingest: CSV or JSON (an array, `{ "records": [...] }`, or JSON lines) into
 * aoma.aoma_system_metrics, natural key (source, timestamp). Column mapping lets a plain
 * `timestamp,value` series (e.g. the NAB CloudWatch files in ../shared/data/nab-aws/) load as one
 * metric; a metric column the input does not map keeps its stored value, so several series can fill
 * the columns of one source.
 *
 * Steps: `readRecords` (CSV/JSON → records with line numbers), `mapMetricRecords` (validate → rows +
 * rejections), `writeMetricRows` (transactional batches), `ingestMetrics` (all of it in runIngest).
 *
 * Rejected with their line numbers: unparseable or missing timestamps, absurd dates, unparseable
 * numbers, negative counts or times, fractions in integer columns (unless `round`), values beyond
 * integer range, oversized cells, repeated timestamps (the first one is kept), and records holding
 * invalid UTF-8, a NUL character or a lone surrogate in any field (storable.ts).
 *
 * @example
 * await ingestMetrics(db, {
 *   path: "../shared/data/nab-aws/elb_request_count_8c0756.csv",
 *   source: "elb", valueColumn: "value", as: "asset_volume",
 * });
 * await ingestMetrics(db, { path: "metrics.json", source: "aoma" }); // columns named like the table's
 */
import type { Db } from "../db/types.ts";
import { writeBatch } from "./batch.ts";
import { readCsv } from "./csv.ts";
import { IngestReport, type Progress, SILENT } from "./report.ts";
import { runIngest } from "./run.ts";
import { checkTimestampFormat, quoteShort, readTimestamp, type TimestampFormat } from "./timestamps.ts";
import { readUtf8File, unstorable } from "./storable.ts";
import { upsertRows } from "./upsert.ts";

/** The metric columns of aoma.aoma_system_metrics. */
export const METRIC_COLUMNS = ["asset_volume", "processing_time", "error_count", "performance_score"] as const;
export type MetricColumn = typeof METRIC_COLUMNS[number];

const INTEGER_COLUMNS = new Set<MetricColumn>(["asset_volume", "error_count"]);
const NON_NEGATIVE = new Set<MetricColumn>(["asset_volume", "processing_time", "error_count"]);
const INT_MAX = 2_147_483_647;
/** Longest cell read (characters); longer is rejected as oversized. */
export const MAX_CELL_CHARS = 10_000;
/** Timestamp columns tried when none is named. */
export const TIMESTAMP_COLUMNS = ["timestamp", "ts", "time", "date", "datetime", "@timestamp"];

/** One input record: its values by column name and its 1-based line (CSV, JSON lines) or record number. */
export interface InputRecord {
  line: number;
  values: Record<string, unknown>;
}

/** A record that was not read, and why. */
export interface RecordRejection {
  line: number;
  reason: string;
}

/** Input format of metric and attempt files. */
export interface TabularOptions {
  /** "csv" or "json" (array, { records: [...] } or JSON lines). Default from the file name / first character. */
  format?: "csv" | "json";
  /** CSV delimiter, or "auto". Default ",". */
  delimiter?: string;
}

/**
 * Reads CSV (first record = header) or JSON into records. Never throws on bad data: a CSV record
 * with the wrong number of fields or an unterminated quote, a JSON line that does not parse, a
 * non-object, or a record holding invalid UTF-8, NUL or a lone surrogate (storable.ts) is a rejection.
 *
 * @example
 * readRecords("timestamp,value\n2014-02-14 14:30:00,0.132\n", { format: "csv" });
 * // { records: [{ line: 2, values: { timestamp: "2014-02-14 14:30:00", value: "0.132" } }], rejections: [] }
 */
export function readRecords(text: string, opts: TabularOptions = {}): { records: InputRecord[]; rejections: RecordRejection[] } {
  const format = opts.format ?? (/^\s*[[{]/.test(text) ? "json" : "csv");
  const records: InputRecord[] = [], rejections: RecordRejection[] = [];
  if (format === "csv") {
    let header: string[] | null = null;
    for (const rec of readCsv(text, { delimiter: opts.delimiter ?? "," })) {
      if (!header) {
        header = rec.fields.map((h) => h.trim());
        continue;
      }
      if (rec.error) {
        rejections.push({ line: rec.line, reason: rec.error });
        continue;
      }
      if (rec.fields.length !== header.length) {
        rejections.push({ line: rec.line, reason: `${rec.fields.length} fields; the header has ${header.length}` });
        continue;
      }
      const values: Record<string, unknown> = {};
      header.forEach((h, i) => (values[h] = rec.fields[i]));
      keep(records, rejections, rec.line, values);
    }
    return { records, rejections };
  }
  if (format !== "json") throw new Error(`Cannot read records: format ${quoteShort(format)} is not allowed; use "csv" or "json"`);
  const trimmed = text.trimStart();
  if (trimmed.startsWith("[") || trimmed.startsWith("{")) {
    // one JSON document (an array, { records }, or a single record) — else JSON lines
    let doc: unknown, parsed = true;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      if (trimmed.startsWith("[")) {
        rejections.push({ line: 1, reason: `unparseable JSON: ${(e as Error).message}` });
        return { records, rejections };
      }
      parsed = false;
    }
    if (parsed) {
      const arr = Array.isArray(doc) ? doc : (doc as { records?: unknown }).records ?? [doc];
      if (!Array.isArray(arr)) {
        rejections.push({ line: 1, reason: "JSON \"records\" is not an array" });
        return { records, rejections };
      }
      return recordsOf(arr, 1);
    }
  }
  let line = 0;
  for (const raw of text.split("\n")) {
    line++;
    if (raw.trim() === "") continue;
    const bad = unstorable(raw, "the line");
    if (bad) {
      rejections.push({ line, reason: bad });
      continue;
    }
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch {
      rejections.push({ line, reason: `unparseable JSON ${quoteShort(raw)}` });
      continue;
    }
    keep(records, rejections, line, v);
  }
  return { records, rejections };
}

/** Adds `v` as the record of `line`, or its rejection: not an object, or holding what cannot be stored. */
function keep(records: InputRecord[], rejections: RecordRejection[], line: number, v: unknown): void {
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    rejections.push({ line, reason: "not a JSON object" });
    return;
  }
  const bad = unstorable(v);
  if (bad) rejections.push({ line, reason: bad });
  else records.push({ line, values: v as Record<string, unknown> });
}

/** Records of already-decoded objects (an HTTP batch), numbered from `firstLine`. */
export function recordsOf(objects: unknown[], firstLine = 1): { records: InputRecord[]; rejections: RecordRejection[] } {
  const records: InputRecord[] = [], rejections: RecordRejection[] = [];
  objects.forEach((v, i) => keep(records, rejections, firstLine + i, v));
  return { records, rejections };
}

/** How records map to metric rows. */
export interface MetricMapOptions {
  /** Metric source stored with every row (1..200 characters). */
  source: string;
  /** Input column with the time. Default the first present of TIMESTAMP_COLUMNS. */
  timestampColumn?: string;
  /** How times are written (see timestamps.ts). Default "iso"; a time without zone is UTC. */
  tsFormat?: TimestampFormat;
  /** Input column per metric column; default each metric column's own name when present. */
  columns?: Partial<Record<MetricColumn, string>>;
  /** Shorthand for one series: the input column with the values … */
  valueColumn?: string;
  /** … and the metric column it fills. */
  as?: MetricColumn;
  /** Round fractions in integer columns (asset_volume, error_count) instead of rejecting them. */
  round?: boolean;
  /** "Now" for the absurd-date check (tests). */
  now?: number;
}

/** One row of aoma.aoma_system_metrics (only the mapped metric columns are present). */
export type MetricRow = { source: string; timestamp: string } & Partial<Record<MetricColumn, number | null>>;

/** The input column behind each mapped metric column, and the timestamp column. */
function mapping(opts: MetricMapOptions, present: Set<string>): { ts: string; cols: [MetricColumn, string][] } {
  if (!opts.source || opts.source.length > 200) {
    throw new Error(`Cannot map metrics: source ${quoteShort(opts.source ?? "")} is not allowed; use a name of 1 to 200 characters`);
  }
  let cols: [MetricColumn, string][];
  if (opts.valueColumn !== undefined || opts.as !== undefined) {
    if (!opts.valueColumn || !opts.as || !METRIC_COLUMNS.includes(opts.as)) {
      throw new Error(
        `Cannot map metrics: valueColumn and as go together, as one of ${METRIC_COLUMNS.join(", ")}; got ${quoteShort(opts.valueColumn ?? "")} as ${quoteShort(opts.as ?? "")}`,
      );
    }
    cols = [[opts.as, opts.valueColumn]];
  } else {
    cols = [];
    for (const c of METRIC_COLUMNS) {
      const from = opts.columns?.[c];
      if (from !== undefined) cols.push([c, from]);
      else if (present.has(c)) cols.push([c, c]);
    }
    for (const k of Object.keys(opts.columns ?? {})) {
      if (!METRIC_COLUMNS.includes(k as MetricColumn)) {
        throw new Error(`Cannot map metrics: ${quoteShort(k)} is not a metric column; allowed: ${METRIC_COLUMNS.join(", ")}`);
      }
    }
  }
  if (cols.length === 0) {
    throw new Error(
      `Cannot map metrics: no metric column found; name columns ${METRIC_COLUMNS.join(", ")}, or map them with columns / valueColumn + as`,
    );
  }
  checkTimestampFormat(opts.tsFormat);
  const ts = opts.timestampColumn ?? TIMESTAMP_COLUMNS.find((c) => present.has(c)) ?? "timestamp";
  return { ts, cols };
}

/**
 * Validates records into metric rows (with the line of each row). Rows are keyed by (source,
 * timestamp); a repeated timestamp is rejected (the first is kept).
 *
 * @example
 * const { records } = readRecords(text, { format: "csv" });
 * const { rows, rejections } = mapMetricRecords(records, { source: "elb", valueColumn: "value", as: "asset_volume" });
 */
export function mapMetricRecords(
  records: InputRecord[],
  opts: MetricMapOptions,
): { rows: MetricRow[]; lines: number[]; rejections: RecordRejection[] } {
  const present = new Set<string>();
  for (const r of records.slice(0, 1000)) for (const k of Object.keys(r.values)) present.add(k);
  const { ts, cols } = mapping(opts, present);
  const rows: MetricRow[] = [], lines: number[] = [], rejections: RecordRejection[] = [];
  const firstLine = new Map<string, number>();
  outer: for (const rec of records) {
    const t = readTimestamp(rec.values[ts], `timestamp (column ${ts})`, opts.tsFormat ?? "iso", { now: opts.now });
    if (!t.ok) {
      rejections.push({ line: rec.line, reason: t.reason });
      continue;
    }
    const row: MetricRow = { source: opts.source, timestamp: t.iso };
    for (const [col, from] of cols) {
      const v = readNumber(rec.values[from], col, from, opts.round ?? false);
      if (typeof v === "string") {
        rejections.push({ line: rec.line, reason: v });
        continue outer;
      }
      row[col] = v;
    }
    const seen = firstLine.get(t.iso);
    if (seen !== undefined) {
      rejections.push({ line: rec.line, reason: `repeated timestamp ${t.iso} (first on line ${seen})` });
      continue;
    }
    firstLine.set(t.iso, rec.line);
    rows.push(row);
    lines.push(rec.line);
  }
  return { rows, lines, rejections };
}

/** A number for `col`, null for an empty cell, or the reason it is rejected. */
function readNumber(v: unknown, col: MetricColumn, from: string, round: boolean): number | null | string {
  if (v === undefined || v === null || (typeof v === "string" && v.trim() === "")) return null;
  if (typeof v === "string" && v.length > MAX_CELL_CHARS) return `oversized ${from}: ${v.length} characters; allowed: ${MAX_CELL_CHARS}`;
  const n = typeof v === "number" ? v : typeof v === "string" ? Number(v.trim()) : NaN;
  if (!Number.isFinite(n)) return `unparseable number in ${from}: ${quoteShort(v)}`;
  if (NON_NEGATIVE.has(col) && n < 0) return `negative ${col} ${n} in ${from}; allowed: 0 or more`;
  if (INTEGER_COLUMNS.has(col)) {
    const i = round ? Math.round(n) : n;
    if (!Number.isInteger(i)) return `${col} ${n} in ${from} is not a whole number (use round to round it)`;
    if (i > INT_MAX) return `${col} ${n} in ${from} is out of range; allowed: up to ${INT_MAX}`;
    return i;
  }
  return n;
}

/** How rows are written. */
export interface WriteRowsOptions {
  /** Rows per transaction. Default 5,000. */
  batchSize?: number;
  /** Line (record number) of each row, for rows the database refuses (default: 1-based position). */
  lines?: readonly number[];
  /** Called after each committed batch with its 1-based number. */
  onBatch?: (batch: number) => void | Promise<void>;
  progress?: Progress;
}

/**
 * Upserts metric rows in transactional batches (every row must have the same columns, as
 * mapMetricRecords makes them); a row the database refuses is rejected on its own (batch.ts).
 * Does not refresh the feature views.
 *
 * @example
 * const report = new IngestReport("metrics");
 * await writeMetricRows(db, [{ source: "aoma", timestamp: "2026-11-01T00:00:00Z", asset_volume: 412 }], report);
 */
export async function writeMetricRows(db: Db, rows: MetricRow[], report: IngestReport, opts: WriteRowsOptions = {}): Promise<void> {
  const size = opts.batchSize ?? 5_000;
  let batch = 0;
  for (let i = 0; i < rows.length; i += size) {
    const part = rows.slice(i, i + size);
    const lines = (opts.lines ?? rows.map((_, k) => k + 1)).slice(i, i + size);
    await writeBatch(db, part, { report, lines }, async (tx, chunk, counts) => {
      counts.add("aoma_system_metrics", await upsertRows(tx, "aoma_system_metrics", chunk));
    });
    opts.progress?.advance(part.length);
    await opts.onBatch?.(++batch);
  }
}

/** Options of {@link ingestMetrics}. */
export interface MetricIngestOptions extends MetricMapOptions, TabularOptions {
  /** File to read. One of path or text. */
  path?: string;
  text?: string;
  batchSize?: number;
  /** Refresh the feature views at the end (default true). */
  refresh?: boolean;
  onBatch?: (batch: number) => void | Promise<void>;
}

/**
 * Reads a metrics file (CSV or JSON) or text, validates it and upserts it into
 * aoma.aoma_system_metrics; records the run and refreshes the feature views.
 *
 * @example
 * const report = await ingestMetrics(db, { path: "nab.csv", source: "nab", valueColumn: "value", as: "asset_volume" });
 */
export async function ingestMetrics(db: Db, opts: MetricIngestOptions, progress: Progress = SILENT): Promise<IngestReport> {
  const text = await inputText(opts);
  const format = opts.format ?? formatOf(opts.path, text);
  return await runIngest(db, "metrics", async (report) => {
    const { records, rejections } = readRecords(text, { format, delimiter: opts.delimiter });
    report.read = records.length + rejections.length;
    progress.total(records.length);
    const mapped = mapMetricRecords(records, opts);
    for (const r of [...rejections, ...mapped.rejections].sort((a, b) => a.line - b.line)) report.reject(r.line, r.reason);
    try {
      await writeMetricRows(db, mapped.rows, report, {
        batchSize: opts.batchSize,
        lines: mapped.lines,
        onBatch: opts.onBatch,
        progress,
      });
    } finally {
      progress.done();
    }
  }, { refresh: opts.refresh });
}

/** The text of `path` (invalid UTF-8 kept visible, see storable.ts) or `text` (exactly one). */
export async function inputText(opts: { path?: string; text?: string }): Promise<string> {
  if ((opts.path === undefined) === (opts.text === undefined)) {
    throw new Error("Cannot ingest: give exactly one of path or text");
  }
  return opts.text ?? await readUtf8File(opts.path!);
}

/** "json" for .json/.jsonl/.ndjson files or text starting with [ or {, else "csv". */
export function formatOf(path: string | undefined, text: string): "csv" | "json" {
  if (path && /\.(json|jsonl|ndjson)$/i.test(path)) return "json";
  if (path && /\.(csv|tsv|txt)$/i.test(path)) return "csv";
  return /^\s*[[{]/.test(text) ? "json" : "csv";
}
