-- AOMA Mesh Analytics: schemas and their privileges.
--   aoma          raw data from the sources (Jira, git, logs, metrics, processing) and the model registry
--   analytics     the public surface for analysts and the MCP tools: feature views, catalog, analysis functions
--   aoma_private  internals (statistical helpers, refresh machinery); nobody but the owner calls them directly
-- Roles (anon, authenticated, service_role) exist on Supabase; scripts/roles.sql creates them elsewhere.

create schema if not exists aoma;
create schema if not exists analytics;
create schema if not exists aoma_private;

comment on schema aoma is 'Raw AOMA data as ingested from Jira, git, system logs, asset metrics and processing events; upserted on natural keys.';
comment on schema analytics is 'Analyst-facing surface: feature views, the feature catalog and the analysis functions the MCP tools call.';
comment on schema aoma_private is 'Internal helpers of the analytics library (statistics, refresh). Not part of the public API.';

revoke all on schema aoma, analytics, aoma_private from public;
grant usage on schema aoma to authenticated, service_role;
grant usage on schema analytics to authenticated, service_role;
-- analysis functions (security invoker) call the private helpers, so callers need usage, not table rights
grant usage on schema aoma_private to authenticated, service_role;

-- Functions are executable by PUBLIC by default, and per-schema default privileges cannot take that
-- away; every function therefore revokes PUBLIC itself, and sql/99_privileges.sql re-checks all of them.
