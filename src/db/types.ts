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
}

export interface Db extends Executor {
  /** Which engine answers: "pglite" (embedded, PostgreSQL 18) or "postgres" (a server). */
  readonly engine: "pglite" | "postgres";
  /** Runs fn in one transaction; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
