/**
 * `npm run aoma -- ingest git|jira|logs|metrics|attempts [options]` — real data into AOMA Mesh Analytics.
 *
 * Where it writes: a database URL (--db-url, else AOMA_DB_URL / SUPABASE_DB_URL / DATABASE_URL), or
 * with none the embedded PGlite folder that `npm start` serves (.data/pglite, AOMA_PGLITE_DIR) —
 * refused while `npm start` holds it (PGlite is single-process) — or, with --via-function URL,
 * through the `ingest` edge function (service-role token: --token or AOMA_SERVICE_TOKEN), so a
 * team without database access can ingest.
 *
 * Progress goes to stderr (a bar on a terminal, a line every few seconds otherwise), the summary to
 * stdout. Exit codes: 0 done (rejected records are in the summary), 1 failed (one line: why),
 * 2 bad usage (one line: what was wrong).
 *
 *   npm run aoma -- ingest git ../aoma-mesh --service
 *   npm run aoma -- ingest jira --csv export.csv
 *   npm run aoma -- ingest git . --via-function http://127.0.0.1:54321 --token "$(npm run -s token -- --role service_role)"
 */
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { migrateAll } from "../db/migrate.ts";
import { databaseUrlFromEnv, DEFAULT_PGLITE_DIR, openDb } from "../db/open.ts";
import type { Db } from "../db/types.ts";
import { compileTagPattern, ingestGit, readGitCommits, repoNameOf } from "../ingest/git.ts";
import { ATTEMPT_COLUMNS, ingestAttempts, mapAttemptRecords } from "../ingest/attempts.ts";
import { ingestJiraApi } from "../ingest/jira_api.ts";
import { ingestJiraCsv, JIRA_CSV_PRESETS, type JiraCsvOptions, parseJiraCsv } from "../ingest/jira_csv.ts";
import {
  ingestLogs,
  isRejection,
  LOG_LEVELS,
  type LogLevel,
  LogLineParser,
  type LogRecord,
  fileParseOptions,
  parseInChunks,
  readFileLines,
} from "../ingest/logs.ts";
import { checkYear } from "../ingest/timestamps.ts";
import {
  formatOf,
  ingestMetrics,
  mapMetricRecords,
  METRIC_COLUMNS,
  type MetricColumn,
  readRecords,
} from "../ingest/metrics.ts";
import { createProgress } from "../ingest/progress.ts";
import { IngestReport, type Progress, SILENT } from "../ingest/report.ts";
import { readUtf8File } from "../ingest/storable.ts";
import { removeServerLock, serverHoldingPglite, writeServerLock } from "./server_lock.ts";

// ───────────────────────────── usage errors and flags ─────────────────────────────

/** Bad usage: exit 2 with this one line. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Parsed command line: flag values (repeatable flags keep every value) and positional arguments. */
export interface ParsedArgs {
  flags: Record<string, string[]>;
  positional: string[];
}

/** One option of a command: does it take a value, and its help line. */
interface OptionSpec {
  value?: string;
  help: string;
}

/**
 * Parses `--name value`, `--name=value`, bare `--flag` and positional arguments against `known`.
 *
 * @example
 * parseArgs(["a", "--since", "2026-01-01"], { since: { value: "DATE", help: "" } });
 * // { flags: { since: ["2026-01-01"] }, positional: ["a"] }
 */
export function parseArgs(args: readonly string[], known: Record<string, OptionSpec>): ParsedArgs {
  const out: ParsedArgs = { flags: {}, positional: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      out.positional.push(...args.slice(i + 1));
      break;
    }
    if (!a.startsWith("-") || a === "-") {
      out.positional.push(a);
      continue;
    }
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(a);
    if (a === "-h") {
      (out.flags.help ??= []).push("true");
      continue;
    }
    if (!m || !Object.hasOwn(known, m[1])) {
      throw new UsageError(`unknown option "${a}" (see --help)`);
    }
    const [, name, inline] = m;
    let value = "true";
    if (known[name].value) {
      if (inline !== undefined) value = inline;
      else if (i + 1 < args.length) value = args[++i];
      else throw new UsageError(`--${name} needs a value ${known[name].value}`);
    } else if (inline !== undefined) {
      throw new UsageError(`--${name} takes no value`);
    }
    (out.flags[name] ??= []).push(value);
  }
  return out;
}

