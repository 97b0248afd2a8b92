/**
 * Reads a request body up to a byte limit without ever holding more than the limit: a declared
 * Content-Length over the limit is refused before reading, and a streamed body is cut off (and the
 * stream cancelled) as soon as it passes the limit.
 */
import { AppError } from "../errors.ts";

/** Default body limit: 1 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

function tooLarge(limit: number): AppError {
  return new AppError(413, `Cannot accept the request: the body is larger than ${limit.toLocaleString("en-US")} bytes.`);
}

/**
 * The body bytes of `req` (null when it has none), or AppError 413 when it exceeds `limit`.
 *
 * @example
 * const bytes = await readBodyLimited(req, 1024 * 1024);
 */
export async function readBodyLimited(req: Request, limit: number = DEFAULT_MAX_BODY_BYTES): Promise<Uint8Array<ArrayBuffer> | null> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) {
    await req.body?.cancel().catch(() => {});
    throw tooLarge(limit);
  }
  if (!req.body) return null;
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
