-- sql/10_features.sql — feature views (hourly, daily, weekly), the feature catalog and the refresh.
--
-- One pass over each raw table, grouped by UTC hour, feeds aoma_private.features_hourly_raw (sparse:
-- only hours with data). The analyst-facing views are built from it, never from the raw tables again:
--   analytics.features_hourly  one row per hour   (column "hour",  timestamptz, UTC)
--   analytics.features_daily   one row per day    (column "day",   date, UTC day)
--   analytics.features_weekly  one row per week   (column "week",  date, ISO Monday)
-- Every view is contiguous: a period with no events is a row with zero counts (and null averages),
-- so lags of k periods are k rows. Sums and counts roll up; averages are recomputed from sums / n.
-- Days are cut in UTC.
--
-- Refresh: analytics.refresh_features() (service_role). Re-applying this module recreates the views.

drop materialized view if exists analytics.features_weekly cascade;
drop materialized view if exists analytics.features_daily cascade;
drop materialized view if exists analytics.features_hourly cascade;
drop materialized view if exists aoma_private.features_hourly_raw cascade;

-- ───────────────────────────── hourly sums from the raw tables ─────────────────────────────

create materialized view aoma_private.features_hourly_raw as
with
tickets as (
  -- failure reports (type Incident) are the outcome, so they are kept out of the driver counts
  select date_trunc('hour', created_at at time zone 'UTC') as h,
         count(*) filter (where issue_type <> 'Incident') as tickets_created,
         count(*) filter (where issue_type = 'Bug') as tickets_bug,
         count(*) filter (where issue_type = 'Story') as tickets_story,
         count(*) filter (where issue_type in ('Task', 'Sub-task')) as tickets_task,
         count(*) filter (where issue_type = 'Incident') as tickets_incident,
         count(*) filter (where issue_type <> 'Incident'
                            and priority in ('Highest', 'High', 'Blocker', 'Critical')) as tickets_priority_high
  from aoma.jira_issues group by 1
),
resolved as (
  select date_trunc('hour', resolved_at at time zone 'UTC') as h, count(*) as tickets_resolved
  from aoma.jira_issues where resolved_at is not null and issue_type <> 'Incident' group by 1
),
commits as (
  select date_trunc('hour', c.committed_at at time zone 'UTC') as h,
         count(*) as commits,
         count(*) filter (where r.is_service) as service_commits,
         count(*) filter (where c.is_merge) as merges,
         sum(c.insertions + c.deletions) as churn,
         sum(c.files_changed) as files_changed
  from aoma.git_commits c left join aoma.repositories r on r.repo = c.repo
  group by 1
),
deploys as (
  select date_trunc('hour', deployed_at at time zone 'UTC') as h,
         count(*) as deployments,
         count(*) filter (where status <> 'succeeded') as deployment_failures
  from aoma.deployments group by 1
),
metrics as (
  select date_trunc('hour', "timestamp" at time zone 'UTC') as h,
         sum(asset_volume) as asset_volume,
         sum(processing_time) as processing_time_sum,
         count(processing_time) as processing_time_n,
         sum(error_count) as error_count,
         sum(performance_score) as performance_score_sum,
         count(performance_score) as performance_score_n
  from aoma.aoma_system_metrics group by 1
),
attempts as (
  select date_trunc('hour', started_at at time zone 'UTC') as h,
         count(*) as processing_attempts,
         count(*) filter (where status = 'failed') as processing_failures,
         -- durations of successful attempts only: a failed attempt stops early, so averaging it in
         -- would make this a mechanical echo of the failure rate rather than a candidate cause
         sum(extract(epoch from finished_at - started_at)) filter (where status = 'succeeded') as processing_duration_sum,
         count(finished_at) filter (where status = 'succeeded') as processing_duration_n
  from aoma.processing_attempts group by 1
),
logs as (
  select date_trunc('hour', ts at time zone 'UTC') as h,
         count(*) as log_events,
         count(*) filter (where level in ('ERROR', 'FATAL')) as log_errors,
         count(*) filter (where level = 'WARN') as log_warnings
  from aoma.log_events group by 1
),
failures as (
  select date_trunc('hour', started_at at time zone 'UTC') as h, count(*) as failure_count
  from aoma.incidents group by 1
),
hours as (
  select h from tickets union select h from resolved union select h from commits
  union select h from deploys union select h from metrics union select h from attempts
  union select h from logs union select h from failures
)
select hours.h as hour_utc,
       coalesce(t.tickets_created, 0)::int as tickets_created,
       coalesce(t.tickets_bug, 0)::int as tickets_bug,
       coalesce(t.tickets_story, 0)::int as tickets_story,
       coalesce(t.tickets_task, 0)::int as tickets_task,
       coalesce(t.tickets_incident, 0)::int as tickets_incident,
       coalesce(t.tickets_priority_high, 0)::int as tickets_priority_high,
       coalesce(rs.tickets_resolved, 0)::int as tickets_resolved,
       coalesce(c.commits, 0)::int as commits,
       coalesce(c.service_commits, 0)::int as service_commits,
       coalesce(c.merges, 0)::int as merges,
       coalesce(c.churn, 0)::bigint as churn,
       coalesce(c.files_changed, 0)::bigint as files_changed,
       coalesce(d.deployments, 0)::int as deployments,
       coalesce(d.deployment_failures, 0)::int as deployment_failures,
       coalesce(m.asset_volume, 0)::bigint as asset_volume,
       m.processing_time_sum::float8 as processing_time_sum,
       coalesce(m.processing_time_n, 0)::int as processing_time_n,
       coalesce(m.error_count, 0)::bigint as error_count,
       m.performance_score_sum::float8 as performance_score_sum,
       coalesce(m.performance_score_n, 0)::int as performance_score_n,
       coalesce(a.processing_attempts, 0)::int as processing_attempts,
       coalesce(a.processing_failures, 0)::int as processing_failures,
       a.processing_duration_sum::float8 as processing_duration_sum,
       coalesce(a.processing_duration_n, 0)::int as processing_duration_n,
       coalesce(l.log_events, 0)::int as log_events,
       coalesce(l.log_errors, 0)::int as log_errors,
       coalesce(l.log_warnings, 0)::int as log_warnings,
       coalesce(f.failure_count, 0)::int as failure_count
