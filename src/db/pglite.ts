import { PGlite } from "@electric-sql/pglite";
import { readDataVersion, throwIfAborted } from "./data_version.ts";
import type { Db, Executor, TransactionOptions } from "./types.ts";

/** The executor shape of a PGlite instance or of one of its transactions. */
export function pgliteExecutor(q: Pick<PGlite, "query" | "exec">): Executor {
  return {
    async query<T>(sql: string, params?: unknown[]) {
      const res = await q.query<T>(sql, params as unknown[] | undefined);
      return res.rows;
    },
    async exec(script: string) {
      await q.exec(script);
    },
  };
}

/**
 * Opens (or creates) an embedded PGlite database kept in `dataDir`, or in memory when
 * dataDir is undefined, on the calling thread. Tests, the CLI and the demo loader use this; the
 * server runs PGlite in a process of its own instead (src/db/pglite_host.ts), so a long analysis cannot block
 * its HTTP thread. A transaction's `signal` is honoured while it waits, not once it runs.
 */
export async function openPglite(dataDir?: string): Promise<Db> {
  const pg = dataDir ? new PGlite(dataDir) : new PGlite();
  await pg.waitReady;
  // PGlite runs one statement at a time; serialise callers so a transaction is never interleaved.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => undefined);
    return next;
  };
  const direct = pgliteExecutor(pg);
  return {
    engine: "pglite",
    query: (sql, params) => serial(() => direct.query(sql, params)),
    exec: (script) => serial(() => direct.exec(script)),
    transaction: <T>(fn: (tx: Executor) => Promise<T>, opts: TransactionOptions = {}) =>
      serial(() => {
        throwIfAborted(opts.signal);
        return pg.transaction((tx) => fn(pgliteExecutor(tx as unknown as Pick<PGlite, "query" | "exec">)));
      }),
    dataVersion: () => serial(() => readDataVersion(direct)),
    close: () => serial(() => pg.close()),
  };
}
