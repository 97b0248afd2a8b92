/**
 * The worker of regex_guard.ts for patterns V8's linear-time engine runs (the `l` flag is in the
 * flags it gets): runs a caller's regular expression over a list of strings, off the main thread.
 * Before each string it stores the string's index + 1 in the shared progress cell, so the guard sees
 * which string a run is on and can give up on it; after the list it stores -1.
 */
import { answer, compileCached, type RegexResult } from "./regex_run.ts";

/** A request: the expression, what to compute, the inputs, and the shared progress cell. */
export interface RegexJob {
  source: string;
  flags: string;
  mode: "exec" | "test";
  inputs: string[];
  progress: SharedArrayBuffer;
}

/** The answer: one result per input, or the error. */
export type RegexAnswer = { results: RegexResult[] } | { error: string };

// deno-lint-ignore no-explicit-any
const scope = self as any;
scope.onmessage = (ev: MessageEvent<RegexJob>) => {
  const { source, flags, mode, inputs, progress } = ev.data;
  const cell = new Int32Array(progress);
  try {
    const re = compileCached(source, flags);
    const results: RegexResult[] = new Array(inputs.length);
    for (let i = 0; i < inputs.length; i++) {
      Atomics.store(cell, 0, i + 1);
      results[i] = answer(re, mode, inputs[i]);
    }
    Atomics.store(cell, 0, -1);
    scope.postMessage({ results } satisfies RegexAnswer);
  } catch (e) {
    Atomics.store(cell, 0, -1);
    scope.postMessage({ error: e instanceof Error ? e.message : String(e) } satisfies RegexAnswer);
  }
};
