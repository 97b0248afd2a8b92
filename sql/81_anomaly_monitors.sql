-- AOMA Mesh Analytics — anomaly detection on catalog features, on demand and by monitors.
--
-- analytics.anomaly_scores (sql/80_anomaly.sql) scores one series. This module feeds it the series
-- the team asks about and keeps the monitors' results:
--
--   * a series is a catalog feature at hour, day or week grain (analytics.feature_catalog; the
--     values analytics.feature_history reads), or — with an asset type and/or a migration state — the
--     daily processing_attempts, processing_failures or processing_failure_rate of those assets
--     (analytics.segments_daily): "the failures of 360RA legacy assets";
--   * the season defaults to the grain's calendar (7 days, 24 hours; none for weeks) and the history
--     to 400 days / 1,008 hours / 156 weeks before the last period asked for, so the baseline of the
--     first period shown is already warm;
--   * analytics.detect_anomalies / analytics.detect_anomaly_events answer on demand for any window
--     (read only, as the caller);
--   * analytics.create_anomaly_monitor registers a monitor (service_role); analytics.run_anomaly_monitors
--     scores, for every enabled monitor, the periods after its last successful run (all of its
--     history at the first run) and stores the anomalous ones in analytics.anomalies — once: a period
--     is never scored twice, nothing is overwritten; one monitor's failure is recorded in
--     analytics.anomaly_monitor_runs and the others go on;
--   * on a server with pg_cron the module schedules the run every 15 minutes (job
--     aoma_anomaly_monitors): new data is scored within 15 minutes of the refresh that brought it;
--     a run with no new period reads nothing but the features' last period. On PGlite the in-process
--     schedule of `npm start` (src/jobs/anomaly_schedule.ts) runs the same function;
--   * analytics.anomaly_monitor_events groups the stored anomalies of each monitor into the events
--     analytics.anomaly_scores put them in when they were scored (analytics.anomalies.event_start).

-- The period length of a grain.
create or replace function aoma_private.grain_interval(grain text)
returns interval
language sql immutable parallel safe
set search_path = ''
as $$ select case grain when 'hour' then interval '1 hour' when 'day' then interval '1 day' when 'week' then interval '7 days' end $$;
revoke execute on function aoma_private.grain_interval(text) from public;
grant execute on function aoma_private.grain_interval(text) to authenticated, service_role;

/*
 * aoma_private.anomaly_series(feature, grain, periods, asset_type, migration_state, as_of) — the
 * series a detection reads: the last `periods` periods (1..10000) of the feature at `grain` that end
 * on or before `as_of` (null: the last with data), oldest first, as arrays of period starts and
 * values (null where the feature has no value). With asset_type and/or migration_state: the daily
 * processing counts of the matching segments of analytics.segments_daily (days with no attempt count
 * 0; the rate is null there). Raises 22023 for an unknown feature or grain, a filter on another
 * feature or grain, or a filter no attempt matches.
 */
create or replace function aoma_private.anomaly_series(
  feature text, grain text, periods integer, asset_type text, migration_state text, as_of timestamptz,
  out ts timestamptz[], out vals float8[])
language plpgsql stable
set search_path = ''
as $$
declare
  v_last timestamptz;
  v_y float8[];
  v_known text;
