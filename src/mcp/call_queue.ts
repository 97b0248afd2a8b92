/**
 * The bounded queue every tool call that needs the database waits in: at most `concurrency` calls
 * run at once (1 on PGlite, which is one connection; the pool size on a server), at most
 * `maxWaiting` wait, and none waits longer than `maxWaitMs`. A call that finds the queue full, or
 * waits too long, gets BusyError (HTTP 429 with Retry-After, see src/mcp/handler.ts); a call whose
 * signal aborts while it waits (client gone) leaves the queue at once.
 */
import { AppError } from "../errors.ts";

/** Settings of a CallQueue. */
export interface CallQueueOptions {
  /** Calls running at once. */
  concurrency: number;
  /** Calls waiting at most; one more is refused. */
  maxWaiting: number;
  /** Longest wait before a call is refused, milliseconds. */
  maxWaitMs: number;
}

/** What the queue is doing (served at /functions/v1/mcp/status). */
export interface CallQueueStatus extends CallQueueOptions {
  running: number;
  waiting: number;
  /** Moving average of the run time of recent calls, milliseconds (null before the first). */
  averageRunMs: number | null;
  /** Calls refused since start (queue full or waited too long). */
  refused: number;
}

/** The queue is full, or a call waited past maxWaitMs: answered 429 with Retry-After. */
export class BusyError extends AppError {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super(429, message, { headers: { "retry-after": String(retryAfterSeconds) } });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export function isBusyError(e: unknown): e is BusyError {
  return e instanceof BusyError;
}

interface Waiter {
  start: () => void;
}

export class CallQueue {
  readonly options: CallQueueOptions;
  #running = 0;
  #waiting: Waiter[] = [];
  #avgMs: number | null = null;
  #refused = 0;

  constructor(options: CallQueueOptions) {
    if (!(options.concurrency >= 1) || !(options.maxWaiting >= 0) || !(options.maxWaitMs > 0)) {
      throw new Error(`CallQueue: invalid options ${JSON.stringify(options)}`);
    }
    this.options = options;
  }

  status(): CallQueueStatus {
    return {
      ...this.options,
      running: this.#running,
      waiting: this.#waiting.length,
      averageRunMs: this.#avgMs === null ? null : Math.round(this.#avgMs),
      refused: this.#refused,
    };
  }

  /** Seconds a refused caller should wait: the queue ahead of it at the average run time. */
  retryAfterSeconds(): number {
    const ahead = this.#waiting.length + this.#running;
    const s = ((this.#avgMs ?? 1000) * ahead) / this.options.concurrency / 1000;
    return Math.min(60, Math.max(1, Math.ceil(s)));
  }

  #busy(why: string): BusyError {
    this.#refused++;
    const retry = this.retryAfterSeconds();
    return new BusyError(`The server is busy (${why}); retry in ${retry} s.`, retry);
  }

  /**
   * Runs `fn` when a slot is free. Rejects with BusyError when the queue is full or the wait is too
   * long, with `signal.reason` when the signal aborts before the call starts.
   */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) throw signal.reason;
    if (this.#running < this.options.concurrency && this.#waiting.length === 0) {
      this.#running++;
    } else {
      // the slot is handed over by the call that ends (it does not count itself out)
      if (this.#waiting.length >= this.options.maxWaiting) {
        throw this.#busy(`${this.#running} calls running and ${this.#waiting.length} waiting, the most it queues`);
      }
      await new Promise<void>((resolve, reject) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const leave = (e: unknown) => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          const i = this.#waiting.indexOf(waiter);
          if (i >= 0) this.#waiting.splice(i, 1);
          reject(e);
        };
        const onAbort = () => leave(signal!.reason);
        const waiter: Waiter = {
          start: () => {
            clearTimeout(timer);
            signal?.removeEventListener("abort", onAbort);
            resolve();
          },
        };
        this.#waiting.push(waiter);
        signal?.addEventListener("abort", onAbort, { once: true });
        timer = setTimeout(
          () => leave(this.#busy(`the call waited ${Math.round(this.options.maxWaitMs / 1000)} s for its turn`)),
          this.options.maxWaitMs,
        );
      });
    }
    const started = performance.now();
    try {
      return await fn();
    } finally {
      const ms = performance.now() - started;
      this.#avgMs = this.#avgMs === null ? ms : 0.8 * this.#avgMs + 0.2 * ms;
      const next = this.#waiting.shift();
      if (next) next.start();
      else this.#running--;
    }
  }
}
