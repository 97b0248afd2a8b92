/**
 * Timestamps and bounded values as the file-based ingests (logs, metrics, processing attempts) read
 * them: ISO 8601 / RFC 3339 in its common spellings, epoch numbers, or an explicit pattern such as
 * `dd/MMM/yyyy:HH:mm:ss Z` — plus the plausibility window that turns "absurd dates" into rejections.
 * A time written without a zone is read in UTC.
 *
 * A pattern without a year (syslog's `MMM d HH:mm:ss`) takes the year it is given, or else the
 * latest year that does not put the time more than MAX_FUTURE_MS after a reference instant (the
 * log file's modification time, or now): a Dec 10 line of a file modified on Jan 3 is from the
 * year before. A pattern with a weekday (`EEE`, `EEEE`) is checked against the date: a weekday
 * that does not match is a rejection with a reason, never a hint that moves the date.
 *
 * @example
 * parseTimestamp("2014-02-14 14:30:00");                       // Date.UTC(2014, 1, 14, 14, 30)
 * parseTimestamp("10/Oct/2026:13:55:36 -0700", "dd/MMM/yyyy:HH:mm:ss Z");
 * parseTimestamp(1763990400);                                  // epoch seconds
 * parseTimestamp("Dec 10 06:55:46", "MMM d HH:mm:ss", { reference: Date.UTC(2026, 0, 3) }); // 2025-12-10
 * parseTimestamp("Sun Dec 04 04:47:44 2005", "EEE MMM dd HH:mm:ss yyyy");                 // 2005-12-04
 * checkTimestamp(Date.UTC(1900, 0, 1));                        // "absurd date 1900-01-01T00:00:00.000Z; allowed: …"
 */

import { clipText } from "./storable.ts";

/** Earliest accepted event time: 1970-01-01. */
export const MIN_TIMESTAMP_MS = 0;
/** How far in the future an event time may lie (clock skew, time zones): 2 days. */
export const MAX_FUTURE_MS = 2 * 86_400_000;

/**
 * Named formats, or a pattern of tokens: `yyyy` `yy` `MM` `M` `MMM` (Jan…Dec) `dd` `d` `HH` `H` `mm`
 * `ss` `S…` (fraction, any number of digits) `Z` (zone: Z, ±hh, ±hhmm, ±hh:mm) `EEE` / `EEEE`
 * (weekday, Sun / Sunday, checked against the date); anything else is literal.
 * "iso" (default) accepts `2026-11-25T10:00:00Z`, `2026-11-25 10:00:00,123+01:00`, `2026-11-25`, …
 */
export type TimestampFormat = "iso" | "epoch" | "epoch_s" | "epoch_ms" | (string & Record<never, never>);

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$/;
const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

/** Earliest and latest year `--year` (and a batch's `year`) may name. */
export const YEAR_RANGE = [1970, 9999] as const;

/**
 * The year of a timestamp pattern without one: that year, or `{ reference }` — the latest year that
 * does not put the time more than MAX_FUTURE_MS after the reference instant (ms since the epoch).
 */
export type YearRule = number | { reference: number };

/** A pattern read, or why not: `year` is set when the pattern had no year and the rule chose it. */
type PatternRead = { ms: number; assumedYear?: number } | { reason: string };

/**
 * Milliseconds since the epoch for `value`, or null when it cannot be read as a time.
 * Numbers (and digit strings) are epoch times: seconds below 1e11, milliseconds below 1e14,
 * microseconds below 1e17, else nanoseconds — unless the format says "epoch_s" or "epoch_ms".
 * `year` fills in patterns without a year (syslog's `MMM d HH:mm:ss`); default `{ reference: now }`.
 * Null also for a weekday that does not match the date ({@link readTimestamp} says why).
 */
export function parseTimestamp(value: unknown, format: TimestampFormat = "iso", year?: YearRule): number | null {
  const r = readValue(value, format, year);
  return r !== null && "ms" in r ? r.ms : null;
}

