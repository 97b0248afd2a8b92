/**
 * The one place where a thrown error becomes the sentence of a tool error (`isError: true`).
 * Never a stack trace: AppError sentences and Postgres errors raised on purpose (SQLSTATE 22023
 * invalid_parameter_value, P0001 raise_exception) pass their message; a statement timeout says so;
 * any other database error is reported by its SQLSTATE only; anything else is "internal error".
 */
import { isAppError, sqlState } from "../errors.ts";

/** SQLSTATEs whose message was written for the user (see sql/: `raise … using errcode`). */
const USER_FACING = new Set(["22023", "P0001"]);

/** The user-facing sentence for an error thrown by tool `tool`. Logs what it hides. */
export function toolErrorMessage(tool: string, e: unknown): string {
  if (isAppError(e)) return e.message;
  const state = sqlState(e);
  if (state && USER_FACING.has(state)) return sentence((e as Error).message);
  if (e instanceof DOMException && e.name === "AbortError") {
    return `Cannot run ${tool}: the call was cancelled (the client closed its request).`;
  }
  if (state === "57014") {
    return `Cannot run ${tool}: the analysis took longer than the statement timeout; narrow the time range or the list of features.`;
  }
  console.error(`Tool ${tool} failed:`, e);
  if (state) return `Cannot run ${tool}: database error (${state}).`;
  return `Cannot run ${tool}: internal error.`;
}

/**
 * The note for one part of an answer that failed while the rest stands (a chart, the driver model):
 * the database's own sentence where it was written for the user, else a plain "could not be
 * computed" (the error is logged). A call that was cancelled or ran past its deadline is not a
 * part's failure: `signal`'s reason is thrown instead.
 */
export function partFailureNote(part: string, e: unknown, signal?: AbortSignal): string {
  if (signal?.aborted) throw signal.reason;
  if (isAppError(e)) return `${part}: ${e.message}`;
  const state = sqlState(e);
  if (state && USER_FACING.has(state)) return sentence(`${part}: ${(e as Error).message}`);
  console.error(`${part}:`, e);
  return `${part}: it could not be computed on this data.`;
}

function sentence(s: string): string {
  const t = s.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}
