-- AOMA Mesh Analytics — boosted stumps (issue 10, item 1: the nonlinear candidate the seed's
-- "Gradient Boosting" stands for), with permutation importance and direction.
--
-- ── analytics.fit_boosted_stumps(relation, target, predictors, family, order_by, exposure, rounds,
--                                 learning_rate, l2, bins, min_rows) → jsonb ───────────────────────
--   Second-order gradient boosting of depth-1 trees (XGBoost's algorithm at max_depth 1):
--   - start: F = the link of the mean — logit of the base rate (binomial), ln(Σy / Σexposure)
--     (poisson; ln exposure is the offset), the mean (gaussian);
--   - each round, per row g and h (binomial p − y and p(1 − p); poisson μ − y and μ; gaussian F − y
--     and 1); per predictor the candidate thresholds are its distinct values but the smallest,
--     thinned to u[⌊k·U/bins⌋] (0-based, k = 1 … bins − 1) when it has U > bins of them; a split sends
--     x < t left and x ≥ t right, needs min_rows rows on each side and gains
--     G_L²/(H_L + λ) + G_R²/(H_R + λ) − G²/(H + λ) (λ = l2); the largest gain wins (ties: the earlier
--     predictor, then the smaller threshold) and moves F by −learning_rate·G/(H + λ) on each side;
--     a round without a positive gain ends the boosting;
--   - deviance (binomial −2Σ(y ln p + (1 − y) ln(1 − p)), poisson 2Σ(y ln(y/μ) − (y − μ)), gaussian
--     Σ(y − F)²) on the training rows;
--   - permutation importance of predictor j: the training deviance with column j rotated by ⌊n/2⌋
--     rows in order_by order (row i takes row (i + ⌊n/2⌋) mod n's value) minus the deviance, ÷ n;
--     direction: the sign of Σ (right − left) over the predictor's stumps (+1: higher values,
--     higher outcome).
--   Returns {family, n, base, rounds_used, stumps: [{feature, threshold, left, right, gain}],
--   deviance, importance: [{feature, importance, direction, stumps}] (largest first)}.
--   Rows are those of analytics.fit_glm (complete in every used column); the same data checks and
--   sentences (0/1 target, counts ≥ 0, too few rows). Bounded work: rows × predictors × rounds ≤
--   5,000,000 (a PL/pgSQL sweep per predictor and round), refused with a sentence beyond.
--   Checked against an independent numpy implementation: tests/reference/make_boost_reference.py.

drop function if exists analytics.fit_boosted_stumps(regclass, text, text[], text, text, text, integer, float8, float8, integer, integer);
create or replace function analytics.fit_boosted_stumps(
  relation regclass,
  target text,
  predictors text[],
  family text default 'binomial',
  order_by text default null,
  exposure text default null,
  rounds integer default 100,
  learning_rate float8 default 0.1,
  l2 float8 default 1,
  bins integer default 32,
  min_rows integer default 10
)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_family text := coalesce(fit_boosted_stumps.family, 'binomial');
  p integer := cardinality(fit_boosted_stumps.predictors);
  lam float8 := fit_boosted_stumps.l2;
  rate float8 := fit_boosted_stumps.learning_rate;
  v_src text;
  n integer;
begin
  if v_family not in ('binomial', 'poisson', 'gaussian') then
    raise exception 'family must be one of binomial, poisson, gaussian (got "%")', v_family using errcode = '22023';
  end if;
  if fit_boosted_stumps.order_by is null then
    raise exception 'order_by must name the column that orders the rows (the permutation importance rotates rows in that order)'
      using errcode = '22023';
  end if;
  if fit_boosted_stumps.rounds is null or fit_boosted_stumps.rounds < 1 or fit_boosted_stumps.rounds > 1000 then
    raise exception 'rounds must be between 1 and 1000 (got %)', coalesce(fit_boosted_stumps.rounds::text, 'null') using errcode = '22023';
  end if;
  if rate is null or not (rate > 0 and rate <= 1) then
    raise exception 'learning_rate must be in (0, 1] (got %)', coalesce(rate::text, 'null') using errcode = '22023';
  end if;
  perform aoma_private.check_l2(lam);
  if fit_boosted_stumps.bins is null or fit_boosted_stumps.bins < 2 or fit_boosted_stumps.bins > 256 then
    raise exception 'bins must be between 2 and 256 (got %)', coalesce(fit_boosted_stumps.bins::text, 'null') using errcode = '22023';
  end if;
  if fit_boosted_stumps.min_rows is null or fit_boosted_stumps.min_rows < 1 then
    raise exception 'min_rows must be at least 1 (got %)', coalesce(fit_boosted_stumps.min_rows::text, 'null') using errcode = '22023';
  end if;
  perform aoma_private.no_binomial_trials(v_family, fit_boosted_stumps.exposure, 'fit_boosted_stumps');
  v_src := aoma_private.glm_source(fit_boosted_stumps.relation, fit_boosted_stumps.target, fit_boosted_stumps.predictors,
                                   v_family, fit_boosted_stumps.exposure, fit_boosted_stumps.order_by);
  select c.n into n from aoma_private.glm_check_rows(v_src, p, v_family) c;
  if n::bigint * p * fit_boosted_stumps.rounds > 5000000 then
    raise exception 'too much work: % rows × % predictors × % rounds = % ; at most 5,000,000 per call — fewer rounds, predictors or rows',
      n, p, fit_boosted_stumps.rounds, n::bigint * p * fit_boosted_stumps.rounds using errcode = '22023';
  end if;
  return aoma_private.boost_fit(v_src, fit_boosted_stumps.predictors, v_family, fit_boosted_stumps.rounds, rate, lam,
                                 fit_boosted_stumps.bins, fit_boosted_stumps.min_rows);
end;
$$;
comment on function analytics.fit_boosted_stumps(regclass, text, text[], text, text, text, integer, float8, float8, integer, integer) is
  'Second-order gradient boosting of stumps (binomial, poisson with exposure, gaussian) with permutation importance and direction. See sql/73_boosted_stumps.sql.';
grant execute on function analytics.fit_boosted_stumps(regclass, text, text[], text, text, text, integer, float8, float8, integer, integer)
  to authenticated, service_role;

-- aoma_private.boost_deviance(family, f, y, off): the deviance of scores f (see the header).
create or replace function aoma_private.boost_deviance(family text, f float8[], y float8[], off float8[])
returns float8
language sql
immutable
set search_path = ''
as $$
  select case family
    when 'binomial' then -2 * sum(u.y * (-(greatest(-u.f, 0) + u.l)) + (1 - u.y) * (-(greatest(u.f, 0) + u.l)))
    when 'poisson' then 2 * sum(case when u.y > 0 then u.y * (ln(u.y) - (u.f + u.o)) else 0 end - (u.y - exp(least(u.f + u.o, 700))))
    else sum((u.y - u.f) ^ 2) end
  from (select v.f, v.y, v.o, case when abs(v.f) > 700 then 0 else ln(1 + exp(-abs(v.f))) end as l
        from unnest(f, y, off) as v(f, y, o)) u
$$;
grant execute on function aoma_private.boost_deviance(text, float8[], float8[], float8[]) to authenticated, service_role;

-- aoma_private.boost_fit(src, predictors, family, rounds, rate, lam, bins, min_rows): the boosting of
-- analytics.fit_boosted_stumps over the rows of the query src (x float8[] in the order of predictors,
-- y, off, o — aoma_private.glm_source's shape), its arguments already checked. Also the nonlinear
-- candidate of analytics.build_predictive_model (sql/74_predictive.sql).
create or replace function aoma_private.boost_fit(
  src text, predictors text[], v_family text, rounds integer, rate float8, lam float8, bins integer, min_rows integer
)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  p integer := cardinality(boost_fit.predictors);
  n integer;
  y float8[];
  off float8[];
  x float8[];       -- n × p, row-major
  ord integer[];    -- per predictor, the row indices sorted by its value (n × p, predictor-major)
  cand float8[];    -- one predictor's candidate thresholds
  vc_t float8[];        -- the usable thresholds (min_rows on each side), per predictor in order
  vc_pos integer[];     -- rows below each of them (x < t): the sweep adds rows 1..vc_pos in value order
  vc_from integer[];
  vc_to integer[];
  base_o integer;
  q integer;
  st_k integer[];       -- the stumps as arrays (feature index, threshold, left, right)
  st_t float8[];
  st_l float8[];
  st_r float8[];
  f float8[];
  g float8[];
  h float8[];
  gs float8;
  hs float8;
  gl float8;
  hl float8;
  pos integer;
  t float8;
  gain float8;
  best_gain float8;
  best_j integer;
  best_t float8;
  best_gl float8;
  best_hl float8;
  vl float8;
  vr float8;
  base float8;
  stumps jsonb := '[]'::jsonb;
  used integer := 0;
  dev float8;
  imp jsonb := '[]'::jsonb;
  fp float8[];
  k integer;
  u float8[];
begin
  -- the rows in order_by order (ties: the predictors, then y), as arrays — read in one statement, so
  -- y, the offset and the predictors come from the same rows even where the relation is not stable
  execute format('select array_agg(s.y order by s.o, s.x, s.y), array_agg(s.off order by s.o, s.x, s.y),
                         array_agg(s.x order by s.o, s.x, s.y) from (%s) s', boost_fit.src) into y, off, x;
  x := array(select v from unnest(x) as v);  -- n × p → flat, row-major
  n := cardinality(y);
  -- per predictor: rows sorted by value; its candidate thresholds (u thinned to bins); of those the
  -- ones a split may use (≥ min_rows rows on each side) with the rows below each — both fixed by the
  -- data, so each round's sweep only adds g and h in value order
  ord := '{}';
  vc_t := '{}';
  vc_pos := '{}';
  vc_from := '{}';
  vc_to := '{}';
  for j in 1..p loop
    ord := ord || (select array_agg(i order by x[(i - 1) * p + j], i) from generate_series(1, n) i);
    u := (select array_agg(distinct x[(i - 1) * p + j] order by x[(i - 1) * p + j]) from generate_series(1, n) i);
    k := cardinality(u);
    cand := case when k > boost_fit.bins
                 then (select array_agg(distinct u[1 + (b * k) / boost_fit.bins] order by u[1 + (b * k) / boost_fit.bins])
                       from generate_series(1, boost_fit.bins - 1) b)
                 else u[2:k] end;
    vc_from := vc_from || (cardinality(vc_t) + 1);
    pos := 0;
    for c in 1..coalesce(cardinality(cand), 0) loop
      while pos < n and x[(ord[(j - 1) * n + pos + 1] - 1) * p + j] < cand[c] loop
        pos := pos + 1;
      end loop;
      if pos >= boost_fit.min_rows and n - pos >= boost_fit.min_rows then
        vc_t := vc_t || cand[c];
        vc_pos := vc_pos || pos;
      end if;
    end loop;
    vc_to := vc_to || cardinality(vc_t);
  end loop;
  -- start at the link of the mean
  base := case v_family
    when 'binomial' then ln((select avg(v) from unnest(y) v) / (1 - (select avg(v) from unnest(y) v)))
    when 'poisson' then ln((select sum(v) from unnest(y) v) / (select sum(exp(v)) from unnest(off) v))
    else (select avg(v) from unnest(y) v) end;
  f := array_fill(base, array[n]);
  g := array_fill(0::float8, array[n]);
  h := array_fill(0::float8, array[n]);
  for r in 1..boost_fit.rounds loop
    gs := 0;
    hs := 0;
    for i in 1..n loop
      if v_family = 'binomial' then
        t := 1 / (1 + exp(-greatest(-700, least(700, f[i]))));
        g[i] := t - y[i];
        h[i] := t * (1 - t);
      elsif v_family = 'poisson' then
        t := exp(least(700, f[i] + off[i]));
        g[i] := t - y[i];
        h[i] := t;
      else
        g[i] := f[i] - y[i];
        h[i] := 1;
      end if;
      gs := gs + g[i];
      hs := hs + h[i];
    end loop;
    best_gain := null;
    for j in 1..p loop
      -- sweep the rows in value order: before threshold t are exactly the rows with x < t (the first
      -- vc_pos of them)
      continue when vc_from[j] > vc_to[j];
      q := 0;
      gl := 0;
      hl := 0;
      base_o := (j - 1) * n;
      for c in vc_from[j]..vc_to[j] loop
        for k in base_o + q + 1..base_o + vc_pos[c] loop
          gl := gl + g[ord[k]];
          hl := hl + h[ord[k]];
        end loop;
        q := vc_pos[c];
        gain := gl * gl / (hl + lam) + (gs - gl) ^ 2 / (hs - hl + lam) - gs * gs / (hs + lam);
        if gain > 1e-12 and (best_gain is null or gain > best_gain + 1e-12 * abs(best_gain)) then
          best_gain := gain;
          best_j := j;
          best_t := vc_t[c];
          best_gl := gl;
          best_hl := hl;
        end if;
      end loop;
    end loop;
    exit when best_gain is null;
    vl := -rate * best_gl / (best_hl + lam);
    vr := -rate * (gs - best_gl) / (hs - best_hl + lam);
    for i in 1..n loop
      f[i] := f[i] + case when x[(i - 1) * p + best_j] < best_t then vl else vr end;
    end loop;
    stumps := stumps || jsonb_build_object('feature', boost_fit.predictors[best_j], 'threshold', best_t,
                                           'left', vl, 'right', vr, 'gain', best_gain);
    st_k := st_k || best_j;
    st_t := st_t || best_t;
    st_l := st_l || vl;
    st_r := st_r || vr;
    used := r;
  end loop;
  dev := aoma_private.boost_deviance(v_family, f, y, off);
  -- permutation importance: column j rotated by ⌊n/2⌋ rows. A predictor no stump uses scores every
  -- row as before, so its importance is 0 without the sums (the same stumps in the same order give
  -- the same bits).
  for j in 1..p loop
    if j = any (coalesce(st_k, '{}')) then
      fp := array_fill(base, array[n]);
      for s in 1..used loop
        k := st_k[s];
        for i in 1..n loop
          t := x[(case when k = j then ((i - 1 + n / 2) % n) + 1 else i end - 1) * p + k];
          fp[i] := fp[i] + case when t < st_t[s] then st_l[s] else st_r[s] end;
        end loop;
      end loop;
    end if;
    imp := imp || jsonb_build_object('feature', boost_fit.predictors[j],
      'importance', case when j = any (coalesce(st_k, '{}')) then (aoma_private.boost_deviance(v_family, fp, y, off) - dev) / n else 0 end,
      'direction', (select sign(sum((e ->> 'right')::float8 - (e ->> 'left')::float8)) from jsonb_array_elements(stumps) e
                    where e ->> 'feature' = boost_fit.predictors[j]),
      'stumps', (select count(*) from jsonb_array_elements(stumps) e where e ->> 'feature' = boost_fit.predictors[j]));
  end loop;
  return jsonb_build_object('family', v_family, 'n', n, 'base', base, 'rounds_used', used, 'stumps', stumps, 'deviance', dev,
    'importance', (select jsonb_agg(e order by (e ->> 'importance')::float8 desc, e ->> 'feature') from jsonb_array_elements(imp) e));
end;
$$;
grant execute on function aoma_private.boost_fit(text, text[], text, integer, float8, float8, integer, integer) to authenticated, service_role;

-- aoma_private.boost_score(model, x): the score F (link scale, without the offset) of one row of
-- predictor values x (in the order of the model's predictors, names) under a boost_fit model.
create or replace function aoma_private.boost_score(model jsonb, names text[], x float8[])
returns float8
language sql
immutable
set search_path = ''
as $f$
  select (model ->> 'base')::float8
         + coalesce(sum(case when x[array_position(names, e ->> 'feature')] < (e ->> 'threshold')::float8
                             then (e ->> 'left')::float8 else (e ->> 'right')::float8 end), 0)
  from jsonb_array_elements(model -> 'stumps') e
$f$;
grant execute on function aoma_private.boost_score(jsonb, text[], float8[]) to authenticated, service_role;
