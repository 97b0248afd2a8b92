/**
 * System-log ingest: JSON lines or plain text (a configurable regex), streamed line by line, each
 * message templated (mask.ts + the Drain parser, templates kept stable across runs by
 * templates.ts), written to aoma.log_events and aoma.message_templates in transactional batches.
 *
 * Three steps, so the CLI and the `ingest` edge function can share them:
 *   1. parse: `LogLineParser` turns lines into `LogRecord`s or reasons (no database; a caller's text
 *      pattern runs in the regex guard, regex_guard.ts, with a time limit per line);
 *   2. write: `writeLogEvents(db, records, report, opts)` mines templates and upserts in batches;
 *   3. run: `ingestLogs(db, opts, progress?)` streams a file (or a text) through both inside
 *      `runIngest` (an aoma.ingest_runs row, the feature views refreshed at the end).
 *
 * event_key: the first 32 hex digits of sha-256 over `source`, a NUL and the raw line; the 2nd, 3rd …
 * exact copy of a line within one input adds `#<n>` (n = 1, 2, …) and is hashed again, so duplicate
 * lines are kept as separate events while a re-read of the same file — or of a longer copy of it, as
 * after log rotation — maps every line to the key it had. No cursor is kept: a re-run reads the
 * whole input and the upsert on (source, event_key) makes it a no-op (0 inserted, 0 updated).
 *
 * A line holding invalid UTF-8, a NUL character or a lone surrogate (raw, or as a `\u0000` /
 * `\ud800` escape in any JSON field) is rejected with its line number (storable.ts); the other
 * lines of its batch are stored.
 *
 * @example
 * const report = await ingestLogs(db, { path: "app.jsonl", source: "aoma-mesh/app" });
 * const text = await ingestLogs(db, {
 *   path: "worker.log", source: "aoma-mesh/worker", format: "text",
 *   pattern: "^(?<ts>\\S+ \\S+) \\[(?<level>\\w+)\\] (?<message>.*)$", tsFormat: "yyyy-MM-dd HH:mm:ss,SSS",
 * });
 */
import { createHash } from "node:crypto";
import type { Db } from "../db/types.ts";
import { writeBatch } from "./batch.ts";
import type { DrainOptions } from "./drain.ts";
import { RegexGuard, type RegexLimits, TIMEOUT } from "./regex_guard.ts";
import { IngestReport, type Progress, SILENT } from "./report.ts";
import { runIngest } from "./run.ts";
import { concatBytes, decodeUtf8, unstorable, withoutBom } from "./storable.ts";
import { type Mined, TemplateMiner, templatesOf } from "./templates.ts";
import { checkTimestampFormat, checkYear, lacksYear, quoteShort, readTimestamp, type TimestampFormat, type YearRule } from "./timestamps.ts";
import { upsertRows } from "./upsert.ts";

/** The normalised levels aoma.log_events accepts. */
export const LOG_LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"] as const;
export type LogLevel = typeof LOG_LEVELS[number];

/** Size limits; a line or field above them is rejected as oversized. */
export const LOG_LIMITS = {
  /** characters of one input line */
  line: 1_048_576,
  /** characters of a message */
  message: 65_536,
  /** characters of service and host */
  name: 255,
  /** characters of a source name */
  source: 200,
} as const;

/** Where each field of a JSON line is looked for, first present key wins (a dotted key reads nested objects). */
export interface JsonLogFields {
  ts: string[];
  level: string[];
  message: string[];
  service: string[];
  host: string[];
}

/** Field names tried by default. */
export const DEFAULT_JSON_FIELDS: JsonLogFields = {
  ts: ["ts", "timestamp", "time", "@timestamp", "datetime"],
  level: ["level", "severity", "lvl", "log.level", "levelname"],
  message: ["message", "msg", "log", "text"],
  service: ["service", "service.name", "app", "logger", "component"],
  host: ["host", "hostname", "host.name"],
};

