/**
 * What the regex guard's worker (regex_worker.ts) and process (regex_child.ts) both do with a
 * caller's pattern: compile it once, answer one input at a time. No imports, no I/O.
 */

/** Per input: its named groups ({} when it has none) or null (exec), or a boolean (test). */
export type RegexResult = Record<string, string | undefined> | null | boolean;

let compiled: { key: string; re: RegExp } | null = null;

/**
 * The pattern compiled with `flags` (g and y dropped: every input is matched from its start),
 * cached for the next batch. With `tryLinear`, V8's linear-time engine (the `l` flag) is used when
 * this process has it and the pattern is one it can run.
 */
export function compileCached(source: string, flags: string, tryLinear = false): RegExp {
  const plain = flags.replace(/[gy]/g, "");
  const key = `${tryLinear}/${plain}/${source}`;
  if (compiled?.key === key) return compiled.re;
  let re: RegExp | null = null;
  if (tryLinear && !plain.includes("l")) {
    try {
      re = new RegExp(source, plain + "l");
    } catch {
      re = null; // not runnable in linear time (or no such engine here): the backtracking engine
    }
  }
  compiled = { key, re: re ?? new RegExp(source, plain) };
  return compiled.re;
}

/** The answer for one input. */
export function answer(re: RegExp, mode: "exec" | "test", input: string): RegexResult {
  if (mode === "test") return re.test(input);
  const m = re.exec(input);
  return m ? { ...(m.groups ?? {}) } : null;
}
