/**
 * The MCP endpoint (Streamable HTTP, stateless): each POST gets a fresh McpServer and transport
 * (no session id, JSON responses). GET (standalone SSE stream) and DELETE (session end) make no sense
 * without sessions and are answered 405, as in the SDK's stateless examples.
 */
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { Db } from "../db/types.ts";
import type { FunctionHandler } from "../server/types.ts";
import { createMcpServer } from "./server.ts";

/**
 * Makes the function handler of the MCP endpoint (to be wrapped by src/server/guard.ts).
 *
 * @example
 * const handler = createMcpHandler({ db });
 */
export function createMcpHandler(opts: { db: Db }): FunctionHandler {
  return async (req, ctx) => {
    if (req.method !== "POST") {
      return Response.json(
        { jsonrpc: "2.0", error: { code: -32000, message: "Method not allowed: this stateless server accepts POST only." }, id: null },
        { status: 405, headers: { allow: "POST, OPTIONS" } },
      );
    }
    const server = createMcpServer({ db: opts.db, caller: ctx.caller });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    await server.connect(transport);
    try {
      return await transport.handleRequest(req);
    } finally {
      await server.close();
    }
  };
}
