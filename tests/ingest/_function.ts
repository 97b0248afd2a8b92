/**
 * The `ingest` function as the gateway mounts it (/functions/v1/ingest), served over real HTTP on an
 * ephemeral port with an in-memory PGlite database, and a POST helper. Not a test file itself.
 *
 * @example
 * await withServer(async (srv, db, token) => {
 *   const r = await post(srv, { source: "logs", logSource: "app", records: [] }, token);
 * });
 */
import { migrateAll } from "../../src/db/migrate.ts";
import { openPglite } from "../../src/db/pglite.ts";
import type { Db } from "../../src/db/types.ts";
import { type RunningServer, startServer } from "../../src/server/gateway.ts";
import { testAuth } from "../mcp_fixture.ts";

/** Runs `fn` with a started gateway, its database and a service-role token; stops both after. */
export async function withServer(fn: (srv: RunningServer, db: Db, service: string) => Promise<void>): Promise<void> {
  const db = await openPglite();
  await migrateAll(db);
  const srv = await startServer({ db, auth: testAuth(), port: 0 });
  try {
    await fn(srv, db, await srv.token({ role: "service_role" }));
  } finally {
    await srv.close();
    await db.close();
  }
}

/** POSTs `body` (an object sent as JSON, a string, or raw bytes) to the ingest function. */
export async function post(
  srv: RunningServer,
  body: unknown,
  token?: string,
): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const res = await fetch(`${srv.baseUrl}/functions/v1/ingest`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === "string" || body instanceof Uint8Array ? body as BodyInit : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, json: await res.json() };
}
