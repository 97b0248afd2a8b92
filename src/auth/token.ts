/**
 * Issues HS256 access tokens that this server accepts (for `npm run token`, tests and `npm start`).
 */
import { SignJWT } from "jose";
import type { CallerRole } from "../db/caller.ts";
import type { AuthConfig } from "./config.ts";

/** Default lifetime of an issued token: 12 hours. */
export const DEFAULT_TOKEN_TTL_SECONDS = 12 * 3600;

/**
 * Signs a token for `role` valid for `ttlSeconds`, with the configured issuer and audience.
 * Throws when the config has no HS256 secret (JWKS-only setups get tokens from their issuer).
 *
 * @example
 * const token = await issueToken(config, { role: "authenticated" });
 */
export async function issueToken(
  config: AuthConfig,
  opts: { role?: CallerRole; ttlSeconds?: number; sub?: string } = {},
): Promise<string> {
  if (!config.secret) throw new Error("Cannot issue a token: no HS256 secret is configured (AOMA_JWKS_URL only).");
  const ttl = Math.trunc(opts.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS);
  if (!(ttl > 0)) throw new Error(`Cannot issue a token: ttl must be a positive number of seconds; got ${opts.ttlSeconds}.`);
  const now = Math.floor(Date.now() / 1000);
  return await new SignJWT({ role: opts.role ?? "authenticated" })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(config.issuer)
    .setAudience(config.audience)
    .setSubject(opts.sub ?? "local-analyst")
    .setIssuedAt(now)
    .setExpirationTime(now + ttl)
    .sign(config.secret);
}
