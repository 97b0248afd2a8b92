/**
 * Shared set-up of the MCP/auth/tool tests (not a test file itself): an in-memory PGlite database
 * with the migrations, the analytics library and (optionally) a demo quarter; a random auth config;
 * an SDK client connected over Streamable HTTP with a bearer token; row counts of every aoma table.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { AuthConfig } from "../src/auth/config.ts";
import { migrateAll } from "../src/db/migrate.ts";
import { openPglite } from "../src/db/pglite.ts";
import type { Db, Queryable } from "../src/db/types.ts";
import { loadDemo } from "../src/demo/load.ts";

/** A fresh in-memory database, migrated, with the demo `variant` (seed 1) loaded unless null. */
export async function testDb(variant: "planted" | "null" | null = "planted"): Promise<Db> {
  const db = await openPglite();
  await migrateAll(db);
  if (variant) await loadDemo(db, { variant, seed: 1 });
  return db;
}

/** An auth config with a random secret (never the developer's .data/jwt-secret). */
export function testAuth(): AuthConfig {
  return {
    secret: crypto.getRandomValues(new Uint8Array(32)),
    issuer: "http://127.0.0.1:54321/auth/v1",
    audience: "authenticated",
  };
}

/** An MCP SDK client connected to `url` with `Authorization: Bearer <token>`. */
export async function connectClient(url: string, token: string): Promise<Client> {
  const client = new Client({ name: "aoma-test-client", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return client;
}

const TABLES = [
  "repositories", "jira_issues", "git_commits", "deployments", "message_templates", "log_events",
  "aoma_system_metrics", "processing_attempts", "incidents", "predictive_models", "failure_predictions",
];

/** Row count of every aoma table and of the daily feature view. */
export async function rowCounts(db: Queryable): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of TABLES) {
    const [r] = await db.query<{ n: number }>(`select count(*)::int as n from aoma.${t}`);
    out[t] = r.n;
  }
  const [f] = await db.query<{ n: number }>("select count(*)::int as n from analytics.features_daily");
  out["analytics.features_daily"] = f.n;
  return out;
}

/**
 * Row count and md5 checksum of every table and materialized view of `schemas` (default aoma and
 * analytics): equal before and after means nothing was written.
 */
export async function tableChecksums(db: Queryable, schemas: string[] = ["aoma", "analytics"]): Promise<Record<string, string>> {
  const rels = await db.query<{ name: string }>(
    `select format('%I.%I', n.nspname, c.relname) as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = any($1::text[]) and c.relkind in ('r', 'm', 'p') order by 1`,
    [schemas],
  );
  const out: Record<string, string> = {};
  for (const { name } of rels) {
    const [r] = await db.query<{ n: number; h: string | null }>(
      `select count(*)::int as n, coalesce(md5(string_agg(md5(t::text), '' order by md5(t::text) collate "C")), '') as h from ${name} t`,
    );
    out[name] = `${r.n} rows, md5 ${r.h}`;
  }
  return out;
}
