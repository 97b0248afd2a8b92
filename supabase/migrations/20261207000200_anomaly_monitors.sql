-- AOMA Mesh Analytics: anomaly monitors (issue 11, item 1). A monitor watches one catalog feature
-- (optionally one asset type / migration state of the processing features) at a grain; the monitor
-- job (analytics.run_anomaly_monitors, sql/81_anomaly_monitors.sql — pg_cron on a server, the
-- in-process schedule on PGlite) scores the periods that arrived since its last run with
-- analytics.anomaly_scores and stores the anomalous ones in analytics.anomalies, which analysts
-- query (and analytics.anomaly_monitor_events groups into events). Nothing here is ever overwritten:
-- a period is scored once per monitor.

create table if not exists analytics.anomaly_monitors (
  monitor_name     text primary key check (monitor_name ~ '^[a-z][a-z0-9_]{0,62}$'),
  feature          text not null,
  grain            text not null default 'day' check (grain in ('hour', 'day', 'week')),
  season           integer not null check (season >= 0 and season <= 1000),
  sensitivity      float8 not null default 0.5 check (sensitivity >= 0.001 and sensitivity <= 0.999),
  direction        text not null default 'both' check (direction in ('up', 'down', 'both')),
  asset_type       text check (asset_type is null or length(asset_type) between 1 and 100),
  migration_state  text check (migration_state is null or migration_state in ('legacy', 'migrating', 'migrated', 'unknown')),
  history          integer not null default 400 check (history between 30 and 10000),
  enabled          boolean not null default true,
  created_at       timestamptz not null default now(),
  created_by       text
);
comment on table analytics.anomaly_monitors is
  'Registered anomaly monitors: a catalog feature at a grain (optionally one asset type / migration state of processing_attempts, processing_failures or processing_failure_rate at day grain), scored by analytics.run_anomaly_monitors(). Add with analytics.create_anomaly_monitor() (service_role).';
comment on column analytics.anomaly_monitors.season is 'Season in periods for analytics.anomaly_scores (7 = weekday pattern of daily data, 24 = hour of day, 0 = none).';
comment on column analytics.anomaly_monitors.history is 'Periods of history read at each run (the baseline the detector needs; at least 30).';

create table if not exists analytics.anomalies (
  monitor_name  text not null references analytics.anomaly_monitors (monitor_name),
  period        timestamptz not null,
  value         float8,
  expected      float8,
  lower         float8,
  upper         float8,
  score         float8 not null check (score >= 0 and score <= 1),
  event_start   timestamptz,
  scored_at     timestamptz not null default now(),
  primary key (monitor_name, period)
);
comment on column analytics.anomalies.event_start is 'First period of the event (analytics.anomaly_scores'' grouping) this anomaly belongs to, as scored.';
comment on table analytics.anomalies is
  'Anomalous periods found by the monitors (analytics.run_anomaly_monitors): the value, the expected value and band at the monitor''s sensitivity, the score in [0, 1]. Written once per period, never overwritten.';

create table if not exists analytics.anomaly_monitor_runs (
  run_id          bigint generated always as identity primary key,
  monitor_name    text not null references analytics.anomaly_monitors (monitor_name),
  started_at      timestamptz not null default now(),
  scheduler       text not null check (scheduler in ('pg_cron', 'in-process', 'manual')),
  status          text not null check (status in ('succeeded', 'failed')),
  scored_from     timestamptz,
  scored_to       timestamptz,
  points_scored   integer not null default 0,
  anomalies_found integer not null default 0,
  error           text
);
comment on table analytics.anomaly_monitor_runs is
  'One row per monitor and run of analytics.run_anomaly_monitors(): the periods scored (scored_from..scored_to), anomalies stored, or the error.';
create index if not exists anomaly_monitor_runs_monitor on analytics.anomaly_monitor_runs (monitor_name, started_at desc);

grant select on analytics.anomaly_monitors, analytics.anomalies, analytics.anomaly_monitor_runs to authenticated, service_role;
grant insert on analytics.anomaly_monitors, analytics.anomalies, analytics.anomaly_monitor_runs to service_role;
grant update (enabled, sensitivity) on analytics.anomaly_monitors to service_role;
alter table analytics.anomaly_monitors enable row level security;
alter table analytics.anomalies enable row level security;
alter table analytics.anomaly_monitor_runs enable row level security;
drop policy if exists anomaly_monitors_read on analytics.anomaly_monitors;
create policy anomaly_monitors_read on analytics.anomaly_monitors for select to authenticated, service_role using (true);
drop policy if exists anomaly_monitors_write on analytics.anomaly_monitors;
create policy anomaly_monitors_write on analytics.anomaly_monitors for insert to service_role with check (true);
drop policy if exists anomaly_monitors_update on analytics.anomaly_monitors;
create policy anomaly_monitors_update on analytics.anomaly_monitors for update to service_role using (true) with check (true);
drop policy if exists anomalies_read on analytics.anomalies;
create policy anomalies_read on analytics.anomalies for select to authenticated, service_role using (true);
drop policy if exists anomalies_write on analytics.anomalies;
create policy anomalies_write on analytics.anomalies for insert to service_role with check (true);
drop policy if exists anomaly_monitor_runs_read on analytics.anomaly_monitor_runs;
create policy anomaly_monitor_runs_read on analytics.anomaly_monitor_runs for select to authenticated, service_role using (true);
drop policy if exists anomaly_monitor_runs_write on analytics.anomaly_monitor_runs;
create policy anomaly_monitor_runs_write on analytics.anomaly_monitor_runs for insert to service_role with check (true);

-- the answers that read them are cached by data version: a write must move it
drop trigger if exists data_version_bump on analytics.anomaly_monitors;
create trigger data_version_bump after insert or update or delete or truncate on analytics.anomaly_monitors
  for each statement execute function aoma_private.data_version_trigger();
drop trigger if exists data_version_bump on analytics.anomalies;
create trigger data_version_bump after insert or update or delete or truncate on analytics.anomalies
  for each statement execute function aoma_private.data_version_trigger();