begin
  if grain is null or grain not in ('hour', 'day', 'week') then
    raise exception 'grain must be one of hour, day, week (got "%")', coalesce(grain, 'null') using errcode = '22023';
  end if;
  if periods is null or periods < 1 or periods > 10000 then
    raise exception 'history must be a whole number of periods from 1 to 10000 (got %)', coalesce(periods::text, 'null') using errcode = '22023';
  end if;
  if asset_type is null and migration_state is null then
    perform aoma_private.check_analysis_args(null, null, array[feature], null, grain);
    select h.y, h.last_period into v_y, v_last
    from aoma_private.forecast_history(grain, feature, coalesce(as_of, 'infinity'), periods) h;
    ts := array(select v_last - (cardinality(v_y) - i) * aoma_private.grain_interval(grain) from generate_series(1, coalesce(cardinality(v_y), 0)) i);
    vals := coalesce(v_y, '{}');
    return;
  end if;
  if grain <> 'day' or feature not in ('processing_attempts', 'processing_failures', 'processing_failure_rate') then
    raise exception 'a filter on asset type or migration state applies to processing_attempts, processing_failures and processing_failure_rate at day grain (got "%" at % grain)',
      feature, grain using errcode = '22023';
  end if;
  if not exists (select from analytics.segments_daily s
                 where (asset_type is null or split_part(s.segment, '/', 1) = asset_type)
                   and (migration_state is null or split_part(s.segment, '/', 2) = migration_state)) then
    select string_agg(distinct split_part(s.segment, '/', 1), ', ' order by split_part(s.segment, '/', 1)) into v_known from analytics.segments_daily s;
    raise exception 'no processing attempts match asset type % and migration state %; asset types with attempts: %',
      coalesce('"' || asset_type || '"', 'any'), coalesce('"' || migration_state || '"', 'any'), coalesce(v_known, 'none') using errcode = '22023';
  end if;
  select max(d.day)::timestamp at time zone 'UTC' into v_last
  from analytics.features_daily d where as_of is null or d.day <= (as_of at time zone 'UTC')::date;
  if v_last is null then
    ts := '{}'; vals := '{}';
    return;
  end if;
  select array_agg(x.p order by x.p), array_agg(x.v order by x.p) into ts, vals
  from (
    select d.day::timestamp at time zone 'UTC' as p,
           case feature
             when 'processing_attempts' then coalesce(sum(s.processing_attempts), 0)::float8
             when 'processing_failures' then coalesce(sum(s.processing_failures), 0)::float8
             else sum(s.processing_failures)::float8 / nullif(sum(s.processing_attempts), 0)
           end as v
    from analytics.features_daily d
    left join analytics.segments_daily s
      on s.day = d.day
     and (asset_type is null or split_part(s.segment, '/', 1) = asset_type)
     and (migration_state is null or split_part(s.segment, '/', 2) = migration_state)
    where d.day <= (v_last at time zone 'UTC')::date and d.day > (v_last at time zone 'UTC')::date - periods
    group by d.day
  ) x;
  ts := coalesce(ts, '{}'); vals := coalesce(vals, '{}');
end
$$;
revoke execute on function aoma_private.anomaly_series(text, text, integer, text, text, timestamptz) from public;
grant execute on function aoma_private.anomaly_series(text, text, integer, text, text, timestamptz) to authenticated, service_role;

-- The default season of a grain (7 days, 24 hours, none for weeks) and history (400 days, 1,008 hours, 156 weeks).
create or replace function aoma_private.anomaly_defaults(grain text, out season integer, out history integer)
language sql immutable parallel safe
set search_path = ''
as $$ select case grain when 'day' then 7 when 'hour' then 24 else 0 end, case grain when 'day' then 400 when 'hour' then 1008 else 156 end $$;
revoke execute on function aoma_private.anomaly_defaults(text) from public;
grant execute on function aoma_private.anomaly_defaults(text) to authenticated, service_role;

/*
 * analytics.detect_anomalies(feature, grain, date_from, date_to, sensitivity, direction, season,
 * history, asset_type, migration_state) — on-demand detection: analytics.anomaly_scores over the
 * feature's series (aoma_private.anomaly_series) ending at date_to (default: the last period with
 * data), history periods long (default 400 days / 1,008 hours / 156 weeks, plus the window), and its
 * rows for the periods from date_from on (default: the last 28 periods). A feature counted per
 * period (aoma_private.anomaly_counts) is scored with the Poisson noise floor. Columns as
 * analytics.anomaly_scores with period for ts. Read only, as the caller.
 *
 * Example: select period, value, expected, score from analytics.detect_anomalies('processing_failures',
 *          asset_type => '360RA', migration_state => 'legacy') where anomalous;
 */
create or replace function analytics.detect_anomalies(
  feature text, grain text default 'day', date_from date default null, date_to date default null,
  sensitivity float8 default 0.5, direction text default 'both', season integer default null, history integer default null,
  asset_type text default null, migration_state text default null)
returns table (period timestamptz, value float8, expected float8, lower float8, upper float8, score float8, anomalous boolean, event integer)
language plpgsql stable
set search_path = ''
as $$
declare
  s record;
begin
  select * into s from aoma_private.anomaly_window(feature, grain, date_from, date_to, season, history, asset_type, migration_state);
  return query
  select a.ts, a.value, a.expected, a.lower, a.upper, a.score, a.anomalous, a.event
  from analytics.anomaly_scores(s.ts, s.vals, s.season_used, sensitivity, direction, s.counts) a
  where a.ts >= s.show_from
  order by a.ts;
