/**
 * Jira Cloud REST API → aoma.jira_issues, through the enhanced JQL search
 * `GET /rest/api/3/search/jql?jql=…&fields=…&maxResults=…&nextPageToken=…` (pages until `isLast`
 * or no `nextPageToken`), with email + API token basic auth.
 *
 * Robust to a busy server: 429 waits for `Retry-After` (seconds or an HTTP date), 5xx and network
 * errors retry with exponential backoff and full jitter, a bounded number of times. Another 4xx
 * fails at once with Jira's own message. Errors never contain the token, the e-mail or the base
 * URL.
 *
 * Incremental: the cursor in aoma.ingest_state (source 'jira', scope = base URL + JQL) is the
 * latest `updated` seen; the next run asks for `(<jql>) AND updated >= "<cursor − 1 minute>"`,
 * written in the Jira user's time zone (JQL reads dates in it; taken from /rest/api/3/myself
 * unless `jqlTimeZone` is given). Pages are ordered by `updated`, and each page is committed with
 * the cursor it reaches, so a killed run resumes where it stopped.
 *
 * @example
 * // JIRA_BASE_URL, JIRA_EMAIL, JIRA_API_TOKEN from the environment
 * const report = await ingestJiraApi(db, { jql: "project = AOMA" });
 */
import type { Db } from "../db/types.ts";
import { loadJiraCursor, syncJiraIncidents, writeJiraIssues } from "./jira.ts";
import { type JiraIssueRow, mapJiraIssue, parseJiraIsoTime, wallClockIn } from "./jira_map.ts";
import { type IngestReport, type Progress, SILENT } from "./report.ts";
import { runIngest } from "./run.ts";

/** Fields asked for by default: everything the mapping uses. */
export const JIRA_DEFAULT_FIELDS = [
  "project",
  "issuetype",
  "priority",
  "status",
  "components",
  "labels",
  "summary",
  "created",
  "resolutiondate",
  "updated",
] as const;

/** Options of {@link ingestJiraApi}. Credentials default to the environment. */
export interface JiraApiOptions {
  /** JQL selecting the tickets, e.g. "project = AOMA" (must be bounded; Jira refuses an empty JQL). */
  jql: string;
  /** https://your-site.atlassian.net (default env JIRA_BASE_URL). */
  baseUrl?: string;
  /** Account e-mail (default env JIRA_EMAIL). */
  email?: string;
  /** API token (default env JIRA_API_TOKEN). Never logged. */
  apiToken?: string;
  /** Fields to fetch (default JIRA_DEFAULT_FIELDS; "*all" keeps every field in raw). */
  fields?: readonly string[];
  /** Page size (default 100). */
  maxResults?: number;
  /** Ignore the stored cursor and read everything the JQL selects (the cursor still advances). */
  full?: boolean;
  /** IANA zone the JQL date is written in (default: the account's zone from /rest/api/3/myself). */
  jqlTimeZone?: string;
  /** Retry policy. */
  retry?: RetryOptions;
  /** fetch to use (tests). */
  fetch?: typeof fetch;
  /** Stop after this many pages, as if killed (tests of resumption); the cursor keeps what was read in order. */
  maxPages?: number;
}

/** Bounded retries of {@link jiraFetch}. */
export interface RetryOptions {
  /** Attempts per request, the first included (default 6). */
  attempts?: number;
  /** First backoff delay for 5xx / network errors, ms (default 1000); doubles each attempt. */
  baseDelayMs?: number;
  /** Longest backoff delay, ms (default 30,000). */
  maxDelayMs?: number;
  /** Longest Retry-After honoured, ms (default 300,000); a longer one fails the run. */
  maxRetryAfterMs?: number;
  /** Sleep function (tests). */
  sleep?: (ms: number) => Promise<void>;
}

/** A failed Jira request: HTTP status (0 for network errors) and a message free of credentials. */
export class JiraApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = "JiraApiError";
  }
}

interface Credentials {
  baseUrl: string;
  email: string;
  apiToken: string;
}

function credentials(opts: JiraApiOptions): Credentials {
  const baseUrl = (opts.baseUrl ?? Deno.env.get("JIRA_BASE_URL") ?? "").trim().replace(/\/+$/, "");
  const email = opts.email ?? Deno.env.get("JIRA_EMAIL") ?? "";
  const apiToken = opts.apiToken ?? Deno.env.get("JIRA_API_TOKEN") ?? "";
  const missing = [
    !baseUrl && "JIRA_BASE_URL (or baseUrl)",
    !email && "JIRA_EMAIL (or email)",
    !apiToken && "JIRA_API_TOKEN (or apiToken)",
  ].filter(Boolean);
  if (missing.length) throw new JiraApiError(0, `Cannot read Jira: missing ${missing.join(", ")}`);
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new JiraApiError(0, "Cannot read Jira: the base URL is not a URL; use e.g. https://your-site.atlassian.net");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new JiraApiError(0, "Cannot read Jira: the base URL must be http(s), e.g. https://your-site.atlassian.net");
  }
  return { baseUrl, email, apiToken };
}

