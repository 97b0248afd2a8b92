/**
 * The complete `ingest` edge function. Routes (below /functions/v1/ingest):
 *
 * - `POST /` — a batch `{ source, records, … }` (service-role JWT required: none → 401 with
 *   WWW-Authenticate, another role → 403). At most MAX_BATCH_RECORDS records and MAX_BATCH_BYTES of
 *   body (413). Answers the batch's IngestReport JSON. See BATCH_SOURCES for each source's body.
 * - `POST /webhooks/github` — GitHub `push` events (X-Hub-Signature-256, secret GITHUB_WEBHOOK_SECRET).
 * - `POST /webhooks/jira` — Jira issue created/updated/deleted (X-Hub-Signature, secret JIRA_WEBHOOK_SECRET).
 *
 * Webhooks carry no JWT: their HMAC signature over the raw body is checked before anything parses it
 * (missing or wrong → 401, nothing stored; no secret configured → 503). The delivery id is claimed in
 * the same transaction as the data, so a redelivery answers `{ duplicate: true }` and changes nothing.
 * Deliveries are debounced into one feature refresh: it runs AOMA_WEBHOOK_REFRESH_DELAY_MS (default
 * 2000; 0 = inside every delivery) after the last delivery of a burst (RefreshDebouncer).
 * Secrets never appear in responses or logs.
 *
 * functions/ingest/index.ts serves it with Deno.serve; the local gateway mounts it at /functions/v1/ingest.
 *
 * @example
 * Deno.serve(createIngestFunction({ db: await openDb(), auth: await authConfigFromEnv() }));
 */
import type { AuthConfig } from "../auth/config.ts";
import { createVerifier } from "../auth/verify.ts";
import { asRole } from "../db/caller.ts";
import type { Db, Executor } from "../db/types.ts";
import { AppError, isAppError, sqlState } from "../errors.ts";
import { readBodyLimited } from "../server/body.ts";
import { guard, type GuardOptions } from "../server/guard.ts";
import { errorResponse } from "../server/respond.ts";
import type { FunctionHandler, HttpHandler } from "../server/types.ts";
import { readDataVersion } from "../db/data_version.ts";
import { DEFAULT_DEPLOY_TAG_PATTERN, mapGithubPush, pushedTag } from "./github_push.ts";
import { compileTagPattern, type TagPattern } from "./git.ts";
import { applyJiraWebhook, writeJiraIssues } from "./jira.ts";
import { finishJiraRow, type JiraIssueRow, type JiraMapResult, mapJiraIssue } from "./jira_map.ts";
import { mapAttemptRecords, type AttemptMapOptions, writeAttemptRows } from "./attempts.ts";
import { writeGitBatch } from "./git.ts";
import {
  type InputLine,
  isRejection,
  LOG_LEVELS,
  LOG_LIMITS,
  type LogLevel,
  LogLineParser,
  type LogRecord,
  parseLogObjects,
  writeLogEvents,
} from "./logs.ts";
import { mapMetricRecords, type MetricMapOptions, recordsOf, writeMetricRows } from "./metrics.ts";
import { type GitCommitRow, MAX_MESSAGE_CHARS, MAX_NAME_CHARS } from "./git_log.ts";
import { RegexBudgetError, RegexUnavailableError } from "./regex_guard.ts";
import type { IngestReport } from "./report.ts";
import { type IngestSource, runIngest } from "./run.ts";
import { clipText, decodeUtf8, unstorable, withoutBom } from "./storable.ts";
import { upsertRows } from "./upsert.ts";
import {
  claimDelivery,
  REFRESH_DELAY_ENV,
  RefreshDebouncer,
  refreshDelayFrom,
  verifySignature,
  type WebhookProvider,
  WEBHOOKS,
} from "./webhooks.ts";

/** Most records one batch may carry. */
export const MAX_BATCH_RECORDS = 5_000;
/** Largest body of a batch or webhook: 5 MiB. */
export const MAX_BATCH_BYTES = 5 * 1024 * 1024;

/** Sources a batch may name. */
export const BATCH_SOURCE_NAMES = ["jira", "git", "logs", "metrics", "attempts"] as const;
export type BatchSourceName = typeof BATCH_SOURCE_NAMES[number];

