/**
 * Caller-supplied regular expressions (a log `--pattern`, a log batch's `pattern`, a "/regex/" tag
 * pattern) never run on the main thread and never run unbounded. JavaScript regexes backtrack: a
 * pattern such as `(a+)+$` or `(\w+\s?)*$` takes exponential time on some inputs, and on the main
 * thread one such line would stall every request of the server for seconds or years.
 *
 * Two engines, chosen per pattern when the guard is made:
 *   - "linear": V8's linear-time engine (the `l` flag; the process must be started with
 *     V8_FLAGS, as every entry point of this project is). Time is O(pattern × input), so no input
 *     can backtrack. It runs in a Worker, off the main thread.
 *   - "process": every other pattern (backreferences, lookarounds, the i/u/v flags, counted
 *     repeats above 16 — or any pattern in a process started without the flag) runs in a child
 *     process (regex_child.ts) that is killed with SIGKILL when an input overruns. (A Worker cannot
 *     be stopped while a regex runs: Deno's terminate() leaves its thread computing.)
 *
 * The rule, in both: each input (a line, a tag) may take at most `perInputMs` (default 500 ms).
 * An input that overruns answers "timeout" and the guard goes on with a fresh worker or process.
 * After `maxTimeouts` (default 10) timed-out inputs the guard stops with {@link RegexBudgetError}:
 * the pattern is unusable and must be simplified. Where neither engine is available (no `l` flag
 * and no permission to start a process) a caller's pattern is refused, never run unguarded.
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
import { killChild, spawnDenoChild } from "../process/deno_child.ts";
import { readFrames, writeFrame } from "../process/frames.ts";
import type { RegexChildFrame, RegexChildJob } from "./regex_child.ts";
import type { RegexResult } from "./regex_run.ts";
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
const CHILD_URL = new URL("./regex_child.ts", import.meta.url);

/** Whether this process has V8's linear-time regex engine (started with V8_FLAGS). */
export const LINEAR_ENGINE_HERE = (() => {
  try {
    new RegExp("", "l");
    return true;
  } catch {
    return false;
  }
})();

type Outcome = RegexResult | typeof TIMEOUT;
/** One run over a list of inputs: the answers of its first inputs, and the input it overran on, if any. */
interface Attempt {
  answered: RegexResult[];
  stuck?: number;
}

