/**
 * Caller-supplied regular expressions (a log `--pattern`, a log batch's `pattern`, a "/regex/" tag
 * pattern) run with a time limit, in a Worker — never on the main thread. JavaScript regexes
 * backtrack: a pattern such as `(a+)+$` or `(\w+\s?)*$` takes exponential time on some inputs, and on
 * the main thread one such line would stall every request of the server for seconds or years.
 *
 * The rule: each input (a line, a tag) may take the worker at most `perInputMs` (default 500 ms). The
 * worker marks in a shared cell which input it is on; when one overruns, the guard ends the worker,
 * answers "timeout" for that input and goes on with a fresh worker. After `maxTimeouts` (default 10)
 * timed-out inputs the guard stops with {@link RegexBudgetError}: the pattern is unusable and must be
 * simplified. The main thread only awaits; its event loop is never blocked. Where no Worker can be
 * started (a runtime without them) a caller's pattern is refused, never run unguarded.
 *
 * The syntax is checked up-front on the main thread (compiling a RegExp does not backtrack) and the
 * pattern may be at most `maxPatternChars` (2,000) characters.
 *
 * @example
 * const guard = new RegexGuard("^(?<ts>\\S+) (?<message>.*)$", "", { what: "the pattern" });
 * try {
 *   const [m] = await guard.exec(["2026-11-25T10:00:00Z hello"]); // { ts: "…", message: "hello" } | null | "timeout"
 * } finally {
 *   guard.close();
 * }
 */
import type { RegexAnswer, RegexJob } from "./regex_worker.ts";

/** Limits of one guard. */
export interface RegexLimits {
  /** Longest time one input may take, milliseconds. */
  perInputMs: number;
  /** Timed-out inputs after which the guard gives up (RegexBudgetError). */
  maxTimeouts: number;
  /** Longest pattern accepted, characters. */
  maxPatternChars: number;
  /** Longest wait for a worker to start, milliseconds. */
  startupMs: number;
}

/** Default limits. */
export const REGEX_LIMITS: Readonly<RegexLimits> = { perInputMs: 500, maxTimeouts: 10, maxPatternChars: 2_000, startupMs: 30_000 };

/** What an input that overran the time limit answers. */
export const TIMEOUT = "timeout";

/** The guard gave up: too many inputs overran the time limit. The message is one sentence. */
export class RegexBudgetError extends Error {
  override name = "RegexBudgetError";
}

/** The guard cannot run the pattern here (no worker, or it would not start). The message is one sentence. */
export class RegexUnavailableError extends Error {
  override name = "RegexUnavailableError";
}

const WORKER_URL = new URL("./regex_worker.ts", import.meta.url).href;

type Groups = Record<string, string | undefined>;
type Outcome = Groups | null | boolean | typeof TIMEOUT;

/** A caller's regular expression, run in a worker with a time limit per input. */
export class RegexGuard {
  readonly limits: RegexLimits;
  /** Inputs that overran so far. */
  timeouts = 0;
  private worker: Worker | null = null;
  private readonly what: string;

  /**
   * Checks the pattern (length, syntax) at once; throws an Error with a sentence naming `what`
   * (default "the pattern"). Nothing runs until exec or test.
   */
  constructor(
    readonly source: string,
    readonly flags = "",
    opts: Partial<RegexLimits> & { what?: string } = {},
  ) {
    const { what = "the pattern", ...limits } = opts;
    this.what = what;
    this.limits = { ...REGEX_LIMITS, ...limits };
    if (source.length > this.limits.maxPatternChars) {
      throw new Error(`Cannot use ${what}: it has ${source.length} characters; at most ${this.limits.maxPatternChars} are allowed`);
    }
    try {
      new RegExp(source, flags.replace(/[gy]/g, ""));
    } catch (e) {
      throw new Error(`Cannot use ${what}: it is not a valid regular expression (${(e as Error).message})`);
    }
  }

