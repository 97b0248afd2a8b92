/**
 * Starts the real server (`deno run -A src/cli/start.ts`) as a child process for black-box tests:
 * a free loopback port, a fresh PGlite folder, a random JWT secret, and a token minted by
 * `src/cli/token.ts` with the same environment. One server is meant to be shared by all steps of
 * a test file (start it in the test, stop it in `finally`).
 *
 * @example
 * const server = await startServerProcess({ demo: "planted" });
 * try {
 *   const res = await fetch(server.url, { method: "POST", headers: { authorization: `Bearer ${server.token}` } });
 * } finally {
 *   await server.stop();
 * }
 */

/** Repository root: the server and token CLIs run with this as their working directory. */
export const REPO_ROOT: string = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

/** Path of the MCP endpoint on the server. */
export const MCP_PATH = "/functions/v1/mcp";

/** Path that answers 200 once the server accepts requests (used to wait for readiness). */
export const READY_PATH = "/.well-known/oauth-protected-resource";

/** How long a first start may take: deno type-checks/compiles, PGlite migrates and loads demo data. */
const DEFAULT_READY_TIMEOUT_MS = 180_000;

/** Options of {@link startServerProcess}. */
export interface StartServerOptions {
  /** Demo data to load into the empty database (`--demo`); default "planted". */
  demo?: "planted" | "null";
  /** Seed passed as `--seed` when given. */
  seed?: number;
  /** Give up waiting for readiness after this many milliseconds; default 180 s. */
  readyTimeoutMs?: number;
  /** A Postgres database to serve (AOMA_DB_URL) instead of a fresh PGlite folder, e.g. a scratch database of tests/_engines.ts. */
  dbUrl?: string;
  /** The longest a tool call may run (AOMA_CALL_DEADLINE_MS); default the server's own (30 s). */
  callDeadlineMs?: number;
}

/** A running server child process. */
export interface ServerProcess {
  /** Full URL of the MCP endpoint, e.g. http://127.0.0.1:40123/functions/v1/mcp. */
  url: string;
  /** Origin of the server, e.g. http://127.0.0.1:40123. */
  origin: string;
  /** A bearer token the server accepts (role authenticated). */
  token: string;
  /** The port the server listens on. */
  port: number;
  /** The last `maxChars` characters (default 3000) the server wrote to stdout and to stderr (for failure messages). */
  output(maxChars?: number): string;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and removes its temp folder. Idempotent. */
  stop(): Promise<void>;
}

/** Environment variables of the server that the tests do not pass on (see startServerProcess). */
const _INHERITED_SETTINGS = [
  "AOMA_DB_URL",
  "SUPABASE_DB_URL",
  "DATABASE_URL",
  "AOMA_JWKS_URL",
  "AOMA_JWT_AUDIENCE",
  "AOMA_PUBLIC_URL",
  "AOMA_ALLOWED_ORIGINS",
  "AOMA_ALLOWED_HOSTS",
];

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Keeps the last `limit` characters written to a stream, and resolves when the stream ends. */
class _Tail {
  #text = "";
  readonly done: Promise<void>;
  constructor(stream: ReadableStream<Uint8Array>, private limit = 20_000) {
    this.done = (async () => {
      const decoder = new TextDecoder();
      try {
        for await (const chunk of stream) this.#push(decoder.decode(chunk, { stream: true }));
      } catch {
        // the stream errors when the process is killed mid-write; what was read is kept
      }
    })();
  }
  #push(s: string) {
    this.#text = (this.#text + s).slice(-this.limit);
  }
  get text(): string {
    return this.#text;
  }
}

function randomSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * sh script: runs "$@" (the server), stops it once stdin reaches EOF (TERM, KILL after 5 s),
 * removes $AOMA_E2E_TEMP_DIR when the server is gone, and exits with the server's status.
 * Background jobs of a non-interactive shell get /dev/null as stdin, hence the pipe on fd 3.
 * The shells trap HUP/INT/TERM with a no-op so that a signal to the whole process group (Ctrl-C
 * in a terminal) stops the server but not the clean-up; the server itself keeps default handling.
 */
const _WATCHDOG = `
trap : HUP INT TERM
exec 3<&0
"$@" </dev/null 3<&- &
server=$!
(
  trap : HUP INT TERM
  while read -r _ <&3; do :; done
  kill -TERM "$server" 2>/dev/null
  i=0
  while [ $i -lt 50 ] && kill -0 "$server" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
  kill -KILL "$server" 2>/dev/null
) >/dev/null 2>&1 &
watch=$!
# Only the server keeps the output pipes: a shell message ("Killed", …) written to a pipe
# whose reader has died would end this shell by SIGPIPE before its clean-up.
exec 3<&- >/dev/null 2>&1
while :; do
  wait "$server"
  code=$?
  kill -0 "$server" 2>/dev/null || break
done
kill -KILL "$watch" 2>/dev/null
rm -rf "$AOMA_E2E_TEMP_DIR"
exit $code
`;