end
$$;
revoke execute on function analytics.detect_anomalies(text, text, date, date, float8, text, integer, integer, text, text) from public;
grant execute on function analytics.detect_anomalies(text, text, date, date, float8, text, integer, integer, text, text) to authenticated, service_role;

/*
 * aoma_private.anomaly_counts(feature, grain, vals) — whether a feature's series is a count of events
 * per period, so the detector applies its Poisson noise floor (analytics.anomaly_scores' counts):
 * its catalog unit is "<things>/<hour|day|week>" (failures, attempts, events, tickets, commits …)
 * and every value is a whole number ≥ 0.
 */
create or replace function aoma_private.anomaly_counts(feature text, grain text, vals float8[])
returns boolean
language sql stable
set search_path = ''
as $$
  select coalesce((select c.unit ~ '/(hour|day|week)$' from analytics.feature_catalog c where c.name = anomaly_counts.feature and c.grain = anomaly_counts.grain), false)
     and not exists (select from unnest(vals) v where v < 0 or v <> floor(v))
$$;
revoke execute on function aoma_private.anomaly_counts(text, text, float8[]) from public;
grant execute on function aoma_private.anomaly_counts(text, text, float8[]) to authenticated, service_role;

/*
 * aoma_private.anomaly_window — the arrays and settings of an on-demand detection (see
 * analytics.detect_anomalies): season and history with their defaults, the series ending at date_to,
 * and show_from, the first period shown. Raises 22023 when date_from is after date_to, the window
 * holds more than 10,000 periods, or the series has no period in the window.
 */
drop function if exists aoma_private.anomaly_window(text, text, date, date, integer, integer, text, text);
create or replace function aoma_private.anomaly_window(
  feature text, grain text, date_from date, date_to date, season integer, history integer, asset_type text, migration_state text,
  out ts timestamptz[], out vals float8[], out season_used integer, out show_from timestamptz, out counts boolean)
language plpgsql stable
set search_path = ''
as $$
declare
  d record;
  v_len interval := aoma_private.grain_interval(grain);
  v_shown integer;
  v_as_of timestamptz := case when date_to is null then null else ((date_to + 1)::timestamp at time zone 'UTC') - interval '1 microsecond' end;
begin
  if v_len is null then
    raise exception 'grain must be one of hour, day, week (got "%")', coalesce(grain, 'null') using errcode = '22023';
  end if;
  if date_from is not null and date_to is not null and date_from > date_to then
    raise exception 'date_from (%) is after date_to (%); give the first day, then the last', date_from, date_to using errcode = '22023';
  end if;
  select * into d from aoma_private.anomaly_defaults(grain);
  season_used := coalesce(season, d.season);
  -- periods shown: from date_from (or the last 28) to the end
  v_shown := case when date_from is null then 28
                  else ceil(extract(epoch from (coalesce(v_as_of, now()) - (date_from::timestamp at time zone 'UTC'))) / extract(epoch from v_len))::int end;
  if v_shown > 10000 then
    raise exception 'the window holds % %s; at most 10,000 periods are scored at once: narrow it or use a coarser grain', v_shown, grain using errcode = '22023';
  end if;
  select x.ts, x.vals into ts, vals
  from aoma_private.anomaly_series(feature, grain, least(10000, coalesce(history, d.history) + greatest(v_shown, 1)), asset_type, migration_state, v_as_of) x;
  if cardinality(ts) = 0 then
    raise exception 'there is no % data of "%" % to score; ingest data or load the demo first', grain, feature,
      case when date_to is null then '' else 'up to ' || date_to end using errcode = '22023';
  end if;
  show_from := coalesce(date_from::timestamp at time zone 'UTC', ts[greatest(1, cardinality(ts) - 27)]);
  if show_from > ts[cardinality(ts)] then
    raise exception 'there is no % data of "%" from % on; the data ends at %', grain, feature, date_from, (ts[cardinality(ts)] at time zone 'UTC')::date
      using errcode = '22023';
  end if;
  if season_used > cardinality(ts) / 4 then
    -- too little history for the season: score without it rather than refuse
    season_used := 0;
  end if;
  counts := aoma_private.anomaly_counts(feature, grain, vals);
end
$$;
revoke execute on function aoma_private.anomaly_window(text, text, date, date, integer, integer, text, text) from public;
grant execute on function aoma_private.anomaly_window(text, text, date, date, integer, integer, text, text) to authenticated, service_role;

