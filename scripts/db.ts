/**
 * Brings a database up to date: Supabase roles, supabase/migrations, the sql/ library.
 *
 * Usage: deno run -A scripts/db.ts roles|migrate|library|all [--url URL] [--force]
 *   roles    create anon, authenticated, service_role, authenticator when missing (scripts/roles.sql)
 *   migrate  apply supabase/migrations not yet recorded in supabase_migrations.schema_migrations
 *   library  apply the sql/ modules in name order (idempotent; unchanged ones are skipped unless --force)
 *   all      roles, migrate, library
 * The database: --url, else AOMA_DB_URL / SUPABASE_DB_URL / DATABASE_URL, else the embedded
 * PGlite database in AOMA_PGLITE_DIR (default .data/pglite). Prints what it applied.
 *
 * @example
 * deno run -A scripts/db.ts all                       # embedded PGlite in .data/pglite
 * deno run -A scripts/db.ts library --url postgresql://postgres:postgres@127.0.0.1:54322/postgres
 */
import { applyLibrary, applyMigrations, ensureRoles } from "../src/db/migrate.ts";
import { DEFAULT_PGLITE_DIR, openDb } from "../src/db/open.ts";
import type { Db } from "../src/db/types.ts";

const STEPS = ["roles", "migrate", "library"] as const;
type Step = typeof STEPS[number];

const USAGE = "Usage: deno run -A scripts/db.ts roles|migrate|library|all [--url URL] [--force]";

/** The parsed command line: which steps to run, against which URL (undefined = env or PGlite). */
export function parseArgs(args: string[]): { steps: Step[]; url?: string; force: boolean } {
  let command: string | undefined;
  let url: string | undefined;
  let force = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--force") {
      force = true;
    } else if (a === "--url") {
      url = args[++i];
      if (!url) throw new Error(`Cannot read --url: it needs a value. ${USAGE}`);
    } else if (a.startsWith("--url=")) {
      url = a.slice("--url=".length);
    } else if (command === undefined && !a.startsWith("-")) {
      command = a;
    } else {
      throw new Error(`Cannot use argument "${a}". ${USAGE}`);
    }
  }
  if (command === "all") return { steps: [...STEPS], url, force };
  if (command && (STEPS as readonly string[]).includes(command)) return { steps: [command as Step], url, force };
  throw new Error(`Cannot run command "${command ?? ""}": allowed are roles, migrate, library, all. ${USAGE}`);
}

async function run(db: Db, step: Step, force: boolean): Promise<void> {
  if (step === "roles") {
    await ensureRoles(db);
    console.log("roles: anon, authenticated, service_role, authenticator present");
  } else if (step === "migrate") {
    const versions = await applyMigrations(db);
    console.log(versions.length ? `migrate: applied ${versions.join(", ")}` : "migrate: up to date");
  } else {
    const files = await applyLibrary(db, { force });
    console.log(files.length ? `library: applied sql/${files.join(", sql/")}` : "library: up to date");
  }
}

if (import.meta.main) {
  let parsed;
  try {
    parsed = parseArgs(Deno.args);
  } catch (e) {
    console.error((e as Error).message);
    Deno.exit(2);
  }
  const db = await openDb({ url: parsed.url });
  const where = db.engine === "pglite"
    ? `PGlite in ${Deno.env.get("AOMA_PGLITE_DIR") ?? DEFAULT_PGLITE_DIR}`
    : (parsed.url ?? "the database URL from the environment").replace(/:[^:@/]*@/, ":***@");
  console.log(`db: ${where}`);
  let code = 0;
  try {
    for (const step of parsed.steps) await run(db, step, parsed.force);
  } catch (e) {
    console.error(`db: ${(e as Error).message}`);
    code = 1;
  } finally {
    await db.close();
  }
  Deno.exit(code);
}