/** A batch as POSTed: the source, its records, and source-specific fields. */
export interface BatchBody {
  source: BatchSourceName;
  records: unknown[];
  /** false = skip the feature refresh (every batch but the last of a larger run). Default true. */
  refresh?: boolean;
  [field: string]: unknown;
}

/** How one source writes a batch: validate the body's extra fields, map the records, upsert. */
export interface BatchWriter {
  /** One sentence on the records this source takes (used in 400 messages). */
  expects: string;
  write(db: Db, body: BatchBody, report: IngestReport): Promise<void>;
}

/** The per-source dispatch of batches: what each source's body carries and how it is written. */
export const BATCH_SOURCES: Record<BatchSourceName, BatchWriter> = {
  jira: {
    expects: "records are Jira issues as the REST API returns them ({ key, fields }) or aoma.jira_issues rows ({ issue_key, … })",
    async write(db, body, report) {
      const rows: JiraIssueRow[] = [], lines: number[] = [];
      for (const [i, rec] of body.records.entries()) {
        report.read++;
        const r = jiraRecord(rec);
        if (r.ok) rows.push(r.row), lines.push(lineOf(body, i));
        else report.reject(lineOf(body, i), r.reason);
      }
      await writeJiraIssues(db, rows, report, { lines });
    },
  },
  git: {
    expects: "the body names the repo and records are aoma.git_commits rows (sha, authored_at, committed_at, …)",
    async write(db, body, report) {
      const repo = typeof body.repo === "string" ? body.repo.trim() : "";
      if (!repo || repo.length > 200) {
        throw new AppError(400, "Cannot read the git batch: repo must be the repository name (1 to 200 characters).");
      }
      const rows: GitCommitRow[] = [], lines: number[] = [];
      for (const [i, rec] of body.records.entries()) {
        report.read++;
        const r = gitRecord(repo, rec);
        if (typeof r === "string") report.reject(lineOf(body, i), r);
        else rows.push(r), lines.push(lineOf(body, i));
      }
      report.add("repositories", await upsertRows(db, "repositories", [{ repo }]));
      await writeGitBatch(db, repo, rows, report, { lines });
    },
  },
  logs: {
    expects: 'the body names the logSource; records are JSON log objects (format "jsonl", default), text lines (format "text", with pattern and tsFormat; year for timestamps without one) or records parsed by `aoma ingest logs` (format "parsed")',
    async write(db, body, report) {
      const source = text(body, "logSource", true)!;
      const format = text(body, "format") ?? "jsonl";
      const first = lineOf(body, 0);
      const opts = {
        source,
        tsFormat: text(body, "tsFormat"),
        // checked by the parser (a whole year from 1970 to 9999); without it the year is inferred from now
        year: body.year as number | undefined,
        pattern: text(body, "pattern"),
        service: text(body, "service"),
        host: text(body, "host"),
        defaultLevel: text(body, "defaultLevel") as LogLevel | undefined,
      };
      let parsed: { records: LogRecord[]; rejections: { line: number; reason: string }[]; yearNote?: string | null };
      if (format === "jsonl") {
        parsed = badRequest("logs", () => parseLogObjects(body.records, opts, first));
      } else if (format === "text") {
        const parser = badRequest("logs", () => new LogLineParser({ ...opts, format: "text" }));
        parsed = { records: [], rejections: [] };
        const lines: InputLine[] = [];
        for (const [i, rec] of body.records.entries()) {
          if (typeof rec === "string") lines.push({ text: rec, line: first + i });
          else parsed.rejections.push({ line: first + i, reason: "text records must be strings" });
        }
        try {
          // a caller's pattern runs in the regex guard (a time limit per line)
          for (const r of await parser.parseLines(lines)) {
            if (r === null) continue;
            if (isRejection(r)) parsed.rejections.push(r);
            else parsed.records.push(r);
          }
          parsed.yearNote = parser.yearNote();
        } catch (e) {
          if (e instanceof RegexBudgetError) throw new AppError(400, `${e.message} (logs batch).`);
          if (e instanceof RegexUnavailableError) throw new AppError(503, `${e.message}.`);
          throw e;
        } finally {
          parser.close();
        }
        parsed.rejections.sort((a, b) => a.line - b.line);
      } else if (format === "parsed") {
        parsed = { records: [], rejections: [] };
        for (const [i, rec] of body.records.entries()) {
          const r = parsedLogRecord(rec, first + i);
          if (typeof r === "string") parsed.rejections.push({ line: first + i, reason: r });
          else parsed.records.push(r);
        }
      } else {
        throw new AppError(400, `Cannot read the logs batch: format ${JSON.stringify(format)} is not allowed; use "jsonl", "text" or "parsed".`);
      }
      report.read += parsed.records.length + parsed.rejections.length;
      for (const r of parsed.rejections) report.reject(r.line, r.reason);
      if (parsed.yearNote) report.notes.push(parsed.yearNote);
      await writeLogEvents(db, parsed.records, report, { source });
    },
  },
  metrics: {
    expects: "the body names the metricSource; records are objects with a timestamp and metric columns (asset_volume, processing_time, error_count, performance_score) or a valueColumn mapped `as` one",
    async write(db, body, report) {
      const { records, rejections } = recordsOf(body.records, lineOf(body, 0));
      const mapped = badRequest("metrics", () =>
        mapMetricRecords(records, {
          source: text(body, "metricSource", true)!,
          timestampColumn: text(body, "timestampColumn"),
          tsFormat: text(body, "tsFormat"),
          columns: object(body, "columns") as MetricMapOptions["columns"],
          valueColumn: text(body, "valueColumn"),
          as: text(body, "as") as MetricMapOptions["as"],
          round: body.round === true,
        }));
      report.read += body.records.length;
      for (const r of [...rejections, ...mapped.rejections].sort((a, b) => a.line - b.line)) report.reject(r.line, r.reason);
      await writeMetricRows(db, mapped.rows, report, { lines: mapped.lines });
    },
  },
  attempts: {
    expects: "records are processing attempts (attempt_id, asset_id, asset_type, started_at, status, … or the input columns named by `columns`)",
    async write(db, body, report) {
      const { records, rejections } = recordsOf(body.records, lineOf(body, 0));
      const mapped = badRequest("attempts", () =>
        mapAttemptRecords(records, {
          columns: object(body, "columns") as AttemptMapOptions["columns"],
          tsFormat: text(body, "tsFormat"),
        }));
      report.read += body.records.length;
      for (const r of [...rejections, ...mapped.rejections].sort((a, b) => a.line - b.line)) report.reject(r.line, r.reason);
      await writeAttemptRows(db, mapped.rows, report, { lines: mapped.lines });
    },
  },
};

