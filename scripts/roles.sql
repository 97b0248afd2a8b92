-- Supabase's API roles, created when missing (a hosted Supabase project already has them).
-- Run before the migrations by scripts/stack.sh (local cluster) and src/db/migrate.ts (PGlite).
-- authenticator is the server's login role: no superuser, no privileges of its own (noinherit),
-- member of the three API roles only; supabase/migrations/20261202000200_authenticator.sql makes
-- the same role where this script does not run. Its local password is set by scripts/stack.sh.
do $$
begin
  if not exists (select from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit nosuperuser nocreatedb nocreaterole noreplication nobypassrls;
  end if;
end
$$;
grant anon, authenticated, service_role to authenticator;
