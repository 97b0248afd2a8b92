/**
 * Runs one tool call: argument size limit, strict input validation with readable sentences, the
 * handler, output validation, and the single conversion of any failure into `isError: true`.
 */
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { z } from "zod";
import { AppError } from "../errors.ts";
import type { Tool, ToolContext } from "../tools/types.ts";
import { toolErrorMessage } from "./tool_error.ts";

/** At most this many validation problems are reported in one message. */
const MAX_ISSUES = 3;

/** A tool error result carrying `message`. */
export function toolError(message: string): CallToolResult {
  return { isError: true, content: [{ type: "text", text: message }] };
}

/**
 * Formats zod issues as one sentence, "Cannot run <tool>: <problem>; <problem> (and N more
 * problems).". Each problem is said once: issues with the same message are merged, and the paths
 * of those whose message does not already name its path are listed before it
 * ("features.0, features.2: each feature must not be empty"; at most three paths, then "and N more").
 */
export function describeIssues(tool: string, issues: readonly z.core.$ZodIssue[]): string {
  const paths = new Map<string, string[]>();
  for (const i of issues) {
    const message = i.message.replace(/[.\s]+$/, "");
    const path = i.path.map(String).join(".");
    const seen = paths.get(message) ?? [];
    if (path && !message.startsWith(path) && !seen.includes(path)) seen.push(path);
    paths.set(message, seen);
  }
  const parts = [...paths].map(([message, at]) => {
    if (!at.length) return message;
    const rest = at.length > MAX_ISSUES ? ` and ${at.length - MAX_ISSUES} more` : "";
    return `${at.slice(0, MAX_ISSUES).join(", ")}${rest}: ${message}`;
  });
  const more = parts.length > MAX_ISSUES
    ? ` (and ${parts.length - MAX_ISSUES} more problem${parts.length - MAX_ISSUES > 1 ? "s" : ""})`
    : "";
  return `Cannot run ${tool}: ${parts.slice(0, MAX_ISSUES).join("; ")}${more}.`;
}

/** Bytes of `args` as JSON (0 for undefined). */
function jsonBytes(args: unknown): number {
  return args === undefined ? 0 : new TextEncoder().encode(JSON.stringify(args)).byteLength;
}

/**
 * Validates `args` and runs `tool`. Always resolves: failures come back as `isError: true` with one
 * clean sentence.
 */
export async function runTool(tool: Tool, args: unknown, ctx: ToolContext): Promise<CallToolResult> {
  const def = tool.definition;
  try {
    const size = jsonBytes(args);
    if (size > def.maxArgumentBytes) {
      throw new AppError(
        400,
        `Cannot run ${def.name}: the arguments are ${size.toLocaleString("en-US")} bytes; the limit is ${
          def.maxArgumentBytes.toLocaleString("en-US")
        } bytes.`,
      );
    }
    const parsed = def.inputSchema.safeParse(args ?? {});
    if (!parsed.success) throw new AppError(400, describeIssues(def.name, parsed.error.issues));
    const result = await tool.handler(parsed.data, ctx);
    const checked = def.outputSchema.safeParse(result.structuredContent);
    if (!checked.success) {
      console.error(`Tool ${def.name} produced output that does not match its schema:`, checked.error.issues);
      throw new AppError(500, `Cannot run ${def.name}: internal error (the result did not match its schema).`);
    }
    return result;
  } catch (e) {
    return toolError(toolErrorMessage(def.name, e));
  }
}
