-- sql/65_forecast_ledger.sql — the forecast ledger that scores itself, and the nightly forecast job
-- (issue 9, items 2 and 3). Tables: supabase/migrations/20261204000100_forecast_ledger.sql. The
-- forecasts themselves come from analytics.forecast_series (sql/61_forecast_api.sql).
--
-- ── Reading it (role authenticated) ─────────────────────────────────────────────────────────────
--   analytics.forecast_latest      the rows of the latest stored run per (kind, grain, feature):
--       select feature, step, period, point, levels, lower, upper, method_used, scheduler, made_at
--       from analytics.forecast_latest where kind = 'job' and grain = 'day' order by feature, step;
--   analytics.forecast_ledger      every stored row with its run (kind, job_name, run_day, scheduler,
--                                  made_at, grain, levels) and, once its period is complete, the
--                                  actual: error (actual − point), abs_error, scaled_error
--                                  (abs_error / scale), covered[] (per level: lower ≤ actual ≤ upper)
--   analytics.forecast_scores      per grain × feature × step (step null = all steps): n_forecasts,
--                                  n_scored, mase, mae, bias, levels[], coverage[] (realised),
--                                  n_per_level[], n_recalibrated, first/last scored period
--   analytics.forecast_job_health  per job: schedule (run_at UTC, next_run_at), the last attempt
--                                  (day, scheduler, status, start, end, seconds, rows, error), the
--                                  last success, runs and failures over 30 days, and state:
--                                  ok | failed | missed | pending | never | disabled
--   analytics.forecast_job_runs    (table) one row per job and day: the last attempt, attempts
--   analytics.forecast_runs.scheduler  which scheduler produced a stored run: pg_cron, in-process, manual
--
-- ── Writing it (role service_role; security definer) ────────────────────────────────────────────
--   analytics.run_forecast_job(day date default today (UTC), scheduler text default 'manual',
--                              job text default 'nightly')
--     returns (job_name, run_day, status, rows_written, series_forecast, series_skipped, run_id,
--              error, notes). Refreshes the feature tables (analytics.refresh_features()), then
--     forecasts the job's features as of 00:00 UTC of `day` (only periods that ended by then are
--     history) and stores the run. A re-run for the same day replaces that day's run. A run that
--     fails (feature refresh, unknown feature in the configuration, no feature forecastable, any
--     error) is recorded in analytics.forecast_job_runs with its error text and writes no forecast
--     row; the day's earlier stored run, if any, is kept. A feature the forecast refuses for its
--     data (history too short, constant, all null: SQLSTATE 22023) is skipped with a note, the
--     others are stored. Bad arguments (unknown job or scheduler) raise 22023, nothing recorded.
--   analytics.store_forecasts(features text[], grain text default 'day', horizon integer default 7,
--                             levels float8[] default '{80,95}', method text default 'auto',
--                             history integer default null)
--     an on-demand run (kind on_demand, scheduler manual) as of 00:00 UTC today; returns
--     (run_id, rows_written, series_forecast, series_skipped, notes); any error: nothing stored.
--   analytics.schedule_forecast_job(job text default 'nightly', run_at time default null,
--                                   enabled boolean default null)
--     changes the job's time of day / enabled flag when given and (re)schedules it with pg_cron
--     (cron job aoma_forecast_<job>, '<minute> <hour> * * *', UTC); where pg_cron is absent (PGlite,
--     a database other than cron.database_name) it says so in a notice and changes only the table.
--     Any insert, update or delete on analytics.forecast_jobs reschedules as well (statement trigger).
--
-- ── Method ──────────────────────────────────────────────────────────────────────────────────────
-- History: the feature's column of analytics.features_hourly / _daily / _weekly, periods that end by
-- 00:00 UTC of the run day, the last `history` of them (null: 1,008 hours, 730 days or 260 weeks,
-- the defaults of analytics.forecast_feature). Season: 24 (second season 168)
-- hourly, 7 daily, 52 weekly; 1 when the history is shorter than analytics.forecast_series needs for
-- that season (max(2m + 2, 10) + horizon + 19 periods; noted).
-- Scale (stored per row): the in-sample MAE of the seasonal naive forecast, mean |y_t − y_{t−m}|
-- over the whole history (m = 1 when that is 0; null, so no MASE, when the history is constant).
-- Realised MASE of a series × step = mean over its scored rows of |actual − point| / scale.
-- A period is scored once it is complete: its end ≤ the end of the last hour with data
-- (max(analytics.features_hourly.hour) + 1 hour), and its value is not null.
-- Recalibration rule (normalised split conformal): when a run is made, the ledger's scored rows of
-- the same grain, feature and step whose period ended by the run's history end are counted per
-- interval level L the earlier run also had (k, stored as realised_errors: the largest over the
-- levels). Each gives a ratio = |error| / that run's own backtest half-width at L (rows whose
-- backtest half-width was 0 are left out): how far the backtest's promise had to stretch to cover
-- what happened. With k ≥ 30, the latest 200 ratios (by period) give the factor = the
-- ⌈(k'+1)·L/100⌉-th smallest (k' = min(k, 200)), and the run's half-width at L becomes factor × its
-- own backtest half-width (wider or narrower: realised errors are out of sample by construction); a
-- level whose rank exceeds k' keeps the backtest bounds. Ratios rather than raw errors, so errors
-- of an earlier, different model (a shorter history, another season or method) still say how its
-- backtest intervals fared, not how wide this run's should be. The sanity rule of
-- forecast_series holds: a half-width is at most the history's range, and a history that never
-- goes below 0 gets lower bounds ≥ 0. The backtest bounds stay in backtest_lower / backtest_upper,
-- recalibrated is true and notes say so (levels, k, half-widths before and after).
--
-- ── Schedulers ──────────────────────────────────────────────────────────────────────────────────
-- On a server with pg_cron (the local cluster: cron.database_name = postgres) the module schedules
-- every enabled job when it is applied and whenever analytics.forecast_jobs changes. On PGlite,
-- `npm start` runs analytics.run_forecast_job(day, 'in-process', job) at run_at UTC every day
-- (src/jobs/forecast_schedule.ts), and catches up a day whose run time passed while it was down.

