/**
 * Runs one tool call — the one path every tool's answer takes: argument size limit, strict input
 * validation with readable sentences, the answer cache (by data version), the call queue, the
 * deadline, the handler, output validation, the stamp that says when the answer was computed, and
 * the single conversion of any failure into `isError: true`.
 */
import type { CallToolResult } from "@modelcontextprotocol/server";
import type { z } from "zod";
import type { Caller } from "../db/caller.ts";
import type { Db } from "../db/types.ts";
import { AppError } from "../errors.ts";
import type { Tool } from "../tools/types.ts";
import { answerKey } from "./answer_cache.ts";
import { isBusyError } from "./call_queue.ts";
import type { ServingCore } from "./serving.ts";
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

/** Where the answer's provenance goes in `_meta` (reverse-DNS prefix, as MCP asks of extensions). */
export const META_PREFIX = "dev.aoma-mesh/";

/** What a call runs with: the database, who calls, the serving core, and the client's signal. */
export interface CallContext {
  db: Db;
  caller: Caller;
  core: ServingCore;
  /** Aborts when the client goes away (HTTP disconnect, notifications/cancelled). */
  signal?: AbortSignal;
}

/** The deadline's error: says how long the call ran and how to narrow it. */
export class DeadlineError extends AppError {
  constructor(tool: Tool, ms: number) {
    super(
      504,
      `Cannot run ${tool.definition.name}: the analysis did not finish within ${formatSeconds(ms)} and was stopped; ` +
        `${tool.definition.narrowing}.`,
    );
  }
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${s < 10 ? s.toFixed(1).replace(/\.0$/, "") : Math.round(s)} s`;
}

/** Adds when and on which data version the answer was computed, to its text and its `_meta`. */
function stamped(result: CallToolResult, at: Date, version: string, cached: boolean): CallToolResult {
  const when = `${at.toISOString().slice(0, 19).replace("T", " ")} UTC`;
  const line = `Computed ${when} on data version ${version}${cached ? " (answered from the cache: the data has not changed since)" : ""}.`;
  const [first, ...rest] = result.content;
  const content = first?.type === "text" ? [{ ...first, text: `${first.text}\n\n${line}` }, ...rest] : [{ type: "text" as const, text: line }, ...result.content];
  return {
    ...result,
    content,
    _meta: {
      ...result._meta,
      [`${META_PREFIX}computedAt`]: at.toISOString(),
      [`${META_PREFIX}dataVersion`]: version,
      [`${META_PREFIX}cached`]: cached,
    },
  };
}

/**
 * Validates `args` and runs `tool`. Always resolves: failures come back as `isError: true` with one
 * clean sentence — except BusyError (queue full), which the HTTP layer answers with 429.
 */
export async function runTool(tool: Tool, args: unknown, ctx: CallContext): Promise<CallToolResult> {
  const def = tool.definition;
  const { core } = ctx;
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
    const version = await ctx.db.dataVersion();
    const answer = await core.cache.get(
      answerKey(def.name, ctx.caller, parsed.data),
      version,
      (flightSignal) =>
        core.queue.run(async () => {
          const deadline = AbortSignal.timeout(core.deadlineMs);
          const signal = AbortSignal.any([flightSignal, deadline]);
          try {
            const result = await tool.handler(parsed.data, { db: ctx.db, caller: ctx.caller, signal, deadlineMs: core.deadlineMs });
            const checked = def.outputSchema.safeParse(result.structuredContent);
            if (!checked.success) {
              console.error(`Tool ${def.name} produced output that does not match its schema:`, checked.error.issues);
              throw new AppError(500, `Cannot run ${def.name}: internal error (the result did not match its schema).`);
            }
            return result;
          } catch (e) {
            if (deadline.aborted) throw new DeadlineError(tool, core.deadlineMs);
            throw e;
          }
        }, flightSignal),
      ctx.signal,
    );
    return stamped(answer.result, answer.computedAt, answer.version, answer.cached);
  } catch (e) {
    if (isBusyError(e)) throw e;
    return toolError(toolErrorMessage(def.name, e));
  }
}
