/**
 * Jira issues → aoma.jira_issues rows: the pure mapping and validation shared by the REST API,
 * CSV export and webhook ingests. Nothing here touches the database.
 *
 * A row is rejected (with a reason) when its key is missing or not a Jira key, a required field
 * (type, status, created) is missing, a date is unparseable or absurd (before 1990, more than a day
 * in the future, resolved more than a day before created), or a field is oversized (summary over
 * 10,000 characters, raw payload over 1 MB), or when a field or the raw payload holds a NUL
 * character, a lone surrogate or invalid UTF-8 (which PostgreSQL refuses in text and jsonb; see
 * storable.ts) — reported, never replaced.
 *
 * @example
 * const r = mapJiraIssue({ key: "AOMA-7", fields: { issuetype: { name: "Bug" }, status: { name: "Done" },
 *   created: "2026-09-01T10:15:30.000+0200" } });
 * r.ok && r.row.created_at; // "2026-09-01T08:15:30.000Z"
 */
import type { JiraIssueRow } from "../db/rows.ts";
import { unstorable } from "./storable.ts";

/** One aoma.jira_issues row as upserted (timestamps as ISO strings in UTC). */
export type { JiraIssueRow } from "../db/rows.ts";

/** A mapped row, or why the record was kept out. */
export type JiraMapResult = { ok: true; row: JiraIssueRow } | { ok: false; reason: string };

/** Limits of the validation. */
export const JIRA_LIMITS = {
  /** Longest summary kept, in characters. */
  summaryChars: 10_000,
  /** Largest raw payload kept, in bytes of its JSON. */
  rawBytes: 1_000_000,
  /** Dates before this are absurd. */
  earliest: Date.UTC(1990, 0, 1),
  /** Dates later than now + this are absurd. */
  futureMs: 86_400_000,
} as const;

/** Pattern of a Jira issue key (the table's CHECK). */
export const JIRA_KEY = /^[A-Z][A-Z0-9_]*-[0-9]+$/;

const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Parses the ISO-8601 times Jira writes (`2026-09-01T10:15:30.000+0200`, also `+02:00`, `Z`, no
 * seconds). A time without an offset is read in `defaultOffsetMinutes` (default UTC). Returns
 * epoch milliseconds, or null when `s` is not such a time or names an impossible date.
 *
 * @example
 * parseJiraIsoTime("2011-07-19T21:32:09.000+0000"); // 1311111129000
 */
export function parseJiraIsoTime(s: string, defaultOffsetMinutes = 0): number | null {
  const m = ISO_TIME.exec(s.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, sec, frac, off] = m;
  let offset = defaultOffsetMinutes;
  if (off && off.toUpperCase() !== "Z") {
    const sign = off[0] === "-" ? -1 : 1;
    const digits = off.slice(1).replace(":", "");
    offset = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4)));
  } else if (off) offset = 0;
  const ms = frac ? Math.floor(Number(`0.${frac}`) * 1000) : 0;
  return utcOrNull(+y, +mo, +d, +h, +mi, sec ? +sec : 0, ms, offset);
}

/**
 * Epoch ms of a wall-clock time at a fixed offset (minutes east of UTC), or null when a part is out
 * of range (month 13, 31 February, hour 24, …).
 */
export function utcOrNull(
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
  ms: number,
  offsetMinutes: number,
): number | null {
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 60) return null;
  const t = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  const check = new Date(t);
  if (check.getUTCDate() !== d || check.getUTCMonth() !== mo - 1) return null;
  return t - offsetMinutes * 60_000;
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>();
function zoneFormat(timeZone: string): Intl.DateTimeFormat {
  let f = zoneFormats.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat("en-US", {
        timeZone,
        hourCycle: "h23",
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
      });
    } catch {
      throw new Error(`Cannot use time zone ${JSON.stringify(timeZone)}: not an IANA zone such as "UTC" or "Europe/Berlin"`);
    }
    zoneFormats.set(timeZone, f);
  }
  return f;
}

/** The wall-clock time in `timeZone` at `instant` (epoch ms), expressed as if it were UTC. */
export function wallClockIn(instant: number, timeZone: string): number {
  if (timeZone === "UTC") return instant;
  const p: Record<string, number> = {};
  for (const part of zoneFormat(timeZone).formatToParts(new Date(instant))) {
    if (part.type !== "literal") p[part.type] = Number(part.value);
  }
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return wall + (((instant % 1000) + 1000) % 1000);
}

