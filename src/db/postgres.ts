import postgres from "postgres";
import type { Db, Executor } from "./types.ts";

/** Opens a pool to a PostgreSQL server (local cluster or Supabase) at `url`. */
export function openPostgres(url: string, opts: { max?: number } = {}): Db {
  const sql = postgres(url, {
    max: opts.max ?? 5,
    onnotice: () => {},
    // numeric and bigint come back as text from postgres.js; analyses cast to int/float8 in SQL.
    connection: { application_name: "aoma-mesh-analytics" },
  });
  const wrap = (s: postgres.Sql | postgres.TransactionSql): Executor => ({
    async query<T>(text: string, params?: unknown[]) {
      const rows = await s.unsafe(text, (params ?? []) as postgres.ParameterOrJSON<never>[]);
      // a plain array, as PGlite returns (postgres.js answers with an Array subclass carrying metadata)
      return Array.from(rows) as unknown as T[];
    },
    async exec(script: string) {
      await s.unsafe(script).simple();
    },
  });
  const direct = wrap(sql);
  return {
    engine: "postgres",
    query: direct.query,
    exec: direct.exec,
    transaction: <T>(fn: (tx: Executor) => Promise<T>) =>
      sql.begin((tx) => fn(wrap(tx))) as Promise<T>,
    close: () => sql.end({ timeout: 5 }),
  };
}
