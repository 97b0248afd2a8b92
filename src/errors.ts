/**
 * The one error vocabulary of the HTTP and tool layers.
 *
 * `AppError` carries an HTTP status, a plain sentence ("Cannot <action>: <reason>") that is safe to
 * show to a caller, and optional response headers (e.g. `WWW-Authenticate`). The gateway turns it
 * into a response in exactly one place (src/server/respond.ts); the MCP layer turns it into a tool
 * error (`isError: true`) in exactly one place (src/mcp/tool_error.ts).
 *
 * @example
 * throw new AppError(400, 'Cannot analyze correlations: maxLag must be an integer from 0 to 30; got 10000.');
 */
export class AppError extends Error {
  /** HTTP status the gateway answers with. */
  readonly status: number;
  /** Extra response headers, e.g. WWW-Authenticate on 401. */
  readonly headers: Record<string, string>;

  constructor(status: number, message: string, opts: { headers?: Record<string, string>; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "AppError";
    this.status = status;
    this.headers = opts.headers ?? {};
  }
}

/** True when `e` is an AppError (also across module copies, by shape). */
export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError ||
    (e instanceof Error && e.name === "AppError" && typeof (e as AppError).status === "number");
}

/**
 * The SQLSTATE of a database error from either adapter (PGlite and postgres.js both expose `code`),
 * or undefined when `e` is not a database error.
 */
export function sqlState(e: unknown): string | undefined {
  if (!e || typeof e !== "object") return undefined;
  const code = (e as { code?: unknown }).code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
