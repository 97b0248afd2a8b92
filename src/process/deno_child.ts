/**
 * Child Deno processes for work that must be stoppable. Deno's Worker.terminate() does not
 * interrupt code that is running (a long statement in PGlite's wasm, a backtracking regex): the
 * ended worker's thread keeps its CPU until that code returns. A child process ends when it is
 * sent SIGKILL, whatever it runs, so the embedded database (src/db/pglite_host.ts) and callers'
 * regular expressions (src/ingest/regex_guard.ts) run in one.
 *
 * A child runs this checkout's deno.json (its imports and lock file) with the V8 flags below and
 * only the permissions it is given; it talks over stdin/stdout in frames (src/process/frames.ts)
 * and ends by itself when its stdin closes (its parent ended or died).
 */

/**
 * The V8 flags every entry point of this project starts with (package.json, scripts/test.sh) and
 * every child gets: V8's linear-time regular-expression engine, for the `l` flag and as the
 * fallback of a regex that backtracks too much (src/ingest/regex_guard.ts).
 */
export const V8_FLAGS = "--enable-experimental-regexp-engine,--enable-experimental-regexp-engine-on-excessive-backtracks";

const ROOT = new URL("../../", import.meta.url);

/** A file URL as a path. */
export function pathOf(url: URL): string {
  return decodeURIComponent(url.pathname);
}

/**
 * Starts `deno run` on `script` with stdin/stdout piped for frames and stderr shown.
 * Throws when this process may not start processes (run with --allow-run or -A).
 *
 * @example
 * const child = spawnDenoChild(new URL("./child.ts", import.meta.url), ["--allow-read"]);
 */
export function spawnDenoChild(script: URL, permissions: string[], args: string[] = []): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      `--v8-flags=${V8_FLAGS}`,
      "--config",
      pathOf(new URL("deno.json", ROOT)),
      ...permissions,
      pathOf(script),
      ...args,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

/** Sends SIGKILL unless the child already ended. */
export function killChild(child: Deno.ChildProcess): void {
  try {
    child.kill("SIGKILL");
  } catch {
    // it already exited
  }
}
