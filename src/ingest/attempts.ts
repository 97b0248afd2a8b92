/**
 * Processing-attempt ingest: CSV or JSON (array, `{ "records": [...] }` or JSON lines) into
 * aoma.processing_attempts (natural key attempt_id). The error message of a failed attempt is
 * templated by the same masking + Drain machinery as the logs (templates.ts), so
 * error_template_id names the same template a log line with that message gets.
 *
 * Steps: `readRecords` (metrics.ts), `mapAttemptRecords` (validate → rows + rejections),
 * `writeAttemptRows` (templates + transactional batches), `ingestAttempts` (all of it in runIngest).
 *
 * Rejected with their line numbers: a missing attempt_id, asset_id, asset_type, started_at or
 * status; unparseable or absurd times; finished_at before started_at; a status other than
 * succeeded/failed (success, ok, completed → succeeded; failure, error → failed); a migration state
 * other than legacy/migrating/migrated; an error message on a succeeded attempt; oversized fields;
 * a repeated attempt_id (the first is kept); a record holding invalid UTF-8, a NUL character or a
 * lone surrogate (readRecords / recordsOf, storable.ts).
 *
 * @example
 * await ingestAttempts(db, { path: "attempts.csv" });
 * await ingestAttempts(db, { path: "export.json", columns: { attempt_id: "id", error_message: "error" } });
 */
import type { Db } from "../db/types.ts";
import { writeBatch } from "./batch.ts";
import type { DrainOptions } from "./drain.ts";
import { inputText, type InputRecord, readRecords, type RecordRejection, type TabularOptions, formatOf } from "./metrics.ts";
import { IngestReport, type Progress, SILENT } from "./report.ts";
import { runIngest } from "./run.ts";
import { type Mined, TemplateMiner, templatesOf } from "./templates.ts";
import { checkTimestampFormat, quoteShort, readTimestamp, type TimestampFormat } from "./timestamps.ts";
import { upsertRows } from "./upsert.ts";
import type { ProcessingAttemptRow } from "../db/rows.ts";

/** Columns read from the input (error_template_id is computed). */
export const ATTEMPT_COLUMNS = [
  "attempt_id", "asset_id", "asset_type", "uploaded_at", "migration_state", "started_at", "finished_at", "status", "error_message",
] as const;
export type AttemptColumn = typeof ATTEMPT_COLUMNS[number];

/** Size limits (characters). */
export const ATTEMPT_LIMITS = { id: 200, message: 65_536 } as const;

/** One row of aoma.processing_attempts before templating (the template id is filled in later). */
export type AttemptRow = Omit<ProcessingAttemptRow, "error_template_id">;

/** How records map to attempt rows. */
export interface AttemptMapOptions {
  /** Input column per table column; default the table column's own name. */
  columns?: Partial<Record<AttemptColumn, string>>;
  /** How times are written. Default "iso" (a time without zone is UTC). */
  tsFormat?: TimestampFormat;
  now?: number;
}

const STATUS: Record<string, "succeeded" | "failed"> = {
  succeeded: "succeeded", success: "succeeded", successful: "succeeded", ok: "succeeded", completed: "succeeded", done: "succeeded",
  failed: "failed", failure: "failed", fail: "failed", error: "failed", errored: "failed",
};
const MIGRATION = new Set(["legacy", "migrating", "migrated"]);

/**
 * Validates records into attempt rows (with the line of each row).
 *
 * @example
 * const { records } = readRecords(csvText, { format: "csv" });
 * const { rows, rejections } = mapAttemptRecords(records);
 */