/** A caller's regular expression, run with a time limit per input (see the module comment). */
export class RegexGuard {
  readonly limits: RegexLimits;
  /** Which engine runs the pattern: "linear" (no backtracking, in a worker) or "process" (killable). */
  readonly engine: "linear" | "process";
  /** Inputs that overran so far. */
  timeouts = 0;
  private worker: Worker | null = null;
  private child: { process: Deno.ChildProcess; frames: AsyncIterator<unknown>; writer: WritableStreamDefaultWriter<Uint8Array> } | null = null;
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
    const plain = flags.replace(/[gyl]/g, "");
    try {
      new RegExp(source, plain);
    } catch (e) {
      throw new Error(`Cannot use ${what}: it is not a valid regular expression (${(e as Error).message})`);
    }
    this.engine = LINEAR_ENGINE_HERE && compiles(source, plain + "l") ? "linear" : "process";
  }

  /** Per input: its named groups ({} without groups) when the pattern matches, null when not, or "timeout". */
  exec(inputs: readonly string[]): Promise<(Record<string, string | undefined> | null | typeof TIMEOUT)[]> {
    return this.run(inputs, "exec") as Promise<(Record<string, string | undefined> | null | typeof TIMEOUT)[]>;
  }

  /** Per input: whether the pattern matches, or "timeout". */
  test(inputs: readonly string[]): Promise<(boolean | typeof TIMEOUT)[]> {
    return this.run(inputs, "test") as Promise<(boolean | typeof TIMEOUT)[]>;
  }

  /** The process id of the guard's child process while it has one (tests check that it is gone). */
  get pid(): number | null {
    return this.child?.process.pid ?? null;
  }

  /** Ends the worker or process (call when done; a guard can be used again afterwards). */
  close(): void {
    this.worker?.terminate();
    this.worker = null;
    this.endChild();
  }

  private async run(inputs: readonly string[], mode: RegexJob["mode"]): Promise<Outcome[]> {
    const out: Outcome[] = new Array(inputs.length);
    let pending = inputs.map((_, i) => i);
    while (pending.length) {
      const batch = pending.map((i) => inputs[i]);
      const r = this.engine === "linear" ? await this.inWorker(batch, mode) : await this.inProcess(batch, mode);
      r.answered.forEach((x, k) => (out[pending[k]] = x));
      if (r.stuck === undefined) break;
      out[pending[r.stuck]] = TIMEOUT;
      if (++this.timeouts >= this.limits.maxTimeouts) {
        throw new RegexBudgetError(
          `Cannot use ${this.what}: it ran longer than ${this.limits.perInputMs} ms on ${this.timeouts} inputs, so it backtracks ` +
            `catastrophically; simplify it (avoid nested quantifiers such as (a+)+ or (\\w+\\s?)*)`,
        );
      }
      // what was not answered, minus the stuck input (a worker's answers die with it: answered is empty)
      pending = pending.filter((_, k) => k >= r.answered.length && k !== r.stuck);
    }
    return out;
  }

  /**
   * A watchdog for one attempt: `poll` returns the index of the input now running (or null before
   * the first and after the last); past `perInputMs` on one index (or `startupMs` before the first)
   * it calls `onStuck` / `onNoStart` once. Returns the function that stops it.
   */
  private watch(poll: () => number | null, onStuck: (index: number) => void, onNoStart: () => void): () => void {
    const { perInputMs, startupMs } = this.limits;
    const tick = Math.max(5, Math.min(50, Math.floor(perInputMs / 5)));
    const started = performance.now();
    let at: number | null = null, since = started;
    const timer = setInterval(() => {
      const now = performance.now();
      const current = poll();
      if (current === null) {
        if (at === null && now - started > startupMs) {
          clearInterval(timer);
          onNoStart();
        }
        return;
      }
      if (current !== at) {
        at = current;
        since = now;
      } else if (now - since > perInputMs) {
        clearInterval(timer);
        onStuck(current);
      }
    }, tick);
    return () => clearInterval(timer);
  }

  /** One worker run (linear engine): every answer, or the input it overran on (the others are asked again). */
  private inWorker(inputs: string[], mode: RegexJob["mode"]): Promise<Attempt> {
    let worker: Worker;
    try {
      worker = this.worker ??= new Worker(WORKER_URL, { type: "module" });
    } catch (e) {
      throw new RegexUnavailableError(`Cannot use ${this.what}: this runtime cannot run it off the main thread (no worker: ${(e as Error).message})`);
    }
    const cell = new Int32Array(new SharedArrayBuffer(4));
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (fn: () => void, end = false) => {
        if (done) return;
        done = true;
        stop();
        worker.onmessage = worker.onerror = null;
        if (end) {
          // the linear engine finishes the input it was on in time O(pattern × input)
          worker.terminate();
          if (this.worker === worker) this.worker = null;
        }
        fn();
      };
      const stop = this.watch(
        () => {
          const c = Atomics.load(cell, 0);
          return c > 0 ? c - 1 : null;
        },
        (stuck) => finish(() => resolve({ answered: [], stuck }), true),
        () => finish(() => reject(new RegexUnavailableError(`Cannot use ${this.what}: its worker did not start within ${this.limits.startupMs} ms`)), true),
      );
      worker.onmessage = (ev: MessageEvent<RegexAnswer>) =>
        finish(() => ("error" in ev.data ? reject(new Error(`Cannot use ${this.what}: ${ev.data.error}`)) : resolve({ answered: ev.data.results })));
      worker.onerror = (ev: ErrorEvent) => {
        ev.preventDefault();
        finish(() => reject(new RegexUnavailableError(`Cannot use ${this.what}: its worker failed (${ev.message})`)), true);
      };
      worker.postMessage({ source: this.source, flags: this.flags.replace(/l/g, "") + "l", mode, inputs, progress: cell.buffer as SharedArrayBuffer } satisfies RegexJob);
    });
  }

  /** One child-process run: the answers up to the input it overran on (then the process is killed), or all. */
  private async inProcess(inputs: string[], mode: RegexJob["mode"]): Promise<Attempt> {
    const child = await this.startChild();
    const answered: RegexResult[] = [];
    let running = true;
    let outcome: "stuck" | null = null;
    const stop = this.watch(
      () => (running ? answered.length : null),
      () => {
        outcome = "stuck";
        killChild(child.process); // ends the frames below
      },
      () => {},
    );
    try {
      await writeFrame(child.writer, { source: this.source, flags: this.flags, mode, inputs } satisfies RegexChildJob);
      for (;;) {
        const next = await child.frames.next();
        if (next.done) break;
        const f = next.value as RegexChildFrame;
        if ("error" in f) throw new Error(`Cannot use ${this.what}: ${f.error}`);
        if ("result" in f) answered.push(f.result);
        else if ("final" in f) return { answered };
      }
    } catch (e) {
      if (outcome !== "stuck") {
        this.endChild();
        throw e instanceof Error && e.message.startsWith("Cannot use") ? e : new RegexUnavailableError(`Cannot use ${this.what}: its process failed (${(e as Error).message})`);
      }
    } finally {
      running = false;
      stop();
    }
    this.endChild();
    if (outcome === "stuck") return { answered, stuck: answered.length };
    throw new RegexUnavailableError(`Cannot use ${this.what}: its process ended unexpectedly`);
  }

  /** The guard's child process, started (and ready) when needed. */
  private async startChild(): Promise<NonNullable<RegexGuard["child"]>> {
    if (this.child) return this.child;
    let process: Deno.ChildProcess;
    try {
      process = spawnDenoChild(CHILD_URL, []);
    } catch (e) {
      throw new RegexUnavailableError(
        `Cannot use ${this.what}: it needs a process it can be stopped in (it may backtrack: backreferences, lookarounds, ` +
          `the i/u/v flags or counted repeats above 16), and this runtime cannot start one (${(e as Error).message})`,
      );
    }
    const child = { process, frames: readFrames(process.stdout)[Symbol.asyncIterator](), writer: process.stdin.getWriter() };
    this.child = child;
    const timer = setTimeout(() => killChild(process), this.limits.startupMs);
    try {
      const first = await child.frames.next();
      if (first.done || !("ready" in (first.value as RegexChildFrame))) throw new Error("no ready frame");
    } catch {
      this.endChild();
      throw new RegexUnavailableError(`Cannot use ${this.what}: its process did not start within ${this.limits.startupMs} ms`);
    } finally {
      clearTimeout(timer);
    }
    return child;
  }

  private endChild(): void {
    if (!this.child) return;
    const { process, writer } = this.child;
    this.child = null;
    killChild(process);
    writer.close().catch(() => {});
    process.status.catch(() => {});
  }
}

/** Whether `source` compiles with `flags`. */
function compiles(source: string, flags: string): boolean {
  try {
    new RegExp(source, flags);
    return true;
  } catch {
    return false;
  }
}