/**
 * Default pattern of plain-text lines: an ISO time, a level (optionally in brackets), an optional
 * `[service]` or `[service@host]`, then the message. E.g.
 * `2026-11-25 10:00:00,123 WARN [aoma-mesh@app-01] Slow query on table 'assets' took 1200 ms`.
 */
export const DEFAULT_TEXT_PATTERN =
  "^(?<ts>\\d{4}-\\d{2}-\\d{2}[T ]\\d{2}:\\d{2}:\\d{2}(?:[.,]\\d+)?(?:Z|[+-]\\d{2}:?\\d{2})?)\\s+\\[?(?<level>[A-Za-z]+)\\]?\\s+(?:\\[(?<service>[^\\]@\\s]+)(?:@(?<host>[^\\]\\s]+))?\\]\\s+)?(?<message>.*)$";

const LEVEL_NAMES: Record<string, LogLevel> = {
  trace: "TRACE", trc: "TRACE", finest: "TRACE", finer: "TRACE",
  debug: "DEBUG", dbg: "DEBUG", fine: "DEBUG", verbose: "DEBUG", config: "DEBUG",
  info: "INFO", inf: "INFO", information: "INFO", informational: "INFO", notice: "INFO",
  warn: "WARN", warning: "WARN", wrn: "WARN",
  error: "ERROR", err: "ERROR", severe: "ERROR", eror: "ERROR",
  fatal: "FATAL", crit: "FATAL", critical: "FATAL", alert: "FATAL", emerg: "FATAL", emergency: "FATAL",
  panic: "FATAL",
};

/**
 * The normalised level of a level name or number, or null when unknown. Names are case-insensitive
 * (warning → WARN, err → ERROR, critical → FATAL, …); numbers are pino/bunyan levels (10 trace …
 * 60 fatal) or syslog severities (0 emergency … 7 debug).
 *
 * @example
 * normaliseLevel("warning"); // "WARN"
 * normaliseLevel(50);        // "ERROR"
 */
export function normaliseLevel(value: unknown): LogLevel | null {
  if (typeof value === "number" || (typeof value === "string" && /^\d+$/.test(value.trim()))) {
    const n = Number(value);
    if (n >= 10 && n % 10 === 0 && n <= 60) return LOG_LEVELS[n / 10 - 1];
    if (n >= 0 && n <= 7) return (["FATAL", "FATAL", "FATAL", "ERROR", "WARN", "INFO", "INFO", "DEBUG"] as const)[n];
    return null;
  }
  if (typeof value !== "string") return null;
  return LEVEL_NAMES[value.trim().toLowerCase()] ?? null;
}

/** How lines are read into records. */
export interface LogParseOptions {
  /** Log source name stored with every event (e.g. "aoma-mesh/app"); 1..200 characters. */
  source: string;
  /** "jsonl": one JSON object per line; "text": `pattern` with named groups. */
  format: "jsonl" | "text";
  /**
   * Text lines: regex with named groups ts, level, message and optional service, host. Default
   * DEFAULT_TEXT_PATTERN. A string is a caller's pattern: it runs in the regex guard (a time limit
   * per line, `regexLimits`); a RegExp object comes from code and runs on this thread.
   */
  pattern?: string | RegExp;
  /** Limits of the regex guard for a caller's pattern (default REGEX_LIMITS). */
  regexLimits?: Partial<RegexLimits>;
  /** How timestamps are written (see timestamps.ts). Default "iso" (also takes epoch numbers). */
  tsFormat?: TimestampFormat;
  /**
   * Year of every timestamp read with a pattern that has none (syslog's `MMM d HH:mm:ss`), 1970 to
   * 9999. Without it the year is inferred from `yearReference` (see timestamps.ts) and the report
   * says which year was assumed, for how many lines, and from what.
   */
  year?: number;
  /**
   * What the year of year-less timestamps is inferred from when no `year` is given: an instant and
   * what it is, e.g. `{ ms: mtime, what: "the file's modification time" }`. Default: now, "the time
   * of the ingest". A date that would lie after it (+ 2 days) is from the year before.
   */
  yearReference?: { ms: number; what: string };
  /** JSON lines: where each field is (merged with DEFAULT_JSON_FIELDS per field). */
  fields?: Partial<JsonLogFields>;
  /** Level for lines without one. Default "INFO". A level present but unknown is rejected. */
  defaultLevel?: LogLevel;
  /** Service / host for lines that do not name one. */
  service?: string;
  host?: string;
  /** "Now" for the absurd-date check (tests). */
  now?: number;
}

