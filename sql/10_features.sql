-- sql/10_features.sql — the feature tables (hourly, daily, weekly), the feature catalog, the leakage
-- guard, and the incremental refresh.
--
-- Sums per UTC hour from every raw table are kept in aoma_private.features_hourly_raw (sparse: only
-- hours with data, the full history). The analyst-facing tables are built from it, never from the
-- raw tables again:
--   analytics.features_hourly  one row per hour   (column "hour",  timestamptz, UTC) — within the
--                              analysis window: from the first hour with data at or after
--                              (last hour with data − analytics.settings.hourly_window, default
--                              2 years) to the last hour with data
--   analytics.features_daily   one row per day    (column "day",   date, UTC day) — full history
--   analytics.features_weekly  one row per week   (column "week",  date, ISO Monday) — full history
--   analytics.segments_daily   one row per day and asset segment with attempts (asset type /
--                              migration state, aoma_private.asset_segment) — full history, sparse:
--                              the attempts and failed attempts of each segment, so a model of the
--                              failure rate that leaves a segment out reads 90 small rows, not every
--                              attempt again (sql/50_drivers.sql segment_days_sql)
-- Every table is contiguous over its range: a period with no events is a row with zero counts (and
-- null averages), so lags of k periods are k rows. Sums and counts roll up; averages are recomputed
-- from sums / n. Days are cut in UTC.
--
-- Leakage guard: a Jira ticket that is a failure — type Incident, or linked to any aoma.incidents
-- row (jira_key or incident_key = the ticket's key, whatever the incident's source, so every ticket
-- that aoma.jira_failure_rules turn into an incident) — is left out of every ticket driver feature
-- (tickets_created, tickets_bug, tickets_story, tickets_task, tickets_priority_high,
-- tickets_resolved), whatever its type. Otherwise a rule "Blocker tickets are failures" made
-- "high-priority tickets the same day" a perfect driver of the failures it counts.
-- analytics.feature_catalog.overlaps_with marks the features that may still contain a target's records
-- (processing_attempts holds the failed attempts, deployments the failed deployments, …); the
-- analyses never offer them as candidate drivers of those targets.
--
-- Refresh: analytics.refresh_features() (service_role; every ingest calls it) is incremental.
-- Statement triggers with transition tables on the raw tables record the UTC hours each write
-- touched in aoma_private.dirty_hours; the refresh recomputes only those hours, the days and the
-- weeks containing them, and the periods by which a range grew (or drops those by which it shrank),
-- and gives exactly the rows of a full rebuild (tests/incremental_features_test.ts). It rebuilds
-- everything when there is no state yet, after this module is re-applied, after a raw table was
-- truncated, when analytics.settings.hourly_window changed, when more than 5,000 hours are dirty, or
-- when asked: analytics.refresh_features(full => true).
--
-- Re-applying this module drops and rebuilds the feature tables (they are derived data).

-- ───────────────────────────── the tables ─────────────────────────────
-- (before 2026-12 these were materialized views: drop whichever kind is there)
do $$
declare
  r record;
begin
  for r in
    select n.nspname, c.relname, c.relkind
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where (n.nspname, c.relname) in (('analytics', 'features_weekly'), ('analytics', 'features_daily'),
                                     ('analytics', 'features_hourly'), ('aoma_private', 'features_hourly_raw'),
                                     ('analytics', 'segments_daily'))
      and c.relkind in ('m', 'r')
    order by case c.relname when 'features_weekly' then 1 when 'features_daily' then 2
                            when 'features_hourly' then 3 else 4 end
  loop
    execute format('drop %s if exists %I.%I cascade',
                   case r.relkind when 'm' then 'materialized view' else 'table' end, r.nspname, r.relname);
  end loop;
end;
$$;
update aoma_private.feature_refresh_state set needs_full = true;

create table aoma_private.features_hourly_raw (
  hour_utc timestamp primary key,
  tickets_created integer not null, tickets_bug integer not null, tickets_story integer not null,
  tickets_task integer not null, tickets_incident integer not null, tickets_priority_high integer not null,
  tickets_resolved integer not null,
  commits integer not null, service_commits integer not null, merges integer not null,
  churn bigint not null, files_changed bigint not null,
  deployments integer not null, deployment_failures integer not null,
  asset_volume bigint not null, processing_time_sum float8, processing_time_n integer not null,
  error_count bigint not null, performance_score_sum float8, performance_score_n integer not null,
  processing_attempts integer not null, processing_failures integer not null,
  processing_duration_sum float8, processing_duration_n integer not null,
  log_events integer not null, log_errors integer not null, log_warnings integer not null,
  failure_count integer not null, critical_failures integer not null
);
comment on table aoma_private.features_hourly_raw is
  'Sparse hourly sums from every raw table (UTC hours with any event, full history). Internal: the analytics.features_* tables are built from it.';

create table analytics.features_hourly (
  hour timestamptz primary key,
  weekday integer, is_monday integer, is_weekend integer, hour_of_day integer,
  tickets_created integer, tickets_bug integer, tickets_story integer, tickets_task integer,
  tickets_incident integer, tickets_priority_high integer, tickets_resolved integer,
  commits integer, service_commits integer, merges integer, churn bigint, files_changed bigint,
  deployments integer, deployment_failures integer, asset_volume bigint,
  processing_time_avg float8, error_count bigint, performance_score_avg float8,
  processing_attempts integer, processing_failures integer, processing_failure_rate float8,
  processing_duration_avg float8, log_events integer, log_errors integer, log_warnings integer,
  failure_count integer, failure_flag integer
);

