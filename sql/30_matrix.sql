-- sql/30_matrix.sql — the correlation matrix behind the chart, and data coverage for the answers' "Based on …".

/*
 * analytics.correlation_matrix(variables, date_from, date_to, grain) — lag-0 Pearson r between every
 * pair of the given catalog variables (2..12 of them) over the periods in range, with the pair count n.
 * Returns both (x, y) and (y, x) and the diagonal (r = 1 unless the variable is constant, then null).
 * Errors (22023): unknown variable (lists the valid ones), fewer than 2 or more than 12 variables,
 * bad grain, empty range.
 * Example: select * from analytics.correlation_matrix(array['failure_count','asset_volume']);
 */
create or replace function analytics.correlation_matrix(
  variables text[],
  date_from date default null,
  date_to date default null,
  grain text default 'day'
)
returns table (x text, y text, n integer, r double precision)
language plpgsql
stable
set search_path = ''
as $$
declare
  v_view text;
  v_time text;
  v_vars text[];
  v_unknown text;
  v_valid text;
  v_select text := '';
begin
  -- @plpgsql_check_options: extra_warnings = off
  -- (the OUT columns are filled by RETURN QUERY EXECUTE, which plpgsql_check cannot see into)
  if grain is null or grain not in ('hour', 'day', 'week') then
    raise exception 'grain must be one of hour, day, week (got "%")', coalesce(grain, 'null')
      using errcode = '22023';
  end if;
  if variables is null or array_position(variables, null) is not null then
    raise exception 'variables must be a list of 2 to 12 feature names without nulls' using errcode = '22023';
  end if;
  select array_agg(distinct v order by v) into v_vars from unnest(variables) as v;
  if coalesce(cardinality(v_vars), 0) < 2 or cardinality(v_vars) > 12 then
    raise exception 'variables must name 2 to 12 distinct features (got %)', coalesce(cardinality(v_vars), 0)
      using errcode = '22023';
  end if;
  if date_from is not null and date_to is not null and date_from > date_to then
    raise exception 'date range % to % is empty', date_from, date_to using errcode = '22023';
  end if;
  select v into v_unknown from unnest(v_vars) as v
   where not exists (select from analytics.feature_catalog c where c.name = v and c.grain = correlation_matrix.grain)
   limit 1;
  if v_unknown is not null then
    select string_agg(c.name, ', ' order by c.name) into v_valid
      from analytics.feature_catalog c where c.grain = correlation_matrix.grain;
    raise exception 'unknown variable "%" for grain %; valid: %', v_unknown, grain, v_valid
      using errcode = '22023';
  end if;
  v_view := case grain when 'hour' then 'features_hourly' when 'day' then 'features_daily' else 'features_weekly' end;
  v_time := grain;
  -- one scan: every pair's corr() and regr_count() in a single select, unpacked below
  for i in 1 .. cardinality(v_vars) loop
    for j in 1 .. cardinality(v_vars) loop
      v_select := v_select || format(
        '%s select %L::text, %L::text, regr_count(%I::float8, %I::float8)::int, corr(%I::float8, %I::float8) from f',
        case when v_select = '' then '' else ' union all' end,
        v_vars[i], v_vars[j], v_vars[i], v_vars[j], v_vars[i], v_vars[j]);
    end loop;
  end loop;
  return query execute format(
    'with f as materialized (select * from analytics.%I where ($1::date is null or %I::date >= $1) and ($2::date is null or %I::date <= $2))%s',
    v_view, v_time, v_time, v_select)
    using date_from, date_to;
end;
$$;
revoke execute on function analytics.correlation_matrix(text[], date, date, text) from public;
grant execute on function analytics.correlation_matrix(text[], date, date, text) to authenticated, service_role;

/*
 * analytics.data_coverage(date_from, date_to) — rows and first/last event time per source table in the
 * range (inclusive UTC days; null = open end), plus a 'days' row counting the days of the daily
 * feature view in range. The answers' "Based on N tickets, M commits and D days" come from here.
 */
create or replace function analytics.data_coverage(date_from date default null, date_to date default null)
returns table (source text, rows bigint, first_at timestamptz, last_at timestamptz)
language sql
stable
set search_path = ''
as $$
  with b as (
    select (date_from::timestamp at time zone 'UTC') as lo,
           ((date_to + 1)::timestamp at time zone 'UTC') as hi
  )
  select 'jira_issues', count(*), min(created_at), max(created_at) from aoma.jira_issues, b
   where (b.lo is null or created_at >= b.lo) and (b.hi is null or created_at < b.hi)
  union all
  select 'git_commits', count(*), min(committed_at), max(committed_at) from aoma.git_commits, b
   where (b.lo is null or committed_at >= b.lo) and (b.hi is null or committed_at < b.hi)
  union all
  select 'deployments', count(*), min(deployed_at), max(deployed_at) from aoma.deployments, b
   where (b.lo is null or deployed_at >= b.lo) and (b.hi is null or deployed_at < b.hi)
  union all
  select 'log_events', count(*), min(ts), max(ts) from aoma.log_events, b
   where (b.lo is null or ts >= b.lo) and (b.hi is null or ts < b.hi)
  union all
  select 'aoma_system_metrics', count(*), min("timestamp"), max("timestamp") from aoma.aoma_system_metrics, b
   where (b.lo is null or "timestamp" >= b.lo) and (b.hi is null or "timestamp" < b.hi)
  union all
  select 'processing_attempts', count(*), min(started_at), max(started_at) from aoma.processing_attempts, b
   where (b.lo is null or started_at >= b.lo) and (b.hi is null or started_at < b.hi)
  union all
  select 'incidents', count(*), min(started_at), max(started_at) from aoma.incidents, b
   where (b.lo is null or started_at >= b.lo) and (b.hi is null or started_at < b.hi)
  union all
  select 'days', count(*), min(day::timestamp at time zone 'UTC'), max(day::timestamp at time zone 'UTC')
    from analytics.features_daily
   where (date_from is null or day >= date_from) and (date_to is null or day <= date_to)
$$;
revoke execute on function analytics.data_coverage(date, date) from public;
grant execute on function analytics.data_coverage(date, date) to authenticated, service_role;