/** One parsed log line, ready to template and write. */
export interface LogRecord {
  /** 1-based line (or record) number in its input. */
  line: number;
  event_key: string;
  /** ISO timestamp. */
  ts: string;
  level: LogLevel;
  service: string | null;
  host: string | null;
  message: string;
}

/** A line that was not read, and why. */
export interface LogRejection {
  line: number;
  reason: string;
}

const sha32 = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 32);

/** One line of an input with its 1-based number. */
export interface InputLine {
  text: string;
  line: number;
}

/** Lines handed to the regex guard at once. */
const GUARDED_LINES = 1_000;

/**
 * Parses lines of one input into records (keeps the duplicate-line counter of that input, so use
 * one parser per file or stream). With a caller's text pattern (a string), lines go through
 * {@link parseLines} and the parser must be closed ({@link close}) when done.
 *
 * @example
 * const p = new LogLineParser({ source: "app", format: "jsonl" });
 * p.parse('{"ts":"2026-11-25T10:00:00Z","level":"warn","msg":"Disk usage at 91% on volume /data/vol2"}', 1);
 * // { line: 1, event_key: "…", ts: "2026-11-25T10:00:00.000Z", level: "WARN", service: null, host: null, message: "Disk usage …" }
 */
export class LogLineParser {
  private readonly seen = new Map<string, number>();
  private readonly fields: JsonLogFields;
  private readonly pattern: RegExp;
  /** The caller's text pattern, run in a worker with a time limit (null: the pattern runs here). */
  private readonly guard: RegexGuard | null = null;
  private readonly defaultLevel: LogLevel;
  private readonly yearRule: YearRule | undefined;
  /** Lines whose year was inferred, per year. */
  private readonly assumedYears = new Map<number, number>();

