/**
 * Where the JWT verification settings come from.
 *
 * Secret: env AOMA_JWT_SECRET, else SUPABASE_JWT_SECRET, else a random secret generated once into
 * `.data/jwt-secret` (env AOMA_JWT_SECRET_FILE overrides the path) so that `npm run token` and
 * `npm start` agree. Issuer: env AOMA_JWT_ISSUER (default http://127.0.0.1:54321/auth/v1).
 * Audience: env AOMA_JWT_AUDIENCE (default "authenticated"). Optional JWKS: env AOMA_JWKS_URL.
 */

/** Settings the verifier and the token issuer share. */
export interface AuthConfig {
  /** HS256 secret (raw bytes of the configured string, as Supabase uses it). */
  secret?: Uint8Array;
  /** Expected `iss`. */
  issuer: string;
  /** Expected `aud`. */
  audience: string;
  /** When set, asymmetric tokens (RS256/ES256/EdDSA) are verified against this JWKS. */
  jwksUrl?: string;
}

export const DEFAULT_ISSUER = "http://127.0.0.1:54321/auth/v1";
export const DEFAULT_AUDIENCE = "authenticated";
export const DEFAULT_SECRET_FILE = ".data/jwt-secret";

/**
 * Reads the secret in `path`, or creates it (32 random bytes, base64url, mode 0600) when missing.
 * Two processes starting at once agree: only one create succeeds, the other reads it.
 */
export async function loadOrCreateSecret(path: string = DEFAULT_SECRET_FILE): Promise<string> {
  try {
    const text = (await Deno.readTextFile(path)).trim();
    if (text) return text;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const secret = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : ".";
  await Deno.mkdir(dir, { recursive: true });
  try {
    await Deno.writeTextFile(path, secret + "\n", { createNew: true, mode: 0o600 });
    return secret;
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) return (await Deno.readTextFile(path)).trim();
    throw e;
  }
}

/** Builds the AuthConfig from the environment (creating the local secret file when needed). */
export async function authConfigFromEnv(): Promise<AuthConfig> {
  const env = (name: string) => Deno.env.get(name) || undefined;
  const jwksUrl = env("AOMA_JWKS_URL");
  let secretText = env("AOMA_JWT_SECRET") ?? env("SUPABASE_JWT_SECRET");
  // With only a JWKS configured there is no HS256 secret to create; otherwise keep one locally.
  if (!secretText && !jwksUrl) secretText = await loadOrCreateSecret(env("AOMA_JWT_SECRET_FILE") ?? DEFAULT_SECRET_FILE);
  return {
    secret: secretText ? new TextEncoder().encode(secretText) : undefined,
    issuer: env("AOMA_JWT_ISSUER") ?? DEFAULT_ISSUER,
    audience: env("AOMA_JWT_AUDIENCE") ?? DEFAULT_AUDIENCE,
    jwksUrl,
  };
}