-- ───────────────────────────── analyst views ─────────────────────────────

-- (aoma_private.forecast_period_length is in sql/62_feature_history.sql)

create or replace view analytics.forecast_ledger
with (security_invoker = true) as
select r.run_id, r.kind, r.job_name, r.run_day, r.scheduler, r.made_at, r.history_end, r.grain,
       v.feature, v.step, v.period, v.period + p.len as period_end,
       v.point, r.levels, v.lower, v.upper, v.backtest_lower, v.backtest_upper, v.recalibrated, v.realised_errors,
       v.method_used, v.model, v.backtest_mase, v.baseline_mase, v.backtest_coverage, v.n_errors, v.n_history,
       v.season, v.scale,
       a.actual,
       a.actual - v.point as error,
       abs(a.actual - v.point) as abs_error,
       abs(a.actual - v.point) / v.scale as scaled_error,
       case when a.actual is not null then
         (select array_agg(a.actual >= v.lower[i] and a.actual <= v.upper[i] order by i)
          from generate_subscripts(r.levels, 1) as i) end as covered,
       v.notes
from analytics.forecast_values v
join analytics.forecast_runs r on r.run_id = v.run_id
cross join lateral (select aoma_private.forecast_period_length(r.grain) as len) p
left join lateral (
  select x.actual from (
    select (to_jsonb(f) ->> v.feature)::float8 as actual
    from analytics.features_hourly f where r.grain = 'hour' and f.hour = v.period
    union all
    select (to_jsonb(f) ->> v.feature)::float8
    from analytics.features_daily f where r.grain = 'day' and f.day = (v.period at time zone 'UTC')::date
    union all
    select (to_jsonb(f) ->> v.feature)::float8
    from analytics.features_weekly f where r.grain = 'week' and f.week = (v.period at time zone 'UTC')::date
  ) x
  where v.period + p.len <= (select max(h.hour) + interval '1 hour' from analytics.features_hourly h)
) a on true;
comment on view analytics.forecast_ledger is
  'Every stored forecast row with its run and, once its period is complete, the actual from the feature tables: error (actual − point), abs_error, scaled_error (abs_error / the run''s in-sample seasonal naive MAE), covered[] per level. See sql/65_forecast_ledger.sql.';

create or replace view analytics.forecast_scores
with (security_invoker = true) as
with s as (
  select l.* from analytics.forecast_ledger l where l.actual is not null
), stats as (
  select s.grain, s.feature, s.step, count(*)::integer as n_scored,
         avg(s.scaled_error) as mase, avg(s.abs_error) as mae, avg(s.error) as bias,
         count(*) filter (where s.recalibrated)::integer as n_recalibrated,
         min(s.period) as first_period, max(s.period) as last_period
  from s group by grouping sets ((s.grain, s.feature, s.step), (s.grain, s.feature))
), per_level as (
  select s.grain, s.feature, s.step, l.level, count(*)::integer as n,
         avg(case when s.covered[l.i::integer] then 1.0 else 0.0 end)::float8 as coverage
  from s cross join lateral unnest(s.levels) with ordinality as l(level, i)
  group by grouping sets ((s.grain, s.feature, s.step, l.level), (s.grain, s.feature, l.level))
), levels as (
  select pl.grain, pl.feature, pl.step, array_agg(pl.level order by pl.level) as levels,
         array_agg(pl.coverage order by pl.level) as coverage, array_agg(pl.n order by pl.level) as n_per_level
  from per_level pl group by pl.grain, pl.feature, pl.step
), made as (
  select r.grain, v.feature, v.step, count(*)::integer as n_forecasts
  from analytics.forecast_values v join analytics.forecast_runs r on r.run_id = v.run_id
  group by grouping sets ((r.grain, v.feature, v.step), (r.grain, v.feature))
)
select m.grain, m.feature, m.step, m.n_forecasts, coalesce(st.n_scored, 0) as n_scored,
       st.mase, st.mae, st.bias, lv.levels, lv.coverage, lv.n_per_level,
       coalesce(st.n_recalibrated, 0) as n_recalibrated, st.first_period, st.last_period
