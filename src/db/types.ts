/**
 * The narrow database interface every module talks to. Two adapters implement it:
 * PGlite (embedded, src/db/pglite.ts) and postgres.js over a URL (src/db/postgres.ts).
 *
 * @example
 * const rows = await db.query<{ n: number }>("select count(*)::int as n from aoma.incidents");
 */
export interface Queryable {
  /** Runs one statement with bound parameters ($1, $2, …) and returns its rows. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

/** A connection inside a transaction, or the database itself. */
export interface Executor extends Queryable {
  /** Runs a script of several statements without parameters (migrations, sql/ modules). */
  exec(script: string): Promise<void>;
  /**
   * The adapter's own savepoint, where plain SAVEPOINT statements do not do (postgres.js fails
   * the whole transaction on any failed statement unless its savepoint API ran it). Use
   * withSavepoint (src/db/savepoint.ts), which falls back to the statements.
   */
  savepoint?<T>(fn: (tx: Executor) => Promise<T>): Promise<T>;
}

/** How a transaction may be run. */
export interface TransactionOptions {
  /**
   * The work only reads (the caller also says `set transaction read only`). An adapter may stop a
   * read-only transaction by force when `signal` aborts (PGlite in its own process: by killing the process);
   * writes are never stopped from outside once they began.
   */
  readOnly?: boolean;
  /**
   * Aborting it cancels the work: a transaction still waiting for the database never starts; a
   * running one is cancelled (server: the backend's query is cancelled; PGlite in its own process: see
   * readOnly). The promise then rejects with `signal.reason`.
   */
  signal?: AbortSignal;
}

export interface Db extends Executor {
  /** Which engine answers: "pglite" (embedded, PostgreSQL 18) or "postgres" (a server). */
  readonly engine: "pglite" | "postgres";
  /** Runs fn in one transaction; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Executor) => Promise<T>, opts?: TransactionOptions): Promise<T>;
  /**
   * The data version (analytics.data_version()): it changes whenever a raw table is written or the
   * feature views are refreshed. Answered without waiting behind running analyses where the
   * adapter can (a process-hosted PGlite keeps it in memory; a server pool reads it on its own
   * connection). "0" before the migrations ran.
   */
  dataVersion(): Promise<string>;
  close(): Promise<void>;
}
