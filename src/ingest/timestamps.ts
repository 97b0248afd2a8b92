/**
 * Timestamps and bounded values as the file-based ingests (logs, metrics, processing attempts) read
 * them: ISO 8601 / RFC 3339 in its common spellings, epoch numbers, or an explicit pattern such as
 * `dd/MMM/yyyy:HH:mm:ss Z` — plus the plausibility window that turns "absurd dates" into rejections.
 * A time written without a zone is read in UTC.
 *
 * @example
 * parseTimestamp("2014-02-14 14:30:00");                       // Date.UTC(2014, 1, 14, 14, 30)
 * parseTimestamp("10/Oct/2026:13:55:36 -0700", "dd/MMM/yyyy:HH:mm:ss Z");
 * parseTimestamp(1763990400);                                  // epoch seconds
 * checkTimestamp(Date.UTC(1900, 0, 1));                        // "absurd date 1900-01-01T00:00:00.000Z; allowed: …"
 */

import { clipText } from "./storable.ts";

/** Earliest accepted event time: 1970-01-01. */
export const MIN_TIMESTAMP_MS = 0;
/** How far in the future an event time may lie (clock skew, time zones): 2 days. */
export const MAX_FUTURE_MS = 2 * 86_400_000;

/**
 * Named formats, or a pattern of tokens: `yyyy` `yy` `MM` `M` `MMM` (Jan…Dec) `dd` `d` `HH` `H` `mm`
 * `ss` `S…` (fraction, any number of digits) `Z` (zone: Z, ±hh, ±hhmm, ±hh:mm); anything else is literal.
 * "iso" (default) accepts `2026-11-25T10:00:00Z`, `2026-11-25 10:00:00,123+01:00`, `2026-11-25`, …
 */
export type TimestampFormat = "iso" | "epoch" | "epoch_s" | "epoch_ms" | (string & Record<never, never>);

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$/;
const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/**
 * Milliseconds since the epoch for `value`, or null when it cannot be read as a time.
 * Numbers (and digit strings) are epoch times: seconds below 1e11, milliseconds below 1e14,
 * microseconds below 1e17, else nanoseconds — unless the format says "epoch_s" or "epoch_ms".
 * `year` fills in patterns without a year (syslog's `MMM d HH:mm:ss`); default the current UTC year.
 */
export function parseTimestamp(value: unknown, format: TimestampFormat = "iso", year?: number): number | null {
  if (typeof value === "number") return Number.isFinite(value) ? epoch(value, format) : null;
  if (typeof value !== "string") return null;
  const s = value.trim();
  if (s === "") return null;
  if (format === "epoch" || format === "epoch_s" || format === "epoch_ms" || /^-?\d+(\.\d+)?$/.test(s)) {
    const n = Number(s);
    return Number.isFinite(n) ? epoch(n, format) : null;
  }
  if (format === "iso") {
    const m = ISO.exec(s);
    if (!m) return null;
    return build(+m[1], +m[2], +m[3], +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0), m[7] ?? "", m[8]);
  }
  return parsePattern(s, format, year);
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
  const tokens = /yyyy|yy|MMM|MM|M|dd|d|HH|H|mm|ss|S+|Z+|X+/g;
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
    else src += part[t];
    const field = t[0] === "S" ? "S" : t[0] === "X" || t[0] === "Z" ? "Z" : t;
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

function parsePattern(s: string, format: string, year?: number): number | null {
  const { re, fields } = compilePattern(format);
  if (s.length > MAX_PATTERN_TIMESTAMP_CHARS) return null;
  const m = re.exec(s);
  if (!m) return null;
  let y = year ?? new Date().getUTCFullYear(), mo = 1, d = 1, h = 0, mi = 0, sec = 0, frac = "";
  let zone: string | undefined;
  for (let i = 0; i < fields.length; i++) {
    const v = m[i + 1];
    switch (fields[i]) {
      case "yyyy": y = +v; break;
      case "yy": y = 2000 + +v; break;
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
  return build(y, mo, d, h, mi, sec, frac, zone);
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
 * Reads a timestamp field and checks it: the ISO string, or the reason it was rejected
 * ("missing timestamp", "unparseable timestamp \"…\"", "absurd date …").
 */
export function readTimestamp(
  value: unknown,
  what: string,
  format: TimestampFormat = "iso",
  opts: { year?: number; now?: number } = {},
): { ok: true; iso: string; ms: number } | { ok: false; reason: string } {
  if (value === undefined || value === null || value === "") return { ok: false, reason: `missing ${what}` };
  const ms = parseTimestamp(value, format, opts.year);
  if (ms === null) return { ok: false, reason: `unparseable ${what} ${quoteShort(value)}` };
  const bad = checkTimestamp(ms, opts.now);
  if (bad) return { ok: false, reason: `${what}: ${bad}` };
  return { ok: true, iso: new Date(ms).toISOString(), ms };
}

/** A value quoted for an error message, cut to 60 characters. */
export function quoteShort(value: unknown): string {
  const s = typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
  return JSON.stringify(s.length > 60 ? clipText(s, 58) : s);
}
