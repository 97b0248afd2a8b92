/**
 * The embedded database's own thread: a Deno Worker that owns one PGlite instance and answers the
 * messages of src/db/pglite_host.ts one at a time. PGlite runs on the thread that calls it, so
 * keeping it here leaves the HTTP thread free while an analysis runs, and lets the host stop a
 * runaway read-only analysis by ending this worker (PGlite ignores statement_timeout).
 *
 * Messages in:  { id, op: "open", dataDir } | { id, op: "query", sql, params } |
 *               { id, op: "exec", script } | { id, op: "close" }
 * Messages out: { id, ok: true, rows? } | { id, ok: false, error: { message, code?, detail?, hint? } }
 */
import { PGlite } from "@electric-sql/pglite";

/** What crosses back to the host of a failed call (an Error's own fields do not clone). */
export interface WorkerError {
  message: string;
  code?: string;
  detail?: string;
  hint?: string;
}

export type WorkerRequest =
  | { id: number; op: "open"; dataDir: string }
  | { id: number; op: "query"; sql: string; params?: unknown[] }
  | { id: number; op: "exec"; script: string }
  | { id: number; op: "close" };

export type WorkerReply = { id: number; ok: true; rows?: unknown[] } | { id: number; ok: false; error: WorkerError };

let pg: PGlite | undefined;

/** This worker's global scope (the default lib types `self` as a window). */
const scope = self as unknown as {
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(message: WorkerReply): void;
};

function describe(e: unknown): WorkerError {
  const err = e as { message?: unknown; code?: unknown; detail?: unknown; hint?: unknown };
  const pick = (v: unknown) => (typeof v === "string" ? v : undefined);
  return { message: pick(err?.message) ?? String(e), code: pick(err?.code), detail: pick(err?.detail), hint: pick(err?.hint) };
}

async function handle(m: WorkerRequest): Promise<unknown[] | undefined> {
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

// one message at a time, in arrival order (the host also sends one at a time)
let chain: Promise<void> = Promise.resolve();
scope.onmessage = (event: MessageEvent<WorkerRequest>) => {
  const m = event.data;
  chain = chain.then(async () => {
    let reply: WorkerReply;
    try {
      reply = { id: m.id, ok: true, rows: await handle(m) };
    } catch (e) {
      reply = { id: m.id, ok: false, error: describe(e) };
    }
    scope.postMessage(reply);
  });
};
