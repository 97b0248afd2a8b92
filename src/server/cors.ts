/**
 * CORS for allowed browser origins (MCP Inspector, web clients): the allowed Origin is echoed,
 * the MCP headers are allowed and WWW-Authenticate is exposed so a browser client can start auth.
 */

const ALLOW_HEADERS = "authorization, content-type, accept, mcp-protocol-version, mcp-session-id, last-event-id";
const EXPOSE_HEADERS = "www-authenticate, mcp-session-id, mcp-protocol-version";

/** Copies `res` with CORS headers for `origin` (unchanged when there is no Origin). */
export function withCors(res: Response, origin: string | null): Response {
  if (origin === null) return res;
  const headers = new Headers(res.headers);
  headers.set("access-control-allow-origin", origin);
  headers.set("access-control-expose-headers", EXPOSE_HEADERS);
  headers.append("vary", "Origin");
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

/** The answer to a CORS preflight (OPTIONS) from an allowed origin. */
export function preflightResponse(origin: string | null): Response {
  return withCors(
    new Response(null, {
      status: 204,
      headers: {
        "access-control-allow-methods": "GET, POST, DELETE, OPTIONS",
        "access-control-allow-headers": ALLOW_HEADERS,
        "access-control-max-age": "600",
      },
    }),
    origin,
  );
}
