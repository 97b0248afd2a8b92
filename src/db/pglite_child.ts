/**
 * The embedded database's own process: owns one PGlite instance and answers the frames of
 * src/db/pglite_host.ts one at a time. PGlite runs on the thread that calls it and ignores
 * statement_timeout; in a process of its own it leaves the server's thread free while an analysis
 * runs, and the host can stop a runaway read-only analysis with SIGKILL (a Worker could not be
 * stopped: see src/process/deno_child.ts). Ends when its stdin closes.
 *
 * Frames in:  { id, op: "open", dataDir } | { id, op: "query", sql, params } |
 *             { id, op: "exec", script } | { id, op: "close" }
 * Frames out: { id, ok: true, rows? } | { id, ok: false, error: { message, code?, detail?, hint? } }
 * Started as: deno run … src/db/pglite_child.ts  (stdout carries frames only: console output goes to stderr)
 */
import { PGlite } from "@electric-sql/pglite";
import { readFrames, writeFrame } from "../process/frames.ts";

/** What crosses back to the host of a failed call (an Error's own fields do not serialise). */
export interface ChildError {
  message: string;
  code?: string;
  detail?: string;
  hint?: string;
}

export type ChildRequest =
  | { id: number; op: "open"; dataDir: string }
  | { id: number; op: "query"; sql: string; params?: unknown[] }
  | { id: number; op: "exec"; script: string }
  | { id: number; op: "close" };

export type ChildReply = { id: number; ok: true; rows?: unknown[] } | { id: number; ok: false; error: ChildError };

function describe(e: unknown): ChildError {
  const err = e as { message?: unknown; code?: unknown; detail?: unknown; hint?: unknown };
  const pick = (v: unknown) => (typeof v === "string" ? v : undefined);
  return { message: pick(err?.message) ?? String(e), code: pick(err?.code), detail: pick(err?.detail), hint: pick(err?.hint) };
}

let pg: PGlite | undefined;

async function handle(m: ChildRequest): Promise<unknown[] | undefined> {
  if (m.op === "open") {
    pg = new PGlite(m.dataDir);
    await pg.waitReady;
    return undefined;
  }
  if (!pg) throw new Error("the embedded database is not open");
  if (m.op === "query") return (await pg.query(m.sql, m.params)).rows;
  if (m.op === "exec") {
    await pg.exec(m.script);
    return undefined;
  }
  await pg.close();
  pg = undefined;
  return undefined;
}

if (import.meta.main) {
  // stdout carries the frames: anything printed goes to stderr instead
  console.log = console.info = console.debug = console.error;
  const out = Deno.stdout.writable.getWriter();
  try {
    for await (const frame of readFrames(Deno.stdin.readable)) {
      const m = frame as ChildRequest;
      let reply: ChildReply;
      try {
        reply = { id: m.id, ok: true, rows: await handle(m) };
      } catch (e) {
        reply = { id: m.id, ok: false, error: describe(e) };
      }
      await writeFrame(out, reply);
    }
  } finally {
    // the host closed our stdin (done, or gone): leave the files consistent
    await pg?.close().catch(() => {});
  }
}
