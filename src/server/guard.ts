/**
 * Wraps a function handler with everything an endpoint must do before its own logic, in this order:
 * Origin allowlist (403), CORS preflight, RFC 9728 metadata below the function, bearer-token
 * verification (401 with `WWW-Authenticate: Bearer resource_metadata="…"`), the body limit (413).
 * Every error becomes a response here, through src/server/respond.ts.
 */
import { AppError } from "../errors.ts";
import type { Verifier } from "../auth/verify.ts";
import { TokenError } from "../auth/verify.ts";
import { DEFAULT_MAX_BODY_BYTES, readBodyLimited } from "./body.ts";
import { preflightResponse, withCors } from "./cors.ts";
import { protectedResourceMetadata, resourceUrls, WELL_KNOWN } from "./metadata.ts";
import { isAllowedOrigin } from "./origin.ts";
import { errorResponse } from "./respond.ts";
import type { FunctionHandler, HttpHandler } from "./types.ts";

/** How a function endpoint is guarded. */
export interface GuardOptions {
  /** Function name, e.g. "mcp": the resource is <base>/functions/v1/<name>. */
  name: string;
  /** Token verifier (src/auth/verify.ts). */
  verify: Verifier;
  /** Issuer named as authorization server in the metadata. */
  issuer: string;
  /** Public base URL (e.g. https://<ref>.supabase.co). Default: env AOMA_PUBLIC_URL, else the request's origin. */
  publicBaseUrl?: string;
  /** True when the gateway serves /.well-known/… at the origin root (local); false for a deployed function. */
  metadataAtRoot?: boolean;
  /** Extra allowed Origins besides the server's own and local ones. */
  allowedOrigins?: readonly string[];
  /** Body limit in bytes (default 1 MiB). */
  maxBodyBytes?: number;
}

/** Rejects a request whose Origin is not allowed; returns the Origin (or null). */
export function checkOrigin(req: Request, allowed: readonly string[]): string | null {
  const origin = req.headers.get("origin");
  if (!isAllowedOrigin(origin, new URL(req.url).origin, allowed)) {
    throw new AppError(403, `Cannot serve this request: origin "${origin}" is not allowed.`);
  }
  return origin;
}

/** The bearer token of `req`, or null when there is no Authorization header. */
function bearerToken(req: Request): string | null {
  const header = req.headers.get("authorization");
  if (header === null) return null;
  const m = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(header);
  return m ? m[1] : "";
}

function quoted(s: string): string {
  return s.replace(/["\\]/g, "");
}

/**
 * Makes the HTTP handler of one function.
 *
 * @example
 * Deno.serve(guard(createMcpHandler({ db }), { name: "mcp", verify, issuer: config.issuer }));
 */
export function guard(handler: FunctionHandler, opts: GuardOptions): HttpHandler {
  const allowed = opts.allowedOrigins ?? [];
  const limit = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  return async (req: Request): Promise<Response> => {
    let origin: string | null = null;
    try {
      origin = checkOrigin(req, allowed);
      if (req.method === "OPTIONS") return preflightResponse(origin);
      const base = opts.publicBaseUrl ?? Deno.env.get("AOMA_PUBLIC_URL") ?? new URL(req.url).origin;
      const { resource, metadata } = resourceUrls(base, opts.name, opts.metadataAtRoot ?? false);
      if (req.method === "GET" && new URL(req.url).pathname.endsWith(WELL_KNOWN)) {
        return withCors(Response.json(protectedResourceMetadata(resource, opts.issuer)), origin);
      }
      const token = bearerToken(req);
      let caller;
      try {
        if (token === null) throw new TokenError("");
        if (token === "") throw new TokenError("the Authorization header is not of the form: Bearer <token>");
        caller = await opts.verify(token);
      } catch (e) {
        if (!(e instanceof TokenError)) throw e;
        const challenge = e.message
          ? `Bearer error="invalid_token", error_description="${quoted(e.message)}", resource_metadata="${metadata}"`
          : `Bearer resource_metadata="${metadata}"`;
        throw new AppError(
          401,
          e.message ? `Cannot authorize the request: ${e.message}.` : "Cannot authorize the request: a bearer token is required.",
          { headers: { "www-authenticate": challenge } },
        );
      }
      let inner = req;
      if (req.method !== "GET" && req.method !== "HEAD") {
        const body = await readBodyLimited(req, limit);
        // the signal goes along: it aborts when the client disconnects, which cancels its work
        inner = new Request(req.url, { method: req.method, headers: req.headers, body, signal: req.signal });
      }
      return withCors(await handler(inner, { caller, resource }), origin);
    } catch (e) {
      return withCors(errorResponse(e), origin);
    }
  };
}
