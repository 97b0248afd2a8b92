-- AOMA Mesh Analytics: the server's login role.
--
-- The MCP and ingest functions connect as `authenticator`, as PostgREST does: a LOGIN role that is
-- no superuser, holds no privilege of its own (NOINHERIT: it does not use its roles' rights) and may
-- only switch, per transaction, to anon, authenticated or service_role (`set local role`). So a
-- statement that tried `set role postgres` inside a caller's transaction fails with 42501 instead
-- of relying only on caller text never becoming SQL. tests/sql/60_authenticator.sql is the contract.
--
-- Idempotent, and it never changes a role that is already right: hosted Supabase has its own
-- `authenticator` (PostgREST's, with Supabase's password), which is left as it is. No password is
-- set here: scripts/stack.sh sets the local cluster's (AOMA_AUTHENTICATOR_PASSWORD, default
-- `authenticator`); see README "What runs where" for hosted Supabase and the embedded PGlite.
-- scripts/roles.sql creates the same role before the migrations on the local cluster and PGlite.
do $$
declare
  api_role text;
  other text;
begin
  if not exists (select from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit nosuperuser nocreatedb nocreaterole noreplication nobypassrls;
  elsif exists (select from pg_roles where rolname = 'authenticator'
                  and (rolsuper or rolinherit or not rolcanlogin or rolcreatedb or rolcreaterole
                       or rolreplication or rolbypassrls)) then
    if (select rolsuper from pg_roles where rolname = current_user) then
      alter role authenticator login noinherit nosuperuser nocreatedb nocreaterole noreplication nobypassrls;
    else
      raise warning 'authenticator is not a plain LOGIN NOINHERIT role here and % may not change it; connect the server as a role of its own (README, "What runs where").', current_user;
    end if;
  end if;

  foreach api_role in array array['anon', 'authenticated', 'service_role'] loop
    if not exists (select from pg_auth_members m
                   where m.roleid = api_role::regrole and m.member = 'authenticator'::regrole) then
      execute format('grant %I to authenticator', api_role);
    end if;
  end loop;

  -- any further membership widens what the server connection may become: say so (hosted Supabase's
  -- authenticator is also a member of supabase_admin, which this migration may not revoke)
  select string_agg(m.roleid::regrole::text, ', ' order by m.roleid::regrole::text) into other
  from pg_auth_members m
  where m.member = 'authenticator'::regrole
    and m.roleid not in ('anon'::regrole, 'authenticated'::regrole, 'service_role'::regrole);
  if other is not null then
    raise warning 'authenticator is also a member of %: it may switch to those roles too; connect the server as a role of its own (README, "What runs where").', other;
  end if;
end
$$;
