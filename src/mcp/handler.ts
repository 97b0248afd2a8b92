/**
 * The MCP endpoint over Streamable HTTP, stateless, for both protocol eras:
 *
 * - 2026-07-28 (requests carry the `_meta` envelope and MCP-Protocol-Version / Mcp-Method headers;
 *   `server/discover` instead of initialize): the v2 SDK's createMcpHandler, modern-only, JSON
 *   responses.
 * - 2025-era clients (initialize, no envelope): a fresh stateless Streamable HTTP transport per
 *   request with JSON responses, as before.
 *
 * Before either: a JSON-RPC batch (an array) is refused — no revision since 2025-06-18 has
 * batching, and executing every element let one small POST queue many heavy calls; a tools/call
 * whose `arguments` is not an object gets one sentence (-32602). After: a call refused for lack of
 * capacity (src/mcp/call_queue.ts) is answered 429 with Retry-After. GET …/mcp/status answers the
 * queue, cache and database status at once. Other GET and DELETE requests get 405: there are no
 * sessions to stream or end.
 */
import { createMcpHandler as createSdkHandler, isLegacyRequest, WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/server";
import type { Db } from "../db/types.ts";
import type { FunctionHandler, RequestContext } from "../server/types.ts";
import type { CallContext } from "./run_tool.ts";
import { BUSY_ERROR_CODE, createMcpServer, type Exchange } from "./server.ts";
import { servingStatus, type ServingCore } from "./serving.ts";

type JsonRpcId = string | number | null;

function rpcError(id: JsonRpcId, code: number, message: string, status = 200, headers: HeadersInit = {}): Response {
  return Response.json({ jsonrpc: "2.0", id, error: { code, message } }, { status, headers });
}

function idOf(message: unknown): JsonRpcId {
  const id = (message as { id?: unknown })?.id;
  return typeof id === "string" || typeof id === "number" ? id : null;
}

function kindOf(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "a list" : typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/**
 * A refusal for a message the SDK must not see, or null. Batches: refused whole. tools/call with
 * non-object arguments: the sentence the tool would say for any other bad argument.
 */
function refusal(message: unknown): Response | null {
  if (Array.isArray(message)) {
    return rpcError(
      null,
      -32600,
      `Cannot accept a JSON-RPC batch of ${message.length} messages: this server takes one request per POST ` +
        "(MCP has no batching since revision 2025-06-18); send them one at a time.",
      400,
    );
  }
  const m = message as { method?: unknown; params?: { name?: unknown; arguments?: unknown } } | null;
  if (m && typeof m === "object" && m.method === "tools/call" && m.params && typeof m.params === "object") {
    const args = m.params.arguments;
    if (args !== undefined && (args === null || typeof args !== "object" || Array.isArray(args))) {
      const tool = typeof m.params.name === "string" ? m.params.name.slice(0, 64) : "the tool";
      return rpcError(idOf(m), -32602, `Cannot run ${tool}: the arguments must be an object of named arguments, not ${kindOf(args)}.`);
    }
  }
  return null;
}

/**
 * Makes the function handler of the MCP endpoint (to be wrapped by src/server/guard.ts).
 *
 * @example
 * const handler = createMcpHandler({ db, core: createServingCore(db) });
 */
export function createMcpHandler(opts: { db: Db; core: ServingCore }): FunctionHandler {
  const { db, core } = opts;
  // per-request state the SDK's factory looks up by the Request it is given
  const pending = new WeakMap<Request, { ctx: CallContext; exchange: Exchange }>();
  const modern = createSdkHandler(({ requestInfo }) => {
    const state = requestInfo ? pending.get(requestInfo) : undefined;
    if (!state) throw new Error("MCP request without its context");
    return createMcpServer(state.ctx, state.exchange);
  }, { legacy: "reject", responseMode: "json" });

  const legacy = async (req: Request, ctx: CallContext, exchange: Exchange, parsedBody: unknown) => {
    const server = createMcpServer(ctx, exchange);
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    await server.connect(transport);
    try {
      return await transport.handleRequest(req, { parsedBody });
    } finally {
      await server.close();
    }
  };

  return async (req: Request, rctx: RequestContext): Promise<Response> => {
    if (req.method === "GET" && new URL(req.url).pathname.endsWith("/mcp/status")) {
      return Response.json(await servingStatus(db, core));
    }
    if (req.method !== "POST") {
      return rpcError(null, -32000, "Method not allowed: this stateless server accepts POST only.", 405, { allow: "POST, OPTIONS" });
    }
    const text = await req.text();
    let parsed: unknown = undefined;
    try {
      parsed = JSON.parse(text);
    } catch {
      // the SDK answers -32700 itself
    }
    const refused = refusal(parsed);
    if (refused) return refused;
    const inner = new Request(req.url, { method: "POST", headers: req.headers, body: text, signal: req.signal });
    const exchange: Exchange = {};
    const ctx: CallContext = { db, caller: rctx.caller, core, signal: req.signal };
    let res: Response;
    if (parsed !== undefined && await isLegacyRequest(inner, parsed)) {
      res = await legacy(inner, ctx, exchange, parsed);
    } else {
      pending.set(inner, { ctx, exchange });
      res = await modern.fetch(inner, { parsedBody: parsed });
    }
    if (exchange.busy) {
      return rpcError(idOf(parsed), BUSY_ERROR_CODE, exchange.busy.message, 429, {
        "retry-after": String(exchange.busy.retryAfterSeconds),
      });
    }
    return res;
  };
}
