/**
 * Bearer-token verification: HS256 with the shared secret, or asymmetric keys from a JWKS.
 * `iss`, `aud`, `exp` (required) and `nbf` are checked; `alg` must be HS256 for the secret
 * ("none" and every other algorithm are rejected). The `role` claim picks the database role.
 */
import { createRemoteJWKSet, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from "jose";
import { AppError } from "../errors.ts";
import { type Caller, CALLER_ROLES, isCallerRole } from "../db/caller.ts";
import type { AuthConfig } from "./config.ts";

/** Algorithms accepted from a JWKS (Supabase signs with ES256 or RS256). */
const JWKS_ALGORITHMS = ["ES256", "RS256", "EdDSA"];

/** Why a token was refused; the sentence goes into the 401 body and WWW-Authenticate description. */
export class TokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TokenError";
  }
}

/** Verifies a compact JWT and returns the caller, or throws TokenError / AppError(403). */
export type Verifier = (token: string) => Promise<Caller>;

/**
 * Makes a verifier for `config`.
 *
 * @example
 * const verify = createVerifier(await authConfigFromEnv());
 * const caller = await verify(token); // { role: "authenticated", claims: {...} }
 */
export function createVerifier(config: AuthConfig): Verifier {
  const jwks = config.jwksUrl ? createRemoteJWKSet(new URL(config.jwksUrl)) : undefined;
  const options = { issuer: config.issuer, audience: config.audience, requiredClaims: ["exp"], clockTolerance: 5 };
  return async (token: string): Promise<Caller> => {
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new TokenError("the token is not a well-formed JWT");
    }
    let payload: JWTPayload;
    try {
      if (alg === "HS256" && config.secret) {
        payload = (await jwtVerify(token, config.secret, { ...options, algorithms: ["HS256"] })).payload;
      } else if (jwks && typeof alg === "string" && JWKS_ALGORITHMS.includes(alg)) {
        payload = (await jwtVerify(token, jwks, { ...options, algorithms: JWKS_ALGORITHMS })).payload;
      } else {
        throw new TokenError(`the token algorithm "${String(alg)}" is not accepted`);
      }
    } catch (e) {
      throw new TokenError(describeJoseError(e));
    }
    const role = payload.role ?? "authenticated";
    if (!isCallerRole(role)) {
      throw new AppError(403, `Cannot serve this token: role "${String(role)}" has no access; allowed roles: ${CALLER_ROLES.join(", ")}.`);
    }
    return { role, claims: payload as Record<string, unknown> };
  };
}

function describeJoseError(e: unknown): string {
  if (e instanceof TokenError) return e.message;
  if (e instanceof joseErrors.JWTExpired) return "the token has expired";
  if (e instanceof joseErrors.JWTClaimValidationFailed) {
    if (e.claim === "iss") return "the token issuer is not accepted";
    if (e.claim === "aud") return "the token audience is not accepted";
    if (e.claim === "nbf") return "the token is not valid yet";
    if (e.claim === "exp") return "the token has no expiry";
    return `the token claim "${e.claim}" is not accepted`;
  }
  if (e instanceof joseErrors.JWSSignatureVerificationFailed) return "the token signature is invalid";
  if (e instanceof joseErrors.JOSEAlgNotAllowed) return "the token algorithm is not accepted";
  if (e instanceof joseErrors.JWKSNoMatchingKey) return "no key of the key set matches the token";
  return "the token could not be verified";
}
