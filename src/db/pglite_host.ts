/**
 * PGlite in a process of its own (src/db/pglite_child.ts), behind the same Db interface as every
 * adapter: the server's embedded database. The HTTP thread only writes frames to a pipe, so it
 * keeps answering (auth failures, tools/list, queue status) while an analysis runs.
 *
 * Work is serialised (PGlite is one connection): one job — a statement or a whole transaction — at
 * a time, in arrival order. A job whose `signal` aborts while it waits never starts. A read-only
 * transaction whose signal aborts while it runs is stopped by killing the process (SIGKILL: PGlite
 * ignores statement_timeout, and a Worker cannot be stopped while it computes) and opening the
 * database again in a new one once the old one has exited; what the stop cost is kept in
 * `stats()`. A read-only transaction has nothing to lose, and PostgreSQL's crash recovery brings
 * the files back to the last commit on the reopen (tests/serving_core_test.ts checks row counts
 * and checksums of every table, and that the killed process is gone). Writes are never stopped
 * once they began.
 *
 * A database in memory cannot be reopened, so this adapter needs a data directory.
 */
import { AppError } from "../errors.ts";
import { killChild, spawnDenoChild } from "../process/deno_child.ts";
import { readFrames, writeFrame } from "../process/frames.ts";
import { DATA_VERSION_SQL, NO_DATA_VERSION, throwIfAborted, versionOnError } from "./data_version.ts";
import type { ChildError, ChildReply, ChildRequest } from "./pglite_child.ts";
import type { Db, Executor, TransactionOptions } from "./types.ts";

/** What the host has done so far (for the README's numbers and the tests). */
export interface PgliteHostStats {
  /** Read-only transactions stopped by killing the database's process. */
  stops: number;
  /** Milliseconds the last reopen took (the old process exits, a new one starts and opens PGlite), or null. */
  lastReopenMs: number | null;
  /** Jobs waiting for the database (not counting the running one). */
  waiting: number;
  /** True while the database is being opened again after a stop. */
  reopening: boolean;
  /** True while a job runs in the database. */
  busy: boolean;
  /** The database process's id (null while it starts). */
  pid: number | null;
}

export interface PgliteHostDb extends Db {
  stats(): PgliteHostStats;
}

function toError(e: ChildError): Error {
  return Object.assign(new Error(e.message), { code: e.code, detail: e.detail, hint: e.hint });
}


/** A request without its id (the host numbers them). */
type Message = ChildRequest extends infer R ? (R extends ChildRequest ? Omit<R, "id"> : never) : never;
type Send = <R>(msg: Message) => Promise<R>;

/** The permissions of the database's process: read (PGlite's own files), write its data directory. */
function childPermissions(dataDir: string): string[] {
  return ["--allow-read", `--allow-write=${dataDir}`, "--allow-env"];
}

/**
 * One process and its open database; `dead` once it was ended (its calls then reject). It starts
 * only after `previous` has exited, so two processes never share the data directory.
 */
class Generation {
  readonly ready: Promise<void>;
  /** Resolves once the process has exited (or never started). */
  readonly exited: Promise<void>;
  #child: Deno.ChildProcess | null = null;
  #writer: WritableStreamDefaultWriter<Uint8Array> | null = null;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  #next = 1;
  #deadReason: unknown = null;
  #markExited!: () => void;

  constructor(dataDir: string, previous: Promise<void> = Promise.resolve()) {
    this.exited = new Promise((r) => (this.#markExited = r));
    this.ready = previous.then(() => {
      if (this.dead) throw this.#deadReason;
      let child: Deno.ChildProcess;
      try {
        child = spawnDenoChild(new URL("./pglite_child.ts", import.meta.url), childPermissions(dataDir));
      } catch (e) {
        throw new AppError(503, `Cannot open the embedded database: its process would not start (${(e as Error).message}); run with --allow-run (or -A).`);
      }
      this.#child = child;
      this.#writer = child.stdin.getWriter();
      child.status.then((st) => {
        this.end(new AppError(503, `Cannot use the embedded database: its process ended (${st.signal ?? `exit code ${st.code}`}).`));
        this.#markExited();
      });
      this.#read(child.stdout);
      return this.send({ op: "open", dataDir });
    }).then(() => undefined);
    this.ready.catch(() => {}); // (its awaiters see the rejection)
  }

  get dead(): boolean {
    return this.#deadReason !== null;
  }

  /** The process id, once started. */
  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  async #read(stdout: ReadableStream<Uint8Array>): Promise<void> {
    try {
      for await (const frame of readFrames(stdout)) {
        const r = frame as ChildReply;
        const p = this.#pending.get(r.id);
        if (!p) continue;
        this.#pending.delete(r.id);
        if (r.ok) p.resolve(r.rows);
        else p.reject(toError(r.error));
      }
    } catch (e) {
      this.end(new AppError(503, `Cannot use the embedded database: its process answered garbage (${(e as Error).message}).`));
    }
  }

  send: Send = <R>(msg: Message): Promise<R> => {
    if (this.#deadReason !== null) return Promise.reject(this.#deadReason);
    const id = this.#next++;
    return new Promise<R>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      writeFrame(this.#writer!, { ...msg, id }).catch((e) =>
        this.end(new AppError(503, `Cannot use the embedded database: its process stopped reading (${(e as Error).message}).`))
      );
    });
  };