/**
 * The instant (epoch ms) at which the clocks of `timeZone` show `wallMs` (a wall-clock time
 * expressed as if UTC). In a DST gap the later offset applies; in an overlap the earlier instant.
 * Throws for an unknown zone.
 *
 * @example
 * zonedToUtc(Date.UTC(2026, 8, 5, 15, 4), "Europe/Berlin"); // Date.UTC(2026, 8, 5, 13, 4)
 */
export function zonedToUtc(wallMs: number, timeZone: string): number {
  if (timeZone === "UTC") return wallMs;
  zoneFormat(timeZone);
  const guess = wallMs - (wallClockIn(wallMs, timeZone) - wallMs);
  const t = wallMs - (wallClockIn(guess, timeZone) - guess);
  return wallClockIn(t, timeZone) === wallMs ? t : guess;
}

/** Fields of a row before validation: dates already parsed to epoch ms (null = absent). */
export interface JiraDraft {
  issue_key: string | null;
  project: string | null;
  issue_type: string | null;
  priority: string | null;
  status: string | null;
  components: string[];
  labels: string[];
  summary: string | null;
  /** Epoch ms; undefined = the source text could not be parsed (then `badDate` says which). */
  created: number | null;
  resolved: number | null;
  updated: number | null;
  /** When a date could not be parsed: "Created \"yesterday\" is not a date". */
  badDate?: string;
  raw: unknown;
}

const clean = (s: string | null | undefined): string | null => {
  if (s === null || s === undefined) return null;
  const t = String(s).trim();
  return t === "" ? null : t;
};
const cleanList = (xs: readonly unknown[]): string[] => {
  const out: string[] = [];
  for (const x of xs) {
    const c = clean(typeof x === "string" ? x : null);
    if (c !== null && !out.includes(c)) out.push(c);
  }
  return out;
};

/**
 * Validates a draft and turns it into a row, or says why not. `now` (epoch ms) bounds "future".
 * Shared by every Jira input so all reject the same things with the same sentences.
 */
export function finishJiraRow(d: JiraDraft, now = Date.now()): JiraMapResult {
  const { created: _c, resolved: _r, updated: _u, badDate: _b, raw, ...text } = d;
  const bad = unstorable(text) ?? unstorable(raw ?? null, "raw");
  if (bad) {
    const k = typeof d.issue_key === "string" && unstorable(d.issue_key) === null ? `${d.issue_key.trim().slice(0, 80)}: ` : "";
    return { ok: false, reason: `${k}${bad}` };
  }
  const key = clean(d.issue_key);
  if (!key) return { ok: false, reason: "missing issue key" };
  if (!JIRA_KEY.test(key)) {
    return { ok: false, reason: `issue key ${JSON.stringify(key.slice(0, 80))} is not a Jira key like "ABC-123"` };
  }
  if (d.badDate) return { ok: false, reason: `${key}: ${d.badDate}` };
  const type = clean(d.issue_type);
  if (!type) return { ok: false, reason: `${key}: missing issue type` };
  const status = clean(d.status);
  if (!status) return { ok: false, reason: `${key}: missing status` };
  if (d.created === null) return { ok: false, reason: `${key}: missing created date` };
  const latest = now + JIRA_LIMITS.futureMs;
  for (const [name, t] of [["created", d.created], ["resolved", d.resolved], ["updated", d.updated]] as const) {
    if (t === null) continue;
    if (t < JIRA_LIMITS.earliest || t > latest) {
      return {
        ok: false,
        reason: `${key}: ${name} date ${new Date(t).toISOString()} is absurd; allowed from 1990-01-01 to one day from now`,
      };
    }
  }
  if (d.resolved !== null && d.resolved < d.created - 86_400_000) {
    return {
      ok: false,
      reason: `${key}: resolved ${new Date(d.resolved).toISOString()} is more than a day before created ${
        new Date(d.created).toISOString()
      }`,
    };
  }
  const summary = clean(d.summary);
  if (summary !== null && summary.length > JIRA_LIMITS.summaryChars) {
    return {
      ok: false,
      reason: `${key}: summary has ${summary.length} characters; at most ${JIRA_LIMITS.summaryChars} allowed`,
    };
  }
  const rawBytes = new TextEncoder().encode(JSON.stringify(raw ?? null)).length;
  if (rawBytes > JIRA_LIMITS.rawBytes) {
    return {
      ok: false,
      reason: `${key}: raw payload has ${rawBytes} bytes; at most ${JIRA_LIMITS.rawBytes} allowed`,
    };
  }
  const project = clean(d.project) ?? key.slice(0, key.lastIndexOf("-"));
  return {
    ok: true,
    row: {
      issue_key: key,
      project,
      issue_type: type,
      priority: clean(d.priority),
      status,
      components: cleanList(d.components),
      labels: cleanList(d.labels),
      summary,
      created_at: new Date(d.created).toISOString(),
      resolved_at: d.resolved === null ? null : new Date(d.resolved).toISOString(),
      updated_at: d.updated === null ? null : new Date(d.updated).toISOString(),
      raw,
    },
  };
}