from hours
left join tickets t on t.h = hours.h
left join resolved rs on rs.h = hours.h
left join commits c on c.h = hours.h
left join deploys d on d.h = hours.h
left join metrics m on m.h = hours.h
left join attempts a on a.h = hours.h
left join logs l on l.h = hours.h
left join failures f on f.h = hours.h
with data;

create unique index features_hourly_raw_hour_idx on aoma_private.features_hourly_raw (hour_utc);
comment on materialized view aoma_private.features_hourly_raw is
  'Sparse hourly sums from every raw table (UTC hours with any event). Internal: the analytics.features_* views are built from it.';

-- ───────────────────────────── analyst-facing views ─────────────────────────────
-- The three views share their column list; only the period column and the calendar columns differ.

create materialized view analytics.features_hourly as
with span as (select min(hour_utc) as lo, max(hour_utc) as hi from aoma_private.features_hourly_raw),
     periods as (select generate_series(lo, hi, interval '1 hour') as p from span where lo is not null)
select (periods.p at time zone 'UTC') as hour,
       extract(isodow from periods.p)::int as weekday,
       (extract(isodow from periods.p) = 1)::int as is_monday,
       (extract(isodow from periods.p) in (6, 7))::int as is_weekend,
       extract(hour from periods.p)::int as hour_of_day,
       coalesce(r.tickets_created, 0) as tickets_created,
       coalesce(r.tickets_bug, 0) as tickets_bug,
       coalesce(r.tickets_story, 0) as tickets_story,
       coalesce(r.tickets_task, 0) as tickets_task,
       coalesce(r.tickets_incident, 0) as tickets_incident,
       coalesce(r.tickets_priority_high, 0) as tickets_priority_high,
       coalesce(r.tickets_resolved, 0) as tickets_resolved,
       coalesce(r.commits, 0) as commits,
       coalesce(r.service_commits, 0) as service_commits,
       coalesce(r.merges, 0) as merges,
       coalesce(r.churn, 0) as churn,
       coalesce(r.files_changed, 0) as files_changed,
       coalesce(r.deployments, 0) as deployments,
       coalesce(r.deployment_failures, 0) as deployment_failures,
       coalesce(r.asset_volume, 0) as asset_volume,
       r.processing_time_sum / nullif(r.processing_time_n, 0) as processing_time_avg,
       coalesce(r.error_count, 0) as error_count,
       r.performance_score_sum / nullif(r.performance_score_n, 0) as performance_score_avg,
       coalesce(r.processing_attempts, 0) as processing_attempts,
       coalesce(r.processing_failures, 0) as processing_failures,
       r.processing_failures::float8 / nullif(r.processing_attempts, 0) as processing_failure_rate,
       r.processing_duration_sum / nullif(r.processing_duration_n, 0) as processing_duration_avg,
       coalesce(r.log_events, 0) as log_events,
       coalesce(r.log_errors, 0) as log_errors,
       coalesce(r.log_warnings, 0) as log_warnings,
       coalesce(r.failure_count, 0) as failure_count,
       (coalesce(r.failure_count, 0) > 0)::int as failure_flag
