/**
 * `npm start` — the local AOMA Mesh Analytics server.
 *
 *   npm start                                  # PGlite in .data/pglite (or AOMA_DB_URL …), port 54321
 *   npm start -- --demo planted|null [--seed N] # (re)load a demo quarter first
 *   npm start -- --port 8080 --host 127.0.0.1
 *
 * Opens the database (src/db/open.ts), brings an embedded one up to date (migrateAll), loads the
 * planted demo (seed 1) when the database is empty, serves every function through the gateway at
 * http://<host>:<port>/functions/v1/<name>, and prints the endpoint, a fresh token, copy-paste client
 * configurations and an executive correlation summary computed by the same tool handler the MCP
 * endpoint runs. Ctrl-C (or SIGTERM) stops the server and closes the database cleanly.
 */
import { authConfigFromEnv } from "../auth/config.ts";
import { issueToken } from "../auth/token.ts";
import { asRole } from "../db/caller.ts";
import { migrateAll } from "../db/migrate.ts";
import { databaseUrlFromEnv, DEFAULT_PGLITE_DIR, openDb } from "../db/open.ts";
import type { Db } from "../db/types.ts";
import { databaseContent, demoRefusal, loadDemo } from "../demo/load.ts";
import { type AnomalySchedule, startAnomalySchedule } from "../jobs/anomaly_schedule.ts";
import { type ForecastSchedule, startForecastSchedule } from "../jobs/forecast_schedule.ts";
import { DEFAULT_PORT, startServer } from "../server/gateway.ts";
import { handler as analyzeCorrelations } from "../tools/analyze_correlations.ts";
import { toolErrorMessage } from "../mcp/tool_error.ts";
import { parseFlags } from "./args.ts";
import { removeServerLock, serverHoldingPglite, writeServerLock } from "./server_lock.ts";

const USAGE = `Usage: npm start -- [--demo planted|null] [--seed N] [--port N] [--host ADDRESS]
  --demo   (re)load the demo quarter: "planted" (known effects) or "null" (no effects)
  --seed   seed of the demo generator (default 1)
  --port   port to listen on (default AOMA_PORT or ${DEFAULT_PORT})
  --host   address to listen on (default AOMA_HOST or 127.0.0.1)
Database: AOMA_DB_URL / SUPABASE_DB_URL / DATABASE_URL, else PGlite in .data/pglite (AOMA_PGLITE_DIR).`;

/** The client configurations to print for an endpoint and token. */
export function clientConfigs(url: string, token: string): string {
  const cursor = { mcpServers: { aoma: { url, headers: { Authorization: `Bearer ${token}` } } } };
  const desktop = {
    mcpServers: {
      aoma: {
        command: "npx",
        args: ["-y", "mcp-remote", url, "--header", "Authorization:${AOMA_AUTH}"],
        env: { AOMA_AUTH: `Bearer ${token}` },
      },
    },
  };
  return [
    "Claude Code:",
    `  claude mcp add --transport http aoma ${url} --header "Authorization: Bearer ${token}"`,
    "",
    "Cursor (~/.cursor/mcp.json) and other clients that speak Streamable HTTP:",
    indent(JSON.stringify(cursor, null, 2)),
    "",
    "Claude Desktop (claude_desktop_config.json, through the mcp-remote bridge):",
    indent(JSON.stringify(desktop, null, 2)),
    "",
    "MCP Inspector:",
    `  npx @modelcontextprotocol/inspector --cli ${url} --transport http \\`,
    `    --header "Authorization: Bearer ${token}" --method tools/call --tool-name analyze_correlations`,
    `  (or the web UI: npx @modelcontextprotocol/inspector, transport "Streamable HTTP", URL above,`,
    `   header Authorization: Bearer <token>)`,
  ].join("\n");
}

function indent(s: string): string {
  return s.split("\n").map((l) => `  ${l}`).join("\n");
}

/** The executive summary of analyze_correlations with default arguments, or why there is none. */
async function executiveSummary(db: Db): Promise<string> {
  try {
    const result = await analyzeCorrelations({ includeChart: false }, {
      db,
      caller: { role: "authenticated", claims: { sub: "npm-start", role: "authenticated" } },
    });
    return (result.content[0] as { text: string }).text;
  } catch (e) {
    return `No correlation summary: ${toolErrorMessage("analyze_correlations", e)}`;
  }
}

