/**
 * The process of regex_guard.ts for patterns that may backtrack (those V8's linear-time engine
 * cannot run: backreferences, lookarounds, the i/u/v flags, counted repeats above 16): runs a
 * caller's regular expression over lists of strings and is killed (SIGKILL) when one string takes
 * too long — the only way to stop a running regex (src/process/deno_child.ts). Started with no
 * permissions at all.
 *
 * Frames in:  { source, flags, mode, inputs }
 * Frames out: { ready: true } once at start; then per request, in order, one { result } per input
 *             as soon as it is answered (written synchronously: the guard always knows which input
 *             is running), then { final: true }; or { error }.
 */
import { readFrames, writeFrameSync } from "../process/frames.ts";
import { answer, compileCached, type RegexResult } from "./regex_run.ts";

/** One request. */
export interface RegexChildJob {
  source: string;
  flags: string;
  mode: "exec" | "test";
  inputs: string[];
}

/** One frame out. */
export type RegexChildFrame = { ready: true } | { result: RegexResult } | { final: true } | { error: string };

if (import.meta.main) {
  writeFrameSync({ ready: true } satisfies RegexChildFrame);
  for await (const frame of readFrames(Deno.stdin.readable)) {
    const { source, flags, mode, inputs } = frame as RegexChildJob;
    try {
      const re = compileCached(source, flags, true);
      for (const input of inputs) writeFrameSync({ result: answer(re, mode, input) } satisfies RegexChildFrame);
      writeFrameSync({ final: true } satisfies RegexChildFrame);
    } catch (e) {
      writeFrameSync({ error: e instanceof Error ? e.message : String(e) } satisfies RegexChildFrame);
    }
  }
}