create table analytics.features_daily (
  day date primary key,
  weekday integer, is_monday integer, is_tuesday integer, is_wednesday integer, is_thursday integer,
  is_friday integer, is_saturday integer, is_sunday integer, is_weekend integer,
  tickets_created integer, tickets_bug integer, tickets_story integer, tickets_task integer,
  tickets_incident integer, tickets_priority_high integer, tickets_resolved integer,
  commits integer, service_commits integer, merges integer, churn bigint, files_changed bigint,
  deployments integer, deployment_failures integer, asset_volume bigint,
  processing_time_avg float8, error_count bigint, performance_score_avg float8,
  processing_attempts integer, processing_failures integer, processing_failure_rate float8,
  processing_duration_avg float8, log_events integer, log_errors integer, log_warnings integer,
  failure_count integer, failure_flag integer,
  -- raw sums kept so that the weekly table rolls up exactly
  processing_time_sum float8, processing_time_n integer,
  performance_score_sum float8, performance_score_n integer,
  processing_duration_sum float8, processing_duration_n integer,
  critical_failure_flag integer
);

create table analytics.features_weekly (
  week date primary key,
  days_covered integer,
  tickets_created integer, tickets_bug integer, tickets_story integer, tickets_task integer,
  tickets_incident integer, tickets_priority_high integer, tickets_resolved integer,
  commits integer, service_commits integer, merges integer, churn bigint, files_changed bigint,
  deployments integer, deployment_failures integer, asset_volume bigint,
  processing_time_avg float8, error_count bigint, performance_score_avg float8,
  processing_attempts integer, processing_failures integer, processing_failure_rate float8,
  processing_duration_avg float8, log_events integer, log_errors integer, log_warnings integer,
  failure_count integer, failure_flag integer
);

create table analytics.segments_daily (
  day date not null,
  segment text not null,
  processing_attempts integer not null,
  processing_failures integer not null,
  primary key (day, segment)
);

comment on table analytics.features_hourly is 'One row per UTC hour over the analysis window (analytics.settings.hourly_window, default 2 years, back from the last hour with data; analytics.feature_coverage shows the range); see analytics.feature_catalog (grain hour) for the columns. Kept by analytics.refresh_features().';
comment on table analytics.features_daily is 'One row per UTC day from the first to the last day with data (full history); see analytics.feature_catalog (grain day) for the columns. Kept by analytics.refresh_features().';
comment on table analytics.features_weekly is 'One row per ISO week (Monday) rolled up from features_daily (full history); days_covered < 7 marks a partial week. Kept by analytics.refresh_features().';
comment on table analytics.segments_daily is 'Processing attempts and failed attempts per UTC day (of started_at) and asset segment (asset type / migration state, ''360RA/legacy''; aoma_private.asset_segment), full history, only day × segment pairs with attempts. Kept by analytics.refresh_features().';

grant select on analytics.features_hourly, analytics.features_daily, analytics.features_weekly, analytics.segments_daily
  to authenticated, service_role;
alter table analytics.segments_daily enable row level security;
create policy segments_daily_read on analytics.segments_daily for select to authenticated, service_role using (true);
alter table analytics.features_hourly enable row level security;
alter table analytics.features_daily enable row level security;
alter table analytics.features_weekly enable row level security;
create policy features_hourly_read on analytics.features_hourly for select to authenticated, service_role using (true);
create policy features_daily_read on analytics.features_daily for select to authenticated, service_role using (true);
create policy features_weekly_read on analytics.features_weekly for select to authenticated, service_role using (true);

-- ───────────────────────────── hourly sums from the raw tables ─────────────────────────────

/*
 * aoma_private.features_hourly_sums(lo, hi) — the hourly sums of every raw table: one row per UTC
 * hour with any event, restricted to the time ranges [lo[i], hi[i]) when given (null = everything).
 * One pass over each raw table (its time index for ranges). The ticket counts apply the leakage
 * guard (see the top of this file). aoma_private.mark_dirty_hours() below must mark every hour
 * whose sums a write can change: keep the two in step.
 */
create or replace function aoma_private.features_hourly_sums(lo timestamptz[] default null, hi timestamptz[] default null)
returns setof aoma_private.features_hourly_raw
language plpgsql
stable
set search_path = ''
as $$
declare
  -- restricts a scan to the ranges; @ is the time column
  v_in text := case when lo is null then ''
                    else ' join unnest($1::timestamptz[], $2::timestamptz[]) as rng(lo, hi) on @ >= rng.lo and @ < rng.hi' end;
