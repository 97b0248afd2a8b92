-- AOMA Mesh Analytics — multi-dimensional root-cause localisation (analytics.localize_cuboids).
--
-- A rise in failures is seldom everywhere: it sits in a cohort such as "asset type = video and
-- migration state = pending", the other dimensions any value. Given the leaves (every combination
-- of dimension values that occurs) with a real and an expected (forecast) value, this module finds
-- the SET of cuboids — combinations of 1..max_depth dimension values, the other dimensions "any" —
-- whose leaves explain the anomaly. The search space is every such cuboid (48,000 leaves over five
-- dimensions give ~8,000 cuboids of depth ≤ 3, ~37,000 of depth ≤ 4), scored in one grouping-sets
-- pass; the selection is a short greedy loop over the scored cuboids.
--
--   * each leaf with real + forecast > 0 gets the deviation score of RiskLoc (Kalander 2022,
--     arXiv 2205.10004), here signed so that positive = real above forecast: d = 2(v − f)/(v + f),
--     in [−2, 2] and free of the leaf's scale. Leaves with real = forecast = 0 carry no evidence
--     (they are counted in n_leaves, in no score);
--   * both directions are searched (unless the caller fixes one). For "real above forecast" the
--     noise unit s is the median |d| of the leaves with d < 0, / 0.6745 (a normal scale estimate
--     from the side the anomaly does not reach: the forecast error of normal leaves is symmetric,
--     while anomalous leaves are all on one side and can be most of the data), at least 0.01; a
--     leaf's evidence u = d / s, clipped to ±10 so that one extreme leaf cannot make a cuboid on its
--     own. "Real below forecast" mirrors it (u = −d / s, s from the leaves with d > 0);
--   * a cuboid C whose n leaves carry evidence scores the log-likelihood ratio of a mean shift μ of
--     their evidence (u ~ N(μ, 1)) against none (u ~ N(0, 1)), maximised over μ > 0: (Σu)² / (2n),
--     minus a parsimony penalty ln(M_k) + 5, where M_k is the number of cuboids of C's depth k with
--     evidence: ln M_k is the cost of naming one of them (the largest of M_k null scores stays near
--     ln M_k), 5 keeps the chance that the best null cuboid of a depth passes below ~1% (normal
--     tail bound). score = that difference; a cuboid with score > 0 is a candidate. The true
--     cuboid beats its ancestors (their normal leaves dilute the shift: (Σu)²/n falls as n grows at
--     a fixed Σu) and its descendants (fewer anomalous leaves: (Σu)²/n grows with n at a fixed μ);
--   * greedy set selection per direction: the best candidate enters, every candidate sharing a
--     leaf with it (equal in every dimension both fix) leaves the pool — its ancestors, descendants
--     and partial overlaps, which would only explain the same leaves again — and so on until the
--     pool is empty. The direction whose set has the larger total score is the answer: its
--     cuboids, disjoint, ranked by score.
-- Differences from RiskLoc: RiskLoc partitions the leaves at a cutoff into normal and abnormal,
-- weights them by their distance to it, and accepts, layer by layer, the first cuboid whose risk
-- score (weighted abnormal share minus a ripple-effect term) is ≥ 0.5 and whose explanatory power
-- beats a 2% threshold; here every cuboid of every depth competes on one likelihood scale, and the
-- parsimony penalty replaces the thresholds. Constants (fixed on generator seed 1 of
-- bench/rca_riskloc.ts, never on its evaluation seed): penalty ln M_k + 5, clip ±10, noise floor
-- 0.01. Measured on RiskLoc's S and L synthetic sets (bench/rca_riskloc.ts, 100 + 100 cases of seed
-- 20261203, bench/RESULTS.md): exact-match F1 0.873 on S (358 of the 359 planted cuboids within
-- depth 4 found, 11 false positives; the other 92 fix all five dimensions, beyond max_depth 4) and
-- 0.998 on L, at ~1 s and ~0.5 s a case on PostgreSQL 15; RiskLoc publishes 0.59 and 0.71.

-- One leaf: its value per dimension (aligned with the dims argument), real and forecast values.
-- create type has no "if not exists": created once, kept when the module is re-applied (callers'
-- functions may depend on it).
do $$
begin
  if to_regtype('aoma_private.rca_leaf') is null then
    create type aoma_private.rca_leaf as (vals text[], real float8, forecast float8);
  end if;