from made m
left join stats st on st.grain = m.grain and st.feature = m.feature and st.step is not distinct from m.step
left join levels lv on lv.grain = m.grain and lv.feature = m.feature and lv.step is not distinct from m.step;
comment on view analytics.forecast_scores is
  'How good the stored forecasts have been, per grain × feature × step (step null: all steps): forecasts stored, scored (actual known), realised MASE (mean |error| / in-sample seasonal naive MAE of each run), MAE, bias (mean actual − point), realised coverage per interval level (levels[], coverage[], n_per_level[]), rows with recalibrated intervals.';

create or replace view analytics.forecast_latest
with (security_invoker = true) as
select l.*
from analytics.forecast_ledger l
join (
  select distinct on (r.kind, r.grain, v.feature) r.run_id, v.feature
  from analytics.forecast_runs r join analytics.forecast_values v on v.run_id = r.run_id and v.step = 1
  order by r.kind, r.grain, v.feature, r.run_day desc, r.made_at desc, r.run_id desc
) latest on latest.run_id = l.run_id and latest.feature = l.feature;
comment on view analytics.forecast_latest is
  'The rows of the latest stored run of each (kind, grain, feature), scored where the actual is known. kind = ''job'' gives what the scheduled job forecast last; scheduler says which scheduler produced it.';

create or replace view analytics.forecast_job_health
with (security_invoker = true) as
with now_utc as (select (now() at time zone 'UTC') as t)
select j.job_name, j.enabled, j.run_at, j.grain, j.features, j.horizon, j.levels, j.method, j.history,
       case when j.enabled then
         ((n.t::date + case when n.t::time < j.run_at then 0 else 1 end) + j.run_at) at time zone 'UTC' end as next_run_at,
       d.due_day,
       lr.run_day as last_run_day, lr.scheduler as last_scheduler, lr.status as last_status, lr.attempts as last_attempts,
       lr.started_at as last_started_at, lr.finished_at as last_finished_at,
       extract(epoch from lr.finished_at - lr.started_at)::float8 as last_seconds,
       lr.rows_written as last_rows_written, lr.series_skipped as last_series_skipped, lr.error as last_error,
       lr.notes as last_notes,
       (select max(o.run_day) from analytics.forecast_job_runs o where o.job_name = j.job_name and o.status = 'succeeded') as last_success_day,
       (select count(*)::integer from analytics.forecast_job_runs o where o.job_name = j.job_name and o.run_day > n.t::date - 30) as runs_30d,
       (select count(*)::integer from analytics.forecast_job_runs o
        where o.job_name = j.job_name and o.run_day > n.t::date - 30 and o.status = 'failed') as failed_30d,
       case
         when not j.enabled then 'disabled'
         when dr.status = 'succeeded' then 'ok'
         when dr.status = 'failed' then 'failed'
         when lr.run_day is null and n.t < (d.due_day + j.run_at) + interval '1 hour' then 'never'
         when n.t < (d.due_day + j.run_at) + interval '1 hour' then 'pending'
         else 'missed' end as state
from analytics.forecast_jobs j
cross join now_utc n
cross join lateral (select n.t::date - case when n.t::time < j.run_at then 1 else 0 end as due_day) d
left join lateral (select o.* from analytics.forecast_job_runs o where o.job_name = j.job_name
                   order by o.run_day desc limit 1) lr on true
left join analytics.forecast_job_runs dr on dr.job_name = j.job_name and dr.run_day = d.due_day;
comment on view analytics.forecast_job_health is
  'Per forecast job: its schedule (run_at UTC, next_run_at), the last day run (scheduler, status, attempts, start, end, seconds, rows, error), the last successful day, runs and failures over 30 days, and state for the latest due day (the last day whose run time has passed): ok, failed, pending (due less than an hour ago), missed (not run), never (no run yet and due less than an hour ago), disabled.';

grant select on analytics.forecast_ledger, analytics.forecast_scores, analytics.forecast_latest,
  analytics.forecast_job_health to authenticated, service_role;

-- ───────────────────────────── helpers ─────────────────────────────

-- aoma_private.forecast_check_features(grain, features): raises 22023 with one sentence unless every
-- feature is a driver or outcome of the catalog at that grain (listing the valid ones).
create or replace function aoma_private.forecast_check_features(grain text, features text[])
returns void
language plpgsql
stable
set search_path = ''
as $$
declare
  v_bad text;
  v_valid text;
