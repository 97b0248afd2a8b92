-- AOMA Mesh Analytics: the forecast ledger and the nightly forecast job (issue 9, items 2 and 3).
-- The functions and the analyst views are in sql/65_forecast_ledger.sql (the views read the feature
-- tables, which sql/10_features.sql rebuilds, so they live in the library, re-applied after it).
--
--   analytics.forecast_jobs      what a job forecasts (features of one grain, horizon, levels, method,
--                                history) and when it runs (run_at, UTC, daily; default 02:00)
--   analytics.forecast_runs      one row per stored forecast run (a job's run for a day, or an
--                                on-demand run), with the scheduler that produced it
--   analytics.forecast_values    one row per run × feature × step: point, bounds per level (as
--                                stored, and as the backtest gave them), method, backtest scores,
--                                the in-sample scale MASE is measured with, recalibration
--   analytics.forecast_job_runs  one row per job and day: the last attempt's start, end, status,
--                                rows written, error text, and how many attempts there were
--
-- Reads: authenticated and service_role. Writes: service_role may change the job configuration
-- (analytics.forecast_jobs); the ledger itself is written only by the functions of
-- sql/65_forecast_ledger.sql (security definer), so no caller can store a forecast that was not made.

-- ───────────────────────────── job configuration ─────────────────────────────

create table if not exists analytics.forecast_jobs (
  job_name    text primary key check (job_name ~ '^[a-z][a-z0-9_]{0,39}$'),
  grain       text not null default 'day' check (grain in ('hour', 'day', 'week')),
  features    text[] not null check (cardinality(features) between 1 and 50 and array_position(features, null) is null),
  horizon     integer not null default 7 check (horizon between 1 and 500),
  levels      float8[] not null default '{80,95}'
              check (cardinality(levels) between 1 and 10 and array_position(levels, null) is null
                     and 0 < all (levels) and 100 > all (levels)),
  method      text not null default 'auto' check (method in ('auto', 'ets', 'seasonal_naive')),
  history     integer check (history is null or history between 10 and 100000),
  run_at      time(0) without time zone not null default '02:00' check (extract(second from run_at) = 0),
  enabled     boolean not null default true,
  changed_at  timestamptz not null default now()
);
comment on table analytics.forecast_jobs is
  'Forecast jobs: which catalog features of one grain are forecast, how far, at which interval levels, by which method, and at which UTC time of day the job runs (pg_cron on a server, the in-process schedule of npm start on PGlite). A change reschedules the pg_cron job at once (sql/65_forecast_ledger.sql).';
comment on column analytics.forecast_jobs.job_name is 'Job name; the pg_cron job is named aoma_forecast_<job_name>.';
comment on column analytics.forecast_jobs.grain is 'hour, day or week: the feature table the history comes from.';
comment on column analytics.forecast_jobs.features is 'Catalog features (analytics.feature_catalog, of this grain, driver or outcome), 1 to 50.';
comment on column analytics.forecast_jobs.horizon is 'Periods forecast ahead (1 to 500).';
comment on column analytics.forecast_jobs.levels is 'Interval levels in percent, each in (0, 100).';
comment on column analytics.forecast_jobs.method is 'auto, ets or seasonal_naive (analytics.forecast_series).';
comment on column analytics.forecast_jobs.history is 'Only the last `history` complete periods are used (null: 1,008 hours, 730 days or 260 weeks, as analytics.forecast_feature).';
comment on column analytics.forecast_jobs.run_at is 'UTC time of day the job runs, every day (default 02:00).';
comment on column analytics.forecast_jobs.enabled is 'False: not scheduled (a manual analytics.run_forecast_job still runs it).';
comment on column analytics.forecast_jobs.changed_at is 'When the configuration last changed.';

insert into analytics.forecast_jobs (job_name, grain, features, horizon)
values ('nightly', 'day',
        '{asset_volume,processing_attempts,commits,tickets_created,processing_failure_rate,failure_count}', 7)
on conflict (job_name) do nothing;

-- ───────────────────────────── the ledger ─────────────────────────────

create table if not exists analytics.forecast_runs (
  run_id        bigint generated always as identity primary key,
  kind          text not null check (kind in ('job', 'on_demand')),
  job_name      text check ((kind = 'job') = (job_name is not null)),
  run_day       date not null,
  scheduler     text not null check (scheduler in ('pg_cron', 'in-process', 'manual')),
  made_at       timestamptz not null default now(),
  history_end   timestamptz not null,
  grain         text not null check (grain in ('hour', 'day', 'week')),
  features      text[] not null,
  horizon       integer not null,
  levels        float8[] not null,
  method        text not null,
  history       integer,
  notes         text
);
create unique index if not exists forecast_runs_job_day on analytics.forecast_runs (job_name, run_day) where kind = 'job';
create index if not exists forecast_runs_made_at on analytics.forecast_runs (made_at);
comment on table analytics.forecast_runs is
  'One row per stored forecast run. A job stores one run per day (a re-run for the same day replaces it); an on-demand run (analytics.store_forecasts) is kept as made.';
