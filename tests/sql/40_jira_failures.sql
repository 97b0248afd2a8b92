-- Contract of aoma_private.sync_jira_incidents (sql/40_jira_failures.sql): Jira tickets matching
-- aoma.jira_failure_rules become incidents (source 'jira'), stop being incidents when no rule matches,
-- and incidents from other sources are never touched.
begin;
select plan(12);

select has_function('aoma_private', 'sync_jira_incidents', array[]::text[], 'sync_jira_incidents() exists');
select is_definer('aoma_private', 'sync_jira_incidents', array[]::text[], 'it runs as its owner (security definer)');
select function_privs_are('aoma_private', 'sync_jira_incidents', array[]::text[], 'anon', array[]::text[],
  'anon cannot run the sync');
select function_privs_are('aoma_private', 'sync_jira_incidents', array[]::text[], 'authenticated', array[]::text[],
  'analysts cannot run the sync');
select function_privs_are('aoma_private', 'sync_jira_incidents', array[]::text[], 'service_role', array['EXECUTE'],
  'service_role runs the sync');

delete from aoma.incidents;
delete from aoma.jira_issues;
delete from aoma.jira_failure_rules;
insert into aoma.jira_issues (issue_key, project, issue_type, priority, status, components, created_at, resolved_at)
values ('PGTAP-1', 'PGTAP', 'Bug', 'Blocker', 'Resolved', '{Processing}', '2026-09-01 10:00Z', '2026-09-01 12:00Z'),
       ('PGTAP-2', 'PGTAP', 'Bug', 'Minor', 'Open', '{UI}', '2026-09-02 10:00Z', null),
       ('PGTAP-3', 'PGTAP', 'Incident', 'High', 'Open', '{}', '2026-09-03 10:00Z', null);
insert into aoma.incidents (incident_key, started_at, source, jira_key)
values ('DEMO-1', '2026-09-03 10:05Z', 'demo', 'PGTAP-3');

insert into aoma.jira_failure_rules (rule_id, priorities, components) values ('blockers', '{blocker}', '{Processing}');
select results_eq($$select inserted, updated, deleted from aoma_private.sync_jira_incidents()$$,
  $$values (1, 0, 0)$$, 'a rule (priority and component, case-insensitive) makes the matching ticket a failure');
select results_eq(
  $$select incident_key, source, jira_key, severity, started_at, resolved_at from aoma.incidents where source = 'jira'$$,
  $$values ('PGTAP-1'::text, 'jira'::text, 'PGTAP-1'::text, 'critical'::text, '2026-09-01 10:00Z'::timestamptz, '2026-09-01 12:00Z'::timestamptz)$$,
  'the incident carries the ticket''s key, times and a severity from its priority');
select results_eq($$select inserted, updated, deleted from aoma_private.sync_jira_incidents()$$,
  $$values (0, 0, 0)$$, 'a second sync changes nothing');

insert into aoma.jira_failure_rules (rule_id, issue_types) values ('incidents', '{Incident}');
select results_eq($$select inserted, deleted from aoma_private.sync_jira_incidents()$$,
  $$values (0, 0)$$, 'a ticket already linked to an incident from another source is not counted twice');

delete from aoma.jira_failure_rules where rule_id = 'blockers';
select results_eq($$select inserted, deleted from aoma_private.sync_jira_incidents()$$,
  $$values (0, 1)$$, 'without the rule the ticket stops being a failure');
select is((select count(*)::int from aoma.incidents where source = 'jira'), 0, 'no jira incident is left');
select is((select count(*)::int from aoma.incidents where incident_key = 'DEMO-1' and source = 'demo'), 1,
  'the demo incident is untouched');

select * from finish();
rollback;