end
$$;
comment on type aoma_private.rca_leaf is
  'One leaf of analytics.localize_cuboids: vals aligned with its dims argument, real and forecast ≥ 0.';
-- A scored candidate (internal to this module: only aoma_private.rca_candidates returns it, and it
-- is recreated below), so re-applying drops and recreates it with its current definition.
drop type if exists aoma_private.rca_cuboid cascade;
create type aoma_private.rca_cuboid as (
  direction integer, cuboid text[], n_leaves integer, real float8, forecast float8, score float8);
comment on type aoma_private.rca_cuboid is
  'A scored candidate cuboid of analytics.localize_cuboids (internal): direction, values aligned with dims (null = any), score.';

-- Whether two cuboids (aligned value arrays, null = any) share a leaf: equal in every dimension
-- both fix. The selection loop's test.
create or replace function aoma_private.cuboids_overlap(a text[], b text[])
returns boolean
language sql
immutable strict parallel safe
set search_path = ''
as $$
  select not exists (select 1 from unnest(a, b) as t(x, y) where x <> y)
$$;
comment on function aoma_private.cuboids_overlap(text[], text[]) is
  'Whether two cuboids (value arrays aligned with the dimensions, null = any) share a leaf.';
revoke execute on function aoma_private.cuboids_overlap(text[], text[]) from public;
grant execute on function aoma_private.cuboids_overlap(text[], text[]) to authenticated, service_role;

-- The candidate cuboids with a positive score, per direction, best first (the scoring pass of
-- localize_cuboids; see the module header). n_dims: the number of dimensions; depth
-- 1..least(max_depth, n_dims); s_up / s_down: the noise units when looking for real above / below
-- forecast (null: that direction is not searched). One grouping-sets scan over the leaves scores
-- both directions; the statement is built per call because the grouping sets depend on the number
-- of dimensions.
create or replace function aoma_private.rca_candidates(
  leaves aoma_private.rca_leaf[], n_dims integer, max_depth integer, s_up float8, s_down float8
)
returns setof aoma_private.rca_cuboid
language plpgsql
stable
set search_path = ''
as $$
declare
  grouping_sets text;
  cuboid_expr text;
begin
  -- every set of 1..max_depth dimension positions, e.g. (x.v[1]), (x.v[1], x.v[3])
  with recursive combo(pos, last) as (
    select array[i], i from generate_series(1, n_dims) as i
    union all
    select c.pos || j, j from combo c, generate_series(c.last + 1, n_dims) as j
    where cardinality(c.pos) < max_depth
  )
  select string_agg('(' || (select string_agg(format('x.v[%s]', p), ', ') from unnest(c.pos) as p) || ')', ', ')
  into grouping_sets
  from combo c;
  select 'array[' || string_agg(format('case when grouping(x.v[%1$s]) = 0 then x.v[%1$s] end', i), ', ' order by i) || ']::text[]'
  into cuboid_expr
  from generate_series(1, n_dims) as i;

  return query execute format($q$
    with cells as (
      select %1$s as cuboid, count(*)::integer as n_leaves, count(x.d)::integer as n_evidence,
             sum(x.real) as real, sum(x.forecast) as forecast,
             -- least/greatest skip nulls: a leaf without evidence (d null) or a direction not searched
             -- (its s null) must give null, not 10
             sum(case when x.d is not null and $2 is not null then greatest(-10::float8, least(10::float8, x.d / $2)) end) as su_up,
             sum(case when x.d is not null and $3 is not null then greatest(-10::float8, least(10::float8, -x.d / $3)) end) as su_down
      from (
        select l.vals as v, l.real, l.forecast,
               case when l.real + l.forecast > 0 then 2 * (l.real - l.forecast) / (l.real + l.forecast) end as d
        from unnest($1) as l
      ) as x
      group by grouping sets (%2$s)
    ), scored as (
      select c.*, $4 - cardinality(array_remove(c.cuboid, null)) as free_dims,
             ln(count(*) filter (where c.n_evidence > 0) over (partition by cardinality(array_remove(c.cuboid, null)))) + 5 as penalty
      from cells as c
    )
    select u.direction, s.cuboid, s.n_leaves, s.real, s.forecast, u.su * u.su / (2 * nullif(s.n_evidence, 0)) - s.penalty as score
    from scored as s
    cross join lateral (values (1, s.su_up), (-1, s.su_down)) as u(direction, su)
    where u.su > 0 and u.su * u.su / (2 * nullif(s.n_evidence, 0)) > s.penalty
    order by u.direction desc, 6 desc, s.free_dims desc, s.cuboid::text$q$, cuboid_expr, grouping_sets)
  using leaves, s_up, s_down, n_dims;