  /** Per input: its named groups ({} without groups) when the pattern matches, null when not, or "timeout". */
  exec(inputs: readonly string[]): Promise<(Groups | null | typeof TIMEOUT)[]> {
    return this.run(inputs, "exec") as Promise<(Groups | null | typeof TIMEOUT)[]>;
  }

  /** Per input: whether the pattern matches, or "timeout". */
  test(inputs: readonly string[]): Promise<(boolean | typeof TIMEOUT)[]> {
    return this.run(inputs, "test") as Promise<(boolean | typeof TIMEOUT)[]>;
  }

  /** Ends the worker (call when done; a guard can be used again afterwards). */
  close(): void {
    this.worker?.terminate();
    this.worker = null;
  }

  private async run(inputs: readonly string[], mode: RegexJob["mode"]): Promise<Outcome[]> {
    const out: Outcome[] = new Array(inputs.length);
    let pending = inputs.map((_, i) => i);
    while (pending.length) {
      const r = await this.once(pending.map((i) => inputs[i]), mode);
      if ("results" in r) {
        r.results.forEach((x, k) => (out[pending[k]] = x));
        break;
      }
      out[pending[r.stuck]] = TIMEOUT;
      if (++this.timeouts >= this.limits.maxTimeouts) {
        throw new RegexBudgetError(
          `Cannot use ${this.what}: it ran longer than ${this.limits.perInputMs} ms on ${this.timeouts} inputs, so it backtracks ` +
            `catastrophically; simplify it (avoid nested quantifiers such as (a+)+ or (\\w+\\s?)*)`,
        );
      }
      // the inputs before the stuck one were answered but their answers died with the worker
      pending = pending.filter((_, k) => k !== r.stuck);
    }
    return out;
  }

  /** One worker run over `inputs`: every answer, or the index of the input it got stuck on. */
  private once(inputs: string[], mode: RegexJob["mode"]): Promise<{ results: Outcome[] } | { stuck: number }> {
    let worker: Worker;
    try {
      worker = this.worker ??= new Worker(WORKER_URL, { type: "module" });
    } catch (e) {
      throw new RegexUnavailableError(`Cannot use ${this.what}: this runtime cannot run it with a time limit (no worker: ${(e as Error).message})`);
    }
    const cell = new Int32Array(new SharedArrayBuffer(4));
    const { perInputMs, startupMs } = this.limits;
    const tick = Math.max(5, Math.min(50, Math.floor(perInputMs / 5)));
    return new Promise((resolve, reject) => {
      const posted = performance.now();
      let at = 0, since = posted, done = false;
      const finish = (fn: () => void, kill = false) => {
        if (done) return;
        done = true;
        clearInterval(timer);
        worker.onmessage = worker.onerror = null;
        if (kill) {
          worker.terminate();
          if (this.worker === worker) this.worker = null;
        }
        fn();
      };
      const timer = setInterval(() => {
        const now = performance.now();
        const current = Atomics.load(cell, 0);
        if (current === -1) return; // finished; the answer is on its way
        if (current === 0) {
          if (now - posted > startupMs) {
            finish(() => reject(new RegexUnavailableError(`Cannot use ${this.what}: its worker did not start within ${startupMs} ms`)), true);
          }
          return;
        }
        if (current !== at) {
          at = current;
          since = now;
        } else if (now - since > perInputMs) {
          finish(() => resolve({ stuck: current - 1 }), true);
        }
      }, tick);
      worker.onmessage = (ev: MessageEvent<RegexAnswer>) =>
        finish(() => ("error" in ev.data ? reject(new Error(`Cannot use ${this.what}: ${ev.data.error}`)) : resolve(ev.data)));
      worker.onerror = (ev: ErrorEvent) => {
        ev.preventDefault();
        finish(() => reject(new RegexUnavailableError(`Cannot use ${this.what}: its worker failed (${ev.message})`)), true);
      };
      worker.postMessage({ source: this.source, flags: this.flags, mode, inputs, progress: cell.buffer as SharedArrayBuffer } satisfies RegexJob);
    });
  }
}
