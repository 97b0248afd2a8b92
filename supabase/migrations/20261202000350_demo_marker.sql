-- The demo quarter never shares a database with ingested data (issue 8).
--
-- aoma_private.demo_load remembers that the source tables hold the generated demo quarter (which
-- variant and seed, when). aoma_private.database_content() says what the nine source tables hold:
--   empty     no row in any of them
--   demo      the demo quarter and nothing else (a demo_load row; or, for databases loaded before
--             this marker existed, demo incidents and no ingest run ever recorded)
--   ingested  anything else: rows that an ingest, a webhook or an analyst wrote
-- The demo loader (src/demo/load.ts) loads only into an empty or demo database; every ingest run
-- (src/ingest/run.ts) removes a demo quarter before it stores real rows and says so in its report.
create table if not exists aoma_private.demo_load (
  singleton boolean primary key default true check (singleton),
  variant text not null check (variant in ('planted', 'null')),
  seed integer not null,
  loaded_at timestamptz not null default now()
);
comment on table aoma_private.demo_load is
  'One row while the source tables hold the generated demo quarter (src/demo/load.ts); none otherwise.';

create or replace function aoma_private.database_content()
returns table (state text, tables_with_rows text[], demo_variant text, demo_seed integer, demo_loaded_at timestamptz)
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  t text;
  present text[] := '{}'::text[];
  found_rows boolean;
  marker aoma_private.demo_load;
begin
  foreach t in array array['repositories', 'jira_issues', 'git_commits', 'deployments', 'message_templates',
                           'log_events', 'aoma_system_metrics', 'processing_attempts', 'incidents'] loop
    execute format('select exists (select from aoma.%I)', t) into found_rows;
    if found_rows then present := array_append(present, t); end if;
  end loop;
  select * into marker from aoma_private.demo_load;
  if cardinality(present) = 0 then
    return query select 'empty'::text, present, null::text, null::integer, null::timestamptz;
  elsif marker.singleton
     or (exists (select from aoma.incidents where source = 'demo') and not exists (select from aoma.ingest_runs)) then
    return query select 'demo'::text, present, marker.variant, marker.seed, marker.loaded_at;
  else
    return query select 'ingested'::text, present, null::text, null::integer, null::timestamptz;
  end if;
end;
$$;
revoke execute on function aoma_private.database_content() from public;
grant execute on function aoma_private.database_content() to service_role;
comment on function aoma_private.database_content() is
  'What the source tables hold: empty, demo (the generated demo quarter only) or ingested; which tables have rows; the demo''s variant and seed.';

-- The loader and the ingest reach the marker only through these (no API role has a privilege on a
-- table in aoma_private): the lock serialises demo loads and the removal of a demo by an ingest
-- until the caller's transaction ends; set_demo_marker(null, null) removes the marker.
create or replace function aoma_private.lock_demo_marker()
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  lock table aoma_private.demo_load in share row exclusive mode;
end;
$$;
revoke execute on function aoma_private.lock_demo_marker() from public;
grant execute on function aoma_private.lock_demo_marker() to service_role;

create or replace function aoma_private.set_demo_marker(variant text, seed integer)
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  if set_demo_marker.variant is null then
    delete from aoma_private.demo_load;
  else
    insert into aoma_private.demo_load (singleton, variant, seed, loaded_at)
    values (true, set_demo_marker.variant, set_demo_marker.seed, now())
    on conflict (singleton) do update set variant = excluded.variant, seed = excluded.seed, loaded_at = excluded.loaded_at;
  end if;
end;
$$;
revoke execute on function aoma_private.set_demo_marker(text, integer) from public;
grant execute on function aoma_private.set_demo_marker(text, integer) to service_role;
