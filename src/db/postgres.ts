import postgres from "postgres";
import { readDataVersion, throwIfAborted } from "./data_version.ts";
import type { Db, Executor, TransactionOptions } from "./types.ts";

type Sql = postgres.Sql | postgres.TransactionSql;
type Pending = { cancel(): void };

/** An executor over `s`; `track` learns each query while it runs (to cancel it). */
function executor(s: Sql, track?: (q: Pending | null) => void, signal?: AbortSignal): Executor {
  const inTransaction = "savepoint" in s;
  return {
    ...(inTransaction
      ? {
        savepoint: <T>(fn: (tx: Executor) => Promise<T>) =>
          (s as postgres.TransactionSql).savepoint((sp) => fn(executor(sp, track, signal))) as Promise<T>,
      }
      : {}),
    async query<T>(text: string, params?: unknown[]) {
      throwIfAborted(signal);
      const q = s.unsafe(text, (params ?? []) as postgres.ParameterOrJSON<never>[]);
      track?.(q);
      try {
        // a plain array, as PGlite returns (postgres.js answers with an Array subclass carrying metadata)
        return Array.from(await q) as unknown as T[];
      } finally {
        track?.(null);
      }
    },
    async exec(script: string) {
      throwIfAborted(signal);
      const q = s.unsafe(script).simple();
      track?.(q);
      try {
        await q;
      } finally {
        track?.(null);
      }
    },
  };
}

/**
 * Opens a pool to a PostgreSQL server (local cluster or Supabase) at `url`. The data version is
 * read on a connection of its own, so it is answered while the pool is busy with analyses.
 */
export function openPostgres(url: string, opts: { max?: number } = {}): Db {
  const options = {
    onnotice: () => {},
    // numeric and bigint come back as text from postgres.js; analyses cast to int/float8 in SQL.
    connection: { application_name: "aoma-mesh-analytics" },
  };
  const sql = postgres(url, { max: opts.max ?? 5, ...options });
  let control: postgres.Sql | undefined;
  const direct = executor(sql);
  return {
    engine: "postgres",
    query: direct.query,
    exec: direct.exec,
    transaction: async <T>(fn: (tx: Executor) => Promise<T>, txOpts: TransactionOptions = {}) => {
      const { signal } = txOpts;
      throwIfAborted(signal);
      let running: Pending | null = null;
      // cancelling the running query ends it with 57014; the transaction then rolls back
      const cancel = () => running?.cancel();
      signal?.addEventListener("abort", cancel, { once: true });
      try {
        return await (sql.begin((tx) => {
          throwIfAborted(signal);
          return fn(executor(tx, (q) => (running = q), signal));
        }) as Promise<T>);
      } catch (e) {
        throw signal?.aborted ? signal.reason : e;
      } finally {
        signal?.removeEventListener("abort", cancel);
      }
    },
    dataVersion: () => {
      control ??= postgres(url, { max: 1, idle_timeout: 60, ...options });
      // as the role every tool call reads as: the login (authenticator) may not read it itself
      return control.begin(async (tx) => {
        await tx.unsafe("select set_config('role', 'authenticated', true)");
        return await readDataVersion(executor(tx));
      }) as Promise<string>;
    },
    close: async () => {
      await Promise.all([sql.end({ timeout: 5 }), control?.end({ timeout: 5 })]);
    },
  };
}
