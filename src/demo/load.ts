/**
 * Loads the deterministic demo quarter (src/demo/generate.ts) into the aoma source tables.
 *
 * One transaction: check that the database is empty or already holds the demo (never ingested
 * data: see {@link databaseContent}), delete every row of the nine demo tables, insert the generated
 * rows in batches through `jsonb_populate_recordset`, mark the database as the demo's
 * (aoma_private.demo_load), commit. Then, when the analytics library defines
 * `analytics.refresh_features()`, call it so the feature views see the new rows.
 * `aoma.predictive_models` and `aoma.failure_predictions` are never touched.
 *
 * CLI (uses the configured database, see src/db/open.ts):
 *   deno run -A src/demo/load.ts [--variant planted|null] [--seed 1]
 *
 * @example
 * const db = await openPglite();
 * await migrateAll(db);
 * const r = await loadDemo(db, { variant: "planted", seed: 1 });
 * r.counts.incidents; // ≈ 360
 */
import type { Db, Executor, Queryable } from "../db/types.ts";
import { AppError } from "../errors.ts";
import { DEMO_TABLE_NAMES, DEMO_TRUTH, type DemoOptions, type DemoSummary, type DemoTables, generateDemo } from "./generate.ts";

/** Rows per insert statement: large enough to be fast on PGlite, small enough to keep parameters modest. */
export const DEMO_BATCH_ROWS = 5000;

/** The result of {@link loadDemo}. */
export interface DemoLoadResult {
  variant: "planted" | "null";
  seed: number;
  /** Rows inserted per table (aoma.<table>). */
  counts: Record<keyof DemoTables, number>;
  /** True when analytics.refresh_features() existed and was called. */
  refreshedFeatures: boolean;
  /** Milliseconds spent generating, in the load transaction, and refreshing features. */
  generateMs: number;
  loadMs: number;
  refreshMs: number;
  /** generate + load + refresh. */
  elapsedMs: number;
  summary: DemoSummary;
}

/**
 * Inserts `rows` into aoma.<table> in batches of {@link DEMO_BATCH_ROWS}, each one
 * `insert … select * from jsonb_populate_recordset(null::aoma.<table>, $1::text::jsonb)`. Every row
 * must carry every column (a missing key would become NULL, not the column default).
 * `table` must be one of the demo tables (it is checked, never taken from a caller verbatim).
 */
export async function insertDemoRows(
  tx: Queryable,
  table: keyof DemoTables,
  rows: readonly unknown[],
): Promise<number> {
  if (!DEMO_TABLE_NAMES.includes(table)) {
    throw new Error(
      `Cannot insert demo rows: "${table}" is not a demo table; use one of ${DEMO_TABLE_NAMES.join(", ")}`,
    );
  }
  // $1 is typed text, then cast: postgres.js would JSON-encode a string bound to a jsonb parameter a second time.
  const sql = `insert into aoma.${table} select * from jsonb_populate_recordset(null::aoma.${table}, $1::text::jsonb)`;
  for (let i = 0; i < rows.length; i += DEMO_BATCH_ROWS) {
    await tx.query(sql, [JSON.stringify(rows.slice(i, i + DEMO_BATCH_ROWS))]);
  }
  return rows.length;
}

/** Deletes every row of the demo tables, children before parents. */
export async function clearDemoTables(tx: Queryable): Promise<void> {
  for (const table of [...DEMO_TABLE_NAMES].reverse()) await tx.query(`delete from aoma.${table}`);
}

/** What the source tables hold (aoma_private.database_content()). */
export interface DatabaseContent {
  /** empty: no row in any source table; demo: the demo quarter only; ingested: anything else. */
  state: "empty" | "demo" | "ingested";
  /** The source tables (aoma.<name>) that hold rows. */
  tablesWithRows: string[];
  demo: { variant: string | null; seed: number | null; loadedAt: string | null } | null;
}

/** What the nine source tables hold: empty, the demo quarter only, or ingested data. */
export async function databaseContent(db: Queryable): Promise<DatabaseContent> {
  const [r] = await db.query<{
    state: DatabaseContent["state"];
    tables_with_rows: string[];
    demo_variant: string | null;
    demo_seed: number | null;
    demo_loaded_at: string | null;
  }>("select state, tables_with_rows, demo_variant, demo_seed, demo_loaded_at::text from aoma_private.database_content()");
  return {
    state: r.state,
    tablesWithRows: r.tables_with_rows,
    demo: r.state === "demo" ? { variant: r.demo_variant, seed: r.demo_seed, loadedAt: r.demo_loaded_at } : null,
  };
}

