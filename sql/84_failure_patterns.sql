-- AOMA Mesh Analytics — temporal patterns of processing failures (analytics.failure_patterns).
--
-- When do processing attempts fail? Over a window of days (default: the last 90 days with attempts):
--
--   * weekday (UTC, 1 = Monday … 7 = Sunday) and hour of day (UTC, 0..23): the failure rate of the
--     attempts started then (Wilson 95% interval) and its risk ratio against all other attempts
--     (Katz log interval, Haldane's +0.5 on a zero cell), a two-sided Wald p-value and the BH q-value
--     over the 7 weekdays (and, separately, over the 24 hours);
--   * trend: the daily failures as a quasi-Poisson regression on the day number with the log of the
--     day's attempts as offset (the project's one IRLS, aoma_private.poisson_fit), reported as the
--     change of the failure rate per week, exp(7β), with its 95% interval and p (dispersion
--     max(1, Pearson X² / (n − 2))). Days without attempts are left out.
--
-- The rows share one shape: kind ('weekday', 'hour', 'trend'), key (weekday 1..7, hour 0..23, null),
-- label, attempts, failures, rate with interval, ratio with interval, p, q. Read only, as the caller.

/*
 * analytics.failure_patterns(date_from, date_to) — see the top of this file. Raises 22023 when
 * date_from is after date_to, the window is longer than 3 years, or it holds no attempt.
 *
 * Example: select label, rate, ratio, q_value from analytics.failure_patterns() where kind = 'weekday' order by ratio desc;
 */
create or replace function analytics.failure_patterns(date_from date default null, date_to date default null)
returns table (kind text, key integer, label text, attempts float8, failures float8,
               rate float8, rate_lo float8, rate_hi float8, ratio float8, ratio_lo float8, ratio_hi float8,
               p_value float8, q_value float8, days integer)
language plpgsql stable
set search_path = ''
as $$
declare
  v_to date := date_to;
  v_from date;
  v_lo timestamptz;
  v_hi timestamptz;
  v_n float8;
  v_f float8;
  d record;
  fit record;
  v_disp float8;
  v_se float8;
begin
  if v_to is null then
    select (max(p.started_at) at time zone 'UTC')::date into v_to from aoma.processing_attempts p;
    if v_to is null then
      raise exception 'there are no processing attempts to analyse yet; ingest data or load the demo first' using errcode = '22023';
    end if;
  end if;
  v_from := coalesce(date_from, v_to - 89);
  if v_from > v_to then
    raise exception 'date_from (%) is after date_to (%); give the first day, then the last', v_from, v_to using errcode = '22023';
  end if;
  if v_to - v_from > 1100 then
    raise exception 'the window spans % days; at most 3 years (1,100 days) are analysed at once', v_to - v_from + 1 using errcode = '22023';
  end if;
  v_lo := v_from::timestamp at time zone 'UTC';
  v_hi := (v_to + 1)::timestamp at time zone 'UTC';
  select count(*), count(*) filter (where p.status = 'failed') into v_n, v_f
  from aoma.processing_attempts p where p.started_at >= v_lo and p.started_at < v_hi;
  if v_n = 0 then
    raise exception 'there are no processing attempts between % and %; choose a window with data', v_from, v_to using errcode = '22023';
  end if;

  return query
  with a as (
    select extract(isodow from p.started_at at time zone 'UTC')::int as wd, extract(hour from p.started_at at time zone 'UTC')::int as hr,
           p.status = 'failed' as failed
    from aoma.processing_attempts p where p.started_at >= v_lo and p.started_at < v_hi
  ),
  g as (
    select 'weekday'::text as k, a.wd as key, count(*)::float8 as n, count(*) filter (where a.failed)::float8 as f from a group by a.wd
    union all
    select 'hour', a.hr, count(*)::float8, count(*) filter (where a.failed)::float8 from a group by a.hr
  ),
  s as (
    select g.k, g.key, g.n, g.f, r.est, r.lo, r.hi, l.est as lr, l.var as lv
    from g
    cross join lateral aoma_private.rate_interval('binomial', g.f, g.n) r
    left join lateral aoma_private.log_rate_ratio('binomial', g.f, g.n, v_f - g.f, v_n - g.n) l on v_n - g.n > 0 and (g.f > 0 or v_f - g.f > 0)
  ),
  t as (
    select s.*, case when s.lv is not null then aoma_private.normal_sf2(abs(s.lr) / sqrt(s.lv)) end as p,
           row_number() over (partition by s.k order by s.key) as ord
    from s
  ),
  q as (select t.k, aoma_private.bh_qvalues(array_agg(t.p order by t.ord)) as qs from t group by t.k)
  select t.k, t.key,
         case t.k when 'weekday' then (array['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'])[t.key]
                  else lpad(t.key::text, 2, '0') || ':00 UTC' end,
         t.n, t.f, t.est, t.lo, t.hi, exp(t.lr), exp(t.lr - 1.959963984540054 * sqrt(t.lv)), exp(t.lr + 1.959963984540054 * sqrt(t.lv)),
         t.p, q.qs[t.ord], null::int
  from t join q on q.k = t.k
  order by t.k desc, t.key;

  -- trend: quasi-Poisson on the day number with log(attempts) as offset
  select array_agg(x.f order by x.day) as y, array_agg(ln(x.n) order by x.day) as off,
         array_agg(array[1::float8, (x.day - v_from)::float8] order by x.day) as xm, count(*)::int as m
    into d
  from (select (p.started_at at time zone 'UTC')::date as day, count(*)::float8 as n, count(*) filter (where p.status = 'failed')::float8 as f
        from aoma.processing_attempts p where p.started_at >= v_lo and p.started_at < v_hi group by 1) x;
  if d.m < 14 then
    return query select 'trend'::text, null::int, 'too few days with attempts for a trend (fewer than 14)'::text, v_n, v_f,
      null::float8, null::float8, null::float8, null::float8, null::float8, null::float8, null::float8, null::float8, d.m;
    return;
  end if;
  select * into fit from aoma_private.poisson_fit(d.y, d.off, (select array_agg(e) from unnest(d.xm) e), 2);
  if not fit.converged then
    return query select 'trend'::text, null::int, 'the trend model did not converge on these days'::text, v_n, v_f,
      null::float8, null::float8, null::float8, null::float8, null::float8, null::float8, null::float8, null::float8, d.m;
    return;
  end if;
  v_disp := greatest(1, fit.pearson_x2 / (d.m - 2));
  -- var(β₁) = [(XᵀWX)⁻¹]₂₂ = 1 / l₂₂² for the Cholesky factor L (row-major 2×2), times the dispersion
  v_se := sqrt(v_disp) / fit.chol[4];
  return query select 'trend'::text, null::int, 'change of the failure rate per week'::text, v_n, v_f,
    v_f / v_n, null::float8, null::float8,
    exp(7 * fit.beta[2]), exp(7 * (fit.beta[2] - 1.959963984540054 * v_se)), exp(7 * (fit.beta[2] + 1.959963984540054 * v_se)),
    aoma_private.normal_sf2(abs(fit.beta[2]) / v_se), null::float8, d.m;
