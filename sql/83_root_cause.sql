-- AOMA Mesh Analytics — root-cause analysis of a rise in failures (analytics.root_cause_*).
--
-- "What's causing the recent uptick in 360RA processing failures?" The answer compares a window
-- (default: the last 14 days with data) with a baseline before it (default: the 60 days before the
-- window) and says which cohort of the failing units explains the difference:
--
--   * units: processing attempts (target processing_failures: an attempt failed or not; binomial)
--     or incidents (target incidents: a count per day; Poisson, the exposure is the number of days);
--   * dimensions of a unit: for attempts asset_type, migration_state, upload_cohort (the upload day
--     against analytics.known_dates — "uploaded before the cloud migration (2026-03-01)" — or, with no
--     known dates, the asset's age at processing) and recent_deploy (a production deployment in the
--     48 hours before the attempt started); for incidents service, severity, component (the first
--     component of the incident's Jira ticket) and recent_deploy;
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
--   * the test: did the segment change more than the rest? Wald test of the ratio of the segment's
--     change ratio to the rest's (log scale, Katz variances, Haldane's +0.5 on a zero cell); a segment
--     with fewer than 5 failures in window and baseline together, or fewer than 10 units in either,
--     is not tested. Benjamini–Hochberg q over every tested segment of every depth;
--   * the causes: the most significant segment among those that rose more than the rest with
--     q < 0.05 (the shallowest first), then drill down: among its children (one more dimension value)
--     that rose significantly and hold at least half its excess, the one whose split "segment / rest"
--     fits the four rates (segment and rest × window and baseline) best replaces it, when it improves
--     the log-likelihood by more than ln(children tried) + 2 ("360RA" → "360RA, legacy"; a child that
--     only holds most of the units, "360RA, legacy, a deploy in the prior 48 h", fits worse). The next
--     cause is chosen the same way among the segments that do not overlap a chosen one; at most 3
--     causes, each explaining at least 5% of the excess when there is an excess.
--
-- analytics.root_cause_headline gives the rate now against the baseline; analytics.root_cause_templates
-- the error templates of a segment's failures; analytics.root_cause_change when the segment changed
-- and the deployments before it. All run as the caller, read only.