from periods
left join aoma_private.features_hourly_raw r on r.hour_utc = periods.p
with data;
create unique index features_hourly_hour_idx on analytics.features_hourly (hour);

create materialized view analytics.features_daily as
with sums as (
  select (hour_utc)::date as d,
         sum(tickets_created) as tickets_created, sum(tickets_bug) as tickets_bug,
         sum(tickets_story) as tickets_story, sum(tickets_task) as tickets_task,
         sum(tickets_incident) as tickets_incident, sum(tickets_priority_high) as tickets_priority_high,
         sum(tickets_resolved) as tickets_resolved, sum(commits) as commits,
         sum(service_commits) as service_commits, sum(merges) as merges, sum(churn) as churn,
         sum(files_changed) as files_changed, sum(deployments) as deployments,
         sum(deployment_failures) as deployment_failures, sum(asset_volume) as asset_volume,
         sum(processing_time_sum) as processing_time_sum, sum(processing_time_n) as processing_time_n,
         sum(error_count) as error_count, sum(performance_score_sum) as performance_score_sum,
         sum(performance_score_n) as performance_score_n, sum(processing_attempts) as processing_attempts,
         sum(processing_failures) as processing_failures,
         sum(processing_duration_sum) as processing_duration_sum,
         sum(processing_duration_n) as processing_duration_n, sum(log_events) as log_events,
         sum(log_errors) as log_errors, sum(log_warnings) as log_warnings,
         sum(failure_count) as failure_count
  from aoma_private.features_hourly_raw group by 1
),
span as (select min(d) as lo, max(d) as hi from sums),
periods as (select generate_series(lo, hi, interval '1 day')::date as p from span where lo is not null)
select periods.p as day,
       extract(isodow from periods.p)::int as weekday,
       (extract(isodow from periods.p) = 1)::int as is_monday,
       (extract(isodow from periods.p) = 2)::int as is_tuesday,
       (extract(isodow from periods.p) = 3)::int as is_wednesday,
       (extract(isodow from periods.p) = 4)::int as is_thursday,
       (extract(isodow from periods.p) = 5)::int as is_friday,
       (extract(isodow from periods.p) = 6)::int as is_saturday,
       (extract(isodow from periods.p) = 7)::int as is_sunday,
       (extract(isodow from periods.p) in (6, 7))::int as is_weekend,
       coalesce(s.tickets_created, 0)::int as tickets_created,
       coalesce(s.tickets_bug, 0)::int as tickets_bug,
       coalesce(s.tickets_story, 0)::int as tickets_story,
       coalesce(s.tickets_task, 0)::int as tickets_task,
       coalesce(s.tickets_incident, 0)::int as tickets_incident,
       coalesce(s.tickets_priority_high, 0)::int as tickets_priority_high,
       coalesce(s.tickets_resolved, 0)::int as tickets_resolved,
       coalesce(s.commits, 0)::int as commits,
       coalesce(s.service_commits, 0)::int as service_commits,
       coalesce(s.merges, 0)::int as merges,
       coalesce(s.churn, 0)::bigint as churn,
       coalesce(s.files_changed, 0)::bigint as files_changed,
       coalesce(s.deployments, 0)::int as deployments,
       coalesce(s.deployment_failures, 0)::int as deployment_failures,
       coalesce(s.asset_volume, 0)::bigint as asset_volume,
       (s.processing_time_sum / nullif(s.processing_time_n, 0))::float8 as processing_time_avg,
       coalesce(s.error_count, 0)::bigint as error_count,
       (s.performance_score_sum / nullif(s.performance_score_n, 0))::float8 as performance_score_avg,
       coalesce(s.processing_attempts, 0)::int as processing_attempts,
       coalesce(s.processing_failures, 0)::int as processing_failures,
       (s.processing_failures::float8 / nullif(s.processing_attempts, 0))::float8 as processing_failure_rate,
       (s.processing_duration_sum / nullif(s.processing_duration_n, 0))::float8 as processing_duration_avg,
       coalesce(s.log_events, 0)::int as log_events,
       coalesce(s.log_errors, 0)::int as log_errors,
       coalesce(s.log_warnings, 0)::int as log_warnings,
       coalesce(s.failure_count, 0)::int as failure_count,
       (coalesce(s.failure_count, 0) > 0)::int as failure_flag,
       -- raw sums kept so that the weekly view rolls up exactly
       s.processing_time_sum::float8 as processing_time_sum, coalesce(s.processing_time_n, 0)::int as processing_time_n,
       s.performance_score_sum::float8 as performance_score_sum, coalesce(s.performance_score_n, 0)::int as performance_score_n,
       s.processing_duration_sum::float8 as processing_duration_sum, coalesce(s.processing_duration_n, 0)::int as processing_duration_n
