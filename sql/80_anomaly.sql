-- AOMA Mesh Analytics — anomaly detection on one series (analytics.anomaly_scores, analytics.anomaly_events).
--
-- "Is this value out of line with what the series usually does at this point?" — answered online
-- (causally): the expected value and the band at point t use only the points before t, so a score
-- never changes when later data arrives and a monitor sees what this function returned. Method:
--
--   * level m_t = median of the last L non-null values before t (L = 48 points without
--     seasonality, L = season with it: one whole season, so the level is not pulled by the slot);
--     it needs min(12, ⌈L/2⌉) non-null values, otherwise t is in warm-up;
--   * seasonal offset o_t (season p > 0) = median over j = 1..8 of (x[t − jp] − m[t − jp]): what the
--     same slot of the last 8 seasons did relative to its own level (a robust decomposition:
--     rolling-median level + per-slot median offset); it needs 3 such slot values. o_t = 0 when p = 0;
--   * expected e_t = m_t + o_t; residual r_t = x_t − e_t;
--   * scale σ_t = Q₀.₉₉(|r|) / 2.5758 over the residuals of the last 288 points before t (at least 12):
--     the 99th percentile of the series' own absolute residuals, read as a normal σ (for normal
--     residuals it equals σ). Not MAD: ops metrics are spiky, MAD ignores the spikes that are their
--     normal behaviour and flags every one of them. On NAB's realAWSCloudwatch, a numpy prototype of
--     this detector with σ = 1.4826·MAD of the level window (48 or 288 points) reached NAB standard 23
--     at best over cut-offs |z| = 3 … 1000; with this scale bench/nab.ts measures 45 at the default
--     sensitivity (bench/RESULTS.md). The window (288) and quantile (0.99) were chosen among 288 / 576
--     / 1000 / 2000 and 0.98 … 0.999 on that category: none was better by more than its noise.
--     When Q₀.₉₉ = 0 (≥ 99% of residuals exactly 0): σ = 1.2533 · mean|r| (the mean absolute
--     deviation read as σ); when that is 0 too (a constant history): σ = max(10⁻⁶·|e_t|, 10⁻¹²), so
--     any change of a constant series is extreme but finite. Never a division by zero, never NaN;
--   * z_t = r_t / σ_t (|z| capped at 10¹²); score_t = 1 − P(|T₃| > |z_t|), the two-sided tail of a
--     Student t with 3 degrees of freedom in closed form, (2/π)(u/(1+u²) + atan u), u = |z|/√3:
--     a heavy-tailed reference, so the score keeps ranking large deviations (with a normal reference
--     it reaches 1 in float8 at |z| ≈ 8.3). direction 'up' ('down') scores only z > 0 (z < 0): the
--     score is 0 on the other side;
--   * sensitivity s ∈ (0, 1) → anomalous ⇔ |z| ≥ 2/s in the watched direction (s = 0.5: |z| ≥ 4,
--     score ≥ 0.97199; s = 0.25: |z| ≥ 8; s → 1: |z| ≥ 2); band = e_t ± (2/s)·σ_t;
--   * events: anomalous points at most 3 positions apart (up to 2 normal or null points between
--     them) form one event, numbered 1, 2, … in time order; severity of an event by its peak score:
--     high ≥ 0.999 (|z| ≥ 12.92), medium ≥ 0.99 (|z| ≥ 5.84), low otherwise.
--
-- Null values are gaps: skipped in every median and quantile, never anomalous (score null).
-- Checked against an independent numpy implementation (tests/reference/make_anomaly_reference.py);
-- scored on NAB realAWSCloudwatch by bench/nab.ts.

-- 1 − P(|T₃| > |z|): two-sided Student t (3 df) tail, closed form; z = 0 → 0, |z| → ∞ → 1.
create or replace function aoma_private.anomaly_t3_score(z float8)
returns float8
language sql
immutable strict parallel safe
set search_path = ''
as $$
  select least(1, (2 / pi()) * (u / (1 + u * u) + atan(u))) from (select least(abs(z), 1e12) / sqrt(3::float8) as u) s
$$;
comment on function aoma_private.anomaly_t3_score(float8) is
  'Anomaly score of a robust z: 1 − two-sided Student t(3) tail probability, in [0, 1].';
revoke execute on function aoma_private.anomaly_t3_score(float8) from public;
grant execute on function aoma_private.anomaly_t3_score(float8) to authenticated, service_role;

-- The body of analytics.anomaly_scores (same arguments, same rows): PL/pgSQL for the argument checks,
-- then one set-based query. Separate because the public function's output columns share the names of
-- its arguments (ts), which PL/pgSQL cannot tell apart.
create or replace function aoma_private.anomaly_scores_impl(
  p_ts timestamptz[], p_vals float8[], p_season integer, p_sensitivity float8, p_direction text)
returns table (o_idx integer, o_ts timestamptz, o_value float8, o_expected float8, o_lower float8, o_upper float8,
               o_score float8, o_anomalous boolean, o_event integer)