/** A string field of the batch body (400 when present but not a string, or required and missing). */
function text(body: BatchBody, name: string, required = false): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) {
    if (required) throw new AppError(400, `Cannot read the ${body.source} batch: it needs ${name} (a string).`);
    return undefined;
  }
  if (typeof v !== "string") throw new AppError(400, `Cannot read the ${body.source} batch: ${name} must be a string.`);
  return v;
}

/** An object-of-strings field of the batch body (e.g. a column mapping). */
function object(body: BatchBody, name: string): Record<string, string> | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (!isRecord(v) || !Object.values(v).every((x) => typeof x === "string")) {
    throw new AppError(400, `Cannot read the ${body.source} batch: ${name} must map names to strings.`);
  }
  return v as Record<string, string>;
}

/** Runs a source's mapping step; its "Cannot …" errors (bad options) become 400. */
function badRequest<T>(source: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isAppError(e)) throw e;
    throw new AppError(400, `${(e as Error).message.replace(/\.$/, "")} (${source} batch).`);
  }
}

/** A log record as `aoma ingest logs --via-function` sends it (parsed on the client), checked again. */
function parsedLogRecord(rec: unknown, line: number): LogRecord | string {
  if (!isRecord(rec)) return "record is not a JSON object";
  const bad = unstorable(rec);
  if (bad) return bad;
  if (typeof rec.event_key !== "string" || !/^[0-9a-f]{32}$/.test(rec.event_key)) return "event_key must be 32 hex digits";
  const ts = typeof rec.ts === "string" ? Date.parse(rec.ts) : NaN;
  if (Number.isNaN(ts)) return "ts must be an ISO time";
  if (!(LOG_LEVELS as readonly unknown[]).includes(rec.level)) return `level must be one of ${LOG_LEVELS.join(", ")}`;
  if (typeof rec.message !== "string" || rec.message.length > LOG_LIMITS.message) {
    return `message must be a string of at most ${LOG_LIMITS.message} characters`;
  }
  const name = (v: unknown) => (v === null || v === undefined ? null : typeof v === "string" && v.length <= LOG_LIMITS.name ? v : undefined);
  const service = name(rec.service), host = name(rec.host);
  if (service === undefined || host === undefined) return `service and host must be strings of at most ${LOG_LIMITS.name} characters`;
  return {
    line,
    event_key: rec.event_key,
    ts: new Date(ts).toISOString(),
    level: rec.level as LogLevel,
    service,
    host,
    message: rec.message,
  };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** A Jira REST issue or an already-mapped row, validated the same way every Jira input is. */
function jiraRecord(rec: unknown): JiraMapResult {
  if (!isRecord(rec) || !("issue_key" in rec)) return mapJiraIssue(rec);
  let badDate: string | undefined;
  const time = (name: string, v: unknown): number | null => {
    if (v === null || v === undefined || v === "") return null;
    const t = typeof v === "string" ? Date.parse(v) : NaN;
    if (Number.isNaN(t)) {
      badDate ??= `${name} ${JSON.stringify(String(v).slice(0, 60))} is not a date`;
      return null;
    }
    return t;
  };
  const text = (v: unknown) => (typeof v === "string" ? v : null);
  const list = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
  return finishJiraRow({
    issue_key: text(rec.issue_key),
    project: text(rec.project),
    issue_type: text(rec.issue_type),
    priority: text(rec.priority),
    status: text(rec.status),
    components: list(rec.components),
    labels: list(rec.labels),
    summary: text(rec.summary),
    created: time("created_at", rec.created_at),
    resolved: time("resolved_at", rec.resolved_at),
    updated: time("updated_at", rec.updated_at),
    badDate,
    raw: rec.raw ?? null,
  });
}

const SHA = /^[0-9a-f]{7,64}$/;
const TZ = /^[+-][0-9]{4}$/;
const EARLIEST_COMMIT = Date.UTC(1970, 0, 1);

/** An aoma.git_commits row from a batch record (exactly the columns the git ingest writes), or why not. */
function gitRecord(repo: string, rec: unknown): GitCommitRow | string {
  if (!isRecord(rec)) return "record is not a JSON object";
  const bad = unstorable(rec);
  if (bad) return bad;
  const sha = typeof rec.sha === "string" ? rec.sha.toLowerCase() : "";
  if (!SHA.test(sha)) return `invalid commit hash ${JSON.stringify(String(rec.sha ?? "").slice(0, 80))}`;
  const at = (name: string): string | null => {
    const v = rec[name];
    const t = typeof v === "string" ? Date.parse(v) : NaN;
    return Number.isNaN(t) || t < EARLIEST_COMMIT || t > Date.now() + 86_400_000 ? null : new Date(t).toISOString();
  };
  const authored = at("authored_at"), committed = at("committed_at");
  if (!authored) return `commit ${sha}: authored_at is missing or not a plausible time`;
  if (!committed) return `commit ${sha}: committed_at is missing or not a plausible time`;
  const tz = (name: string): string | null | undefined => {
    const v = rec[name];
    return v === null || v === undefined ? null : typeof v === "string" && TZ.test(v) ? v : undefined;
  };
  const authorTz = tz("author_tz"), committerTz = tz("committer_tz");
  if (authorTz === undefined || committerTz === undefined) return `commit ${sha}: time zones must look like "+0200"`;
  const n = (name: string): number | undefined => {
    const v = rec[name] ?? 0;
    return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 2_147_483_647 ? v : undefined;
  };
  const files = n("files_changed"), ins = n("insertions"), del = n("deletions");
  if (files === undefined || ins === undefined || del === undefined) {
    return `commit ${sha}: files_changed, insertions and deletions must be whole numbers ≥ 0`;
  }
  const parents = Array.isArray(rec.parents) ? rec.parents.map((x) => String(x).toLowerCase()) : [];
  if (!parents.every((x) => SHA.test(x))) return `commit ${sha}: parents must be commit hashes`;
  const str = (name: string, max: number): string | null => {
    const v = rec[name];
    return typeof v === "string" && v !== "" ? clipText(v, max) : null;
  };
  return {
    repo,
    sha,
    author_name: str("author_name", MAX_NAME_CHARS),
    author_email: str("author_email", MAX_NAME_CHARS),
    authored_at: authored,
    author_tz: authorTz,
    committer_name: str("committer_name", MAX_NAME_CHARS),
    committer_email: str("committer_email", MAX_NAME_CHARS),
    committed_at: committed,
    committer_tz: committerTz,
    files_changed: files,
    insertions: ins,
    deletions: del,
    is_merge: typeof rec.is_merge === "boolean" ? rec.is_merge : parents.length > 1,
    parents,
    message: str("message", MAX_MESSAGE_CHARS),
  };
}

/** Line (record) number of record `i` of a batch: `firstLine` (default 1) + i. */
function lineOf(body: BatchBody, i: number): number {
  const first = typeof body.firstLine === "number" && Number.isInteger(body.firstLine) ? body.firstLine : 1;
  return first + i;
}

/** Options of the function. */
export interface IngestFunctionOptions extends Partial<Omit<GuardOptions, "name" | "verify" | "issuer">> {
  db: Db;
  auth: AuthConfig;
  /** Where webhook secrets and the deploy-tag pattern come from (default Deno.env.get). */
  env?: (name: string) => string | undefined;
  /** Most records per batch (default MAX_BATCH_RECORDS). */
  maxRecords?: number;
}

/** The function's handler, which also settles the debounced feature refresh of webhook deliveries. */
export type IngestFunction = HttpHandler & {
  /** Runs a pending webhook refresh now and waits for it (shutdown, tests). */
  settle(): Promise<void>;
  /** Feature refreshes run for webhook deliveries so far. */
  readonly refreshes: number;
};

/**
 * Builds the HTTP handler of the `ingest` function.
 *
 * @example
 * const handler = createIngestFunction({ db, auth });
 * await handler(new Request("http://x/functions/v1/ingest", { method: "POST", headers, body }));
 */
export function createIngestFunction(opts: IngestFunctionOptions): IngestFunction {
  const { db: connection, auth, env = (n: string) => Deno.env.get(n), maxRecords = MAX_BATCH_RECORDS, ...rest } = opts;
  // batches and webhooks write as service_role, never as the connection's own login user
  const db = asRole(connection, "service_role");
  const maxBodyBytes = rest.maxBodyBytes ?? MAX_BATCH_BYTES;
  const batches = guard(batchHandler(db, maxRecords), {
    name: "ingest",
    verify: createVerifier(auth),
    issuer: auth.issuer,
    ...rest,
    maxBodyBytes,
  });
  const delayMs = refreshDelayFrom(env(REFRESH_DELAY_ENV));
  const refresher = delayMs === 0
    ? null
    : new RefreshDebouncer(() => db.query("select * from analytics.refresh_features()").then(() => {}), delayMs);
  const handler = async (req: Request): Promise<Response> => {
    const sub = subPath(new URL(req.url).pathname);
    const hook = /^\/webhooks\/([a-z]+)\/?$/.exec(sub);
    if (hook) return await webhook(req, hook[1], { db, env, maxBodyBytes, refresher });
    return await batches(req);
  };
  return Object.defineProperties(handler, {
    settle: { value: () => refresher?.settle() ?? Promise.resolve() },
    refreshes: { get: () => refresher?.refreshes ?? 0 },
  }) as IngestFunction;
}

/** The path below the function: "/functions/v1/ingest/webhooks/github" → "/webhooks/github". */
function subPath(pathname: string): string {
  const m = /\/ingest(\/.*)?$/.exec(pathname);
  return m?.[1] ?? "";
}

function batchHandler(db: Db, maxRecords: number): FunctionHandler {
  return async (req, ctx) => {
    const sub = subPath(new URL(req.url).pathname);
    if (sub !== "" && sub !== "/") {
      throw new AppError(404, `Cannot find ${sub} in the ingest function: POST a batch to /functions/v1/ingest, webhooks to /functions/v1/ingest/webhooks/github or /webhooks/jira.`);
    }
    if (req.method !== "POST") throw new AppError(405, `Cannot ${req.method} the ingest function: POST a JSON batch { source, records }.`);
    if (ctx.caller.role !== "service_role") {
      throw new AppError(403, `Cannot ingest with a token of role "${ctx.caller.role}": ingesting needs role service_role (npm run -s token -- --role service_role).`);
    }
    // invalid UTF-8 stays visible to the record checks (storable.ts) instead of becoming U+FFFD
    const body = parseBatch(withoutBom(decodeUtf8(new Uint8Array(await req.arrayBuffer()))), maxRecords);
    const writer = BATCH_SOURCES[body.source];
    const report = await asAppError(`Cannot ingest the ${body.source} batch`, () =>
      runIngest(db, body.source as IngestSource, (r) => writer.write(db, body, r), { refresh: body.refresh !== false }));
    return Response.json(report.toJSON());
  };
}

/** Parses and checks the batch envelope (400 / 413 with a sentence). */
export function parseBatch(text: string, maxRecords: number = MAX_BATCH_RECORDS): BatchBody {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new AppError(400, "Cannot read the batch: the body is not JSON; send { source, records: [ … ] }.");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new AppError(400, "Cannot read the batch: the body must be a JSON object { source, records: [ … ] }.");
  }
  const b = body as Record<string, unknown>;
  if (!(BATCH_SOURCE_NAMES as readonly unknown[]).includes(b.source)) {
    throw new AppError(400, `Cannot read the batch: source ${JSON.stringify(b.source ?? null)} is not one of ${BATCH_SOURCE_NAMES.join(", ")}.`);
  }
  if (!Array.isArray(b.records)) throw new AppError(400, "Cannot read the batch: records must be an array.");
  if (b.records.length > maxRecords) {
    throw new AppError(413, `Cannot accept the batch: ${b.records.length.toLocaleString("en-US")} records is more than ${maxRecords.toLocaleString("en-US")} per batch; split it.`);
  }
  if (b.refresh !== undefined && typeof b.refresh !== "boolean") throw new AppError(400, "Cannot read the batch: refresh must be true or false.");
  return b as BatchBody;
}

