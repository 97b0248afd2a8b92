/**
 * The one place that maps our tools onto the MCP SDK (v2, @modelcontextprotocol/server): a
 * low-level Server per request with tools/list (the tools of src/tools/index.ts in that fixed
 * order, their JSON schemas built once) and tools/call (every call through src/mcp/run_tool.ts).
 * The same server answers both protocol eras: 2026-07-28 (server/discover, per-request _meta) and
 * 2025-11-25 (initialize), see src/mcp/handler.ts.
 */
import { ProtocolError, ProtocolErrorCode, Server, type Tool as ListedTool } from "@modelcontextprotocol/server";
import { z } from "zod";
import { TOOLS } from "../tools/index.ts";
import type { Tool } from "../tools/types.ts";
import { isBusyError } from "./call_queue.ts";
import { type CallContext, runTool } from "./run_tool.ts";

/** Name and version the server reports in `initialize` and `server/discover`. */
export const SERVER_INFO = { name: "aoma-mesh-analytics", title: "AOMA Mesh Analytics", version: "0.2.0" };

const INSTRUCTIONS = "AOMA Mesh Analytics runs real analyses on AOMA data inside Postgres. " +
  "Call analyze_correlations with no arguments for what drives system failures, generate_forecasts for what " +
  "comes next, build_predictive_model for the failure probability of the next days; every number in an " +
  "answer comes from the database and cites its sample size and interval.";

/** How long a client may reuse tools/list (2026-07-28 `ttlMs`): 5 minutes. */
export const TOOLS_LIST_TTL_MS = 300_000;

/** The JSON-RPC error code of "the server is busy" (HTTP 429 carries it; src/mcp/handler.ts). */
export const BUSY_ERROR_CODE = -32000;

/** What one HTTP exchange learns from its tool call: a refusal for lack of capacity. */
export interface Exchange {
  busy?: { message: string; retryAfterSeconds: number };
}

interface Listing {
  tools: ListedTool[];
  byName: Map<string, { tool: Tool; outputSchema: Record<string, unknown> }>;
}

const listings = new WeakMap<readonly Tool[], Listing>();

/**
 * zod writes a tuple as JSON Schema 2020-12 `prefixItems` with `items: false`, which a draft-07
 * validator — the v1 SDK client's (MCP Inspector, most 2025-era clients) — reads as "no items at
 * all", rejecting every result that has one ("…/ci/0 boolean schema is false"). Each such tuple is
 * rewritten as `items` (the positions' schema, or their union) with `maxItems`: the same meaning in
 * both dialects when all positions share one schema, as our [low, high] intervals do.
 */
function portableTuples(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(portableTuples);
  if (!schema || typeof schema !== "object") return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) out[k] = portableTuples(v);
  const prefix = out.prefixItems;
  if (Array.isArray(prefix) && prefix.length > 0 && out.items === false) {
    const distinct = [...new Map(prefix.map((p) => [JSON.stringify(p), p])).values()];
    delete out.prefixItems;
    out.items = distinct.length === 1 ? distinct[0] : { anyOf: distinct };
    out.maxItems = Math.min(typeof out.maxItems === "number" ? out.maxItems : prefix.length, prefix.length);
  }
  return out;
}

/** The tools/list entries of `tools` (schemas converted once per list). */
function listing(tools: readonly Tool[]): Listing {
  let l = listings.get(tools);
  if (!l) {
    const byName = new Map<string, { tool: Tool; outputSchema: Record<string, unknown> }>();
    const listed = tools.map((tool) => {
      const d = tool.definition;
      const inputSchema = portableTuples(z.toJSONSchema(d.inputSchema, { io: "input" })) as ListedTool["inputSchema"];
      const outputSchema = portableTuples(z.toJSONSchema(d.outputSchema, { io: "output" })) as Record<string, unknown>;
      byName.set(d.name, { tool, outputSchema });
      return {
        name: d.name,
        title: d.title,
        description: d.description,
        inputSchema,
        outputSchema: outputSchema as ListedTool["outputSchema"],
        annotations: { title: d.title, ...d.annotations },
      };
    });
    l = { tools: listed, byName };
    listings.set(tools, l);
  }
  return l;
}

/**
 * Builds the Server of one request; its tools run as `ctx.caller` on `ctx.db`.
 *
 * @example
 * const server = createMcpServer({ db, caller, core }, exchange);
 */
export function createMcpServer(ctx: CallContext, exchange: Exchange, tools: readonly Tool[] = TOOLS): Server {
  const server = new Server(SERVER_INFO, {
    capabilities: { tools: { listChanged: false } },
    instructions: INSTRUCTIONS,
    // the tool list is the same for every caller and changes only with a deployment (2026-07-28 caching)
    cacheHints: { "tools/list": { ttlMs: TOOLS_LIST_TTL_MS, cacheScope: "public" } },
  });
  const { tools: listed, byName } = listing(tools);
  server.setRequestHandler("tools/list", () => ({ tools: listed }));
  server.setRequestHandler("tools/call", async (request, reqCtx) => {
    const entry = byName.get(request.params.name);
    if (!entry) {
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        `Unknown tool "${String(request.params.name).slice(0, 64)}"; available: ${[...byName.keys()].join(", ")}.`,
      );
    }
    const signals = [ctx.signal, reqCtx.mcpReq.signal].filter((s): s is AbortSignal => s !== undefined);
    try {
      const result = await runTool(entry.tool, request.params.arguments, { ...ctx, signal: AbortSignal.any(signals) });
      return server.projectCallToolResult(result, entry.outputSchema);
    } catch (e) {
      if (!isBusyError(e)) throw e;
      exchange.busy = { message: e.message, retryAfterSeconds: e.retryAfterSeconds };
      throw new ProtocolError(BUSY_ERROR_CODE, e.message, { retryAfterSeconds: e.retryAfterSeconds });
    }
  });
  return server;
}
