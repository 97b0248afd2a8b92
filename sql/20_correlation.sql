-- AOMA Mesh Analytics — lagged correlation analysis (analytics.correlate).
-- Depends on sql/00_stats.sql (correlation_sums, correlation_from_sums, bh_qvalues) and
-- sql/10_features.sql (feature views and analytics.feature_catalog). Idempotent: create or replace only.

-- The argument checks every analysis shares: a non-empty date range, a feature list of 1..100
-- non-null names (or null), and every name (features and target) in the catalog for the grain.
-- Raises 22023 with a sentence that says what is allowed.
create or replace function aoma_private.check_analysis_args(
  date_from date, date_to date, features text[], target text, grain text
)
returns void
language plpgsql
stable
set search_path = ''
as $$
declare
  v_unknown text;
  v_valid text;
begin
  if date_from > date_to then
    raise exception 'date range % to % is empty',
      to_char(date_from, 'YYYY-MM-DD'), to_char(date_to, 'YYYY-MM-DD') using errcode = '22023';
  end if;
  if features is not null then
    if cardinality(features) > 100 then
      raise exception 'too many features: % given, at most 100 allowed', cardinality(features) using errcode = '22023';
    end if;
    if array_position(features, null) is not null then
      raise exception 'features must not contain null' using errcode = '22023';
    end if;
    if cardinality(features) = 0 then
      raise exception 'features must name at least one variable (or be null for every driver and calendar feature)'
        using errcode = '22023';
    end if;
  end if;
  select u.name into v_unknown
  from unnest(array_append(features, target)) with ordinality as u(name, ord)
  where not exists (select from analytics.feature_catalog c where c.name = u.name and c.grain = check_analysis_args.grain)
  order by u.ord
  limit 1;
  if v_unknown is not null then
    select string_agg(c.name, ', ' order by c.name collate "C") into v_valid
    from analytics.feature_catalog c where c.grain = check_analysis_args.grain;
    raise exception 'unknown variable "%" for grain %; valid: %', v_unknown, grain, coalesce(v_valid, '(none)')
      using errcode = '22023';
  end if;
end;
$$;
comment on function aoma_private.check_analysis_args(date, date, text[], text, text) is
  'Shared argument checks of the analyses: date range, feature list, names through the catalog (22023 errors).';
revoke execute on function aoma_private.check_analysis_args(date, date, text[], text, text) from public;
grant execute on function aoma_private.check_analysis_args(date, date, text[], text, text) to authenticated, service_role;