/*
 * analytics.detect_anomaly_events(same arguments as detect_anomalies) — the events
 * (analytics.anomaly_events) of that detection that end in the shown window; event_direction is the
 * events' direction column (up, down or mixed).
 */
create or replace function analytics.detect_anomaly_events(
  feature text, grain text default 'day', date_from date default null, date_to date default null,
  sensitivity float8 default 0.5, direction text default 'both', season integer default null, history integer default null,
  asset_type text default null, migration_state text default null)
returns table (event integer, started timestamptz, ended timestamptz, peak timestamptz, peak_value float8, peak_expected float8,
               peak_score float8, points integer, event_direction text, severity text)
language plpgsql stable
set search_path = ''
as $$
declare
  s record;
begin
  select * into s from aoma_private.anomaly_window(feature, grain, date_from, date_to, season, history, asset_type, migration_state);
  return query
  select e.event, e.started, e.ended, e.peak, e.peak_value, e.peak_expected, e.peak_score, e.points, e.direction, e.severity
  from analytics.anomaly_events(s.ts, s.vals, s.season_used, sensitivity, detect_anomaly_events.direction, s.counts) e
  where e.ended >= s.show_from
  order by e.started;
end
$$;
revoke execute on function analytics.detect_anomaly_events(text, text, date, date, float8, text, integer, integer, text, text) from public;
grant execute on function analytics.detect_anomaly_events(text, text, date, date, float8, text, integer, integer, text, text) to authenticated, service_role;

/*
 * analytics.create_anomaly_monitor(monitor_name, feature, grain, sensitivity, direction, season,
 * asset_type, migration_state, history) — registers a monitor (service_role). The series is read
 * once to check it (an unknown feature or filter is refused with the detection's sentence).
 * Registering the same monitor again changes nothing and returns it; the same name with other
 * settings is refused. Returns the monitor and whether it was created now.
 */
create or replace function analytics.create_anomaly_monitor(
  monitor_name text, feature text, grain text default 'day', sensitivity float8 default 0.5, direction text default 'both',
  season integer default null, asset_type text default null, migration_state text default null, history integer default null)
returns table (name text, created boolean, feature_name text, grain_name text, season_used integer, sensitivity_used float8,
               direction_used text, asset_type_used text, migration_state_used text, history_used integer)
language plpgsql volatile
set search_path = ''
as $$
#variable_conflict use_variable
declare
  d record;
  m analytics.anomaly_monitors;
  v_season integer;
  v_history integer;
  v_new boolean := false;
