/**
 * Argument validators every MCP tool reuses. Each is a zod schema whose messages are the sentences
 * the caller reads (src/mcp/run_tool.ts joins them), so bad input is refused before any SQL runs:
 *
 * - `text`: names and other strings without NUL bytes, control characters or unpaired surrogates
 *   (Postgres refuses the first two with 22021/22P05, JSON-encoded lone surrogates with 22P02/22P05);
 * - `isoDate`: an ISO date or date-time, read as its UTC day, which must lie in 0001-01-01..9999-12-31
 *   (so "9999-12-31T23:59:59-12:00", which is 10000-01-01 in UTC, is refused, not rolled over);
 * - `dateRange`: `{start, end}` of such dates, compared as days;
 * - `toolArguments`: the strict arguments object, whose unknown-key sentence lists the allowed keys
 *   from the schema's own shape;
 * - `checkRangeHasData`: a date range that misses the data entirely is answered with the data's
 *   first and last day (read as the caller, inside the tool's transaction).
 *
 * @example
 * const inputSchema = toolArguments({ target: text("target", { max: 63 }).optional(), period: dateRange("period").optional() });
 */
import { z } from "zod";
import type { Queryable } from "../db/types.ts";
import { AppError } from "../errors.ts";

/** First and last day a date argument may name (in UTC). */
export const FIRST_DAY = "0001-01-01";
export const LAST_DAY = "9999-12-31";

/** Longest date or date-time text accepted ("2026-09-01T12:34:56.123456789+05:30" is 35). */
const DATE_MAX_CHARS = 40;

/** Time zone offsets accepted, in minutes east of UTC (the zones in use run from −12:00 to +14:00). */
const OFFSET_MIN = -12 * 60;
const OFFSET_MAX = 14 * 60;

// ───────────────────────────── text ─────────────────────────────

/** The Unicode name of a code unit or code point in the form "U+D800" (at least four hex digits). */
const codePoint = (c: number) => `U+${c.toString(16).toUpperCase().padStart(4, "0")}`;

/**
 * What is wrong with `s` as text, or null: the first NUL byte, C0/C1 control character or unpaired
 * UTF-16 surrogate, with its position (1-based, in characters).
 */
export function textProblem(s: string): string | null {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return `an unpaired surrogate ${codePoint(c)} at position ${i + 1}`;
    }
    if (c >= 0xdc00 && c <= 0xdfff) return `an unpaired surrogate ${codePoint(c)} at position ${i + 1}`;
    if (c === 0) return `a NUL byte at position ${i + 1}`;
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return `a control character ${codePoint(c)} at position ${i + 1}`;
  }
  return null;
}

/**
 * A string argument: `min`..`max` characters of printable text. `noun` completes "must be …" for a
 * value that is not a string (default "text").
 *
 * @example
 * text("targetVariable", { max: 63, noun: "a feature name (text)" })
 */
export function text(what: string, opts: { max: number; min?: number; noun?: string }) {
  const min = opts.min ?? 1;
  return z.string({ error: `${what} must be ${opts.noun ?? "text"}` })
    .min(min, { error: min === 1 ? `${what} must not be empty` : `${what} must be at least ${min} characters`, abort: true })
    .max(opts.max, { error: `${what} must be at most ${opts.max} characters`, abort: true })
    .superRefine((s, ctx) => {
      const problem = textProblem(s);
      if (problem) {
        ctx.addIssue({
          code: "custom",
          message: `${what} must be printable text without NUL bytes, control characters or unpaired surrogates (found ${problem})`,
        });
      }
    });
}

/**
 * `s` quoted for a message: at most `max` characters (code points, so no surrogate pair is cut),
 * with control characters and unpaired surrogates escaped as JSON escapes.
 */
export function quote(s: string, max = 40): string {
  const chars = Array.from(s);
  return JSON.stringify(chars.length > max ? `${chars.slice(0, max).join("")}…` : s);
}

// ───────────────────────────── dates ─────────────────────────────

const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?)?$/;

/** Days since 1970-01-01 of a proleptic Gregorian date (any year; H. Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The proleptic Gregorian date of a day number (inverse of daysFromCivil), as [year, month, day]. */
function civilFromDays(n: number): [number, number, number] {
  const z0 = n + 719468;
  const era = Math.floor(z0 / 146097);
  const doe = z0 - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [m <= 2 ? era * 400 + yoe + 1 : era * 400 + yoe, m, d];
}

