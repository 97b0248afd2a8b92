/**
 * The one place where an error becomes an HTTP response. AppError keeps its status, sentence and
 * headers; anything else is logged and answered with a generic 500 (never a stack trace).
 */
import { isAppError } from "../errors.ts";

const CODES: Record<number, string> = {
  400: "bad_request",
  401: "invalid_token",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  413: "payload_too_large",
  500: "internal_error",
};

/** JSON response `{ error, message }` for `e`. */
export function errorResponse(e: unknown): Response {
  if (isAppError(e)) {
    return Response.json(
      { error: CODES[e.status] ?? "error", message: e.message },
      { status: e.status, headers: e.headers },
    );
  }
  console.error("Unhandled error while serving a request:", e);
  return Response.json({ error: "internal_error", message: "Cannot handle the request: internal error." }, {
    status: 500,
  });
}
