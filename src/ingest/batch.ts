/**
 * One batch of rows written in one transaction, with a fallback that keeps every good row: when the
 * database refuses the batch because of some row's data (SQLSTATE class 22 data exception, class 23
 * integrity violation other than a foreign key, class 54 limit exceeded), the batch is written again
 * as two halves, each in a transaction of its own, down to single rows. A row refused on its own is
 * rejected with its line and the database's sentence; every other row is stored.
 *
 * This is the safety net behind the checks in TypeScript (storable.ts and each source's mapping),
 * which reject bad records before any SQL; it catches what they do not know about.
 *
 * Why the whole batch body is written again on a part, in a transaction of its own, rather than
 * only the row upsert under savepoints (src/db/savepoint.ts): the statement the database refuses
 * may be any of the batch — the template rows a part's messages need, a move, the rows, the cursor —
 * and each part keeps every statement that belongs to its rows in one transaction with them (the
 * write callback writes only what its part needs). Every ingest write is an idempotent upsert, so a
 * batch stored in several transactions leaves exactly the rows one transaction would; whatever must
 * ride with the end of a batch (an incremental cursor, deployments) is written by the `last`
 * transaction only, after every row before it.
 *
 * A foreign-key violation is not a row's fault (a concurrent run moved a template): it fails the
 * run as before, and its re-run stores the rows.
 *
 * @example
 * await writeBatch(db, rows, { report, lines }, async (tx, part, counts) => {
 *   counts.add("aoma_system_metrics", await upsertRows(tx, "aoma_system_metrics", part));
 * });
 */
import type { Db, Executor } from "../db/types.ts";
import { sqlState } from "../errors.ts";
import { IngestReport } from "./report.ts";

/**
 * Writes `part` inside `tx`, counting into `counts` (a scratch report merged into the run's report
 * only once the transaction committed, so a part written again is never counted twice). `last` is
 * true for the transaction that ends the batch.
 */
export type BatchWrite<R> = (tx: Executor, part: R[], counts: IngestReport, last: boolean) => Promise<void>;

/** True for an error the database raised because of the data of some row. */
export function isRowDataError(e: unknown): boolean {
  const state = sqlState(e);
  return state !== undefined && /^(22|23|54)/.test(state) && state !== "23503";
}

/** The rejection reason of a row the database refused. */
function refusal(e: unknown): string {
  const message = (e instanceof Error ? e.message : String(e)).split("\n")[0].replace(/\.$/, "");
  return `PostgreSQL refused the record: ${message}`;
}

/**
 * Writes `rows` with `write` in one transaction, or — when the database refuses the data of some
 * row — in smaller transactions down to single rows, rejecting only the rows refused on their own
 * (at `lines[i]`, default i + 1). Returns the indexes (into `rows`) of the rejected rows. An empty
 * batch still runs one (`last`) transaction. Other errors are thrown unchanged.
 */
export async function writeBatch<R>(
  db: Db,
  rows: readonly R[],
  opts: { report: IngestReport; lines?: readonly number[] },
  write: BatchWrite<R>,
): Promise<number[]> {
  const { report } = opts;
  const lines = opts.lines ?? rows.map((_, i) => i + 1);
  const attempt = async (part: R[], last: boolean) => {
    const counts = new IngestReport(report.source);
    await db.transaction((tx) => write(tx, part, counts, last));
    report.merge(counts);
  };
  const rejected: number[] = [];
  if (rows.length === 0) {
    await attempt([], true);
    return rejected;
  }
  let first: unknown = null;
  let tailRejected = false;
  const store = async (from: number, to: number, last: boolean): Promise<void> => {
    try {
      await attempt(rows.slice(from, to), last);
    } catch (e) {
      // inside a caller's transaction (a webhook) a retry finds it aborted: the first error stands
      if (first !== null && sqlState(e) === "25P02") throw first;
      if (!isRowDataError(e)) throw e;
      first ??= e;
      if (to - from === 1) {
        rejected.push(from);
        report.reject(lines[from], refusal(e));
        tailRejected = last;
        return;
      }
      const mid = (from + to) >>> 1;
      await store(from, mid, false);
      await store(mid, to, last);
    }
  };
  await store(0, rows.length, true);
  // the row that ended the batch was refused: what rides with the end still gets written
  if (tailRejected) await attempt([], true);
  return rejected;
}
