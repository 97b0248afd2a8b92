/**
 * Origin allowlist (DNS-rebinding protection for a server on localhost): a request that carries an
 * `Origin` header is served only when that origin is the server's own, a local one
 * (http://localhost:*, http://127.0.0.1:*, http://[::1]:*), or listed in env AOMA_ALLOWED_ORIGINS
 * (comma-separated, exact origins such as https://studio.example.com). No Origin header: allowed
 * (non-browser clients do not send one).
 */

const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** The extra allowed origins from env AOMA_ALLOWED_ORIGINS. */
export function allowedOriginsFromEnv(): string[] {
  return (Deno.env.get("AOMA_ALLOWED_ORIGINS") ?? "").split(",").map((s) => s.trim().replace(/\/+$/, ""))
    .filter(Boolean);
}

/**
 * True when a request with this `Origin` may be served.
 *
 * @param origin  the Origin header value (null when absent)
 * @param self    the server's own origin (e.g. "http://127.0.0.1:54321")
 * @param extra   further exact origins that are allowed
 *
 * @example
 * isAllowedOrigin("http://localhost:6274", "http://127.0.0.1:54321", []); // true
 * isAllowedOrigin("https://evil.example", "http://127.0.0.1:54321", []);  // false
 */
export function isAllowedOrigin(origin: string | null, self: string, extra: readonly string[]): boolean {
  if (origin === null) return true;
  if (origin === self || extra.includes(origin)) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  return url.protocol === "http:" && LOCAL_HOSTS.has(url.hostname) && url.origin === origin;
}

/**
 * Host names the local gateway answers to (DNS-rebinding protection: a page on a foreign domain that
 * resolves to 127.0.0.1 still sends its own Host): the loopback names, `boundHost` unless it is a
 * wildcard address, the host of env AOMA_PUBLIC_URL, and env AOMA_ALLOWED_HOSTS (comma-separated).
 */
export function allowedHostsFor(boundHost: string): string[] {
  const hosts = ["127.0.0.1", "localhost", "[::1]"];
  if (boundHost !== "0.0.0.0" && boundHost !== "::") hosts.push(boundHost.includes(":") ? `[${boundHost}]` : boundHost);
  const publicUrl = Deno.env.get("AOMA_PUBLIC_URL");
  if (publicUrl) hosts.push(new URL(publicUrl).hostname);
  for (const h of (Deno.env.get("AOMA_ALLOWED_HOSTS") ?? "").split(",")) if (h.trim()) hosts.push(h.trim().toLowerCase());
  return hosts;
}