/** Runs `fn`; a database error (bad value, constraint) becomes a 400 with its sentence. */
async function asAppError<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isAppError(e)) throw e;
    const state = sqlState(e);
    if (state && /^(22|23)/.test(state)) throw new AppError(400, `${what}: ${(e as Error).message}.`);
    throw e;
  }
}

/**
 * A Db whose every statement runs inside `tx` (nested transactions run inline), so source modules
 * that take a Db write inside the transaction that also claims the webhook delivery.
 */
function inTransaction(tx: Executor, engine: Db["engine"]): Db {
  return {
    engine,
    query: (sql, params) => tx.query(sql, params),
    exec: (script) => tx.exec(script),
    transaction: (fn) => fn(tx),
    dataVersion: () => readDataVersion(tx),
    close: () => Promise.resolve(),
  };
}

async function webhook(
  req: Request,
  name: string,
  opts: { db: Db; env: (name: string) => string | undefined; maxBodyBytes: number; refresher: RefreshDebouncer | null },
): Promise<Response> {
  try {
    if (!Object.hasOwn(WEBHOOKS, name)) {
      throw new AppError(404, `Cannot find webhook "${name}": webhooks are /functions/v1/ingest/webhooks/github and /webhooks/jira.`);
    }
    const spec = WEBHOOKS[name as WebhookProvider];
    if (req.method !== "POST") throw new AppError(405, `Cannot ${req.method} a webhook: deliveries are POSTed.`);
    const secret = opts.env(spec.secretEnv);
    if (!secret) {
      await req.body?.cancel().catch(() => {});
      throw new AppError(503, `Cannot accept ${spec.provider} webhooks: no secret is configured; set ${spec.secretEnv} on the server.`);
    }
    const raw = (await readBodyLimited(req, opts.maxBodyBytes)) ?? new Uint8Array(0);
    if (!await verifySignature(secret, raw, req.headers.get(spec.signatureHeader))) {
      throw new AppError(401, `Cannot accept the ${spec.provider} webhook: the ${spec.signatureHeader} signature is missing or does not match the body.`);
    }
    let payload: unknown;
    try {
      payload = JSON.parse(new TextDecoder().decode(raw));
    } catch {
      throw new AppError(400, `Cannot read the ${spec.provider} webhook: the body is not JSON.`);
    }
    const deliveryId = req.headers.get(spec.deliveryHeader)?.trim() || null;
    if (deliveryId !== null && deliveryId.length > 200) {
      throw new AppError(400, `Cannot read the ${spec.provider} webhook: the ${spec.deliveryHeader} header is longer than 200 characters.`);
    }
    const event = spec.provider === "github"
      ? req.headers.get(spec.eventHeader!) ?? null
      : typeof (payload as Record<string, unknown>)?.webhookEvent === "string"
      ? (payload as Record<string, string>).webhookEvent
      : null;
    const apply = spec.provider === "github"
      ? githubApply(event, opts.env("GITHUB_DEPLOY_TAG_PATTERN") || DEFAULT_DEPLOY_TAG_PATTERN)
      : jiraApply;
    const answer = await asAppError(`Cannot store the ${spec.provider} webhook`, () =>
      opts.db.transaction(async (tx) => {
        if (deliveryId !== null && !await claimDelivery(tx, spec.provider, deliveryId, event)) {
          return { duplicate: true, provider: spec.provider, delivery: deliveryId };
        }
        const tdb = inTransaction(tx, opts.db.engine);
        const refresh = opts.refresher
          ? { deferred: `feature tables refresh ${opts.refresher.delayMs} ms after the last delivery of a burst (${REFRESH_DELAY_ENV})` }
          : true;
        const report = await runIngest(tdb, "webhook", (r) => apply(tdb, payload, r), { refresh });
        if (deliveryId === null) report.notes.push(`no ${spec.deliveryHeader} header: this delivery cannot be de-duplicated`);
        return { duplicate: false, provider: spec.provider, event, ...report.toJSON() };
      }));
    if (answer.duplicate === false) opts.refresher?.schedule(); // after the commit: the refresh sees the delivery
    return Response.json(answer);
  } catch (e) {
    return errorResponse(e);
  }
}

