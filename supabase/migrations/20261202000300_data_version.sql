-- The data version: one number that changes whenever the data an analysis reads may have changed.
-- Every write to a raw table (ingest, webhook, analyst, pg_cron job) bumps it once per transaction,
-- and so does analytics.refresh_features() (sql/10_features.sql). Servers answer identical tool
-- calls from their cache until it moves (src/mcp/answer_cache.ts).
--
-- Why a row and not a sequence: the row is updated inside the writing transaction, so a reader
-- sees the new version only together with the new data (a sequence moves before the commit, and a
-- reader could cache an answer computed on the old rows under the new number). The price: writers
-- queue on this row from their first write to their commit; ingests write in short batches.
create table if not exists aoma_private.data_version (
  singleton boolean primary key default true check (singleton),
  version bigint not null default 1,
  changed_at timestamptz not null default now()
);
comment on table aoma_private.data_version is
  'One row: a counter bumped once by every transaction that writes a raw table or refreshes the feature views.';
insert into aoma_private.data_version (singleton) values (true) on conflict do nothing;

-- Bumps the version once per transaction (a transaction-local setting remembers that it did).
create or replace function aoma_private.bump_data_version()
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  if current_setting('aoma.data_version_bumped', true) is distinct from txid_current()::text then
    update aoma_private.data_version set version = version + 1, changed_at = clock_timestamp();
    perform set_config('aoma.data_version_bumped', txid_current()::text, true);
  end if;
end;
$$;
revoke execute on function aoma_private.bump_data_version() from public;

create or replace function aoma_private.data_version_trigger()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform aoma_private.bump_data_version();
  return null;
end;
$$;
revoke execute on function aoma_private.data_version_trigger() from public;

-- analytics.data_version(): the current version and when it changed (what the cache keys on).
create or replace function analytics.data_version()
returns table (version bigint, changed_at timestamptz)
language sql
stable
security definer
set search_path = ''
as $$ select version, changed_at from aoma_private.data_version $$;
revoke execute on function analytics.data_version() from public;
grant execute on function analytics.data_version() to authenticated, service_role;
comment on function analytics.data_version() is
  'The data version (bumped by every write to a raw table and every feature refresh) and when it last changed.';

-- A statement-level trigger on every table of the aoma schema (raw data, rules, runs).
do $$
declare
  t record;
begin
  for t in select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where n.nspname = 'aoma' and c.relkind in ('r', 'p') loop
    execute format('drop trigger if exists data_version_bump on aoma.%I', t.relname);
    execute format('create trigger data_version_bump after insert or update or delete or truncate on aoma.%I '
                   'for each statement execute function aoma_private.data_version_trigger()', t.relname);
  end loop;
end;
$$;
