/**
 * The worker of regex_guard.ts: runs a caller's regular expression over a list of strings, off the
 * main thread. Before each string it stores the string's index + 1 in the shared progress cell, so
 * the guard sees which string a run is stuck on and can end this worker; after the list it stores
 * -1. It imports nothing and touches nothing but its messages.
 */

/** A request: the expression, what to compute, the inputs, and the shared progress cell. */
export interface RegexJob {
  source: string;
  flags: string;
  mode: "exec" | "test";
  inputs: string[];
  progress: SharedArrayBuffer;
}

/** The answer: per input, its named groups ({} when it has none) or null (exec), or a boolean (test). */
export type RegexAnswer = { results: (Record<string, string | undefined> | null | boolean)[] } | { error: string };

let compiled: { key: string; re: RegExp } | null = null;

// deno-lint-ignore no-explicit-any
const scope = self as any;
scope.onmessage = (ev: MessageEvent<RegexJob>) => {
  const { source, flags, mode, inputs, progress } = ev.data;
  const cell = new Int32Array(progress);
  try {
    const key = `${flags}/${source}`;
    if (compiled?.key !== key) compiled = { key, re: new RegExp(source, flags.replace(/[gy]/g, "")) };
    const re = compiled.re;
    const results: (Record<string, string | undefined> | null | boolean)[] = new Array(inputs.length);
    for (let i = 0; i < inputs.length; i++) {
      Atomics.store(cell, 0, i + 1);
      if (mode === "test") results[i] = re.test(inputs[i]);
      else {
        const m = re.exec(inputs[i]);
        results[i] = m ? { ...(m.groups ?? {}) } : null;
      }
    }
    Atomics.store(cell, 0, -1);
    scope.postMessage({ results } satisfies RegexAnswer);
  } catch (e) {
    Atomics.store(cell, 0, -1);
    scope.postMessage({ error: e instanceof Error ? e.message : String(e) } satisfies RegexAnswer);
  }
};
