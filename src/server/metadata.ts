/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728) for a function endpoint, and where it is served.
 */

/** Path prefix under which functions are served, as on Supabase. */
export const FUNCTIONS_PREFIX = "/functions/v1";
export const WELL_KNOWN = "/.well-known/oauth-protected-resource";

/** The RFC 9728 document for `resource`, naming `issuer` as its authorization server. */
export function protectedResourceMetadata(resource: string, issuer: string): Record<string, unknown> {
  return {
    resource,
    authorization_servers: [issuer],
    bearer_methods_supported: ["header"],
    resource_name: "AOMA Mesh Analytics",
  };
}

/**
 * The public URL of function `name` under `base` (e.g. http://127.0.0.1:54321/functions/v1/mcp), and
 * the URL of its metadata: the RFC 9728 path-inserted form at the origin root when the gateway serves
 * the root (local), or below the function itself when only the function is reachable (deployed).
 */
export function resourceUrls(base: string, name: string, metadataAtRoot: boolean): { resource: string; metadata: string } {
  const b = base.replace(/\/+$/, "");
  const resource = `${b}${FUNCTIONS_PREFIX}/${name}`;
  const origin = new URL(b).origin;
  const basePath = new URL(b).pathname.replace(/\/+$/, "");
  const metadata = metadataAtRoot
    ? `${origin}${WELL_KNOWN}${basePath}${FUNCTIONS_PREFIX}/${name}`
    : `${resource}${WELL_KNOWN}`;
  return { resource, metadata };
}
