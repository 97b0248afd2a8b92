-- AOMA Mesh Analytics — the recent history of catalog features, one row per feature × period:
-- what a forecast is drawn next to (generate_forecasts' chart and its "against the last periods"
-- comparison), and a plain way for analysts to read one series of the wide feature tables.
--
-- analytics.feature_history(features text[], grain text default 'day', periods integer default 28)
--   → (feature, period, value): the last `periods` rows of analytics.features_hourly / _daily /
--   _weekly (the same rows analytics.forecast_feature reads), oldest first, per feature in the
--   order given (each name once). Names are checked against analytics.feature_catalog; bad
--   arguments raise 22023 with one sentence.

create or replace function analytics.feature_history(features text[], grain text default 'day', periods integer default 28)
returns table (feature text, period timestamptz, value float8)
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_grain text := coalesce(feature_history.grain, 'day');
  v_table text;
  v_key text;
  rec record;
  v_periods timestamptz[];
  v_values float8[];
begin
  if v_grain not in ('hour', 'day', 'week') then
    raise exception 'grain must be one of hour, day, week (got "%")', v_grain using errcode = '22023';
  end if;
  if feature_history.periods is null or feature_history.periods < 1 or feature_history.periods > 10000 then
    raise exception 'periods must be a whole number from 1 to 10000 (got %)', coalesce(feature_history.periods::text, 'null')
      using errcode = '22023';
  end if;
  if feature_history.features is null or cardinality(feature_history.features) = 0 then
    raise exception 'features must name at least one catalog variable' using errcode = '22023';
  end if;
  perform aoma_private.check_analysis_args(null, null, feature_history.features, null, v_grain);
  v_table := case v_grain when 'hour' then 'features_hourly' when 'day' then 'features_daily' else 'features_weekly' end;
  v_key := case v_grain when 'hour' then 'hour' when 'day' then 'day' else 'week' end;
  for rec in select u.name from unnest(feature_history.features) with ordinality as u(name, ord)
             group by u.name order by min(u.ord) loop
    execute format(
      'select array_agg(v.k::timestamptz order by v.k), array_agg(v.x order by v.k)
       from (select t.%2$I as k, t.%1$I::float8 as x from analytics.%3$I t order by t.%2$I desc limit $1) v',
      rec.name, v_key, v_table) into v_periods, v_values using feature_history.periods;
    for i in 1 .. coalesce(cardinality(v_periods), 0) loop
      feature := rec.name;
      period := v_periods[i];
      value := v_values[i];
      return next;
    end loop;
  end loop;
end;
$$;
comment on function analytics.feature_history(text[], text, integer) is
  'The last `periods` values of catalog features at hour / day / week grain, oldest first (what analytics.forecast_feature reads). See sql/62_feature_history.sql.';
revoke execute on function analytics.feature_history(text[], text, integer) from public;
grant execute on function analytics.feature_history(text[], text, integer) to authenticated, service_role;