begin
  return query execute format($sql$
    with
    jira as not materialized (
      -- a failure report (type Incident) or a ticket some incident points at is a failure, whatever its type
      select j.created_at, j.resolved_at, j.issue_type, j.priority,
             (j.issue_type = 'Incident'
              or j.issue_key in (select i.jira_key from aoma.incidents i where i.jira_key is not null)
              or j.issue_key in (select i.incident_key from aoma.incidents i)) as is_failure
      from aoma.jira_issues j
    ),
    tickets as (
      select date_trunc('hour', j.created_at at time zone 'UTC') as h,
             count(*) filter (where not j.is_failure) as tickets_created,
             count(*) filter (where not j.is_failure and j.issue_type = 'Bug') as tickets_bug,
             count(*) filter (where not j.is_failure and j.issue_type = 'Story') as tickets_story,
             count(*) filter (where not j.is_failure and j.issue_type in ('Task', 'Sub-task')) as tickets_task,
             count(*) filter (where j.issue_type = 'Incident') as tickets_incident,
             count(*) filter (where not j.is_failure
                                and j.priority in ('Highest', 'High', 'Blocker', 'Critical')) as tickets_priority_high
      from jira j %1$s group by 1
    ),
    resolved as (
      select date_trunc('hour', j.resolved_at at time zone 'UTC') as h, count(*) as tickets_resolved
      from jira j %2$s where j.resolved_at is not null and not j.is_failure group by 1
    ),
    commits as (
      select date_trunc('hour', c.committed_at at time zone 'UTC') as h,
             count(*) as commits,
             count(*) filter (where r.is_service) as service_commits,
             count(*) filter (where c.is_merge) as merges,
             sum(c.insertions + c.deletions) as churn,
             sum(c.files_changed) as files_changed
      from aoma.git_commits c %3$s left join aoma.repositories r on r.repo = c.repo
      group by 1
    ),
    deploys as (
      select date_trunc('hour', d.deployed_at at time zone 'UTC') as h,
             count(*) as deployments,
             count(*) filter (where d.status <> 'succeeded') as deployment_failures
      from aoma.deployments d %4$s group by 1
    ),
    metrics as (
      select date_trunc('hour', m."timestamp" at time zone 'UTC') as h,
             sum(m.asset_volume) as asset_volume,
             sum(m.processing_time::numeric) as processing_time_sum,
             count(m.processing_time) as processing_time_n,
             sum(m.error_count) as error_count,
             sum(m.performance_score::numeric) as performance_score_sum,
             count(m.performance_score) as performance_score_n
      from aoma.aoma_system_metrics m %5$s group by 1
    ),
    attempts as (
      select date_trunc('hour', a.started_at at time zone 'UTC') as h,
             count(*) as processing_attempts,
             count(*) filter (where a.status = 'failed') as processing_failures,
             -- durations of successful attempts only: a failed attempt stops early, so averaging it in
             -- would make this a mechanical echo of the failure rate rather than a candidate cause
             sum(extract(epoch from a.finished_at - a.started_at)) filter (where a.status = 'succeeded') as processing_duration_sum,
             count(a.finished_at) filter (where a.status = 'succeeded') as processing_duration_n
      from aoma.processing_attempts a %6$s group by 1
    ),
    logs as (
      select date_trunc('hour', l.ts at time zone 'UTC') as h,
             count(*) as log_events,
             count(*) filter (where l.level in ('ERROR', 'FATAL')) as log_errors,
             count(*) filter (where l.level = 'WARN') as log_warnings
      from aoma.log_events l %7$s group by 1
    ),
    failures as (
      select date_trunc('hour', i.started_at at time zone 'UTC') as h, count(*) as failure_count,
             count(*) filter (where i.severity = 'critical') as critical_failures
      from aoma.incidents i %8$s group by 1
    ),
    hours as (
      select h from tickets union select h from resolved union select h from commits
      union select h from deploys union select h from metrics union select h from attempts
      union select h from logs union select h from failures
    )
    select hours.h,
           coalesce(t.tickets_created, 0)::int, coalesce(t.tickets_bug, 0)::int, coalesce(t.tickets_story, 0)::int,
           coalesce(t.tickets_task, 0)::int, coalesce(t.tickets_incident, 0)::int,
           coalesce(t.tickets_priority_high, 0)::int, coalesce(rs.tickets_resolved, 0)::int,
           coalesce(c.commits, 0)::int, coalesce(c.service_commits, 0)::int, coalesce(c.merges, 0)::int,
           coalesce(c.churn, 0)::bigint, coalesce(c.files_changed, 0)::bigint,
           coalesce(d.deployments, 0)::int, coalesce(d.deployment_failures, 0)::int,
           coalesce(m.asset_volume, 0)::bigint, m.processing_time_sum::float8, coalesce(m.processing_time_n, 0)::int,
           coalesce(m.error_count, 0)::bigint, m.performance_score_sum::float8, coalesce(m.performance_score_n, 0)::int,
           coalesce(a.processing_attempts, 0)::int, coalesce(a.processing_failures, 0)::int,
           a.processing_duration_sum::float8, coalesce(a.processing_duration_n, 0)::int,
           coalesce(l.log_events, 0)::int, coalesce(l.log_errors, 0)::int, coalesce(l.log_warnings, 0)::int,
           coalesce(f.failure_count, 0)::int, coalesce(f.critical_failures, 0)::int
    from hours
    left join tickets t on t.h = hours.h
    left join resolved rs on rs.h = hours.h
    left join commits c on c.h = hours.h
    left join deploys d on d.h = hours.h
    left join metrics m on m.h = hours.h
    left join attempts a on a.h = hours.h
    left join logs l on l.h = hours.h
    left join failures f on f.h = hours.h
  $sql$,
    replace(v_in, '@', 'j.created_at'), replace(v_in, '@', 'j.resolved_at'), replace(v_in, '@', 'c.committed_at'),
    replace(v_in, '@', 'd.deployed_at'), replace(v_in, '@', 'm."timestamp"'), replace(v_in, '@', 'a.started_at'),
    replace(v_in, '@', 'l.ts'), replace(v_in, '@', 'i.started_at'))
  using lo, hi;
end;
$$;
revoke execute on function aoma_private.features_hourly_sums(timestamptz[], timestamptz[]) from public;

