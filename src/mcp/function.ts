/**
 * The complete MCP edge function: the MCP handler behind the guard (Origin, auth, metadata, limits),
 * with its serving core (queue, cache, deadline: src/mcp/serving.ts).
 * functions/mcp/index.ts serves it with Deno.serve; the local gateway mounts it at /functions/v1/mcp.
 */
import type { AuthConfig } from "../auth/config.ts";
import { createVerifier } from "../auth/verify.ts";
import type { Db } from "../db/types.ts";
import { guard, type GuardOptions } from "../server/guard.ts";
import type { HttpHandler } from "../server/types.ts";
import { createMcpHandler } from "./handler.ts";
import { createServingCore, type ServingCore } from "./serving.ts";

/**
 * Builds the HTTP handler of the `mcp` function.
 *
 * @example
 * Deno.serve(createMcpFunction({ db: await openDb(), auth: await authConfigFromEnv() }));
 */
export function createMcpFunction(
  opts: { db: Db; auth: AuthConfig; core?: ServingCore } & Partial<Omit<GuardOptions, "name" | "verify" | "issuer">>,
): HttpHandler {
  const { db, auth, core, ...rest } = opts;
  return guard(createMcpHandler({ db, core: core ?? createServingCore(db) }), {
    name: "mcp",
    verify: createVerifier(auth),
    issuer: auth.issuer,
    ...rest,
  });
}
