-- Contract of the server's login role `authenticator` (supabase/migrations/20261202000200_authenticator.sql):
-- no superuser, no privileges of its own, may switch only to anon, authenticated and service_role,
-- cannot become postgres, cannot read aoma_private, cannot create anything in our schemas.
-- The statements run as authenticator through pg_temp.as_authenticator, which sets the SESSION
-- user (as a login would; a plain `set role` would still be checked against the superuser session).
-- A real login as authenticator (where `set session authorization` is refused too, and the MCP and
-- ingest functions run) is exercised by tests/authenticator_test.ts.
begin;
select plan(32);

-- Runs `setup` (may be null) then `query` with authenticator as session and current user; returns
-- the query's first column as text, or 'ERROR <sqlstate>: <message>'. Always switches back.
create function pg_temp.as_authenticator(setup text, query text) returns text
language plpgsql
as $$
declare
  result text;
begin
  set session authorization authenticator;
  begin
    if setup is not null then
      execute setup;
    end if;
    execute query into result;
  exception when others then
    result := 'ERROR ' || sqlstate || ': ' || sqlerrm;
  end;
  reset role;
  reset session authorization;
  return result;
end
$$;

-- ───────────────────────────── the role itself ─────────────────────────────
select has_role('authenticator');
select is(
  (select row(rolsuper, rolinherit, rolcanlogin, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls)::text
   from pg_roles where rolname = 'authenticator'),
  '(f,f,t,f,f,f,f)',
  'authenticator: no superuser, noinherit, login, no createrole/createdb/replication/bypassrls');
select isnt_superuser('authenticator');
select results_eq(
  $$select m.roleid::regrole::text, m.admin_option from pg_auth_members m
    where m.member = 'authenticator'::regrole order by 1$$,
  $$values ('anon', false), ('authenticated', false), ('service_role', false)$$,
  'authenticator is a member of anon, authenticated and service_role only, without admin option');
select ok(not pg_has_role('authenticator', 'postgres', 'member'), 'authenticator is no member of postgres');
select is(
  (select count(*)::int from pg_roles r
   where r.rolsuper and pg_has_role('authenticator', r.oid, 'member')),
  0, 'authenticator reaches no superuser role, directly or through another role');
select is(pg_temp.as_authenticator(null, 'select session_user || ''/'' || current_user'),
  'authenticator/authenticator', 'the probe really runs with authenticator as session and current user');

-- ───────────────────────────── role switches ─────────────────────────────
select is(pg_temp.as_authenticator('set role postgres', 'select current_user'),
  'ERROR 42501: permission denied to set role "postgres"', 'authenticator cannot set role postgres');
select is(pg_temp.as_authenticator('set local role postgres', 'select current_user'),
  'ERROR 42501: permission denied to set role "postgres"', 'nor set local role postgres');
select is(pg_temp.as_authenticator(null, 'select set_config(''role'', ''postgres'', true)'),
  'ERROR 42501: permission denied to set role "postgres"', 'nor set_config(''role'', ''postgres'', true)');
select is(pg_temp.as_authenticator('set role authenticated; set role postgres', 'select current_user'),
  'ERROR 42501: permission denied to set role "postgres"', 'nor from inside a caller''s role');
select is(pg_temp.as_authenticator('set role pg_read_all_data', 'select current_user'),
  'ERROR 42501: permission denied to set role "pg_read_all_data"', 'nor any other role');
select is(pg_temp.as_authenticator('set role anon', 'select current_user'), 'anon', 'authenticator can set role anon');
select is(pg_temp.as_authenticator('set role authenticated', 'select current_user'), 'authenticated',
  'authenticator can set role authenticated');
select is(pg_temp.as_authenticator('set role service_role', 'select current_user'), 'service_role',
  'authenticator can set role service_role');
select is(pg_temp.as_authenticator('set role service_role; reset role', 'select current_user'), 'authenticator',
  'reset role returns to authenticator, not to anyone else');

-- ───────────────────────────── no privileges of its own ─────────────────────────────
select is(pg_temp.as_authenticator(null, 'select count(*)::text from aoma_private.library_modules'),
  'ERROR 42501: permission denied for schema aoma_private', 'authenticator cannot read aoma_private');
select is(
  (select count(*)::int from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where n.nspname = 'aoma_private'
     and has_table_privilege('authenticator', c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')),
  0, 'authenticator has no privilege on any table or view of aoma_private');
select is(pg_temp.as_authenticator('set role service_role', 'select count(*)::text from aoma_private.library_modules'),
  'ERROR 42501: permission denied for table library_modules', 'nor can it through service_role');
select is(pg_temp.as_authenticator(null, 'select count(*)::text from aoma.incidents'),
  'ERROR 42501: permission denied for schema aoma', 'noinherit: authenticator itself cannot read aoma');
select is(pg_temp.as_authenticator('set role authenticated', 'select (count(*) >= 0)::text from aoma.incidents'),
  'true', 'once it is authenticated, authenticated''s grants apply');
select is(pg_temp.as_authenticator('set role authenticated', 'select (count(*) >= 0)::text from analytics.features_daily'),
  'true', 'authenticated reads the analytics surface');
select is(pg_temp.as_authenticator('set role authenticated', 'insert into aoma.repositories (repo) values (''probe'') returning repo'),
  'ERROR 42501: permission denied for table repositories', 'authenticated still cannot write');
select function_privs_are('analytics', 'refresh_features', array[]::text[], 'service_role', array['EXECUTE'],
  'service_role may refresh the feature views (the ingest path)');
select is_definer('analytics', 'refresh_features', array[]::text[],
  'refresh_features runs as its owner, so service_role need not own the materialized views');

-- ───────────────────────────── no CREATE anywhere ─────────────────────────────
select is(pg_temp.as_authenticator('create table public.authenticator_probe (x int)', 'select 1'),
  'ERROR 42501: permission denied for schema public', 'authenticator cannot create in public');
select is(pg_temp.as_authenticator('create table aoma.authenticator_probe (x int)', 'select 1'),
  'ERROR 42501: permission denied for schema aoma', 'nor in aoma');
select is(pg_temp.as_authenticator('create table analytics.authenticator_probe (x int)', 'select 1'),
  'ERROR 42501: permission denied for schema analytics', 'nor in analytics');
select is(pg_temp.as_authenticator('set role service_role; create table aoma.authenticator_probe (x int)', 'select 1'),
  'ERROR 42501: permission denied for schema aoma', 'nor as service_role');
select is(
  (select string_agg(nspname, ', ' order by nspname) from pg_namespace
   where has_schema_privilege('authenticator', oid, 'CREATE') and nspname not like 'pg\_temp\_%' and nspname not like 'pg\_toast\_temp\_%'),
  null, 'authenticator may create in no schema');
select is(
  (select string_agg(nspname, ', ' order by nspname) from pg_namespace
   where nspname in ('aoma', 'analytics', 'aoma_private', 'extensions', 'cron')
     and has_schema_privilege('authenticator', oid, 'USAGE')),
  null, 'authenticator may not even use our schemas, extensions or cron by itself');
select ok(not has_database_privilege('authenticator', current_database(), 'CREATE'),
  'authenticator cannot create schemas in the database');

select * from finish();
rollback;