/** The sentence that refuses the demo on a database holding ingested data, with how to start one of its own. */
export function demoRefusal(content: DatabaseContent): string {
  return `Cannot load the demo quarter: this database holds ingested data (rows in ${
    content.tablesWithRows.map((t) => `aoma.${t}`).join(", ")
  }), and the demo never shares a database with real data, so nothing was changed. Run the demo in a database of its own: ` +
    "`AOMA_PGLITE_DIR=.data/demo npm start -- --demo planted` (embedded), or set AOMA_DB_URL to an empty database.";
}

// Serialises demo loads and the removal of a demo by an ingest (a lock that conflicts with itself).
const DEMO_LOCK = "select aoma_private.lock_demo_marker()";

/**
 * Replaces the contents of the nine aoma source tables with the demo quarter for
 * `opts.variant` ("planted" by default) and `opts.seed` (1 by default), in one transaction, then
 * refreshes the features when analytics.refresh_features() exists. Idempotent: loading the same
 * options twice leaves the same rows. Refuses (AppError 409, nothing changed) a database that holds
 * ingested data. Throws (and leaves the tables unchanged) when any row violates a constraint.
 */
export async function loadDemo(db: Db, opts: DemoOptions = {}): Promise<DemoLoadResult> {
  const t0 = performance.now();
  const { tables, summary } = generateDemo(opts);
  const t1 = performance.now();
  const counts = {} as Record<keyof DemoTables, number>;
  await db.transaction(async (tx: Executor) => {
    await tx.query(DEMO_LOCK);
    const content = await databaseContent(tx);
    if (content.state === "ingested") throw new AppError(409, demoRefusal(content));
    await clearDemoTables(tx);
    for (const table of DEMO_TABLE_NAMES) counts[table] = await insertDemoRows(tx, table, tables[table]);
    await tx.query("select aoma_private.set_demo_marker($1, $2)", [summary.variant, summary.seed]);
    // the team knows its migration date: root-cause analysis cuts the upload cohort at it
    await tx.query(
      `insert into analytics.known_dates (day, label, description)
       values ($1::date, 'cloud migration', 'The demo quarter''s cloud-migration date (src/demo/truth.json)')
       on conflict do nothing`,
      [DEMO_TRUTH.processing.migration_date],
    );
  });
  const t2 = performance.now();
  const [{ present }] = await db.query<{ present: boolean }>(
    "select to_regprocedure('analytics.refresh_features()') is not null as present",
  );
  if (present) await db.query("select analytics.refresh_features()");
  const t3 = performance.now();
  return {
    variant: summary.variant,
    seed: summary.seed,
    counts,
    refreshedFeatures: present,
    generateMs: Math.round(t1 - t0),
    loadMs: Math.round(t2 - t1),
    refreshMs: Math.round(t3 - t2),
    elapsedMs: Math.round(t3 - t0),
    summary,
  };
}

/**
 * Removes the demo quarter when `tx`'s database holds it (and nothing else), before an ingest
 * stores real rows there: the demo never shares a database with real data. Returns the sentence for
 * the ingest report, or null when there was no demo. Call inside the transaction that goes on to
 * write (or its own): the removal commits with it.
 */
export async function removeDemoBeforeIngest(tx: Queryable): Promise<string | null> {
  await tx.query(DEMO_LOCK);
  const content = await databaseContent(tx);
  if (content.state !== "demo") return null;
  await clearDemoTables(tx);
  await tx.query(`delete from analytics.known_dates where description = 'The demo quarter''s cloud-migration date (src/demo/truth.json)'`);
  await tx.query("select aoma_private.set_demo_marker(null, null)");
  const which = content.demo?.variant ? ` (${content.demo.variant}, seed ${content.demo.seed})` : "";
  return `removed the demo quarter${which} from this database before storing real data: demo and real data never share a database`;
}

if (import.meta.main) {
  const { openDb } = await import("../db/open.ts");
  const { migrateAll } = await import("../db/migrate.ts");
  const arg = (name: string) => {
    const i = Deno.args.indexOf(`--${name}`);
    return i >= 0 ? Deno.args[i + 1] : undefined;
  };
  const variant = arg("variant") ?? "planted";
  if (variant !== "planted" && variant !== "null") {
    console.error(`Cannot load the demo: --variant "${variant}" is unknown; use planted or null`);
    Deno.exit(2);
  }
  const seed = Number(arg("seed") ?? "1");
  const db = await openDb();
  try {
    if (db.engine === "pglite") await migrateAll(db);
    const r = await loadDemo(db, { variant, seed });
    console.log(JSON.stringify(r, null, 2));
  } finally {
    await db.close();
  }
}