/** Runs `deno run -A src/cli/token.ts --role authenticated` and returns the JWT it prints. */
async function mintToken(env: Record<string, string>): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "src/cli/token.ts", "--role", "authenticated"],
    cwd: REPO_ROOT,
    clearEnv: true,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const jwt = stdout.split(/\s+/).find((w) => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(w));
  if (!out.success || !jwt) {
    throw new Error(
      `Cannot mint a token: src/cli/token.ts exited with ${out.code} and printed no JWT.\n` +
        `stdout: ${stdout}\nstderr: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return jwt;
}

/**
 * Starts the server on a free loopback port with a fresh PGlite folder (or opts.dbUrl) and a random
 * AOMA_JWT_SECRET, waits until GET {@link READY_PATH} answers 200, and mints a token.
 * Throws (after stopping the child and removing the folder) when the server exits early or is
 * not ready within `readyTimeoutMs`; the message carries the server's last output.
 */
export async function startServerProcess(opts: StartServerOptions = {}): Promise<ServerProcess> {
  // The free port may be taken between freePort() and the server's bind: then try another one.
  for (let attempt = 1;; attempt++) {
    try {
      return await _startOnce(opts);
    } catch (e) {
      if (attempt >= 3 || !/AddrInUse|address already in use/i.test((e as Error).message)) throw e;
    }
  }
}

async function _startOnce(opts: StartServerOptions): Promise<ServerProcess> {
  const demo = opts.demo ?? "planted";
  const readyTimeoutMs = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const tempDir = await Deno.makeTempDir({ prefix: "aoma-e2e-" });
  const port = freePort();
  const origin = `http://127.0.0.1:${port}`;
  // Hermetic: settings inherited from the developer's shell must not point the server at a real
  // database or another identity provider, so the child gets a copy of our environment without them.
  const inherited = Deno.env.toObject();
  for (const name of _INHERITED_SETTINGS) delete inherited[name];
  const env: Record<string, string> = {
    ...inherited,
    AOMA_PGLITE_DIR: `${tempDir}/pglite`,
    AOMA_JWT_SECRET: randomSecret(),
    AOMA_JWT_ISSUER: `${origin}/auth/v1`,
    // never touch the developer's .data/jwt-secret, even if the variable above were ignored
    AOMA_JWT_SECRET_FILE: `${tempDir}/jwt-secret`,
    NO_COLOR: "1",
  };
  if (opts.dbUrl) env.AOMA_DB_URL = opts.dbUrl;
  if (opts.callDeadlineMs !== undefined) env.AOMA_CALL_DEADLINE_MS = String(opts.callDeadlineMs);
  const args = ["run", "-A", "src/cli/start.ts", "--port", String(port), "--host", "127.0.0.1", "--demo", demo];
  if (opts.seed !== undefined) args.push("--seed", String(opts.seed));

  // The server runs under a small sh watchdog holding a pipe from this process: when the pipe
  // closes — stop(), or this test process ending in any way (Ctrl-C, kill -9) — the watchdog
  // stops the server (TERM, KILL after 5 s) and removes the temp folder.
  const child = new Deno.Command("/bin/sh", {
    args: ["-c", _WATCHDOG, "aoma-e2e-watchdog", Deno.execPath(), ...args],
    cwd: REPO_ROOT,
    clearEnv: true,
    env: { ...env, AOMA_E2E_TEMP_DIR: tempDir },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = new _Tail(child.stdout);
  const stderr = new _Tail(child.stderr);
  const output = (maxChars = 3000) =>
    `--- server stdout (tail) ---\n${stdout.text.slice(-maxChars)}\n--- server stderr (tail) ---\n${stderr.text.slice(-maxChars)}`;
  let exited: Deno.CommandStatus | undefined;
  const status = child.status.then((s) => (exited = s));

  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      await child.stdin.close().catch(() => {});
      const timer = setTimeout(() => {
        try {
          if (!exited) child.kill("SIGKILL"); // the watchdog itself hangs: give up on it
        } catch { /* already gone */ }
      }, 15_000);
      await status;
      clearTimeout(timer);
      await Promise.all([stdout.done, stderr.done]);
      await Deno.remove(tempDir, { recursive: true }).catch(() => {});
    })();

  try {
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (exited) throw new Error(`Cannot start the server: it exited with code ${exited.code} before it was ready.`);
      if (Date.now() > deadline) {
        throw new Error(`Cannot start the server: ${origin}${READY_PATH} did not answer 200 within ${readyTimeoutMs} ms.`);
      }
      try {
        const res = await fetch(`${origin}${READY_PATH}`, { signal: AbortSignal.timeout(5_000) });
        await res.body?.cancel();
        if (res.status === 200) break;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const token = await mintToken(env);
    return { url: `${origin}${MCP_PATH}`, origin, token, port, output, stop };
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\n${output(20_000)}`, { cause: e });
  }
}
