import postgres from "postgres";
import { DATA_VERSION_SQL, NO_DATA_VERSION, throwIfAborted, versionOnError } from "./data_version.ts";
import type { Db, Executor, TransactionOptions } from "./types.ts";

type Sql = postgres.Sql | postgres.TransactionSql;

/** The data version in one round trip, read as `authenticated` (see dataVersion below). */
const VERSION_SCRIPT = `begin; set local role authenticated; ${DATA_VERSION_SQL}; commit`;
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
    types: {
      // postgres.js (3.4.9) hands a NULL element of an int/float array to the element parser as the
      // text "NULL" and answers NaN; a NULL element is null, as PGlite has it (scalars never get here)
      number: { to: 0, from: [21, 23, 26, 700, 701], serialize: (x: number) => String(x), parse: (x: string) => (x === "NULL" ? null : +x) },
    },
  };
  const sql = postgres(url, { max: opts.max ?? 5, ...options });
  let control: postgres.Sql | undefined;
  let versionRead: Promise<string> | null = null;
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
      // every call asks; callers that arrive while a read is under way share it (they are concurrent
      // with any commit it might miss), so one connection serves any number of callers
      versionRead ??= (async () => {
        control ??= postgres(url, { max: 1, idle_timeout: 60, ...options });
        try {
          // one round trip, as the role every tool call reads as (the login, authenticator, may not)
          const results = await control.unsafe(VERSION_SCRIPT).simple() as unknown as { v?: string }[][];
          return results.flat().find((r) => r?.v !== undefined)?.v ?? NO_DATA_VERSION;
        } catch (e) {
          await control.unsafe("rollback").catch(() => {});
          return versionOnError(e);
        }
      })().finally(() => (versionRead = null));
      return versionRead;
    },
    close: async () => {
      await Promise.all([sql.end({ timeout: 5 }), control?.end({ timeout: 5 })]);
    },
  };
}
