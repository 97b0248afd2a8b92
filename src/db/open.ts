import { openPglite } from "./pglite.ts";
import { openPgliteProcess } from "./pglite_host.ts";
import { openPostgres } from "./postgres.ts";
import type { Db } from "./types.ts";

/** Where the embedded database lives unless AOMA_PGLITE_DIR says otherwise. */
export const DEFAULT_PGLITE_DIR = ".data/pglite";

/**
 * The database URL from the environment: AOMA_DB_URL, then SUPABASE_DB_URL, then DATABASE_URL.
 * Undefined means: use the embedded PGlite database.
 */
export function databaseUrlFromEnv(): string | undefined {
  for (const name of ["AOMA_DB_URL", "SUPABASE_DB_URL", "DATABASE_URL"]) {
    const v = Deno.env.get(name);
    if (v) return v;
  }
  return undefined;
}

/**
 * Opens the configured database: a server when a URL is given, else PGlite in `pgliteDir`.
 * `ownProcess: true` (the server) runs PGlite in a process of its own (src/db/pglite_host.ts) so that a
 * long analysis never blocks the calling thread and can be stopped; it needs a data directory.
 */
export async function openDb(
  opts: { url?: string; pgliteDir?: string | null; ownProcess?: boolean } = {},
): Promise<Db> {
  const url = opts.url ?? databaseUrlFromEnv();
  if (url) return openPostgres(url);
  const dir = opts.pgliteDir === null
    ? undefined
    : (opts.pgliteDir ?? Deno.env.get("AOMA_PGLITE_DIR") ?? DEFAULT_PGLITE_DIR);
  if (dir) await Deno.mkdir(dir, { recursive: true });
  return opts.ownProcess && dir ? await openPgliteProcess(dir) : await openPglite(dir);
}
