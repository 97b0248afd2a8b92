-- AOMA Mesh Analytics: raw source tables. Every table has a natural key so that every ingest is
-- an idempotent upsert. Times are timestamptz; days are cut in UTC by the feature views.

-- ───────────────────────────── tables ─────────────────────────────

create table if not exists aoma.repositories (
  repo            text primary key,
  is_service      boolean not null default false,
  default_branch  text not null default 'main',
  description     text
);
comment on table aoma.repositories is 'Git repositories that are ingested. Natural key: repo.';
comment on column aoma.repositories.repo is 'Repository name as ingested (e.g. "aoma-mesh").';
comment on column aoma.repositories.is_service is 'True when this repository is deployed as the AOMA processing service; its commits feed the service_commits feature.';
comment on column aoma.repositories.default_branch is 'Branch whose merges count as deployments where configured.';
comment on column aoma.repositories.description is 'Free text about the repository.';

create table if not exists aoma.jira_issues (
  issue_key    text primary key check (issue_key ~ '^[A-Z][A-Z0-9_]*-[0-9]+$'),
  project      text not null,
  issue_type   text not null,
  priority     text,
  status       text not null,
  components   text[] not null default '{}',
  labels       text[] not null default '{}',
  summary      text,
  created_at   timestamptz not null,
  resolved_at  timestamptz,
  updated_at   timestamptz,
  raw          jsonb,
  check (resolved_at is null or resolved_at >= created_at - interval '1 day')
);
comment on table aoma.jira_issues is 'Jira tickets. Natural key: issue_key.';
comment on column aoma.jira_issues.issue_key is 'Jira key such as "AOMA-1234".';
comment on column aoma.jira_issues.project is 'Jira project key.';
comment on column aoma.jira_issues.issue_type is 'Issue type as Jira names it (Bug, Story, Task, Incident, …).';
comment on column aoma.jira_issues.priority is 'Priority as Jira names it (Highest, High, Medium, Low, Lowest, Blocker, Critical, Major, Minor, Trivial).';
comment on column aoma.jira_issues.status is 'Workflow status at the time of the last ingest.';
comment on column aoma.jira_issues.components is 'Jira components.';
comment on column aoma.jira_issues.labels is 'Jira labels.';
comment on column aoma.jira_issues.summary is 'Ticket summary (untrusted free text).';
comment on column aoma.jira_issues.created_at is 'When the ticket was created.';
comment on column aoma.jira_issues.resolved_at is 'When the ticket was resolved; null while open.';
comment on column aoma.jira_issues.updated_at is 'Last update in Jira.';
comment on column aoma.jira_issues.raw is 'The source payload as received, for fields not mapped to columns.';
create index if not exists jira_issues_created_at_idx on aoma.jira_issues (created_at);

create table if not exists aoma.git_commits (
  repo           text not null,
  sha            text not null check (sha ~ '^[0-9a-f]{7,64}$'),
  author_name    text,
  author_email   text,
  authored_at    timestamptz not null,
  author_tz      text check (author_tz ~ '^[+-][0-9]{4}$'),
  committer_name text,
  committer_email text,
  committed_at   timestamptz not null,
  committer_tz   text check (committer_tz ~ '^[+-][0-9]{4}$'),
  files_changed  integer not null default 0 check (files_changed >= 0),
  insertions     integer not null default 0 check (insertions >= 0),
  deletions      integer not null default 0 check (deletions >= 0),
  is_merge       boolean not null default false,
  parents        text[] not null default '{}',
  message        text,
  primary key (repo, sha)
);
comment on table aoma.git_commits is 'Git commits. Natural key: (repo, sha).';
comment on column aoma.git_commits.repo is 'Repository the commit was read from.';
comment on column aoma.git_commits.sha is 'Commit hash (lower-case hex).';
comment on column aoma.git_commits.author_name is 'Author name.';
comment on column aoma.git_commits.author_email is 'Author e-mail.';
comment on column aoma.git_commits.authored_at is 'Author time (absolute instant).';
comment on column aoma.git_commits.author_tz is 'Author time zone offset as git records it, e.g. "+0200".';
comment on column aoma.git_commits.committer_name is 'Committer name.';
comment on column aoma.git_commits.committer_email is 'Committer e-mail.';
comment on column aoma.git_commits.committed_at is 'Commit time (absolute instant); features count commits by this time.';
comment on column aoma.git_commits.committer_tz is 'Committer time zone offset, e.g. "-0500".';
comment on column aoma.git_commits.files_changed is 'Files touched (numstat rows).';
comment on column aoma.git_commits.insertions is 'Lines added (binary files count 0).';
comment on column aoma.git_commits.deletions is 'Lines removed (binary files count 0).';
comment on column aoma.git_commits.is_merge is 'True for commits with more than one parent.';
comment on column aoma.git_commits.parents is 'Parent hashes.';
comment on column aoma.git_commits.message is 'Commit message (untrusted free text).';
create index if not exists git_commits_committed_at_idx on aoma.git_commits (committed_at);

