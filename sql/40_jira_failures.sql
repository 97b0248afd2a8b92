-- sql/40_jira_failures.sql — which Jira tickets are failures: aoma.jira_failure_rules applied to
-- aoma.jira_issues, kept in aoma.incidents (source 'jira'). Idempotent: create or replace only.
-- Depends on the tables of supabase/migrations (jira_issues, incidents, jira_failure_rules).

/*
 * aoma_private.jira_severity(priority) — the incident severity of a Jira priority, matching the
 * demo's convention (critical ↔ Highest, major ↔ High, minor ↔ Medium):
 *   critical  Highest, Blocker, Critical
 *   major     High, Major, and anything else (unknown names, null) — the incidents default
 *   minor     Medium, Low, Lowest, Minor, Trivial
 * Case-insensitive. Immutable.
 *
 * Example: select aoma_private.jira_severity('Blocker');  -- critical
 */
create or replace function aoma_private.jira_severity(priority text)
returns text
language sql
immutable
parallel safe
set search_path = ''
as $$
  select case
    when lower(priority) in ('highest', 'blocker', 'critical') then 'critical'
    when lower(priority) in ('medium', 'low', 'lowest', 'minor', 'trivial') then 'minor'
    else 'major'
  end
$$;
revoke execute on function aoma_private.jira_severity(text) from public;
grant execute on function aoma_private.jira_severity(text) to service_role;

/*
 * aoma_private.sync_jira_incidents() — makes aoma.incidents (source 'jira') agree with the tickets
 * and the failure rules. Run after every Jira ingest or webhook (service_role).
 *
 * A ticket is a failure when it matches at least one rule of aoma.jira_failure_rules; it matches a
 * rule when every non-empty list of the rule matches: issue_types contains its type, priorities its
 * priority, labels shares a label with it, components shares a component (names compared
 * case-insensitively; a rule with only empty lists matches every ticket).
 *
 * For each failure ticket it upserts the incident incident_key = jira_key = the issue key,
 * source 'jira', started_at = created_at, resolved_at = resolved_at (raised to created_at when Jira
 * resolved it slightly before its creation time), severity = jira_severity(priority), summary.
 * It deletes every source='jira' incident whose ticket no longer matches a rule or no longer exists.
 * Incidents of any other source ('demo', 'manual', a pager) are never written or deleted, and a
 * ticket already linked to such an incident (incidents.jira_key) is that incident's report, not a
 * second failure, so it is skipped — as is a ticket whose key is already the key of such an incident.
 *
 * Output: one row — inserted, updated, deleted (incidents), unchanged (failure tickets whose incident
 * already said the same, or that were skipped). A second call changes nothing and returns 0, 0, 0, n.
 *
 * Example:
 *   insert into aoma.jira_failure_rules (rule_id, priorities) values ('blockers', '{Blocker}');
 *   select * from aoma_private.sync_jira_incidents();   -- inserted = number of Blocker tickets
 */
create or replace function aoma_private.sync_jira_incidents()
returns table (inserted integer, updated integer, deleted integer, unchanged integer)
language sql
volatile
security definer
set search_path = ''
as $$
  with failures as (
    select j.issue_key as incident_key,
           j.created_at as started_at,
           case when j.resolved_at is null then null
                when j.resolved_at < j.created_at then j.created_at
                else j.resolved_at end as resolved_at,
           aoma_private.jira_severity(j.priority) as severity,
           j.summary
    from aoma.jira_issues j
    where exists (
            select 1
            from aoma.jira_failure_rules r
            where (cardinality(r.issue_types) = 0
                   or lower(j.issue_type) in (select lower(x) from unnest(r.issue_types) as x))
              and (cardinality(r.priorities) = 0
                   or lower(j.priority) in (select lower(x) from unnest(r.priorities) as x))
              and (cardinality(r.labels) = 0
                   or exists (select 1 from unnest(j.labels) as a, unnest(r.labels) as b where lower(a) = lower(b)))
              and (cardinality(r.components) = 0
                   or exists (select 1 from unnest(j.components) as a, unnest(r.components) as b
                              where lower(a) = lower(b))))
      and not exists (
            select 1 from aoma.incidents o
            where o.source <> 'jira' and (o.jira_key = j.issue_key or o.incident_key = j.issue_key))
  ),
  upserted as (
    insert into aoma.incidents as t (incident_key, started_at, resolved_at, severity, summary, source, jira_key)
    select f.incident_key, f.started_at, f.resolved_at, f.severity, f.summary, 'jira', f.incident_key
    from failures f
    on conflict (incident_key) do update
      set started_at = excluded.started_at, resolved_at = excluded.resolved_at, severity = excluded.severity,
          summary = excluded.summary, jira_key = excluded.jira_key
      where t.source = 'jira'
        and (t.started_at, t.resolved_at, t.severity, t.summary, t.jira_key) is distinct from
            (excluded.started_at, excluded.resolved_at, excluded.severity, excluded.summary, excluded.jira_key)
    returning (xmax = 0) as is_new
  ),
  removed as (
    delete from aoma.incidents t
    where t.source = 'jira'
      and not exists (select 1 from failures f where f.incident_key = t.incident_key)
    returning 1
  )
  select (select count(*) filter (where is_new) from upserted)::int,
         (select count(*) filter (where not is_new) from upserted)::int,
         (select count(*) from removed)::int,
         ((select count(*) from failures) - (select count(*) from upserted))::int
$$;
revoke execute on function aoma_private.sync_jira_incidents() from public;
grant execute on function aoma_private.sync_jira_incidents() to service_role;