end
$$;
comment on function aoma_private.rca_candidates(aoma_private.rca_leaf[], integer, integer, float8, float8) is
  'Candidate cuboids of analytics.localize_cuboids with a positive score (mean-shift log-likelihood ratio minus ln M_k + 5), per direction, best first.';
revoke execute on function aoma_private.rca_candidates(aoma_private.rca_leaf[], integer, integer, float8, float8) from public;
grant execute on function aoma_private.rca_candidates(aoma_private.rca_leaf[], integer, integer, float8, float8) to authenticated, service_role;

-- analytics.localize_cuboids(dims, leaves, max_depth, direction): the set of cuboids that explains
-- an anomaly, by the method of the module header.
--   dims       the dimension names (1..8, distinct, not null); they give the arity of every leaf
--              and of every returned cuboid;
--   leaves     one aoma_private.rca_leaf per combination of dimension values: vals aligned with
--              dims (no null value), real and forecast finite and ≥ 0; at most 2,000,000. A leaf
--              listed twice counts twice. None (empty or null) → no row;
--   max_depth  the most dimensions a cuboid fixes, 1..4 (default 3); above the number of
--              dimensions it is the number of dimensions (a cuboid of every dimension is a leaf);
--   direction  1: look only for real above forecast (a rise in failures), −1: only for real
--              below forecast, null (default): both, the direction whose set scores more wins.
-- Returns the predicted set, one row per cuboid, strongest first: rank 1.., cuboid aligned with
-- dims (the dimension's value, or null for any value), n_leaves (leaves in the cuboid, zero leaves
-- included), real and forecast (sums over those leaves), score (log-likelihood ratio of the mean
-- shift minus the parsimony penalty, > 0). No row when nothing is anomalous (no cuboid scores
-- above its penalty), when every leaf is zero, or when there is no leaf.
-- Example: 4 asset types × 4 migration states, forecast f = 90 + 7i + 3j, real = f·(1 + 0.04 sin f),
-- and twice that for video:
--   select r.* from analytics.localize_cuboids('{asset_type,migration}',
--     array(select row(array[t, m], case when t = 'video' then 2 else 1 end * f * (1 + 0.04 * sin(f)), f)::aoma_private.rca_leaf
--           from unnest('{video,audio,image,document}'::text[]) with ordinality as a(t, i),
--                unnest('{pending,done,failed,legacy}'::text[]) with ordinality as b(m, j),
--                lateral (select (90 + 7 * i + 3 * j)::float8 as f) as ff)) as r;
--   → rank 1, cuboid {video,NULL}, n_leaves 4, real 838.04, forecast 418, score 192.92 (one row)
create or replace function analytics.localize_cuboids(
  dims text[],
  leaves aoma_private.rca_leaf[],
  max_depth integer default 3,
  direction integer default null
)
returns table (rank integer, cuboid text[], n_leaves integer, "real" float8, forecast float8, score float8)
language plpgsql
stable
set search_path = ''
as $$
declare
  n_dims integer := coalesce(cardinality(dims), 0);
  bad record;
  dir integer;
  s_up float8;
  s_down float8;
  n_evidence bigint;
  candidates aoma_private.rca_cuboid[];
  pool aoma_private.rca_cuboid[];
  picked aoma_private.rca_cuboid[];
  chosen aoma_private.rca_cuboid[] := array[]::aoma_private.rca_cuboid[];
  best aoma_private.rca_cuboid;
