/**
 * A scratch database of its own on the test server (AOMA_TEST_DB_URL), created and migrated for
 * one test and dropped afterwards, for ingest tests that need its URL (a subprocess connects to it).
 * Not a test file itself.
 *
 * @example
 * await withScratchDatabase("aoma_test_x", async (db, url) => { … });
 */
import postgres from "postgres";
import { migrateAll } from "../../src/db/migrate.ts";
import { openPostgres } from "../../src/db/postgres.ts";
import type { Db } from "../../src/db/types.ts";
import { SERVER_URL, withDatabase } from "../_engines.ts";

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