/**
 * The instant of `value`, a reason (wrong weekday), or null when it cannot be read. Without `year`,
 * a pattern without one takes the reference rule with `now` (default the clock).
 */
function readValue(value: unknown, format: TimestampFormat, year?: YearRule, now?: number): PatternRead | null {
  const ms = (n: number | null) => (n === null ? null : { ms: n });
  if (typeof value === "number") return Number.isFinite(value) ? ms(epoch(value, format)) : null;
  if (typeof value !== "string") return null;
  const s = value.trim();
  if (s === "") return null;
  if (format === "epoch" || format === "epoch_s" || format === "epoch_ms" || /^-?\d+(\.\d+)?$/.test(s)) {
    const n = Number(s);
    return Number.isFinite(n) ? ms(epoch(n, format)) : null;
  }
  if (format === "iso") {
    const m = ISO.exec(s);
    if (!m) return null;
    return ms(build(+m[1], +m[2], +m[3], +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0), m[7] ?? "", m[8]));
  }
  return parsePattern(s, format, year, now);
}

function epoch(n: number, format: TimestampFormat): number {
  if (format === "epoch_s") return n * 1000;
  if (format === "epoch_ms") return n;
  const a = Math.abs(n);
  if (a < 1e11) return n * 1000;
  if (a < 1e14) return n;
  if (a < 1e17) return n / 1000;
  return n / 1e6;
}

/** UTC instant from parts, or null when a part is out of range (Feb 30, 25:00, …). */
function build(y: number, mo: number, d: number, h: number, mi: number, s: number, frac: string, zone?: string): number | null {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return null;
  const ms = frac ? Math.floor(Number(`0.${frac}`) * 1000) : 0;
  const t = Date.UTC(y, mo - 1, d, h, mi, Math.min(s, 59), ms);
  const back = new Date(t);
  if (back.getUTCDate() !== d || back.getUTCMonth() !== mo - 1) return null;
  const off = zoneOffsetMinutes(zone);
  if (off === null) return null;
  return t - off * 60_000;
}

function zoneOffsetMinutes(zone?: string): number | null {
  if (!zone || zone === "Z" || zone === "z" || zone === "UTC" || zone === "GMT") return 0;
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
  if (!m) return null;
  const h = +m[2], mi = +(m[3] ?? 0);
  if (h > 14 || mi > 59) return null;
  return (m[1] === "-" ? -1 : 1) * (h * 60 + mi);
}

const patternCache = new Map<string, { re: RegExp; fields: string[] }>();

/** Longest timestamp text read with a pattern format (longer is unparseable). */
export const MAX_PATTERN_TIMESTAMP_CHARS = 100;

/**
 * The regex of a pattern format. It cannot backtrack without bound whatever the caller writes:
 * every field has a bounded width (a fraction at most 9 digits) and appears at most once, a run of
 * whitespace is one `\s+` between matchers that take no whitespace, and the text matched is at
 * most MAX_PATTERN_TIMESTAMP_CHARS long. Throws an Error with a sentence for a field given twice.
 */