export function mapAttemptRecords(
  records: InputRecord[],
  opts: AttemptMapOptions = {},
): { rows: AttemptRow[]; lines: number[]; rejections: RecordRejection[] } {
  for (const k of Object.keys(opts.columns ?? {})) {
    if (!ATTEMPT_COLUMNS.includes(k as AttemptColumn)) {
      throw new Error(`Cannot map attempts: ${quoteShort(k)} is not an attempt column; allowed: ${ATTEMPT_COLUMNS.join(", ")}`);
    }
  }
  checkTimestampFormat(opts.tsFormat);
  const col = (c: AttemptColumn) => opts.columns?.[c] ?? c;
  const rows: AttemptRow[] = [], lines: number[] = [], rejections: RecordRejection[] = [];
  const first = new Map<string, number>();
  for (const rec of records) {
    const r = mapOne(rec.values, col, opts);
    if (typeof r === "string") {
      rejections.push({ line: rec.line, reason: r });
      continue;
    }
    const seen = first.get(r.attempt_id);
    if (seen !== undefined) {
      rejections.push({ line: rec.line, reason: `repeated attempt_id ${quoteShort(r.attempt_id)} (first on line ${seen})` });
      continue;
    }
    first.set(r.attempt_id, rec.line);
    rows.push(r);
    lines.push(rec.line);
  }
  return { rows, lines, rejections };
}

function mapOne(v: Record<string, unknown>, col: (c: AttemptColumn) => string, opts: AttemptMapOptions): AttemptRow | string {
  const text = (c: AttemptColumn): string | null => {
    const x = v[col(c)];
    if (x === undefined || x === null) return null;
    const s = (typeof x === "string" ? x : String(x)).trim();
    return s === "" ? null : s;
  };
  const ids: Partial<Record<AttemptColumn, string>> = {};
  for (const c of ["attempt_id", "asset_id", "asset_type"] as const) {
    const s = text(c);
    if (s === null) return `missing ${c}`;
    if (s.length > ATTEMPT_LIMITS.id) return `oversized ${c}: ${s.length} characters; allowed: ${ATTEMPT_LIMITS.id}`;
    ids[c] = s;
  }
  const time = (c: "uploaded_at" | "started_at" | "finished_at", required: boolean) => {
    const raw = v[col(c)];
    if (!required && (raw === undefined || raw === null || raw === "")) return { ok: true as const, iso: null };
    return readTimestamp(raw, c, opts.tsFormat ?? "iso", { now: opts.now });
  };
  const started = time("started_at", true);
  if (!started.ok) return started.reason;
  const uploaded = time("uploaded_at", false);
  if (!uploaded.ok) return uploaded.reason;
  const finished = time("finished_at", false);
  if (!finished.ok) return finished.reason;
  if (finished.iso !== null && finished.iso < started.iso!) return `finished_at ${finished.iso} is before started_at ${started.iso}`;
  const statusText = text("status");
  if (statusText === null) return "missing status";
  const status = STATUS[statusText.toLowerCase()];
  if (!status) return `unknown status ${quoteShort(statusText)}; allowed: succeeded, failed (or success, ok, failure, error)`;
  const ms = text("migration_state")?.toLowerCase() ?? null;
  if (ms !== null && !MIGRATION.has(ms)) return `unknown migration_state ${quoteShort(ms)}; allowed: legacy, migrating, migrated`;
  const rawMessage = v[col("error_message")];
  let message = rawMessage === undefined || rawMessage === null || rawMessage === ""
    ? null
    : typeof rawMessage === "string" ? rawMessage : JSON.stringify(rawMessage);
  if (message !== null && message.trim() === "") message = null;
  if (message !== null && message.length > ATTEMPT_LIMITS.message) {
    return `oversized error_message: ${message.length} characters; allowed: ${ATTEMPT_LIMITS.message}`;
  }
  if (message !== null && status === "succeeded") return "error_message on a succeeded attempt; only failed attempts carry one";
  return {
    attempt_id: ids.attempt_id!,
    asset_id: ids.asset_id!,
    asset_type: ids.asset_type!,
    uploaded_at: uploaded.iso,
    migration_state: ms as AttemptRow["migration_state"],
    started_at: started.iso!,
    finished_at: finished.iso,
    status,
    error_message: message,
  };
}

