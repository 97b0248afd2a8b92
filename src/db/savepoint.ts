/**
 * Running part of a transaction so that its failure does not end the transaction: the part's
 * statements are undone, the error is thrown to the caller, and the transaction goes on (a tool then
 * degrades that part to a note instead of losing the whole answer).
 */
import type { Executor } from "./types.ts";

let counter = 0;

/**
 * Runs `fn` inside a savepoint of `tx`: released when it resolves, rolled back to when it throws
 * (the error is rethrown). Uses the adapter's savepoint API where it has one.
 *
 * @example
 * try {
 *   drivers = await withSavepoint(tx, (sp) => sp.query("select * from analytics.explain_drivers()"));
 * } catch (e) {
 *   notes.push(`No driver model: ${(e as Error).message}`);
 * }
 */
export async function withSavepoint<T>(tx: Executor, fn: (tx: Executor) => Promise<T>): Promise<T> {
  if (tx.savepoint) return await tx.savepoint(fn);
  const name = `aoma_sp_${++counter}`;
  await tx.query(`savepoint ${name}`);
  try {
    const result = await fn(tx);
    await tx.query(`release savepoint ${name}`);
    return result;
  } catch (e) {
    await tx.query(`rollback to savepoint ${name}`);
    throw e;
  }
}
