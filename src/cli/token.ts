/**
 * `npm run token` — prints a bearer token the running server accepts (same secret, issuer and
 * audience: env AOMA_JWT_SECRET / SUPABASE_JWT_SECRET, else .data/jwt-secret shared with `npm start`).
 *
 *   npm run -s token                                   # role authenticated, valid 12 h
 *   npm run -s token -- --role service_role --ttl 1h
 *
 * Only the token goes to stdout, so `TOKEN=$(npm run -s token)` works.
 */
import { authConfigFromEnv } from "../auth/config.ts";
import { DEFAULT_TOKEN_TTL_SECONDS, issueToken } from "../auth/token.ts";
import { CALLER_ROLES, isCallerRole } from "../db/caller.ts";
import { parseDuration, parseFlags } from "./args.ts";

const USAGE = `Usage: npm run -s token -- [--role authenticated|service_role] [--ttl 12h] [--sub NAME]
Prints a JWT (HS256) that the AOMA Mesh Analytics server accepts.`;

/** Runs the CLI with `args`; returns the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  try {
    const flags = parseFlags(args, { role: true, ttl: true, sub: true, help: false });
    if (flags.help) {
      console.log(USAGE);
      return 0;
    }
    const role = flags.role ?? "authenticated";
    if (!isCallerRole(role)) throw new Error(`Cannot issue a token for role "${role}": use ${CALLER_ROLES.join(" or ")}.`);
    const ttlSeconds = flags.ttl ? parseDuration(flags.ttl) : DEFAULT_TOKEN_TTL_SECONDS;
    console.log(await issueToken(await authConfigFromEnv(), { role, ttlSeconds, sub: flags.sub }));
    return 0;
  } catch (e) {
    console.error((e as Error).message);
    console.error(USAGE);
    return 2;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