/** How attempt rows are written. */
export interface WriteAttemptOptions {
  /** Rows per transaction. Default 5,000. */
  batchSize?: number;
  /** Line (record number) of each row, for rows the database refuses (default: 1-based position). */
  lines?: readonly number[];
  drain?: DrainOptions;
  /** A miner to reuse (loaded from the database when absent). */
  miner?: TemplateMiner;
  onBatch?: (batch: number) => void | Promise<void>;
  progress?: Progress;
}

/**
 * Templates the error messages and upserts the rows in transactional batches (a row the database
 * refuses is rejected on its own, batch.ts), then refreshes the stats of the templates used. Does
 * not refresh the feature views.
 *
 * @example
 * const report = new IngestReport("attempts");
 * const { records, rejections } = recordsOf(body.records);   // metrics.ts
 * const mapped = mapAttemptRecords(records);
 * await writeAttemptRows(db, mapped.rows, report);
 */
export async function writeAttemptRows(db: Db, rows: AttemptRow[], report: IngestReport, opts: WriteAttemptOptions = {}): Promise<void> {
  const miner = opts.miner ?? await TemplateMiner.load(db, opts.drain);
  const size = opts.batchSize ?? 5_000;
  let batch = 0;
  for (let i = 0; i < rows.length; i += size) {
    const part = rows.slice(i, i + size);
    const mined: (Mined | null)[] = part.map((r) => (r.error_message === null ? null : miner.mine(r.error_message)));
    const plan = miner.plan(mined);
    const out = part.map((r, k) => ({ ...r, error_template_id: plan.resolved[k]?.template_id ?? null }));
    const lines = (opts.lines ?? rows.map((_, k) => k + 1)).slice(i, i + size);
    const rejected = await writeBatch(db, out, { report, lines }, async (tx, chunk, counts) => {
      await plan.apply(tx, counts, templatesOf(chunk));
      counts.add("processing_attempts", await upsertRows(tx, "processing_attempts", chunk));
    });
    const refused = new Set(rejected);
    plan.committed(refused.size ? templatesOf(out.filter((_, k) => !refused.has(k))) : undefined);
    opts.progress?.advance(part.length);
    await opts.onBatch?.(++batch);
  }
  await miner.refreshStats(db, report);
}

/** Options of {@link ingestAttempts}. */
export interface AttemptIngestOptions extends AttemptMapOptions, TabularOptions {
  path?: string;
  text?: string;
  batchSize?: number;
  drain?: DrainOptions;
  /** Refresh the feature views at the end (default true). */
  refresh?: boolean;
  onBatch?: (batch: number) => void | Promise<void>;
}

/**
 * Reads a processing-attempt file (CSV or JSON) or text, validates, templates and upserts it;
 * records the run and refreshes the feature views.
 *
 * @example
 * const report = await ingestAttempts(db, { path: "attempts.csv" });
 */
export async function ingestAttempts(db: Db, opts: AttemptIngestOptions, progress: Progress = SILENT): Promise<IngestReport> {
  const text = await inputText(opts);
  const format = opts.format ?? formatOf(opts.path, text);
  return await runIngest(db, "attempts", async (report) => {
    const { records, rejections } = readRecords(text, { format, delimiter: opts.delimiter });
    report.read = records.length + rejections.length;
    progress.total(records.length);
    const mapped = mapAttemptRecords(records, opts);
    for (const r of [...rejections, ...mapped.rejections].sort((a, b) => a.line - b.line)) report.reject(r.line, r.reason);
    try {
      await writeAttemptRows(db, mapped.rows, report, {
        batchSize: opts.batchSize,
        lines: mapped.lines,
        drain: opts.drain,
        onBatch: opts.onBatch,
        progress,
      });
    } finally {
      progress.done();
    }
  }, { refresh: opts.refresh });
}
