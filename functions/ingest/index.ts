/**
 * Edge function "ingest": batches (service-role JWT) and webhooks (GitHub push, Jira issue events;
 * HMAC-signed) into the AOMA raw tables. Thin entry point: opens the database (SUPABASE_DB_URL on
 * Supabase), reads the auth settings and serves the handler. Locally the gateway (npm start)
 * mounts the same handler at /functions/v1/ingest.
 */
import { authConfigFromEnv } from "../../src/auth/config.ts";
import { openDb } from "../../src/db/open.ts";
import { createIngestFunction } from "../../src/ingest/function.ts";

const db = await openDb();
Deno.serve(createIngestFunction({ db, auth: await authConfigFromEnv() }));
