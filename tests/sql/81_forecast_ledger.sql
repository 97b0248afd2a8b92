-- The forecast ledger and the nightly job on the local PostgreSQL with pg_cron
-- (supabase/migrations/20261204000100_forecast_ledger.sql, sql/65_forecast_ledger.sql): the pg_cron
-- schedule exists and follows the configuration; a run writes the expected rows; a re-run the same
-- day replaces it; a run made to fail is recorded with its error and stores nothing; the scoring
-- views against MASE and coverage computed by hand; the recalibration rule on closed-form cases;
-- privileges and error sentences. pg_cron is not left to fire here: the function is called.
-- Everything runs in a transaction that is rolled back (the schedule changes too).
begin;
select plan(49);
set local client_min_messages = error;  -- the failing runs below warn, as they do in the server log

-- ───────────────────────────── contract ─────────────────────────────
select has_table('analytics', t, format('analytics.%s exists', t))
from unnest(array['forecast_jobs', 'forecast_runs', 'forecast_values', 'forecast_job_runs']) as t;
select has_view('analytics', v, format('analytics.%s exists', v))
from unnest(array['forecast_ledger', 'forecast_scores', 'forecast_latest', 'forecast_job_health']) as v;
select function_privs_are('analytics', 'run_forecast_job', array['date', 'text', 'text'], 'service_role', array['EXECUTE'],
  'service_role runs the job');
select function_privs_are('analytics', 'run_forecast_job', array['date', 'text', 'text'], 'authenticated', array[]::text[],
  'authenticated cannot run the job');
select table_privs_are('analytics', 'forecast_values', 'authenticated', array['SELECT'], 'authenticated reads the ledger');
select table_privs_are('analytics', 'forecast_values', 'service_role', array['SELECT'],
  'service_role only reads the ledger (the functions write it)');