const obj = (v: unknown): Record<string, unknown> | null =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? v as Record<string, unknown> : null;
const nameOf = (v: unknown): string | null => {
  const o = obj(v);
  if (o && typeof o.name === "string") return o.name;
  if (o && typeof o.key === "string") return o.key;
  return typeof v === "string" ? v : null;
};

/**
 * Maps one issue of the Jira REST API (search results, issue GET, webhook `issue`) to a row.
 * `raw` keeps the whole issue object as received.
 *
 * @example
 * mapJiraIssue({ key: "X-1", fields: { project: { key: "X" }, issuetype: { name: "Incident" },
 *   priority: { name: "High" }, status: { name: "Open" }, components: [{ name: "API" }],
 *   labels: ["prod"], summary: "Down", created: "2026-09-01T10:15:30.000+0200" } });
 */
export function mapJiraIssue(issue: unknown, now = Date.now()): JiraMapResult {
  const o = obj(issue);
  if (!o) return { ok: false, reason: "issue is not a JSON object" };
  const f = obj(o.fields) ?? {};
  let badDate: string | undefined;
  const time = (name: string, v: unknown): number | null => {
    if (v === null || v === undefined || v === "") return null;
    const t = typeof v === "string" ? parseJiraIsoTime(v) : null;
    if (t === null && !badDate) badDate = `${name} ${JSON.stringify(String(v).slice(0, 60))} is not a date`;
    return t;
  };
  const list = (v: unknown) => (Array.isArray(v) ? v.map(nameOf).filter((x): x is string => x !== null) : []);
  return finishJiraRow({
    issue_key: typeof o.key === "string" ? o.key : null,
    project: nameOf(obj(f.project)?.key ?? null),
    issue_type: nameOf(f.issuetype),
    priority: nameOf(f.priority),
    status: nameOf(f.status),
    components: list(f.components),
    labels: Array.isArray(f.labels) ? f.labels.filter((x): x is string => typeof x === "string") : [],
    summary: typeof f.summary === "string" ? f.summary : null,
    created: time("created", f.created),
    resolved: time("resolutiondate", f.resolutiondate),
    updated: time("updated", f.updated),
    badDate,
    raw: issue,
  }, now);
}

/** What a Jira webhook asks for. */
export type JiraWebhookAction =
  | { action: "upsert"; row: JiraIssueRow }
  | { action: "delete"; key: string }
  | { action: "ignore"; reason: string }
  | { action: "reject"; reason: string };

/**
 * Maps a Jira webhook payload: `jira:issue_created` / `jira:issue_updated` → upsert of its `issue`,
 * `jira:issue_deleted` → delete of its key; other events are ignored; a bad issue is rejected.
 *
 * @example
 * mapJiraWebhook({ webhookEvent: "jira:issue_deleted", issue: { key: "AOMA-9" } });
 * // { action: "delete", key: "AOMA-9" }
 */
export function mapJiraWebhook(payload: unknown, now = Date.now()): JiraWebhookAction {
  const p = obj(payload);
  if (!p) return { action: "reject", reason: "webhook payload is not a JSON object" };
  const event = typeof p.webhookEvent === "string" ? p.webhookEvent : "";
  const issue = obj(p.issue);
  if (event === "jira:issue_deleted") {
    const key = issue && typeof issue.key === "string" ? issue.key.trim() : "";
    if (!JIRA_KEY.test(key)) {
      return { action: "reject", reason: `jira:issue_deleted without a valid issue key (got ${JSON.stringify(key)})` };
    }
    return { action: "delete", key };
  }
  if (event === "jira:issue_created" || event === "jira:issue_updated") {
    const r = mapJiraIssue(issue, now);
    return r.ok ? { action: "upsert", row: r.row } : { action: "reject", reason: r.reason };
  }
  return {
    action: "ignore",
    reason: `event ${JSON.stringify(event)} is not handled; handled: jira:issue_created, jira:issue_updated, jira:issue_deleted`,
  };
}