type Apply = (db: Db, payload: unknown, report: IngestReport) => Promise<void>;

/** A GitHub event: `push` → commits (+ a deployment for a release tag); `ping` and others → noted, nothing stored. */
function githubApply(event: string | null, tagPattern: string): Apply {
  return async (db, payload, report) => {
    if (event !== "push") {
      report.notes.push(`event ${JSON.stringify(event)} ignored: only push events are ingested`);
      return;
    }
    let pattern: TagPattern;
    try {
      pattern = compileTagPattern(tagPattern);
    } catch {
      throw new AppError(500, 'Cannot read GITHUB_DEPLOY_TAG_PATTERN: use comma-separated globs such as "v[0-9]*,release-*" or "/regex/".');
    }
    const tag = pushedTag(payload);
    let deploy = false;
    try {
      deploy = tag !== null && (await pattern.match([tag]))[0];
    } catch (e) {
      if (e instanceof RegexUnavailableError) throw new AppError(503, `${e.message}.`);
      throw e;
    }
    if (pattern.timedOut.length) report.notes.push(`GITHUB_DEPLOY_TAG_PATTERN ran longer than its time limit on tag ${JSON.stringify(tag)}; not taken as a deployment`);
    let push;
    try {
      push = mapGithubPush(payload, { tagPattern: { test: (t) => t === tag && deploy }, report });
    } catch (e) {
      throw new AppError(400, (e as Error).message);
    }
    report.add("repositories", await upsertRows(db, "repositories", [{ repo: push.repo }]));
    // a push cannot change a commit (its sha is its content); keep the richer rows `aoma ingest git` wrote
    const shas = push.commits.map((c) => c.sha as string);
    const known = new Set(
      (await db.query<{ sha: string }>("select sha from aoma.git_commits where repo = $1 and sha = any($2::text[])", [push.repo, shas]))
        .map((r) => r.sha),
    );
    const fresh = push.commits.filter((c) => !known.has(c.sha as string));
    const counts = await upsertRows(db, "git_commits", fresh);
    report.add("git_commits", { ...counts, unchanged: counts.unchanged + (push.commits.length - fresh.length) });
    if (fresh.length) report.notes.push("push payloads carry no line counts: insertions and deletions of new commits are 0 until `aoma ingest git` reads the repository");
    if (push.deployment) report.add("deployments", await upsertRows(db, "deployments", [push.deployment]));
  };
}

/** A Jira event: created/updated → upsert, deleted → delete, then the failure sync (src/ingest/jira.ts). */
const jiraApply: Apply = async (db, payload, report) => {
  await applyJiraWebhook(db, payload, report);
};