begin
  if monitor_name is null or monitor_name !~ '^[a-z][a-z0-9_]{0,62}$' then
    raise exception 'a monitor name is 1 to 63 lower-case letters, digits and underscores, starting with a letter (got "%")', left(coalesce(monitor_name, 'null'), 80)
      using errcode = '22023';
  end if;
  if sensitivity is null or not (sensitivity >= 0.001 and sensitivity <= 0.999) then
    raise exception 'sensitivity must be between 0.001 and 0.999 (got %)', coalesce(sensitivity::text, 'null') using errcode = '22023';
  end if;
  if direction is null or direction not in ('up', 'down', 'both') then
    raise exception 'direction must be one of up, down, both (got "%")', coalesce(direction, 'null') using errcode = '22023';
  end if;
  select * into d from aoma_private.anomaly_defaults(grain);
  v_season := coalesce(season, d.season);
  v_history := coalesce(history, d.history);
  if v_season < 0 or v_season > 1000 or v_history < 30 or v_history > 10000 then
    raise exception 'season must be 0 to 1000 periods and history 30 to 10000 periods (got % and %)', v_season, v_history using errcode = '22023';
  end if;
  perform aoma_private.anomaly_series(feature, grain, 1, asset_type, migration_state, null);
  insert into analytics.anomaly_monitors as am (monitor_name, feature, grain, season, sensitivity, direction, asset_type, migration_state, history, created_by)
  values (monitor_name, feature, grain, v_season, sensitivity, direction, asset_type, migration_state, v_history,
          coalesce(nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub', current_user))
  on conflict on constraint anomaly_monitors_pkey do nothing
  returning true into v_new;
  select * into m from analytics.anomaly_monitors am where am.monitor_name = monitor_name;
  if not coalesce(v_new, false) and (m.feature, m.grain, m.season, m.sensitivity, m.direction, m.asset_type, m.migration_state, m.history)
     is distinct from (feature, grain, v_season, sensitivity, direction, asset_type, migration_state, v_history) then
    raise exception 'a monitor named "%" already exists with other settings (% at % grain, sensitivity %); choose another name',
      monitor_name, m.feature, m.grain, m.sensitivity using errcode = '22023';
  end if;
  return query select m.monitor_name, coalesce(v_new, false), m.feature, m.grain, m.season, m.sensitivity, m.direction,
                      m.asset_type, m.migration_state, m.history;
end
$$;
revoke execute on function analytics.create_anomaly_monitor(text, text, text, float8, text, integer, text, text, integer) from public;
grant execute on function analytics.create_anomaly_monitor(text, text, text, float8, text, integer, text, text, integer) to service_role;

/*
 * analytics.run_anomaly_monitors(scheduler, only_monitor) — scores every enabled monitor (or one):
 * the periods after its last successful run's scored_to (all of its history at the first run),
 * stores the anomalous ones in analytics.anomalies (insert once: a period already stored stays as it
 * is), and records one row per monitor in analytics.anomaly_monitor_runs. A monitor whose feature has
 * no period after its last run is skipped without a row. One monitor's failure (its sentence) is
 * recorded and the others go on. scheduler: pg_cron, in-process or manual. service_role.
 */
create or replace function analytics.run_anomaly_monitors(scheduler text default 'manual', only_monitor text default null)
returns table (monitor_name text, status text, scored_from timestamptz, scored_to timestamptz, points_scored integer,
               anomalies_found integer, error text)
language plpgsql volatile
set search_path = ''
as $$
#variable_conflict use_column
declare
  m record;
  s record;
  v_last timestamptz;
  v_from timestamptz;
  v_to timestamptz;
  v_points integer;
  v_found integer;
  v_err text;
begin
  if scheduler is null or scheduler not in ('pg_cron', 'in-process', 'manual') then
    raise exception 'scheduler must be one of pg_cron, in-process, manual (got "%")', coalesce(scheduler, 'null') using errcode = '22023';
  end if;
  if only_monitor is not null and not exists (select from analytics.anomaly_monitors am where am.monitor_name = only_monitor) then
    raise exception 'there is no monitor named "%"', left(only_monitor, 80) using errcode = '22023';
  end if;
  for m in select am.* from analytics.anomaly_monitors am
           where am.enabled and (only_monitor is null or am.monitor_name = only_monitor) order by am.monitor_name loop
    select max(r.scored_to) into v_last from analytics.anomaly_monitor_runs r
    where r.monitor_name = m.monitor_name and r.status = 'succeeded';
    begin
      select * into s from aoma_private.anomaly_series(m.feature, m.grain, m.history + coalesce(
               ceil(extract(epoch from (now() - v_last)) / extract(epoch from aoma_private.grain_interval(m.grain)))::int, m.history), m.asset_type, m.migration_state, null)
        as x;
      continue when cardinality(s.ts) = 0 or (v_last is not null and s.ts[cardinality(s.ts)] <= v_last);
      v_from := coalesce((select min(t) from unnest(s.ts) t where v_last is null or t > v_last), s.ts[1]);
      v_to := s.ts[cardinality(s.ts)];
      with allpts as (
        select sc.*, min(sc.ts) filter (where sc.event is not null) over (partition by sc.event) as event_start
        from analytics.anomaly_scores(s.ts, s.vals, case when m.season > cardinality(s.ts) / 4 then 0 else m.season end,
                                      m.sensitivity, m.direction, aoma_private.anomaly_counts(m.feature, m.grain, s.vals)) sc
      ),
      a as (select * from allpts where allpts.ts >= v_from),
      ins as (
        -- event_start: the event's first period over the whole series scored (it may lie before v_from)
        insert into analytics.anomalies (monitor_name, period, value, expected, lower, upper, score, event_start)
        select m.monitor_name, a.ts, a.value, a.expected, a.lower, a.upper, a.score, a.event_start from a where a.anomalous
        on conflict do nothing
        returning 1
      )
      select (select count(*) from a where a.score is not null), (select count(*) from ins) into v_points, v_found;
      insert into analytics.anomaly_monitor_runs (monitor_name, scheduler, status, scored_from, scored_to, points_scored, anomalies_found)
      values (m.monitor_name, scheduler, 'succeeded', v_from, v_to, v_points, v_found);
      return query select m.monitor_name, 'succeeded'::text, v_from, v_to, v_points, v_found, null::text;
    exception when others then
      get stacked diagnostics v_err = message_text;
      insert into analytics.anomaly_monitor_runs (monitor_name, scheduler, status, error)
      values (m.monitor_name, scheduler, 'failed', v_err);
      return query select m.monitor_name, 'failed'::text, null::timestamptz, null::timestamptz, 0, 0, v_err;
    end;
  end loop;
end
$$;
revoke execute on function analytics.run_anomaly_monitors(text, text) from public;
grant execute on function analytics.run_anomaly_monitors(text, text) to service_role;

-- The stored anomalies of each monitor grouped into events: the event each was scored in (event_start).
create or replace view analytics.anomaly_monitor_events with (security_invoker = true) as
select x.monitor_name, m.feature, m.grain, m.asset_type, m.migration_state,
       (dense_rank() over (partition by x.monitor_name order by min(coalesce(x.event_start, x.period))))::integer as event,
       min(x.period) as started, max(x.period) as ended,
       (array_agg(x.period order by x.score desc, x.period))[1] as peak,
       max(x.score) as peak_score, count(*)::integer as points,
       case when bool_and(x.value > x.expected) then 'up' when bool_and(x.value < x.expected) then 'down' else 'mixed' end as direction,
       case when max(x.score) >= 0.999 then 'high' when max(x.score) >= 0.99 then 'medium' else 'low' end as severity,
       min(x.scored_at) as first_detected_at
from analytics.anomalies x join analytics.anomaly_monitors m using (monitor_name)
group by x.monitor_name, m.feature, m.grain, m.asset_type, m.migration_state, coalesce(x.event_start, x.period);
comment on view analytics.anomaly_monitor_events is
  'The anomalies each monitor stored (analytics.anomalies), grouped into the events analytics.anomaly_scores put them in (event_start); severity by peak score as analytics.anomaly_events.';
grant select on analytics.anomaly_monitor_events to authenticated, service_role;

/*
 * analytics.schedule_anomaly_monitors(every_minutes) — schedules analytics.run_anomaly_monitors
 * with pg_cron as job aoma_anomaly_monitors every `every_minutes` (1..60, default 15); 0 unschedules
 * it. Without pg_cron (PGlite, a database other than pg_cron's) it says so and changes nothing.
 */
create or replace function analytics.schedule_anomaly_monitors(every_minutes integer default 15)
returns text
language plpgsql volatile
security definer
set search_path = ''
as $$
declare
  v_cmd text := $c$select * from analytics.run_anomaly_monitors('pg_cron')$c$;
  v_sched text;
  v_same boolean;
  v_id bigint;
begin
  if every_minutes is null or every_minutes < 0 or every_minutes > 60 then
    raise exception 'every_minutes must be 1 to 60, or 0 to unschedule (got %)', coalesce(every_minutes::text, 'null') using errcode = '22023';
  end if;
  if to_regprocedure('cron.schedule(text,text,text)') is null then
    return 'not scheduled: pg_cron is not installed in this database (on PGlite, npm start runs the monitors on its in-process schedule)';
  end if;
  if every_minutes = 0 then
    execute $q$select jobid from cron.job where jobname = 'aoma_anomaly_monitors'$q$ into v_id;
    if v_id is null then return 'not scheduled'; end if;
    execute 'select cron.unschedule($1::bigint)' using v_id;
    return 'unscheduled';
  end if;
  v_sched := case when every_minutes = 60 then '0 * * * *' else format('*/%s * * * *', every_minutes) end;
  execute $q$select exists (select from cron.job where jobname = 'aoma_anomaly_monitors' and schedule = $1 and command = $2 and active)$q$
    into v_same using v_sched, v_cmd;
  if v_same then return 'unchanged: ' || v_sched; end if;
  execute 'select cron.schedule($1, $2, $3)' using 'aoma_anomaly_monitors', v_sched, v_cmd;
  return 'scheduled: ' || v_sched;
end
$$;
revoke execute on function analytics.schedule_anomaly_monitors(integer) from public;
grant execute on function analytics.schedule_anomaly_monitors(integer) to service_role;

-- scheduled wherever pg_cron is installed (a no-op elsewhere)
select analytics.schedule_anomaly_monitors(15);