begin
  if grain is null or grain not in ('hour', 'day', 'week') then
    raise exception 'grain must be hour, day or week (got %)', coalesce(grain, 'null') using errcode = '22023';
  end if;
  if features is null or cardinality(features) not between 1 and 50 or array_position(features, null) is not null then
    raise exception 'features must name 1 to 50 catalog features (got %)', coalesce(cardinality(features), 0) using errcode = '22023';
  end if;
  select string_agg(format('"%s"', f), ', ') into v_bad
  from unnest(features) f
  where not exists (select from analytics.feature_catalog c
                    where c.name = f and c.grain = forecast_check_features.grain and c.kind <> 'calendar');
  if v_bad is not null then
    select string_agg(c.name, ', ' order by c.name collate "C") into v_valid
    from analytics.feature_catalog c where c.grain = forecast_check_features.grain and c.kind <> 'calendar';
    raise exception 'unknown feature % for grain %; valid: %', v_bad, grain, coalesce(v_valid, '(none)')
      using errcode = '22023';
  end if;
end;
$$;
revoke execute on function aoma_private.forecast_check_features(text, text[]) from public;
-- the check trigger of analytics.forecast_jobs runs it as the writer (service_role)
grant execute on function aoma_private.forecast_check_features(text, text[]) to service_role;

