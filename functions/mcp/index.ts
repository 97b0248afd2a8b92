/**
 * Edge function "mcp": AOMA Mesh Analytics over MCP Streamable HTTP (stateless).
 * Thin entry point: opens the database (SUPABASE_DB_URL on Supabase), reads the auth settings and
 * serves the guarded MCP handler. Locally the gateway (npm start) mounts the same handler.
 */
import { authConfigFromEnv } from "../../src/auth/config.ts";
import { openDb } from "../../src/db/open.ts";
import { createMcpFunction } from "../../src/mcp/function.ts";

const db = await openDb();
Deno.serve(createMcpFunction({ db, auth: await authConfigFromEnv() }));