  constructor(readonly opts: LogParseOptions) {
    if (!opts.source || opts.source.length > LOG_LIMITS.source) {
      throw new Error(`Cannot read logs: source ${quoteShort(opts.source ?? "")} is not allowed; use a name of 1 to ${LOG_LIMITS.source} characters`);
    }
    if (opts.format !== "jsonl" && opts.format !== "text") {
      throw new Error(`Cannot read logs: format ${quoteShort(opts.format)} is not allowed; use "jsonl" or "text"`);
    }
    this.fields = { ...DEFAULT_JSON_FIELDS };
    for (const [k, v] of Object.entries(opts.fields ?? {})) {
      if (v && v.length) this.fields[k as keyof JsonLogFields] = v;
    }
    if (opts.format === "text" && typeof opts.pattern === "string") {
      // checks length and syntax now; the pattern itself only ever runs in the guard (a worker or a process)
      this.guard = new RegexGuard(opts.pattern, "", { what: "the pattern", ...opts.regexLimits });
      this.pattern = new RegExp(opts.pattern);
    } else {
      this.pattern = opts.pattern instanceof RegExp ? opts.pattern : new RegExp(DEFAULT_TEXT_PATTERN);
    }
    if (opts.format === "text" && !/\(\?<message>/.test(this.pattern.source)) {
      throw new Error("Cannot read logs: the pattern has no named group (?<message>…); it needs ts and message, level is optional");
    }
    if (opts.format === "text" && !/\(\?<ts>/.test(this.pattern.source)) {
      throw new Error("Cannot read logs: the pattern has no named group (?<ts>…); it needs ts and message, level is optional");
    }
    checkTimestampFormat(opts.tsFormat);
    if (opts.year !== undefined) {
      const bad = checkYear(opts.year, "the year");
      if (bad) throw new Error(`Cannot read logs: ${bad}`);
      this.yearRule = opts.year;
    } else if (opts.yearReference) {
      this.yearRule = { reference: opts.yearReference.ms };
    }
    const dl = opts.defaultLevel ?? "INFO";
    if (!LOG_LEVELS.includes(dl)) {
      throw new Error(`Cannot read logs: default level ${quoteShort(dl)} is not allowed; use one of ${LOG_LEVELS.join(", ")}`);
    }
    this.defaultLevel = dl;
  }

  /**
   * One line (without its line break) → a record, a rejection, or null for a blank line. For JSON
   * lines and text with the default (or a RegExp) pattern; a caller's pattern needs {@link parseLines}.
   */
  parse(raw: string, line: number): LogRecord | LogRejection | null {
    const early = this.check(raw, line);
    if (early !== undefined) return early;
    if (this.opts.format === "jsonl") return this.fromJson(raw, line);
    if (this.guard) throw new Error("Cannot parse with a caller's pattern on this thread: use LogLineParser.parseLines");
    return this.fromGroups(raw, line, this.pattern.exec(raw)?.groups ?? null);
  }

  /**
   * Lines → records, rejections, or null for blank lines, in order. A caller's text pattern runs in
   * the regex guard: a line it overruns its time limit on is rejected; too many such lines throw
   * (RegexBudgetError, one sentence).
   */
  async parseLines(lines: readonly InputLine[]): Promise<(LogRecord | LogRejection | null)[]> {
    if (!this.guard) return lines.map(({ text, line }) => this.parse(text, line));
    const out: (LogRecord | LogRejection | null)[] = new Array(lines.length);
    const matching: number[] = [];
    lines.forEach(({ text, line }, i) => {
      const early = this.check(text, line);
      if (early !== undefined) out[i] = early;
      else matching.push(i);
    });
    for (let from = 0; from < matching.length; from += GUARDED_LINES) {
      const part = matching.slice(from, from + GUARDED_LINES);
      const answers = await this.guard.exec(part.map((i) => lines[i].text));
      part.forEach((i, k) => {
        const { text, line } = lines[i], a = answers[k];
        out[i] = a === TIMEOUT
          ? { line, reason: `the pattern ran longer than ${this.guard!.limits.perInputMs} ms on this line (it backtracks); simplify it` }
          : this.fromGroups(text, line, a);
      });
    }
    return out;
  }

  /**
   * The warning for the report when years were assumed (timestamps without a year and no `year`
   * given): which years, for how many lines, inferred from what; null when none was.
   *
   * @example
   * parser.yearNote();
   * // "year assumed: the timestamps carry none, so 2025 was taken for 1,990 lines and 2026 for 10 — the latest year that …"
   */
  yearNote(): string | null {
    if (this.assumedYears.size === 0) return null;
    const n = (x: number) => x.toLocaleString("en-US");
    const years = [...this.assumedYears].sort((a, b) => a[0] - b[0]);
    const taken = years.map(([y, c], i) => `${y} for ${n(c)}${i === 0 ? (c === 1 ? " line" : " lines") : ""}`).join(" and ");
    const ref = this.opts.yearReference ?? { ms: this.opts.now ?? Date.now(), what: "the time of the ingest" };
    const at = new Date(ref.ms).toISOString().slice(0, 16).replace("T", " ");
    return `year assumed: the timestamps carry none, so ${taken} was taken — the latest year that does not put ` +
      `a line after ${ref.what} (${at} UTC); give the year (--year, or "year" in a batch) if that is wrong`;
  }

  /** Ends the regex guard's worker or process, if any. */
  close(): void {
    this.guard?.close();
  }

  /** What every line is checked for first: size, blank, storable text. undefined = go on. */
  private check(raw: string, line: number): LogRejection | null | undefined {
    if (raw.length > LOG_LIMITS.line) return { line, reason: `oversized line: ${raw.length} characters; allowed: ${LOG_LIMITS.line}` };
    if (raw.trim() === "") return null;
    const bad = unstorable(raw, "the line");
    return bad ? { line, reason: bad } : undefined;
  }

  private fromJson(raw: string, line: number): LogRecord | LogRejection {
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch {
      return { line, reason: `unparseable JSON ${quoteShort(raw)}` };
    }
    if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
      return { line, reason: "not a JSON object" };
    }
    // the line itself passed the check, so only a \u escape can have made a NUL or a lone surrogate
    const bad = raw.includes("\\u") ? unstorable(obj) : null;
    if (bad) return { line, reason: bad };
    const o = obj as Record<string, unknown>;
    const f = this.fields;
    return this.finish(raw, line, pick(o, f.ts), pick(o, f.level), pick(o, f.message), pick(o, f.service), pick(o, f.host));
  }

  private fromGroups(raw: string, line: number, groups: Record<string, string | undefined> | null): LogRecord | LogRejection {
    if (!groups) return { line, reason: `line does not match the pattern: ${quoteShort(raw)}` };
    return this.finish(raw, line, groups.ts, groups.level, groups.message, groups.service, groups.host);
  }

  private finish(
    raw: string,
    line: number,
    tsValue: unknown,
    levelValue: unknown,
    messageValue: unknown,
    serviceValue: unknown,
    hostValue: unknown,
  ): LogRecord | LogRejection {
    const t = readTimestamp(tsValue, "timestamp", this.opts.tsFormat ?? "iso", { year: this.yearRule, now: this.opts.now });
    if (!t.ok) return { line, reason: t.reason };
    if (t.assumedYear !== undefined) this.assumedYears.set(t.assumedYear, (this.assumedYears.get(t.assumedYear) ?? 0) + 1);
    let level: LogLevel = this.defaultLevel;
    if (levelValue !== undefined && levelValue !== null && levelValue !== "") {
      const l = normaliseLevel(levelValue);
      if (!l) return { line, reason: `unknown level ${quoteShort(levelValue)}; allowed: ${LOG_LEVELS.join(", ")} and their usual spellings` };
      level = l;
    }
    if (messageValue === undefined || messageValue === null) return { line, reason: "missing message" };
    const message = typeof messageValue === "string" ? messageValue : JSON.stringify(messageValue);
    if (message.length > LOG_LIMITS.message) {
      return { line, reason: `oversized message: ${message.length} characters; allowed: ${LOG_LIMITS.message}` };
    }
    const service = nameOf(serviceValue) ?? this.opts.service ?? null;
    const host = nameOf(hostValue) ?? this.opts.host ?? null;
    for (const [what, v] of [["service", service], ["host", host]] as const) {
      if (v !== null && v.length > LOG_LIMITS.name) {
        return { line, reason: `oversized ${what}: ${v.length} characters; allowed: ${LOG_LIMITS.name}` };
      }
    }
    let key = sha32(`${this.opts.source}\u0000${raw}`);
    const copies = this.seen.get(key);
    this.seen.set(key, (copies ?? 0) + 1);
    if (copies) key = sha32(`${key}#${copies}`);
    return { line, event_key: key, ts: t.iso, level, service, host, message };
  }
}

function pick(o: Record<string, unknown>, keys: string[]): unknown {
  for (const k of keys) {
    if (k in o) return o[k];
    if (k.includes(".")) {
      let v: unknown = o;
      for (const part of k.split(".")) {
        if (v === null || typeof v !== "object") {
          v = undefined;
          break;
        }
        v = (v as Record<string, unknown>)[part];
      }
      if (v !== undefined) return v;
    }
  }
  return undefined;
}

function nameOf(v: unknown): string | null {
  if (v === undefined || v === null || v === "") return null;
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** True when `r` is a rejection. */
export const isRejection = (r: LogRecord | LogRejection): r is LogRejection => "reason" in r;

/**
 * Parses already-decoded JSON log objects (an HTTP batch) as JSON lines: each object's
 * JSON.stringify is its line content for the event key. Record numbers start at `firstLine`.
 * `yearNote` is the parser's warning when years were assumed ({@link LogLineParser.yearNote}).
 *
 * @example
 * const { records, rejections } = parseLogObjects([{ ts: "2026-11-25T10:00:00Z", msg: "hi" }], { source: "app" });
 */
export function parseLogObjects(
  objects: unknown[],
  opts: Omit<LogParseOptions, "format">,
  firstLine = 1,
): { records: LogRecord[]; rejections: LogRejection[]; yearNote: string | null } {
  const parser = new LogLineParser({ ...opts, format: "jsonl" });
  const records: LogRecord[] = [], rejections: LogRejection[] = [];
  objects.forEach((o, i) => {
    const r = parser.parse(JSON.stringify(o) ?? "", firstLine + i);
    if (r === null) rejections.push({ line: firstLine + i, reason: "empty record" });
    else if (isRejection(r)) rejections.push(r);
    else records.push(r);
  });
  return { records, rejections, yearNote: parser.yearNote() };
}

/** How records are written. */
export interface WriteLogOptions {
  source: string;
  /** Lines per transaction. Default 5,000. */
  batchSize?: number;
  /** Drain tuning (used when no miner is given). */
  drain?: DrainOptions;
  /** A miner to reuse (loaded from the database when absent). */
  miner?: TemplateMiner;
  /** Called after each committed batch with its 1-based number (progress, tests). */
  onBatch?: (batch: number) => void | Promise<void>;
}

/**
 * Batches mined records and writes each batch in one transaction (a row the database refuses is
 * rejected on its own, batch.ts). One batch is in flight while the next is read and mined
 * (PostgreSQL works in its own process meanwhile); the next batch is planned only after the
 * previous one committed.
 */
class LogWriter {
  private buffer: { rec: LogRecord; mined: Mined }[] = [];
  private batches = 0;
  private inflight: Promise<void> | null = null;
  readonly batchSize: number;

  constructor(
    private readonly db: Db,
    private readonly miner: TemplateMiner,
    private readonly report: IngestReport,
    private readonly opts: WriteLogOptions,
  ) {
    this.batchSize = opts.batchSize ?? 5_000;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) {
      throw new Error(`Cannot write logs: batch size ${this.batchSize} is not allowed; use a positive integer`);
    }
  }

  async push(rec: LogRecord): Promise<void> {
    this.buffer.push({ rec, mined: this.miner.mine(rec.message) });
    if (this.buffer.length >= this.batchSize) await this.flush(false);
  }

  /** Waits for the batch in flight, then writes the buffer (and waits for it when `wait`). */
  async flush(wait = true): Promise<void> {
    if (this.inflight) {
      const previous = this.inflight;
      this.inflight = null;
      await previous;
    }
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    const source = this.opts.source;
    const plan = this.miner.plan(batch.map((b) => b.mined));
    const rows = batch.map(({ rec }, i) => {
      const t = plan.resolved[i]!;
      return {
        source,
        event_key: rec.event_key,
        ts: rec.ts,
        level: rec.level,
        service: rec.service,
        host: rec.host,
        template_id: t.template_id,
        message: rec.message,
        params: t.params,
      };
    });
    const lines = batch.map(({ rec }) => rec.line);
    const done = writeBatch(this.db, rows, { report: this.report, lines }, async (tx, chunk, counts) => {
      await plan.apply(tx, counts, templatesOf(chunk));
      counts.add("log_events", await upsertRows(tx, "log_events", chunk));
    }).then(async (rejected) => {
      const refused = new Set(rejected);
      plan.committed(refused.size ? templatesOf(rows.filter((_, i) => !refused.has(i))) : undefined);
      this.batches++;
      await this.opts.onBatch?.(this.batches);
    });
    if (wait) await done;
    else {
      done.catch(() => {}); // surfaces at the next flush
      this.inflight = done;
    }
  }
}

/**
 * Templates and upserts parsed records in transactional batches, then refreshes the stats
 * (first/last seen, occurrences) of the templates it touched. Does not refresh the feature views
 * (ingestLogs / the caller's runIngest does).
 *
 * @example
 * const report = new IngestReport("logs");
 * const { records, rejections } = parseLogObjects(batch, { source: "app" });
 * for (const r of rejections) report.reject(r.line, r.reason);
 * await writeLogEvents(db, records, report, { source: "app" });
 */
export async function writeLogEvents(
  db: Db,
  records: Iterable<LogRecord> | AsyncIterable<LogRecord>,
  report: IngestReport,
  opts: WriteLogOptions,
): Promise<void> {
  const miner = opts.miner ?? await TemplateMiner.load(db, opts.drain);
  const writer = new LogWriter(db, miner, report, opts);
  for await (const rec of records) await writer.push(rec);
  await writer.flush();
  await miner.refreshStats(db, report);
}

/** Options of {@link ingestLogs}. */
export interface LogIngestOptions extends Omit<LogParseOptions, "format" | "source"> {
  /** File to read (streamed). One of path or text. */
  path?: string;
  /** The log text itself. */
  text?: string;
  /** Source name; default the file's name without directory. */
  source?: string;
  /** Default: "jsonl" for .jsonl/.ndjson/.json files and text starting with "{", else "text". */
  format?: "jsonl" | "text";
  batchSize?: number;
  drain?: DrainOptions;
  /** Refresh the feature views at the end (default true). */
  refresh?: boolean;
  onBatch?: (batch: number) => void | Promise<void>;
}

/**
 * Reads a log file (streamed line by line) or text, templates every message and writes it; records
 * the run in aoma.ingest_runs and refreshes the feature views. Bad lines are rejected with their
 * line numbers and never stop the run. Progress counts bytes for a file, lines for a text.
 *
 * @example
 * const report = await ingestLogs(db, { path: "logs/app.jsonl", source: "aoma-mesh/app" });
 * console.log(report.format());
 */
export async function ingestLogs(db: Db, opts: LogIngestOptions, progress: Progress = SILENT): Promise<IngestReport> {
  if ((opts.path === undefined) === (opts.text === undefined)) {
    throw new Error("Cannot ingest logs: give exactly one of path or text");
  }
  const parser = new LogLineParser(
    opts.path !== undefined ? await fileParseOptions(opts.path, opts) : { ...opts, source: opts.source ?? "", format: opts.format ?? guessFormat(undefined, opts.text) },
  );
  try {
    return await runIngest(db, "logs", async (report) => {
      const lines = opts.path !== undefined ? readFileLines(opts.path, progress) : textLines(opts.text!, progress);
      async function* records(): AsyncGenerator<LogRecord> {
        for await (const parsed of parseInChunks(parser, lines)) {
          for (const r of parsed) {
            if (r === null) continue;
            report.read++;
            if (isRejection(r)) report.reject(r.line, r.reason);
            else yield r;
          }
        }
      }
      try {
        await writeLogEvents(db, records(), report, {
          source: parser.opts.source,
          batchSize: opts.batchSize,
          drain: opts.drain,
          onBatch: opts.onBatch,
        });
      } finally {
        progress.done();
      }
      const note = parser.yearNote();
      if (note) report.notes.push(note);
    }, { refresh: opts.refresh });
  } finally {
    parser.close();
  }
}

/**
 * Parses `lines` in chunks of `size` with `parser.parseLines` (so a caller's pattern runs in its
 * worker a chunk at a time), yielding each chunk's results in order.
 *
 * @example
 * for await (const results of parseInChunks(parser, readFileLines("app.log"))) …
 */
export async function* parseInChunks(
  parser: LogLineParser,
  lines: AsyncIterable<InputLine> | Iterable<InputLine>,
  size = GUARDED_LINES,
): AsyncGenerator<(LogRecord | LogRejection | null)[]> {
  let chunk: InputLine[] = [];
  for await (const l of lines) {
    chunk.push(l);
    if (chunk.length >= size) {
      yield await parser.parseLines(chunk);
      chunk = [];
    }
  }
  if (chunk.length) yield await parser.parseLines(chunk);
}

/**
 * The parse options of a log file: the source (default: the file name), the format (default: by
 * extension) and, for timestamps without a year and no `year` given, the file's modification time
 * as the reference the year is inferred from.
 *
 * @example
 * const parser = new LogLineParser(await fileParseOptions("auth.log", { tsFormat: "MMM d HH:mm:ss", pattern }));
 */
export async function fileParseOptions(
  path: string,
  opts: Omit<LogParseOptions, "source" | "format"> & { source?: string; format?: "jsonl" | "text" },
): Promise<LogParseOptions> {
  const out: LogParseOptions = { ...opts, source: opts.source ?? path.split(/[\\/]/).pop()!, format: opts.format ?? guessFormat(path) };
  if (opts.year === undefined && !opts.yearReference && lacksYear(opts.tsFormat)) {
    // an unreadable file fails where it is read, inside the run
    const mtime = await Deno.stat(path).then((s) => s.mtime, () => null);
    if (mtime) out.yearReference = { ms: mtime.getTime(), what: "the file's modification time" };
  }
  return out;
}

function guessFormat(path?: string, text?: string): "jsonl" | "text" {
  if (path) return /\.(jsonl|ndjson|json)$/i.test(path) ? "jsonl" : "text";
  return text!.trimStart().startsWith("{") ? "jsonl" : "text";
}

/** Lines of a text (progress in lines). */
async function* textLines(text: string, progress: Progress): AsyncGenerator<{ text: string; line: number }> {
  let line = 0, start = 0;
  const step = 10_000;
  while (start <= text.length) {
    let end = text.indexOf("\n", start);
    if (end === -1) end = text.length;
    line++;
    const t = text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end);
    if (!(end === text.length && t === "")) yield { text: t, line };
    if (line % step === 0) progress.advance(step);
    start = end + 1;
  }
  progress.advance(line % step);
}