-- (aoma_private.forecast_history, the feature's values as of a time, is in sql/62_feature_history.sql)


-- aoma_private.seasonal_naive_mae(y, m): mean |y_t − y_{t−m}| over the pairs with both values; the
-- lag-1 mean when that is 0 or has no pair; null when that is 0 too (a constant series).
create or replace function aoma_private.seasonal_naive_mae(y float8[], m integer)
returns float8
language sql
immutable
set search_path = ''
as $$
  select coalesce(
    nullif((select avg(abs(y[g] - y[g - m])) from generate_series(m + 1, cardinality(y)) g
            where y[g] is not null and y[g - m] is not null), 0),
    nullif((select avg(abs(y[g] - y[g - 1])) from generate_series(2, cardinality(y)) g
            where y[g] is not null and y[g - 1] is not null), 0))
$$;
revoke execute on function aoma_private.seasonal_naive_mae(float8[], integer) from public;

-- aoma_private.forecast_recalibration(grain, feature, as_of, levels): per step, the inputs of the
-- recalibration rule (top of this file) from the ledger's rows scored by as_of: k (the most realised
-- errors over the levels), used (min(k, 200)) and per level the factor (null: fewer than 30 ratios, or
-- the level's rank exceeds them).
drop function if exists aoma_private.forecast_recalibrate(float8, float8[], float8[], float8[], integer, float8[], float8, boolean);
create or replace function aoma_private.forecast_recalibration(grain text, feature text, as_of timestamptz, levels float8[])
returns table (step integer, k integer, used integer, factors float8[])
language sql
stable
set search_path = ''
as $$
  with r as (
    select l.step, lv.ord, l.abs_error / (l.backtest_upper[p.j] - l.point) as ratio,
           row_number() over (partition by l.step, lv.ord order by l.period desc, l.run_id desc) as rn,
           count(*) over (partition by l.step, lv.ord) as k
    from analytics.forecast_ledger l
    cross join lateral unnest(forecast_recalibration.levels) with ordinality as lv(level, ord)
    cross join lateral (select array_position(l.levels, lv.level) as j) p
    where l.grain = forecast_recalibration.grain and l.feature = forecast_recalibration.feature
      and l.abs_error is not null and l.period_end <= forecast_recalibration.as_of
      and p.j is not null and l.backtest_upper[p.j] - l.point > 0
  ), per_level as (
    select r.step, r.ord, max(r.k)::integer as k, array_agg(r.ratio order by r.ratio) filter (where r.rn <= 200) as sorted
    from r group by r.step, r.ord
  )
  select p.step, max(p.k)::integer, least(max(p.k), 200)::integer,
         array_agg(case when p.k >= 30 and ceil((cardinality(p.sorted) + 1) * lv.level / 100.0)::integer <= cardinality(p.sorted)
                        then p.sorted[ceil((cardinality(p.sorted) + 1) * lv.level / 100.0)::integer] end order by lv.ord)
  from per_level p
  join unnest(forecast_recalibration.levels) with ordinality as lv(level, ord) on lv.ord = p.ord
  group by p.step
$$;
revoke execute on function aoma_private.forecast_recalibration(text, text, timestamptz, float8[]) from public;

-- aoma_private.forecast_recalibrate(point, lower, upper, levels, k, used, factors, range, nonneg):
-- the bounds to store for one row: per level with a factor, point ± least(factor × backtest
-- half-width, range) (no lower bound below 0 when nonneg); whether any level was recalibrated, and
-- the note saying so.
create or replace function aoma_private.forecast_recalibrate(
  point float8, lower float8[], upper float8[], levels float8[], k integer, used integer, factors float8[],
  range float8, nonneg boolean,
  out new_lower float8[], out new_upper float8[], out recalibrated boolean, out note text
)
language plpgsql
immutable
set search_path = ''
as $$
declare
  hw float8;
  done text[] := '{}'::text[];
begin
  new_lower := lower;
  new_upper := upper;
  recalibrated := false;
  if coalesce(k, 0) < 30 or factors is null then
    return;
  end if;
  for l in 1..cardinality(levels) loop
    continue when factors[l] is null;
    hw := least(factors[l] * (upper[l] - point), range);
    new_lower[l] := case when nonneg then greatest(0, point - hw) else point - hw end;
    new_upper[l] := point + hw;
    done := done || format('%s%% ±%s (backtest ±%s × %s)', levels[l], round(hw::numeric, 4)::float8,
                           round((upper[l] - point)::numeric, 4)::float8, round(factors[l]::numeric, 3)::float8);
  end loop;
  if cardinality(done) > 0 then
    recalibrated := true;
    note := format('intervals recalibrated from the latest %s of %s realised errors in the ledger: %s',
                   used, k, array_to_string(done, ', '));
  end if;
end;
$$;
revoke execute on function aoma_private.forecast_recalibrate(float8, float8[], float8[], float8[], integer, integer, float8[], float8, boolean) from public;

-- aoma_private.forecast_into_ledger(…): forecasts `features` as of 00:00 UTC of run_day and stores
-- one run (a job's earlier run of that day is deleted first). A feature refused for its data
-- (22023 from forecast_series) is skipped with a note; no feature forecast raises 22023. Any other
-- error propagates (the caller's transaction or subtransaction then leaves nothing behind).
create or replace function aoma_private.forecast_into_ledger(
  kind text, job_name text, run_day date, scheduler text, grain text, features text[],
  horizon integer, levels float8[], method text, history integer,
  out run_id bigint, out rows_written integer, out series_forecast integer, out series_skipped integer, out notes text
)
language plpgsql
volatile
set search_path = ''
set jit = off
as $$
#variable_conflict use_variable
declare
  v_as_of timestamptz := run_day::timestamp at time zone 'UTC';
  v_len interval := aoma_private.forecast_period_length(grain);
  v_hist record;
  v_m integer;
  v_need integer;
  v_note text;
  v_scale float8;
  v_range float8;
  v_nonneg boolean;
  v_n integer;
  v_skipped text[] := '{}'::text[];
  v_msg text;
  f text;
begin
  if method is null or method not in ('auto', 'ets', 'seasonal_naive') then
    raise exception 'method must be auto, ets or seasonal_naive (got %)', coalesce(method, 'null') using errcode = '22023';
  end if;
  perform aoma_private.forecast_check_features(grain, features);
  if kind = 'job' then
    delete from analytics.forecast_runs r where r.kind = 'job' and r.job_name = job_name and r.run_day = run_day;
  end if;
  insert into analytics.forecast_runs as r (kind, job_name, run_day, scheduler, made_at, history_end, grain, features,
                                            horizon, levels, method, history)
  values (kind, job_name, run_day, scheduler, clock_timestamp(), v_as_of, grain, features, horizon, levels, method, history)
  returning r.run_id into run_id;
  rows_written := 0;
  series_forecast := 0;
  foreach f in array features loop
    v_hist := aoma_private.forecast_history(grain, f, v_as_of, history);
    v_n := coalesce(cardinality(v_hist.y), 0);
    v_m := case grain when 'hour' then 24 when 'day' then 7 else 52 end;
    v_need := greatest(2 * v_m + 2, 10) + horizon + 19;
    v_note := null;
    if v_n < v_need then
      v_note := format('history too short for the season %s (%s periods; %s needed): no season', v_m, v_n, v_need);
      v_m := 1;
    end if;
    if v_hist.last_period is not null and v_hist.last_period + v_len < v_as_of then
      v_note := concat_ws('; ', v_note, format('the data ends at %s UTC, before the run''s history end %s UTC: the forecast starts after the data',
        to_char((v_hist.last_period + v_len) at time zone 'UTC', 'YYYY-MM-DD HH24:MI'), to_char(v_as_of at time zone 'UTC', 'YYYY-MM-DD HH24:MI')));
    end if;
    select max(x) - min(x), min(x) >= 0 into v_range, v_nonneg from unnest(v_hist.y) x;
    v_scale := aoma_private.seasonal_naive_mae(v_hist.y, v_m);
    begin
      insert into analytics.forecast_values (run_id, feature, step, period, point, lower, upper, backtest_lower,
        backtest_upper, recalibrated, realised_errors, method_used, model, backtest_mase, baseline_mase,
        backtest_coverage, n_errors, n_history, season, scale, notes)
      select run_id, f, s.step, v_hist.last_period + s.step * v_len, s.point, c.new_lower, c.new_upper, s.lower, s.upper,
             c.recalibrated, coalesce(rl.k, 0), s.method_used, s.model, s.backtest_mase, s.baseline_mase, s.coverage,
             s.n_errors, s.n_history, v_m, v_scale,
             nullif(concat_ws('; ', v_note, s.notes, c.note,
                              case when v_scale is null then 'constant history: no MASE scale' end), '')
      from analytics.forecast_series(v_hist.y, v_m, horizon, levels, method, f, case when v_m = 24 then 168 end) s
      left join aoma_private.forecast_recalibration(grain, f, v_as_of, levels) rl on rl.step = s.step
      cross join lateral aoma_private.forecast_recalibrate(s.point, s.lower, s.upper, s.interval_levels, rl.k, rl.used,
                                                           rl.factors, v_range, v_nonneg) c;
      get diagnostics v_n = row_count;
      rows_written := rows_written + v_n;
      series_forecast := series_forecast + 1;
    exception when sqlstate '22023' then
      get stacked diagnostics v_msg = message_text;
      v_skipped := v_skipped || format('%s skipped: %s', f, v_msg);
    end;
  end loop;
  series_skipped := cardinality(v_skipped);
  notes := nullif(array_to_string(v_skipped, '; '), '');
  if series_forecast = 0 then
    raise exception 'no feature could be forecast: %', notes using errcode = '22023';
  end if;
  update analytics.forecast_runs r set notes = forecast_into_ledger.notes where r.run_id = forecast_into_ledger.run_id;
end;
$$;
revoke execute on function aoma_private.forecast_into_ledger(text, text, date, text, text, text[], integer, float8[], text, integer) from public;

-- ───────────────────────────── the job ─────────────────────────────

-- aoma_private.lock_forecast_job(job): the job's configuration, locked until the transaction ends
-- (one run or reschedule of a job at a time); 22023 naming the configured jobs when there is none.
create or replace function aoma_private.lock_forecast_job(job text)
returns analytics.forecast_jobs
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_job analytics.forecast_jobs;
begin
  select * into v_job from analytics.forecast_jobs j where j.job_name = lock_forecast_job.job for update;
  if not found then
    raise exception 'unknown forecast job "%"; configured: %', lock_forecast_job.job,
      coalesce((select string_agg(j.job_name, ', ' order by j.job_name) from analytics.forecast_jobs j), '(none)')
      using errcode = '22023';
  end if;
  return v_job;
end;
$$;
revoke execute on function aoma_private.lock_forecast_job(text) from public;

create or replace function analytics.run_forecast_job(
  day date default (now() at time zone 'UTC')::date,
  scheduler text default 'manual',
  job text default 'nightly'
)
returns table (job_name text, run_day date, status text, rows_written integer, series_forecast integer,
               series_skipped integer, run_id bigint, error text, notes text)
language plpgsql
volatile
security definer
set search_path = ''
set jit = off
as $$
#variable_conflict use_variable
declare
  v_job analytics.forecast_jobs;
  v_started timestamptz := clock_timestamp();
  v_res record;
  v_kept record;
  v_err text;
  v_perr text;
begin
  if run_forecast_job.scheduler is null or run_forecast_job.scheduler not in ('pg_cron', 'in-process', 'manual') then
    raise exception 'scheduler must be pg_cron, in-process or manual (got %)', coalesce(run_forecast_job.scheduler, 'null')
      using errcode = '22023';
  end if;
  if run_forecast_job.day is null then
    raise exception 'day must be a date (the UTC day to run for), not null' using errcode = '22023';
  end if;
  v_job := aoma_private.lock_forecast_job(run_forecast_job.job);
  job_name := v_job.job_name;
  run_day := run_forecast_job.day;
  rows_written := 0;
  series_forecast := 0;
  series_skipped := 0;
  begin
    perform analytics.refresh_features();
  exception when others then
    get stacked diagnostics v_err = message_text;
    v_err := 'the feature refresh failed: ' || v_err;
  end;
  if v_err is null then
    begin
      v_res := aoma_private.forecast_into_ledger('job', v_job.job_name, run_day, run_forecast_job.scheduler,
        v_job.grain, v_job.features, v_job.horizon, v_job.levels, v_job.method, v_job.history);
      run_id := v_res.run_id;
      rows_written := v_res.rows_written;
      series_forecast := v_res.series_forecast;
      series_skipped := v_res.series_skipped;
      notes := v_res.notes;
    exception when others then
      get stacked diagnostics v_err = message_text;
    end;
  end if;
  -- live runs of a job with a predict_target also store the next days' failure predictions
  -- (sql/75_predictions.sql); a failure there is a note, the forecasts stand
  if v_err is null and v_job.predict_target is not null and run_day >= (now() at time zone 'UTC')::date then
    begin
      select concat_ws('; ', notes, j.note) into notes from analytics.run_prediction_job(run_day, v_job.predict_target) j;
    exception when others then
      get stacked diagnostics v_perr = message_text;
      notes := concat_ws('; ', notes, 'predictions not stored: ' || v_perr);
    end;
  end if;
  error := v_err;
  status := case when v_err is null then 'succeeded' else 'failed' end;
  if v_err is not null then
    select r.run_id, r.made_at into v_kept from analytics.forecast_runs r
    where r.kind = 'job' and r.job_name = v_job.job_name and r.run_day = run_day;
    run_id := v_kept.run_id;
    if v_kept.run_id is not null then
      notes := format('the run stored for this day at %s UTC (run %s) is kept',
                      to_char(v_kept.made_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS'), v_kept.run_id);
    end if;
    raise warning 'forecast job % for % failed: %', v_job.job_name, run_day, v_err;
  end if;
  insert into analytics.forecast_job_runs as o (job_name, run_day, scheduler, attempts, started_at, finished_at, status,
    rows_written, series_forecast, series_skipped, run_id, error, notes)
  values (v_job.job_name, run_day, run_forecast_job.scheduler, 1, v_started, clock_timestamp(), status,
          rows_written, series_forecast, series_skipped, run_id, v_err, notes)
  on conflict on constraint forecast_job_runs_pkey do update
    set scheduler = excluded.scheduler, attempts = o.attempts + 1, started_at = excluded.started_at,
        finished_at = excluded.finished_at, status = excluded.status, rows_written = excluded.rows_written,
        series_forecast = excluded.series_forecast, series_skipped = excluded.series_skipped,
        run_id = excluded.run_id, error = excluded.error, notes = excluded.notes;
  perform aoma_private.bump_data_version();
  return next;
end;
$$;
comment on function analytics.run_forecast_job(date, text, text) is
  'Runs a forecast job for a UTC day: refreshes the feature tables, forecasts the configured features as of 00:00 UTC of that day, stores the run in the ledger (replacing that day''s run), records the attempt in analytics.forecast_job_runs. A failure is recorded with its error and stores nothing. See sql/65_forecast_ledger.sql.';
revoke execute on function analytics.run_forecast_job(date, text, text) from public;
grant execute on function analytics.run_forecast_job(date, text, text) to service_role;

create or replace function analytics.store_forecasts(
  features text[],
  grain text default 'day',
  horizon integer default 7,
  levels float8[] default '{80,95}',
  method text default 'auto',
  history integer default null
)
returns table (run_id bigint, rows_written integer, series_forecast integer, series_skipped integer, notes text)
language plpgsql
volatile
security definer
set search_path = ''
set jit = off
as $$
begin
  return query select x.run_id, x.rows_written, x.series_forecast, x.series_skipped, x.notes
  from aoma_private.forecast_into_ledger('on_demand', null, (now() at time zone 'UTC')::date, 'manual', grain,
    features, horizon, levels, method, history) x;
  perform aoma_private.bump_data_version();
end;
$$;
comment on function analytics.store_forecasts(text[], text, integer, float8[], text, integer) is
  'Forecasts catalog features as of 00:00 UTC today and stores them in the ledger as an on-demand run (kind on_demand). Any error stores nothing. See sql/65_forecast_ledger.sql.';
revoke execute on function analytics.store_forecasts(text[], text, integer, float8[], text, integer) from public;
grant execute on function analytics.store_forecasts(text[], text, integer, float8[], text, integer) to service_role;

-- ───────────────────────────── scheduling ─────────────────────────────

-- aoma_private.sync_forecast_schedule(): makes pg_cron's jobs match analytics.forecast_jobs: one
-- cron job aoma_forecast_<job> per enabled job at '<minute> <hour> * * *' (UTC), none for the
-- others. One row per job (and per cron job removed) saying what was done. Without pg_cron in this
-- database: one row per job saying so, nothing else.
create or replace function aoma_private.sync_forecast_schedule()
returns table (job_name text, cron_job text, cron_schedule text, action text)
language plpgsql
volatile
security definer
set search_path = ''
as $$
#variable_conflict use_variable
declare
  j record;
  c record;
  v_cmd text;
  v_same boolean;
begin
  if to_regprocedure('cron.schedule(text,text,text)') is null then
    return query select fj.job_name, null::text, null::text,
      'not scheduled: pg_cron is not installed in this database (on PGlite, npm start runs the job on its in-process schedule)'::text
    from analytics.forecast_jobs fj order by fj.job_name;
    return;
  end if;
  for j in select fj.job_name, fj.enabled, 'aoma_forecast_' || fj.job_name as cron_name,
                  format('%s %s * * *', extract(minute from fj.run_at)::integer, extract(hour from fj.run_at)::integer) as sched
           from analytics.forecast_jobs fj order by fj.job_name loop
    job_name := j.job_name;
    cron_job := j.cron_name;
    if j.enabled then
      v_cmd := format('select * from analytics.run_forecast_job((now() at time zone %L)::date, %L, %L)', 'UTC', 'pg_cron', j.job_name);
      execute 'select exists (select from cron.job where jobname = $1 and schedule = $2 and command = $3 and active)'
        into v_same using j.cron_name, j.sched, v_cmd;
      if not v_same then
        execute 'select cron.schedule($1, $2, $3)' using j.cron_name, j.sched, v_cmd;
      end if;
      cron_schedule := j.sched;
      action := case when v_same then 'unchanged' else 'scheduled' end;
    else
      cron_schedule := null;
      action := 'disabled: not scheduled';
    end if;
    return next;
  end loop;
  for c in execute $q$select jobid, jobname::text as jobname, schedule from cron.job where jobname like 'aoma\_forecast\_%'$q$ loop
    continue when exists (select from analytics.forecast_jobs fj where fj.enabled and 'aoma_forecast_' || fj.job_name = c.jobname);
    execute 'select cron.unschedule($1::bigint)' using c.jobid;
    job_name := substr(c.jobname, length('aoma_forecast_') + 1);
    cron_job := c.jobname;
    cron_schedule := c.schedule;
    action := 'unscheduled';
    return next;
  end loop;
end;
$$;
revoke execute on function aoma_private.sync_forecast_schedule() from public;

-- Checks a job's features against the catalog and stamps changed_at (row trigger, before write).
create or replace function aoma_private.forecast_jobs_check()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  perform aoma_private.forecast_check_features(new.grain, new.features);
  new.changed_at := now();
  return new;
end;
$$;
revoke execute on function aoma_private.forecast_jobs_check() from public;

-- Reschedules after any change of analytics.forecast_jobs (statement trigger).
create or replace function aoma_private.forecast_jobs_changed()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform aoma_private.sync_forecast_schedule();
  return null;
end;
$$;
revoke execute on function aoma_private.forecast_jobs_changed() from public;

drop trigger if exists forecast_jobs_check on analytics.forecast_jobs;
create trigger forecast_jobs_check before insert or update on analytics.forecast_jobs
  for each row execute function aoma_private.forecast_jobs_check();
drop trigger if exists forecast_jobs_changed on analytics.forecast_jobs;
create trigger forecast_jobs_changed after insert or update or delete on analytics.forecast_jobs
  for each statement execute function aoma_private.forecast_jobs_changed();

create or replace function analytics.schedule_forecast_job(
  job text default 'nightly',
  run_at time default null,
  enabled boolean default null
)
returns table (job_name text, cron_job text, cron_schedule text, action text)
language plpgsql
volatile
security definer
set search_path = ''
as $$
#variable_conflict use_variable
begin
  perform aoma_private.lock_forecast_job(schedule_forecast_job.job);
  if schedule_forecast_job.run_at is not null and schedule_forecast_job.run_at <> date_trunc('minute', schedule_forecast_job.run_at) then
    raise exception 'run_at must be a whole minute (UTC), e.g. 02:00 (got %)', schedule_forecast_job.run_at using errcode = '22023';
  end if;
  if schedule_forecast_job.run_at is not null or schedule_forecast_job.enabled is not null then
    update analytics.forecast_jobs j
       set run_at = coalesce(schedule_forecast_job.run_at, j.run_at), enabled = coalesce(schedule_forecast_job.enabled, j.enabled)
     where j.job_name = schedule_forecast_job.job;
  end if;
  -- the update's trigger already synced pg_cron: "unchanged" then means "now matches"
  return query
    select s.job_name, s.cron_job, s.cron_schedule,
           case when s.action = 'unchanged' and (schedule_forecast_job.run_at is not null or schedule_forecast_job.enabled is not null)
                then 'scheduled' else s.action end
    from aoma_private.sync_forecast_schedule() s where s.job_name = schedule_forecast_job.job;
  if to_regprocedure('cron.schedule(text,text,text)') is null then
    raise notice 'pg_cron is not installed in this database: job "%" is not scheduled here; on PGlite npm start runs it at its run_at (UTC) every day', schedule_forecast_job.job;
  end if;
end;
$$;
comment on function analytics.schedule_forecast_job(text, time, boolean) is
  'Changes a forecast job''s UTC time of day and/or enabled flag (when given) and (re)schedules it with pg_cron as aoma_forecast_<job>; without pg_cron it says so. Returns what was done.';
revoke execute on function analytics.schedule_forecast_job(text, time, boolean) from public;
grant execute on function analytics.schedule_forecast_job(text, time, boolean) to service_role;

-- every enabled job is scheduled wherever pg_cron is installed (a no-op elsewhere)
select count(*) from aoma_private.sync_forecast_schedule();