const one = (p: ParsedArgs, name: string): string | undefined => p.flags[name]?.at(-1);
const has = (p: ParsedArgs, name: string): boolean => p.flags[name] !== undefined;

function wholeNumber(p: ParsedArgs, name: string, min = 1): number | undefined {
  const v = one(p, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`--${name} must be a whole number ≥ ${min}; got "${v}"`);
  return Number(v);
}

function dateFlag(p: ParsedArgs, name: string): string | undefined {
  const v = one(p, name);
  if (v !== undefined && Number.isNaN(Date.parse(v))) throw new UsageError(`--${name} must be a date such as 2026-01-31; got "${v}"`);
  return v;
}

// ───────────────────────────── the sources ─────────────────────────────

/** A batch for the edge function: records plus source-specific body fields. */
interface OutgoingBatch {
  records: unknown[];
  fields?: Record<string, unknown>;
  /** Records read and kept out locally, for the summary. */
  read: number;
  rejections: { line: number; reason: string }[];
  /** Notes of the local read (e.g. a year assumed), for the summary. */
  notes?: string[];
}

/** One `aoma ingest <source>` command. */
interface SourceCommand {
  summary: string;
  /** Positional arguments, for the usage line (e.g. "[PATH…]"), or "" for none. */
  positional: string;
  options: Record<string, OptionSpec>;
  /** Copy-paste examples. */
  examples: string[];
  /** Unit of the progress counter. */
  unit: string;
  /** Checks the options (UsageError) before anything is opened. */
  check(p: ParsedArgs): void;
  /** Writes straight into `db`. */
  direct(db: Db, p: ParsedArgs, progress: Progress): Promise<IngestReport>;
  /** Reads locally and yields batches for --via-function. */
  batches(p: ParsedArgs, size: number): AsyncGenerator<OutgoingBatch>;
}