create table if not exists aoma.deployments (
  deployment_id  text primary key,
  repo           text,
  environment    text not null default 'production',
  ref            text,
  sha            text,
  deployed_at    timestamptz not null,
  status         text not null default 'succeeded' check (status in ('succeeded', 'failed', 'rolled_back')),
  raw            jsonb
);
comment on table aoma.deployments is 'Deployments (from tags, merges to the main branch, or a deploy system). Natural key: deployment_id.';
comment on column aoma.deployments.deployment_id is 'Stable id, e.g. "<repo>:<tag>" or the deploy system''s id.';
comment on column aoma.deployments.repo is 'Repository deployed.';
comment on column aoma.deployments.environment is 'Target environment.';
comment on column aoma.deployments.ref is 'Tag or branch deployed.';
comment on column aoma.deployments.sha is 'Commit deployed.';
comment on column aoma.deployments.deployed_at is 'When the deployment happened.';
comment on column aoma.deployments.status is 'succeeded, failed or rolled_back.';
comment on column aoma.deployments.raw is 'Source payload.';
create index if not exists deployments_deployed_at_idx on aoma.deployments (deployed_at);

create table if not exists aoma.message_templates (
  template_id  text primary key check (template_id ~ '^[0-9a-f]{16}$'),
  template     text not null unique,
  first_seen   timestamptz,
  last_seen    timestamptz,
  occurrences  bigint not null default 0 check (occurrences >= 0)
);
comment on table aoma.message_templates is 'Mined message templates (log lines and processing errors with ids, numbers, paths, quoted values masked). Natural key: template_id = first 16 hex digits of md5(template), stable across runs.';
comment on column aoma.message_templates.template_id is 'left(md5(template), 16).';
comment on column aoma.message_templates.template is 'Template text with variable parts masked as <*>.';
comment on column aoma.message_templates.first_seen is 'Earliest event time with this template.';
comment on column aoma.message_templates.last_seen is 'Latest event time with this template.';
comment on column aoma.message_templates.occurrences is 'Events counted with this template.';

create table if not exists aoma.log_events (
  source       text not null,
  event_key    text not null,
  ts           timestamptz not null,
  level        text not null check (level in ('TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL')),
  service      text,
  host         text,
  template_id  text references aoma.message_templates (template_id),
  message      text,
  params       jsonb,
  primary key (source, event_key)
);
comment on table aoma.log_events is 'System log events with their mined template. Natural key: (source, event_key).';
comment on column aoma.log_events.source is 'Log source (file or stream name).';
comment on column aoma.log_events.event_key is 'Stable key of the line within its source (e.g. hash of time and line).';
comment on column aoma.log_events.ts is 'Event time.';
comment on column aoma.log_events.level is 'Normalised level: TRACE, DEBUG, INFO, WARN, ERROR, FATAL.';
comment on column aoma.log_events.service is 'Emitting service.';
comment on column aoma.log_events.host is 'Emitting host.';
comment on column aoma.log_events.template_id is 'Mined template of the message.';
comment on column aoma.log_events.message is 'Original message (untrusted free text).';
comment on column aoma.log_events.params is 'Values masked out of the message by the template.';
create index if not exists log_events_ts_idx on aoma.log_events (ts);

create table if not exists aoma.aoma_system_metrics (
  source             text not null default 'aoma',
  "timestamp"        timestamptz not null,
  asset_volume       integer check (asset_volume >= 0),
  processing_time    double precision check (processing_time >= 0),
  error_count        integer check (error_count >= 0),
  performance_score  double precision,
  primary key (source, "timestamp")
);
comment on table aoma.aoma_system_metrics is 'AOMA system metrics per interval (the seed table, with a source column added for the natural key (source, timestamp)).';
comment on column aoma.aoma_system_metrics.source is 'Metric source (system or exporter name).';
comment on column aoma.aoma_system_metrics."timestamp" is 'Start of the measured interval.';
comment on column aoma.aoma_system_metrics.asset_volume is 'Files uploaded in the interval.';
comment on column aoma.aoma_system_metrics.processing_time is 'Mean processing time in the interval, seconds.';
comment on column aoma.aoma_system_metrics.error_count is 'Errors counted in the interval.';
comment on column aoma.aoma_system_metrics.performance_score is 'Performance score of the interval (0..100).';
create index if not exists aoma_system_metrics_timestamp_idx on aoma.aoma_system_metrics ("timestamp");

