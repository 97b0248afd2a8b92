/**
 * The MCP server factory: a fresh McpServer per request (stateless), with every tool of
 * src/tools/index.ts registered for listing (title, description, JSON schemas, annotations) and one
 * tools/call handler that runs them through src/mcp/run_tool.ts.
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { type CallToolRequest, CallToolRequestSchema, ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { TOOLS } from "../tools/index.ts";
import type { Tool, ToolContext } from "../tools/types.ts";
import { runTool } from "./run_tool.ts";

/** Name and version the server reports in `initialize`. */
export const SERVER_INFO = { name: "aoma-mesh-analytics", title: "AOMA Mesh Analytics", version: "0.1.0" };

const INSTRUCTIONS = "AOMA Mesh Analytics runs real analyses on AOMA data inside Postgres. " +
  "Call analyze_correlations with no arguments for what drives system failures; every number in an " +
  "answer comes from the database and cites its sample size and interval.";

/**
 * Builds an McpServer whose tools run as `ctx.caller` on `ctx.db`.
 *
 * @example
 * const server = createMcpServer({ db, caller });
 * await server.connect(transport);
 */
export function createMcpServer(ctx: ToolContext, tools: readonly Tool[] = TOOLS): McpServer {
  const server = new McpServer(SERVER_INFO, { capabilities: { tools: {} }, instructions: INSTRUCTIONS });
  const byName = new Map<string, Tool>();
  for (const tool of tools) {
    const d = tool.definition;
    byName.set(d.name, tool);
    server.registerTool(d.name, {
      title: d.title,
      description: d.description,
      inputSchema: d.inputSchema,
      outputSchema: d.outputSchema,
      annotations: { title: d.title, ...d.annotations },
    }, (args: unknown) => runTool(tool, args, ctx));
  }
  // McpServer validates arguments itself and reports zod issues raw; our call handler checks the
  // argument size first and writes the problems as sentences. Listing stays with McpServer.
  server.server.setRequestHandler(CallToolRequestSchema, async (request: CallToolRequest) => {
    const tool = byName.get(request.params.name);
    if (!tool) throw new McpError(ErrorCode.InvalidParams, `Tool ${request.params.name} not found`);
    return await runTool(tool, request.params.arguments, ctx);
  });
  return server;
}