from periods left join sums s on s.d = periods.p
with data;
create unique index features_daily_day_idx on analytics.features_daily (day);

create materialized view analytics.features_weekly as
select date_trunc('week', day)::date as week,
       count(*)::int as days_covered,
       sum(tickets_created)::int as tickets_created, sum(tickets_bug)::int as tickets_bug,
       sum(tickets_story)::int as tickets_story, sum(tickets_task)::int as tickets_task,
       sum(tickets_incident)::int as tickets_incident, sum(tickets_priority_high)::int as tickets_priority_high,
       sum(tickets_resolved)::int as tickets_resolved, sum(commits)::int as commits,
       sum(service_commits)::int as service_commits, sum(merges)::int as merges,
       sum(churn)::bigint as churn, sum(files_changed)::bigint as files_changed,
       sum(deployments)::int as deployments, sum(deployment_failures)::int as deployment_failures,
       sum(asset_volume)::bigint as asset_volume,
       (sum(processing_time_sum) / nullif(sum(processing_time_n), 0))::float8 as processing_time_avg,
       sum(error_count)::bigint as error_count,
       (sum(performance_score_sum) / nullif(sum(performance_score_n), 0))::float8 as performance_score_avg,
       sum(processing_attempts)::int as processing_attempts,
       sum(processing_failures)::int as processing_failures,
       (sum(processing_failures)::float8 / nullif(sum(processing_attempts), 0))::float8 as processing_failure_rate,
       (sum(processing_duration_sum) / nullif(sum(processing_duration_n), 0))::float8 as processing_duration_avg,
       sum(log_events)::int as log_events, sum(log_errors)::int as log_errors,
       sum(log_warnings)::int as log_warnings, sum(failure_count)::int as failure_count,
       (sum(failure_count) > 0)::int as failure_flag
from analytics.features_daily
group by 1
with data;
create unique index features_weekly_week_idx on analytics.features_weekly (week);