select table_privs_are('analytics', 'forecast_jobs', 'service_role', array['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  'service_role configures the jobs');

-- ───────────────────────────── the pg_cron schedule ─────────────────────────────
select results_eq(
  $$select schedule, command, database, active from cron.job where jobname = 'aoma_forecast_nightly'$$,
  $$values ('0 2 * * *'::text, 'select * from analytics.run_forecast_job((now() at time zone ''UTC'')::date, ''pg_cron'', ''nightly'')'::text, 'postgres'::text, true)$$,
  'after the migrations the nightly job is scheduled with pg_cron at 02:00 UTC');
select results_eq($$select action from analytics.schedule_forecast_job(run_at => '03:30')$$, $$values ('scheduled'::text)$$,
  'schedule_forecast_job moves the run time');
select results_eq($$select schedule from cron.job where jobname = 'aoma_forecast_nightly'$$, $$values ('30 3 * * *'::text)$$,
  'pg_cron follows: 03:30 UTC');
update analytics.forecast_jobs set enabled = false where job_name = 'nightly';
select is_empty($$select from cron.job where jobname = 'aoma_forecast_nightly'$$, 'a disabled job is unscheduled (table trigger)');
insert into analytics.forecast_jobs (job_name, features, run_at) values ('ledger_test', '{asset_volume}', '05:15');
select results_eq($$select schedule from cron.job where jobname = 'aoma_forecast_ledger_test'$$, $$values ('15 5 * * *'::text)$$,
  'a new job is scheduled at once');
delete from analytics.forecast_jobs where job_name = 'ledger_test';
select is_empty($$select from cron.job where jobname = 'aoma_forecast_ledger_test'$$, 'a deleted job is unscheduled');
update analytics.forecast_jobs set enabled = true, run_at = '02:00' where job_name = 'nightly';
select results_eq($$select schedule from cron.job where jobname = 'aoma_forecast_nightly'$$, $$values ('0 2 * * *'::text)$$,
  'enabled again at 02:00');

-- ───────────────────────────── a run writes the expected rows ─────────────────────────────
-- 63 days of asset_volume (2026-08-31 … 2026-11-01, one value a day at 23:00 UTC) with a weekly rhythm
delete from aoma.aoma_system_metrics;
insert into aoma.aoma_system_metrics (source, "timestamp", asset_volume)
select 'ledger-test', (date '2026-08-31' + i + time '23:00') at time zone 'UTC', 100 + 10 * (i % 7) + (i * 7) % 5
from generate_series(0, 62) i;
update analytics.forecast_jobs set features = '{asset_volume}', method = 'seasonal_naive', horizon = 7 where job_name = 'nightly';

select results_eq(
  $$select status, rows_written, series_forecast, error from analytics.run_forecast_job('2026-11-02')$$,
  $$values ('succeeded'::text, 7, 1, null::text)$$,
  'the job for 2026-11-02 stores 7 forecasts of 1 feature (it refreshed the feature tables itself)');
select results_eq(
  $$select kind, job_name, scheduler, history_end, grain, levels from analytics.forecast_runs where run_day = '2026-11-02'$$,
  $$values ('job'::text, 'nightly'::text, 'manual'::text, timestamptz '2026-11-02 00:00+00', 'day'::text, '{80,95}'::float8[])$$,
  'one run, as of 00:00 UTC of the day, with the scheduler that made it');
select results_eq(
  $$select v.step, v.period, v.point, v.season from analytics.forecast_values v join analytics.forecast_runs r using (run_id)
    where r.run_day = '2026-11-02' order by v.step$$,
  $$select g.s, (date '2026-11-01' + g.s)::timestamp at time zone 'UTC', f.asset_volume::float8, 7
    from generate_series(1, 7) g(s) join analytics.features_daily f on f.day = date '2026-11-01' + g.s - 7 order by g.s$$,
  'steps 1-7 are 2026-11-02 … 11-08, each the value one week earlier (seasonal naive)');
select results_eq(
  $$select job_name, run_day, scheduler, attempts, status, rows_written from analytics.forecast_job_runs$$,
  $$values ('nightly'::text, date '2026-11-02', 'manual'::text, 1, 'succeeded'::text, 7)$$,
  'the attempt is recorded');

-- ── a second run the same day replaces it ──
create temporary table first_run as select run_id from analytics.forecast_runs where run_day = '2026-11-02';
select results_eq($$select status, rows_written from analytics.run_forecast_job('2026-11-02', 'pg_cron')$$,
  $$values ('succeeded'::text, 7)$$, 'the re-run succeeds');
select results_eq(
  $$select count(*)::int, bool_and(run_id not in (select run_id from first_run)), min(scheduler) from analytics.forecast_runs where run_day = '2026-11-02'$$,
  $$values (1, true, 'pg_cron'::text)$$, 'one run for the day, the new one');
select is((select count(*)::int from analytics.forecast_values), 7, 'the old run''s rows are gone: 7 rows in the ledger');
select results_eq($$select attempts, scheduler from analytics.forecast_job_runs where run_day = '2026-11-02'$$,
  $$values (2, 'pg_cron'::text)$$, 'one job-run row for the day, two attempts');

-- ───────────────────────────── scoring against hand-computed values ─────────────────────────────
-- A stored on-demand run of error_count, made by hand: point 100 for 2026-11-03 … 11-07, scale 10,
-- 80% interval [90, 110], 95% [80, 120]. Actuals 105, 85, 118, 130 for 11-03 … 11-06; 11-07 none.
-- By hand: |errors| 5, 15, 18, 30; scaled 0.5, 1.5, 1.8, 3.0; MASE (all) 6.8 / 4 = 1.7; MAE 17;
-- bias (5 − 15 + 18 + 30) / 4 = 9.5; 80% covers 105 only: 0.25; 95% covers 105, 85, 118: 0.75.
with r as (
  insert into analytics.forecast_runs (kind, run_day, scheduler, history_end, grain, features, horizon, levels, method)
  values ('on_demand', '2026-11-03', 'manual', '2026-11-03 00:00+00', 'day', '{error_count}', 5, '{80,95}', 'auto')
  returning run_id
)
insert into analytics.forecast_values (run_id, feature, step, period, point, lower, upper, backtest_lower, backtest_upper,
                                       method_used, n_history, season, scale)
select r.run_id, 'error_count', s, (date '2026-11-02' + s)::timestamp at time zone 'UTC', 100, '{90,80}', '{110,120}',
       '{90,80}', '{110,120}', 'ets', 63, 7, 10
from r cross join generate_series(1, 5) s;
-- the actual of 11-06 arrives at 12:00 first: the day is not complete yet
insert into aoma.aoma_system_metrics (source, "timestamp", error_count)
values ('ledger-test-actuals', '2026-11-03 23:00+00', 105), ('ledger-test-actuals', '2026-11-04 23:00+00', 85),
       ('ledger-test-actuals', '2026-11-05 23:00+00', 118), ('ledger-test-actuals', '2026-11-06 12:00+00', 130);
select lives_ok($$select * from analytics.refresh_features()$$, 'the features refresh');
select results_eq(
  $$select step, actual, error, scaled_error, covered from analytics.forecast_ledger where feature = 'error_count' order by step$$,
  $$values (1, 105::float8, 5::float8, 0.5::float8, '{t,t}'::boolean[]), (2, 85, -15, 1.5, '{f,t}'), (3, 118, 18, 1.8, '{f,t}'),
           (4, null, null, null, null), (5, null, null, null, null)$$,
  'rows scored: actual, error, scaled error, covered per level; 11-06 (data only to 12:00) and 11-07 not yet');
insert into aoma.aoma_system_metrics (source, "timestamp", error_count) values ('ledger-test-actuals', '2026-11-06 23:00+00', 0);
select lives_ok($$select * from analytics.refresh_features()$$, 'the last hour of 11-06 arrives');
select results_eq(
  $$select n_forecasts, n_scored, round(mase::numeric, 10), round(mae::numeric, 10), round(bias::numeric, 10), levels, coverage, n_per_level
    from analytics.forecast_scores where feature = 'error_count' and step is null$$,
  $$values (5, 4, 1.7, 17.0, 9.5, '{80,95}'::float8[], '{0.25,0.75}'::float8[], '{4,4}'::int[])$$,
  'all steps: MASE 1.7, MAE 17, bias 9.5, realised coverage 25% (80%) and 75% (95%) over 4 scored of 5');
select results_eq(
  $$select step, n_scored, round(mase::numeric, 10), coverage from analytics.forecast_scores
    where feature = 'error_count' and step is not null order by step$$,
  $$values (1, 1, 0.5, '{1,1}'::float8[]), (2, 1, 1.5, '{0,1}'), (3, 1, 1.8, '{0,1}'), (4, 1, 3.0, '{0,0}'), (5, 0, null, null)$$,
  'per step: MASE and coverage; step 5 has no actual yet');
select results_eq(
  $$select kind, count(*)::int from analytics.forecast_latest group by kind order by kind$$,
  $$values ('job'::text, 7), ('on_demand', 5)$$, 'forecast_latest: the latest run of each kind and feature');

-- ───────────────────────────── the recalibration rule ─────────────────────────────
-- the rule's ranks over the ledger (aoma_private.forecast_recalibration) are checked by hand in
-- tests/forecast_ledger_test.ts; here the bounds it makes from the factors: backtest half-widths
-- 10, 20, 30 with factors 1.5, 0.5 and none (99%: too few ratios for its rank, kept)
select results_eq(
  $$select new_lower, new_upper, recalibrated from aoma_private.forecast_recalibrate(100, '{90,80,70}', '{110,120,130}', '{80,95,99}',
      30, 30, '{1.5,0.5,null}', 1000, true)$$,
  $$values ('{85,90,70}'::float8[], '{115,110,130}'::float8[], true)$$,
  'k = 30: factor × the backtest half-width replaces it, wider or narrower (99%: no factor, kept)');
select results_eq(
  $$select new_lower, new_upper, recalibrated from aoma_private.forecast_recalibrate(100, '{90}', '{110}', '{80}',
      29, 29, '{2}', 1000, true)$$,
  $$values ('{90}'::float8[], '{110}'::float8[], false)$$, 'k = 29: below the rule''s 30, nothing changes');
select results_eq(
  $$select new_lower, new_upper from aoma_private.forecast_recalibrate(10, '{5}', '{15}', '{80}',
      30, 30, '{5}', 20, true)$$,
  $$values ('{0}'::float8[], '{30}'::float8[])$$, 'the sanity rule: half-width at most the range (20), no bound below 0 for a non-negative series');
select alike((select note from aoma_private.forecast_recalibrate(100, '{90}', '{110}', '{80}', 250, 200, '{1.5}', 1000, true)),
  'intervals recalibrated from the latest 200 of 250 realised errors in the ledger: 80% ±15 (backtest ±10 × 1.5)',
  'the note says from how many errors, the half-widths before and after and the factor');

-- ───────────────────────────── a run made to fail ─────────────────────────────
-- the catalog no longer has the configured feature (as after a catalog change)
delete from analytics.feature_catalog where name = 'asset_volume' and grain = 'day';
select results_eq(
  $$select status, rows_written, run_id from analytics.run_forecast_job('2026-11-09')$$,
  $$values ('failed'::text, 0, null::bigint)$$, 'the run for 2026-11-09 fails');
select matches((select error from analytics.forecast_job_runs where run_day = '2026-11-09'),
  '^unknown feature "asset_volume" for grain day; valid: ', 'the attempt is recorded with its error text');
select is_empty($$select from analytics.forecast_runs where run_day = '2026-11-09'$$, 'it stored no run');
select is((select count(*)::int from analytics.forecast_values v join analytics.forecast_runs r using (run_id) where r.kind = 'job'), 7,
  'and no forecast row (only the 7 of 2026-11-02)');
-- failing again on a day that has a stored run keeps that run
select results_eq(
  $$select status, run_id = (select run_id from analytics.forecast_runs where run_day = '2026-11-02') from analytics.run_forecast_job('2026-11-02')$$,
  $$values ('failed'::text, true)$$, 'a failed re-run of 2026-11-02 keeps the day''s stored run');
select results_eq($$select count(*)::int, min(attempts), min(status) from analytics.forecast_job_runs where run_day = '2026-11-02'$$,
  $$values (1, 3, 'failed'::text)$$, 'one job-run row for the day: three attempts, the last one failed');

-- ── job health ──
select results_eq(
  $$select state, last_status from analytics.forecast_job_health where job_name = 'nightly'$$,
  $$values (case when (now() at time zone 'UTC')::time >= '02:00' and (now() at time zone 'UTC')::time < '03:00'
                then 'pending' else 'missed' end, 'failed'::text)$$,
  'job health: the latest due day (02:00 UTC passed) has no run: pending for an hour, then missed; the last attempt failed');

-- ───────────────────────────── bad input: one sentence ─────────────────────────────
select throws_ok($$select * from analytics.run_forecast_job('2026-11-02', 'cron')$$, '22023',
  'scheduler must be pg_cron, in-process or manual (got cron)', 'unknown scheduler');
select throws_ok($$select * from analytics.run_forecast_job('2026-11-02', 'manual', 'weekly')$$, '22023',
  'unknown forecast job "weekly"; configured: nightly', 'unknown job');
select throws_like($$insert into analytics.forecast_jobs (job_name, features) values ('x', '{churn; drop table aoma.incidents}')$$,
  'unknown feature "churn; drop table aoma.incidents" for grain day; valid: %', 'a job naming an unknown feature is refused');
select throws_ok($$select * from analytics.schedule_forecast_job(run_at => '03:30:10')$$, '22023',
  'run_at must be a whole minute (UTC), e.g. 02:00 (got 03:30:10)', 'run_at with seconds');

select * from finish();
rollback;
