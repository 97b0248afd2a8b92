import type { Db } from "./types.ts";

const ROOT = new URL("../../", import.meta.url);

async function sqlFiles(dir: string): Promise<{ name: string; text: string }[]> {
  const url = new URL(dir, ROOT);
  const names: string[] = [];
  for await (const e of Deno.readDir(url)) if (e.isFile && e.name.endsWith(".sql")) names.push(e.name);
  names.sort();
  return Promise.all(names.map(async (name) => ({ name, text: await Deno.readTextFile(new URL(name, url)) })));
}

/** Creates the Supabase roles when missing (scripts/roles.sql). */
export async function ensureRoles(db: Db): Promise<void> {
  await db.exec(await Deno.readTextFile(new URL("scripts/roles.sql", ROOT)));
}

/**
 * Applies supabase/migrations not yet recorded, tracking them in
 * supabase_migrations.schema_migrations exactly as `supabase db push` does, so either tool can
 * take over from the other. Returns the versions applied.
 */
export async function applyMigrations(db: Db): Promise<string[]> {
  await db.exec(`
    create schema if not exists supabase_migrations;
    create table if not exists supabase_migrations.schema_migrations (
      version text primary key, statements text[], name text);`);
  const done = new Set(
    (await db.query<{ version: string }>("select version from supabase_migrations.schema_migrations"))
      .map((r) => r.version),
  );
  const applied: string[] = [];
  for (const f of await sqlFiles("supabase/migrations/")) {
    const m = /^(\d+)_(.*)\.sql$/.exec(f.name);
    if (!m || done.has(m[1])) continue;
    await db.transaction(async (tx) => {
      await tx.exec(f.text);
      await tx.query(
        "insert into supabase_migrations.schema_migrations (version, name, statements) values ($1, $2, $3)",
        [m[1], m[2], [f.text]],
      );
    });
    applied.push(m[1]);
  }
  return applied;
}

async function sha256(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Applies the sql/ library modules in name order. Each module is idempotent; a module whose text is
 * unchanged since it was last applied here is skipped, unless an earlier module changed (a later module
 * may depend on what an earlier one recreated). `force` reapplies everything. Returns the modules applied.
 */
export async function applyLibrary(db: Db, opts: { force?: boolean } = {}): Promise<string[]> {
  const known = new Map(
    (await db.query<{ module: string; sha256: string }>("select module, sha256 from aoma_private.library_modules"))
      .map((r) => [r.module, r.sha256]),
  );
  const applied: string[] = [];
  let dirty = opts.force ?? false;
  for (const f of await sqlFiles("sql/")) {
    const hash = await sha256(f.text);
    if (!dirty && known.get(f.name) === hash) continue;
    dirty = true;
    try {
      await db.transaction(async (tx) => {
        await tx.exec(f.text);
        await tx.query(
          `insert into aoma_private.library_modules (module, sha256) values ($1, $2)
           on conflict (module) do update set sha256 = excluded.sha256, applied_at = now()`,
          [f.name, hash],
        );
      });
    } catch (e) {
      throw new Error(`Cannot apply sql/${f.name}: ${(e as Error).message}`);
    }
    applied.push(f.name);
  }
  return applied;
}

/** Brings an embedded database fully up to date: roles, migrations, analytics library. */
export async function migrateAll(db: Db): Promise<void> {
  await ensureRoles(db);
  await applyMigrations(db);
  await applyLibrary(db);
}