create table if not exists aoma.processing_attempts (
  attempt_id         text primary key,
  asset_id           text not null,
  asset_type         text not null,
  uploaded_at        timestamptz,
  migration_state    text check (migration_state in ('legacy', 'migrating', 'migrated')),
  started_at         timestamptz not null,
  finished_at        timestamptz,
  status             text not null check (status in ('succeeded', 'failed')),
  error_template_id  text references aoma.message_templates (template_id),
  error_message      text,
  check (finished_at is null or finished_at >= started_at),
  check (status = 'failed' or error_message is null)
);
comment on table aoma.processing_attempts is 'Asset-processing attempts. Natural key: attempt_id.';
comment on column aoma.processing_attempts.attempt_id is 'Id of the attempt in the processing system.';
comment on column aoma.processing_attempts.asset_id is 'Asset processed.';
comment on column aoma.processing_attempts.asset_type is 'Asset type, e.g. 360RA, DDP, WAV, MP4.';
comment on column aoma.processing_attempts.uploaded_at is 'When the asset was uploaded.';
comment on column aoma.processing_attempts.migration_state is 'Cloud-migration state of the asset: legacy, migrating, migrated.';
comment on column aoma.processing_attempts.started_at is 'When processing started.';
comment on column aoma.processing_attempts.finished_at is 'When processing ended.';
comment on column aoma.processing_attempts.status is 'succeeded or failed.';
comment on column aoma.processing_attempts.error_template_id is 'Mined template of the error message of a failed attempt.';
comment on column aoma.processing_attempts.error_message is 'Error message of a failed attempt (untrusted free text).';
create index if not exists processing_attempts_started_at_idx on aoma.processing_attempts (started_at);

create table if not exists aoma.incidents (
  incident_key  text primary key,
  started_at    timestamptz not null,
  resolved_at   timestamptz,
  severity      text not null default 'major' check (severity in ('critical', 'major', 'minor')),
  service       text,
  summary       text,
  source        text not null default 'manual',
  jira_key      text,
  check (resolved_at is null or resolved_at >= started_at)
);
comment on table aoma.incidents is 'System failures / incidents: the usual target of the analyses. Natural key: incident_key.';
comment on column aoma.incidents.incident_key is 'Stable id of the incident (e.g. the Jira key or the paging system''s id).';
comment on column aoma.incidents.started_at is 'When the failure started; features count failures by this time.';
comment on column aoma.incidents.resolved_at is 'When it was resolved.';
comment on column aoma.incidents.severity is 'critical, major or minor.';
comment on column aoma.incidents.service is 'Affected service.';
comment on column aoma.incidents.summary is 'Short description (untrusted free text).';
comment on column aoma.incidents.source is 'Where the record came from (jira, pager, demo, manual).';
comment on column aoma.incidents.jira_key is 'Linked Jira ticket, when any.';
create index if not exists incidents_started_at_idx on aoma.incidents (started_at);

-- ───────────────────────────── grants ─────────────────────────────

grant select on all tables in schema aoma to authenticated;
grant select, insert, update, delete on all tables in schema aoma to service_role;

-- ───────────────────────────── policies ─────────────────────────────
-- Analysts read everything; only service_role (bypassrls) writes. anon has no grant at all.

alter table aoma.repositories enable row level security;
alter table aoma.jira_issues enable row level security;
alter table aoma.git_commits enable row level security;
alter table aoma.deployments enable row level security;
alter table aoma.message_templates enable row level security;
alter table aoma.log_events enable row level security;
alter table aoma.aoma_system_metrics enable row level security;
alter table aoma.processing_attempts enable row level security;
alter table aoma.incidents enable row level security;

drop policy if exists repositories_read on aoma.repositories;
create policy repositories_read on aoma.repositories for select to authenticated using (true);
drop policy if exists jira_issues_read on aoma.jira_issues;
create policy jira_issues_read on aoma.jira_issues for select to authenticated using (true);
drop policy if exists git_commits_read on aoma.git_commits;
create policy git_commits_read on aoma.git_commits for select to authenticated using (true);
drop policy if exists deployments_read on aoma.deployments;
create policy deployments_read on aoma.deployments for select to authenticated using (true);
drop policy if exists message_templates_read on aoma.message_templates;
create policy message_templates_read on aoma.message_templates for select to authenticated using (true);
drop policy if exists log_events_read on aoma.log_events;
create policy log_events_read on aoma.log_events for select to authenticated using (true);
drop policy if exists aoma_system_metrics_read on aoma.aoma_system_metrics;
create policy aoma_system_metrics_read on aoma.aoma_system_metrics for select to authenticated using (true);
drop policy if exists processing_attempts_read on aoma.processing_attempts;
create policy processing_attempts_read on aoma.processing_attempts for select to authenticated using (true);
drop policy if exists incidents_read on aoma.incidents;
create policy incidents_read on aoma.incidents for select to authenticated using (true);