/** The per-source dispatch: options, checks, direct ingest and --via-function batches. */
export const SOURCES: Record<string, SourceCommand> = {
  git: {
    summary: "Commits (author, times with time zones, files changed, insertions, deletions, merges, message) and tag deployments of one or more repositories, incrementally.",
    positional: "[PATH…]",
    options: {
      name: { value: "NAME", help: "repository name (default: the directory name); only with one PATH" },
      service: { help: "mark the repository as the deployed AOMA service (feeds service_commits)" },
      branch: { value: "BRANCH", help: "branch to read (default: the repository's HEAD branch)" },
      tags: { value: "PATTERN", help: 'tags that are deployments: globs "v*,release-*" (default), "/regex/", or "none"' },
      "merge-deployments": { help: "also count merges on the branch's first-parent line as deployments" },
      environment: { value: "ENV", help: "environment written on deployments (default production)" },
      since: { value: "DATE", help: "only commits at or after DATE" },
      "batch-size": { value: "N", help: "commits per transaction (default 5000)" },
    },
    examples: [
      "npm run aoma -- ingest git ../aoma-mesh --service",
      'npm run aoma -- ingest git ../api ../web --tags "v*" --since 2026-01-01',
    ],
    unit: "commits",
    check(p) {
      if (one(p, "name") !== undefined && p.positional.length > 1) throw new UsageError("--name goes with a single PATH");
      const tags = one(p, "tags");
      try {
        compileTagPattern(tags === "none" ? null : tags);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      dateFlag(p, "since");
      wholeNumber(p, "batch-size");
    },
    direct: (db, p, progress) => ingestGit(db, gitOptions(p), progress),
    async *batches(p, size) {
      const paths = p.positional.length ? p.positional : ["."];
      for (const path of paths) {
        const repo = one(p, "name") ?? repoNameOf(await Deno.realPath(path).catch(() => path));
        for await (const b of readGitCommits(path, { repo, since: one(p, "since"), batchSize: size })) {
          yield { records: b.rows, fields: { repo }, read: b.read, rejections: b.rejections };
        }
      }
    },
  },
  jira: {
    summary: "Jira tickets (type, priority, status, components, labels, created/resolved, raw payload) from a CSV export or the Jira Cloud REST API; tickets matching aoma.jira_failure_rules become incidents.",
    positional: "",
    options: {
      csv: { value: "FILE", help: "a Jira CSV export (header names as Jira writes them; comma or semicolon)" },
      preset: { value: "NAME", help: `CSV column mapping: ${Object.keys(JIRA_CSV_PRESETS).join(" or ")} (default jira)` },
      "time-zone": { value: "ZONE", help: "CSV: IANA zone of dates written without an offset (default UTC)" },
      delimiter: { value: "CHAR", help: 'CSV: field separator (default: detected, "," or ";")' },
      "default-type": { value: "TYPE", help: "CSV: issue type for rows without one (e.g. Bug)" },
      jql: { value: "JQL", help: "read from the REST API: tickets selected by JQL (credentials: JIRA_BASE_URL, JIRA_EMAIL, JIRA_API_TOKEN)" },
      "base-url": { value: "URL", help: "API: https://<site>.atlassian.net (default JIRA_BASE_URL)" },
      full: { help: "API: ignore the stored cursor and read everything the JQL selects" },
      "batch-size": { value: "N", help: "CSV: tickets per transaction (default 500)" },
    },
    examples: [
      "npm run aoma -- ingest jira --csv jira-export.csv --time-zone Europe/Berlin",
      "npm run aoma -- ingest jira --csv ../shared/data/jira-apache/kafka-jira-bug-fix-dataset.csv --preset apache-bugfix",
      'JIRA_BASE_URL=https://acme.atlassian.net JIRA_EMAIL=bot@acme.com JIRA_API_TOKEN=… npm run aoma -- ingest jira --jql "project = AOMA"',
    ],
    unit: "tickets",
    check(p) {
      if (has(p, "csv") === has(p, "jql")) throw new UsageError("aoma ingest jira needs exactly one of --csv FILE or --jql JQL");
      if (has(p, "jql") && has(p, "via-function")) {
        throw new UsageError("--via-function sends CSV exports; with --jql run the ingest where the database is, or export to CSV");
      }
      const preset = one(p, "preset");
      if (preset !== undefined && !Object.hasOwn(JIRA_CSV_PRESETS, preset)) {
        throw new UsageError(`--preset must be ${Object.keys(JIRA_CSV_PRESETS).join(" or ")}; got "${preset}"`);
      }
      const tz = one(p, "time-zone");
      if (tz !== undefined) {
        try {
          new Intl.DateTimeFormat("en-US", { timeZone: tz });
        } catch {
          throw new UsageError(`--time-zone must be an IANA zone such as Europe/Berlin; got "${tz}"`);
        }
      }
      wholeNumber(p, "batch-size");
    },
    direct: (db, p, progress) =>
      has(p, "jql")
        ? ingestJiraApi(db, { jql: one(p, "jql")!, baseUrl: one(p, "base-url"), full: has(p, "full") }, progress)
        : ingestJiraCsv(db, one(p, "csv")!, jiraCsvOptions(p), progress),
    async *batches(p, size) {
      const parsed = parseJiraCsv(await readUtf8File(one(p, "csv")!), jiraCsvOptions(p));
      yield* chunks(parsed.rows, size, {}, parsed.read, parsed.rejections);
    },
  },
  logs: {
    summary: "System log lines (JSON lines or plain text with a timestamp/level pattern), each grouped into a message template.",
    positional: "FILE",
    options: {
      source: { value: "NAME", help: "log source stored with every event (default: the file name)" },
      format: { value: "jsonl|text", help: "input format (default: jsonl for .jsonl/.ndjson/.json, else text)" },
      pattern: { value: "REGEX", help: "text: named groups ts, message (required), level, service, host" },
      "ts-format": { value: "FORMAT", help: 'how timestamps are written: iso (default), epoch, epoch_ms, or e.g. "yyyy-MM-dd HH:mm:ss,SSS", "MMM d HH:mm:ss" (syslog), "EEE MMM dd HH:mm:ss yyyy" (EEE: weekday, checked)' },
      year: { value: "YYYY", help: "year of timestamps written without one (default: inferred from the file's modification time, and reported)" },
      service: { value: "NAME", help: "service for lines that name none" },
      host: { value: "NAME", help: "host for lines that name none" },
      "default-level": { value: "LEVEL", help: "level for lines without one (default INFO)" },
      "batch-size": { value: "N", help: "lines per transaction (default 5000)" },
    },
    examples: [
      "npm run aoma -- ingest logs logs/app.jsonl --source aoma-mesh/app",
      'npm run aoma -- ingest logs worker.log --format text --pattern "^(?<ts>\\S+ \\S+) \\[(?<level>\\w+)\\] (?<message>.*)$" --ts-format "yyyy-MM-dd HH:mm:ss,SSS"',
      'npm run aoma -- ingest logs auth.log --format text --pattern "^(?<ts>\\w{3} +\\d+ [\\d:]{8}) (?<host>\\S+) (?<service>[\\w-]+)\\[\\d+\\]: (?<message>.*)$" --ts-format "MMM d HH:mm:ss" --year 2015',
    ],
    unit: "bytes",
    check(p) {
      const f = one(p, "format");
      if (f !== undefined && f !== "jsonl" && f !== "text") throw new UsageError(`--format must be jsonl or text; got "${f}"`);
      const l = one(p, "default-level");
      if (l !== undefined && !(LOG_LEVELS as readonly string[]).includes(l)) throw new UsageError(`--default-level must be one of ${LOG_LEVELS.join(", ")}; got "${l}"`);
      wholeNumber(p, "batch-size");
      logOptions(p);
    },
    direct: (db, p, progress) => ingestLogs(db, { path: p.positional[0], ...logOptions(p), batchSize: wholeNumber(p, "batch-size") }, progress),
    async *batches(p, size) {
      const path = p.positional[0];
      const opts = await fileParseOptions(path, logOptions(p));
      const { source } = opts;
      const parser = new LogLineParser(opts);
      let records: LogRecord[] = [], rejections: { line: number; reason: string }[] = [], read = 0;
      const fields = { logSource: source, format: "parsed" };
      try {
        for await (const parsed of parseInChunks(parser, readFileLines(path))) {
          for (const r of parsed) {
            if (r === null) continue;
            read++;
            if (isRejection(r)) rejections.push(r);
            else records.push(r);
            if (records.length >= size) {
              yield { records, fields, read, rejections };
              records = [], rejections = [], read = 0;
            }
          }
        }
      } finally {
        parser.close();
      }
      const note = parser.yearNote();
      if (records.length || read || rejections.length || note) yield { records, fields, read, rejections, notes: note ? [note] : [] };
    },
  },
  metrics: {
    summary: "Asset metrics per interval (asset_volume, processing_time, error_count, performance_score) from CSV or JSON into aoma_system_metrics.",
    positional: "FILE",
    options: {
      source: { value: "NAME", help: "metric source, the natural key with the timestamp (default aoma)" },
      format: { value: "csv|json", help: "input format (default: from the file name or its first character)" },
      delimiter: { value: "CHAR", help: 'CSV field separator (default ",")' },
      "timestamp-column": { value: "NAME", help: "input column with the time (default: timestamp, ts, time, date, …)" },
      "ts-format": { value: "FORMAT", help: "how times are written: iso (default), epoch, epoch_ms, or a pattern" },
      column: { value: "METRIC=INPUT", help: "read metric column METRIC from input column INPUT (repeatable)" },
      "value-column": { value: "NAME", help: "a one-series file: the input column with the values …" },
      as: { value: "METRIC", help: "… and the metric it fills (asset_volume, processing_time, error_count, performance_score)" },
      round: { help: "round fractions in asset_volume and error_count instead of rejecting them" },
      "batch-size": { value: "N", help: "rows per transaction (default 5000)" },
    },
    examples: [
      "npm run aoma -- ingest metrics metrics.csv --source aoma",
      "npm run aoma -- ingest metrics ../shared/data/nab-aws/ec2_cpu_utilization_5f5533.csv --source ec2 --value-column value --as performance_score",
    ],
    unit: "rows",
    check(p) {
      tabularChecks(p);
      const as = one(p, "as");
      if (has(p, "value-column") !== has(p, "as")) throw new UsageError("--value-column and --as go together");
      if (as !== undefined && !(METRIC_COLUMNS as readonly string[]).includes(as)) throw new UsageError(`--as must be one of ${METRIC_COLUMNS.join(", ")}; got "${as}"`);
      columnMap(p, METRIC_COLUMNS);
    },
    direct: (db, p, progress) => ingestMetrics(db, { path: p.positional[0], ...metricOptions(p), batchSize: wholeNumber(p, "batch-size") }, progress),
    async *batches(p, size) {
      const text = await readUtf8File(p.positional[0]);
      const opts = metricOptions(p);
      const { records, rejections } = readRecords(text, { format: opts.format ?? formatOf(p.positional[0], text), delimiter: opts.delimiter });
      const mapped = mapMetricRecords(records, opts);
      const all = [...rejections, ...mapped.rejections].sort((a, b) => a.line - b.line);
      yield* chunks(mapped.rows, size, { metricSource: opts.source }, records.length + rejections.length, all);
    },
  },
  attempts: {
    summary: "Asset-processing attempts (asset, type such as 360RA, upload date, migration state, status, error message → template) from CSV or JSON.",
    positional: "FILE",
    options: {
      format: { value: "csv|json", help: "input format (default: from the file name or its first character)" },
      delimiter: { value: "CHAR", help: 'CSV field separator (default ",")' },
      "ts-format": { value: "FORMAT", help: "how times are written: iso (default), epoch, epoch_ms, or a pattern" },
      column: { value: "COLUMN=INPUT", help: "read table column COLUMN from input column INPUT (repeatable), e.g. attempt_id=id" },
      "batch-size": { value: "N", help: "rows per transaction (default 5000)" },
    },
    examples: [
      "npm run aoma -- ingest attempts attempts.csv",
      "npm run aoma -- ingest attempts export.json --column attempt_id=id --column error_message=error",
    ],
    unit: "attempts",
    check(p) {
      tabularChecks(p);
      columnMap(p, ATTEMPT_COLUMNS);
    },
    direct: (db, p, progress) => ingestAttempts(db, { path: p.positional[0], ...attemptOptions(p), batchSize: wholeNumber(p, "batch-size") }, progress),
    async *batches(p, size) {
      const text = await readUtf8File(p.positional[0]);
      const opts = attemptOptions(p);
      const { records, rejections } = readRecords(text, { format: opts.format ?? formatOf(p.positional[0], text), delimiter: opts.delimiter });
      const mapped = mapAttemptRecords(records, opts);
      const all = [...rejections, ...mapped.rejections].sort((a, b) => a.line - b.line);
      yield* chunks(mapped.rows, size, {}, records.length + rejections.length, all);
    },
  },
};

/** Rows cut into batches of `size`; the first carries the read count and the local rejections. */
function* chunks(
  rows: readonly unknown[],
  size: number,
  fields: Record<string, unknown>,
  read: number,
  rejections: { line: number; reason: string }[],
): Generator<OutgoingBatch> {
  if (rows.length === 0) yield { records: [], fields, read, rejections };
  for (let i = 0; i < rows.length; i += size) {
    yield { records: rows.slice(i, i + size), fields, read: i === 0 ? read : 0, rejections: i === 0 ? rejections : [] };
  }
}

function tabularChecks(p: ParsedArgs): void {
  const f = one(p, "format");
  if (f !== undefined && f !== "csv" && f !== "json") throw new UsageError(`--format must be csv or json; got "${f}"`);
  wholeNumber(p, "batch-size");
}

/** --column NAME=INPUT flags as a mapping (names checked against `allowed`). */
function columnMap<K extends string>(p: ParsedArgs, allowed: readonly K[]): Partial<Record<K, string>> | undefined {
  const list = p.flags.column;
  if (!list) return undefined;
  const out: Partial<Record<K, string>> = {};
  for (const item of list) {
    const m = /^([a-z_]+)=(.+)$/.exec(item);
    if (!m || !(allowed as readonly string[]).includes(m[1])) {
      throw new UsageError(`--column must be NAME=INPUT with NAME one of ${allowed.join(", ")}; got "${item}"`);
    }
    out[m[1] as K] = m[2];
  }
  return out;
}

function logOptions(p: ParsedArgs) {
  const y = one(p, "year");
  const year = y === undefined ? undefined : /^\d+$/.test(y) ? Number(y) : NaN;
  const bad = y === undefined ? null : checkYear(year, "--year");
  if (bad) throw new UsageError(bad.replace(/; got .*$/, `; got "${y}"`));
  return {
    year,
    source: one(p, "source"),
    format: one(p, "format") as "jsonl" | "text" | undefined,
    pattern: one(p, "pattern"),
    tsFormat: one(p, "ts-format"),
    service: one(p, "service"),
    host: one(p, "host"),
    defaultLevel: one(p, "default-level") as LogLevel | undefined,
  };
}

function metricOptions(p: ParsedArgs) {
  return {
    source: one(p, "source") ?? "aoma",
    format: one(p, "format") as "csv" | "json" | undefined,
    delimiter: one(p, "delimiter"),
    timestampColumn: one(p, "timestamp-column"),
    tsFormat: one(p, "ts-format"),
    columns: columnMap(p, METRIC_COLUMNS),
    valueColumn: one(p, "value-column"),
    as: one(p, "as") as MetricColumn | undefined,
    round: has(p, "round"),
  };
}

function attemptOptions(p: ParsedArgs) {
  return {
    format: one(p, "format") as "csv" | "json" | undefined,
    delimiter: one(p, "delimiter"),
    tsFormat: one(p, "ts-format"),
    columns: columnMap(p, ATTEMPT_COLUMNS),
  };
}

function gitOptions(p: ParsedArgs) {
  const tags = one(p, "tags");
  return {
    path: p.positional.length ? p.positional : ["."],
    name: one(p, "name"),
    isService: has(p, "service") ? true : undefined,
    branch: one(p, "branch"),
    tagPattern: tags === "none" ? null : tags,
    mergeDeployments: has(p, "merge-deployments"),
    environment: one(p, "environment"),
    since: one(p, "since"),
    batchSize: wholeNumber(p, "batch-size"),
  };
}

function jiraCsvOptions(p: ParsedArgs): JiraCsvOptions {
  const type = one(p, "default-type");
  return {
    preset: one(p, "preset") as JiraCsvOptions["preset"],
    timeZone: one(p, "time-zone"),
    delimiter: one(p, "delimiter"),
    defaults: type ? { issue_type: type } : undefined,
    batchSize: wholeNumber(p, "batch-size"),
  };
}

// ───────────────────────────── help ─────────────────────────────

/** Options every `aoma ingest` command takes. */
const COMMON: Record<string, OptionSpec> = {
  "db-url": { value: "URL", help: "PostgreSQL URL (default AOMA_DB_URL, SUPABASE_DB_URL or DATABASE_URL; none = embedded PGlite)" },
  "via-function": { value: "URL", help: "send batches through the ingest edge function at URL (project URL, e.g. http://127.0.0.1:54321)" },
  token: { value: "JWT", help: "service-role token for --via-function (default AOMA_SERVICE_TOKEN)" },
  "records-per-request": { value: "N", help: "records per --via-function request (default 1000, at most 5000)" },
  json: { help: "print the report as JSON instead of the summary" },
  quiet: { help: "no progress display" },
  help: { help: "this help" },
};

function optionLines(opts: Record<string, OptionSpec>): string[] {
  const rows = Object.entries(opts).map(([k, o]) => [`--${k}${o.value ? ` ${o.value}` : ""}`, o.help]);
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([a, b]) => `  ${a.padEnd(w)}  ${b}`);
}

