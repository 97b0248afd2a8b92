/**
 * Runs the `aoma` CLI (src/cli/aoma.ts) as a subprocess, as `npm run aoma` runs it, with a clean
 * environment (no database URL or token unless given). Not a test file itself.
 *
 * @example
 * const r = await aoma(["ingest", "logs", "app.jsonl", "--quiet"], { AOMA_PGLITE_DIR: dir });
 * r.code; r.stdout; r.stderr;
 */
import { V8_FLAGS } from "../../src/process/deno_child.ts";

const CLI = new URL("../../src/cli/aoma.ts", import.meta.url).pathname;
const DENO = Deno.execPath();

/** What one CLI run printed and returned. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export async function aoma(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const out = await new Deno.Command(DENO, {
    args: ["run", "-A", `--v8-flags=${V8_FLAGS}`, CLI, ...args],
    env: { AOMA_DB_URL: "", SUPABASE_DB_URL: "", DATABASE_URL: "", AOMA_SERVICE_TOKEN: "", NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}
