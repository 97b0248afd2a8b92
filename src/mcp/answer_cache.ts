/**
 * Tool answers cached by data version. Identical calls (same tool, same validated arguments) by
 * callers who may see the same rows (same role and the same values of the JWT claims that row-level
 * security reads, RLS_CLAIMS) are answered from memory until the data version moves (every ingest,
 * refresh and scheduled job bumps it: supabase/migrations/20261202000300_data_version.sql).
 * Identical calls that arrive while the answer is being computed wait for that one computation
 * (single flight); it is cancelled only when every caller waiting for it has gone.
 *
 * Bounded: at most `maxEntries` answers and `maxBytes` of JSON, least recently used out first.
 */
import type { CallToolResult } from "@modelcontextprotocol/server";
import type { Caller } from "../db/caller.ts";

/**
 * JWT claims that row-level security policies read. None do today (every policy of ours is
 * `using (true)` for its role; tests/serving_core_test.ts fails when a policy starts reading the
 * JWT). A policy that reads a claim must add it here, so that callers who differ in it never share
 * an answer.
 */
export const RLS_CLAIMS: readonly string[] = [];

/** A cached answer and when it was computed. */
export interface CachedAnswer {
  result: CallToolResult;
  version: string;
  computedAt: Date;
}

export interface AnswerCacheStats {
  entries: number;
  bytes: number;
  hits: number;
  misses: number;
  /** Calls that joined a computation already under way. */
  joined: number;
}

/** JSON with object keys sorted, so equal values give equal text. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`).join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

/** The cache key of a call: tool, caller's role and RLS claims, arguments. */
export function answerKey(tool: string, caller: Caller, args: unknown): string {
  const claims = RLS_CLAIMS.map((c) => caller.claims?.[c] ?? null);
  return stableJson([tool, caller.role, claims, args ?? {}]);
}

interface Flight {
  promise: Promise<CachedAnswer>;
  controller: AbortController;
  waiters: number;
}

export class AnswerCache {
  readonly maxEntries: number;
  readonly maxBytes: number;
  #entries = new Map<string, CachedAnswer & { bytes: number }>();
  #flights = new Map<string, Flight>();
  #bytes = 0;
  #hits = 0;
  #misses = 0;
  #joined = 0;

  constructor(opts: { maxEntries?: number; maxBytes?: number } = {}) {
    this.maxEntries = opts.maxEntries ?? 256;
    this.maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
  }

  stats(): AnswerCacheStats {
    return { entries: this.#entries.size, bytes: this.#bytes, hits: this.#hits, misses: this.#misses, joined: this.#joined };
  }

  /**
   * The answer for `key` at `version`: from the cache, from a computation under way, or from
   * `compute` (given a signal that aborts when every caller waiting for it has gone). `cached` is
   * true unless this call started the computation. Failed computations are not kept.
   */
  async get(
    key: string,
    version: string,
    compute: (signal: AbortSignal) => Promise<CallToolResult>,
    signal?: AbortSignal,
  ): Promise<CachedAnswer & { cached: boolean }> {
    const hit = this.#entries.get(key);
    if (hit && hit.version === version) {
      this.#hits++;
      this.#entries.delete(key); // most recently used goes last
      this.#entries.set(key, hit);
      return { ...hit, cached: true };
    }
    const flightKey = `${version}\u0000${key}`;
    let flight = this.#flights.get(flightKey);
    const joined = flight !== undefined;
    if (flight) {
      this.#joined++;
    } else {
      this.#misses++;
      const controller = new AbortController();
      const promise = (async () => {
        const result = await compute(controller.signal);
        const answer = { result, version, computedAt: new Date() };
        if (!result.isError) this.#store(key, answer);
        return answer;
      })();
      flight = { promise, controller, waiters: 0 };
      this.#flights.set(flightKey, flight);
      const f = flight;
      promise.finally(() => this.#flights.get(flightKey) === f && this.#flights.delete(flightKey)).catch(() => {});
    }
    const f = flight;
    f.waiters++;
    try {
      const answer = await abortable(f.promise, signal);
      return { ...answer, cached: joined };
    } finally {
      f.waiters--;
      if (f.waiters === 0 && signal?.aborted) f.controller.abort(signal.reason);
    }
  }

  #store(key: string, answer: CachedAnswer): void {
    const bytes = JSON.stringify(answer.result).length;
    if (bytes > this.maxBytes) return;
    const old = this.#entries.get(key);
    if (old) {
      this.#bytes -= old.bytes;
      this.#entries.delete(key);
    }
    this.#entries.set(key, { ...answer, bytes });
    this.#bytes += bytes;
    for (const [k, e] of this.#entries) {
      if (this.#entries.size <= this.maxEntries && this.#bytes <= this.maxBytes) break;
      this.#entries.delete(k);
      this.#bytes -= e.bytes;
    }
  }
}

/** `p`, or `signal.reason` as soon as `signal` aborts. */
function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