language plpgsql
immutable parallel safe
set search_path = ''
as $$
declare
  n integer := coalesce(cardinality(p_vals), 0);
  bad integer;
begin
  if p_ts is null or p_vals is null then
    raise exception 'ts and vals must be arrays (got null)' using errcode = '22023';
  end if;
  if cardinality(p_ts) <> n then
    raise exception 'ts and vals must have the same length (got % and %)', cardinality(p_ts), n
      using errcode = '22023';
  end if;
  if n > 200000 then
    raise exception 'at most 200,000 points are allowed (got %)', n using errcode = '22023';
  end if;
  if p_sensitivity is null or not (p_sensitivity > 0 and p_sensitivity < 1) then
    raise exception 'sensitivity must be between 0 and 1, both excluded (got %)', coalesce(p_sensitivity::text, 'null')
      using errcode = '22023';
  end if;
  if p_direction is null or p_direction not in ('up', 'down', 'both') then
    raise exception 'direction must be ''up'', ''down'' or ''both'' (got %)', coalesce('''' || p_direction || '''', 'null')
      using errcode = '22023';
  end if;
  if p_season is null or p_season < 0 or p_season = 1 then
    raise exception 'season must be 0 (no seasonality) or a period of at least 2 points (got %)',
      coalesce(p_season::text, 'null') using errcode = '22023';
  end if;
  if p_season > n / 4 then
    raise exception 'season % is too large for % points: at most a quarter of the points (%) is allowed',
      p_season, n, n / 4 using errcode = '22023';
  end if;
  bad := array_position(p_ts, null);
  if bad is not null then
    raise exception 'ts must not contain nulls (null at position %)', bad using errcode = '22023';
  end if;
  select min(i) into bad from generate_series(2, n) as i where p_ts[i] <= p_ts[i - 1];
  if bad is not null then
    raise exception 'ts must be strictly increasing (position % is not after position %)', bad, bad - 1
      using errcode = '22023';
  end if;
  select min(i) into bad from generate_series(1, n) as i
  where p_vals[i] in ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8);
  if bad is not null then
    raise exception 'vals must be finite numbers or null (got % at position %)', p_vals[bad], bad
      using errcode = '22023';
  end if;

  return query
  with
  par as (
    select p_season as p,
           case when p_season = 0 then 48 else p_season end as l,
           least(12, ceil(case when p_season = 0 then 48 else p_season end / 2.0))::integer as l_min,
           2 / p_sensitivity as z_cut
  ),
  lvl as (   -- rolling median level of the L values before t
    select i, p_vals[i] as v, case when lv.c >= par.l_min then lv.m end as m
    from par, generate_series(1, n) as i,
         lateral (select percentile_cont(0.5) within group (order by x) as m, count(x) as c
                  from unnest(p_vals[greatest(1, i - par.l):i - 1]) as x) as lv
  ),
  dev as (   -- each point's deviation from its own level: the seasonal slot's raw material
    select array_agg(lvl.v - lvl.m order by lvl.i) as d from lvl
  ),
  expct as (
    select lvl.i, lvl.v,
           case when par.p = 0 then lvl.m when so.c >= 3 then lvl.m + so.o end as e
    from par, dev, lvl,
         lateral (select percentile_cont(0.5) within group (order by dev.d[lvl.i - j * par.p]) as o,
                         count(dev.d[lvl.i - j * par.p]) as c
                  from generate_series(1, 8) as j
                  where par.p > 0 and lvl.i - j * par.p >= 1) as so
  ),
  res as (
    select array_agg(abs(expct.v - expct.e) order by expct.i) as r from expct
  ),
  scaled as (
    select expct.i, expct.v, expct.e,
           case when sc.c < 12 or expct.e is null then null
                when sc.q99 > 0 then sc.q99 / 2.5758
                when sc.mad > 0 then 1.2533 * sc.mad
                else greatest(1e-6 * abs(expct.e), 1e-12) end as s
    from res, expct,
         lateral (select percentile_cont(0.99) within group (order by x) as q99, avg(x) as mad, count(x) as c
                  from unnest(res.r[greatest(1, expct.i - 288):expct.i - 1]) as x) as sc
  ),
  zed as (
    select scaled.i, scaled.v, scaled.e, scaled.s,
           case when z.z is null then null
                when p_direction = 'up' then greatest(z.z, 0)   -- greatest() would turn a null z into 0
                when p_direction = 'down' then greatest(-z.z, 0)
                else abs(z.z) end as zd
    from scaled, lateral (select (scaled.v - scaled.e) / scaled.s as z) as z
  ),
  flagged as (
    select zed.i, zed.v, zed.e, zed.s, zed.zd, coalesce(zed.zd >= par.z_cut, false) as anom,
           par.z_cut
    from zed, par
  ),
  starts as (  -- an anomalous point more than 3 positions after the previous one opens an event
    select f.i, (lag(f.i) over (order by f.i) is null or f.i - lag(f.i) over (order by f.i) > 3)::integer as opens
    from flagged f where f.anom
  ),
  numbered as (
    select s.i, sum(s.opens) over (order by s.i)::integer as ev from starts s
  )
  select f.i, p_ts[f.i], f.v, f.e,
         case when p_direction <> 'up' then f.e - f.z_cut * f.s end,
         case when p_direction <> 'down' then f.e + f.z_cut * f.s end,
         aoma_private.anomaly_t3_score(f.zd), f.anom, nb.ev
  from flagged f left join numbered nb on nb.i = f.i
  order by f.i;