/** Replaces every credential (and the base URL with its host) in `text` by "[redacted]". */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 3) out = out.split(s).join("[redacted]");
  return out;
}

function secretsOf(c: Credentials): string[] {
  const basic = btoa(`${c.email}:${c.apiToken}`);
  let host = "";
  try {
    host = new URL(c.baseUrl).host;
  } catch { /* checked before */ }
  // longest first, so the base URL is replaced before its host
  return [basic, c.apiToken, c.baseUrl, host, c.email].sort((a, b) => b.length - a.length);
}

/**
 * Parses a Retry-After value: delay seconds or an HTTP date. Returns ms to wait (≥ 0), or null.
 *
 * @example
 * retryAfterMs("1");                                 // 1000
 * retryAfterMs("Wed, 21 Oct 2015 07:28:00 GMT", now); // ms until then (0 when past)
 */
export function retryAfterMs(value: string | null, now = Date.now()): number | null {
  if (value === null) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : Math.max(0, t - now);
}

const sleepReal = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * GETs a Jira REST path with basic auth and the retry policy; returns the parsed JSON body.
 * Throws JiraApiError (credentials redacted) when attempts run out or on a 4xx other than 429.
 */
export async function jiraFetch(
  c: Credentials,
  path: string,
  retry: RetryOptions = {},
  fetchFn: typeof fetch = fetch,
): Promise<unknown> {
  const attempts = Math.max(1, retry.attempts ?? 6);
  const base = retry.baseDelayMs ?? 1000;
  const maxDelay = retry.maxDelayMs ?? 30_000;
  const maxRetryAfter = retry.maxRetryAfterMs ?? 300_000;
  const sleep = retry.sleep ?? sleepReal;
  const secrets = secretsOf(c);
  const where = redact(path.split("?")[0], secrets);
  const headers = {
    Authorization: `Basic ${btoa(`${c.email}:${c.apiToken}`)}`,
    Accept: "application/json",
  };
  let last = "";
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let res: Response;
    try {
      res = await fetchFn(`${c.baseUrl}${path}`, { headers });
    } catch (e) {
      last = `network error: ${redact((e as Error).message, secrets)}`;
      if (attempt < attempts) await sleep(Math.random() * Math.min(maxDelay, base * 2 ** (attempt - 1)));
      continue;
    }
    if (res.ok) {
      try {
        return await res.json();
      } catch {
        throw new JiraApiError(res.status, `Cannot read Jira ${where}: the answer is not JSON`);
      }
    }
    const body = await res.text().catch(() => "");
    if (res.status === 429) {
      const wait = retryAfterMs(res.headers.get("retry-after")) ??
        Math.min(maxDelay, base * 2 ** (attempt - 1));
      if (wait > maxRetryAfter) {
        throw new JiraApiError(
          429,
          `Cannot read Jira ${where}: rate limited for ${Math.ceil(wait / 1000)} s, longer than the ${
            maxRetryAfter / 1000
          } s allowed; try again later`,
        );
      }
      last = "HTTP 429 (rate limited)";
      if (attempt < attempts) await sleep(wait);
      continue;
    }
    if (res.status >= 500) {
      last = `HTTP ${res.status}`;
      if (attempt < attempts) await sleep(Math.random() * Math.min(maxDelay, base * 2 ** (attempt - 1)));
      continue;
    }
    throw new JiraApiError(res.status, `Cannot read Jira ${where}: HTTP ${res.status}${jiraMessage(body, secrets)}`);
  }
  throw new JiraApiError(0, `Cannot read Jira ${where}: gave up after ${attempts} attempts (last: ${last})`);
}

/** Jira's error text ({errorMessages, errors}) made safe and short. */
function jiraMessage(body: string, secrets: readonly string[]): string {
  let text = "";
  try {
    const j = JSON.parse(body) as { errorMessages?: unknown[]; errors?: Record<string, unknown> };
    const parts = [
      ...(Array.isArray(j.errorMessages) ? j.errorMessages.map(String) : []),
      ...Object.entries(j.errors ?? {}).map(([k, v]) => `${k}: ${String(v)}`),
    ];
    text = parts.join("; ");
  } catch {
    text = body.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim();
  }
  text = redact(text, secrets).slice(0, 300);
  return text ? ` — ${text}` : "";
}

/** One page of the enhanced search, as Jira answers it. */
export interface JiraSearchPage {
  issues?: unknown[];
  nextPageToken?: string | null;
  isLast?: boolean;
}

