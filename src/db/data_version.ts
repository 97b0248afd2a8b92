/**
 * Reading the data version (supabase/migrations/20261202000300_data_version.sql): a counter that
 * every write to a raw table and every feature refresh bumps once per transaction. The answer
 * cache (src/mcp/answer_cache.ts) keys on it.
 */
import { sqlState } from "../errors.ts";
import type { Queryable } from "./types.ts";

/** The version of a database whose migrations have not created the counter yet. */
export const NO_DATA_VERSION = "0";

/** SQLSTATEs that mean "the counter does not exist (yet)": undefined table/function/schema. */
const MISSING = new Set(["42P01", "42883", "3F000"]);

/**
 * The current data version as text, or NO_DATA_VERSION before the migration that creates it.
 *
 * @example
 * const v = await readDataVersion(db); // "42"
 */
export async function readDataVersion(q: Queryable): Promise<string> {
  try {
    const [row] = await q.query<{ v: string }>(DATA_VERSION_SQL);
    return row?.v ?? NO_DATA_VERSION;
  } catch (e) {
    return versionOnError(e);
  }
}

/** The statement that reads the version (one row, column `v`). */
export const DATA_VERSION_SQL = "select version::text as v from analytics.data_version()";

/** NO_DATA_VERSION when `e` says the counter does not exist yet; else throws `e`. */
export function versionOnError(e: unknown): string {
  if (MISSING.has(sqlState(e) ?? "")) return NO_DATA_VERSION;
  throw e;
}

/** Rejects with `signal.reason` when `signal` is already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason;
}