/**
 * Streams the lines of a file (UTF-8; LF or CRLF; a leading byte-order mark dropped) with their
 * 1-based numbers; progress in bytes. Lines are cut on bytes and decoded by decodeUtf8, so a line
 * with invalid UTF-8 keeps its number and shows its bad bytes to the check (storable.ts) instead of
 * U+FFFD.
 *
 * @example
 * for await (const { text, line } of readFileLines("app.log")) …
 */
export async function* readFileLines(path: string, progress: Progress = SILENT): AsyncGenerator<InputLine> {
  const file = await Deno.open(path, { read: true });
  try {
    progress.total((await file.stat()).size);
    let pending: Uint8Array[] = [], line = 0, first = true;
    const decode = (bytes: Uint8Array) => {
      const text = decodeUtf8(bytes);
      if (!first) return text;
      first = false;
      return withoutBom(text);
    };
    for await (const chunk of file.readable) {
      progress.advance(chunk.byteLength);
      const end = chunk.lastIndexOf(10);
      if (end === -1) {
        pending.push(chunk.slice());
        continue;
      }
      // whole lines only: an LF byte never sits inside a UTF-8 sequence
      const text = decode(concatBytes([...pending, chunk.subarray(0, end + 1)]));
      pending = end + 1 < chunk.length ? [chunk.slice(end + 1)] : [];
      let start = 0;
      for (let lf = text.indexOf("\n"); lf !== -1; lf = text.indexOf("\n", start)) {
        line++;
        yield { text: text.charCodeAt(lf - 1) === 13 ? text.slice(start, lf - 1) : text.slice(start, lf), line };
        start = lf + 1;
      }
    }
    if (pending.length) {
      const rest = decode(concatBytes(pending));
      if (rest !== "") yield { text: rest.endsWith("\r") ? rest.slice(0, -1) : rest, line: line + 1 };
    }
  } finally {
    try {
      file.close();
    } catch { /* closed by the readable stream */ }
  }
}