-- ───────────────────────────── rows of the analyst-facing tables ─────────────────────────────
-- Each builds the rows of the given periods from the hourly sums (a period without sums is a row of
-- zeros); the refresh inserts them for every period (full) or for the periods that changed.
-- Floating-point sums are added as numeric (exact, so independent of the order rows arrive in):
-- an incremental refresh and a full rebuild give the same bits.

create or replace function aoma_private.features_hourly_rows(hours timestamp[])
returns setof analytics.features_hourly
language sql
stable
set search_path = ''
as $$
  select (p.h at time zone 'UTC'),
         extract(isodow from p.h)::int,
         (extract(isodow from p.h) = 1)::int,
         (extract(isodow from p.h) in (6, 7))::int,
         extract(hour from p.h)::int,
         coalesce(r.tickets_created, 0), coalesce(r.tickets_bug, 0), coalesce(r.tickets_story, 0),
         coalesce(r.tickets_task, 0), coalesce(r.tickets_incident, 0), coalesce(r.tickets_priority_high, 0),
         coalesce(r.tickets_resolved, 0),
         coalesce(r.commits, 0), coalesce(r.service_commits, 0), coalesce(r.merges, 0),
         coalesce(r.churn, 0), coalesce(r.files_changed, 0),
         coalesce(r.deployments, 0), coalesce(r.deployment_failures, 0), coalesce(r.asset_volume, 0),
         r.processing_time_sum / nullif(r.processing_time_n, 0),
         coalesce(r.error_count, 0),
         r.performance_score_sum / nullif(r.performance_score_n, 0),
         coalesce(r.processing_attempts, 0), coalesce(r.processing_failures, 0),
         r.processing_failures::float8 / nullif(r.processing_attempts, 0),
         r.processing_duration_sum / nullif(r.processing_duration_n, 0),
         coalesce(r.log_events, 0), coalesce(r.log_errors, 0), coalesce(r.log_warnings, 0),
         coalesce(r.failure_count, 0), (coalesce(r.failure_count, 0) > 0)::int
  from unnest(hours) as p(h)
  left join aoma_private.features_hourly_raw r on r.hour_utc = p.h
$$;
revoke execute on function aoma_private.features_hourly_rows(timestamp[]) from public;

create or replace function aoma_private.features_daily_rows(days date[])
returns setof analytics.features_daily
language sql
stable
set search_path = ''
as $$
  with sums as (
    select p.d,
           sum(r.tickets_created) as tickets_created, sum(r.tickets_bug) as tickets_bug,
           sum(r.tickets_story) as tickets_story, sum(r.tickets_task) as tickets_task,
           sum(r.tickets_incident) as tickets_incident, sum(r.tickets_priority_high) as tickets_priority_high,
           sum(r.tickets_resolved) as tickets_resolved, sum(r.commits) as commits,
           sum(r.service_commits) as service_commits, sum(r.merges) as merges, sum(r.churn) as churn,
           sum(r.files_changed) as files_changed, sum(r.deployments) as deployments,
           sum(r.deployment_failures) as deployment_failures, sum(r.asset_volume) as asset_volume,
           sum(r.processing_time_sum::numeric) as processing_time_sum, sum(r.processing_time_n) as processing_time_n,
           sum(r.error_count) as error_count, sum(r.performance_score_sum::numeric) as performance_score_sum,
           sum(r.performance_score_n) as performance_score_n, sum(r.processing_attempts) as processing_attempts,
           sum(r.processing_failures) as processing_failures,
           sum(r.processing_duration_sum::numeric) as processing_duration_sum,
           sum(r.processing_duration_n) as processing_duration_n, sum(r.log_events) as log_events,
           sum(r.log_errors) as log_errors, sum(r.log_warnings) as log_warnings,
           sum(r.failure_count) as failure_count, sum(r.critical_failures) as critical_failures
    from unnest(days) as p(d)
    left join aoma_private.features_hourly_raw r on r.hour_utc >= p.d and r.hour_utc < p.d + 1
    group by p.d
  )
  select s.d,
         extract(isodow from s.d)::int,
         (extract(isodow from s.d) = 1)::int, (extract(isodow from s.d) = 2)::int,
         (extract(isodow from s.d) = 3)::int, (extract(isodow from s.d) = 4)::int,
         (extract(isodow from s.d) = 5)::int, (extract(isodow from s.d) = 6)::int,
         (extract(isodow from s.d) = 7)::int, (extract(isodow from s.d) in (6, 7))::int,
         coalesce(s.tickets_created, 0)::int, coalesce(s.tickets_bug, 0)::int,
         coalesce(s.tickets_story, 0)::int, coalesce(s.tickets_task, 0)::int,
         coalesce(s.tickets_incident, 0)::int, coalesce(s.tickets_priority_high, 0)::int,
         coalesce(s.tickets_resolved, 0)::int,
         coalesce(s.commits, 0)::int, coalesce(s.service_commits, 0)::int, coalesce(s.merges, 0)::int,
         coalesce(s.churn, 0)::bigint, coalesce(s.files_changed, 0)::bigint,
         coalesce(s.deployments, 0)::int, coalesce(s.deployment_failures, 0)::int,
         coalesce(s.asset_volume, 0)::bigint,
         (s.processing_time_sum / nullif(s.processing_time_n, 0))::float8,
         coalesce(s.error_count, 0)::bigint,
         (s.performance_score_sum / nullif(s.performance_score_n, 0))::float8,
         coalesce(s.processing_attempts, 0)::int, coalesce(s.processing_failures, 0)::int,
         (s.processing_failures::float8 / nullif(s.processing_attempts, 0))::float8,
         (s.processing_duration_sum / nullif(s.processing_duration_n, 0))::float8,
         coalesce(s.log_events, 0)::int, coalesce(s.log_errors, 0)::int, coalesce(s.log_warnings, 0)::int,
         coalesce(s.failure_count, 0)::int, (coalesce(s.failure_count, 0) > 0)::int,
         s.processing_time_sum::float8, coalesce(s.processing_time_n, 0)::int,
         s.performance_score_sum::float8, coalesce(s.performance_score_n, 0)::int,
         s.processing_duration_sum::float8, coalesce(s.processing_duration_n, 0)::int,
         (coalesce(s.critical_failures, 0) > 0)::int
  from sums s