begin
  if n_dims not between 1 and 8 then
    raise exception 'Cannot localize cuboids: dims must name 1 to 8 dimensions (got %).', n_dims using errcode = '22023';
  end if;
  if array_position(dims, null) is not null or (select count(distinct d) from unnest(dims) as d) < n_dims then
    raise exception 'Cannot localize cuboids: dimension names must be distinct and not null (got %).', dims::text using errcode = '22023';
  end if;
  if max_depth is null or max_depth not between 1 and 4 then
    raise exception 'Cannot localize cuboids: max_depth must be between 1 and 4 (got %).', coalesce(max_depth::text, 'null') using errcode = '22023';
  end if;
  if direction is not null and direction not in (-1, 1) then
    raise exception 'Cannot localize cuboids: direction must be 1 (real above forecast), -1 (real below forecast) or null (both) (got %).', direction
      using errcode = '22023';
  end if;
  if coalesce(cardinality(leaves), 0) > 2000000 then
    raise exception 'Cannot localize cuboids: at most 2,000,000 leaves are allowed (got %).', cardinality(leaves) using errcode = '22023';
  end if;
  if coalesce(cardinality(leaves), 0) = 0 then
    return;
  end if;

  select l.i, l.vals, l.real, l.forecast into bad
  from unnest(leaves) with ordinality as l(vals, real, forecast, i)
  where coalesce(cardinality(l.vals), 0) <> n_dims or array_position(l.vals, null) is not null
     or not coalesce(l.real >= 0 and l.real < 'infinity' and l.forecast >= 0 and l.forecast < 'infinity', false)
  order by l.i
  limit 1;
  if found then
    if coalesce(cardinality(bad.vals), 0) <> n_dims then
      raise exception 'Cannot localize cuboids: leaf % has vals of length % but dims names % dimensions; each leaf needs exactly one value per dimension.',
        bad.i, coalesce(cardinality(bad.vals), 0), n_dims using errcode = '22023';
    elsif array_position(bad.vals, null) is not null then
      raise exception 'Cannot localize cuboids: leaf % has a null value; every dimension value must be a non-null text.', bad.i
        using errcode = '22023';
    else
      raise exception 'Cannot localize cuboids: leaf % has real % and forecast %; both must be finite numbers ≥ 0.',
        bad.i, coalesce(bad.real::text, 'null'), coalesce(bad.forecast::text, 'null') using errcode = '22023';
    end if;
  end if;

  -- noise unit of each direction: from the leaves on the other side (module header)
  with dev as (
    select 2 * (l.real - l.forecast) / (l.real + l.forecast) as d
    from unnest(leaves) as l
    where l.real + l.forecast > 0
  )
  select case when coalesce(direction, 1) = 1
              then greatest(coalesce(percentile_cont(0.5) within group (order by -dev.d) filter (where dev.d < 0), 0) / 0.6745, 0.01) end,
         case when coalesce(direction, -1) = -1
              then greatest(coalesce(percentile_cont(0.5) within group (order by dev.d) filter (where dev.d > 0), 0) / 0.6745, 0.01) end,
         count(*)
  into s_up, s_down, n_evidence
  from dev;
  if n_evidence = 0 then
    return;  -- every leaf is zero: nothing to explain
  end if;

  candidates := array(select c from aoma_private.rca_candidates(leaves, n_dims, least(max_depth, n_dims), s_up, s_down) as c);
  -- greedy disjoint selection, per direction; the direction whose set scores more is the answer
  foreach dir in array array[1, -1] loop
    pool := array(
      select row(c.direction, c.cuboid, c.n_leaves, c.real, c.forecast, c.score)::aoma_private.rca_cuboid
      from unnest(candidates) with ordinality as c(direction, cuboid, n_leaves, real, forecast, score, i)
      where c.direction = dir
      order by c.i);
    picked := array[]::aoma_private.rca_cuboid[];
    while cardinality(pool) > 0 loop
      best := pool[1];
      picked := picked || best;
      pool := array(
        select row(p.direction, p.cuboid, p.n_leaves, p.real, p.forecast, p.score)::aoma_private.rca_cuboid
        from unnest(pool) with ordinality as p(direction, cuboid, n_leaves, real, forecast, score, i)
        where not aoma_private.cuboids_overlap(p.cuboid, best.cuboid)
        order by p.i);
    end loop;
    if (select coalesce(sum(c.score), 0) from unnest(picked) as c) > (select coalesce(sum(c.score), 0) from unnest(chosen) as c) then
      chosen := picked;
    end if;
  end loop;

  return query
    select c.i::integer, c.cuboid, c.n_leaves, c.real, c.forecast, c.score
    from unnest(chosen) with ordinality as c(direction, cuboid, n_leaves, real, forecast, score, i)
    order by c.i;
end
$$;
comment on function analytics.localize_cuboids(text[], aoma_private.rca_leaf[], integer, integer) is
  'The set of cuboids (1..max_depth dimension values, others any) whose leaves explain an anomaly of real against forecast: rank, cuboid aligned with dims (null = any), n_leaves, real, forecast, score.';
revoke execute on function analytics.localize_cuboids(text[], aoma_private.rca_leaf[], integer, integer) from public;
grant execute on function analytics.localize_cuboids(text[], aoma_private.rca_leaf[], integer, integer) to authenticated, service_role;