end
$$;
revoke execute on function analytics.failure_patterns(date, date) from public;
grant execute on function analytics.failure_patterns(date, date) to authenticated, service_role;

/*
 * analytics.evidence_confidence(days, sources) — the overall confidence of a failure-pattern
 * analysis (analyze_failure_patterns), computed from its evidence, and the formula in words:
 *   confidence = min(1, days / 60) × the mean, over the evidence sources that were run, of their
 *   strength: 1 − the smallest q-value among the source's significant findings (q < 0.05), 0 when
 *   it found none; a yes/no source (a predictive model that beats its baseline in
 *   cross-validation) is 1 or 0.
 * sources: a JSON array with one element per source run — an array of q-values (numbers or null)
 * or a boolean. No source: 0. Raises 22023 for anything else.
 *
 * Example: select * from analytics.evidence_confidence(90, '[[0.001, 0.2], [], true]');  -- 1 × (0.999 + 0 + 1) / 3
 */
create or replace function analytics.evidence_confidence(days integer, sources jsonb, out confidence float8, out formula text)
language plpgsql immutable
set search_path = ''
as $$
declare
  v_bad text;
begin
  if days is null or days < 0 then
    raise exception 'days must be a whole number of days analysed, 0 or more (got %)', coalesce(days::text, 'null') using errcode = '22023';
  end if;
  if sources is null or jsonb_typeof(sources) <> 'array' then
    raise exception 'sources must be a JSON array with one element per evidence source: an array of q-values or true/false' using errcode = '22023';
  end if;
  select left(e::text, 60) into v_bad from jsonb_array_elements(sources) e
  where not (jsonb_typeof(e) = 'boolean'
             or (jsonb_typeof(e) = 'array' and not exists (
                   select from jsonb_array_elements(e) q where jsonb_typeof(q) not in ('number', 'null'))))
  limit 1;
  if found then
    raise exception 'each evidence source is an array of q-values (numbers or null) or true/false (got %)', v_bad using errcode = '22023';
  end if;
  formula := 'confidence = min(1, days analysed / 60) × mean over the evidence sources run (temporal patterns, threshold drivers, root cause, '
    || 'predictive model) of their strength: 1 − the smallest q-value among the source''s significant findings (0 when it found nothing; '
    || 'for the predictive model 1 when it beats its baseline in cross-validation, else 0).';
  select coalesce(least(1, days / 60.0) * avg(s.strength), 0) into confidence
  from (
    select case when jsonb_typeof(e) = 'boolean' then case when e::text = 'true' then 1 else 0 end
                else coalesce((select 1 - min((q #>> '{}')::float8) from jsonb_array_elements(e) q
                               where jsonb_typeof(q) = 'number' and (q #>> '{}')::float8 < 0.05), 0) end as strength
    from jsonb_array_elements(sources) e
  ) s;
end
$$;
revoke execute on function analytics.evidence_confidence(integer, jsonb) from public;
grant execute on function analytics.evidence_confidence(integer, jsonb) to authenticated, service_role;