/** The help text of `aoma ingest <source>`. */
export function sourceHelp(name: string): string {
  const s = SOURCES[name];
  return [
    `Usage: npm run aoma -- ingest ${name}${s.positional ? ` ${s.positional}` : ""} [options]`,
    "",
    s.summary,
    "",
    "Options:",
    ...optionLines({ ...s.options, ...COMMON }),
    "",
    "Examples:",
    ...s.examples.map((e) => `  ${e}`),
    `  npm run aoma -- ingest ${name} … --via-function http://127.0.0.1:54321 --token "$(npm run -s token -- --role service_role)"`,
  ].join("\n");
}

/** The top-level help. */
export function mainHelp(): string {
  const w = Math.max(...Object.keys(SOURCES).map((k) => k.length));
  return [
    "Usage: npm run aoma -- ingest <source> [options]      (npm run aoma -- ingest <source> --help for its options)",
    "",
    "Sources:",
    ...Object.entries(SOURCES).map(([k, s]) => `  ${k.padEnd(w)}  ${s.summary}`),
    "",
    "Writes into --db-url / AOMA_DB_URL / SUPABASE_DB_URL / DATABASE_URL, else into the embedded database",
    "of `npm start` (.data/pglite or AOMA_PGLITE_DIR; stop npm start first), or with --via-function URL",
    "through the ingest edge function (service-role token: --token or AOMA_SERVICE_TOKEN).",
    "Every ingest is an idempotent upsert: running it twice changes nothing the second time.",
    "",
    "Example:",
    "  npm run aoma -- ingest git . --service",
  ].join("\n");
}