drop type if exists aoma_private.rca_cell cascade;
-- A leaf or a segment: its dimension values (aligned with the target's dimensions, null = any) and
-- its units and failures in the window and in the baseline.
create type aoma_private.rca_cell as (vals text[], n_w float8, f_w float8, n_b float8, f_b float8);

-- The dimensions of a target, in the order of rca_cell.vals; null for an unknown target.
create or replace function aoma_private.rca_dimensions(target text)
returns text[]
language sql immutable parallel safe
set search_path = ''
as $$
  select case target
    when 'processing_failures' then array['asset_type', 'migration_state', 'upload_cohort', 'recent_deploy']
    when 'incidents' then array['service', 'severity', 'component', 'recent_deploy']
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
    raise exception 'target "%" is not a failure measure root-cause analysis knows; use processing_failures (failed processing attempts) or incidents',
      target using errcode = '22023';
  end if;
  family := case target when 'incidents' then 'poisson' else 'binomial' end;
  unit := case target when 'incidents' then 'days' else 'attempts' end;
  v_what := case target when 'incidents' then 'incidents' else 'processing attempts' end;
  if window_to is null then
    if target = 'incidents' then
      select (max(i.started_at) at time zone 'UTC')::date into v_last from aoma.incidents i;
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
  -- both periods need units; for incidents a day without one is data, so the pair needs one
  if target = 'incidents' then
    select count(*) into v_n from aoma.incidents i
    where i.started_at >= (least(w_from, b_from)::timestamp at time zone 'UTC')
      and i.started_at < ((greatest(w_to, b_to) + 1)::timestamp at time zone 'UTC');
    if v_n = 0 then
      raise exception 'there are no incidents in the window % to % nor in the baseline % to %; choose periods with data',
        w_from, w_to, b_from, b_to using errcode = '22023';
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
 * aoma_private.rca_units(target, dims, periods, seg) — one row per unit (processing attempt or
 * incident) in the window or the baseline: its values of the target's dimensions (null where the
 * dimension is neither in `dims` nor set in `seg`), whether it lies in the window, whether it
 * failed, and for a failed attempt its error template, message and time. seg (values aligned with
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
  if target = 'incidents' then
    return query
    select x.* from (
    select array[
             case when 'service' = any(dims) then coalesce(i.service, 'unknown') end,
             case when 'severity' = any(dims) then i.severity end,
             case when 'component' = any(dims) then coalesce(
               (select c from aoma.jira_issues j, unnest(j.components) c where j.issue_key = i.jira_key order by c limit 1),
               'no ticket component') end,
             case when 'recent_deploy' = any(dims) then aoma_private.recent_deploy(i.started_at) end
           ],
           i.started_at >= w_lo, true, null::text, i.summary, i.started_at
    from aoma.incidents i
    where (i.started_at >= w_lo and i.started_at < w_hi) or (i.started_at >= b_lo and i.started_at < b_hi)
    ) x(vals, in_window, failed, template_id, message, at)
    where seg is null or aoma_private.rca_within(x.vals, seg);
  else
    return query
    select x.* from (
    select array[
             case when 'asset_type' = any(dims) then p.asset_type end,
             case when 'migration_state' = any(dims) then coalesce(p.migration_state, 'unknown') end,
             case when 'upload_cohort' = any(dims) then aoma_private.upload_cohort(p.uploaded_at, p.started_at, v_days, v_labels) end,
             case when 'recent_deploy' = any(dims) then aoma_private.recent_deploy(p.started_at) end
           ],
           p.started_at >= w_lo and p.started_at < w_hi, p.status = 'failed', p.error_template_id, p.error_message, p.started_at
    from aoma.processing_attempts p
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
 * incidents) of the scope in the window or in the baseline (the periods of aoma_private.rca_periods).
 */
create or replace function aoma_private.rca_check_scope(
  family text, w_from date, w_to date, b_from date, b_to date, n_w float8, n_b float8, failures float8, scope jsonb)
returns void
language plpgsql immutable
set search_path = ''
as $$
declare
  v_what text := case when scope is null or scope = '{}'::jsonb then '' else ' with ' || left(scope::text, 120) end;
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
    raise exception 'there are no incidents% in the window % to % nor in the baseline % to %; widen the scope or choose periods with data',
      v_what, w_from, w_to, b_from, b_to using errcode = '22023';
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
  perform aoma_private.rca_check_scope(per.family, per.w_from, per.w_to, per.b_from, per.b_to, c.n_w, c.n_b, c.f_w + c.f_b, scope);
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
  p_value float8, q_value float8);



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
  select s.depth = cur.depth + 1 and s.q_value < 0.05 and s.change > s.rest_change
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
  v_leaves aoma_private.rca_cell[];
  v_tot aoma_private.rca_cell;
  v_segs aoma_private.rca_segment[];
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

  -- the leaves: units grouped by every chosen dimension (null at the others)
  select array_agg(row(l.vals, l.n_w, l.f_w, l.n_b, l.f_b)::aoma_private.rca_cell) into v_leaves
  from (select u.vals, count(*) filter (where u.in_window) as n_w, count(*) filter (where u.in_window and u.failed) as f_w,
               count(*) filter (where not u.in_window) as n_b, count(*) filter (where not u.in_window and u.failed) as f_b
        from aoma_private.rca_units(target, v_sel, per.w_from, per.w_to, per.b_from, per.b_to, v_scope) u
        group by u.vals) l;
  v_tot := (select row(null, coalesce(sum(l.n_w), 0), coalesce(sum(l.f_w), 0), coalesce(sum(l.n_b), 0), coalesce(sum(l.f_b), 0))::aoma_private.rca_cell
            from unnest(v_leaves) l);
  perform aoma_private.rca_check_scope(per.family, per.w_from, per.w_to, per.b_from, per.b_to, v_tot.n_w, v_tot.n_b, v_tot.f_w + v_tot.f_b, scope);
  if per.family = 'poisson' then
    -- a count per day: every segment's exposure is the period's days
    v_tot.n_w := per.w_to - per.w_from + 1;
    v_tot.n_b := per.b_to - per.b_from + 1;
  end if;

  -- the segments: the leaves rolled up over every subset of at most max_depth chosen dimensions
  with masks as (
    select array(select v_pos[j] from generate_series(1, v_k) j where (m.mask >> (j - 1)) & 1 = 1) as kept
    from generate_series(1, (1 << v_k) - 1) m(mask)
  ),
  seg as (
    select array(select case when p = any(m.kept) then l.vals[p] else v_scope[p] end from generate_series(1, cardinality(v_all)) p) as key,
           cardinality(m.kept) as depth,
           sum(l.n_w) as n_w, sum(l.f_w) as f_w, sum(l.n_b) as n_b, sum(l.f_b) as f_b
    from unnest(v_leaves) l cross join masks m
    where cardinality(m.kept) <= max_depth
    group by 1, 2
  ),
  stat as (
    select s.key, s.depth, s.n_w, s.f_w, s.n_b, s.f_b, r.*
    from seg s
    cross join lateral aoma_private.rca_stats(per.family,
              case when per.family = 'poisson' then v_tot.n_w else s.n_w end, s.f_w,
              case when per.family = 'poisson' then v_tot.n_b else s.n_b end, s.f_b,
              v_tot.n_w, v_tot.f_w, v_tot.n_b, v_tot.f_b) r
  ),
  q as (
    select st.*, row_number() over (order by st.key::text) as ord from stat st
  ),
  qs as (
    select aoma_private.bh_qvalues(array_agg(q.p_value order by q.ord)) as qv from q
  )
  select array_agg(row(q.depth, v_all, q.key,
           case when per.family = 'poisson' then v_tot.n_w else q.n_w end, q.f_w,
           case when per.family = 'poisson' then v_tot.n_b else q.n_b end, q.f_b,
           q.rate_w, q.rate_w_lo, q.rate_w_hi, q.rate_b, q.rate_b_lo, q.rate_b_hi,
           q.change, q.change_lo, q.change_hi, q.rest_change, q.risk_ratio, q.risk_ratio_lo, q.risk_ratio_hi,
           q.support, q.support_lo, q.support_hi, q.failure_share, q.failure_share_lo, q.failure_share_hi,
           q.excess, q.excess_share, q.excess_share_lo, q.excess_share_hi, q.p_value, qs.qv[q.ord])::aoma_private.rca_segment
           order by q.ord)
    into v_segs
  from q cross join qs;

  -- the causes: the largest significant rise, drilled down while a child fits better (rca_split_loglik)
  for i in 1..3 loop
    select s.* into v_cur from unnest(v_segs) s
    where s.q_value < 0.05 and s.excess > 0 and s.change > 1 and s.change > s.rest_change
      and (s.excess_share is null or s.excess_share >= 0.05)
      and not exists (select from unnest(v_cause_keys) ck where aoma_private.rca_overlaps(s.vals, ck::text[]))
    order by s.depth, s.p_value, s.excess desc, s.vals::text
    limit 1;
    exit when not found;
    loop
      -- the child that fits best, when it fits better than its parent by more than the search costs:
      -- ln(children tried) + 2 log-likelihood units
      select (x.s).* into v_next
      from (select s, aoma_private.rca_split_loglik(per.family, s, v_tot.n_w, v_tot.f_w, v_tot.n_b, v_tot.f_b) as ll
            from unnest(v_segs) s
            where aoma_private.rca_drill_candidate(s, v_cur, v_cause_keys)) x
      order by x.ll desc, (x.s).vals::text
      limit 1;
      exit when not found;
      v_ll_next := aoma_private.rca_split_loglik(per.family, v_next, v_tot.n_w, v_tot.f_w, v_tot.n_b, v_tot.f_b);
      v_tried := (select count(*) from unnest(v_segs) s where aoma_private.rca_drill_candidate(s, v_cur, v_cause_keys));
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
 * values aligned with the target's dimensions, null = any; '{}'-like all-null = every attempt):
 * failures with each template in the window and the baseline, their share of the segment's
 * failures in each, the change of the template's rate per attempt (window ÷ baseline, Haldane on a
 * zero), its excess in the window (failures − window attempts × its baseline rate), when the template
 * was first and last seen anywhere (aoma.message_templates) and in this segment, and the latest
 * message of the segment with it — untrusted text from the logs, to be shown as data. Ordered by
 * excess. Only processing_failures has templates; incidents give no rows.
 */
