/**
 * Jira CSV exports → aoma.jira_issues. Reads the header names as Jira writes them ("Issue key",
 * "Issue Type", "Priority", "Status", "Summary", "Created", "Resolved", "Updated", "Project key",
 * repeated "Component/s" / "Labels" columns that collect into one list), comma or semicolon
 * separated (detected from the header line), and the date formats Jira exports: `05/Sep/26 3:04 PM`
 * (dd/MMM/yy h:mm a), ISO `2011-07-19T21:32:09.000+0000`, `2026-09-05 15:04` (yyyy-MM-dd HH:mm).
 * Dates without an offset are read in `timeZone` (the exporting user's zone; default UTC).
 *
 * Other exports are read through a column mapping: the preset "apache-bugfix" reads the Apache
 * bug-fix data set (../shared/data/jira-apache/: Key, Priority, Status, Components, CreationDate,
 * ResolutionDate, Project; every row a resolved Bug; components space-joined).
 *
 * CLI-free; the CLI and the edge function call {@link ingestJiraCsv} or the pure {@link parseJiraCsv}.
 *
 * @example
 * const report = await ingestJiraCsv(db, "export.csv", { timeZone: "Europe/Berlin" });
 * const apache = await ingestJiraCsv(db, new URL("kafka-jira-bug-fix-dataset.csv", APACHE_JIRA_DIR),
 *   { preset: "apache-bugfix" });
 */
import type { Db } from "../db/types.ts";
import { detectDelimiter, readCsv } from "./csv.ts";
import { finishJiraRow, type JiraIssueRow, parseJiraIsoTime, utcOrNull, zonedToUtc } from "./jira_map.ts";
import { writeJiraIssues } from "./jira.ts";
import { type Progress, SILENT } from "./report.ts";
import { runIngest } from "./run.ts";
import { readUtf8File, unstorable } from "./storable.ts";
import type { IngestReport } from "./report.ts";

/** The Apache Jira bug-fix data set next to the clone (shared/data/jira-apache/). */
export const APACHE_JIRA_DIR = new URL("../../../shared/data/jira-apache/", import.meta.url);

/** Header names (alternatives, compared case-insensitively) of each mapped field. */
export interface JiraCsvColumns {
  key: string[];
  type: string[];
  priority: string[];
  status: string[];
  summary: string[];
  created: string[];
  resolved: string[];
  updated: string[];
  project: string[];
  components: string[];
  labels: string[];
}

/** How one cell holds several list values. */
export type JiraListSplit =
  /** one value per cell; several values in repeated columns (Jira's own export) */
  | "cells"
  /** values joined by commas in one cell */
  | "comma"
  /** values joined by spaces, names that contain spaces learned from the file (see splitJoinedNames) */
  | "vocabulary";

/** Named column mappings. */
export const JIRA_CSV_PRESETS = {
  /** Jira's own "Export → CSV (all fields / current fields)". */
  jira: {
    columns: {
      key: ["Issue key"],
      type: ["Issue Type"],
      priority: ["Priority"],
      status: ["Status"],
      summary: ["Summary"],
      created: ["Created"],
      resolved: ["Resolved"],
      updated: ["Updated"],
      project: ["Project key"],
      components: ["Component/s", "Components"],
      labels: ["Labels"],
    },
    defaults: {},
    listSplit: "cells",
  },
  /** The Apache bug-fix data set (Kafka, ZooKeeper): semicolon separated, resolved Bugs only. */
  "apache-bugfix": {
    columns: {
      key: ["Key"],
      type: [],
      priority: ["Priority"],
      status: ["Status"],
      summary: [],
      created: ["CreationDate"],
      resolved: ["ResolutionDate"],
      updated: ["LastUpdateDate"],
      project: ["Project"],
      components: ["Components"],
      labels: [],
    },
    defaults: { issue_type: "Bug" },
    listSplit: "vocabulary",
  },
} as const satisfies Record<string, {
  columns: { [K in keyof JiraCsvColumns]: readonly string[] };
  defaults: { issue_type?: string; status?: string };
  listSplit: JiraListSplit;
}>;