// ───────────────────────────── running ─────────────────────────────

/** Removes credentials (URL passwords, tokens) from a message before it is printed. */
export function redact(message: string, secrets: readonly (string | undefined)[]): string {
  let out = message.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)[^@\s]+@/gi, "$1***@");
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join("***");
  return out;
}

async function ingestDirect(cmd: SourceCommand, p: ParsedArgs, progress: Progress): Promise<IngestReport> {
  const url = one(p, "db-url") ?? databaseUrlFromEnv();
  let lockDir: string | null = null;
  if (!url) {
    const dir = Deno.env.get("AOMA_PGLITE_DIR") ?? DEFAULT_PGLITE_DIR;
    const holder = await serverHoldingPglite(dir);
    if (holder) {
      throw new Error(
        `Cannot open the embedded database ${dir}: process ${holder.pid} (${holder.url}) is using it and PGlite is single-process; ` +
          `stop npm start, or use --via-function ${/^https?:/.test(holder.url) ? holder.url : "URL"}`,
      );
    }
    lockDir = dir;
  }
  const db = await openDb({ url });
  try {
    if (lockDir) {
      await writeServerLock(lockDir, "aoma ingest");
      await migrateAll(db);
    }
    return await cmd.direct(db, p, progress);
  } finally {
    await db.close().catch(() => {});
    if (lockDir) removeServerLock(lockDir);
  }
}