create or replace function analytics.root_cause_templates(
  target text default 'processing_failures', segment text[] default null,
  window_from date default null, window_to date default null, baseline_from date default null, baseline_to date default null,
  max_templates integer default 5)
returns table (
  template_id text, template text, window_failures bigint, baseline_failures bigint,
  window_share float8, baseline_share float8, change float8, excess float8,
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
  if target <> 'processing_failures' then
    return;
  end if;
  return query
  with u as (select * from aoma_private.rca_units(target, '{}', per.w_from, per.w_to, per.b_from, per.b_to, v_seg)),
  tot as (
    select count(*) filter (where u.in_window)::float8 as n_w, count(*) filter (where not u.in_window)::float8 as n_b,
           count(*) filter (where u.in_window and u.failed)::float8 as f_w, count(*) filter (where not u.in_window and u.failed)::float8 as f_b
    from u
  ),
  t as (
    select u.template_id as tid, count(*) filter (where u.in_window) as fw, count(*) filter (where not u.in_window) as fb,
           min(u.at) as seg_first, max(u.at) as seg_last,
           (array_agg(u.message order by u.at desc))[1] as example
    from u where u.failed
    group by u.template_id
  )
  select t.tid, mt.template, t.fw, t.fb,
         t.fw / nullif(tot.f_w, 0), t.fb / nullif(tot.f_b, 0),
         case when tot.n_w > 0 and tot.n_b > 0 then exp((select l.est from aoma_private.log_rate_ratio('binomial', t.fw, tot.n_w, t.fb, tot.n_b) l)) end,
         t.fw - tot.n_w * t.fb / nullif(tot.n_b, 0),
         mt.first_seen, mt.last_seen, t.seg_first, t.seg_last, t.example
  from t cross join tot
  left join aoma.message_templates mt on mt.template_id = t.tid
  order by t.fw - tot.n_w * t.fb / nullif(tot.n_b, 0) desc nulls last, t.fw desc, t.tid
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
