/**
 * Runs database work as the caller, the way PostgREST does: one read-only transaction, the caller's
 * role set locally, their JWT claims in `request.jwt.claims`, and a statement timeout. Grants and
 * row-level security then decide what the caller sees, not the endpoint's code.
 *
 * PGlite ignores `statement_timeout`, so tools must also bound their work by input limits.
 */
import { AppError } from "../errors.ts";
import type { Db, Executor } from "./types.ts";

/** Roles a caller may assume. `anon` and anything else are refused. */
export const CALLER_ROLES = ["authenticated", "service_role"] as const;
export type CallerRole = typeof CALLER_ROLES[number];

/** Who is calling: the database role to assume and the verified JWT claims. */
export interface Caller {
  role: CallerRole;
  claims: Record<string, unknown>;
}

/** Default statement timeout for a caller's transaction, milliseconds. */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 15_000;

/** True when `role` is one a caller may assume. */
export function isCallerRole(role: unknown): role is CallerRole {
  return typeof role === "string" && (CALLER_ROLES as readonly string[]).includes(role);
}

/**
 * Runs `fn` inside ONE read-only transaction as `caller`.
 *
 * - `set transaction read only`: any write inside fails with SQLSTATE 25006 — unless `readOnly:
 *   false`, for the few calls that write on purpose (registering an anomaly monitor), where the
 *   role's grants alone decide (service_role may; authenticated may not).
 * - `set_config('role', …, true)` with the role from the allowlist (authenticated, service_role);
 *   any other role is refused with AppError 403 before the database is touched.
 * - `set_config('request.jwt.claims', <claims json>, true)` and `statement_timeout` (default 15 s).
 * - `signal` (the call's deadline, the client leaving) cancels the work: see TransactionOptions.
 *
 * The transaction always ends (commit of a read-only transaction changes nothing; a throw rolls back).
 *
 * @example
 * const n = await withCaller(db, { role: "authenticated", claims: { sub: "u1" } },
 *   (tx) => tx.query("select count(*)::int as n from aoma.incidents"));
 */
export async function withCaller<T>(
  db: Db,
  caller: Caller,
  fn: (tx: Executor) => Promise<T>,
  opts: { statementTimeoutMs?: number; signal?: AbortSignal; readOnly?: boolean } = {},
): Promise<T> {
  if (!isCallerRole(caller?.role)) {
    throw new AppError(
      403,
      `Cannot run as role "${String(caller?.role)}": only ${CALLER_ROLES.join(" and ")} may call the analytics.`,
    );
  }
  const timeout = Math.trunc(opts.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS);
  if (!(timeout > 0)) throw new AppError(500, `Cannot run as caller: statement timeout must be positive; got ${timeout}.`);
  const readOnly = opts.readOnly ?? true;
  return await db.transaction(async (tx) => {
    if (readOnly) await tx.query("set transaction read only");
    await tx.query(
      `select set_config('role', $1, true), set_config('request.jwt.claims', $2, true),
              set_config('statement_timeout', $3, true)`,
      [caller.role, JSON.stringify(caller.claims ?? {}), String(timeout)],
    );
    return await fn(tx);
  }, { readOnly, signal: opts.signal });
}

/**
 * A Db whose every statement runs as `role`, for the server's own writes (the ingest function runs
 * as service_role): each transaction begins with `set_config('role', role, true)`, and `query` or
 * `exec` outside a transaction gets a transaction of its own. So the connection's login user — a
 * superuser locally, `authenticator` (no privileges of its own) when the server connects as it —
 * never runs them; grants and RLS of `role` apply. Unlike withCaller: read-write, no JWT claims, no
 * timeout. Any other member of `db` (engine, close, …) is passed through unchanged.
 *
 * @example
 * const writer = asRole(db, "service_role");
 * await writer.query("select * from analytics.refresh_features()");
 */
export function asRole(db: Db, role: CallerRole): Db {
  if (!isCallerRole(role)) {
    throw new AppError(500, `Cannot run as role "${String(role)}": only ${CALLER_ROLES.join(" and ")} are allowed.`);
  }
  const transaction: Db["transaction"] = (fn, ...rest) =>
    db.transaction(async (tx) => {
      await tx.query("select set_config('role', $1, true)", [role]);
      return await fn(tx);
    }, ...rest);
  return {
    ...db,
    query: <T>(sql: string, params?: unknown[]) => transaction((tx) => tx.query<T>(sql, params)),
    exec: (script: string) => transaction((tx) => tx.exec(script)),
    transaction,
  };
}
