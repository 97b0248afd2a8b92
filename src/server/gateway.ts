/**
 * The local functions gateway: serves every function at http://<host>:<port>/functions/v1/<name>,
 * like Supabase, plus the RFC 9728 metadata at the origin root
 * (/.well-known/oauth-protected-resource and /.well-known/oauth-protected-resource/functions/v1/<name>).
 * Functions are complete, guarded handlers (see src/server/guard.ts), the same ones the edge
 * functions in functions/<name>/index.ts serve.
 */
import { type AuthConfig, authConfigFromEnv } from "../auth/config.ts";
import { issueToken } from "../auth/token.ts";
import type { Db } from "../db/types.ts";
import { AppError } from "../errors.ts";
import { createIngestFunction } from "../ingest/function.ts";
import { createMcpFunction } from "../mcp/function.ts";
import { createServingCore, type ServingOptions } from "../mcp/serving.ts";
import { withCors } from "./cors.ts";
import { checkOrigin } from "./guard.ts";
import { FUNCTIONS_PREFIX, protectedResourceMetadata, resourceUrls, WELL_KNOWN } from "./metadata.ts";
import { allowedHostsFor, allowedOriginsFromEnv } from "./origin.ts";
import { errorResponse } from "./respond.ts";
import type { HttpHandler } from "./types.ts";

/** Default port, as Supabase's local API gateway. */
export const DEFAULT_PORT = 54321;

/** What the gateway serves. */
export interface GatewayOptions {
  db: Db;
  auth: AuthConfig;
  /** Further functions to mount by name (already guarded); `mcp` and `ingest` are always mounted. */
  functions?: Record<string, HttpHandler>;
  /** Extra allowed Origins (default: env AOMA_ALLOWED_ORIGINS). */
  allowedOrigins?: readonly string[];
  /** Body limit in bytes for the MCP function (default 1 MiB). */
  maxBodyBytes?: number;
  /** Host names accepted in the Host header (see allowedHostsFor); undefined = any. */
  allowedHosts?: readonly string[];
  /** Queue, cache and deadline settings of the MCP function (default: environment, src/mcp/serving.ts). */
  serving?: ServingOptions;
}

/**
 * Builds the gateway's request handler.
 *
 * @example
 * Deno.serve({ port: 54321 }, createGateway({ db, auth: await authConfigFromEnv() }));
 */
export function createGateway(opts: GatewayOptions): HttpHandler {
  const allowedOrigins = opts.allowedOrigins ?? allowedOriginsFromEnv();
  const functions: Record<string, HttpHandler> = {
    mcp: createMcpFunction({
      db: opts.db,
      auth: opts.auth,
      core: createServingCore(opts.db, opts.serving),
      metadataAtRoot: true,
      allowedOrigins,
      maxBodyBytes: opts.maxBodyBytes,
    }),
    // batches need a service_role token (checked inside); webhooks are signed instead
    ingest: createIngestFunction({ db: opts.db, auth: opts.auth, metadataAtRoot: true, allowedOrigins }),
    ...opts.functions,
  };
  return async (req: Request): Promise<Response> => {
    const { pathname: path, hostname } = new URL(req.url);
    if (opts.allowedHosts && !opts.allowedHosts.includes(hostname.toLowerCase())) {
      return errorResponse(new AppError(403, `Cannot serve this request: host "${hostname}" is not allowed.`));
    }
    const m = new RegExp(`^${FUNCTIONS_PREFIX}/([a-z0-9_-]+)(/.*)?$`).exec(path);
    if (m && Object.hasOwn(functions, m[1])) return await functions[m[1]](req);
    let origin: string | null = null;
    try {
      origin = checkOrigin(req, allowedOrigins);
      if (req.method === "GET" && (path === WELL_KNOWN || path.startsWith(`${WELL_KNOWN}${FUNCTIONS_PREFIX}/`))) {
        const name = path === WELL_KNOWN ? "mcp" : path.slice(`${WELL_KNOWN}${FUNCTIONS_PREFIX}/`.length);
        if (Object.hasOwn(functions, name)) {
          const { resource } = resourceUrls(Deno.env.get("AOMA_PUBLIC_URL") ?? new URL(req.url).origin, name, true);
          return withCors(Response.json(protectedResourceMetadata(resource, opts.auth.issuer)), origin);
        }
      }
      throw new AppError(404, `Cannot find ${path}: functions are served at ${FUNCTIONS_PREFIX}/<name> (${Object.keys(functions).join(", ")}).`);
    } catch (e) {
      return withCors(errorResponse(e), origin);
    }
  };
}

/** A running gateway. */
export interface RunningServer {
  /** URL of the MCP endpoint, e.g. http://127.0.0.1:54321/functions/v1/mcp. */
  url: string;
  /** Origin of the server, e.g. http://127.0.0.1:54321. */
  baseUrl: string;
  port: number;
  /** The auth settings in force (to issue tokens for this server). */
  auth: AuthConfig;
  /** Issues a token this server accepts (HS256 setups only). */
  token(opts?: { role?: "authenticated" | "service_role"; ttlSeconds?: number }): Promise<string>;
  /** Stops listening (the database stays open: it belongs to the caller). */
  close(): Promise<void>;
}

/**
 * Starts the gateway on `host:port` (port 0 = an ephemeral port) and resolves once it listens.
 * `auth` defaults to the environment (src/auth/config.ts).
 *
 * @example
 * const srv = await startServer({ port: 0, db });
 * const token = await srv.token();
 * // … POST srv.url with Authorization: Bearer <token> …
 * await srv.close();
 */
export async function startServer(
  opts: { db: Db; port?: number; host?: string; auth?: AuthConfig } & Omit<GatewayOptions, "db" | "auth">,
): Promise<RunningServer> {
  const auth = opts.auth ?? await authConfigFromEnv();
  const host = opts.host ?? "127.0.0.1";
  const handler = createGateway({ allowedHosts: allowedHostsFor(host), ...opts, auth });
  let resolveListen: (port: number) => void;
  const listening = new Promise<number>((r) => (resolveListen = r));
  const server = Deno.serve(
    { port: opts.port ?? DEFAULT_PORT, hostname: host, onListen: ({ port }) => resolveListen(port) },
    handler,
  );
  const port = await listening;
  const hostPart = host.includes(":") ? `[${host}]` : host === "0.0.0.0" ? "127.0.0.1" : host;
  const baseUrl = `http://${hostPart}:${port}`;
  return {
    url: `${baseUrl}${FUNCTIONS_PREFIX}/mcp`,
    baseUrl,
    port,
    auth,
    token: (t = {}) => issueToken(auth, t),
    close: async () => {
      await server.shutdown();
    },
  };
}