$$;
revoke execute on function aoma_private.features_daily_rows(date[]) from public;

-- aoma_private.asset_segment(asset_type, migration_state): an attempt's segment, "360RA/legacy".
-- No SET clause, so the planner inlines it into the scans that call it per attempt (with one, every
-- call is a function call: 4M of them made 8.7 s of a default build_predictive_model); its body names
-- only pg_catalog, which is always searched first.
create or replace function aoma_private.asset_segment(asset_type text, migration_state text)
returns text
language sql
immutable
parallel safe
as $$ select asset_type || '/' || coalesce(migration_state, 'unknown') $$;
revoke execute on function aoma_private.asset_segment(text, text) from public;
grant execute on function aoma_private.asset_segment(text, text) to authenticated, service_role;

-- aoma_private.segments_daily_rows(days): the rows of analytics.segments_daily for the given UTC days
-- (null: every day), straight from aoma.processing_attempts (its started_at index for days).
create or replace function aoma_private.segments_daily_rows(days date[])
returns setof analytics.segments_daily
language sql
stable
set search_path = ''
as $$
  select (a.started_at at time zone 'UTC')::date, aoma_private.asset_segment(a.asset_type, a.migration_state),
         count(*)::int, (count(*) filter (where a.status = 'failed'))::int
  from (select x.started_at, x.asset_type, x.migration_state, x.status from aoma.processing_attempts x where days is null
        union all
        select x.started_at, x.asset_type, x.migration_state, x.status
        from unnest(days) as p(d)
        join aoma.processing_attempts x on x.started_at >= (p.d::timestamp at time zone 'UTC')
                                       and x.started_at < ((p.d + 1)::timestamp at time zone 'UTC')) a
  group by 1, 2
$$;
revoke execute on function aoma_private.segments_daily_rows(date[]) from public;

create or replace function aoma_private.features_weekly_rows(weeks date[])
returns setof analytics.features_weekly
language sql
stable
set search_path = ''
as $$
  select w.week,
         count(*)::int,
         sum(d.tickets_created)::int, sum(d.tickets_bug)::int, sum(d.tickets_story)::int, sum(d.tickets_task)::int,
         sum(d.tickets_incident)::int, sum(d.tickets_priority_high)::int, sum(d.tickets_resolved)::int,
         sum(d.commits)::int, sum(d.service_commits)::int, sum(d.merges)::int,
         sum(d.churn)::bigint, sum(d.files_changed)::bigint,
         sum(d.deployments)::int, sum(d.deployment_failures)::int, sum(d.asset_volume)::bigint,
         (sum(d.processing_time_sum::numeric) / nullif(sum(d.processing_time_n), 0))::float8,
         sum(d.error_count)::bigint,
         (sum(d.performance_score_sum::numeric) / nullif(sum(d.performance_score_n), 0))::float8,
         sum(d.processing_attempts)::int, sum(d.processing_failures)::int,
         (sum(d.processing_failures)::float8 / nullif(sum(d.processing_attempts), 0))::float8,
         (sum(d.processing_duration_sum::numeric) / nullif(sum(d.processing_duration_n), 0))::float8,
         sum(d.log_events)::int, sum(d.log_errors)::int, sum(d.log_warnings)::int,
         sum(d.failure_count)::int, (sum(d.failure_count) > 0)::int
  from unnest(weeks) as w(week)
  join analytics.features_daily d on d.day >= w.week and d.day < w.week + 7
  group by w.week
$$;
revoke execute on function aoma_private.features_weekly_rows(date[]) from public;

-- ───────────────────────────── the catalog ─────────────────────────────
-- Every analysis resolves feature names through this table. kind: driver = candidate cause,
-- outcome = a failure measure or its symptom (never a default predictor), calendar = weekday indicator.
-- overlaps_with: the targets whose records the feature may contain (the same rows of the same source
-- table, e.g. every failed processing attempt is also an attempt). A feature is never a default
-- candidate driver of a target it overlaps (analytics.correlate, analytics.explain_drivers), and
-- explain_drivers refuses it when named. The ticket driver features overlap no failure target: the
-- leakage guard keeps every failure ticket out of them.