comment on materialized view analytics.features_hourly is 'One row per UTC hour from the first to the last hour with data; see analytics.feature_catalog (grain hour) for the columns.';
comment on materialized view analytics.features_daily is 'One row per UTC day from the first to the last day with data; see analytics.feature_catalog (grain day) for the columns.';
comment on materialized view analytics.features_weekly is 'One row per ISO week (Monday) rolled up from features_daily; days_covered < 7 marks a partial week.';

grant select on analytics.features_hourly, analytics.features_daily, analytics.features_weekly
  to authenticated, service_role;

-- ───────────────────────────── the catalog ─────────────────────────────
-- Every analysis resolves feature names through this table. kind: driver = candidate cause,
-- outcome = a failure measure or its symptom (never a default predictor), calendar = weekday indicator.

with defs(name, kind, unit, description, source, grains) as (values
  ('is_monday', 'calendar', 'indicator', 'Monday (UTC) = 1, other days 0', 'calendar', '{hour,day}'),
  ('is_tuesday', 'calendar', 'indicator', 'Tuesday (UTC) = 1, other days 0', 'calendar', '{day}'),
  ('is_wednesday', 'calendar', 'indicator', 'Wednesday (UTC) = 1, other days 0', 'calendar', '{day}'),
  ('is_thursday', 'calendar', 'indicator', 'Thursday (UTC) = 1, other days 0', 'calendar', '{day}'),
  ('is_friday', 'calendar', 'indicator', 'Friday (UTC) = 1, other days 0', 'calendar', '{day}'),
  ('is_saturday', 'calendar', 'indicator', 'Saturday (UTC) = 1, other days 0', 'calendar', '{day}'),
  ('is_sunday', 'calendar', 'indicator', 'Sunday (UTC) = 1, other days 0', 'calendar', '{day}'),
  ('is_weekend', 'calendar', 'indicator', 'Saturday or Sunday (UTC) = 1', 'calendar', '{hour,day}'),
  ('tickets_created', 'driver', 'tickets', 'Jira tickets created, failure reports (type Incident) excluded', 'aoma.jira_issues', '{hour,day,week}'),
  ('tickets_bug', 'driver', 'tickets', 'Jira tickets of type Bug created', 'aoma.jira_issues', '{hour,day,week}'),
  ('tickets_story', 'driver', 'tickets', 'Jira tickets of type Story created', 'aoma.jira_issues', '{hour,day,week}'),
  ('tickets_task', 'driver', 'tickets', 'Jira tickets of type Task or Sub-task created', 'aoma.jira_issues', '{hour,day,week}'),
  ('tickets_priority_high', 'driver', 'tickets', 'Jira tickets created with priority Highest, High, Blocker or Critical, failure reports excluded', 'aoma.jira_issues', '{hour,day,week}'),
  ('tickets_resolved', 'driver', 'tickets', 'Jira tickets resolved, failure reports excluded', 'aoma.jira_issues', '{hour,day,week}'),
  ('tickets_incident', 'outcome', 'tickets', 'Jira tickets of type Incident created (failure reports)', 'aoma.jira_issues', '{hour,day,week}'),
  ('commits', 'driver', 'commits', 'Git commits in all ingested repositories (by commit time)', 'aoma.git_commits', '{hour,day,week}'),
  ('service_commits', 'driver', 'commits', 'Git commits to the repositories deployed as the AOMA service', 'aoma.git_commits, aoma.repositories', '{hour,day,week}'),
  ('merges', 'driver', 'commits', 'Merge commits', 'aoma.git_commits', '{hour,day,week}'),
  ('churn', 'driver', 'lines', 'Lines added plus lines removed', 'aoma.git_commits', '{hour,day,week}'),
  ('files_changed', 'driver', 'files', 'Files touched by commits', 'aoma.git_commits', '{hour,day,week}'),
  ('deployments', 'driver', 'deployments', 'Deployments', 'aoma.deployments', '{hour,day,week}'),
  ('deployment_failures', 'outcome', 'deployments', 'Deployments that failed or were rolled back', 'aoma.deployments', '{hour,day,week}'),
  ('asset_volume', 'driver', 'files', 'Asset files uploaded', 'aoma.aoma_system_metrics', '{hour,day,week}'),
  ('processing_time_avg', 'outcome', 'seconds', 'Mean processing time reported by the system metrics (failed attempts included, so it moves with failures)', 'aoma.aoma_system_metrics', '{hour,day,week}'),
  ('error_count', 'outcome', 'errors', 'Errors reported by the system metrics', 'aoma.aoma_system_metrics', '{hour,day,week}'),
  ('performance_score_avg', 'outcome', 'score', 'Mean performance score reported by the system metrics', 'aoma.aoma_system_metrics', '{hour,day,week}'),
  ('processing_attempts', 'driver', 'attempts', 'Asset-processing attempts started', 'aoma.processing_attempts', '{hour,day,week}'),
  ('processing_duration_avg', 'driver', 'seconds', 'Mean duration of successful processing attempts', 'aoma.processing_attempts', '{hour,day,week}'),
  ('processing_failures', 'outcome', 'attempts', 'Asset-processing attempts that failed', 'aoma.processing_attempts', '{hour,day,week}'),
  ('processing_failure_rate', 'outcome', 'ratio', 'Share of processing attempts that failed', 'aoma.processing_attempts', '{hour,day,week}'),
  ('log_events', 'outcome', 'events', 'System log events (all levels, including the errors failures write)', 'aoma.log_events', '{hour,day,week}'),
  ('log_errors', 'outcome', 'events', 'System log events at ERROR or FATAL', 'aoma.log_events', '{hour,day,week}'),
  ('log_warnings', 'driver', 'events', 'System log events at WARN', 'aoma.log_events', '{hour,day,week}'),
  ('failure_count', 'outcome', 'failures', 'System failures / incidents started', 'aoma.incidents', '{hour,day,week}'),
  ('failure_flag', 'outcome', 'indicator', 'At least one system failure started (1) or none (0)', 'aoma.incidents', '{hour,day,week}')
),
rows as (
  select d.name, g.grain, d.kind,
         case when d.unit in ('indicator', 'seconds', 'ratio', 'score') then d.unit
              else d.unit || '/' || g.grain end as unit,
         d.description, d.source
  from defs d cross join lateral unnest(d.grains::text[]) as g(grain)
),
gone as (
  delete from analytics.feature_catalog c
  where not exists (select from rows r where r.name = c.name and r.grain = c.grain)
)
insert into analytics.feature_catalog (name, grain, kind, unit, description, source)
select name, grain, kind, unit, description, source from rows
on conflict (name, grain) do update
  set kind = excluded.kind, unit = excluded.unit, description = excluded.description, source = excluded.source;

-- ───────────────────────────── refresh ─────────────────────────────

/*
 * analytics.refresh_features() — recomputes every feature view from the raw tables, in dependency
 * order, and returns each view with its row count. Run after an ingest (service_role) or by pg_cron.
 * One scan of each raw table (the hourly sums); the other views are built from those sums.
 * JIT is off: the planner's row estimates for the outer joins are huge, which triggers LLVM
 * optimisation that costs more (about a second) than the whole scan it would speed up.
 */
create or replace function analytics.refresh_features()
returns table (view_name text, row_count bigint)
language plpgsql
volatile
security definer
set search_path = ''
set jit = off
as $$
begin
  perform aoma_private.bump_data_version();
  refresh materialized view aoma_private.features_hourly_raw;
  refresh materialized view analytics.features_hourly;
  refresh materialized view analytics.features_daily;
  refresh materialized view analytics.features_weekly;
  return query
    select 'analytics.features_hourly'::text, (select count(*) from analytics.features_hourly)
    union all select 'analytics.features_daily', (select count(*) from analytics.features_daily)
    union all select 'analytics.features_weekly', (select count(*) from analytics.features_weekly);
end;
$$;
revoke execute on function analytics.refresh_features() from public;
grant execute on function analytics.refresh_features() to service_role;