  /** Ends the process with SIGKILL; every call still waiting rejects with `reason`. */
  end(reason: unknown): void {
    if (this.#deadReason !== null) return;
    this.#deadReason = reason;
    if (this.#child) killChild(this.#child);
    else this.#markExited(); // never started (it will not: `ready` sees `dead`)
    for (const p of this.#pending.values()) p.reject(reason);
    this.#pending.clear();
  }

  /** Closes the database, then the process's stdin; resolves once it exited. */
  async close(): Promise<void> {
    try {
      await this.send({ op: "close" });
      await this.#writer?.close();
    } finally {
      // a process that does not exit on its own within 10 s is killed
      const timer = setTimeout(() => this.#child && killChild(this.#child), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
  }
}

/**
 * Opens the database in `dataDir` in a process of its own.
 *
 * @example
 * const db = await openPgliteProcess(".data/pglite");
 * await db.transaction((tx) => tx.query("select 1"), { readOnly: true, signal: AbortSignal.timeout(30_000) });
 */
export async function openPgliteProcess(dataDir: string): Promise<PgliteHostDb> {
  let gen = new Generation(dataDir);
  await gen.ready;
  let version = NO_DATA_VERSION;
  let stops = 0;
  let lastReopenMs: number | null = null;
  let waiting = 0;
  let unread = 0;
  let reopening = false;
  let busy = false;

  const readVersion = async (g: Generation) => {
    try {
      const rows = await g.send<{ v: string }[]>({ op: "query", sql: DATA_VERSION_SQL });
      version = rows[0]?.v ?? NO_DATA_VERSION;
    } catch (e) {
      try {
        version = versionOnError(e); // before the migrations: nothing to key on
      } catch {
        version = `unread-${++unread}`; // unknown: nothing cached under an older version may answer
      }
    }
  };
  await readVersion(gen);

  let closed = false;
  /** Kills the process (a stop, counted) or replaces one that died by itself (not counted). */
  const reopen = (reason: unknown, counted = true) => {
    const old = gen;
    old.end(reason);
    if (counted) stops++;
    const started = performance.now();
    gen = new Generation(dataDir, old.exited);
    const g = gen;
    reopening = true;
    g.ready.then(() => (lastReopenMs = performance.now() - started), (e) => console.error("Cannot reopen the embedded database:", e))
      .finally(() => g === gen && (reopening = false));
  };

  const executorOf = (g: Generation): Executor => ({
    query: <T>(sql: string, params?: unknown[]) => g.send<T[]>({ op: "query", sql, params }),
    exec: (script: string) => g.send<void>({ op: "exec", script }),
  });

  let chain: Promise<unknown> = Promise.resolve();
  /** Runs `job` when every earlier job is done; see the module comment for `opts`. */
  const serial = <T>(job: (ex: Executor) => Promise<T>, opts: TransactionOptions = {}): Promise<T> => {
    const { signal, readOnly } = opts;
    waiting++;
    const run = chain.then(async () => {
      waiting--;
      throwIfAborted(signal);
      if (gen.dead && !closed) reopen(null, false); // its process died (a crash): start another
      await gen.ready;
      throwIfAborted(signal); // it may have been aborted while the database reopened
      const g = gen;
      const stop = () => {
        if (g === gen && !g.dead) reopen(signal!.reason);
      };
      if (readOnly) signal?.addEventListener("abort", stop, { once: true });
      busy = true;
      try {
        return await job(executorOf(g));
      } catch (e) {
        throw signal?.aborted ? signal.reason : e;
      } finally {
        busy = false;
        signal?.removeEventListener("abort", stop);
        if (!readOnly && !g.dead) await readVersion(g);
      }
    });
    chain = run.catch(() => undefined);
    if (!signal) return run;
    // a waiting job answers at once when aborted (it is skipped when its turn comes)
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      if (signal.aborted) onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      run.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
  };

  return {
    engine: "pglite",
    query: (sql, params) => serial((ex) => ex.query(sql, params)),
    exec: (script) => serial((ex) => ex.exec(script)),
    transaction: <T>(fn: (tx: Executor) => Promise<T>, opts: TransactionOptions = {}) =>
      serial(async (ex) => {
        await ex.exec("begin");
        try {
          const result = await fn(ex);
          await ex.exec("commit");
          return result;
        } catch (e) {
          await ex.exec("rollback").catch(() => {});
          throw e;
        }
      }, opts),
    dataVersion: () => Promise.resolve(version),
    stats: () => ({ stops, lastReopenMs, waiting, reopening, busy, pid: gen.pid }),
    close: () =>
      serial(async (ex) => {
        await ex.exec("checkpoint").catch(() => {});
        closed = true;
        await gen.close();
      }),
  };
}