with defs(name, kind, unit, description, source, grains) as (values
  ('is_monday', 'calendar', 'indicator', 'Monday (UTC) = 1, other days 0', 'calendar', '{hour,day}'),
  ('is_tuesday', 'calendar', 'indicator', 'Tuesday (UTC) = 1, other days 0', 'calendar', '{day}'),
  ('is_wednesday', 'calendar', 'indicator', 'Wednesday (UTC) = 1, other days 0', 'calendar', '{day}'),
  ('is_thursday', 'calendar', 'indicator', 'Thursday (UTC) = 1, other days 0', 'calendar', '{day}'),
  ('is_friday', 'calendar', 'indicator', 'Friday (UTC) = 1, other days 0', 'calendar', '{day}'),
  ('is_saturday', 'calendar', 'indicator', 'Saturday (UTC) = 1, other days 0', 'calendar', '{day}'),
  ('is_sunday', 'calendar', 'indicator', 'Sunday (UTC) = 1, other days 0', 'calendar', '{day}'),
  ('is_weekend', 'calendar', 'indicator', 'Saturday or Sunday (UTC) = 1', 'calendar', '{hour,day}'),
  ('tickets_created', 'driver', 'tickets', 'Jira tickets created, failure reports (type Incident or a ticket an incident points at: every ticket the failure rules turn into an incident) excluded', 'aoma.jira_issues', '{hour,day,week}'),
  ('tickets_bug', 'driver', 'tickets', 'Jira tickets of type Bug created, failure reports (type Incident or a ticket an incident points at: every ticket the failure rules turn into an incident) excluded', 'aoma.jira_issues', '{hour,day,week}'),
  ('tickets_story', 'driver', 'tickets', 'Jira tickets of type Story created, failure reports (type Incident or a ticket an incident points at: every ticket the failure rules turn into an incident) excluded', 'aoma.jira_issues', '{hour,day,week}'),
  ('tickets_task', 'driver', 'tickets', 'Jira tickets of type Task or Sub-task created, failure reports (type Incident or a ticket an incident points at: every ticket the failure rules turn into an incident) excluded', 'aoma.jira_issues', '{hour,day,week}'),
  ('tickets_priority_high', 'driver', 'tickets', 'Jira tickets created with priority Highest, High, Blocker or Critical, failure reports (type Incident or a ticket an incident points at: every ticket the failure rules turn into an incident) excluded', 'aoma.jira_issues', '{hour,day,week}'),
  ('tickets_resolved', 'driver', 'tickets', 'Jira tickets resolved, failure reports (type Incident or a ticket an incident points at: every ticket the failure rules turn into an incident) excluded', 'aoma.jira_issues', '{hour,day,week}'),
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
  ('failure_flag', 'outcome', 'indicator', 'At least one system failure started (1) or none (0)', 'aoma.incidents', '{hour,day,week}'),
  ('critical_failure_flag', 'outcome', 'indicator', 'A day (UTC) on which at least one system failure of severity critical started (1) or none (0): the day-level yes/no outcome of build_predictive_model''s classification', 'aoma.incidents', '{day}')
),
overlap(name, targets) as (values
  ('tickets_incident', '{failure_count,failure_flag,critical_failure_flag}'),
  ('failure_count', '{failure_flag,critical_failure_flag}'),
  ('failure_flag', '{failure_count,critical_failure_flag}'),
  ('critical_failure_flag', '{failure_count,failure_flag}'),
  ('processing_attempts', '{processing_failures,processing_failure_rate}'),
  ('processing_failures', '{processing_failure_rate}'),
  ('processing_failure_rate', '{processing_failures}'),
  ('deployments', '{deployment_failures}'),
  ('log_events', '{log_errors}')
),
rows as (
  select d.name, g.grain, d.kind,
         case when d.unit in ('indicator', 'seconds', 'ratio', 'score') then d.unit
              else d.unit || '/' || g.grain end as unit,
         d.description, d.source, coalesce(o.targets::text[], '{}') as overlaps_with
  from defs d cross join lateral unnest(d.grains::text[]) as g(grain)
  left join overlap o on o.name = d.name
),
gone as (
  delete from analytics.feature_catalog c
  where not exists (select from rows r where r.name = c.name and r.grain = c.grain)
)
insert into analytics.feature_catalog (name, grain, kind, unit, description, source, overlaps_with)
select name, grain, kind, unit, description, source, overlaps_with from rows
on conflict (name, grain) do update
  set kind = excluded.kind, unit = excluded.unit, description = excluded.description, source = excluded.source,
      overlaps_with = excluded.overlaps_with;

-- ───────────────────────────── what a write touches ─────────────────────────────

/*
 * aoma_private.mark_dirty_hours() — statement trigger (after insert, update, delete with transition
 * tables old_rows / new_rows; after truncate) on the raw tables: records in aoma_private.dirty_hours
 * the UTC hours whose sums the statement may have changed. Arguments: the table's time columns (the
 * hours of old and new rows both count). Beyond them:
 *   incidents     the hours of the tickets an incident points at (jira_key / incident_key): the
 *                 leakage guard moves those tickets in or out of the ticket features
 *   repositories  the hours of a repository's commits when it becomes or stops being the service
 *   truncate      the next refresh rebuilds everything
 */
create or replace function aoma_private.mark_dirty_hours()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_rel text;
  v_col text;
