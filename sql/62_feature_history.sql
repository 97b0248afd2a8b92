-- AOMA Mesh Analytics — reading one feature's series out of the wide feature tables, in one place:
-- aoma_private.forecast_history (values as of a time: what analytics.forecast_feature and the
-- nightly forecast job fit on) and analytics.feature_history (rows for people and charts: what a
-- forecast is drawn next to in generate_forecasts).
--
-- analytics.feature_history(features text[], grain text default 'day', periods integer default 28)
--   → (feature, period, value): the last `periods` rows of analytics.features_hourly / _daily /
--   _weekly (the same rows analytics.forecast_feature reads), oldest first, per feature in the
--   order given (each name once). Names are checked against analytics.feature_catalog; bad
--   arguments raise 22023 with one sentence.

-- The length of a period of the grain (hour, day, ISO week).
create or replace function aoma_private.forecast_period_length(grain text)
returns interval
language sql
immutable
set search_path = ''
as $$ select case grain when 'hour' then interval '1 hour' when 'day' then interval '1 day' else interval '7 days' end $$;
revoke execute on function aoma_private.forecast_period_length(text) from public;
grant execute on function aoma_private.forecast_period_length(text) to authenticated, service_role;

-- aoma_private.forecast_history(grain, feature, as_of, history): the feature's values of the periods
-- that end by as_of (the last `history` of them; null = 1,008 hours, 730 days or 260 weeks, as
-- analytics.forecast_feature reads), oldest first, and the start of the last one (UTC). as_of
-- 'infinity' reads up to the last period. The feature must have passed the catalog check
-- (aoma_private.check_analysis_args): it becomes a column name.
create or replace function aoma_private.forecast_history(
  grain text, feature text, as_of timestamptz, history integer,
  out y float8[], out last_period timestamptz
)
language plpgsql
stable
set search_path = ''
as $$
declare
  v_table text := case grain when 'hour' then 'features_hourly' when 'day' then 'features_daily' else 'features_weekly' end;
  v_period text := case grain when 'hour' then 'hour' when 'day' then '(day::timestamp at time zone ''UTC'')'
                              else '(week::timestamp at time zone ''UTC'')' end;
begin
  execute format(
    'select array_agg(x.v order by x.p), max(x.p) from (
       select %1$s as p, %2$I::float8 as v from analytics.%3$I
       where %1$s + $3 <= $1 order by 1 desc limit $2) x',
    v_period, feature, v_table)
  into y, last_period
  -- null: the defaults of analytics.forecast_feature (1,008 hours, 730 days, 260 weeks)
  using as_of, coalesce(history, case grain when 'hour' then 1008 when 'day' then 730 else 260 end),
        aoma_private.forecast_period_length(grain);
end;
$$;
revoke execute on function aoma_private.forecast_history(text, text, timestamptz, integer) from public;
grant execute on function aoma_private.forecast_history(text, text, timestamptz, integer) to authenticated, service_role;

create or replace function analytics.feature_history(features text[], grain text default 'day', periods integer default 28)
returns table (feature text, period timestamptz, value float8)
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_grain text := coalesce(feature_history.grain, 'day');
  rec record;
  v_values float8[];
  v_last timestamptz;
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
  for rec in select u.name from unnest(feature_history.features) with ordinality as u(name, ord)
             group by u.name order by min(u.ord) loop
    select h.y, h.last_period into v_values, v_last
    from aoma_private.forecast_history(v_grain, rec.name, 'infinity', feature_history.periods) h;
    -- the feature tables have a row for every period of their range: the i-th value's period follows
    for i in 1 .. coalesce(cardinality(v_values), 0) loop
      feature := rec.name;
      period := v_last - (cardinality(v_values) - i) * aoma_private.forecast_period_length(v_grain);
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