/** Runs the server until a signal; returns the exit code on a start-up error. */
export async function main(args: readonly string[]): Promise<number> {
  let flags;
  try {
    flags = parseFlags(args, { demo: true, seed: true, port: true, host: true, help: false });
    if (flags.help) {
      console.log(USAGE);
      return 0;
    }
    if (flags.demo && flags.demo !== "planted" && flags.demo !== "null") {
      throw new Error(`Cannot load the demo "${flags.demo}": use --demo planted or --demo null.`);
    }
    for (const k of ["seed", "port"]) {
      if (flags[k] !== undefined && !/^\d+$/.test(flags[k])) throw new Error(`Cannot use --${k} "${flags[k]}": it must be a whole number.`);
    }
  } catch (e) {
    console.error((e as Error).message);
    console.error(USAGE);
    return 2;
  }
  const port = Number(flags.port ?? Deno.env.get("AOMA_PORT") ?? DEFAULT_PORT);
  const host = flags.host ?? Deno.env.get("AOMA_HOST") ?? "127.0.0.1";

  // PGlite is single-process: refuse a folder another process serves, and mark ours (src/cli/server_lock.ts)
  const pgliteDir = databaseUrlFromEnv() ? null : Deno.env.get("AOMA_PGLITE_DIR") ?? DEFAULT_PGLITE_DIR;
  const holder = pgliteDir ? await serverHoldingPglite(pgliteDir) : null;
  if (holder) {
    console.error(`Cannot start: ${pgliteDir} is in use by process ${holder.pid} (${holder.url}); stop it first.`);
    return 1;
  }
  const db = await openDb({ ownProcess: true });
  if (pgliteDir) await writeServerLock(pgliteDir, `http://${host}:${port}`);
  let closing = false;
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  let forecasts: ForecastSchedule | undefined;
  let monitors: AnomalySchedule | undefined;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    console.log("\nStopping: closing the server and the database …");
    await server?.close().catch(() => {});
    await forecasts?.stop();
    await monitors?.stop();
    await db.close().catch(() => {});
    if (pgliteDir) removeServerLock(pgliteDir);
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", shutdown);
  Deno.addSignalListener("SIGTERM", shutdown);

  try {
    console.log(`Database: ${db.engine === "pglite" ? `PGlite (${Deno.env.get("AOMA_PGLITE_DIR") ?? ".data/pglite"})` : "PostgreSQL server"}`);
    if (db.engine === "pglite") await migrateAll(db);
    const demo = flags.demo as "planted" | "null" | undefined;
    const seed = Number(flags.seed ?? 1);
    // as service_role: a server login (authenticator) has no rights of its own
    const writer = asRole(db, "service_role");
    // the demo loads only into an empty database or over an earlier demo, never over ingested rows
    const content = await databaseContent(writer);
    if (demo && content.state === "ingested") throw new Error(demoRefusal(content));
    if (!demo && content.state === "ingested") {
      console.log(`Serving the ingested data (rows in ${content.tablesWithRows.map((t) => `aoma.${t}`).join(", ")}).`);
    }
    if (demo || content.state === "empty") {
      const variant = demo ?? "planted";
      console.log(`Loading the ${variant} demo quarter (seed ${seed}) …`);
      const r = await loadDemo(writer, { variant, seed });
      console.log(`  ${r.counts.jira_issues} tickets, ${r.counts.git_commits} commits, ${r.counts.incidents} incidents, ` +
        `${r.counts.processing_attempts} processing attempts in ${(r.elapsedMs / 1000).toFixed(1)} s`);
    }
    const auth = await authConfigFromEnv();
    server = await startServer({ db, port, host, auth });
    if (pgliteDir) await writeServerLock(pgliteDir, server.baseUrl);
    // PGlite has no pg_cron: the nightly forecast jobs and the anomaly monitors run on in-process schedules instead
    if (db.engine === "pglite") {
      forecasts = startForecastSchedule(db);
      monitors = startAnomalySchedule(db);
    }
    const token = await issueToken(auth, { role: "authenticated" });
    const summary = await executiveSummary(db);
    console.log([
      "",
      `AOMA Mesh Analytics is running.`,
      `  MCP endpoint (Streamable HTTP): ${server.url}`,
      `  Protected-resource metadata:    ${server.baseUrl}/.well-known/oauth-protected-resource`,
      "",
      "Bearer token (role authenticated, valid 12 h; more with `npm run -s token`):",
      `  ${token}`,
      "",
      clientConfigs(server.url, token),
      "",
      summary,
      "",
      "Press Ctrl-C to stop.",
    ].join("\n"));
  } catch (e) {
    console.error(`Cannot start AOMA Mesh Analytics: ${(e as Error).message}`);
    await server?.close().catch(() => {});
    await db.close().catch(() => {});
    if (pgliteDir) removeServerLock(pgliteDir);
    return 1;
  }
  // keep running until a signal arrives
  await new Promise(() => {});
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