begin
  if tg_op = 'TRUNCATE' then
    update aoma_private.feature_refresh_state set needs_full = true;
    return null;
  end if;
  foreach v_rel in array case tg_op when 'INSERT' then array['new_rows'] when 'DELETE' then array['old_rows']
                                    else array['old_rows', 'new_rows'] end loop
    foreach v_col in array coalesce(tg_argv, array[]::text[]) loop
      execute format('insert into aoma_private.dirty_hours (hour_utc)
                      select distinct date_trunc(''hour'', t.%1$I at time zone ''UTC'') from %2$I t
                      where t.%1$I is not null
                      on conflict do nothing', v_col, v_rel);
    end loop;
    if tg_table_name = 'incidents' then
      execute format('insert into aoma_private.dirty_hours (hour_utc)
                      select distinct date_trunc(''hour'', x.at at time zone ''UTC'')
                      from %I t
                      join aoma.jira_issues j on j.issue_key = t.jira_key or j.issue_key = t.incident_key
                      cross join lateral (values (j.created_at), (j.resolved_at)) as x(at)
                      where x.at is not null
                      on conflict do nothing', v_rel);
    elsif tg_table_name = 'repositories' then
      execute format('insert into aoma_private.dirty_hours (hour_utc)
                      select distinct date_trunc(''hour'', c.committed_at at time zone ''UTC'')
                      from %I t join aoma.git_commits c on c.repo = t.repo
                      where %s
                      on conflict do nothing',
                     v_rel,
                     case when tg_op = 'UPDATE'
                          then 't.repo in (select o.repo from old_rows o join new_rows n on n.repo = o.repo
                                            where o.is_service is distinct from n.is_service)'
                          else 't.is_service' end);
    end if;
  end loop;
  return null;
end;
$$;
revoke execute on function aoma_private.mark_dirty_hours() from public;

do $$
declare
  t record;
begin
  for t in select * from (values ('jira_issues', '''created_at'', ''resolved_at'''), ('git_commits', '''committed_at'''),
                                 ('repositories', ''), ('deployments', '''deployed_at'''),
                                 ('aoma_system_metrics', '''timestamp'''), ('processing_attempts', '''started_at'''),
                                 ('log_events', '''ts'''), ('incidents', '''started_at''')) as v(rel, cols) loop
    execute format('drop trigger if exists features_dirty_insert on aoma.%1$I;
                    drop trigger if exists features_dirty_update on aoma.%1$I;
                    drop trigger if exists features_dirty_delete on aoma.%1$I;
                    drop trigger if exists features_dirty_truncate on aoma.%1$I;
                    create trigger features_dirty_insert after insert on aoma.%1$I referencing new table as new_rows
                      for each statement execute function aoma_private.mark_dirty_hours(%2$s);
                    create trigger features_dirty_update after update on aoma.%1$I
                      referencing old table as old_rows new table as new_rows
                      for each statement execute function aoma_private.mark_dirty_hours(%2$s);
                    create trigger features_dirty_delete after delete on aoma.%1$I referencing old table as old_rows
                      for each statement execute function aoma_private.mark_dirty_hours(%2$s);
                    create trigger features_dirty_truncate after truncate on aoma.%1$I
                      for each statement execute function aoma_private.mark_dirty_hours(%2$s);',
                   t.rel, t.cols);
  end loop;
end;
$$;

-- ───────────────────────────── refresh ─────────────────────────────

/*
 * analytics.refresh_features(full) — brings the feature tables up to date with the raw tables and
 * returns each table with its row count. Run after an ingest (service_role) or by pg_cron; every
 * ingest and (debounced) webhook delivery calls it.
 *
 * Incremental (full => false): takes the hours recorded in aoma_private.dirty_hours, recomputes
 * their sums from the raw tables (one index range scan per run of consecutive hours per table), then
 * rewrites in the analyst-facing tables only the hours, days and weeks containing them and the
 * periods by which a table's range grew; periods outside the new range are deleted. The result is
 * exactly that of a full rebuild. With no dirty hour it changes nothing and leaves the data version.
 * Full (full => true, or whenever the state requires it: see the top of this file): rebuilds every
 * table from one scan of each raw table.
 * Every refresh that changes anything bumps the data version once. Concurrent refreshes queue on the
 * state row. JIT is off: the planner's row estimates for the outer joins are huge, which triggers
 * LLVM optimisation that costs more (about a second) than the whole scan it would speed up.
 *
 * Example: select * from analytics.refresh_features(full => true);
 */
create or replace function analytics.refresh_features(full boolean)
returns table (view_name text, row_count bigint)
language plpgsql
volatile
security definer
set search_path = ''
set jit = off
as $$
declare
  v_state aoma_private.feature_refresh_state;
  v_window interval;
  v_full boolean;
  v_dirty timestamp[];
  v_lo timestamptz[];
  v_hi timestamptz[];
  v_hfrom timestamp;
  v_hto timestamp;
  v_dfrom date;
  v_dto date;
  v_hours timestamp[];
  v_days date[];
  v_weeks date[];
begin
  insert into aoma_private.feature_refresh_state (singleton) values (true) on conflict do nothing;
  select * into strict v_state from aoma_private.feature_refresh_state for update;
  select s.hourly_window into v_window from analytics.settings s;
  v_window := coalesce(v_window, interval '2 years');
  with d as (delete from aoma_private.dirty_hours returning hour_utc)
  select array_agg(d.hour_utc order by d.hour_utc) into v_dirty from d;
  v_full := coalesce(refresh_features.full, false) or v_state.needs_full
            or v_state.hourly_window is distinct from v_window or coalesce(cardinality(v_dirty), 0) > 5000;

  if not v_full and v_dirty is null then
    -- nothing changed since the last refresh
    return query select * from aoma_private.feature_table_counts();
    return;
  end if;

  -- ── hourly sums ──
  if v_full then
    truncate aoma_private.features_hourly_raw;
    insert into aoma_private.features_hourly_raw select * from aoma_private.features_hourly_sums();
  else
    -- runs of consecutive dirty hours become ranges [lo, hi)
    select array_agg(r.lo order by r.lo), array_agg(r.hi order by r.lo) into v_lo, v_hi
    from (select min(g.h) at time zone 'UTC' as lo, (max(g.h) + interval '1 hour') at time zone 'UTC' as hi
          from (select u.h, u.h - interval '1 hour' * u.i as run from unnest(v_dirty) with ordinality as u(h, i)) g
          group by g.run) r;
    delete from aoma_private.features_hourly_raw r where r.hour_utc = any (v_dirty);
    insert into aoma_private.features_hourly_raw select * from aoma_private.features_hourly_sums(v_lo, v_hi);
  end if;

  -- ── the ranges: hours within the window, days and weeks over the full history ──
  select max(r.hour_utc), min(r.hour_utc)::date, max(r.hour_utc)::date into v_hto, v_dfrom, v_dto
  from aoma_private.features_hourly_raw r;
  select min(r.hour_utc) into v_hfrom from aoma_private.features_hourly_raw r where r.hour_utc >= v_hto - v_window;

  if v_full then
    truncate analytics.features_hourly, analytics.features_daily, analytics.features_weekly, analytics.segments_daily;
    v_state.hourly_from := null;
    v_state.daily_from := null;
  end if;
  -- periods to (re)write: the dirty ones in range, and every one the range did not hold before
  select array_agg(g.h order by g.h) into v_hours
  from generate_series(v_hfrom, v_hto, interval '1 hour') as g(h)
  where v_state.hourly_from is null or g.h < v_state.hourly_from or g.h > v_state.hourly_to
     or g.h in (select unnest(v_dirty));
  select array_agg(g.d::date order by g.d) into v_days
  from generate_series(v_dfrom, v_dto, interval '1 day') as g(d)
  where v_state.daily_from is null or g.d < v_state.daily_from or g.d > v_state.daily_to
     or g.d::date in (select distinct u.h::date from unnest(v_dirty) as u(h));
  -- weeks whose days changed, and the first and last week (a range that shrank shortens them)
  select array_agg(distinct w.wk order by w.wk) into v_weeks
  from (select date_trunc('week', x.d)::date as wk
        from (select unnest(v_days) union select u.h::date from unnest(v_dirty) as u(h)
              union select v_dfrom union select v_dto) as x(d)) w
  where w.wk between date_trunc('week', v_dfrom)::date and date_trunc('week', v_dto)::date;

  delete from analytics.features_hourly f
  where v_hto is null or f.hour < v_hfrom at time zone 'UTC' or f.hour > v_hto at time zone 'UTC'
     or f.hour in (select u.h at time zone 'UTC' from unnest(v_hours) as u(h));
  insert into analytics.features_hourly select * from aoma_private.features_hourly_rows(v_hours);
  delete from analytics.features_daily f
  where v_dto is null or f.day < v_dfrom or f.day > v_dto or f.day = any (v_days);
  insert into analytics.features_daily select * from aoma_private.features_daily_rows(v_days);
  delete from analytics.features_weekly f
  where v_dto is null or f.week < date_trunc('week', v_dfrom)::date or f.week > v_dto or f.week = any (v_weeks);
  insert into analytics.features_weekly select * from aoma_private.features_weekly_rows(v_weeks);
  -- segments: every day (full), or the days of the dirty hours (sparse rows: a day that lost its
  -- attempts loses its rows)
  if v_full then
    insert into analytics.segments_daily select * from aoma_private.segments_daily_rows(null);
  else
    delete from analytics.segments_daily s where s.day in (select u.h::date from unnest(v_dirty) as u(h));
    insert into analytics.segments_daily
    select * from aoma_private.segments_daily_rows(array(select distinct u.h::date from unnest(v_dirty) as u(h)));
  end if;

  update aoma_private.feature_refresh_state
     set needs_full = false, hourly_window = v_window, hourly_from = v_hfrom, hourly_to = v_hto,
         daily_from = v_dfrom, daily_to = v_dto, refreshed_at = clock_timestamp(),
         full_at = case when v_full then clock_timestamp() else full_at end;
  perform aoma_private.bump_data_version();
  return query select * from aoma_private.feature_table_counts();
end;
$$;
revoke execute on function analytics.refresh_features(boolean) from public;
grant execute on function analytics.refresh_features(boolean) to service_role;

/*
 * analytics.refresh_features() — the incremental refresh (= refresh_features(full => false)); the
 * name every ingest, pg_cron job and script calls.
 */
create or replace function analytics.refresh_features()
returns table (view_name text, row_count bigint)
language sql
volatile
security definer
set search_path = ''
as $$ select * from analytics.refresh_features(full => false) $$;
revoke execute on function analytics.refresh_features() from public;
grant execute on function analytics.refresh_features() to service_role;

-- Row counts of the three analyst-facing tables (what a refresh returns).
create or replace function aoma_private.feature_table_counts()
returns table (view_name text, row_count bigint)
language sql
stable
set search_path = ''
as $$
  select 'analytics.features_hourly'::text, (select count(*) from analytics.features_hourly)
  union all select 'analytics.features_daily', (select count(*) from analytics.features_daily)
  union all select 'analytics.features_weekly', (select count(*) from analytics.features_weekly)
$$;
revoke execute on function aoma_private.feature_table_counts() from public;

-- build the tables now (a re-applied module starts from a full rebuild, as its views were built with data)
select count(*) from analytics.refresh_features(full => true);