/*
 * analytics.correlate(target, features, max_lag, date_from, date_to, grain) — which features move
 * with the target, and how many periods ahead.
 *
 * Arguments (a null argument takes its default):
 *   target    text    default 'processing_failure_rate'  catalog feature to explain (the share of
 *                                              processing attempts that failed: the failure measure with
 *                                              the most data behind it; 'failure_count' counts incidents)
 *   features  text[]  default null             catalog features to test (1..100 names, duplicates
 *                                              ignored); null = every feature of the grain whose kind
 *                                              is 'driver' or 'calendar', minus the target
 *   max_lag   integer default 1                lags 0..max_lag are tested; at most 168 (hour), 30 (day),
 *                                              12 (week). Calendar features are tested at lag 0 only;
 *                                              the target itself (when listed) at lags 1..max_lag only.
 *   date_from date    default null             first target period, inclusive (null = first period)
 *   date_to   date    default null             last target period, inclusive (null = last period)
 *   grain     text    default 'day'            'hour' | 'day' | 'week' (hours are cut in UTC; a week
 *                                              is in range when its Monday is)
 *   adjust    text    default 'seasonal'       'seasonal': every non-calendar feature is tested by its
 *                                              partial correlation given the season of the period
 *                                              (weekday for days, weekday × hour of day for hours;
 *                                              sql/05_seasonal.sql), so a weekly rhythm shared with the
 *                                              target is not reported as a driver; calendar features
 *                                              and weeks are tested as they are. 'none': all plain.
 *
 * Lag k pairs the feature at period t − k with the target at period t: the lag is taken over the
 * full contiguous series of the feature view (so the feature may come from before date_from) and
 * only the target periods are filtered to the range. A pair counts when both values are present.
 *
 * Output: one row per (feature, lag) tested, ordered by rank:
 *   feature, lag, n (pairs used), pearson_r, pearson_p, pearson_ci_low, pearson_ci_high (95 %, Fisher z),
 *   spearman_rho, spearman_p — as aoma_private.correlation_stats (= scipy pearsonr / spearmanr);
 *   pearson_q, spearman_q — Benjamini–Hochberg q-values over ONE family: the Pearson and the Spearman
 *     p-values of every row of this call (m = 2 × rows with a p-value);
 *   rank — 1..N by pearson_q, then |pearson_r| descending, then feature, lag; rows without a p-value last;
 *   note — why a row has no statistics ('not enough data (n=2; need at least 4)',
 *     'constant: no variation in is_monday'), else null;
 *   adjusted_for — 'weekday' / 'weekday and hour-of-day' for partial correlations (df = n − 2 − k with
 *     k = seasons − 1; CI with standard error 1/√(n − 3 − k)), null for plain ones.
 *
 * Errors (SQLSTATE 22023), exactly:
 *   grain must be one of hour, day, week (got "month")
 *   adjust must be one of seasonal, none (got "x")
 *   max_lag must be between 0 and 30 for grain day (got 31)
 *   date range 2026-03-01 to 2026-02-01 is empty
 *   too many features: 101 given, at most 100 allowed
 *   features must not contain null
 *   features must name at least one variable (or be null for every driver and calendar feature)
 *   unknown variable "foo" for grain day; valid: asset_volume, churn, …   (also for the target; the
 *     names of the grain's catalog, sorted bytewise (collation "C"), comma-space separated)
 *   no day-level data between 2027-01-01 and 2027-02-01   (an open end prints as -infinity / infinity)
 *   too much work: 3100 tests over 2160 hour-level periods (6696000 pairs); at most 2000000 pairs per
 *     call — narrow the date range, lower max_lag or name fewer features   (PGlite ignores
 *     statement_timeout, so the work itself is bounded)
 *
 * Names resolve only through analytics.feature_catalog; the dynamic SQL quotes catalog names with
 * format('%I'), never caller text. Runs as the caller (security invoker): they need select on the
 * feature views.
 *
 * Cost: one query; each (feature, lag) series is an array slice, its statistics come from the
 * inlined aoma_private.correlation_sums. 30 features × 31 lags × 90 days take ~0.3 s on PostgreSQL 15
 * (~0.7 s on PGlite). Hourly series are 24× longer, so grain 'hour' with many lags costs accordingly
 * (20 features × 25 lags × 90 days of hours ≈ 3 s).
 *
 * Example:
 *   select feature, lag, n, round(pearson_r::numeric, 3) as r, pearson_q, rank
 *   from analytics.correlate('failure_count', array['asset_volume', 'commits'], 2);
 */
drop function if exists analytics.correlate(text, text[], integer, date, date, text);
create or replace function analytics.correlate(
  target text default 'processing_failure_rate',
  features text[] default null,
  max_lag integer default 1,
  date_from date default null,
  date_to date default null,
  grain text default 'day',
  adjust text default 'seasonal'
)
returns table (
  feature text, lag integer, n integer,
  pearson_r float8, pearson_p float8, pearson_ci_low float8, pearson_ci_high float8,
  spearman_rho float8, spearman_p float8,
  pearson_q float8, spearman_q float8, rank integer, note text, adjusted_for text
)
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_target text := coalesce(correlate.target, 'processing_failure_rate');
  v_max_lag integer := coalesce(correlate.max_lag, 1);
  v_grain text := coalesce(correlate.grain, 'day');
  v_adjust text := coalesce(correlate.adjust, 'seasonal');
  v_adj boolean[];
  v_season text;
  v_season_label text;
  v_lag_limit integer;
  v_view text;
  v_time text;
  v_period text;
  v_names text[];
  v_lo integer[];
  v_hi integer[];
  v_columns text;
  v_periods bigint;
  v_pairs bigint;
