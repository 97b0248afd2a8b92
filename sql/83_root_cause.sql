-- AOMA Mesh Analytics — root-cause analysis of a rise in failures (analytics.root_cause_*).
--
-- "What's causing the recent uptick in 360RA processing failures?" The answer compares a window
-- (default: the last 14 days with data) with a baseline before it (default: the 60 days before the
-- window) and says which cohort of the failing units explains the difference:
--
--   * units: processing attempts (target processing_failures: an attempt failed or not; binomial)
--     or incidents (target incidents: a count per day; Poisson, the exposure is the number of days)
--     or error log lines (target log_errors: aoma.log_events at level ERROR or FATAL, a count per
--     day like incidents);
--   * dimensions of a unit: for attempts asset_type, migration_state, upload_cohort (the upload day
--     against analytics.known_dates — "uploaded before the cloud migration (2026-03-01)" — or, with no
--     known dates, the asset's age at processing) and recent_deploy (a production deployment in the
--     48 hours before the attempt started) and recent_commits (the commits to the service repositories
--     in the 24 hours before the unit's UTC hour began, above or at most the baseline's median hour:
--     "more than 15 service commits in the prior 24 h"). Both event dimensions look only backwards,
--     so they cannot contain the failure they explain. For incidents service, severity and
--     component (the first component of the incident's Jira ticket); for error log lines service,
--     host and template (the mined template of the line; the 30 most frequent hosts and templates of
--     the two periods by name, the others as "other hosts" / "other templates"). A count per day has
--     no event dimensions: its exposure is time, and "incidents after a deploy" against the rest
--     would mostly measure how many hours followed a deploy in each period (the deployments before
--     a cause's change day are shown beside it instead, analytics.changes_before);
--   * segments: every combination of 1..max_depth dimension values (depth 1: "asset_type = 360RA";
--     depth 2: "360RA and legacy"), counted in the window and in the baseline from one pass over the
--     units (leaves: the units grouped by all chosen dimensions and period; segments: the leaves
--     rolled up over each subset of the dimensions);
--   * per segment: the failure rate in the window and in the baseline (Wilson 95% intervals; for a
--     count per day, Byar's), its change ratio now ÷ baseline, the risk ratio in the window against
--     the rest of the window (Katz log intervals), the share of the window's units (support) and of its
--     failures, and the excess failures: window failures − the failures its own baseline rate
--     predicts for its window units, as a share of the whole excess (window failures − window units ×
--     the baseline rate; a 95% interval by the delta method, the total's uncertainty left out);
--   * the test: did the segment change more than the rest? Within each UTC day the segment is
--     compared with the rest of that day (Mantel–Haenszel risk ratio over the days of a period,
--     Greenland–Robins variance: aoma_private.rca_within_day), and the rise is that ratio in the
--     window ÷ in the baseline (95% interval; Wald test on the log scale). Stratifying by day keeps
--     what moves every unit of a day — Mondays, a day after high volume — from passing for a cohort
--     that happened to be busier on such days. A segment with fewer than 5 failures in window and
--     baseline together, or fewer than 10 units in either, is not tested. Benjamini–Hochberg q over
--     every tested segment of every depth;
--   * the causes: the most significant segment among those that rose more than the rest with
--     q < 0.05 (the shallowest first), then drill down: among its children (one more dimension value)
--     that rose significantly and hold at least half its excess, the one whose split "segment / rest"
--     fits the four rates (segment and rest × window and baseline) best replaces it, when it improves
--     the log-likelihood by more than ln(children tried) + 2 ("360RA" → "360RA, legacy"; a child that
--     only holds most of the units, "360RA, legacy, a deploy in the prior 48 h", fits worse). The next
--     cause is chosen the same way among the segments that do not overlap a chosen one, with their
--     q-values recomputed among them alone (BH over that smaller family: the many true discoveries
--     inside a strong first cause would otherwise let a chance finding through); at most 3 causes,
--     each explaining at least 5% of the excess when there is an excess.
--
-- analytics.root_cause_headline gives the rate now against the baseline; analytics.root_cause_templates
-- the error templates of a segment's failures; analytics.root_cause_change when the segment changed
-- and the deployments before it. All run as the caller, read only.

drop type if exists aoma_private.rca_cell cascade;
-- A leaf or a segment: its dimension values (aligned with the target's dimensions, null = any) and
-- its units and failures in the window and in the baseline.
create type aoma_private.rca_cell as (vals text[], n_w float8, f_w float8, n_b float8, f_b float8);

drop type if exists aoma_private.rca_day_cell cascade;
-- A leaf or a segment on one UTC day: its dimension values, its depth (dimension values it fixes
-- beyond the scope), the day, whether the day is in the window, its units and failures.
create type aoma_private.rca_day_cell as (vals text[], depth integer, day date, in_window boolean, n float8, f float8);

-- The dimensions of a target, in the order of rca_cell.vals; null for an unknown target.
create or replace function aoma_private.rca_dimensions(target text)
returns text[]
language sql immutable parallel safe
set search_path = ''
as $$
  select case target
    when 'processing_failures' then array['asset_type', 'migration_state', 'upload_cohort', 'recent_deploy', 'recent_commits']
    when 'incidents' then array['service', 'severity', 'component']
    when 'log_errors' then array['service', 'host', 'template']
  end
$$;
revoke execute on function aoma_private.rca_dimensions(text) from public;
grant execute on function aoma_private.rca_dimensions(text) to authenticated, service_role;

-- true when segment a lies inside segment b: a has b's value wherever b has one.
create or replace function aoma_private.rca_within(a text[], b text[])
returns boolean
language sql immutable strict parallel safe
set search_path = ''
as $$
  select not exists (select from generate_series(1, cardinality(b)) i where b[i] is not null and a[i] is distinct from b[i])
$$;
revoke execute on function aoma_private.rca_within(text[], text[]) from public;
grant execute on function aoma_private.rca_within(text[], text[]) to authenticated, service_role;

-- true when segments a and b (values aligned, null = any) share a unit: they agree wherever both are set.
create or replace function aoma_private.rca_overlaps(a text[], b text[])
returns boolean
language sql immutable strict parallel safe
set search_path = ''
as $$
  select not exists (select from generate_series(1, cardinality(a)) i where a[i] is not null and b[i] is not null and a[i] <> b[i])
$$;
revoke execute on function aoma_private.rca_overlaps(text[], text[]) from public;
grant execute on function aoma_private.rca_overlaps(text[], text[]) to authenticated, service_role;

/*
 * aoma_private.rca_scope(target, scope) — a scope object {"dimension": "value", …} as values
 * aligned with the target's dimensions (null = any); null or {} gives all nulls. Raises 22023 for
 * anything but an object of text values naming the target's dimensions.
 */
create or replace function aoma_private.rca_scope(target text, scope jsonb)
returns text[]
language plpgsql immutable
set search_path = ''
as $$
declare
  v_all text[] := aoma_private.rca_dimensions(target);
  v_key text;
begin
  if scope is null or scope = '{}'::jsonb then
    return array_fill(null::text, array[cardinality(v_all)]);
  end if;
  if jsonb_typeof(scope) <> 'object' then
    raise exception 'scope must be an object of dimension: value, e.g. {"asset_type": "360RA"}; dimensions of %: %', target, array_to_string(v_all, ', ')
      using errcode = '22023';
  end if;
  select k into v_key from jsonb_object_keys(scope) k where not k = any(v_all) limit 1;
  if found then
    raise exception 'scope names "%", which is not a dimension of %; use %', left(v_key, 60), target, array_to_string(v_all, ', ') using errcode = '22023';
  end if;
  select e.key into v_key from jsonb_each(scope) e where jsonb_typeof(e.value) <> 'string' limit 1;
  if found then
    raise exception 'scope value of "%" must be text, e.g. {"asset_type": "360RA"}', v_key using errcode = '22023';
  end if;
  return array(select scope ->> d from unnest(v_all) with ordinality u(d, o) order by o);
end
$$;
revoke execute on function aoma_private.rca_scope(text, jsonb) from public;
grant execute on function aoma_private.rca_scope(text, jsonb) to authenticated, service_role;

-- The units of a target in words: 'processing attempts', 'incidents', 'error log lines'.
create or replace function aoma_private.rca_unit_words(target text)
returns text
language sql immutable parallel safe
set search_path = ''
as $$
  select case target when 'incidents' then 'incidents' when 'log_errors' then 'error log lines' else 'processing attempts' end
$$;
revoke execute on function aoma_private.rca_unit_words(text) from public;
grant execute on function aoma_private.rca_unit_words(text) to authenticated, service_role;

/*
 * aoma_private.rca_periods — the window and the baseline of an analysis, with the defaults filled in
 * and checked. Days are UTC days, both ends included. Defaults: the window is the last 14 days up to
 * the last day with units of the target; the baseline the 60 days before the window. Raises 22023
 * with a sentence for an unknown target, a window that ends before it starts or spans one day, a
 * baseline that overlaps the window, a span longer than 3 years, and a window or baseline with no
 * units.
 */
create or replace function aoma_private.rca_periods(
  target text, window_from date, window_to date, baseline_from date, baseline_to date,
  out w_from date, out w_to date, out b_from date, out b_to date, out family text, out unit text)
language plpgsql stable
set search_path = ''
as $$
declare
  v_last date;
  v_n bigint;
  v_what text;
begin
  if aoma_private.rca_dimensions(target) is null then
    raise exception 'target "%" is not a failure measure root-cause analysis knows; use processing_failures (failed processing attempts), incidents or log_errors (ERROR and FATAL log lines)',
      target using errcode = '22023';
  end if;
  family := case when target = 'processing_failures' then 'binomial' else 'poisson' end;
  unit := case when target = 'processing_failures' then 'attempts' else 'days' end;
  v_what := aoma_private.rca_unit_words(target);
  if window_to is null then
    if target = 'incidents' then
      select (max(i.started_at) at time zone 'UTC')::date into v_last from aoma.incidents i;
    elsif target = 'log_errors' then
      select (max(l.ts) at time zone 'UTC')::date into v_last from aoma.log_events l where l.level in ('ERROR', 'FATAL');
    else
      select (max(p.started_at) at time zone 'UTC')::date into v_last from aoma.processing_attempts p;
    end if;
    if v_last is null then
      raise exception 'there are no % to analyse yet; ingest data or load the demo first', v_what using errcode = '22023';
    end if;
    w_to := v_last;
  else
    w_to := window_to;
  end if;
  w_from := coalesce(window_from, w_to - 13);
  if w_from > w_to then
    raise exception 'window_from (%) is after window_to (%); give the window''s first day, then its last', w_from, w_to using errcode = '22023';
  end if;
  if w_from = w_to then
    raise exception 'the window % is a single day; give a window of at least 2 days to compare with the baseline (default: the last 14 days)',
      w_from using errcode = '22023';
  end if;
  b_to := coalesce(baseline_to, w_from - 1);
  b_from := coalesce(baseline_from, b_to - 59);
  if b_from > b_to then
    raise exception 'baseline_from (%) is after baseline_to (%); give the baseline''s first day, then its last', b_from, b_to using errcode = '22023';
  end if;
  if b_from <= w_to and b_to >= w_from then
    raise exception 'the baseline % to % overlaps the window % to %; choose a baseline that ends before the window starts or begins after it ends (default: the 60 days before the window)',
      b_from, b_to, w_from, w_to using errcode = '22023';
  end if;
  if greatest(w_to, b_to) - least(w_from, b_from) > 1100 then
    raise exception 'the window and the baseline span % days together; at most 3 years (1,100 days) are analysed at once',
      greatest(w_to, b_to) - least(w_from, b_from) + 1 using errcode = '22023';
  end if;
  -- both periods need units; for a count per day a day without one is data, so the pair needs one
  if target = 'incidents' then
    select count(*) into v_n from aoma.incidents i
    where i.started_at >= (least(w_from, b_from)::timestamp at time zone 'UTC')
      and i.started_at < ((greatest(w_to, b_to) + 1)::timestamp at time zone 'UTC');
  elsif target = 'log_errors' then
    select count(*) into v_n from aoma.log_events l
    where l.ts >= (least(w_from, b_from)::timestamp at time zone 'UTC')
      and l.ts < ((greatest(w_to, b_to) + 1)::timestamp at time zone 'UTC') and l.level in ('ERROR', 'FATAL');
  end if;
  if family = 'poisson' then
    if v_n = 0 then
      raise exception 'there are no % in the window % to % nor in the baseline % to %; choose periods with data',
        v_what, w_from, w_to, b_from, b_to using errcode = '22023';
    end if;
    return;
  end if;
  select count(*) into v_n from aoma.processing_attempts p
  where p.started_at >= (w_from::timestamp at time zone 'UTC') and p.started_at < ((w_to + 1)::timestamp at time zone 'UTC');
  if v_n = 0 then
    raise exception 'there are no processing attempts in the window % to %; choose a window with data', w_from, w_to using errcode = '22023';
  end if;
  select count(*) into v_n from aoma.processing_attempts p
  where p.started_at >= (b_from::timestamp at time zone 'UTC') and p.started_at < ((b_to + 1)::timestamp at time zone 'UTC');
  if v_n = 0 then
    raise exception 'there are no processing attempts in the baseline % to %; choose a baseline with data (default: the 60 days before the window)',
      b_from, b_to using errcode = '22023';
  end if;
end
$$;
revoke execute on function aoma_private.rca_periods(text, date, date, date, date) from public;
grant execute on function aoma_private.rca_periods(text, date, date, date, date) to authenticated, service_role;

/*
 * aoma_private.upload_cohort(uploaded_at, started_at) — the upload-date cohort of a processing
 * attempt: against the known dates (analytics.known_dates, labels of one day joined with " / "),
 * "uploaded before <label> (<day>)", "uploaded between <label> (<day>) and <label> (<day>)" or
 * "uploaded on or after <label> (<day>)"; with no known dates, the asset's age when processing
 * started: "uploaded within a day before processing", "uploaded 1-30 days before processing",
 * "uploaded more than 30 days before processing". No upload time: "upload date unknown".
 */
create or replace function aoma_private.upload_cohort(uploaded_at timestamptz, started_at timestamptz, days date[], labels text[])
returns text
language sql immutable parallel safe
set search_path = ''
as $$
  select case
    when uploaded_at is null then 'upload date unknown'
    when coalesce(cardinality(days), 0) = 0 then
      case when started_at - uploaded_at <= interval '1 day' then 'uploaded within a day before processing'
           when started_at - uploaded_at <= interval '30 days' then 'uploaded 1-30 days before processing'
           else 'uploaded more than 30 days before processing' end
    else (
      select case
        when k = 0 then format('uploaded before %s (%s)', labels[1], days[1])
        when k = cardinality(days) then format('uploaded on or after %s (%s)', labels[k], days[k])
        else format('uploaded between %s (%s) and %s (%s)', labels[k], days[k], labels[k + 1], days[k + 1])
      end
      from (select count(*)::int as k from unnest(days) d where d <= (uploaded_at at time zone 'UTC')::date) c
    )
  end
$$;
revoke execute on function aoma_private.upload_cohort(timestamptz, timestamptz, date[], text[]) from public;
grant execute on function aoma_private.upload_cohort(timestamptz, timestamptz, date[], text[]) to authenticated, service_role;

/*
 * aoma_private.service_commit_hours(lo, hi) — for every UTC hour that begins in [lo, hi): the commits
 * to the service repositories (aoma.repositories.is_service) in the 24 hours before the hour began.
 * The recent_commits dimension of root-cause analysis: a lagged event count, so a unit's value never
 * depends on what happened after it started.
 */
create or replace function aoma_private.service_commit_hours(lo timestamptz, hi timestamptz)
returns table (hour timestamptz, commits bigint)
language sql stable
set search_path = ''
as $$
  with c as (
    select date_trunc('hour', g.committed_at at time zone 'UTC') as hr, count(*) as n
    from aoma.git_commits g join aoma.repositories r on r.repo = g.repo and r.is_service
    where g.committed_at >= lo - interval '25 hours' and g.committed_at < hi
    group by 1
  ),
  hrs as (
    select h as hr
    from generate_series(date_trunc('hour', lo at time zone 'UTC') - interval '24 hours', hi at time zone 'UTC', interval '1 hour') h
  ),
  rolled as (
    select hrs.hr, coalesce(sum(c.n) over (order by hrs.hr rows between 24 preceding and 1 preceding), 0)::bigint as s
    from hrs left join c on c.hr = hrs.hr
  )
  select rolled.hr at time zone 'UTC', rolled.s
  from rolled
  where rolled.hr >= date_trunc('hour', lo at time zone 'UTC') and rolled.hr < hi at time zone 'UTC'
$$;
revoke execute on function aoma_private.service_commit_hours(timestamptz, timestamptz) from public;
grant execute on function aoma_private.service_commit_hours(timestamptz, timestamptz) to authenticated, service_role;

/*
 * aoma_private.recent_commits_label(commits, cut) — the recent_commits value of a unit with `commits`
 * service commits in the prior 24 h, against the baseline's median hour `cut` (a whole number).
 */
create or replace function aoma_private.recent_commits_label(commits bigint, cut bigint)
returns text
language sql immutable parallel safe
set search_path = ''
as $$
  select case when coalesce(commits, 0) > cut then format('more than %s service commits in the prior 24 h', cut)
              else format('at most %s service commits in the prior 24 h', cut) end
$$;
revoke execute on function aoma_private.recent_commits_label(bigint, bigint) from public;
grant execute on function aoma_private.recent_commits_label(bigint, bigint) to authenticated, service_role;

/*
 * aoma_private.rca_units(target, dims, periods, seg) — one row per unit (processing attempt,
 * incident or error log line) in the window or the baseline: its values of the target's dimensions
 * (null where the dimension is neither in `dims` nor set in `seg`), whether it lies in the window,
 * whether it failed (incidents and error lines always), its error template and message (a failed
 * attempt, a log line) and its time. seg (values aligned with
 * the target's dimensions, null = any; null = no restriction) keeps only the units inside it. The
 * one place the dimensions are computed.
 */
create or replace function aoma_private.rca_units(
  target text, dims text[], w_from date, w_to date, b_from date, b_to date, seg text[] default null)
returns table (vals text[], in_window boolean, failed boolean, template_id text, message text, at timestamptz)
language plpgsql stable
set search_path = ''
as $$
declare
  w_lo timestamptz := w_from::timestamp at time zone 'UTC';
  w_hi timestamptz := (w_to + 1)::timestamp at time zone 'UTC';
  b_lo timestamptz := b_from::timestamp at time zone 'UTC';
  b_hi timestamptz := (b_to + 1)::timestamp at time zone 'UTC';
  v_days date[];
  v_labels text[];
  v_all text[] := aoma_private.rca_dimensions(target);
  v_commits boolean;
  v_cut bigint;
begin
  if seg is not null and cardinality(seg) <> cardinality(v_all) then
    raise exception 'a segment gives one value (or null for any) for each of %''s dimensions: %', target, array_to_string(v_all, ', ')
      using errcode = '22023';
  end if;
  if seg is not null then
    dims := dims || array(select v_all[i] from generate_series(1, cardinality(v_all)) i where seg[i] is not null);
  end if;
  select array_agg(k.day order by k.day), array_agg(k.label order by k.day) into v_days, v_labels
  from (select d.day, string_agg(d.label, ' / ' order by d.label) as label from analytics.known_dates d group by d.day) k;
  -- recent_commits: cut at the median hour of the baseline (a whole number of commits)
  v_commits := 'recent_commits' = any(dims);
  if v_commits then
    select floor(coalesce(percentile_cont(0.5) within group (order by h.commits), 0))::bigint into v_cut
    from aoma_private.service_commit_hours(b_lo, b_hi) h;
  end if;
  if target = 'log_errors' then
    return query
    with hours as (select * from aoma_private.service_commit_hours(least(w_lo, b_lo), greatest(w_hi, b_hi)) where v_commits),
    lines as (
      select l.* from aoma.log_events l
      where l.level in ('ERROR', 'FATAL') and ((l.ts >= w_lo and l.ts < w_hi) or (l.ts >= b_lo and l.ts < b_hi))
    ),
    -- at most 30 named values of the many-valued dimensions: the most frequent of the two periods
    top_hosts as (select x.host from lines x where x.host is not null group by x.host order by count(*) desc, x.host limit 30),
    top_templates as (select x.template_id from lines x where x.template_id is not null group by x.template_id order by count(*) desc, x.template_id limit 30)
    select x.* from (
    select array[
             case when 'service' = any(dims) then coalesce(l.service, 'unknown') end,
             case when 'host' = any(dims) then case when l.host is null then 'unknown host'
                                                    when l.host in (select t.host from top_hosts t) then l.host else 'other hosts' end end,
             case when 'template' = any(dims) then case when l.template_id is null then 'no template'
                                                        when l.template_id in (select t.template_id from top_templates t)
                                                          then coalesce(left(mt.template, 200), l.template_id) else 'other templates' end end,
             case when 'recent_deploy' = any(dims) then aoma_private.recent_deploy(l.ts) end,
             case when v_commits then aoma_private.recent_commits_label(h.commits, v_cut) end
           ],
           l.ts >= w_lo and l.ts < w_hi, true, l.template_id, l.message, l.ts
    from lines l
    left join aoma.message_templates mt on mt.template_id = l.template_id
    left join hours h on h.hour = date_trunc('hour', l.ts at time zone 'UTC') at time zone 'UTC'
    ) x(vals, in_window, failed, template_id, message, at)
    where seg is null or aoma_private.rca_within(x.vals, seg);
  elsif target = 'incidents' then
    return query
    with hours as (select * from aoma_private.service_commit_hours(least(w_lo, b_lo), greatest(w_hi, b_hi)) where v_commits)
    select x.* from (
    select array[
             case when 'service' = any(dims) then coalesce(i.service, 'unknown') end,
             case when 'severity' = any(dims) then i.severity end,
             case when 'component' = any(dims) then coalesce(
               (select c from aoma.jira_issues j, unnest(j.components) c where j.issue_key = i.jira_key order by c limit 1),
               'no ticket component') end,
             case when 'recent_deploy' = any(dims) then aoma_private.recent_deploy(i.started_at) end,
             case when v_commits then aoma_private.recent_commits_label(h.commits, v_cut) end
           ],
           i.started_at >= w_lo, true, null::text, i.summary, i.started_at
    from aoma.incidents i
    left join hours h on h.hour = date_trunc('hour', i.started_at at time zone 'UTC') at time zone 'UTC'
    where (i.started_at >= w_lo and i.started_at < w_hi) or (i.started_at >= b_lo and i.started_at < b_hi)
    ) x(vals, in_window, failed, template_id, message, at)
    where seg is null or aoma_private.rca_within(x.vals, seg);
  else
    return query
    with hours as (select * from aoma_private.service_commit_hours(least(w_lo, b_lo), greatest(w_hi, b_hi)) where v_commits)
    select x.* from (
    select array[
             case when 'asset_type' = any(dims) then p.asset_type end,
             case when 'migration_state' = any(dims) then coalesce(p.migration_state, 'unknown') end,
             case when 'upload_cohort' = any(dims) then aoma_private.upload_cohort(p.uploaded_at, p.started_at, v_days, v_labels) end,
             case when 'recent_deploy' = any(dims) then aoma_private.recent_deploy(p.started_at) end,
             case when v_commits then aoma_private.recent_commits_label(h.commits, v_cut) end
           ],
           p.started_at >= w_lo and p.started_at < w_hi, p.status = 'failed', p.error_template_id, p.error_message, p.started_at
    from aoma.processing_attempts p
    left join hours h on h.hour = date_trunc('hour', p.started_at at time zone 'UTC') at time zone 'UTC'
    where (p.started_at >= w_lo and p.started_at < w_hi) or (p.started_at >= b_lo and p.started_at < b_hi)
    ) x(vals, in_window, failed, template_id, message, at)
    where seg is null or aoma_private.rca_within(x.vals, seg);
  end if;
end
$$;
revoke execute on function aoma_private.rca_units(text, text[], date, date, date, date, text[]) from public;
grant execute on function aoma_private.rca_units(text, text[], date, date, date, date, text[]) to authenticated, service_role;

-- 'a deploy in the prior 48 h' when a production deployment happened in the 48 hours before `at`.
create or replace function aoma_private.recent_deploy(at timestamptz)
returns text
language sql stable parallel safe
set search_path = ''
as $$
  select case when exists (
    select from aoma.deployments d
    where d.deployed_at > at - interval '48 hours' and d.deployed_at <= at and d.environment = 'production'
  ) then 'a deploy in the prior 48 h' else 'no deploy in the prior 48 h' end
$$;
revoke execute on function aoma_private.recent_deploy(timestamptz) from public;
grant execute on function aoma_private.recent_deploy(timestamptz) to authenticated, service_role;

/*
 * aoma_private.rca_stats — the numbers of one segment (see the top of this file) from its counts
 * and the totals. family binomial: n = attempts; poisson: n = days (the same for every segment).
 * z = 1.959963984540054. Zero cells get Haldane's +0.5 in the log ratios. Never NaN: a ratio that
 * cannot be formed is null.
 */
create or replace function aoma_private.rca_stats(
  family text, n_w float8, f_w float8, n_b float8, f_b float8, tn_w float8, tf_w float8, tn_b float8, tf_b float8,
  out rate_w float8, out rate_w_lo float8, out rate_w_hi float8,
  out rate_b float8, out rate_b_lo float8, out rate_b_hi float8,
  out change float8, out change_lo float8, out change_hi float8, out rest_change float8,
  out risk_ratio float8, out risk_ratio_lo float8, out risk_ratio_hi float8,
  out support float8, out support_lo float8, out support_hi float8,
  out failure_share float8, out failure_share_lo float8, out failure_share_hi float8,
  out excess float8, out excess_share float8, out excess_share_lo float8, out excess_share_hi float8,
  out z float8, out p_value float8, out tested boolean)
language plpgsql immutable parallel safe
set search_path = ''
as $$
declare
  zc constant float8 := 1.959963984540054;
  bin boolean := family = 'binomial';
  -- the rest of the population: for a count per day the exposure is shared
  rn_w float8 := case when bin then tn_w - n_w else n_w end;
  rn_b float8 := case when bin then tn_b - n_b else n_b end;
  rf_w float8 := tf_w - f_w;
  rf_b float8 := tf_b - f_b;
  v float8; v_rest float8; se float8; base float8; var_e float8; total_excess float8;
begin
  -- rates with intervals
  if n_w > 0 then
    select r.est, r.lo, r.hi into rate_w, rate_w_lo, rate_w_hi from aoma_private.rate_interval(family, f_w, n_w) r;
  end if;
  if n_b > 0 then
    select r.est, r.lo, r.hi into rate_b, rate_b_lo, rate_b_hi from aoma_private.rate_interval(family, f_b, n_b) r;
  end if;
  -- change now ÷ baseline, and the same for the rest (log scale, Haldane on a zero cell)
  if n_w > 0 and n_b > 0 then
    select l.est, l.var into change, v from aoma_private.log_rate_ratio(family, f_w, n_w, f_b, n_b) l;
    change_lo := exp(change - zc * sqrt(v)); change_hi := exp(change + zc * sqrt(v)); change := exp(change);
  end if;
  if rn_w > 0 and rn_b > 0 and (rf_w > 0 or rf_b > 0) then
    select l.est, l.var into rest_change, v_rest from aoma_private.log_rate_ratio(family, rf_w, rn_w, rf_b, rn_b) l;
  end if;
  -- in the window, against the rest of the window
  if bin and n_w > 0 and rn_w > 0 and (f_w > 0 or rf_w > 0) then
    select l.est, l.var into risk_ratio, se from aoma_private.log_rate_ratio(family, f_w, n_w, rf_w, rn_w) l;
    risk_ratio_lo := exp(risk_ratio - zc * sqrt(se)); risk_ratio_hi := exp(risk_ratio + zc * sqrt(se));
    risk_ratio := exp(risk_ratio);
  elsif not bin and (f_w > 0 or rf_w > 0) then
    -- count per day: the segment's count against the rest's over the same days
    select l.est, l.var into risk_ratio, se from aoma_private.log_rate_ratio(family, f_w, 1, rf_w, 1) l;
    risk_ratio_lo := exp(risk_ratio - zc * sqrt(se)); risk_ratio_hi := exp(risk_ratio + zc * sqrt(se));
    risk_ratio := exp(risk_ratio);
  end if;
  -- shares of the window's units and failures (Wilson)
  if bin and tn_w > 0 then
    select r.est, r.lo, r.hi into support, support_lo, support_hi from aoma_private.rate_interval('binomial', n_w, tn_w) r;
  end if;
  if tf_w > 0 then
    select r.est, r.lo, r.hi into failure_share, failure_share_lo, failure_share_hi from aoma_private.rate_interval('binomial', f_w, tf_w) r;
  end if;
  -- excess over the segment's own baseline rate (the whole baseline's rate when it had no units)
  if tn_b > 0 then
    base := case when n_b > 0 then f_b / n_b else tf_b / tn_b end;
    excess := f_w - n_w * base;
    var_e := case
      when bin then n_w * coalesce(f_w / nullif(n_w, 0), 0) * (1 - coalesce(f_w / nullif(n_w, 0), 0))
                    + case when n_b > 0 then n_w * n_w * base * (1 - base) / n_b else 0 end
      else f_w + case when n_b > 0 then f_b * (n_w / n_b) * (n_w / n_b) else 0 end
    end;
    total_excess := tf_w - tn_w * (tf_b / tn_b);
    if total_excess > 0 then
      excess_share := excess / total_excess;
      excess_share_lo := (excess - zc * sqrt(var_e)) / total_excess;
      excess_share_hi := (excess + zc * sqrt(var_e)) / total_excess;
    end if;
  end if;
  -- did it change more than the rest? Wald test of log(change / rest change)
  tested := (f_w + f_b) >= 5 and (not bin or (n_w >= 10 and n_b >= 10)) and change is not null and rest_change is not null;
  if tested then
    z := (ln(change) - rest_change) / sqrt(v + v_rest);
    p_value := aoma_private.normal_sf2(abs(z));
  end if;
  if rest_change is not null then rest_change := exp(rest_change); end if;
end
$$;
revoke execute on function aoma_private.rca_stats(text, float8, float8, float8, float8, float8, float8, float8, float8) from public;
grant execute on function aoma_private.rca_stats(text, float8, float8, float8, float8, float8, float8, float8, float8) to authenticated, service_role;

/*
 * aoma_private.rate_interval(family, f, n) — a rate with its 95% interval: binomial f/n with the
 * Wilson score interval; poisson f/n (n days) with Byar's approximation to the exact interval
 * (Breslow & Day 1987). n must be > 0.
 */
create or replace function aoma_private.rate_interval(family text, f float8, n float8, out est float8, out lo float8, out hi float8)
language sql immutable strict parallel safe
set search_path = ''
as $$
  select f / n,
         case when family = 'binomial'
           then greatest(0, (f / n + 1.959963984540054 ^ 2 / (2 * n)
                 - 1.959963984540054 * sqrt(greatest(0, (f / n) * (1 - f / n)) / n + 1.959963984540054 ^ 2 / (4 * n * n)))
                 / (1 + 1.959963984540054 ^ 2 / n))
           else case when f = 0 then 0
                     else f * (1 - 1 / (9 * f) - 1.959963984540054 / (3 * sqrt(f))) ^ 3 / n end
         end,
         case when family = 'binomial'
           then least(1, (f / n + 1.959963984540054 ^ 2 / (2 * n)
                 + 1.959963984540054 * sqrt(greatest(0, (f / n) * (1 - f / n)) / n + 1.959963984540054 ^ 2 / (4 * n * n)))
                 / (1 + 1.959963984540054 ^ 2 / n))
           else (f + 1) * (1 - 1 / (9 * (f + 1)) + 1.959963984540054 / (3 * sqrt(f + 1))) ^ 3 / n
         end
$$;
revoke execute on function aoma_private.rate_interval(text, float8, float8) from public;
grant execute on function aoma_private.rate_interval(text, float8, float8) to authenticated, service_role;

/*
 * aoma_private.log_rate_ratio(family, f1, n1, f2, n2) — log((f1/n1)/(f2/n2)) and its Katz variance
 * (binomial 1/f1 − 1/n1 + 1/f2 − 1/n2; poisson 1/f1 + 1/f2), with Haldane's +0.5 on every count
 * (and +1 on the binomial n) when either count is 0.
 */
create or replace function aoma_private.log_rate_ratio(family text, f1 float8, n1 float8, f2 float8, n2 float8, out est float8, out var float8)
language sql immutable strict parallel safe
set search_path = ''
as $$
  select ln(a / m1) - ln(c / m2),
         case when family = 'binomial' then 1 / a - 1 / m1 + 1 / c - 1 / m2 else 1 / a + 1 / c end
  from (select case when z then f1 + 0.5 else f1 end as a, case when z then f2 + 0.5 else f2 end as c,
               case when z and family = 'binomial' then n1 + 1 else n1 end as m1,
               case when z and family = 'binomial' then n2 + 1 else n2 end as m2
        from (select f1 = 0 or f2 = 0 or (family = 'binomial' and (f1 = n1 or f2 = n2)) as z) h) s
$$;
revoke execute on function aoma_private.log_rate_ratio(text, float8, float8, float8, float8) from public;
grant execute on function aoma_private.log_rate_ratio(text, float8, float8, float8, float8) to authenticated, service_role;

-- log-likelihood of f failures in n at their own MLE rate (binomial; poisson: n days), 0·ln 0 = 0.
create or replace function aoma_private.rca_loglik(family text, f float8, n float8)
returns float8
language sql immutable strict parallel safe
set search_path = ''
as $$
  select case
    when n <= 0 then 0
    when family = 'binomial' then
      (case when f > 0 then f * ln(f / n) else 0 end) + (case when n - f > 0 then (n - f) * ln((n - f) / n) else 0 end)
    else (case when f > 0 then f * ln(f / n) - f else 0 end)
  end
$$;
revoke execute on function aoma_private.rca_loglik(text, float8, float8) from public;
grant execute on function aoma_private.rca_loglik(text, float8, float8) to authenticated, service_role;

/*
 * aoma_private.rca_check_scope — refuses a scope with no units to analyse: no attempts (or
 * incidents, error log lines) of the scope in the window or in the baseline (the periods of
 * aoma_private.rca_periods).
 */
drop function if exists aoma_private.rca_check_scope(text, date, date, date, date, float8, float8, float8, jsonb);
create or replace function aoma_private.rca_check_scope(
  target text, w_from date, w_to date, b_from date, b_to date, n_w float8, n_b float8, failures float8, scope jsonb)
returns void
language plpgsql immutable
set search_path = ''
as $$
declare
  v_what text := case when scope is null or scope = '{}'::jsonb then '' else ' with ' || left(scope::text, 120) end;
  family text := case when target = 'processing_failures' then 'binomial' else 'poisson' end;
begin
  if family = 'binomial' and n_w = 0 then
    raise exception 'there are no processing attempts% in the window % to %; widen the scope or choose a window with data', v_what, w_from, w_to
      using errcode = '22023';
  end if;
  if family = 'binomial' and n_b = 0 then
    raise exception 'there are no processing attempts% in the baseline % to %; widen the scope or choose a baseline with data', v_what, b_from, b_to
      using errcode = '22023';
  end if;
  if family = 'poisson' and failures = 0 then
    raise exception 'there are no % in the window % to % nor in the baseline % to %; widen the scope or choose periods with data',
      aoma_private.rca_unit_words(target) || v_what, w_from, w_to, b_from, b_to using errcode = '22023';
  end if;
end
$$;
revoke execute on function aoma_private.rca_check_scope(text, date, date, date, date, float8, float8, float8, jsonb) from public;
grant execute on function aoma_private.rca_check_scope(text, date, date, date, date, float8, float8, float8, jsonb) to authenticated, service_role;

/*
 * analytics.root_cause_headline(target, window_from, window_to, baseline_from, baseline_to) — the
 * failure rate in the window against the baseline: units and failures counted, both rates with
 * their 95% intervals, the change ratio with its interval and p-value (Wald, log scale), and the
 * excess failures (window failures − window units × baseline rate). Periods as in
 * aoma_private.rca_periods (defaults: the last 14 days against the 60 before).
 */
create or replace function analytics.root_cause_headline(
  target text default 'processing_failures', window_from date default null, window_to date default null,
  baseline_from date default null, baseline_to date default null, scope jsonb default null)
returns table (
  family text, unit text, w_from date, w_to date, b_from date, b_to date,
  window_n float8, window_failures float8, window_rate float8, window_rate_lo float8, window_rate_hi float8,
  baseline_n float8, baseline_failures float8, baseline_rate float8, baseline_rate_lo float8, baseline_rate_hi float8,
  change float8, change_lo float8, change_hi float8, p_value float8, excess float8)
language plpgsql stable
set search_path = ''
as $$
declare
  per record;
  c record;
  s record;
  v_est float8;
  v_var float8;
begin
  select * into per from aoma_private.rca_periods(target, window_from, window_to, baseline_from, baseline_to);
  select count(*) filter (where u.in_window)::float8 as n_w, count(*) filter (where u.in_window and u.failed)::float8 as f_w,
         count(*) filter (where not u.in_window)::float8 as n_b, count(*) filter (where not u.in_window and u.failed)::float8 as f_b
    into c
  from aoma_private.rca_units(target, '{}', per.w_from, per.w_to, per.b_from, per.b_to, aoma_private.rca_scope(target, scope)) u;
  perform aoma_private.rca_check_scope(target, per.w_from, per.w_to, per.b_from, per.b_to, c.n_w, c.n_b, c.f_w + c.f_b, scope);
  if per.family = 'poisson' then
    c.n_w := per.w_to - per.w_from + 1;
    c.n_b := per.b_to - per.b_from + 1;
  end if;
  select * into s from aoma_private.rca_stats(per.family, c.n_w, c.f_w, c.n_b, c.f_b, c.n_w, c.f_w, c.n_b, c.f_b);
  select l.est, l.var into v_est, v_var from aoma_private.log_rate_ratio(per.family, c.f_w, c.n_w, c.f_b, c.n_b) l;
  return query select per.family, per.unit, per.w_from, per.w_to, per.b_from, per.b_to,
    c.n_w, c.f_w, s.rate_w, s.rate_w_lo, s.rate_w_hi, c.n_b, c.f_b, s.rate_b, s.rate_b_lo, s.rate_b_hi,
    s.change, s.change_lo, s.change_hi,
    case when c.f_w + c.f_b > 0 then aoma_private.normal_sf2(abs(v_est) / sqrt(v_var)) end,
    c.f_w - c.n_w * c.f_b / c.n_b;
end
$$;
revoke execute on function analytics.root_cause_headline(text, date, date, date, date, jsonb) from public;
grant execute on function analytics.root_cause_headline(text, date, date, date, date, jsonb) to authenticated, service_role;

drop type if exists aoma_private.rca_segment cascade;
-- One segment with its numbers (analytics.root_cause_segments' columns after rank and cause_rank).
create type aoma_private.rca_segment as (
  depth integer, dims text[], vals text[],
  window_n float8, window_failures float8, baseline_n float8, baseline_failures float8,
  window_rate float8, window_rate_lo float8, window_rate_hi float8,
  baseline_rate float8, baseline_rate_lo float8, baseline_rate_hi float8,
  change float8, change_lo float8, change_hi float8, rest_change float8,
  risk_ratio float8, risk_ratio_lo float8, risk_ratio_hi float8,
  support float8, support_lo float8, support_hi float8,
  failure_share float8, failure_share_lo float8, failure_share_hi float8,
  excess float8, excess_share float8, excess_share_lo float8, excess_share_hi float8,
  rise float8, rise_lo float8, rise_hi float8,
  p_value float8, q_value float8);



/*
 * aoma_private.rca_within_day(family, r, s, v, f1, n1, f0, n0) — the log risk ratio of a segment
 * against the rest of the population within one period, stratified by UTC day: Mantel–Haenszel
 * ln(R/S) with R = Σ a·n0/N, S = Σ c·n1/N over the days (a, n1: the segment's failures and units
 * that day; c, n0: the rest's; N = n1 + n0) and the Greenland–Robins (1985) variance V/(R·S), V = Σ
 * (n1·n0·(a+c) − a·c·N)/N² (binomial; for a count per day n1 = n0 = 1, N = 2 and V = Σ
 * n1·n0·(a+c)/N²). A day that makes every unit fail more (a Monday, a day after high volume) moves
 * the segment and the rest together and cancels. When R or S is 0 (no failure on one side in the
 * period), the crude log ratio of the period's totals with Haldane's +0.5 (aoma_private.log_rate_ratio).
 */
create or replace function aoma_private.rca_within_day(
  family text, r float8, s float8, v float8, f1 float8, n1 float8, f0 float8, n0 float8, out est float8, out var float8)
language sql immutable parallel safe
set search_path = ''
as $$
  select case when r > 0 and s > 0 then ln(r / s) else (aoma_private.log_rate_ratio(family, f1, greatest(n1, 1), f0, greatest(n0, 1))).est end,
         case when r > 0 and s > 0 then v / (r * s) else (aoma_private.log_rate_ratio(family, f1, greatest(n1, 1), f0, greatest(n0, 1))).var end
$$;
revoke execute on function aoma_private.rca_within_day(text, float8, float8, float8, float8, float8, float8, float8) from public;
grant execute on function aoma_private.rca_within_day(text, float8, float8, float8, float8, float8, float8, float8) to authenticated, service_role;

/*
 * aoma_private.rca_score(family, dims, segday, totday, removed, days_w, days_b) — the numbers of
 * every segment in `segday` (its counts per day, as aoma_private.rca_day_cell) against the
 * population of `totday` (counts per day) less the units of `removed` (per day; '{}' for none):
 * aoma_private.rca_stats on the period totals, the within-day rise with its interval and p-value
 * (aoma_private.rca_within_day per period), and the BH q over the tested segments given. days_w /
 * days_b: the periods' days (the exposure of a count per day). One row per segment, ordered by
 * its values as text.
 */
create or replace function aoma_private.rca_score(
  family text, dims text[], segday aoma_private.rca_day_cell[], totday aoma_private.rca_day_cell[],
  removed aoma_private.rca_day_cell[], days_w float8, days_b float8)
returns setof aoma_private.rca_segment
language sql stable parallel safe
set search_path = ''
as $$
  with tot_day as (
    select t.day, t.in_window, sum(t.n) as n, sum(t.f) as f
    from (select d.day, d.in_window, d.n, d.f from unnest(totday) d
          union all select d.day, d.in_window, -d.n, -d.f from unnest(removed) d) t
    group by t.day, t.in_window
  ),
  tot as (
    select case when family = 'poisson' then days_w else coalesce(sum(t.n) filter (where t.in_window), 0) end as n_w,
           coalesce(sum(t.f) filter (where t.in_window), 0) as f_w,
           case when family = 'poisson' then days_b else coalesce(sum(t.n) filter (where not t.in_window), 0) end as n_b,
           coalesce(sum(t.f) filter (where not t.in_window), 0) as f_b
    from tot_day t
  ),
  seg as (
    select sd.vals as key, min(sd.depth) as depth,
           coalesce(sum(sd.n) filter (where sd.in_window), 0) as n_w, coalesce(sum(sd.f) filter (where sd.in_window), 0) as f_w,
           coalesce(sum(sd.n) filter (where not sd.in_window), 0) as n_b, coalesce(sum(sd.f) filter (where not sd.in_window), 0) as f_b
    from unnest(segday) sd
    group by sd.vals
  ),
  -- Mantel–Haenszel sums of the segment against the rest of its day, per period (rca_within_day)
  mh as (
    select sd.vals as key, sd.in_window,
           sum(x.a * x.n0 / x.nn) as r, sum(x.c * x.n1 / x.nn) as s,
           sum(case when family = 'binomial' then (x.n1 * x.n0 * (x.a + x.c) - x.a * x.c * x.nn) / (x.nn * x.nn)
                    else x.n1 * x.n0 * (x.a + x.c) / (x.nn * x.nn) end) as v
    from unnest(segday) sd join tot_day td on td.day = sd.day and td.in_window = sd.in_window
    cross join lateral (
      select sd.f as a, td.f - sd.f as c,
             case when family = 'binomial' then sd.n else 1 end as n1,
             case when family = 'binomial' then td.n - sd.n else 1 end as n0,
             case when family = 'binomial' then td.n else 2 end as nn
    ) x
    where x.nn > 0
    group by sd.vals, sd.in_window
  ),
  stat as (
    select s.key, s.depth, s.n_w, s.f_w, s.n_b, s.f_b, r.*, w.est - b.est as lrise, sqrt(w.var + b.var) as lrise_se
    from seg s cross join tot
    cross join lateral aoma_private.rca_stats(family,
              case when family = 'poisson' then tot.n_w else s.n_w end, s.f_w,
              case when family = 'poisson' then tot.n_b else s.n_b end, s.f_b,
              tot.n_w, tot.f_w, tot.n_b, tot.f_b) r
    left join mh mw on mw.key = s.key and mw.in_window
    left join mh mb on mb.key = s.key and not mb.in_window
    cross join lateral aoma_private.rca_within_day(family, mw.r, mw.s, mw.v, s.f_w,
              case when family = 'poisson' then tot.n_w else s.n_w end, tot.f_w - s.f_w,
              case when family = 'poisson' then tot.n_w else tot.n_w - s.n_w end) w
    cross join lateral aoma_private.rca_within_day(family, mb.r, mb.s, mb.v, s.f_b,
              case when family = 'poisson' then tot.n_b else s.n_b end, tot.f_b - s.f_b,
              case when family = 'poisson' then tot.n_b else tot.n_b - s.n_b end) b
  ),
  q as (
    select st.*, case when st.tested and st.lrise_se > 0 then aoma_private.normal_sf2(abs(st.lrise) / st.lrise_se) end as p_within,
           row_number() over (order by st.key::text) as ord
    from stat st
  ),
  qs as (select aoma_private.bh_qvalues(array_agg(q.p_within order by q.ord)) as qv from q)
  select q.depth, dims, q.key,
         case when family = 'poisson' then tot.n_w else q.n_w end, q.f_w,
         case when family = 'poisson' then tot.n_b else q.n_b end, q.f_b,
         q.rate_w, q.rate_w_lo, q.rate_w_hi, q.rate_b, q.rate_b_lo, q.rate_b_hi,
         q.change, q.change_lo, q.change_hi, q.rest_change, q.risk_ratio, q.risk_ratio_lo, q.risk_ratio_hi,
         q.support, q.support_lo, q.support_hi, q.failure_share, q.failure_share_lo, q.failure_share_hi,
         q.excess, q.excess_share, q.excess_share_lo, q.excess_share_hi,
         exp(q.lrise), exp(q.lrise - 1.959963984540054 * q.lrise_se), exp(q.lrise + 1.959963984540054 * q.lrise_se),
         q.p_within, qs.qv[q.ord]
  from q cross join qs cross join tot
  order by q.ord
$$;
revoke execute on function aoma_private.rca_score(text, text[], aoma_private.rca_day_cell[], aoma_private.rca_day_cell[], aoma_private.rca_day_cell[], float8, float8) from public;
grant execute on function aoma_private.rca_score(text, text[], aoma_private.rca_day_cell[], aoma_private.rca_day_cell[], aoma_private.rca_day_cell[], float8, float8) to authenticated, service_role;

/*
 * aoma_private.rca_split_loglik(family, seg, tn_w, tf_w, tn_b, tf_b) — how well "this segment and
 * the rest each have their own failure rate in the window and in the baseline" fits: the
 * log-likelihood of the four groups (segment / rest × window / baseline) at their own rates
 * (binomial; poisson: counts over the period's days, the same exposure for segment and rest).
 * The drill-down compares it between a cause and its children: a child that carries the rise gains
 * (the rest of its parent leaves the rising group); one that only holds most of the units loses.
 */
create or replace function aoma_private.rca_split_loglik(
  family text, seg aoma_private.rca_segment, tn_w float8, tf_w float8, tn_b float8, tf_b float8)
returns float8
language sql immutable parallel safe
set search_path = ''
as $$
  select aoma_private.rca_loglik(family, seg.window_failures, seg.window_n)
       + aoma_private.rca_loglik(family, seg.baseline_failures, seg.baseline_n)
       + aoma_private.rca_loglik(family, tf_w - seg.window_failures, case when family = 'binomial' then tn_w - seg.window_n else tn_w end)
       + aoma_private.rca_loglik(family, tf_b - seg.baseline_failures, case when family = 'binomial' then tn_b - seg.baseline_n else tn_b end)
$$;
revoke execute on function aoma_private.rca_split_loglik(text, aoma_private.rca_segment, float8, float8, float8, float8) from public;
grant execute on function aoma_private.rca_split_loglik(text, aoma_private.rca_segment, float8, float8, float8, float8) to authenticated, service_role;

-- A child the drill-down may move to from cause candidate `cur`: one more dimension value inside it,
-- significant (q < 0.05), rising more than the rest, holding at least half of cur's excess, and
-- clear of the causes already chosen (`taken`: their vals as text).
create or replace function aoma_private.rca_drill_candidate(s aoma_private.rca_segment, cur aoma_private.rca_segment, taken text[])
returns boolean
language sql immutable parallel safe
set search_path = ''
as $$
  select s.depth = cur.depth + 1 and s.q_value < 0.05 and s.rise > 1
     and s.excess >= 0.5 * cur.excess
     and aoma_private.rca_within(s.vals, cur.vals)
     and not exists (select from unnest(taken) ck where aoma_private.rca_overlaps(s.vals, ck::text[]))
$$;
revoke execute on function aoma_private.rca_drill_candidate(aoma_private.rca_segment, aoma_private.rca_segment, text[]) from public;
grant execute on function aoma_private.rca_drill_candidate(aoma_private.rca_segment, aoma_private.rca_segment, text[]) to authenticated, service_role;

/*
 * analytics.root_cause_segments(target, window_from, window_to, baseline_from, baseline_to,
 * dimensions, max_depth) — every segment of 1..max_depth dimension values with at least one unit,
 * with the numbers of aoma_private.rca_stats (rates, change, risk ratio against the rest of the
 * window, support, failure share, excess and its share, p), the BH q-value over the tested
 * segments, and cause_rank 1..3 for the causes chosen by the drill-down described at the top of
 * this file (null for the others). rank orders: causes first, then segments that rose with
 * q < 0.05 by excess, then the rest by p-value. dims are the target's dimensions and vals the
 * segment's values aligned with them (null = any). dimensions: a subset of the target's (default
 * all); max_depth 1..3 (default 3). Raises 22023 for an unknown dimension or a depth out of range
 * (and see aoma_private.rca_periods).
 *
 * Example: select rank, cause_rank, vals, window_rate, change, excess_share, q_value
 *          from analytics.root_cause_segments() where rank <= 5;
 */
drop function if exists analytics.root_cause_segments(text, date, date, date, date, text[], integer, jsonb);
create or replace function analytics.root_cause_segments(
  target text default 'processing_failures', window_from date default null, window_to date default null,
  baseline_from date default null, baseline_to date default null, dimensions text[] default null, max_depth integer default 3,
  scope jsonb default null)
returns table (
  rank integer, cause_rank integer, depth integer, dims text[], vals text[],
  window_n float8, window_failures float8, baseline_n float8, baseline_failures float8,
  window_rate float8, window_rate_lo float8, window_rate_hi float8,
  baseline_rate float8, baseline_rate_lo float8, baseline_rate_hi float8,
  change float8, change_lo float8, change_hi float8, rest_change float8,
  risk_ratio float8, risk_ratio_lo float8, risk_ratio_hi float8,
  support float8, support_lo float8, support_hi float8,
  failure_share float8, failure_share_lo float8, failure_share_hi float8,
  excess float8, excess_share float8, excess_share_lo float8, excess_share_hi float8,
  rise float8, rise_lo float8, rise_hi float8,
  p_value float8, q_value float8)
language plpgsql stable
set search_path = ''
as $$
declare
  per record;
  v_all text[] := aoma_private.rca_dimensions(target);
  v_sel text[];
  v_bad text;
  v_pos int[];
  v_k int;
  v_leaves aoma_private.rca_day_cell[];
  v_tot aoma_private.rca_cell;
  v_segs aoma_private.rca_segment[];
  v_pool aoma_private.rca_segment[];
  v_segday aoma_private.rca_day_cell[];
  v_totday aoma_private.rca_day_cell[];
  v_removed aoma_private.rca_day_cell[];
  v_scope text[];
  v_cause_keys text[] := '{}'::text[];
  v_cur aoma_private.rca_segment;
  v_next aoma_private.rca_segment;
  v_ll_next float8;
  v_tried bigint;
begin
  select * into per from aoma_private.rca_periods(target, window_from, window_to, baseline_from, baseline_to);
  if max_depth is null or max_depth < 1 or max_depth > 3 then
    raise exception 'max_depth must be 1, 2 or 3 dimension values per segment (got %)', coalesce(max_depth::text, 'null') using errcode = '22023';
  end if;
  v_sel := coalesce(dimensions, v_all);
  select d into v_bad from unnest(v_sel) d where d is null or not d = any(v_all) limit 1;
  if found then
    raise exception 'dimension "%" is not one of %''s: %', coalesce(v_bad, 'null'), target, array_to_string(v_all, ', ') using errcode = '22023';
  end if;
  if cardinality(v_sel) = 0 then
    raise exception 'dimensions must name at least one of %''s: %', target, array_to_string(v_all, ', ') using errcode = '22023';
  end if;
  v_scope := aoma_private.rca_scope(target, scope);
  -- a dimension the scope fixes is no longer a way to split
  v_pos := array(select distinct array_position(v_all, d) from unnest(v_sel) d where v_scope[array_position(v_all, d)] is null order by 1);
  v_k := cardinality(v_pos);
  if v_k = 0 then
    raise exception 'every dimension asked for is fixed by the scope; leave at least one of % free', array_to_string(v_all, ', ') using errcode = '22023';
  end if;

  -- the leaves: units grouped by every chosen dimension (null at the others) and UTC day
  select array_agg(row(l.vals, v_k, l.day, l.in_window, l.n, l.f)::aoma_private.rca_day_cell) into v_leaves
  from (select u.vals, (u.at at time zone 'UTC')::date as day, u.in_window, count(*)::float8 as n, count(*) filter (where u.failed)::float8 as f
        from aoma_private.rca_units(target, v_sel, per.w_from, per.w_to, per.b_from, per.b_to, v_scope) u
        group by 1, 2, 3) l;
  v_tot := (select row(null, coalesce(sum(l.n) filter (where l.in_window), 0), coalesce(sum(l.f) filter (where l.in_window), 0),
                         coalesce(sum(l.n) filter (where not l.in_window), 0), coalesce(sum(l.f) filter (where not l.in_window), 0))::aoma_private.rca_cell
            from unnest(v_leaves) l);
  perform aoma_private.rca_check_scope(target, per.w_from, per.w_to, per.b_from, per.b_to, v_tot.n_w, v_tot.n_b, v_tot.f_w + v_tot.f_b, scope);
  if per.family = 'poisson' then
    -- a count per day: every segment's exposure is the period's days
    v_tot.n_w := per.w_to - per.w_from + 1;
    v_tot.n_b := per.b_to - per.b_from + 1;
  end if;

  -- the segments: the leaves rolled up over every subset of at most max_depth chosen dimensions, per day
  with masks as (
    select array(select v_pos[j] from generate_series(1, v_k) j where (m.mask >> (j - 1)) & 1 = 1) as kept
    from generate_series(1, (1 << v_k) - 1) m(mask)
  )
  select array_agg(row(x.key, x.depth, x.day, x.in_window, x.n, x.f)::aoma_private.rca_day_cell) into v_segday
  from (
    select array(select case when p = any(m.kept) then l.vals[p] else v_scope[p] end from generate_series(1, cardinality(v_all)) p) as key,
           cardinality(m.kept) as depth, l.day, l.in_window, sum(l.n) as n, sum(l.f) as f
    from unnest(v_leaves) l cross join masks m
    where cardinality(m.kept) <= max_depth
    group by 1, 2, 3, 4
  ) x;
  v_totday := array(select row(null, 0, l.day, l.in_window, sum(l.n), sum(l.f))::aoma_private.rca_day_cell
                    from unnest(v_leaves) l group by l.day, l.in_window);
  v_segs := array(select s from aoma_private.rca_score(per.family, v_all, v_segday, v_totday, '{}',
                    per.w_to - per.w_from + 1, per.b_to - per.b_from + 1) s);

  -- the causes: the largest significant rise, drilled down while a child fits better (rca_split_loglik)
  for i in 1..3 loop
    -- the segments still open: clear of the causes chosen (so disjoint from their units), tested
    -- again in the population without those units, with BH among themselves — the rest of a later
    -- cause must not contain an earlier one, nor may the many discoveries inside it lower the bar
    if i = 1 then
      v_pool := v_segs;
    else
      v_removed := array(select d from unnest(v_segday) d where d.vals::text = any(v_cause_keys));
      v_pool := array(
        select s from aoma_private.rca_score(per.family, v_all,
          array(select d from unnest(v_segday) d
                where not exists (select from unnest(v_cause_keys) ck where aoma_private.rca_overlaps(d.vals, ck::text[]))),
          v_totday, v_removed, per.w_to - per.w_from + 1, per.b_to - per.b_from + 1) s);
    end if;
    select s.* into v_cur from unnest(v_pool) s
    where s.q_value < 0.05 and s.excess > 0 and s.change > 1 and s.rise > 1
      and (s.excess_share is null or s.excess_share >= 0.05)
    order by s.depth, s.p_value, s.excess desc, s.vals::text
    limit 1;
    exit when not found;
    loop
      -- the child that fits best, when it fits better than its parent by more than the search costs:
      -- ln(children tried) + 2 log-likelihood units
      select (x.s).* into v_next
      from (select s, aoma_private.rca_split_loglik(per.family, s, v_tot.n_w, v_tot.f_w, v_tot.n_b, v_tot.f_b) as ll
            from unnest(v_pool) s
            where aoma_private.rca_drill_candidate(s, v_cur, v_cause_keys)) x
      order by x.ll desc, (x.s).vals::text
      limit 1;
      exit when not found;
      v_ll_next := aoma_private.rca_split_loglik(per.family, v_next, v_tot.n_w, v_tot.f_w, v_tot.n_b, v_tot.f_b);
      v_tried := (select count(*) from unnest(v_pool) s where aoma_private.rca_drill_candidate(s, v_cur, v_cause_keys));
      exit when v_ll_next - aoma_private.rca_split_loglik(per.family, v_cur, v_tot.n_w, v_tot.f_w, v_tot.n_b, v_tot.f_b)
                <= ln(v_tried) + 2;
      v_cur := v_next;
    end loop;
    v_cause_keys := v_cause_keys || v_cur.vals::text;
  end loop;

  return query
  select (row_number() over (order by array_position(v_cause_keys, s.vals::text) nulls last,
                                      (s.q_value < 0.05 and s.excess > 0) desc nulls last, s.excess desc nulls last,
                                      s.p_value nulls last, s.depth, s.vals::text))::int,
         array_position(v_cause_keys, s.vals::text), s.*
  from unnest(v_segs) s
  order by 1;
end
$$;
revoke execute on function analytics.root_cause_segments(text, date, date, date, date, text[], integer, jsonb) from public;
grant execute on function analytics.root_cause_segments(text, date, date, date, date, text[], integer, jsonb) to authenticated, service_role;


/*
 * analytics.root_cause_templates(target, segment, window_from, window_to, baseline_from, baseline_to,
 * max_templates) — the error templates behind a segment's failed processing attempts (segment:
 * values aligned with the target's dimensions, null = any; '{}'-like all-null = every attempt),
 * ranked as explanations of the segment's rise. Per template: failures in the window and the
 * baseline; its share of the segment's window failures (Wilson 95%) and of the baseline's; its rate
 * per attempt and the change of that rate, window ÷ baseline, with a 95% interval; its excess in the
 * window (failures − window attempts × its baseline rate) and that excess as a share of the
 * segment's whole excess (delta-method 95% interval, as for segments); the p-value of the Wald test
 * that it rose more than the segment's other failures (log scale, the template's counts and the
 * rest's over the same attempts, Haldane on a zero) and the BH q over every tested template of the
 * segment; when it was first and last seen anywhere (aoma.message_templates) and in this segment; and
 * the latest message of the segment with it — untrusted text from the logs, to be shown as data.
 * The template counts share the segment's attempts as their exposure (for log_errors: the periods'
 * days), so rates, changes and tests are those of aoma_private.rca_stats with family poisson
 * (counts over the same exposure). Ordered by excess. processing_failures and log_errors have
 * templates; incidents give no rows.
 */
drop function if exists analytics.root_cause_templates(text, text[], date, date, date, date, integer);
create or replace function analytics.root_cause_templates(
  target text default 'processing_failures', segment text[] default null,
  window_from date default null, window_to date default null, baseline_from date default null, baseline_to date default null,
  max_templates integer default 5)
returns table (
  template_id text, template text, window_failures bigint, baseline_failures bigint,
  window_share float8, window_share_lo float8, window_share_hi float8, baseline_share float8,
  change float8, change_lo float8, change_hi float8, excess float8, excess_share float8, excess_share_lo float8, excess_share_hi float8,
  p_value float8, q_value float8,
  first_seen timestamptz, last_seen timestamptz, segment_first_seen timestamptz, segment_last_seen timestamptz, example text)
language plpgsql stable
set search_path = ''
as $$
declare
  per record;
  v_seg text[];
begin
  select * into per from aoma_private.rca_periods(target, window_from, window_to, baseline_from, baseline_to);
  if max_templates is null or max_templates < 1 or max_templates > 50 then
    raise exception 'max_templates must be between 1 and 50 (got %)', coalesce(max_templates::text, 'null') using errcode = '22023';
  end if;
  v_seg := coalesce(segment, array_fill(null::text, array[cardinality(aoma_private.rca_dimensions(target))]));
  if target not in ('processing_failures', 'log_errors') then
    return;
  end if;
  return query
  with u as (select * from aoma_private.rca_units(target, '{}', per.w_from, per.w_to, per.b_from, per.b_to, v_seg)),
  tot as (
    -- the exposure: the segment's attempts, or for error log lines the periods' days
    select case when target = 'log_errors' then (per.w_to - per.w_from + 1)::float8 else count(*) filter (where u.in_window)::float8 end as n_w,
           case when target = 'log_errors' then (per.b_to - per.b_from + 1)::float8 else count(*) filter (where not u.in_window)::float8 end as n_b,
           count(*) filter (where u.in_window and u.failed)::float8 as f_w, count(*) filter (where not u.in_window and u.failed)::float8 as f_b
    from u
  ),
  t as (
    select u.template_id as tid, count(*) filter (where u.in_window) as fw, count(*) filter (where not u.in_window) as fb,
           min(u.at) as seg_first, max(u.at) as seg_last,
           (array_agg(u.message order by u.at desc))[1] as example
    from u where u.failed
    group by u.template_id
  ),
  st as (
    select t.*, r.*, row_number() over (order by t.tid nulls last) as ord
    from t cross join tot
    cross join lateral aoma_private.rca_stats('poisson', tot.n_w, t.fw, tot.n_b, t.fb, tot.n_w, tot.f_w, tot.n_b, tot.f_b) r
    where tot.n_w > 0 and tot.n_b > 0
  ),
  qs as (select aoma_private.bh_qvalues(array_agg(st.p_value order by st.ord)) as qv from st)
  select st.tid, mt.template, st.fw, st.fb,
         st.failure_share, st.failure_share_lo, st.failure_share_hi, st.fb / nullif(tot.f_b, 0),
         st.change, st.change_lo, st.change_hi, st.excess, st.excess_share, st.excess_share_lo, st.excess_share_hi,
         st.p_value, qs.qv[st.ord],
         mt.first_seen, mt.last_seen, st.seg_first, st.seg_last, st.example
  from st cross join tot cross join qs
  left join aoma.message_templates mt on mt.template_id = st.tid
  order by st.excess desc nulls last, st.fw desc, st.tid
  limit max_templates;
end
$$;
revoke execute on function analytics.root_cause_templates(text, text[], date, date, date, date, integer) from public;
grant execute on function analytics.root_cause_templates(text, text[], date, date, date, date, integer) to authenticated, service_role;


/*
 * analytics.root_cause_timeline(target, segment, window_from, window_to, baseline_from, baseline_to)
 * — "what changed when": the segment's units and failures per UTC day from the baseline's first day
 * to the window's last, and the day its rate changed: the split of that series into two constant
 * rates with the largest likelihood (binomial, or Poisson per day for incidents; at least 2 days with
 * units on each side). is_change marks the first day of the second part; rate_before / rate_after
 * are the two rates (on every row). Days without units have n = 0 (attempts) and count as days
 * (incidents).
 */
create or replace function analytics.root_cause_timeline(
  target text default 'processing_failures', segment text[] default null,
  window_from date default null, window_to date default null, baseline_from date default null, baseline_to date default null)
returns table (day date, in_window boolean, n float8, failures float8, rate float8, is_change boolean, rate_before float8, rate_after float8)
language plpgsql stable
set search_path = ''
as $$
declare
  per record;
  v_seg text[];
begin
  select * into per from aoma_private.rca_periods(target, window_from, window_to, baseline_from, baseline_to);
  v_seg := coalesce(segment, array_fill(null::text, array[cardinality(aoma_private.rca_dimensions(target))]));
  return query
  with u as (select * from aoma_private.rca_units(target, '{}', per.w_from, per.w_to, per.b_from, per.b_to, v_seg)),
  days as (
    select d::date as day from generate_series(least(per.b_from, per.w_from), greatest(per.b_to, per.w_to), interval '1 day') d
    where (d::date between per.w_from and per.w_to) or (d::date between per.b_from and per.b_to)
  ),
  s as (
    select d.day, d.day between per.w_from and per.w_to as in_w,
           case when per.family = 'poisson' then 1 else count(u.at) end::float8 as n,
           count(u.at) filter (where u.failed)::float8 as f
    from days d left join u on (u.at at time zone 'UTC')::date = d.day
    group by d.day
  ),
  c as (
    select s.*, sum(s.n) over w as cn, sum(s.f) over w as cf,
           count(*) filter (where s.n > 0) over w as cdays,
           sum(s.n) over () as tn, sum(s.f) over () as tf, count(*) filter (where s.n > 0) over () as tdays,
           row_number() over (order by s.day) as k
    from s window w as (order by s.day rows between unbounded preceding and 1 preceding)
  ),
  ll as (
    -- log-likelihood of the split before this day (the parts' own MLE rates)
    select c.day, c.cn, c.cf, c.tn - c.cn as an, c.tf - c.cf as af,
           aoma_private.rca_loglik(per.family, c.cf, c.cn) + aoma_private.rca_loglik(per.family, c.tf - c.cf, c.tn - c.cn) as l
    from c where c.cdays >= 2 and c.tdays - c.cdays >= 2 and c.cn > 0 and c.tn - c.cn > 0
  ),
  best as (select ll.* from ll order by ll.l desc, ll.day limit 1)
  select s.day, s.in_w, s.n, s.f, s.f / nullif(s.n, 0), s.day = b.day, b.cf / b.cn, b.af / b.an
  from s left join best b on true
  order by s.day;
end
$$;
revoke execute on function analytics.root_cause_timeline(text, text[], date, date, date, date) from public;
grant execute on function analytics.root_cause_timeline(text, text[], date, date, date, date) to authenticated, service_role;


/*
 * analytics.changes_before(day, hours) — what changed in the `hours` (1..168, default 48) before UTC
 * day `day` began: one row per production deployment (kind 'deployment': when, repository, ref and
 * status) and one row counting the commits to the service repositories (aoma.repositories.is_service)
 * in the same span (kind 'service_commits', n). Root-cause analysis shows it beside the day a
 * cause's rate changed (a daily change point: the change happened during that day or at its start).
 */
create or replace function analytics.changes_before(day date, hours integer default 48)
returns table (kind text, at timestamptz, repo text, detail text, n bigint)
language plpgsql stable
set search_path = ''
as $$
declare
  v_hi timestamptz := day::timestamp at time zone 'UTC';
  v_lo timestamptz;
begin
  if day is null or hours is null or hours < 1 or hours > 168 then
    raise exception 'changes_before needs a day and hours between 1 and 168 (got %, %)', coalesce(day::text, 'null'), coalesce(hours::text, 'null')
      using errcode = '22023';
  end if;
  v_lo := (day::timestamp at time zone 'UTC') - make_interval(hours => hours);
  return query
  select 'deployment'::text, d.deployed_at, d.repo, concat_ws(' ', d.ref, '(' || d.status || ')'), 1::bigint
  from aoma.deployments d
  where d.deployed_at >= v_lo and d.deployed_at < v_hi and d.environment = 'production'
  union all
  select 'service_commits', null::timestamptz, null::text, null::text, count(*)
  from aoma.git_commits c join aoma.repositories r on r.repo = c.repo and r.is_service
  where c.committed_at >= v_lo and c.committed_at < v_hi
  order by 1, 2;
end
$$;
revoke execute on function analytics.changes_before(date, integer) from public;
grant execute on function analytics.changes_before(date, integer) to authenticated, service_role;