comment on column analytics.forecast_runs.run_id is 'Run id.';
comment on column analytics.forecast_runs.kind is 'job (analytics.run_forecast_job) or on_demand (analytics.store_forecasts).';
comment on column analytics.forecast_runs.job_name is 'The job (analytics.forecast_jobs) for kind job; null for on-demand runs.';
comment on column analytics.forecast_runs.run_day is 'The UTC day the run is for; its history ends at the start of that day (as of 00:00 UTC).';
comment on column analytics.forecast_runs.scheduler is 'Who started it: pg_cron, in-process (the schedule of npm start on PGlite) or manual (a direct call).';
comment on column analytics.forecast_runs.made_at is 'When the forecasts were computed.';
comment on column analytics.forecast_runs.history_end is 'No period ending after this instant was used (the start of run_day, UTC).';
comment on column analytics.forecast_runs.grain is 'hour, day or week.';
comment on column analytics.forecast_runs.features is 'The features asked for (analytics.forecast_values holds the ones forecast; notes say why any was skipped).';
comment on column analytics.forecast_runs.horizon is 'Periods forecast ahead.';
comment on column analytics.forecast_runs.levels is 'Interval levels in percent; lower/upper of analytics.forecast_values follow this order.';
comment on column analytics.forecast_runs.method is 'The method asked for (auto, ets, seasonal_naive).';
comment on column analytics.forecast_runs.history is 'The history limit asked for (periods; null = all).';
comment on column analytics.forecast_runs.notes is 'Series skipped and why.';

create table if not exists analytics.forecast_values (
  run_id             bigint not null references analytics.forecast_runs (run_id) on delete cascade,
  feature            text not null,
  step               integer not null check (step >= 1),
  period             timestamptz not null,
  point              float8 not null,
  lower              float8[] not null,
  upper              float8[] not null,
  backtest_lower     float8[] not null,
  backtest_upper     float8[] not null,
  recalibrated       boolean not null default false,
  realised_errors    integer not null default 0,
  method_used        text not null,
  model              text,
  backtest_mase      float8,
  baseline_mase      float8,
  backtest_coverage  float8[],
  n_errors           integer,
  n_history          integer not null,
  season             integer not null,
  scale              float8,
  notes              text,
  primary key (run_id, feature, step)
);
create index if not exists forecast_values_series on analytics.forecast_values (feature, step, period);
comment on table analytics.forecast_values is
  'The stored forecasts: one row per run × feature × step. analytics.forecast_ledger adds the actual once the period is complete and scores it.';
comment on column analytics.forecast_values.run_id is 'The run (analytics.forecast_runs).';
comment on column analytics.forecast_values.feature is 'Catalog feature forecast.';
comment on column analytics.forecast_values.step is 'Steps ahead of the last period of the history (1 = the next period).';
comment on column analytics.forecast_values.period is 'Start of the forecast period (UTC hour, day or ISO week).';
comment on column analytics.forecast_values.point is 'Point forecast.';
comment on column analytics.forecast_values.lower is 'Lower bound per level of the run (analytics.forecast_runs.levels order), as stored: recalibrated when recalibrated is true.';
comment on column analytics.forecast_values.upper is 'Upper bound per level, as stored.';
comment on column analytics.forecast_values.backtest_lower is 'Lower bound per level as analytics.forecast_series gave it (split-conformal on the rolling-origin backtest).';
comment on column analytics.forecast_values.backtest_upper is 'Upper bound per level as analytics.forecast_series gave it.';
comment on column analytics.forecast_values.recalibrated is 'True when at least one level''s bounds come from the ledger''s realised errors (the rule: sql/65_forecast_ledger.sql).';
comment on column analytics.forecast_values.realised_errors is 'Realised errors of this feature and step in the ledger at the time of the run (the recalibration rests on the latest 200 of them).';
comment on column analytics.forecast_values.method_used is 'seasonal_naive, ets, seasonal_naive_2 or combination.';
comment on column analytics.forecast_values.model is 'The model with its parameters.';
comment on column analytics.forecast_values.backtest_mase is 'Rolling-origin backtest MASE of the method used.';
comment on column analytics.forecast_values.baseline_mase is 'Rolling-origin backtest MASE of the seasonal naive baseline.';
comment on column analytics.forecast_values.backtest_coverage is 'Backtest coverage per level (split-half check).';
comment on column analytics.forecast_values.n_errors is 'Backtest errors the step''s backtest interval rests on.';
comment on column analytics.forecast_values.n_history is 'Non-null values of the history.';
comment on column analytics.forecast_values.season is 'Season used (24 hourly, 7 daily, 52 weekly; 1 when the history is too short for it).';
comment on column analytics.forecast_values.scale is 'In-sample MAE of the seasonal naive forecast (lag = season) over the history: the denominator of the realised MASE. Null for a constant history.';
comment on column analytics.forecast_values.notes is 'Notes of the forecast and of the recalibration.';

