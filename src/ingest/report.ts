/**
 * The report every ingest produces: what was read, and per table what was inserted, updated,
 * left unchanged, and which records were rejected (with the line or record number and the reason).
 *
 * @example
 * const report = new IngestReport("logs");
 * report.read += 1;
 * report.reject(17, "unparseable timestamp \"yesterday\"");
 */

/** Counts of one table's upserts. */
export interface TableCounts {
  inserted: number;
  updated: number;
  unchanged: number;
}

/**
 * A reason or note as the report keeps it: a quoted piece of a bad input may hold what the summary's
 * jsonb cannot (NUL, half a surrogate pair); those show as "\\0" and U+FFFD in the report text only.
 */
export function storableNote(text: string): string {
  return (text.includes("\u0000") ? text.replaceAll("\u0000", "\\0") : text).toWellFormed();
}

/** One record kept out of the database, and why. */
export interface Rejection {
  /** 1-based line (text inputs) or record number (JSON, API pages). */
  line: number;
  reason: string;
}

/** At most this many rejections are kept with their reasons; the rest are only counted. */
export const MAX_REJECTIONS_KEPT = 1000;

export class IngestReport {
  read = 0;
  rejected = 0;
  readonly tables: Record<string, TableCounts> = {};
  readonly rejections: Rejection[] = [];
  readonly notes: string[] = [];

  constructor(readonly source: string) {}

  /** Counts a rejected record; keeps its reason while fewer than MAX_REJECTIONS_KEPT are kept. */
  reject(line: number, reason: string): void {
    this.rejected++;
    if (this.rejections.length < MAX_REJECTIONS_KEPT) this.rejections.push({ line, reason: storableNote(reason) });
  }

  /** Adds one batch's upsert counts for `table`. */
  add(table: string, c: TableCounts): void {
    const t = (this.tables[table] ??= { inserted: 0, updated: 0, unchanged: 0 });
    t.inserted += c.inserted;
    t.updated += c.updated;
    t.unchanged += c.unchanged;
  }

  /** Adds everything `other` counted (reads, tables, rejections, notes) to this report. */
  merge(other: IngestReport): void {
    this.read += other.read;
    for (const [table, c] of Object.entries(other.tables)) this.add(table, c);
    this.rejected += other.rejected - other.rejections.length;
    for (const r of other.rejections) this.reject(r.line, r.reason);
    for (const n of other.notes) this.notes.push(n);
  }

  /** Totals over every table. */
  totals(): TableCounts {
    const sum = { inserted: 0, updated: 0, unchanged: 0 };
    for (const c of Object.values(this.tables)) {
      sum.inserted += c.inserted;
      sum.updated += c.updated;
      sum.unchanged += c.unchanged;
    }
    return sum;
  }

  /** JSON for aoma.ingest_runs.summary and the edge function's answer. */
  toJSON() {
    return {
      source: this.source,
      read: this.read,
      ...this.totals(),
      rejected: this.rejected,
      tables: this.tables,
      rejections: this.rejections,
      notes: this.notes.map(storableNote),
    };
  }

  /** A few human lines: "read 1,204; inserted 1,180, updated 0, unchanged 20, rejected 4" + reasons. */
  format(maxReasons = 10): string {
    const n = (x: number) => x.toLocaleString("en-US");
    const t = this.totals();
    const lines = [
      `${this.source}: read ${n(this.read)}; inserted ${n(t.inserted)}, updated ${n(t.updated)}, ` +
      `unchanged ${n(t.unchanged)}, rejected ${n(this.rejected)}`,
    ];
    for (const [table, c] of Object.entries(this.tables)) {
      lines.push(`  ${table}: inserted ${n(c.inserted)}, updated ${n(c.updated)}, unchanged ${n(c.unchanged)}`);
    }
    for (const r of this.rejections.slice(0, maxReasons)) lines.push(`  rejected line ${r.line}: ${r.reason}`);
    if (this.rejected > maxReasons) lines.push(`  … and ${n(this.rejected - maxReasons)} more rejected`);
    for (const note of this.notes) lines.push(`  note: ${note}`);
    return lines.join("\n");
  }
}

/** Where long ingests report progress (a bar on a terminal, periodic lines otherwise). */
export interface Progress {
  /** Sets or raises the expected total (records, lines or bytes), when known. */
  total(n: number): void;
  /** Marks n more units done. */
  advance(n: number): void;
  /** Ends the progress display. */
  done(): void;
}

/** A Progress that shows nothing (tests, the edge function). */
export const SILENT: Progress = { total() {}, advance() {}, done() {} };
