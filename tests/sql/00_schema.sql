-- Contract of the schema (supabase/migrations): schemas, tables, natural keys, privileges per
-- Supabase role, row level security. Tables added by later migrations are covered by the catch-all
-- checks at the end (no anon access anywhere, RLS on every exposed table).
-- Run by pg_prove against the local cluster (scripts/test.sh); pgTAP lives in schema `extensions`.
begin;
select plan(79);

-- ───────────────────────────── schemas ─────────────────────────────
select has_schema('aoma');
select has_schema('analytics');
select has_schema('aoma_private');

-- ───────────────────────────── tables ─────────────────────────────
select has_table('aoma', 'repositories', 'aoma.repositories exists');
select has_table('aoma', 'jira_issues', 'aoma.jira_issues exists');
select has_table('aoma', 'git_commits', 'aoma.git_commits exists');
select has_table('aoma', 'deployments', 'aoma.deployments exists');
select has_table('aoma', 'message_templates', 'aoma.message_templates exists');
select has_table('aoma', 'log_events', 'aoma.log_events exists');
select has_table('aoma', 'aoma_system_metrics', 'aoma.aoma_system_metrics exists');
select has_table('aoma', 'processing_attempts', 'aoma.processing_attempts exists');
select has_table('aoma', 'incidents', 'aoma.incidents exists');
select has_table('aoma', 'predictive_models', 'aoma.predictive_models exists');
select has_table('aoma', 'failure_predictions', 'aoma.failure_predictions exists');
select has_table('analytics', 'feature_catalog', 'analytics.feature_catalog exists');
select has_table('aoma_private', 'library_modules', 'aoma_private.library_modules exists');

-- ───────────────────────────── natural keys ─────────────────────────────
select col_is_pk('aoma', 'repositories', array['repo'], 'repositories keyed by repo');
select col_is_pk('aoma', 'jira_issues', array['issue_key'], 'jira_issues keyed by issue_key');
select col_is_pk('aoma', 'git_commits', array['repo', 'sha'], 'git_commits keyed by (repo, sha)');
select col_is_pk('aoma', 'deployments', array['deployment_id'], 'deployments keyed by deployment_id');
select col_is_pk('aoma', 'message_templates', array['template_id'], 'message_templates keyed by template_id');
select col_is_pk('aoma', 'log_events', array['source', 'event_key'], 'log_events keyed by (source, event_key)');
select col_is_pk('aoma', 'aoma_system_metrics', array['source', 'timestamp'], 'aoma_system_metrics keyed by (source, timestamp)');
select col_is_pk('aoma', 'processing_attempts', array['attempt_id'], 'processing_attempts keyed by attempt_id');
select col_is_pk('aoma', 'incidents', array['incident_key'], 'incidents keyed by incident_key');
select col_is_pk('aoma', 'predictive_models', array['model_id'], 'predictive_models keyed by model_id');
select col_is_pk('aoma', 'failure_predictions', array['prediction_id'], 'failure_predictions keyed by prediction_id');
select col_is_unique('aoma', 'failure_predictions', array['model_id', 'predicted_date'],
  'failure_predictions natural key (model_id, predicted_date) is unique');
select col_is_pk('analytics', 'feature_catalog', array['name', 'grain'], 'feature_catalog keyed by (name, grain)');
select col_is_pk('aoma_private', 'library_modules', array['module'], 'library_modules keyed by module');

-- ───────────────────────────── table privileges ─────────────────────────────
-- anon: nothing at all
select table_privs_are('aoma', t, 'anon', array[]::text[], format('anon has no privilege on aoma.%s', t))
from unnest(array['repositories', 'jira_issues', 'git_commits', 'deployments', 'message_templates',
  'log_events', 'aoma_system_metrics', 'processing_attempts', 'incidents', 'predictive_models',
  'failure_predictions']) as t;
select table_privs_are('analytics', 'feature_catalog', 'anon', array[]::text[],
  'anon has no privilege on analytics.feature_catalog');

-- authenticated (analysts): read only
select table_privs_are('aoma', t, 'authenticated', array['SELECT'], format('authenticated may only select aoma.%s', t))
from unnest(array['repositories', 'jira_issues', 'git_commits', 'deployments', 'message_templates',
  'log_events', 'aoma_system_metrics', 'processing_attempts', 'incidents', 'predictive_models',
  'failure_predictions']) as t;
select table_privs_are('analytics', 'feature_catalog', 'authenticated', array['SELECT'],
  'authenticated may only select analytics.feature_catalog');

-- service_role (ingest): reads and writes raw data, never truncates or alters
select table_privs_are('aoma', t, 'service_role', array['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  format('service_role may select, insert, update, delete aoma.%s', t))
from unnest(array['repositories', 'jira_issues', 'git_commits', 'deployments', 'message_templates',
  'log_events', 'aoma_system_metrics', 'processing_attempts', 'incidents', 'predictive_models',
  'failure_predictions']) as t;
select table_privs_are('analytics', 'feature_catalog', 'service_role', array['SELECT'],
  'service_role may only select analytics.feature_catalog');

-- ───────────────────────────── catch-all ─────────────────────────────
select is_empty($$
  select c.oid::regclass::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where n.nspname in ('aoma', 'analytics') and c.relkind in ('r', 'p') and not c.relrowsecurity
$$, 'row level security is enabled on every table in aoma and analytics');

select is_empty($$
  select c.oid::regclass::text || ' to ' || r.role from pg_class c join pg_namespace n on n.oid = c.relnamespace
  cross join (values ('anon'), ('authenticated'), ('service_role')) as r(role)
  where n.nspname = 'aoma_private' and c.relkind in ('r', 'p', 'v', 'm')
    and has_table_privilege(r.role, c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
$$, 'no API role has a privilege on a table or view in aoma_private');

select is_empty($$
  select c.oid::regclass::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where n.nspname in ('aoma', 'analytics', 'aoma_private') and c.relkind in ('r', 'p', 'v', 'm', 'f')
    and has_table_privilege('anon', c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
$$, 'anon has no privilege on any table or view in our schemas');

select is_empty($$
  select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
  where n.nspname in ('aoma', 'analytics', 'aoma_private') and has_function_privilege('anon', p.oid, 'EXECUTE')
$$, 'anon may execute no function in our schemas');

-- ───────────────────────────── schema privileges ─────────────────────────────
select schema_privs_are('aoma', 'anon', array[]::text[], 'anon has no privilege on schema aoma');
select schema_privs_are('analytics', 'anon', array[]::text[], 'anon has no privilege on schema analytics');
select schema_privs_are('aoma_private', 'anon', array[]::text[], 'anon has no privilege on schema aoma_private');
select schema_privs_are('aoma', 'authenticated', array['USAGE'], 'authenticated may use schema aoma');
select schema_privs_are('analytics', 'authenticated', array['USAGE'], 'authenticated may use schema analytics');
select schema_privs_are('aoma_private', 'authenticated', array['USAGE'], 'authenticated may use schema aoma_private');
select schema_privs_are('aoma', 'service_role', array['USAGE'], 'service_role may use schema aoma');
select schema_privs_are('analytics', 'service_role', array['USAGE'], 'service_role may use schema analytics');
select schema_privs_are('aoma_private', 'service_role', array['USAGE'], 'service_role may use schema aoma_private');

select * from finish();
rollback;
