/**
 * Idempotent upserts on natural keys, in batches, for every ingest. One statement per batch:
 * rows travel as one JSON parameter, `jsonb_populate_recordset` types them by the table, and
 * `on conflict (<natural key>) do update … where <row> is distinct from excluded` touches a row
 * only when something changed — so a second run of the same input reports 0 inserted, 0 updated.
 *
 * Table and column names come from a fixed list of tables and from information_schema, never from
 * input. Callers run each batch inside their own transaction (with the cursor it advances).
 *
 * @example
 * const counts = await upsertRows(tx, "jira_issues", rows);  // { inserted, updated, unchanged }
 */
import type { Queryable } from "../db/types.ts";
import type { TableCounts } from "./report.ts";

/** Natural key of every table an ingest may write (schema aoma). */
export const NATURAL_KEYS = {
  repositories: ["repo"],
  jira_issues: ["issue_key"],
  git_commits: ["repo", "sha"],
  deployments: ["deployment_id"],
  message_templates: ["template_id"],
  log_events: ["source", "event_key"],
  aoma_system_metrics: ["source", "timestamp"],
  processing_attempts: ["attempt_id"],
  incidents: ["incident_key"],
} as const;

export type IngestTable = keyof typeof NATURAL_KEYS;

const IDENT = /^[a-z_][a-z0-9_]*$/;
const quote = (name: string) => {
  if (!IDENT.test(name)) throw new Error(`Cannot use column name ${JSON.stringify(name)}: not a plain identifier`);
  return `"${name}"`;
};

const columnCache = new WeakMap<Queryable, Map<string, Set<string>>>();

async function tableColumns(db: Queryable, table: IngestTable): Promise<Set<string>> {
  let perDb = columnCache.get(db);
  if (!perDb) columnCache.set(db, perDb = new Map());
  let cols = perDb.get(table);
  if (!cols) {
    const rows = await db.query<{ column_name: string }>(
      "select column_name from information_schema.columns where table_schema = 'aoma' and table_name = $1",
      [table],
    );
    cols = new Set(rows.map((r) => r.column_name));
    perDb.set(table, cols);
  }
  return cols;
}

/**
 * Upserts `rows` (objects keyed by column name; every row the same keys) into aoma.<table>.
 * Rows with the same natural key inside one call collapse to the last one. Columns not named by
 * the rows keep their stored values on update. Returns the counts of this call.
 */
export async function upsertRows(
  db: Queryable,
  table: IngestTable,
  rows: Record<string, unknown>[],
): Promise<TableCounts> {
  if (rows.length === 0) return { inserted: 0, updated: 0, unchanged: 0 };
  if (!(table in NATURAL_KEYS)) throw new Error(`Cannot upsert into ${table}: not an ingest table`);
  const key = NATURAL_KEYS[table] as readonly string[];
  const known = await tableColumns(db, table);
  const columns = Object.keys(rows[0]);
  for (const c of columns) {
    if (!known.has(c)) throw new Error(`Cannot upsert into aoma.${table}: no column ${JSON.stringify(c)}`);
  }
  for (const k of key) {
    if (!columns.includes(k)) throw new Error(`Cannot upsert into aoma.${table}: rows lack the key column ${k}`);
  }
  // last row wins per natural key (ON CONFLICT cannot touch one row twice in a statement)
  const byKey = new Map<string, Record<string, unknown>>();
  for (const r of rows) byKey.set(JSON.stringify(key.map((k) => r[k])), r);
  const unique = [...byKey.values()];

  const cols = columns.map(quote).join(", ");
  const rest = columns.filter((c) => !key.includes(c));
  const conflict = rest.length
    ? `do update set ${rest.map((c) => `${quote(c)} = excluded.${quote(c)}`).join(", ")}
       where (${rest.map((c) => `t.${quote(c)}`).join(", ")}, null) is distinct from
             (${rest.map((c) => `excluded.${quote(c)}`).join(", ")}, null)`
    : "do nothing";
  const sql = `
    with input as (select ${cols} from jsonb_populate_recordset(null::aoma.${quote(table)}, $1::text::jsonb)),
    done as (
      insert into aoma.${quote(table)} as t (${cols}) select ${cols} from input
      on conflict (${key.map(quote).join(", ")}) ${conflict}
      returning (xmax = 0) as inserted
    )
    select count(*) filter (where inserted)::int as inserted, count(*) filter (where not inserted)::int as updated
    from done`;
  const [r] = await db.query<{ inserted: number; updated: number }>(sql, [JSON.stringify(unique)]);
  return { inserted: r.inserted, updated: r.updated, unchanged: rows.length - r.inserted - r.updated };
}