/** A day number as YYYY-MM-DD (years outside 0..9999 keep their sign and digits, e.g. 10000-01-01). */
function formatDay(n: number): string {
  const [y, m, d] = civilFromDays(n);
  const year = y >= 0 && y <= 9999 ? String(y).padStart(4, "0") : String(y);
  return `${year}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

const FIRST_DAY_NUMBER = daysFromCivil(1, 1, 1);
const LAST_DAY_NUMBER = daysFromCivil(9999, 12, 31);

/** An ISO date read as a UTC day: `{ day, number }` (day number since 1970-01-01) or `{ problem }`. */
export type ParsedDay = { day: string; number: number } | { problem: string };

/**
 * Reads an ISO date ("2026-09-01") or date-time ("2026-09-01T23:30:00-05:00"; no zone means UTC)
 * as the UTC day it falls on, which must lie in 0001-01-01..9999-12-31. `what` names the argument
 * in the problem sentence.
 *
 * @example
 * parseIsoDay("2026-09-01T23:30:00-05:00", "start"); // { day: "2026-09-02", number: 20698 }
 */
export function parseIsoDay(s: string, what: string): ParsedDay {
  const m = ISO_DATE.exec(s);
  if (!m) return { problem: `${what} must be an ISO date such as 2026-09-01 (or a date-time such as 2026-09-01T12:00:00Z)` };
  const [y, mo, d, h, mi, sec] = [1, 2, 3, 4, 5, 6].map((i) => (m[i] === undefined ? 0 : Number(m[i])));
  const day = daysFromCivil(y, mo, d);
  const [cy, cm, cd] = civilFromDays(day);
  if (mo < 1 || mo > 12 || d < 1 || cy !== y || cm !== mo || cd !== d) {
    return { problem: `${what} is not a real calendar date` };
  }
  if (h > 23 || mi > 59 || sec > 59) return { problem: `${what} is not a real time of day (hours 00–23, minutes and seconds 00–59)` };
  const offset = m[8] ? (m[8] === "-" ? -1 : 1) * (Number(m[9]) * 60 + Number(m[10] ?? 0)) : 0;
  if (Number(m[10] ?? 0) > 59 || offset < OFFSET_MIN || offset > OFFSET_MAX) {
    return { problem: `${what} must have a time zone offset from -12:00 to +14:00` };
  }
  const utc = day + Math.floor((h * 60 + mi - offset) / 1440);
  if (utc < FIRST_DAY_NUMBER || utc > LAST_DAY_NUMBER) {
    const shifted = utc !== day ? ` (it is ${formatDay(utc)} in UTC)` : "";
    return { problem: `${what} must be a day from ${FIRST_DAY} to ${LAST_DAY}${shifted}` };
  }
  return { day: formatDay(utc), number: utc };
}

/** The UTC day (YYYY-MM-DD) of a date `isoDate` accepted; throws on anything else. */
export function utcDay(s: string): string {
  const p = parseIsoDay(s, "date");
  if ("problem" in p) throw new Error(`utcDay: ${p.problem} (got ${quote(s)})`);
  return p.day;
}

/**
 * A date argument: an ISO date or date-time (see parseIsoDay). The value stays the caller's text;
 * read it with utcDay.
 */
export function isoDate(what: string) {
  const shape = `${what} must be an ISO date such as 2026-09-01`;
  return z.string({ error: shape })
    .max(DATE_MAX_CHARS, { error: shape, abort: true })
    .superRefine((s, ctx) => {
      const p = parseIsoDay(s, what);
      if ("problem" in p) ctx.addIssue({ code: "custom", message: p.problem });
    });
}

/**
 * A `{start, end}` object of optional isoDate values, start on or before end (compared as UTC days).
 * `describe` documents the two ends for the tool's JSON Schema.
 */
export function dateRange(what: string, describe: { start: string; end: string }) {
  return z.strictObject({
    start: isoDate(`${what}.start`).optional().describe(describe.start),
    end: isoDate(`${what}.end`).optional().describe(describe.end),
  }, {
    error: (iss) =>
      iss.code === "unrecognized_keys"
        ? `${what} accepts only start and end (got ${iss.keys.slice(0, 3).map((k) => quote(k)).join(", ")})`
        : `${what} must be an object {start, end} of ISO dates`,
  })
    // an end that is not a valid date has its own issue already (NaN compares false)
    .refine((r) => !r.start || !r.end || !(dayNumber(r.start) > dayNumber(r.end)), {
      error: `${what}.start must be on or before ${what}.end`,
    });
}

function dayNumber(s: string): number {
  const p = parseIsoDay(s, "date");
  return "problem" in p ? Number.NaN : p.number;
}

// ───────────────────────────── the arguments object ─────────────────────────────

/**
 * The strict arguments object of a tool: unknown keys are refused with a sentence naming (up to
 * three of) them and every allowed key, in the order of `shape`; anything but an object is refused
 * with the same list.
 */
export function toolArguments<S extends z.ZodRawShape>(shape: S) {
  const allowed = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code !== "unrecognized_keys") return `the arguments must be a JSON object; allowed keys: ${allowed}`;
      const more = iss.keys.length > 3 ? ` and ${iss.keys.length - 3} more` : "";
      const s = iss.keys.length > 1 ? "s" : "";
      return `unknown argument${s} ${iss.keys.slice(0, 3).map((k) => quote(k)).join(", ")}${more}; allowed: ${allowed}`;
    },
  });
}

// ───────────────────────────── ranges against the data ─────────────────────────────

/**
 * Refuses a date range (UTC days; null = open end) that lies wholly before or after the data, with
 * a sentence naming the data's first and last day (analytics.features_daily, which has one row per
 * day from the first to the last day with data). A range that overlaps the data passes; so does
 * no range at all. `tool` and `what` name the tool and the argument in the sentence.
 */
export async function checkRangeHasData(
  db: Queryable,
  tool: string,
  what: string,
  from: string | null,
  to: string | null,
): Promise<void> {
  if (from === null && to === null) return;
  const [span] = await db.query<{ first_day: string | null; last_day: string | null }>(
    `select to_char(min(day), 'YYYY-MM-DD') as first_day, to_char(max(day), 'YYYY-MM-DD') as last_day
     from analytics.features_daily`,
  );
  const range = from && to ? `from ${from} to ${to}` : from ? `from ${from} on` : `up to ${to}`;
  if (!span?.first_day || !span.last_day) {
    throw new AppError(400, `Cannot run ${tool}: there is no data ${range} (${what}); the database holds no daily data yet.`);
  }
  if ((to !== null && to < span.first_day) || (from !== null && from > span.last_day)) {
    throw new AppError(
      400,
      `Cannot run ${tool}: there is no data ${range} (${what}); the data runs from ${span.first_day} to ${span.last_day}.`,
    );
  }
}