/** `yyyy/MM/dd HH:mm` of `instant` in `timeZone`, the form JQL compares dates in. */
export function jqlDate(instant: number, timeZone: string): string {
  const d = new Date(wallClockIn(instant, timeZone));
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getUTCFullYear()}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())} ${p(d.getUTCHours())}:${
    p(d.getUTCMinutes())
  }`;
}

/**
 * The JQL of one run: the caller's JQL, narrowed to `updated >= "<since>"` when there is a cursor,
 * ordered by updated (unless the caller's JQL has its own ORDER BY). Returns the JQL and whether
 * pages come in `updated` order (then each page may advance the cursor).
 *
 * @example
 * incrementalJql("project = AOMA", "2026/09/01 10:14");
 * // { jql: '(project = AOMA) AND updated >= "2026/09/01 10:14" ORDER BY updated ASC, key ASC', ordered: true }
 */
export function incrementalJql(jql: string, since: string | null): { jql: string; ordered: boolean } {
  const m = /\border\s+by\b/i.exec(jql);
  const filter = (m ? jql.slice(0, m.index) : jql).trim();
  const order = m ? jql.slice(m.index).trim() : "ORDER BY updated ASC, key ASC";
  const parts = [filter && (since ? `(${filter})` : filter), since && `updated >= "${since}"`].filter(Boolean);
  return { jql: `${parts.join(" AND ")} ${order}`.trim(), ordered: !m };
}

/**
 * Reads every page of the enhanced JQL search for `opts.jql` (narrowed by the stored cursor) and
 * upserts it: one transaction per page with the cursor it reaches, then the failure sync, all in
 * one recorded run (runIngest, source 'jira'). Rejected issues are counted with their record
 * number (1-based over the run) and reason.
 *
 * @example
 * const report = await ingestJiraApi(db, { jql: "project = AOMA", baseUrl: "https://acme.atlassian.net",
 *   email: "bot@acme.com", apiToken: Deno.env.get("JIRA_API_TOKEN") });
 */
export async function ingestJiraApi(
  db: Db,
  opts: JiraApiOptions,
  progress: Progress = SILENT,
): Promise<IngestReport> {
  const c = credentials(opts);
  const userJql = (opts.jql ?? "").trim();
  if (!userJql) {
    throw new JiraApiError(0, 'Cannot read Jira: jql is empty; give a bounded JQL such as "project = AOMA"');
  }
  const fetchFn = opts.fetch ?? fetch;
  const scope = `${c.baseUrl} ${userJql}`;
  return await runIngest(db, "jira", async (report) => {
    const stored = await loadJiraCursor(db, scope);
    const cursor = typeof stored?.updated === "string" ? Date.parse(stored.updated) : NaN;
    let since: string | null = null;
    if (!opts.full && Number.isFinite(cursor)) {
      const tz = opts.jqlTimeZone ?? await accountTimeZone(c, opts.retry, fetchFn);
      since = jqlDate(cursor - 60_000, tz);
      report.notes.push(`incremental: updated >= "${since}" (${tz})`);
    }
    const { jql, ordered } = incrementalJql(userJql, since);
    const fields = (opts.fields ?? JIRA_DEFAULT_FIELDS).join(",");
    const maxResults = opts.maxResults ?? 100;
    let maxUpdated = Number.isFinite(cursor) ? cursor : -Infinity;
    let token: string | null = null;
    let record = 0;
    for (let page = 1;; page++) {
      const q = new URLSearchParams({ jql, fields, maxResults: String(maxResults) });
      if (token) q.set("nextPageToken", token);
      const body = await jiraFetch(c, `/rest/api/3/search/jql?${q}`, opts.retry, fetchFn) as JiraSearchPage;
      const issues = Array.isArray(body?.issues) ? body.issues : [];
      const rows: JiraIssueRow[] = [], lines: number[] = [];
      for (const issue of issues) {
        record++;
        report.read++;
        const updated = (issue as { fields?: { updated?: unknown } })?.fields?.updated;
        const u = typeof updated === "string" ? parseJiraIsoTime(updated) : null;
        if (u !== null && u <= Date.now() + 86_400_000) maxUpdated = Math.max(maxUpdated, u);
        const r = mapJiraIssue(issue);
        if (r.ok) rows.push(r.row), lines.push(record);
        else report.reject(record, r.reason);
      }
      const complete = body?.isLast === true || !body?.nextPageToken || issues.length === 0;
      const isLast = complete || (opts.maxPages !== undefined && page >= opts.maxPages);
      // the cursor moves with a page only when pages come in updated order; else after the last page
      const moveCursor = (ordered || complete) && Number.isFinite(maxUpdated);
      await writeJiraIssues(db, rows, report, {
        batchSize: Math.max(rows.length, 1),
        lines,
        cursor: moveCursor ? { scope, state: { updated: new Date(maxUpdated).toISOString() } } : undefined,
        sync: false,
      });
      progress.advance(issues.length);
      if (isLast) break;
      token = body.nextPageToken as string;
    }
    await syncJiraIncidents(db, report);
    progress.done();
  });
}

/** The account's time zone (GET /rest/api/3/myself → timeZone); "UTC" when it says none. */
async function accountTimeZone(c: Credentials, retry: RetryOptions | undefined, fetchFn: typeof fetch): Promise<string> {
  const me = await jiraFetch(c, "/rest/api/3/myself", retry, fetchFn) as { timeZone?: unknown };
  const tz = typeof me?.timeZone === "string" && me.timeZone ? me.timeZone : "UTC";
  try {
    wallClockIn(0, tz);
    return tz;
  } catch {
    return "UTC";
  }
}
