-- AOMA Mesh Analytics: the tables behind the feature layer's leakage guard, analysis window and
-- incremental refresh (sql/10_features.sql holds the functions and the feature tables themselves,
-- which are derived data and rebuilt whenever that module is re-applied).
--
--   analytics.feature_catalog.overlaps_with  the targets whose records a feature may contain; such a
--                                       feature is never a default candidate for those targets
--   analytics.settings                  one row: hourly_window, the span of the hourly feature table
--   aoma_private.dirty_hours            UTC hours whose raw data changed since the last refresh
--                                       (written by statement triggers on the raw tables)
--   aoma_private.feature_refresh_state  one row: what the feature tables were last built with

-- ───────────────────────────── leakage marks ─────────────────────────────

alter table analytics.feature_catalog add column if not exists overlaps_with text[] not null default '{}';
comment on column analytics.feature_catalog.overlaps_with is
  'Targets (catalog names of the same grain) whose records this feature may contain — e.g. processing_attempts counts the failed attempts that processing_failures counts. The analyses never offer a feature as a default candidate driver of a target it overlaps (analytics.correlate, analytics.explain_drivers); explain_drivers refuses it when named.';

-- ───────────────────────────── settings ─────────────────────────────

create table if not exists analytics.settings (
  singleton      boolean primary key default true check (singleton),
  hourly_window  interval not null default interval '2 years'
                 check (hourly_window >= interval '1 day' and hourly_window <= interval '100 years'),
  changed_at     timestamptz not null default now()
);
comment on table analytics.settings is
  'Settings of the analytics layer (one row). service_role may change them; analytics.refresh_features() applies them.';
comment on column analytics.settings.hourly_window is
  'How much history the hourly feature table covers: hours from (last hour with data − hourly_window) on, starting at the first hour with data in that span. Default 2 years; daily and weekly tables always keep the full history. A change takes effect (as a full rebuild) at the next analytics.refresh_features().';
comment on column analytics.settings.changed_at is 'When the settings were last changed.';
insert into analytics.settings (singleton) values (true) on conflict do nothing;

grant select on analytics.settings to authenticated, service_role;
grant update (hourly_window, changed_at) on analytics.settings to service_role;
alter table analytics.settings enable row level security;
drop policy if exists settings_read on analytics.settings;
create policy settings_read on analytics.settings for select to authenticated, service_role using (true);
drop policy if exists settings_write on analytics.settings;
create policy settings_write on analytics.settings for update to service_role using (true) with check (true);

-- ───────────────────────────── refresh bookkeeping ─────────────────────────────

create table if not exists aoma_private.dirty_hours (
  hour_utc  timestamp primary key
);
comment on table aoma_private.dirty_hours is
  'UTC hours (timestamp without time zone, as features_hourly_raw.hour_utc) whose raw data changed since the last feature refresh. Written by the statement triggers of sql/10_features.sql, consumed by analytics.refresh_features().';

create table if not exists aoma_private.feature_refresh_state (
  singleton      boolean primary key default true check (singleton),
  needs_full     boolean not null default true,
  hourly_window  interval,
  hourly_from    timestamp,
  hourly_to      timestamp,
  daily_from     date,
  daily_to       date,
  refreshed_at   timestamptz,
  full_at        timestamptz
);
comment on table aoma_private.feature_refresh_state is
  'One row: the analysis window and period ranges the feature tables were last built with. needs_full = the next refresh rebuilds everything (no state yet, module re-applied, a raw table truncated).';
comment on column aoma_private.feature_refresh_state.needs_full is 'True when the next refresh must rebuild every feature table from the raw tables.';
comment on column aoma_private.feature_refresh_state.hourly_window is 'analytics.settings.hourly_window at the last build; a different setting forces a full rebuild.';
comment on column aoma_private.feature_refresh_state.hourly_from is 'First hour of analytics.features_hourly (UTC), null when empty.';
comment on column aoma_private.feature_refresh_state.hourly_to is 'Last hour of analytics.features_hourly (UTC), null when empty.';
comment on column aoma_private.feature_refresh_state.daily_from is 'First day of analytics.features_daily, null when empty.';
comment on column aoma_private.feature_refresh_state.daily_to is 'Last day of analytics.features_daily, null when empty.';
comment on column aoma_private.feature_refresh_state.refreshed_at is 'When the last refresh ended.';
comment on column aoma_private.feature_refresh_state.full_at is 'When the last full rebuild ended.';
insert into aoma_private.feature_refresh_state (singleton) values (true) on conflict do nothing;

-- the incremental refresh looks these up by time range and by ticket key
create index if not exists jira_issues_resolved_at_idx on aoma.jira_issues (resolved_at) where resolved_at is not null;
create index if not exists incidents_jira_key_idx on aoma.incidents (jira_key) where jira_key is not null;
