import { PGlite } from "@electric-sql/pglite";
import type { Db, Executor } from "./types.ts";

/**
 * Opens (or creates) an embedded PGlite database kept in `dataDir`, or in memory when
 * dataDir is undefined.
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
  const wrap = (q: Pick<PGlite, "query" | "exec">): Executor => ({
    async query<T>(sql: string, params?: unknown[]) {
      const res = await q.query<T>(sql, params as unknown[] | undefined);
      return res.rows;
    },
    async exec(script: string) {
      await q.exec(script);
    },
  });
  const direct = wrap(pg);
  return {
    engine: "pglite",
    query: (sql, params) => serial(() => direct.query(sql, params)),
    exec: (script) => serial(() => direct.exec(script)),
    transaction: (fn) => serial(() => pg.transaction((tx) => fn(wrap(tx as unknown as Pick<PGlite, "query" | "exec">)))),
    close: () => serial(() => pg.close()),
  };
}
