-- The leakage guard of the feature layer (sql/10_features.sql): a Jira ticket that the failure
-- rules turn into an incident — or that any incident points at, or that is itself a failure report
-- (type Incident) — counts in no ticket driver feature, whatever its type; a ticket whose rule is
-- removed counts again after the refresh. Features that may contain a target's own records
-- (analytics.feature_catalog.overlaps_with) are never candidate drivers of it: analytics.correlate
-- leaves them out of its default list, analytics.explain_drivers too, and refuses them when named.
-- Everything runs in a transaction that is rolled back.
begin;
select plan(21);

delete from aoma.incidents;
delete from aoma.jira_issues;
delete from aoma.jira_failure_rules;
delete from aoma.processing_attempts;

-- 2026-09-01: three Blocker bugs, two minor bugs, one Incident ticket (high priority)
insert into aoma.jira_issues (issue_key, project, issue_type, priority, status, created_at, resolved_at)
values ('LEAK-1', 'LEAK', 'Bug', 'Blocker', 'Resolved', '2026-09-01 09:10Z', '2026-09-02 09:00Z'),
       ('LEAK-2', 'LEAK', 'Bug', 'Blocker', 'Open', '2026-09-01 10:20Z', null),
       ('LEAK-3', 'LEAK', 'Story', 'Blocker', 'Open', '2026-09-01 11:30Z', null),
       ('LEAK-4', 'LEAK', 'Bug', 'Minor', 'Resolved', '2026-09-01 12:40Z', '2026-09-02 10:00Z'),
       ('LEAK-5', 'LEAK', 'Task', 'Minor', 'Open', '2026-09-01 13:50Z', null),
       ('LEAK-6', 'LEAK', 'Incident', 'Highest', 'Open', '2026-09-01 14:00Z', null);

-- the ticket features of 2026-09-01
create temporary view leak_day as
select tickets_created, tickets_bug, tickets_story, tickets_task, tickets_priority_high, tickets_resolved,
       tickets_incident, failure_count
from analytics.features_daily where day = '2026-09-01';

-- ── no rule: only the failure report is kept out ──
select lives_ok($$select * from analytics.refresh_features()$$, 'the features refresh');
select results_eq($$select * from leak_day$$,
  $$values (5, 3, 1, 1, 3, 0, 1, 0)$$,
  'without a rule, every ticket but the Incident report counts (5 created, 3 bugs, 3 high-priority)');

-- ── rule "Blocker tickets are failures" ──
insert into aoma.jira_failure_rules (rule_id, priorities, description) values ('blockers', '{Blocker}', 'Blockers are failures');
select results_eq($$select inserted from aoma_private.sync_jira_incidents()$$, $$values (3)$$,
  'the rule turns the three Blocker tickets into incidents');
select lives_ok($$select * from analytics.refresh_features()$$, 'the features refresh (incrementally) after the sync');
select results_eq($$select * from leak_day$$,
  $$values (2, 1, 0, 1, 0, 0, 1, 3)$$,
  'with the rule, no ticket driver feature counts the Blocker tickets, whatever their type; they are the 3 failures');
select results_eq($$select tickets_resolved from analytics.features_daily where day = '2026-09-02'$$,
  $$values (1)$$, 'the resolved Blocker ticket leaves tickets_resolved too');
select is((select sum(tickets_priority_high)::int from analytics.features_hourly), 0,
  'the hourly table holds no high-priority ticket either');
select is((select sum(tickets_priority_high)::int from analytics.features_weekly), 0,
  'nor the weekly table');

-- ── an incident of another source pointing at a ticket: that ticket is a failure too ──
insert into aoma.incidents (incident_key, started_at, source, jira_key) values ('PD-7', '2026-09-01 13:55Z', 'pager', 'LEAK-5');
select lives_ok($$select * from analytics.refresh_features()$$, 'the features refresh after the pager incident');
select results_eq($$select tickets_created, tickets_task, failure_count from analytics.features_daily where day = '2026-09-01'$$,
  $$values (1, 0, 4)$$, 'a ticket linked to an incident of any source leaves the driver features');

-- ── the rule removed: the Blocker tickets count again after the refresh ──
delete from aoma.jira_failure_rules where rule_id = 'blockers';
select results_eq($$select deleted from aoma_private.sync_jira_incidents()$$, $$values (3)$$,
  'without the rule the sync removes the three incidents');
select lives_ok($$select * from analytics.refresh_features()$$, 'the features refresh after the rule is removed');
select results_eq($$select tickets_created, tickets_bug, tickets_story, tickets_priority_high, failure_count
                    from analytics.features_daily where day = '2026-09-01'$$,
  $$values (4, 3, 1, 3, 1)$$, 'the Blocker tickets count again (the pager-linked ticket stays out)');
select is((select count(*)::int from analytics.features_daily d
           full join aoma_private.features_daily_rows(array(select g::date from generate_series(date '2026-08-01', date '2026-12-31', interval '1 day') g)) f
             on f.day = d.day
           where d.day is not null and d::text is distinct from f::text),
  0, 'every day of the incrementally kept table equals what a rebuild of that day gives');

-- ── the catalog says so ──
select ok((select bool_and(description like '%ticket an incident points at%') from analytics.feature_catalog
           where name in ('tickets_created', 'tickets_bug', 'tickets_story', 'tickets_task', 'tickets_priority_high', 'tickets_resolved')),
  'every ticket driver feature''s description names the guard');
select is((select overlaps_with from analytics.feature_catalog where name = 'processing_attempts' and grain = 'day'),
  array['processing_failures', 'processing_failure_rate'],
  'processing_attempts is marked: it holds the failed attempts of processing_failures and processing_failure_rate');

-- ── overlap marks respected by correlate and explain_drivers ──
-- 40 days of processing attempts, failures on an irregular pattern
insert into aoma.processing_attempts (attempt_id, asset_id, asset_type, started_at, finished_at, status, error_message)
select 'LEAK-A' || g, 'a', 'WAV', timestamptz '2026-08-01 00:00Z' + g * interval '37 minutes',
       timestamptz '2026-08-01 00:00Z' + g * interval '37 minutes' + interval '1 minute',
       case when (g * 7919) % 13 < 2 + (g / 150) % 3 then 'failed' else 'succeeded' end,
       case when (g * 7919) % 13 < 2 + (g / 150) % 3 then 'boom' end
from generate_series(1, 1560) g;
select lives_ok($$select * from analytics.refresh_features()$$, 'the features refresh after the attempts');
select is((select count(*)::int from analytics.correlate('processing_failure_rate') where feature = 'processing_attempts'), 0,
  'correlate does not offer processing_attempts as a driver of processing_failure_rate');
select ok((select count(*) from analytics.correlate('failure_count') where feature = 'processing_attempts') > 0,
  'but does for failure_count, a target it does not overlap');
select is((select count(*)::int from analytics.explain_drivers('processing_failure_rate') where feature = 'processing_attempts'), 0,
  'explain_drivers does not offer it as a candidate of processing_failure_rate');
select throws_ok($$select * from analytics.explain_drivers('processing_failure_rate', array['processing_attempts', 'asset_volume'])$$,
  '22023',
  '"processing_attempts" may count the records of the target processing_failure_rate itself (analytics.feature_catalog.overlaps_with), so it is not a candidate driver of it; name another driver or calendar feature',
  'explain_drivers refuses it when named, with a sentence');

select * from finish();
rollback;