create table if not exists analytics.forecast_job_runs (
  job_name       text not null,
  run_day        date not null,
  scheduler      text not null check (scheduler in ('pg_cron', 'in-process', 'manual')),
  attempts       integer not null default 1 check (attempts >= 1),
  started_at     timestamptz not null,
  finished_at    timestamptz not null,
  status         text not null check (status in ('succeeded', 'failed')),
  rows_written   integer not null default 0,
  series_forecast integer not null default 0,
  series_skipped integer not null default 0,
  run_id         bigint references analytics.forecast_runs (run_id) on delete set null,
  error          text,
  notes          text,
  primary key (job_name, run_day)
);
comment on table analytics.forecast_job_runs is
  'One row per forecast job and day: the last attempt (a re-run for the same day updates the row and counts the attempt). A failed attempt writes no forecast and keeps the day''s earlier stored run, if any (run_id).';
comment on column analytics.forecast_job_runs.job_name is 'The job.';
comment on column analytics.forecast_job_runs.run_day is 'The UTC day run for.';
comment on column analytics.forecast_job_runs.scheduler is 'Who started the last attempt: pg_cron, in-process or manual.';
comment on column analytics.forecast_job_runs.attempts is 'Attempts for this job and day.';
comment on column analytics.forecast_job_runs.started_at is 'When the last attempt started.';
comment on column analytics.forecast_job_runs.finished_at is 'When it ended.';
comment on column analytics.forecast_job_runs.status is 'succeeded or failed (the last attempt).';
comment on column analytics.forecast_job_runs.rows_written is 'Forecast rows the last attempt wrote (0 when it failed).';
comment on column analytics.forecast_job_runs.series_forecast is 'Features forecast by the last attempt.';
comment on column analytics.forecast_job_runs.series_skipped is 'Features the last attempt could not forecast (history too short, constant, …; see notes).';
comment on column analytics.forecast_job_runs.run_id is 'The stored run of this day (analytics.forecast_runs), null when none.';
comment on column analytics.forecast_job_runs.error is 'Why the last attempt failed (null when it succeeded).';
comment on column analytics.forecast_job_runs.notes is 'What else the last attempt said (skipped features, an earlier run kept).';

-- ───────────────────────────── grants and policies ─────────────────────────────

grant select on analytics.forecast_jobs, analytics.forecast_runs, analytics.forecast_values,
  analytics.forecast_job_runs to authenticated, service_role;
grant insert, update, delete on analytics.forecast_jobs to service_role;

alter table analytics.forecast_jobs enable row level security;
alter table analytics.forecast_runs enable row level security;
alter table analytics.forecast_values enable row level security;
alter table analytics.forecast_job_runs enable row level security;

drop policy if exists forecast_jobs_read on analytics.forecast_jobs;
create policy forecast_jobs_read on analytics.forecast_jobs for select to authenticated, service_role using (true);
drop policy if exists forecast_jobs_insert on analytics.forecast_jobs;
create policy forecast_jobs_insert on analytics.forecast_jobs for insert to service_role with check (true);
drop policy if exists forecast_jobs_update on analytics.forecast_jobs;
create policy forecast_jobs_update on analytics.forecast_jobs for update to service_role using (true) with check (true);
drop policy if exists forecast_jobs_delete on analytics.forecast_jobs;
create policy forecast_jobs_delete on analytics.forecast_jobs for delete to service_role using (true);
drop policy if exists forecast_runs_read on analytics.forecast_runs;
create policy forecast_runs_read on analytics.forecast_runs for select to authenticated, service_role using (true);
drop policy if exists forecast_values_read on analytics.forecast_values;
create policy forecast_values_read on analytics.forecast_values for select to authenticated, service_role using (true);
drop policy if exists forecast_job_runs_read on analytics.forecast_job_runs;
create policy forecast_job_runs_read on analytics.forecast_job_runs for select to authenticated, service_role using (true);