/** Options of {@link parseJiraCsv} and {@link ingestJiraCsv}. */
export interface JiraCsvOptions {
  /** Column mapping preset (default "jira"). */
  preset?: keyof typeof JIRA_CSV_PRESETS;
  /** Header names overriding the preset's, per field. */
  columns?: Partial<JiraCsvColumns>;
  /** Values for fields the file lacks (e.g. { issue_type: "Bug" }). */
  defaults?: { issue_type?: string; status?: string };
  /** How list cells are split (default: the preset's). */
  listSplit?: JiraListSplit;
  /** "auto" (default: comma or semicolon, from the header line) or the separator itself. */
  delimiter?: string;
  /** IANA zone of dates written without an offset (default "UTC"). */
  timeZone?: string;
  /** Rows per transaction (default 500). */
  batchSize?: number;
  /** "now" for the future-date check, epoch ms (tests). */
  now?: number;
}

/** Result of the pure parse: rows, rejections with their lines, and records read. */
export interface JiraCsvParse {
  rows: JiraIssueRow[];
  /** The line each row starts on. */
  lines: number[];
  rejections: { line: number; reason: string }[];
  read: number;
  /** The delimiter used and the header names recognised per field. */
  delimiter: string;
  matched: Partial<Record<keyof JiraCsvColumns, string[]>>;
}

