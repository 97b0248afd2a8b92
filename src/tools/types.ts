/**
 * The shape of an MCP tool in this project: a data-only definition (name, schemas, annotations,
 * limits) kept apart from the handler that executes it. src/tools/index.ts lists them; src/mcp/
 * registers them and is the only place that turns a thrown error into `isError: true`.
 */
import type { CallToolResult } from "@modelcontextprotocol/server";
import type { z } from "zod";
import type { Caller } from "../db/caller.ts";
import type { Db } from "../db/types.ts";

/**
 * Hints every tool here carries: only our own database, never destructive. Every tool reads; one
 * (create_anomaly_detection) may also register a monitor for service_role (readOnlyHint false).
 */
export interface ToolAnnotations {
  readOnlyHint: boolean;
  openWorldHint: false;
  destructiveHint?: false;
  idempotentHint?: boolean;
}

/** What a tool is, as data. */
export interface ToolDefinition<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  /** Strict input schema (unknown keys rejected); its messages are the user-facing sentences. */
  inputSchema: I;
  /** Output schema; structuredContent is validated against it before it leaves the server. */
  outputSchema: O;
  annotations: ToolAnnotations;
  /** Largest accepted arguments object, in bytes of JSON, checked before schema validation. */
  maxArgumentBytes: number;
  /** How a caller makes a call smaller, said when a call is stopped at its deadline ("narrow …"). */
  narrowing: string;
}

/** What a handler gets besides its input: the database, who is calling, and when to stop. */
export interface ToolContext {
  db: Db;
  caller: Caller;
  /** Aborts at the call's deadline or when every client waiting for it has gone: pass it to withCaller. */
  signal?: AbortSignal;
  /** The call's deadline in milliseconds (the statement timeout on a server). */
  deadlineMs?: number;
}

/** A tool's result: content for people and models, structuredContent matching the output schema. */
export type ToolResult<O extends z.ZodObject = z.ZodObject> = CallToolResult & { structuredContent: z.input<O> };

/** A tool: its definition and the handler that runs it. */
export interface Tool<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
  definition: ToolDefinition<I, O>;
  handler: (input: z.output<I>, ctx: ToolContext) => Promise<ToolResult<O>>;
}
