/**
 * PGlite in a worker (src/db/pglite_worker.ts), behind the same Db interface as every adapter:
 * the server's embedded database. The HTTP thread only posts messages, so it keeps answering
 * (auth failures, tools/list, queue status) while an analysis runs.
 *
 * Work is serialised (PGlite is one connection): one job — a statement or a whole transaction — at
 * a time, in arrival order. A job whose `signal` aborts while it waits never starts. A read-only
 * transaction whose signal aborts while it runs is stopped by ending the worker and opening the
 * database again in a new one (PGlite ignores statement_timeout); what the stop cost is kept in
 * `stats()`. A read-only transaction has nothing to lose, and PostgreSQL's crash recovery brings
 * the files back to the last commit on the reopen (tests/serving_core_test.ts checks row counts
 * and checksums of every table). Writes are never stopped once they began.
 *
 * A database in memory cannot be reopened, so this adapter needs a data directory.
 */
import { AppError } from "../errors.ts";
import { DATA_VERSION_SQL, NO_DATA_VERSION, throwIfAborted, versionOnError } from "./data_version.ts";
import type { WorkerError, WorkerReply, WorkerRequest } from "./pglite_worker.ts";
import type { Db, Executor, TransactionOptions } from "./types.ts";

/** What the host has done so far (for the README's numbers and the tests). */
export interface PgliteHostStats {
  /** Read-only transactions stopped by ending the worker. */
  stops: number;
  /** Milliseconds the last reopen took (new worker + PGlite open), or null. */
  lastReopenMs: number | null;
  /** Jobs waiting for the database (not counting the running one). */
  waiting: number;
  /** True while the database is being opened again after a stop. */
  reopening: boolean;
  /** True while a job runs in the worker. */
  busy: boolean;
}

export interface PgliteHostDb extends Db {
  stats(): PgliteHostStats;
}

function toError(e: WorkerError): Error {
  return Object.assign(new Error(e.message), { code: e.code, detail: e.detail, hint: e.hint });
}


/** A request without its id (the host numbers them). */
type Message = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, "id"> : never) : never;
type Send = <R>(msg: Message) => Promise<R>;

/** One worker and its open database; `dead` once it was ended (its calls then reject). */
class Generation {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  #next = 1;
  #deadReason: unknown = null;

  constructor(dataDir: string) {
    this.worker = new Worker(new URL("./pglite_worker.ts", import.meta.url), { type: "module" });
    this.worker.onmessage = (ev: MessageEvent<WorkerReply>) => {
      const r = ev.data;
      const p = this.#pending.get(r.id);
      if (!p) return;
      this.#pending.delete(r.id);
      if (r.ok) p.resolve(r.rows);
      else p.reject(toError(r.error));
    };
    this.worker.onerror = (ev) => {
      ev.preventDefault();
      this.end(new AppError(503, `Cannot use the embedded database: its worker stopped (${ev.message}).`));
    };
    this.ready = this.send({ op: "open", dataDir }).then(() => undefined);
  }

  get dead(): boolean {
    return this.#deadReason !== null;
  }

  send: Send = <R>(msg: Message): Promise<R> => {
    if (this.#deadReason !== null) return Promise.reject(this.#deadReason);
    const id = this.#next++;
    return new Promise<R>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...msg, id });
    });
  };

  /** Ends the worker; every call still waiting rejects with `reason`. */
  end(reason: unknown): void {
    if (this.#deadReason !== null) return;
    this.#deadReason = reason;
    this.worker.terminate();
    for (const p of this.#pending.values()) p.reject(reason);
    this.#pending.clear();
  }
}

/**
 * Opens the database in `dataDir` in a worker.
 *
 * @example
 * const db = await openPgliteWorker(".data/pglite");
 * await db.transaction((tx) => tx.query("select 1"), { readOnly: true, signal: AbortSignal.timeout(30_000) });
 */
export async function openPgliteWorker(dataDir: string): Promise<PgliteHostDb> {
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

  const reopen = (reason: unknown) => {
    gen.end(reason);
    stops++;
    const started = performance.now();
    gen = new Generation(dataDir);
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
    stats: () => ({ stops, lastReopenMs, waiting, reopening, busy }),
    close: () =>
      serial(async (ex) => {
        await ex.exec("checkpoint").catch(() => {});
        await gen.send({ op: "close" });
        gen.end(new AppError(503, "Cannot use the embedded database: it was closed."));
      }),
  };
}