const MONTHS: Record<string, number> = {
  jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12,
};
const JIRA_DMY = /^(\d{1,2})\/([A-Za-z]{3})\/(\d{2}|\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?$/;

/** Two-digit years as Java's SimpleDateFormat reads them: within 80 years before and 20 after now. */
function fullYear(yy: string, now: number): number {
  if (yy.length === 4) return Number(yy);
  const current = new Date(now).getUTCFullYear();
  let y = Math.floor(current / 100) * 100 + Number(yy);
  if (y > current + 20) y -= 100;
  if (y <= current - 80) y += 100;
  return y;
}

/**
 * Parses a date as Jira CSV exports write it; null when it is none of the formats.
 * `05/Sep/26 3:04 PM` · `05/Sep/2026 15:04` · `2011-07-19T21:32:09.000+0000` · `2026-09-05 15:04`.
 * Times without an offset are wall-clock times in `timeZone`.
 *
 * @example
 * parseJiraCsvDate("05/Sep/26 3:04 PM", "UTC"); // Date.UTC(2026, 8, 5, 15, 4)
 */
export function parseJiraCsvDate(text: string, timeZone = "UTC", now = Date.now()): number | null {
  const s = text.trim();
  const m = JIRA_DMY.exec(s);
  if (m) {
    const [, d, mon, yy, h, mi, sec, ampm] = m;
    const month = MONTHS[mon.toLowerCase()];
    if (!month) return null;
    let hour = h ? Number(h) : 0;
    if (ampm) {
      if (hour < 1 || hour > 12) return null;
      hour = (hour % 12) + (ampm.toLowerCase() === "pm" ? 12 : 0);
    }
    const wall = utcOrNull(fullYear(yy, now), month, Number(d), hour, mi ? Number(mi) : 0, sec ? Number(sec) : 0, 0, 0);
    return wall === null ? null : zonedToUtc(wall, timeZone);
  }
  if (/(?:Z|[+-]\d{2}:?\d{2})$/i.test(s)) return parseJiraIsoTime(s);
  const wall = parseJiraIsoTime(s, 0);
  return wall === null ? null : zonedToUtc(wall, timeZone);
}

/**
 * Splits space-joined names where names may themselves contain spaces ("c client java client"),
 * using a vocabulary: the cells, shortest first, that cannot be cut into names already known
 * become names. A cell is then cut greedily into the longest known names; words matching no name
 * stay together as one name ("consumer offset manager" → consumer, "offset manager").
 *
 * @example
 * const split = splitJoinedNames(["server", "c client", "java client", "c client java client server"]);
 * split("c client java client server"); // ["c client", "java client", "server"]
 */
export function splitJoinedNames(cells: Iterable<string>): (cell: string) => string[] {
  const distinct = [...new Set(Array.from(cells, (c) => c.trim().split(/\s+/).filter(Boolean).join(" ")))]
    .filter((c) => c !== "")
    .sort((a, b) => a.split(" ").length - b.split(" ").length || (a < b ? -1 : a > b ? 1 : 0));
  const known = new Set<string>();
  let longest = 1;
  const cut = (cell: string): { parts: string[]; knownParts: number } => {
    const words = cell.split(/\s+/).filter(Boolean);
    const parts: string[] = [];
    let unknown: string[] = [];
    let knownParts = 0;
    for (let i = 0; i < words.length;) {
      let hit = 0;
      for (let len = Math.min(longest, words.length - i); len >= 1; len--) {
        if (known.has(words.slice(i, i + len).join(" "))) {
          hit = len;
          break;
        }
      }
      if (hit) {
        if (unknown.length) parts.push(unknown.join(" ")), unknown = [];
        parts.push(words.slice(i, i + hit).join(" "));
        knownParts++;
        i += hit;
      } else unknown.push(words[i++]);
    }
    if (unknown.length) parts.push(unknown.join(" "));
    return { parts, knownParts };
  };
  for (const cell of distinct) {
    if (cut(cell).knownParts === 0) {
      known.add(cell);
      longest = Math.max(longest, cell.split(" ").length);
    }
  }
  return (cell: string) => cut(cell).parts;
}

const norm = (h: string) => h.trim().toLowerCase();

/**
 * Parses a whole CSV export into rows and rejections (pure; no database). Line numbers are the
 * line each record starts on. Records with another number of fields than the header, without a
 * key, with an unparseable or absurd date, with an oversized field, or holding invalid UTF-8, a
 * NUL character or a lone surrogate in any cell (storable.ts) are rejected.
 *
 * @example
 * const { rows, rejections } = parseJiraCsv('Issue key,Issue Type,Status,Created\nA-1,Bug,Open,05/Sep/26 3:04 PM\n');
 */
export function parseJiraCsv(text: string, opts: JiraCsvOptions = {}): JiraCsvParse {
  const presetName = opts.preset ?? "jira";
  const preset = JIRA_CSV_PRESETS[presetName];
  if (!preset) {
    throw new Error(
      `Cannot read the Jira CSV: unknown preset ${JSON.stringify(presetName)}; use one of ${
        Object.keys(JIRA_CSV_PRESETS).join(", ")
      }`,
    );
  }
  const columns = { ...preset.columns, ...opts.columns } as Record<keyof JiraCsvColumns, readonly string[]>;
  const defaults = { ...preset.defaults, ...opts.defaults } as { issue_type?: string; status?: string };
  const listSplit: JiraListSplit = opts.listSplit ?? preset.listSplit;
  const timeZone = opts.timeZone ?? "UTC";
  zonedToUtc(0, timeZone); // throws a clear error for an unknown zone before any work
  const now = opts.now ?? Date.now();

  const delimiter = !opts.delimiter || opts.delimiter === "auto" ? detectDelimiter(text, [",", ";"]) : opts.delimiter;
  const records = readCsv(text, { delimiter });
  const header = records.next();
  const out: JiraCsvParse = { rows: [], lines: [], rejections: [], read: 0, delimiter, matched: {} };
  if (header.done) return out;
  const names = header.value.fields;
  const idx = {} as Record<keyof JiraCsvColumns, number[]>;
  for (const field of Object.keys(columns) as (keyof JiraCsvColumns)[]) {
    const wanted = new Set(columns[field].map(norm));
    idx[field] = names.flatMap((n, i) => (wanted.has(norm(n)) ? [i] : []));
    if (idx[field].length) out.matched[field] = [...new Set(idx[field].map((i) => names[i]))];
  }
  if (!idx.key.length) {
    throw new Error(
      `Cannot read the Jira CSV: no key column; expected a header named ${
        columns.key.map((c) => JSON.stringify(c)).join(" or ")
      } (preset ${presetName}), got ${names.slice(0, 12).map((c) => JSON.stringify(c)).join(", ")}`,
    );
  }

  interface Pending {
    line: number;
    fields: string[];
  }
  const pending: Pending[] = [];
  for (const rec of records) {
    out.read++;
    if (rec.error) {
      out.rejections.push({ line: rec.line, reason: rec.error });
      continue;
    }
    if (rec.fields.length !== names.length) {
      out.rejections.push({
        line: rec.line,
        reason: `record has ${rec.fields.length} fields; the header has ${names.length}`,
      });
      continue;
    }
    pending.push({ line: rec.line, fields: rec.fields });
  }

  const cells = (f: string[], field: keyof JiraCsvColumns) => idx[field].map((i) => f[i]).filter((v) => v.trim() !== "");
  const first = (f: string[], field: keyof JiraCsvColumns) => cells(f, field)[0] ?? null;
  let splitCell: (cell: string) => string[];
  if (listSplit === "vocabulary") {
    const all: string[] = [];
    for (const p of pending) all.push(...cells(p.fields, "components"), ...cells(p.fields, "labels"));
    splitCell = splitJoinedNames(all);
  } else if (listSplit === "comma") {
    splitCell = (c) => c.split(",").map((x) => x.trim()).filter(Boolean);
  } else splitCell = (c) => [c.trim()];

  for (const p of pending) {
    const f = p.fields;
    let badDate: string | undefined;
    const date = (field: "created" | "resolved" | "updated"): number | null => {
      const v = first(f, field);
      if (v === null) return null;
      const t = parseJiraCsvDate(v, timeZone, now);
      if (t === null && !badDate) {
        badDate = `${out.matched[field]?.[0] ?? field} ${JSON.stringify(v.slice(0, 60))} is not a date ` +
          `(expected e.g. 05/Sep/26 3:04 PM, 2011-07-19T21:32:09.000+0000 or 2026-09-05 15:04)`;
      }
      return t;
    };
    const raw: Record<string, string | string[]> = {};
    names.forEach((n, i) => {
      const v = f[i];
      if (v === "") return;
      const prev = raw[n];
      raw[n] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    });
    const bad = unstorable(raw);
    if (bad) {
      out.rejections.push({ line: p.line, reason: bad });
      continue;
    }
    const created = date("created"), resolved = date("resolved"), updated = date("updated");
    const r = finishJiraRow({
      issue_key: first(f, "key"),
      project: first(f, "project"),
      issue_type: first(f, "type") ?? defaults.issue_type ?? null,
      priority: first(f, "priority"),
      status: first(f, "status") ?? defaults.status ?? null,
      components: cells(f, "components").flatMap(splitCell),
      labels: cells(f, "labels").flatMap(splitCell),
      summary: first(f, "summary"),
      created,
      resolved,
      updated,
      badDate,
      raw,
    }, now);
    if (r.ok) out.rows.push(r.row), out.lines.push(p.line);
    else out.rejections.push({ line: p.line, reason: r.reason });
  }
  out.rejections.sort((a, b) => a.line - b.line);
  return out;
}

/** Where {@link ingestJiraCsv} reads: a file path or URL, or the text itself. */
export type JiraCsvInput = string | URL | { text: string };

/**
 * Reads a Jira CSV export and upserts it (runIngest: an aoma.ingest_runs row, transactional
 * batches, the failure sync, the feature refresh). Rejected records are in the report with the
 * line they start on; they never stop the run.
 *
 * @example
 * const report = await ingestJiraCsv(db, "jira-export.csv");
 * console.log(report.format());
 */
export async function ingestJiraCsv(
  db: Db,
  input: JiraCsvInput,
  opts: JiraCsvOptions = {},
  progress: Progress = SILENT,
): Promise<IngestReport> {
  const text = typeof input === "object" && "text" in input ? input.text : await readUtf8File(input);
  return await runIngest(db, "jira", async (report) => {
    const parsed = parseJiraCsv(text, opts);
    report.read += parsed.read;
    for (const r of parsed.rejections) report.reject(r.line, r.reason);
    progress.total(parsed.rows.length);
    await writeJiraIssues(db, parsed.rows, report, { batchSize: opts.batchSize, lines: parsed.lines, progress });
    progress.done();
  });
}