/** The ingest function's base URL from what the user gave (project URL or the function URL itself). */
export function projectUrl(given: string): string {
  let u: URL;
  try {
    u = new URL(given);
  } catch {
    throw new UsageError(`--via-function must be a URL such as http://127.0.0.1:54321; got "${given}"`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new UsageError(`--via-function must be an http(s) URL; got "${given}"`);
  return `${u.origin}${u.pathname.replace(/\/+$/, "").replace(/\/functions\/v1(\/ingest)?$/, "")}`;
}

/** Sends one body to the ingest function; returns its report JSON or throws with the server's sentence. */
async function invoke(client: { functions: SupabaseClient["functions"] }, token: string, body: unknown): Promise<Record<string, unknown>> {
  const { data, error } = await client.functions.invoke("ingest", {
    body: body as Record<string, unknown>,
    headers: { Authorization: `Bearer ${token}` },
  });
  if (!error) return data as Record<string, unknown>;
  const res = (error as { context?: unknown }).context;
  if (res instanceof Response) {
    let message = `HTTP ${res.status}`;
    try {
      const j = await res.json();
      if (j && typeof j.message === "string") message = j.message;
    } catch {
      // not JSON: keep the status
    }
    throw new Error(`The ingest function refused the batch (HTTP ${res.status}): ${message}`);
  }
  throw new Error(`Cannot reach the ingest function: ${(error as Error).message}`);
}

/** The checked --via-function settings (UsageError when something is missing or wrong). */
function viaFunctionOptions(p: ParsedArgs): { base: string; token: string; size: number } {
  const base = projectUrl(one(p, "via-function")!);
  const token = one(p, "token") || Deno.env.get("AOMA_SERVICE_TOKEN");
  if (!token) throw new UsageError("--via-function needs a service-role token: --token JWT or AOMA_SERVICE_TOKEN (npm run -s token -- --role service_role)");
  const size = wholeNumber(p, "records-per-request") ?? 1000;
  if (size > 5000) throw new UsageError(`--records-per-request must be at most 5000; got ${size}`);
  return { base, token, size };
}

async function ingestViaFunction(name: string, cmd: SourceCommand, p: ParsedArgs, progress: Progress): Promise<IngestReport> {
  const { base, token, size } = viaFunctionOptions(p);
  const client = createClient(base, token, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  });
  const report = new IngestReport(name);
  const merge = (r: Record<string, unknown>) => {
    for (const [t, c] of Object.entries((r.tables ?? {}) as Record<string, { inserted: number; updated: number; unchanged: number }>)) {
      report.add(t, c);
    }
    for (const x of (r.rejections ?? []) as { line: number; reason: string }[]) report.reject(x.line, `(server) ${x.reason}`);
    const extra = Number(r.rejected ?? 0) - ((r.rejections as unknown[]) ?? []).length;
    if (extra > 0) report.rejected += extra;
    for (const n of (r.notes ?? []) as string[]) if (!report.notes.includes(n)) report.notes.push(n);
  };
  // one batch is held back so that only the last request refreshes the feature views
  let held: OutgoingBatch | null = null;
  let sent = 0;
  const send = async (b: OutgoingBatch, last: boolean) => {
    const body = { source: name, ...b.fields, records: b.records, firstLine: sent + 1, refresh: last };
    merge(await invoke(client, token, body));
    sent += b.records.length;
    progress.advance(b.records.length);
  };
  for await (const b of cmd.batches(p, size)) {
    report.read += b.read;
    for (const r of b.rejections) report.reject(r.line, r.reason);
    for (const n of b.notes ?? []) report.notes.push(n);
    if (held) await send(held, false);
    held = b;
  }
  if (held) await send(held, true);
  report.notes.push(`sent ${sent.toLocaleString("en-US")} records through ${base}/functions/v1/ingest`);
  return report;
}

/**
 * Runs the CLI; returns the exit code (0 done, 1 failed, 2 bad usage). Never prints a stack trace.
 *
 * @example
 * Deno.exit(await main(["ingest", "git", ".", "--quiet"]));
 */
export async function main(args: readonly string[]): Promise<number> {
  const secrets: (string | undefined)[] = [Deno.env.get("AOMA_SERVICE_TOKEN")];
  try {
    const [command, source, ...rest] = args;
    if (command === undefined || command === "--help" || command === "-h" || command === "help") {
      console.log(mainHelp());
      return 0;
    }
    if (command !== "ingest") throw new UsageError(`unknown command "${command}": use aoma ingest <source> (see --help)`);
    if (source === undefined || source === "--help" || source === "-h") {
      if (source === undefined) throw new UsageError(`aoma ingest needs a source: ${Object.keys(SOURCES).join(", ")}`);
      console.log(mainHelp());
      return 0;
    }
    if (!Object.hasOwn(SOURCES, source)) {
      throw new UsageError(`unknown source "${source}": use one of ${Object.keys(SOURCES).join(", ")}`);
    }
    const cmd = SOURCES[source];
    const p = parseArgs(rest, { ...cmd.options, ...COMMON });
    secrets.push(one(p, "token"), one(p, "db-url"));
    if (has(p, "help")) {
      console.log(sourceHelp(source));
      return 0;
    }
    if (!cmd.positional && p.positional.length) throw new UsageError(`aoma ingest ${source} takes no argument "${p.positional[0]}"`);
    if (cmd.positional === "FILE" && p.positional.length !== 1) throw new UsageError(`aoma ingest ${source} needs exactly one FILE`);
    if (has(p, "via-function") && has(p, "db-url")) throw new UsageError("use either --db-url or --via-function, not both");
    if (has(p, "token") && !has(p, "via-function")) throw new UsageError("--token goes with --via-function");
    cmd.check(p);
    if (has(p, "via-function")) viaFunctionOptions(p);
    if (cmd.positional === "FILE") {
      const file = p.positional[0];
      const info = await Deno.stat(file).catch(() => null);
      if (!info?.isFile) throw new Error(`Cannot read ${file}: ${info ? "it is not a file" : "no such file"}`);
    }

    const label = `${source}${p.positional.length ? ` ${p.positional.join(" ")}` : ""}`;
    const progress = has(p, "quiet") ? SILENT : createProgress(label, { unit: has(p, "via-function") ? "records" : cmd.unit });
    let report: IngestReport;
    try {
      report = has(p, "via-function")
        ? await ingestViaFunction(source, cmd, p, progress)
        : await ingestDirect(cmd, p, progress);
    } finally {
      progress.done();
    }
    console.log(has(p, "json") ? JSON.stringify(report, null, 2) : report.format());
    return 0;
  } catch (e) {
    const usage = e instanceof UsageError;
    const text = e instanceof Error ? e.message : String(e);
    let line = `aoma: ${text.split("\n")[0].replace(/\.$/, "")}`;
    if (usage && !line.includes("--help")) line += " (see --help)";
    console.error(redact(line, secrets));
    return usage ? 2 : 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
