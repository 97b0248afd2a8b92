/**
 * Writing Jira rows: transactional upsert batches into aoma.jira_issues (each batch with the
 * incremental cursor it advances), the failure sync (aoma_private.sync_jira_incidents, which turns
 * tickets matching aoma.jira_failure_rules into aoma.incidents), and the webhook apply step.
 * The readers are in jira_api.ts (REST) and jira_csv.ts (CSV export); the mapping in jira_map.ts.
 *
 * @example
 * const report = new IngestReport("jira");
 * await writeJiraIssues(db, rows, report);          // upserts + sync
 * await applyJiraWebhook(db, payload, report);      // one webhook delivery
 */
import type { Db, Queryable } from "../db/types.ts";
import { writeBatch } from "./batch.ts";
import type { IngestReport, Progress } from "./report.ts";
import { SILENT } from "./report.ts";
import { upsertRows } from "./upsert.ts";
import { type JiraIssueRow, type JiraWebhookAction, mapJiraWebhook } from "./jira_map.ts";

export type { JiraIssueRow } from "./jira_map.ts";

/** Rows per transaction unless told otherwise. */
export const JIRA_BATCH_ROWS = 500;

/** An incremental cursor written in the same transaction as the rows it covers. */
export interface IngestCursor {
  scope: string;
  state: Record<string, unknown>;
}

/** Options of {@link writeJiraIssues}. */
export interface WriteJiraOptions {
  /** Rows per transaction (default 500). */
  batchSize?: number;
  /** Line (record number) of each row, for rows the database refuses (default: 1-based position). */
  lines?: readonly number[];
  /** Cursor to store with the last batch (aoma.ingest_state, source 'jira'). */
  cursor?: IngestCursor;
  /** Run the failure sync afterwards (default true). */
  sync?: boolean;
  progress?: Progress;
}

/** Stores `cursor` under source 'jira' (inside the caller's transaction). */
export async function saveJiraCursor(tx: Queryable, cursor: IngestCursor): Promise<void> {
  await tx.query(
    `insert into aoma.ingest_state (source, scope, state) values ('jira', $1, $2::text::jsonb)
     on conflict (source, scope) do update set state = excluded.state, updated_at = now()
     where aoma.ingest_state.state is distinct from excluded.state`,
    [cursor.scope, JSON.stringify(cursor.state)],
  );
}

/** Reads the cursor stored for `scope`, or null. */
export async function loadJiraCursor(db: Queryable, scope: string): Promise<Record<string, unknown> | null> {
  const rows = await db.query<{ state: unknown }>(
    "select state::text as state from aoma.ingest_state where source = 'jira' and scope = $1",
    [scope],
  );
  return rows.length ? JSON.parse(rows[0].state as string) : null;
}

/**
 * Upserts `rows` into aoma.jira_issues in transactional batches (the cursor, when given, goes
 * into the last batch's transaction; a row the database refuses is rejected on its own, batch.ts),
 * adds the counts to `report`, then runs the failure sync.
 *
 * @example
 * await writeJiraIssues(db, [row], report, { batchSize: 1000 });
 */
export async function writeJiraIssues(
  db: Db,
  rows: readonly JiraIssueRow[],
  report: IngestReport,
  opts: WriteJiraOptions = {},
): Promise<void> {
  const size = Math.max(1, opts.batchSize ?? JIRA_BATCH_ROWS);
  const progress = opts.progress ?? SILENT;
  // at least one transaction when there is a cursor to store, even with no rows
  const batches = Math.max(Math.ceil(rows.length / size), opts.cursor ? 1 : 0);
  const lines = opts.lines ?? rows.map((_, i) => i + 1);
  for (let b = 0; b < batches; b++) {
    const batch = rows.slice(b * size, (b + 1) * size) as unknown as Record<string, unknown>[];
    const cursor = b === batches - 1 ? opts.cursor : undefined;
    await writeBatch(db, batch, { report, lines: lines.slice(b * size, (b + 1) * size) }, async (tx, chunk, counts, last) => {
      counts.add("jira_issues", await upsertRows(tx, "jira_issues", chunk));
      if (last && cursor) await saveJiraCursor(tx, cursor);
    });
    progress.advance(batch.length);
  }
  if (opts.sync !== false) await syncJiraIncidents(db, report);
}

/** Counts returned by the failure sync. */
export interface JiraSyncCounts {
  inserted: number;
  updated: number;
  deleted: number;
  unchanged: number;
}

/**
 * Runs aoma_private.sync_jira_incidents(): every ticket matching a rule of aoma.jira_failure_rules
 * becomes (or stays) an incident with source 'jira'; jira incidents whose ticket no longer matches
 * go. Adds the counts to `report` as table "incidents" (deletions as a note).
 */
export async function syncJiraIncidents(db: Queryable, report?: IngestReport): Promise<JiraSyncCounts> {
  const [c] = await db.query<JiraSyncCounts>(
    "select inserted, updated, deleted, unchanged from aoma_private.sync_jira_incidents()",
  );
  const counts = { inserted: +c.inserted, updated: +c.updated, deleted: +c.deleted, unchanged: +c.unchanged };
  if (report) {
    report.add("incidents", { inserted: counts.inserted, updated: counts.updated, unchanged: counts.unchanged });
    if (counts.deleted > 0) {
      report.notes.push(`incidents: ${counts.deleted} deleted (their tickets no longer match a failure rule)`);
    }
  }
  return counts;
}

/**
 * Applies one Jira webhook payload (already verified and de-duplicated by the caller):
 * issue created/updated → upsert, deleted → delete the ticket; then the failure sync. A payload
 * that cannot be mapped is counted as a rejection (record 1) and changes nothing. Returns what the
 * payload asked for.
 *
 * @example
 * await applyJiraWebhook(db, { webhookEvent: "jira:issue_deleted", issue: { key: "AOMA-9" } }, report);
 */
export async function applyJiraWebhook(
  db: Db,
  payload: unknown,
  report: IngestReport,
): Promise<JiraWebhookAction> {
  const action = mapJiraWebhook(payload);
  report.read += 1;
  switch (action.action) {
    case "upsert":
      await writeJiraIssues(db, [action.row], report);
      break;
    case "delete": {
      const deleted = await db.query<{ issue_key: string }>(
        "delete from aoma.jira_issues where issue_key = $1 returning issue_key",
        [action.key],
      );
      report.notes.push(`jira_issues: ${deleted.length} deleted (${action.key})`);
      await syncJiraIncidents(db, report);
      break;
    }
    case "reject":
      report.reject(1, action.reason);
      break;
    case "ignore":
      report.notes.push(action.reason);
      break;
  }
  return action;
}