begin
  -- ── arguments ──
  if v_grain not in ('hour', 'day', 'week') then
    raise exception 'grain must be one of hour, day, week (got "%")', v_grain using errcode = '22023';
  end if;
  if v_adjust not in ('seasonal', 'none') then
    raise exception 'adjust must be one of seasonal, none (got "%")', v_adjust using errcode = '22023';
  end if;
  v_lag_limit := case v_grain when 'hour' then 168 when 'day' then 30 else 12 end;
  if v_max_lag < 0 or v_max_lag > v_lag_limit then
    raise exception 'max_lag must be between 0 and % for grain % (got %)', v_lag_limit, v_grain, v_max_lag
      using errcode = '22023';
  end if;
  -- ── range and names, through the catalog only ──
  perform aoma_private.check_analysis_args(correlate.date_from, correlate.date_to, correlate.features, v_target, v_grain);

  -- the tests: each feature with its lag range (calendar: lag 0 only; the target itself: 1..max_lag)
  select array_agg(c.name order by c.name collate "C"),
         array_agg(case when c.name = v_target then 1 else 0 end order by c.name collate "C"),
         array_agg(case when c.kind = 'calendar' then 0 else v_max_lag end order by c.name collate "C"),
         array_agg(v_adjust = 'seasonal' and v_grain <> 'week' and c.kind <> 'calendar' order by c.name collate "C")
    into v_names, v_lo, v_hi, v_adj
  from analytics.feature_catalog c
  where c.grain = v_grain
    and case when correlate.features is null
             then c.kind in ('driver', 'calendar') and c.name <> v_target
                  and not v_target = any (c.overlaps_with)  -- never a driver built from the target's own records
             else c.name = any (correlate.features) end;
  if v_names is null then
    return;  -- the catalog has no driver or calendar feature for this grain
  end if;

  -- ── data in range ──
  v_view := case v_grain when 'hour' then 'features_hourly' when 'day' then 'features_daily' else 'features_weekly' end;
  v_time := v_grain;
  -- the season of a period: weekday for days, weekday × hour of day for hours, none for weeks
  v_season := case v_grain
    when 'hour' then format('(extract(isodow from v.%1$I at time zone ''UTC'') * 24 + extract(hour from v.%1$I at time zone ''UTC''))::integer', v_time)
    when 'day' then format('extract(isodow from v.%I)::integer', v_time)
    else 'null::integer' end;
  v_season_label := case v_grain when 'hour' then 'weekday and hour-of-day' else 'weekday' end;
  v_period := case v_grain when 'hour' then format('(v.%I at time zone ''UTC'')::date', v_time)
                           else format('v.%I::date', v_time) end;
  execute format('select count(*) from analytics.%I v where ($1::date is null or %s >= $1) and ($2::date is null or %s <= $2)',
                 v_view, v_period, v_period)
    into v_periods using correlate.date_from, correlate.date_to;
  if v_periods = 0 then
    raise exception 'no %-level data between % and %', v_grain,
      coalesce(to_char(correlate.date_from, 'YYYY-MM-DD'), '-infinity'),
      coalesce(to_char(correlate.date_to, 'YYYY-MM-DD'), 'infinity') using errcode = '22023';
  end if;

  -- a work budget, because PGlite never fires statement_timeout: pairs = tests × periods in range
  select coalesce(sum(h - l + 1), 0) * v_periods into v_pairs from unnest(v_lo, v_hi) as b(l, h);
  if v_pairs > 2000000 then
    raise exception 'too much work: % tests over % %-level periods (% pairs); at most 2000000 pairs per call — narrow the date range, lower max_lag or name fewer features',
      v_pairs / v_periods, v_periods, v_grain, v_pairs using errcode = '22023';
  end if;

  select string_agg(format('v.%I::float8', u.name), ', ' order by u.ord) into v_columns
  from unnest(v_names) with ordinality as u(name, ord);

  -- ── one query: every (feature, lag) pair series, its statistics, the BH family, the ranking ──
  -- (a FOR loop over scalar targets rather than RETURN QUERY, so plpgsql_check sees the OUT columns set)
  for feature, lag, n, pearson_r, pearson_p, pearson_ci_low, pearson_ci_high, spearman_rho, spearman_p,
      pearson_q, spearman_q, rank, note, adjusted_for in execute format($sql$
    with base as materialized (
      select row_number() over (order by v.%1$I) as idx, %2$s as pd, v.%3$I::float8 as y, array[%4$s] as xs,
             %6$s as g
      from analytics.%5$I v
    ),
    -- the target series and the index range [lo, hi] of the target periods in range (contiguous)
    span as (
      select array_agg(b.y order by b.idx) as ys, array_agg(b.g order by b.idx) as gs,
             min(b.idx) filter (where ($1::date is null or b.pd >= $1) and ($2::date is null or b.pd <= $2)) as lo,
             max(b.idx) filter (where ($1::date is null or b.pd >= $1) and ($2::date is null or b.pd <= $2)) as hi
      from base b
    ),
    -- each feature's full series
    series as (
      select u.fi::integer as fi, array_agg(u.x order by b.idx) as xs
      from base b cross join unnest(b.xs) with ordinality as u(x, fi)
      group by u.fi
    ),
    tests as (
      select t.fi::integer as fi, t.name, l.lag::integer as lag, t.adj
      from unnest($3::text[], $4::integer[], $5::integer[], $7::boolean[]) with ordinality as t(name, lo, hi, adj, fi)
      cross join lateral generate_series(t.lo, t.hi) as l(lag)
    ),
    -- lag k: feature at t − k beside the target at t, for the target periods t in range that have a
    -- period t − k (array slices of the two series; no join, no sort)
    -- plain correlations (calendar features, adjust = 'none', weeks) …
    raw as (
      select s.name, s.lag, cs.n, f.pearson_r, f.pearson_p, f.pearson_ci_low, f.pearson_ci_high,
             f.spearman_rho, f.spearman_p, f.note, null::text as adjusted_for
      from tests s
      join series se on se.fi = s.fi
      cross join span sp
      cross join lateral aoma_private.correlation_sums(
        se.xs[greatest(sp.lo, s.lag + 1) - s.lag : sp.hi - s.lag],
        sp.ys[greatest(sp.lo, s.lag + 1) : sp.hi]) cs
      cross join lateral aoma_private.correlation_from_sums(cs.n, cs.x_min, cs.x_max, cs.y_min, cs.y_max,
        cs.sxy, cs.sxx, cs.syy, cs.r12, cs.r11, cs.r22, s.name, $6) f
      where not s.adj
    ),
    -- … and partial correlations given the season of the target period (for a fixed lag the
    -- feature period's season is a function of it, so one grouping serves both series)
    adjusted as (
      select s.name, s.lag, cs.n, f.pearson_r, f.pearson_p, f.pearson_ci_low, f.pearson_ci_high,
             f.spearman_rho, f.spearman_p, f.note, $8::text as adjusted_for
      from tests s
      join series se on se.fi = s.fi
      cross join span sp
      cross join lateral aoma_private.seasonal_correlation_sums(
        se.xs[greatest(sp.lo, s.lag + 1) - s.lag : sp.hi - s.lag],
        sp.ys[greatest(sp.lo, s.lag + 1) : sp.hi],
        sp.gs[greatest(sp.lo, s.lag + 1) : sp.hi]) cs
      cross join lateral aoma_private.partial_correlation_from_sums(cs.n, cs.k, cs.sxy, cs.sxx, cs.syy,
        cs.sxx_total, cs.syy_total, cs.rxy, cs.rxx, cs.ryy, s.name, $6, $8) f
      where s.adj
    ),
    results as (
      select row_number() over (order by u.name collate "C", u.lag)::integer as k, u.*
      from (select * from raw union all select * from adjusted) u
    ),
    -- one Benjamini–Hochberg family: Pearson p of rows 1..m, then Spearman p of rows 1..m
    family as (
      select aoma_private.bh_qvalues(array_agg(r.pearson_p order by r.k) || array_agg(r.spearman_p order by r.k)) as q,
             count(*)::integer as m
      from results r
    ),
    qs as (
      select u.j::integer as j, u.q from family f cross join unnest(f.q) with ordinality as u(q, j)
    )
    select r.name, r.lag, r.n, r.pearson_r, r.pearson_p, r.pearson_ci_low, r.pearson_ci_high,
           r.spearman_rho, r.spearman_p, pq.q, sq.q,
           (row_number() over (order by pq.q nulls last, abs(r.pearson_r) desc nulls last, r.name collate "C", r.lag))::integer,
           r.note, r.adjusted_for
    from results r
    join qs pq on pq.j = r.k
    join qs sq on sq.j = r.k + (select f.m from family f)
    order by 12
  $sql$, v_time, v_period, v_target, v_columns, v_view, v_season)
  using correlate.date_from, correlate.date_to, v_names, v_lo, v_hi, v_target, v_adj, v_season_label
  loop
    return next;
  end loop;
end
$$;
revoke execute on function analytics.correlate(text, text[], integer, date, date, text, text) from public;
grant execute on function analytics.correlate(text, text[], integer, date, date, text, text) to authenticated, service_role;