end
$$;
revoke execute on function aoma_private.anomaly_scores_impl(timestamptz[], float8[], integer, float8, text) from public;
grant execute on function aoma_private.anomaly_scores_impl(timestamptz[], float8[], integer, float8, text) to authenticated, service_role;

-- analytics.anomaly_scores(ts, vals, season, sensitivity, direction): one row per point.
--   ts          strictly increasing timestamps, no nulls; vals the values (null = gap), same length,
--               at most 200,000 points, finite;
--   season      period in points (0 = none, otherwise 2 .. n/4: 7 = weekday of daily data, 24 = hour of day);
--   sensitivity in (0, 1), higher flags more: anomalous ⇔ |z| ≥ 2/sensitivity;
--   direction   'up', 'down' or 'both'.
-- Returns idx (1-based position), ts, value, expected (e_t, null in warm-up), lower / upper (the band
-- e_t ∓ (2/s)·σ_t; lower is null for 'up' and upper for 'down'; null in warm-up), score ([0, 1], null
-- in warm-up and at gaps), anomalous (false in warm-up and at gaps), event (1, 2, … or null).
-- Empty arrays give no rows. Bad input raises 22023 with a sentence saying what is allowed.
create or replace function analytics.anomaly_scores(
  ts timestamptz[], vals float8[], season integer default 0, sensitivity float8 default 0.5,
  direction text default 'both')
returns table (idx integer, ts timestamptz, value float8, expected float8, lower float8, upper float8,
               score float8, anomalous boolean, event integer)
language sql
immutable parallel safe
set search_path = ''
as $$
  select * from aoma_private.anomaly_scores_impl(ts, vals, season, sensitivity, direction)
$$;
comment on function analytics.anomaly_scores(timestamptz[], float8[], integer, float8, text) is
  'Online seasonal robust anomaly scores per point: expected value, band, score in [0, 1], anomalous flag, event number (sql/80_anomaly.sql).';
revoke execute on function analytics.anomaly_scores(timestamptz[], float8[], integer, float8, text) from public;
grant execute on function analytics.anomaly_scores(timestamptz[], float8[], integer, float8, text) to authenticated, service_role;

-- analytics.anomaly_events(ts, vals, season, sensitivity, direction): one row per event of
-- analytics.anomaly_scores with the same arguments (same errors). started / ended = first / last
-- anomalous point; peak = the point with the highest score (the earliest on ties) with its value,
-- expected value and score; points = anomalous points in the event (the up to 2 normal points
-- bridged between them are not counted); direction 'up' / 'down' (all anomalous points on one side of
-- the expected value) or 'mixed'; severity by peak score: 'high' ≥ 0.999, 'medium' ≥ 0.99, else 'low'.
create or replace function analytics.anomaly_events(
  ts timestamptz[], vals float8[], season integer default 0, sensitivity float8 default 0.5,
  direction text default 'both')
returns table (event integer, started timestamptz, ended timestamptz, peak timestamptz, peak_value float8,
               peak_expected float8, peak_score float8, points integer, direction text, severity text)
language sql
immutable parallel safe
set search_path = ''
as $$
  select a.event, min(a.ts), max(a.ts),
         (array_agg(a.ts order by a.score desc, a.idx))[1],
         (array_agg(a.value order by a.score desc, a.idx))[1],
         (array_agg(a.expected order by a.score desc, a.idx))[1],
         max(a.score), count(*)::integer,
         case when bool_and(a.value > a.expected) then 'up' when bool_and(a.value < a.expected) then 'down' else 'mixed' end,
         case when max(a.score) >= 0.999 then 'high' when max(a.score) >= 0.99 then 'medium' else 'low' end
  from analytics.anomaly_scores(ts, vals, season, sensitivity, direction) as a
  where a.anomalous
  group by a.event
  order by a.event
$$;
comment on function analytics.anomaly_events(timestamptz[], float8[], integer, float8, text) is
  'Anomalous events (consecutive anomalous points, gaps of up to 2 points bridged) with start, end, peak and severity (sql/80_anomaly.sql).';
revoke execute on function analytics.anomaly_events(timestamptz[], float8[], integer, float8, text) from public;
grant execute on function analytics.anomaly_events(timestamptz[], float8[], integer, float8, text) to authenticated, service_role;
