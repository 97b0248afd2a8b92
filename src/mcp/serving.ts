/**
 * The serving core shared by every call of one MCP endpoint: the call queue, the answer cache and
 * the deadline, with their settings read once from the environment, and the status document served
 * at GET /functions/v1/mcp/status.
 *
 * | variable | meaning | default |
 * |---|---|---|
 * | AOMA_CALL_DEADLINE_MS | longest a tool call may run (then it is stopped) | 30000 |
 * | AOMA_MAX_CONCURRENT_CALLS | tool calls running at once | 1 on PGlite, 4 on a server |
 * | AOMA_MAX_QUEUED_CALLS | tool calls waiting at most (one more gets 429) | 64 |
 * | AOMA_MAX_QUEUE_WAIT_MS | longest wait for a turn (then 429) | 20000 |
 * | AOMA_CACHE_MAX_MB | memory for cached answers | 64 |
 */
import type { Db } from "../db/types.ts";
import { AnswerCache, type AnswerCacheStats } from "./answer_cache.ts";
import { CallQueue, type CallQueueStatus } from "./call_queue.ts";

export interface ServingCore {
  queue: CallQueue;
  cache: AnswerCache;
  /** Longest a call may run, milliseconds. */
  deadlineMs: number;
}

/** Settings of a serving core; anything left out comes from the environment, then the defaults. */
export interface ServingOptions {
  deadlineMs?: number;
  concurrency?: number;
  maxWaiting?: number;
  maxWaitMs?: number;
  cacheMaxBytes?: number;
}

function envInt(name: string, fallback: number, min: number): number {
  const raw = Deno.env.get(name);
  if (raw === undefined || raw === "") return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) throw new Error(`Cannot use ${name}="${raw}": it must be a whole number ≥ ${min}.`);
  return v;
}

/** Builds the serving core for `db`. */
export function createServingCore(db: Db, opts: ServingOptions = {}): ServingCore {
  return {
    queue: new CallQueue({
      concurrency: opts.concurrency ?? envInt("AOMA_MAX_CONCURRENT_CALLS", db.engine === "pglite" ? 1 : 4, 1),
      maxWaiting: opts.maxWaiting ?? envInt("AOMA_MAX_QUEUED_CALLS", 64, 0),
      maxWaitMs: opts.maxWaitMs ?? envInt("AOMA_MAX_QUEUE_WAIT_MS", 20_000, 1),
    }),
    cache: new AnswerCache({ maxBytes: opts.cacheMaxBytes ?? envInt("AOMA_CACHE_MAX_MB", 64, 1) * 1024 * 1024 }),
    deadlineMs: opts.deadlineMs ?? envInt("AOMA_CALL_DEADLINE_MS", 30_000, 1),
  };
}

/** What GET /functions/v1/mcp/status answers. */
export interface ServingStatus {
  engine: Db["engine"];
  dataVersion: string;
  deadlineMs: number;
  queue: CallQueueStatus;
  cache: AnswerCacheStats;
  /** The embedded database's worker: stops by deadline and what the last reopen cost. */
  database?: unknown;
}

export async function servingStatus(db: Db, core: ServingCore): Promise<ServingStatus> {
  const stats = (db as { stats?: () => unknown }).stats;
  return {
    engine: db.engine,
    dataVersion: await db.dataVersion(),
    deadlineMs: core.deadlineMs,
    queue: core.queue.status(),
    cache: core.cache.stats(),
    ...(stats ? { database: stats.call(db) } : {}),
  };
}