function compilePattern(format: string): { re: RegExp; fields: string[] } {
  let c = patternCache.get(format);
  if (c) return c;
  const fields: string[] = [];
  const literal = (text: string) =>
    text.split(/\s+/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("\\s+");
  let src = "^";
  const tokens = /yyyy|yy|MMM|MM|M|dd|d|HH|H|mm|ss|S+|Z+|X+|E{3,4}/g;
  const seen = new Map<string, string>();
  let last = 0;
  for (let m = tokens.exec(format); m; m = tokens.exec(format)) {
    src += literal(format.slice(last, m.index));
    const t = m[0];
    const part: Record<string, string> = {
      yyyy: "(\\d{4})", yy: "(\\d{2})", MMM: "([A-Za-z]{3})", MM: "(\\d{2})", M: "(\\d{1,2})", dd: "(\\d{2})",
      d: "(\\d{1,2})", HH: "(\\d{2})", H: "(\\d{1,2})", mm: "(\\d{2})", ss: "(\\d{2})",
    };
    if (t[0] === "S") src += "(\\d{1,9})";
    else if (t[0] === "Z" || t[0] === "X") src += "(Z|UTC|GMT|[+-]\\d{2}(?::?\\d{2})?)";
    else if (t[0] === "E") src += "([A-Za-z]{3,9})";
    else src += part[t];
    const field = t[0] === "S" ? "S" : t[0] === "X" || t[0] === "Z" ? "Z" : t[0] === "E" ? "E" : t;
    const kind = field[0] === "y" ? "y" : field[0] === "M" ? "M" : field[0];
    if (seen.has(kind)) {
      throw new Error(`Cannot use the timestamp format ${JSON.stringify(format)}: ${seen.get(kind)} and ${t} name the same field; each field may appear once`);
    }
    seen.set(kind, t);
    fields.push(field);
    last = m.index + t.length;
  }
  src += literal(format.slice(last)) + "$";
  c = { re: new RegExp(src), fields };
  patternCache.set(format, c);
  return c;
}

/**
 * Throws an Error with a sentence when `format` cannot be used (a pattern naming a field twice).
 *
 * @example
 * checkTimestampFormat("yyyy-MM-dd HH:mm:ss,SSS"); // ok
 */
export function checkTimestampFormat(format: TimestampFormat | undefined): void {
  if (format === undefined || format === "iso" || format === "epoch" || format === "epoch_s" || format === "epoch_ms") return;
  compilePattern(format);
}

/**
 * True when timestamps of `format` carry no year (a pattern without `yyyy` / `yy`), so the year
 * comes from a {@link YearRule}. Throws like {@link checkTimestampFormat} for a bad pattern.
 *
 * @example
 * lacksYear("MMM d HH:mm:ss"); // true
 * lacksYear("iso");            // false
 */
export function lacksYear(format: TimestampFormat | undefined): boolean {
  if (format === undefined || format === "iso" || format === "epoch" || format === "epoch_s" || format === "epoch_ms") return false;
  return !compilePattern(format).fields.some((f) => f[0] === "y");
}

/**
 * Null when `year` is a whole year from YEAR_RANGE, else the sentence saying so (`what` names it,
 * e.g. "--year").
 */
export function checkYear(year: unknown, what: string): string | null {
  if (typeof year === "number" && Number.isInteger(year) && year >= YEAR_RANGE[0] && year <= YEAR_RANGE[1]) return null;
  const got = typeof year === "number" ? String(year) : quoteShort(year);
  return `${what} must be a whole year from ${YEAR_RANGE[0]} to ${YEAR_RANGE[1]}; got ${got}`;
}

/** Most years a reference rolls back looking for one where the date exists (Feb 29: up to 8 in 2100). */
const MAX_YEAR_ROLLBACK = 8;

function parsePattern(s: string, format: string, year: YearRule | undefined, now: number | undefined): PatternRead | null {
  const { re, fields } = compilePattern(format);
  if (s.length > MAX_PATTERN_TIMESTAMP_CHARS) return null;
  const m = re.exec(s);
  if (!m) return null;
  let y: number | null = null, mo = 1, d = 1, h = 0, mi = 0, sec = 0, frac = "", weekday = "";
  let zone: string | undefined;
  for (let i = 0; i < fields.length; i++) {
    const v = m[i + 1];
    switch (fields[i]) {
      case "yyyy": y = +v; break;
      case "yy": y = 2000 + +v; break;
      case "E": weekday = v; break;
      case "MMM": {
        mo = MONTHS.indexOf(v.toLowerCase()) + 1;
        if (mo === 0) return null;
        break;
      }
      case "MM": case "M": mo = +v; break;
      case "dd": case "d": d = +v; break;
      case "HH": case "H": h = +v; break;
      case "mm": mi = +v; break;
      case "ss": sec = +v; break;
      case "S": frac = v; break;
      case "Z": zone = v; break;
    }
  }
  let assumedYear: number | undefined;
  if (y === null) {
    if (typeof year === "number") y = year;
    else {
      // the latest year in which the date exists and is not after the reference (+ skew)
      const reference = year ? year.reference : now ?? Date.now();
      const latest = reference + MAX_FUTURE_MS;
      const top = new Date(reference).getUTCFullYear() + 1;
      for (let c = top; c >= top - MAX_YEAR_ROLLBACK && y === null; c--) {
        const t = build(c, mo, d, h, mi, sec, frac, zone);
        if (t !== null && t <= latest) y = c;
      }
      if (y === null) return null;
      assumedYear = y;
    }
  }
  const t = build(y, mo, d, h, mi, sec, frac, zone);
  if (t === null) return null;
  if (weekday) {
    const bad = weekdayMismatch(weekday, y, mo, d);
    if (bad) return { reason: bad };
  }
  return assumedYear === undefined ? { ms: t } : { ms: t, assumedYear };
}

/** Null when `name` (Sun or Sunday, any case) is the weekday of the date, else the reason. */
function weekdayMismatch(name: string, y: number, mo: number, d: number): string | null {
  const lower = name.toLowerCase();
  const given = WEEKDAYS.findIndex((w) => w === lower || w.slice(0, 3) === lower);
  const date = new Date(Date.UTC(y, mo - 1, d));
  const actual = date.getUTCDay();
  const day = date.toISOString().slice(0, 10);
  const actualName = WEEKDAYS[actual][0].toUpperCase() + WEEKDAYS[actual].slice(1);
  if (given === -1) return `unknown weekday ${quoteShort(name)}; allowed: Sun to Sat or Sunday to Saturday`;
  if (given !== actual) return `weekday ${quoteShort(name)} does not match ${day}, a ${actualName}`;
  return null;
}

/**
 * Null when `ms` is a plausible event time (from 1970 to two days after `now`), else the reason.
 *
 * @example
 * checkTimestamp(Date.UTC(2026, 0, 1)); // null
 */
export function checkTimestamp(ms: number, now = Date.now()): string | null {
  if (ms >= MIN_TIMESTAMP_MS && ms <= now + MAX_FUTURE_MS) return null;
  const shown = Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : String(ms);
  return `absurd date ${shown}; allowed: 1970-01-01 to two days from now`;
}

/**
 * Reads a timestamp field and checks it: the ISO string (with `assumedYear` when a pattern without
 * a year took one by the reference rule), or the reason it was rejected ("missing timestamp",
 * "unparseable timestamp \"…\"", "timestamp \"…\": weekday …", "absurd date …"). Without `year`,
 * the reference is `now`.
 */
export function readTimestamp(
  value: unknown,
  what: string,
  format: TimestampFormat = "iso",
  opts: { year?: YearRule; now?: number } = {},
): { ok: true; iso: string; ms: number; assumedYear?: number } | { ok: false; reason: string } {
  if (value === undefined || value === null || value === "") return { ok: false, reason: `missing ${what}` };
  const r = readValue(value, format, opts.year, opts.now);
  if (r === null) return { ok: false, reason: `unparseable ${what} ${quoteShort(value)}` };
  if ("reason" in r) return { ok: false, reason: `${what} ${quoteShort(value)}: ${r.reason}` };
  const bad = checkTimestamp(r.ms, opts.now);
  if (bad) return { ok: false, reason: `${what}: ${bad}` };
  const iso = new Date(r.ms).toISOString();
  return r.assumedYear === undefined ? { ok: true, iso, ms: r.ms } : { ok: true, iso, ms: r.ms, assumedYear: r.assumedYear };
}

/** A value quoted for an error message, cut to 60 characters. */
export function quoteShort(value: unknown): string {
  const s = typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
  return JSON.stringify(s.length > 60 ? clipText(s, 58) : s);
}
