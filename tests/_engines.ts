/**
 * Registers one test body on both engines (not a test file itself): an in-memory PGlite database,
 * and — when AOMA_TEST_DB_URL names a server — a scratch database of its own on that server
 * (created, migrated, dropped afterwards), so server runs never disturb other tests' data.
 *
 * @example
 * testOnBothEngines("log ingest", "aoma_test_logs", async (t, db) => { … });
 */
import postgres from "postgres";
import { migrateAll } from "../src/db/migrate.ts";
import { openPglite } from "../src/db/pglite.ts";
import { openPostgres } from "../src/db/postgres.ts";
import type { Db } from "../src/db/types.ts";

/** The server URL the test runner passes (scripts/test.sh), or undefined. */
export const SERVER_URL = Deno.env.get("AOMA_TEST_DB_URL");

/** `url` with its database name replaced by `name`. */
export function withDatabase(url: string, name: string): string {
  return url.replace(/\/[^/?]+(\?|$)/, `/${name}$1`);
}

export function testOnBothEngines(
  name: string,
  scratchDatabase: string,
  body: (t: Deno.TestContext, db: Db) => Promise<void>,
): void {
  Deno.test({
    name: `${name} (PGlite)`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn(t) {
      const db = await openPglite();
      try {
        await migrateAll(db);
        await body(t, db);
      } finally {
        await db.close();
      }
    },
  });
  Deno.test({
    name: `${name} (server, scratch database ${scratchDatabase})`,
    ignore: !SERVER_URL,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: (t) => withScratchDatabase(scratchDatabase, (db) => body(t, db)),
  });
}

/**
 * A scratch database of its own on the test server (AOMA_TEST_DB_URL), created and migrated for
 * one test and dropped afterwards; `fn` gets it and its URL (for a subprocess that connects to it).
 *
 * @example
 * await withScratchDatabase("aoma_test_x", async (db, url) => { … });
 */
export async function withScratchDatabase(name: string, fn: (db: Db, url: string) => Promise<void>): Promise<void> {
  const admin = postgres(SERVER_URL!, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.unsafe(`create database ${name}`);
  const url = withDatabase(SERVER_URL!, name);
  const db = openPostgres(url, { max: 2 });
  try {
    await migrateAll(db);
    await fn(db, url);
  } finally {
    await db.close();
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}
