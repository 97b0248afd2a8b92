-- AOMA Mesh Analytics: ingest bookkeeping — runs and their reports, incremental state per source,
-- webhook deliveries (de-duplication), and the rules that say which Jira tickets are failures.

-- ───────────────────────────── tables ─────────────────────────────

create table if not exists aoma.ingest_runs (
  run_id       uuid primary key default gen_random_uuid(),
  source       text not null check (source in ('git', 'jira', 'logs', 'metrics', 'attempts', 'webhook')),
  started_at   timestamptz not null default now(),
  finished_at  timestamptz,
  status       text not null default 'running' check (status in ('running', 'succeeded', 'failed')),
  summary      jsonb not null default '{}'::jsonb
);
comment on table aoma.ingest_runs is 'One row per ingest run with its final report (read, inserted, updated, unchanged, rejected with reasons).';
comment on column aoma.ingest_runs.run_id is 'Run id.';
comment on column aoma.ingest_runs.source is 'git, jira, logs, metrics, attempts or webhook.';
comment on column aoma.ingest_runs.started_at is 'When the run started.';
comment on column aoma.ingest_runs.finished_at is 'When it ended; null while running or after a crash.';
comment on column aoma.ingest_runs.status is 'running, succeeded or failed.';
comment on column aoma.ingest_runs.summary is 'The run''s report: counts per table and the first rejected records with line numbers and reasons.';

create table if not exists aoma.ingest_state (
  source      text not null,
  scope       text not null,
  state       jsonb not null,
  updated_at  timestamptz not null default now(),
  primary key (source, scope)
);
comment on table aoma.ingest_state is 'Incremental-ingest cursors, e.g. the last commit read per repository and ref, the last Jira update time. Natural key: (source, scope).';
comment on column aoma.ingest_state.source is 'Ingest source (git, jira, logs, …).';
comment on column aoma.ingest_state.scope is 'What the cursor belongs to (repository, JQL, file).';
comment on column aoma.ingest_state.state is 'The cursor itself.';
comment on column aoma.ingest_state.updated_at is 'When it last moved; it moves only in the transaction that wrote the data it covers.';

create table if not exists aoma.webhook_deliveries (
  provider     text not null check (provider in ('github', 'jira')),
  delivery_id  text not null check (length(delivery_id) between 1 and 200),
  event        text,
  received_at  timestamptz not null default now(),
  primary key (provider, delivery_id)
);
comment on table aoma.webhook_deliveries is 'Webhook deliveries already processed, so that a redelivery changes nothing. Natural key: (provider, delivery_id).';
comment on column aoma.webhook_deliveries.provider is 'github or jira.';
comment on column aoma.webhook_deliveries.delivery_id is 'X-GitHub-Delivery or X-Atlassian-Webhook-Identifier.';
comment on column aoma.webhook_deliveries.event is 'Event name (push, jira:issue_updated, …).';
comment on column aoma.webhook_deliveries.received_at is 'When it was processed.';

create table if not exists aoma.jira_failure_rules (
  rule_id      text primary key check (rule_id ~ '^[a-z0-9_-]{1,63}$'),
  issue_types  text[] not null default '{}',
  priorities   text[] not null default '{}',
  labels       text[] not null default '{}',
  components   text[] not null default '{}',
  description  text
);
comment on table aoma.jira_failure_rules is 'Which Jira tickets count as failures: a ticket matches a rule when every non-empty list matches (type in issue_types, priority in priorities, any label in labels, any component in components); a ticket matching any rule is a failure. Natural key: rule_id.';
comment on column aoma.jira_failure_rules.rule_id is 'Rule name.';
comment on column aoma.jira_failure_rules.issue_types is 'Issue types that match (empty = any).';
comment on column aoma.jira_failure_rules.priorities is 'Priorities that match (empty = any).';
comment on column aoma.jira_failure_rules.labels is 'Labels of which at least one must be present (empty = any).';
comment on column aoma.jira_failure_rules.components is 'Components of which at least one must be present (empty = any).';
comment on column aoma.jira_failure_rules.description is 'Why this rule exists.';

insert into aoma.jira_failure_rules (rule_id, issue_types, description)
values ('incidents', '{Incident}', 'Tickets of type Incident are failure reports.')
on conflict (rule_id) do nothing;

-- ───────────────────────────── grants ─────────────────────────────

grant select on aoma.ingest_runs, aoma.ingest_state, aoma.webhook_deliveries, aoma.jira_failure_rules to authenticated;
grant select, insert, update, delete on aoma.ingest_runs, aoma.ingest_state, aoma.webhook_deliveries,
  aoma.jira_failure_rules to service_role;

-- ───────────────────────────── policies ─────────────────────────────

alter table aoma.ingest_runs enable row level security;
alter table aoma.ingest_state enable row level security;
alter table aoma.webhook_deliveries enable row level security;
alter table aoma.jira_failure_rules enable row level security;

drop policy if exists ingest_runs_read on aoma.ingest_runs;
create policy ingest_runs_read on aoma.ingest_runs for select to authenticated using (true);
drop policy if exists ingest_state_read on aoma.ingest_state;
create policy ingest_state_read on aoma.ingest_state for select to authenticated using (true);
drop policy if exists webhook_deliveries_read on aoma.webhook_deliveries;
create policy webhook_deliveries_read on aoma.webhook_deliveries for select to authenticated using (true);
drop policy if exists jira_failure_rules_read on aoma.jira_failure_rules;
create policy jira_failure_rules_read on aoma.jira_failure_rules for select to authenticated using (true);
