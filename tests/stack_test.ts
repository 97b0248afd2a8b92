/**
 * The local stack and the migration entry point: scripts/db.ts on a fresh PGlite database, and —
 * when AOMA_TEST_DB_URL points at the cluster of scripts/stack.sh — the cluster's set-up
 * (PostgreSQL 15, pg_cron preloaded, pgTAP and plpgsql_check in schema `extensions`, roles,
 * every migration recorded as `supabase db push` records it).
 */
import { parseArgs } from "../scripts/db.ts";
import { openPostgres } from "../src/db/postgres.ts";

const ROOT = new URL("../", import.meta.url);
const CLUSTER_URL = Deno.env.get("AOMA_TEST_DB_URL");

function assertEquals<T>(actual: T, expected: T, what: string): void {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

async function migrationVersions(): Promise<string[]> {
  const versions: string[] = [];
  for await (const e of Deno.readDir(new URL("supabase/migrations/", ROOT))) {
    const m = /^(\d+)_.*\.sql$/.exec(e.name);
    if (e.isFile && m) versions.push(m[1]);
  }
  return versions.sort();
}

async function dbTs(args: string[], pgliteDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: Record<string, string> = { AOMA_PGLITE_DIR: pgliteDir };
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "scripts/db.ts", ...args],
    cwd: ROOT,
    env,
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("db.ts parses its command line", () => {
  assertEquals(parseArgs(["all"]), { steps: ["roles", "migrate", "library"], url: undefined, force: false }, "all");
  assertEquals(
    parseArgs(["library", "--url", "postgresql://x@h/db", "--force"]),
    { steps: ["library"], url: "postgresql://x@h/db", force: true },
    "library --url --force",
  );
  assertEquals(parseArgs(["migrate", "--url=postgresql://h/db"]).url, "postgresql://h/db", "--url=");
  let message = "";
  try {
    parseArgs(["drop"]);
  } catch (e) {
    message = (e as Error).message;
  }
  if (!message.startsWith('Cannot run command "drop": allowed are roles, migrate, library, all.')) {
    throw new Error(`unexpected message: ${message}`);
  }
});

Deno.test({
  name: "db.ts all brings a fresh PGlite database up to date, and a second run applies nothing",
  ignore: ["AOMA_DB_URL", "SUPABASE_DB_URL", "DATABASE_URL"].some((n) => Deno.env.get(n)),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "aoma-pglite-" });
    try {
      const first = await dbTs(["all"], dir);
      assertEquals(first.code, 0, `first run exit code (stderr: ${first.stderr})`);
      const versions = await migrationVersions();
      if (!first.stdout.includes(`migrate: applied ${versions.join(", ")}\n`)) {
        throw new Error(`first run did not apply ${versions.join(", ")}:\n${first.stdout}`);
      }
      if (!first.stdout.includes(`db: PGlite in ${dir}`)) throw new Error(`wrong target:\n${first.stdout}`);
      const second = await dbTs(["all"], dir);
      assertEquals(second.code, 0, `second run exit code (stderr: ${second.stderr})`);
      if (!second.stdout.includes("migrate: up to date\n") || !second.stdout.includes("library: up to date\n")) {
        throw new Error(`second run was not a no-op:\n${second.stdout}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "the local cluster runs PostgreSQL 15 with pg_cron, pgTAP, plpgsql_check, the roles and every migration",
  ignore: !CLUSTER_URL,
  async fn() {
    const db = openPostgres(CLUSTER_URL!, { max: 1 });
    try {
      const [v] = await db.query<{ major: string; preload: string; crondb: string; search_path: string }>(
        `select current_setting('server_version_num')::int / 10000 || '' as major,
                current_setting('shared_preload_libraries') as preload,
                current_setting('cron.database_name') as crondb,
                current_setting('search_path') as search_path`,
      );
      assertEquals(v, {
        major: "15",
        preload: "pg_cron",
        crondb: "postgres",
        search_path: '"$user", public, extensions',
      }, "server settings");
      const ext = await db.query<{ extname: string; schema: string }>(
        `select extname, extnamespace::regnamespace::text as schema from pg_extension
         where extname in ('pg_cron', 'pgtap', 'plpgsql_check') order by extname`,
      );
      assertEquals(ext, [
        { extname: "pg_cron", schema: "pg_catalog" },
        { extname: "pgtap", schema: "extensions" },
        { extname: "plpgsql_check", schema: "extensions" },
      ], "extensions");
      const roles = await db.query<{ rolname: string; rolcanlogin: boolean; rolbypassrls: boolean }>(
        `select rolname, rolcanlogin, rolbypassrls from pg_roles
         where rolname in ('anon', 'authenticated', 'service_role', 'authenticator') order by rolname`,
      );
      assertEquals(roles, [
        { rolname: "anon", rolcanlogin: false, rolbypassrls: false },
        { rolname: "authenticated", rolcanlogin: false, rolbypassrls: false },
        { rolname: "authenticator", rolcanlogin: true, rolbypassrls: false },
        { rolname: "service_role", rolcanlogin: false, rolbypassrls: true },
      ], "roles");
      const applied = await db.query<{ version: string }>(
        "select version from supabase_migrations.schema_migrations order by version",
      );
      assertEquals(applied.map((r) => r.version), await migrationVersions(), "recorded migrations");
    } finally {
      await db.close();
    }
  },
});
