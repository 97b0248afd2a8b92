-- AOMA Mesh Analytics — conditional threshold drivers (analytics.explain_drivers).
--
-- analytics.correlate answers "what moves with the failures, one feature at a time". Failures have
-- several causes at once, and the ones the team can act on are thresholds ("after days with more
-- than 1,200 assets", "on days with more than 15 commits"). A weak cause next to a strong one is
-- invisible to a one-at-a-time correlation: the strong cause's variance buries it. This module
-- finds the drivers together:
--
--   * the target is a count per day (Poisson, log link) or a rate with its exposure
--     (processing_failure_rate = processing_failures / processing_attempts: Poisson with offset
--     log(attempts)), so effects are rate ratios ("×2.3 on Mondays");
--   * every candidate (driver feature at lag 0..max_lag, calendar indicator) is a step
--     1[x ≥ threshold]; the threshold is the cut that maximises the score statistic, over cuts that
--     leave at least 10% of the days (and 5) on each side;
--   * forward selection: starting from a constant rate, the candidate with the smallest
--     threshold-adjusted p-value enters while that p-value is below 0.01 (at most max_terms terms).
--     Not Bonferroni over the candidates: measured on generator seeds 121-160, "p × candidates <
--     0.05" dropped the weak planted effect (×1.33) on 6 of 40 seeds, because the dispersion of a
--     model still missing it is inflated (README, "Why the coverage falls short");
--   * then every selected step's threshold is searched again given all the other selected terms
--     (the same score scan), and the model refitted when one moves, until none moves (at most 10
--     passes). A threshold found when its step entered was searched given only the terms before it:
--     the step "volume of the previous day ≥ t" entering before Mondays, whose previous day is a
--     low-volume Sunday, sat at 1,241 instead of the planted 1,200 and its effect was shrunk by the
--     high days it left out (seeds 121-160);
--   * backward check: the selected term with the largest final p (given all the others, with the
--     whole model's dispersion) leaves when p × candidates ≥ 0.05, and the threshold passes run
--     again, until every term passes. Entry at p < 0.01 lets a spurious step in now and then (log
--     warnings, noise in the generator, entered beside Mondays on 2 of 40 seeds and took part of
--     their effect); once every real driver is in, the dispersion is no longer inflated and the weak
--     planted step keeps p far below the Bonferroni level;
--   * stepwise: forward selection, the passes and the backward check run again while the model
--     changes (at most 5 rounds; a term that left never returns): a candidate that missed p < 0.01
--     beside a mis-set model can enter once the thresholds have moved (generator seed 275: the
--     commits step, p 8e-7 given the final model, entered only at the second round);
--   * every candidate is then tested given all selected terms but itself (score test; quasi-Poisson:
--     dispersion = max(1, Pearson X² / df) of that model), with a p-value that accounts for the
--     threshold search (Lausen, Sauerbrei & Schumacher 1994 improved Bonferroni bound over the
--     actual cuts, capped by plain Bonferroni); Benjamini–Hochberg q over all candidates.
--
-- Checked against an independent numpy/statsmodels implementation (tests/reference/make_drivers_reference.py).

-- erfc(x) for x ≥ 0 (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7); PostgreSQL 15 has no erfc.
create or replace function aoma_private.normal_sf2(b float8)
returns float8
language sql
immutable strict parallel safe
set search_path = ''
as $$
  -- two-sided normal tail P(|Z| > b) = erfc(b / √2), at most 1 (the fit's error would give 1.00000003 at b = 0)
  select case when s.z > 26 then 0::float8 else least(1::float8, t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
           + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))) end
  from (select abs(b) / sqrt(2.0::float8) as z) s, lateral (select 1 / (1 + 0.5 * s.z) as t) u
$$;
comment on function aoma_private.normal_sf2(float8) is
  'Two-sided standard normal tail P(|Z| > b) = erfc(|b|/√2) (Chebyshev fit, relative error < 1.2e-7).';
revoke execute on function aoma_private.normal_sf2(float8) from public;
grant execute on function aoma_private.normal_sf2(float8) to authenticated, service_role;

-- Cholesky factor of a symmetric p×p matrix (row-major float8[]): lower-triangular L with L Lᵀ = m,
-- or null when m is not positive definite (collinear design).
create or replace function aoma_private.cholesky(m float8[], p integer)
returns float8[]
language plpgsql
immutable strict
set search_path = ''
as $$
declare
  l float8[] := array_fill(0::float8, array[p * p]);
  s float8;
begin
  for i in 1..p loop
    for j in 1..i loop
      s := m[(i - 1) * p + j];
      for k in 1..j - 1 loop
        s := s - l[(i - 1) * p + k] * l[(j - 1) * p + k];
      end loop;
      if i = j then
        if s <= 1e-12 * greatest(abs(m[(i - 1) * p + i]), 1e-300) then
          return null;
        end if;
        l[(i - 1) * p + i] := sqrt(s);
      else
        l[(i - 1) * p + j] := s / l[(j - 1) * p + j];
      end if;
    end loop;
  end loop;
  return l;
end;
$$;
comment on function aoma_private.cholesky(float8[], integer) is
  'Lower Cholesky factor (row-major) of a symmetric p×p matrix, null when it is not positive definite.';
revoke execute on function aoma_private.cholesky(float8[], integer) from public;
grant execute on function aoma_private.cholesky(float8[], integer) to authenticated, service_role;

-- Solves L v = b (forward substitution) for lower-triangular L (row-major p×p).
create or replace function aoma_private.forward_solve(l float8[], b float8[], p integer)
returns float8[]
language plpgsql
immutable strict
set search_path = ''
as $$
declare
  v float8[] := array_fill(0::float8, array[p]);
  s float8;
begin
  for i in 1..p loop
    s := b[i];
    for k in 1..i - 1 loop
      s := s - l[(i - 1) * p + k] * v[k];
    end loop;
    v[i] := s / l[(i - 1) * p + i];
  end loop;
  return v;
end;
$$;
comment on function aoma_private.forward_solve(float8[], float8[], integer) is 'Solves L v = b for lower-triangular L (row-major p×p).';
revoke execute on function aoma_private.forward_solve(float8[], float8[], integer) from public;
grant execute on function aoma_private.forward_solve(float8[], float8[], integer) to authenticated, service_role;

-- Solves Lᵀ v = b (back substitution) for lower-triangular L (row-major p×p).
create or replace function aoma_private.backward_solve(l float8[], b float8[], p integer)
returns float8[]
language plpgsql
immutable strict
set search_path = ''
as $$
declare
  v float8[] := array_fill(0::float8, array[p]);
  s float8;
begin
  for i in reverse p..1 loop
    s := b[i];
    for k in i + 1..p loop
      s := s - l[(k - 1) * p + i] * v[k];
    end loop;
    v[i] := s / l[(i - 1) * p + i];
  end loop;
  return v;
end;
$$;
comment on function aoma_private.backward_solve(float8[], float8[], integer) is 'Solves Lᵀ v = b for lower-triangular L (row-major p×p).';
revoke execute on function aoma_private.backward_solve(float8[], float8[], integer) from public;
grant execute on function aoma_private.backward_solve(float8[], float8[], integer) to authenticated, service_role;

-- earlier version: its own array IRLS (now the one of fit_glm, aoma_private.irls)
drop function if exists aoma_private.poisson_moments(float8[], float8[], float8[], integer, float8[]);

/*
 * Poisson regression with log link and offset, fitted by the project's one IRLS (aoma_private.irls,
 * sql/70_models.sql: the scan and solve of fit_glm) over the rows of three arrays.
 * y, off: n values; x: the n×p design, row-major (column 1 = intercept). Returns the coefficients,
 * the fitted means, the Cholesky factor of the Fisher information XᵀWX (W = μ, at the last
 * iteration), Pearson X² and whether it converged (fit_glm's rule: the deviance stable to 1e-13
 * within 100 iterations); a step coefficient past ±25 stops it early, not converged (the step
 * separates the data and its estimate runs off to infinity), and so does a constant or collinear
 * design or fitted means beyond the float range (never an error: the caller leaves that candidate
 * out).
 */
create or replace function aoma_private.poisson_fit(
  y float8[], off float8[], x float8[], p integer,
  out beta float8[], out mu float8[], out chol float8[], out pearson_x2 float8, out converged boolean
)
language plpgsql
immutable strict
set search_path = ''
as $$
declare
  n integer := cardinality(y);
  fit record;
  data float8[];
begin
  converged := false;
  -- the rows as a query over $1 = y, off and the design's columns 2..p one after another (n values
  -- each): unnest(slices) as (y, off, x_1 … x_{p−1}); not centred (mean 0): the columns are 0/1
  -- steps, and the information is then XᵀWX itself
  data := y || off || array_fill(0::float8, array[n * (p - 1)]);
  for j in 2..p loop
    for i in 1..n loop
      data[(j * n) + i] := x[(i - 1) * p + j];
    end loop;
  end loop;
  begin
    fit := aoma_private.irls(
      format('select * from unnest(%s) as u(y, off%s)',
             (select string_agg(format('$1[%s:%s]', c * n + 1, (c + 1) * n), ', ' order by c) from generate_series(0, p) c),
             coalesce((select string_agg(format(', x_%s', j), '' order by j) from generate_series(1, p - 1) j), '')),
      (select coalesce(array_agg(format('column %s', j) order by j), '{}') from generate_series(2, p) j),
      'poisson', array_fill(0::float8, array[p - 1]), null, 25, data);
  exception when sqlstate '22023' or sqlstate '22003' then
    return;  -- a constant or collinear column, or means out of the float range
  end;
  beta := fit.beta;
  pearson_x2 := fit.pearson;
  chol := aoma_private.cholesky(aoma_private.unpack_symmetric(fit.a, p), p);
  converged := fit.converged and chol is not null;
  -- fitted means at the final coefficients (fit_glm's linear predictor and inverse link)
  mu := array_fill(0::float8, array[n]);
  for i in 1..n loop
    mu[i] := aoma_private.glm_mean('poisson', off[i] + aoma_private.linear_predictor(beta, x[(i - 1) * p + 2:i * p]));
  end loop;
end;
$$;
comment on function aoma_private.poisson_fit(float8[], float8[], float8[], integer) is
  'Poisson GLM (log link, offset) by the shared IRLS (aoma_private.irls): coefficients, fitted means, Cholesky factor of XᵀWX, Pearson X², converged.';
revoke execute on function aoma_private.poisson_fit(float8[], float8[], float8[], integer) from public;
grant execute on function aoma_private.poisson_fit(float8[], float8[], float8[], integer) to authenticated, service_role;

-- Rows of the design whitened by the information's Cholesky factor: qᵢ = L⁻¹ xᵢ (n×p, row-major),
-- so that aᵀ M⁻¹ b = (Σ μᵢ qᵢ)·(Σ μⱼ qⱼ) for sums over any two row sets.
create or replace function aoma_private.whiten(x_design float8[], chol float8[], p integer)
returns float8[]
language plpgsql
immutable strict
set search_path = ''
as $$
declare
  n integer := cardinality(x_design) / p;
  q float8[] := array_fill(0::float8, array[n * p]);
  row_q float8[];
begin
  -- filled in place (an expanded array: O(1) per element); q := q || … would copy q every row
  for i in 1..n loop
    row_q := aoma_private.forward_solve(chol, x_design[(i - 1) * p + 1:i * p], p);
    for j in 1..p loop
      q[(i - 1) * p + j] := row_q[j];
    end loop;
  end loop;
  return q;
end;
$$;
comment on function aoma_private.whiten(float8[], float8[], integer) is 'Design rows times L⁻¹ (L the Cholesky factor of XᵀWX), row-major.';
revoke execute on function aoma_private.whiten(float8[], float8[], integer) from public;
grant execute on function aoma_private.whiten(float8[], float8[], integer) to authenticated, service_role;

/*
 * Best step 1[x ≥ threshold] to add to a fitted Poisson model, by the efficient score statistic
 * z(t) = U(t) / sqrt(φ · I(t)) with U(t) = Σ_{x ≥ t} (y − μ) and I(t) = Σ_{x ≥ t} μ − ‖v(t)‖²,
 * v(t) = Σ_{x ≥ t} μᵢ qᵢ (q = whitened design rows, aoma_private.whiten): the information left
 * after the model's own columns. Cuts lie between distinct values and leave at least min_side
 * values on each side. The p-value of the maximum |z| over the cuts is the Lausen, Sauerbrei &
 * Schumacher (1994) improved Bonferroni bound
 *   2Φ(−b) + Σᵢ (1/π) e^(−b²/2) (tᵢ − (b²/4 − 1) tᵢ³ / 6),  tᵢ = sqrt(1 − ρᵢ²),
 * ρᵢ the correlation of the statistics at consecutive cuts, capped by Bonferroni (cuts × 2Φ(−b))
 * and 1; a single cut (an indicator) gets the plain 2Φ(−b). Nulls when no cut qualifies.
 */
create or replace function aoma_private.step_scan(
  x float8[], y float8[], mu float8[], q float8[], p integer, phi float8, min_side integer,
  out z float8, out threshold float8, out below float8, out n_high integer, out cuts integer,
  out p_value float8, out u float8, out info float8
)
language plpgsql
immutable strict
set search_path = ''
as $$
declare
  n integer := cardinality(x);
  ord integer[];
  v float8[] := array_fill(0::float8, array[p]);
  prev_v float8[];
  prev_info float8;
  cu float8 := 0;
  cw float8 := 0;
  i integer;
  vv float8;
  cross_term float8;
  rho float8;
  t float8;
  b float8;
  d float8 := 0;
  ts float8[] := '{}'::float8[];
  this_info float8;
  this_z float8;
begin
  cuts := 0;
  select array_agg(s.o::integer order by s.v0 desc, s.o) into ord from unnest(x) with ordinality as s(v0, o);
  for r in 1..n - 1 loop
    i := ord[r];
    cu := cu + (y[i] - mu[i]);
    cw := cw + mu[i];
    for j in 1..p loop
      v[j] := v[j] + mu[i] * q[(i - 1) * p + j];
    end loop;
    continue when x[i] = x[ord[r + 1]];  -- a cut lies only between distinct values
    continue when r < min_side or n - r < min_side;
    vv := 0;
    for j in 1..p loop
      vv := vv + v[j] * v[j];
    end loop;
    this_info := cw - vv;
    continue when this_info <= 1e-9 * cw;
    cuts := cuts + 1;
    if prev_v is not null then
      -- the previous cut's high set lies inside this one: Cov = Σ_prev μ − v_prev·v
      cross_term := prev_info;
      for j in 1..p loop
        cross_term := cross_term + prev_v[j] * prev_v[j] - prev_v[j] * v[j];
      end loop;
      rho := cross_term / sqrt(prev_info * this_info);
      ts := ts || sqrt(greatest(0, 1 - rho * rho));
    end if;
    prev_v := v;
    prev_info := this_info;
    this_z := cu / sqrt(phi * this_info);
    if z is null or abs(this_z) > abs(z) then
      z := this_z;
      threshold := x[i];
      below := x[ord[r + 1]];
      n_high := r;
      u := cu;
      info := this_info;
    end if;
  end loop;
  if z is null then
    return;
  end if;
  b := abs(z);
  p_value := aoma_private.normal_sf2(b);
  if cuts > 1 and b < 37 then
    foreach t in array ts loop
      d := d + exp(-b * b / 2) / pi() * (t - (b * b / 4 - 1) * t ^ 3 / 6);
    end loop;
    p_value := least(1, p_value + greatest(d, 0), cuts * p_value);
  end if;
end;
$$;
comment on function aoma_private.step_scan(float8[], float8[], float8[], float8[], integer, float8, integer) is
  'Best threshold step 1[x ≥ t] to add to a Poisson fit: score z, threshold, p-value adjusted for the cut search (Lausen et al. 1994).';
revoke execute on function aoma_private.step_scan(float8[], float8[], float8[], float8[], integer, float8, integer) from public;
grant execute on function aoma_private.step_scan(float8[], float8[], float8[], float8[], integer, float8, integer) to authenticated, service_role;

-- The design of a step model: n rows of [1, 1[x_c ≥ t_c] for each chosen candidate c], row-major;
-- c_x holds every candidate's n values one after another.
create or replace function aoma_private.step_design(c_x float8[], n integer, chosen integer[], thresholds float8[])
returns float8[]
language plpgsql
immutable strict
set search_path = ''
as $$
declare
  d float8[] := '{}'::float8[];
begin
  for i in 1..n loop
    d := d || 1::float8;
    for k in 1..coalesce(cardinality(chosen), 0) loop
      d := d || case when c_x[(chosen[k] - 1) * n + i] >= thresholds[k] then 1::float8 else 0::float8 end;
    end loop;
  end loop;
  return d;
end;
$$;
comment on function aoma_private.step_design(float8[], integer, integer[], float8[]) is
  'Row-major design [1, steps of the chosen candidates at their thresholds] for aoma_private.poisson_fit.';
revoke execute on function aoma_private.step_design(float8[], integer, integer[], float8[]) from public;
grant execute on function aoma_private.step_design(float8[], integer, integer[], float8[]) to authenticated, service_role;

/*
 * analytics.explain_drivers(target, features, max_lag, date_from, date_to, max_terms, exclude_segments) — which
 * thresholds drive a daily failure count or rate, each given the others (see the top of this file).
 *
 *   target     a daily count outcome (failure_count, processing_failures, error_count, …), the
 *              indicator failure_flag (relative-risk model) or processing_failure_rate (failures
 *              per attempt: processing_failures with exposure processing_attempts). Default
 *              processing_failure_rate.
 *   features   candidate drivers (driver or calendar features); default every driver and calendar
 *              feature of the daily catalog.
 *   max_lag    driver features are tried at lags 0..max_lag days (feature on day t − lag against the
 *              target on day t); calendar features at lag 0. 0..7, default 1.
 *   date_from, date_to  inclusive UTC days; default all data.
 *   max_terms  at most this many steps enter the model (0..10, default 6).
 *   exclude_segments  processing_failure_rate only: asset segments ('360RA/legacy': asset type /
 *              migration state) whose attempts are left out of the rate — a cohort failing at its
 *              own rate for a while (build_predictive_model's segment screen) then does not bend
 *              the drivers' thresholds. Default none.
 *
 * One row per candidate (feature, lag), ranked by p-value:
 *   threshold, below  the step is feature ≥ threshold; below = the largest value under it
 *   days_high, n      days at or above the threshold / days analysed
 *   rate_ratio, ci_low, ci_high  target rate on days at or above the threshold relative to the
 *                     others, given the model's other terms, with a 95% interval (quasi-Poisson);
 *                     exact for terms in the model, a one-step score estimate for the rest
 *   z, p_value, q_value  score test of the step given every selected term but itself, p adjusted
 *                     for the threshold search, BH q over all candidates of the call
 *   in_model, entry_order  whether (and when) forward selection took the term in
 *
 * Example:
 *   select rank, feature, lag, threshold, round(rate_ratio::numeric, 2) as rr, q_value, in_model
 *   from analytics.explain_drivers() where q_value < 0.05;
 */
drop function if exists analytics.explain_drivers(text, text[], integer, date, date, integer);

-- aoma_private.segment_days_sql(excluded): a FROM item of days (to be aliased by the caller) with
-- day, processing_failures and processing_attempts counting only the attempts of the asset segments
-- not in excluded; analytics.features_daily itself when excluded is null or empty.
create or replace function aoma_private.segment_days_sql(excluded text[])
returns text
language sql
immutable
set search_path = ''
as $$
  select case when coalesce(cardinality(excluded), 0) = 0 then 'analytics.features_daily'
    else format('(select d.day, coalesce(g.failed, 0) as processing_failures, coalesce(g.attempts, 0) as processing_attempts
                  from analytics.features_daily d left join (
                    select s.day, sum(s.processing_attempts) as attempts, sum(s.processing_failures) as failed
                    from analytics.segments_daily s
                    where s.segment <> all (%L::text[])
                    group by 1) g on g.day = d.day)', excluded) end
$$;
revoke execute on function aoma_private.segment_days_sql(text[]) from public;
grant execute on function aoma_private.segment_days_sql(text[]) to authenticated, service_role;
create or replace function analytics.explain_drivers(
  target text default 'processing_failure_rate',
  features text[] default null,
  max_lag integer default 1,
  date_from date default null,
  date_to date default null,
  max_terms integer default 6,
  exclude_segments text[] default null
)
returns table (
  rank integer, feature text, lag integer, threshold float8, below float8, days_high integer, n integer,
  rate_ratio float8, ci_low float8, ci_high float8, z float8, p_value float8, q_value float8,
  in_model boolean, entry_order integer, note text
)
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_target text := coalesce(explain_drivers.target, 'processing_failure_rate');
  v_max_lag integer := coalesce(explain_drivers.max_lag, 1);
  v_max_terms integer := coalesce(explain_drivers.max_terms, 6);
  v_unit text;
  v_kind text;
  v_y_col text;
  v_exposure_col text;
  v_unknown text;
  v_valid text;
  v_days date[];
  v_y_all float8[];
  v_e_all float8[];
  v_rows integer[];  -- indexes into the range's days that are analysed
  v_n integer;
  v_y float8[];
  v_off float8[];
  c_name text[] := '{}'::text[];
  c_lag integer[] := '{}'::integer[];
  c_binary boolean[] := '{}'::boolean[];
  c_x float8[] := '{}'::float8[];  -- concatenated, v_n values per candidate
  v_col float8[];
  v_series float8[];
  v_cands integer;
  v_min_side integer;
  rec record;
  ent integer[] := '{}'::integer[];
  ent_thr float8[] := '{}'::float8[];
  fit record;
  scan record;
  v_design float8[];
  v_q float8[];
  v_p integer;
  v_phi float8;
  best_c integer;
  best_p float8;
  best_thr float8;
  v_changed boolean;     -- stepwise: a threshold moved or a term left in this round
  v_added boolean;       -- stepwise: forward selection added a term in this round
  v_beta float8[];
  v_se float8[];
  v_phi_full float8;
  res_p float8[];
  res_z float8[];
  res_thr float8[];
  res_below float8[];
  res_high integer[];
  res_rr float8[];
  res_lo float8[];
  res_hi float8[];
  res_note text[];
  v_q_values float8[];
  e_idx integer;
  others integer[];
  others_thr float8[];
  v_e float8[];
  v_lin float8[];
  v_skipped integer[] := '{}'::integer[];  -- candidates whose step made the fit diverge
  v_try_design float8[];
  v_try_fit record;
  v_try_thr float8[];
  v_moved boolean;
  t_p float8[];          -- per selected term: its test given the others, from the last pass
  t_z float8[];
  t_done boolean[];
  v_worst integer;       -- backward check: the selected term with the largest final p
  v_dropped integer[] := '{}'::integer[];  -- candidates that entered and left at the backward check
begin
  -- ── arguments ──
  if v_max_lag < 0 or v_max_lag > 7 then
    raise exception 'max_lag must be between 0 and 7 days (got %)', v_max_lag using errcode = '22023';
  end if;
  if v_max_terms < 0 or v_max_terms > 10 then
    raise exception 'max_terms must be between 0 and 10 (got %)', v_max_terms using errcode = '22023';
  end if;

  -- ── range and names, through the catalog only ──
  perform aoma_private.check_analysis_args(explain_drivers.date_from, explain_drivers.date_to,
                                           explain_drivers.features, v_target, 'day');
  select fc.unit, fc.kind into v_unit, v_kind from analytics.feature_catalog fc where fc.name = v_target and fc.grain = 'day';
  if v_target = 'processing_failure_rate' then
    v_y_col := 'processing_failures';
    v_exposure_col := 'processing_attempts';
  elsif v_kind = 'outcome' and (v_unit like '%/day' or v_unit = 'indicator') then
    v_y_col := v_target;
  else
    select string_agg(fc.name, ', ' order by fc.name collate "C") into v_valid
    from analytics.feature_catalog fc
    where fc.grain = 'day' and fc.kind = 'outcome'
      and (fc.unit like '%/day' or fc.unit = 'indicator' or fc.name = 'processing_failure_rate');
    raise exception 'target "%" is not a daily count or rate outcome; explain_drivers models: %', v_target, v_valid
      using errcode = '22023';
  end if;
  select u.name into v_unknown
  from unnest(explain_drivers.features) with ordinality as u(name, ord)
  join analytics.feature_catalog fc on fc.name = u.name and fc.grain = 'day'
  where fc.kind not in ('driver', 'calendar')
  order by u.ord limit 1;
  if v_unknown is not null then
    raise exception '"%" is an outcome, not a candidate driver; candidates are the daily driver and calendar features', v_unknown
      using errcode = '22023';
  end if;
  select u.name into v_unknown
  from unnest(explain_drivers.features) with ordinality as u(name, ord)
  join analytics.feature_catalog fc on fc.name = u.name and fc.grain = 'day'
  where v_target = any (fc.overlaps_with)
  order by u.ord limit 1;
  if v_unknown is not null then
    raise exception '"%" may count the records of the target % itself (analytics.feature_catalog.overlaps_with), so it is not a candidate driver of it; name another driver or calendar feature', v_unknown, v_target
      using errcode = '22023';
  end if;

  if cardinality(explain_drivers.exclude_segments) > 0 and v_target <> 'processing_failure_rate' then
    raise exception 'exclude_segments applies to processing_failure_rate only (the attempts of asset segments such as ''360RA/legacy''); % has no segments', v_target
      using errcode = '22023';
  end if;

  -- ── the target series over the range (without the attempts of exclude_segments) ──
  execute format(
    'select array_agg(v.day order by v.day), array_agg(v.%I::float8 order by v.day), array_agg(%s order by v.day)
     from %s v where ($1::date is null or v.day >= $1) and ($2::date is null or v.day <= $2)',
    v_y_col, case when v_exposure_col is null then '1::float8' else format('v.%I::float8', v_exposure_col) end,
    aoma_private.segment_days_sql(explain_drivers.exclude_segments))
    into v_days, v_y_all, v_e_all using explain_drivers.date_from, explain_drivers.date_to;
  if v_days is null then
    raise exception 'no daily data between % and %',
      coalesce(to_char(explain_drivers.date_from, 'YYYY-MM-DD'), '-infinity'),
      coalesce(to_char(explain_drivers.date_to, 'YYYY-MM-DD'), 'infinity') using errcode = '22023';
  end if;
  select coalesce(array_agg(g.i order by g.i), '{}'::integer[]) into v_rows
  from generate_series(v_max_lag + 1, cardinality(v_days)) as g(i)
  where v_y_all[g.i] is not null and v_e_all[g.i] > 0;
  v_n := cardinality(v_rows);
  if v_n < 20 then
    raise exception 'not enough data: % usable days (target % known, exposure > 0, after a lag of % days); at least 20 are needed',
      v_n, v_target, v_max_lag using errcode = '22023';
  end if;
  if v_n * 100 > 400000 then
    raise exception 'too much work: % days; at most 4000 days per call — narrow the date range', v_n using errcode = '22023';
  end if;
  select array_agg(v_y_all[r] order by o), array_agg(ln(v_e_all[r]) order by o)
    into v_y, v_off from unnest(v_rows) with ordinality as u(r, o);
  if (select sum(x) from unnest(v_y) as x) <= 0 then
    raise exception 'the target % is 0 on every analysed day; there is nothing to explain', v_target using errcode = '22023';
  end if;

  -- ── candidates: (feature, lag), each as a series aligned with the analysed days ──
  -- one read per feature; its lags are slices of that series
  for rec in
    select fc.name, fc.kind
    from analytics.feature_catalog fc
    where fc.grain = 'day'
      and case when explain_drivers.features is null
               then fc.kind in ('driver', 'calendar') and fc.name <> v_target
                    and not v_target = any (fc.overlaps_with)  -- never a driver built from the target's own records
               else fc.name = any (explain_drivers.features) end
    order by fc.name collate "C"
  loop
    execute format(
      'select array_agg(coalesce(v.%I::float8, ''-Infinity''::float8) order by v.day)
       from analytics.features_daily v where ($1::date is null or v.day >= $1) and ($2::date is null or v.day <= $2)',
      rec.name) into v_series using explain_drivers.date_from, explain_drivers.date_to;
    for v_lag in 0..case when rec.kind = 'calendar' then 0 else v_max_lag end loop
      select array_agg(v_series[r - v_lag] order by o) into v_col from unnest(v_rows) with ordinality as u(r, o);
      continue when (select count(distinct x) from unnest(v_col) as x) < 2;  -- constant: nothing to test
      c_name := c_name || rec.name::text;
      c_lag := c_lag || v_lag;
      c_binary := c_binary || (rec.kind = 'calendar');
      c_x := c_x || v_col;
    end loop;
  end loop;
  v_cands := cardinality(c_name);
  if v_cands = 0 then
    return;
  end if;
  v_min_side := greatest(5, ceil(0.1 * v_n)::integer);

  -- ── forward selection ──
  -- Each step fits the model with the best candidate added. When that fit does not converge (the
  -- step separates days with and without the target, so its rate ratio is unbounded, or the design
  -- turns collinear), the candidate is left out of the model with a note and the selection goes on
  -- with the others: the fallback is fewer candidates, never no answer.
  v_design := aoma_private.step_design(c_x, v_n, ent, ent_thr);
  v_p := 1;
  fit := aoma_private.poisson_fit(v_y, v_off, v_design, v_p);
  if not fit.converged then
    raise exception 'the constant-rate model of % did not converge; narrow the date range', v_target using errcode = 'P0001';
  end if;
  -- Stepwise: forward selection, the threshold passes and the backward check below run again
  -- while the model changes (at most 5 rounds): once thresholds have moved or a term has left, a
  -- candidate that missed p < 0.01 beside a mis-set model (its dispersion inflated) can enter. A term
  -- that left at the backward check does not come back.
  for v_round in 1..5 loop
    v_changed := false;
    v_added := false;
    loop
      exit when cardinality(ent) >= v_max_terms;
      v_phi := greatest(1, fit.pearson_x2 / (v_n - v_p));
      v_q := aoma_private.whiten(v_design, fit.chol, v_p);
      best_c := null;
      for c in 1..v_cands loop
        continue when c = any (ent) or c = any (v_skipped) or c = any (v_dropped);
        scan := aoma_private.step_scan(c_x[(c - 1) * v_n + 1:c * v_n], v_y, fit.mu, v_q, v_p, v_phi, v_min_side);
        continue when scan.z is null;
        if best_c is null or scan.p_value < best_p then
          best_c := c;
          best_p := scan.p_value;
          best_thr := scan.threshold;
        end if;
      end loop;
      exit when best_c is null or best_p >= 0.01;
      v_try_design := aoma_private.step_design(c_x, v_n, ent || best_c, ent_thr || best_thr);
      v_try_fit := aoma_private.poisson_fit(v_y, v_off, v_try_design, v_p + 1);
      if v_try_fit.converged then
        ent := ent || best_c;
        ent_thr := ent_thr || best_thr;
        v_design := v_try_design;
        v_p := v_p + 1;
        fit := v_try_fit;
        v_added := true;
      else
        v_skipped := v_skipped || best_c;
      end if;
    end loop;
    exit when v_round > 1 and not v_added;  -- the model is the one the last passes and check left
    -- ── backward check: a term stays only if it is significant among all the candidates ──
    -- Entry at p < 0.01 is permissive (every candidate competes at every step), so a spurious step
    -- can enter, most often beside a real weekly pattern, and take part of its effect. After the
    -- threshold passes below, the term with the largest final p (threshold-adjusted, given all the
    -- other terms) leaves when p × candidates ≥ 0.05 (Bonferroni over the candidates), and the passes
    -- run again without it; a real driver, tested with every other real driver in the model (so no
    -- dispersion inflated by missing terms), keeps p far below that.
    loop
      -- ── each selected threshold searched again given all the other terms, until none moves ──
      -- A pass scans every term given all the others (with the whole model's dispersion); the pass in
      -- which nothing moves is the final test of each term, so its scans are kept for the answer. Moves
      -- stop after 10 passes; an 11th then only tests.
      for v_pass in 1..11 loop
        v_moved := false;
        t_p := array_fill(null::float8, array[greatest(cardinality(ent), 1)]);
        t_z := t_p;
        t_done := array_fill(false, array[greatest(cardinality(ent), 1)]);
        for k in 1..cardinality(ent) loop
          others := ent[1:k - 1] || ent[k + 1:cardinality(ent)];
          others_thr := ent_thr[1:k - 1] || ent_thr[k + 1:cardinality(ent)];
          v_try_design := aoma_private.step_design(c_x, v_n, others, others_thr);
          v_try_fit := aoma_private.poisson_fit(v_y, v_off, v_try_design, v_p - 1);
          continue when not v_try_fit.converged;
          scan := aoma_private.step_scan(c_x[(ent[k] - 1) * v_n + 1:ent[k] * v_n], v_y, v_try_fit.mu,
                                         aoma_private.whiten(v_try_design, v_try_fit.chol, v_p - 1), v_p - 1,
                                         greatest(1, fit.pearson_x2 / (v_n - v_p)), v_min_side);
          t_done[k] := true;
          t_p[k] := scan.p_value;
          t_z[k] := scan.z;
          continue when v_pass > 10 or scan.threshold is null or scan.threshold = ent_thr[k];
          v_try_thr := ent_thr;
          v_try_thr[k] := scan.threshold;
          v_try_design := aoma_private.step_design(c_x, v_n, ent, v_try_thr);
          v_try_fit := aoma_private.poisson_fit(v_y, v_off, v_try_design, v_p);
          continue when not v_try_fit.converged;
          ent_thr := v_try_thr;
          v_design := v_try_design;
          fit := v_try_fit;
          v_moved := true;
          v_changed := true;
        end loop;
        exit when not v_moved;
      end loop;
      v_worst := null;
      for k in 1..cardinality(ent) loop
        continue when not t_done[k];
        if v_worst is null or t_p[k] > t_p[v_worst] then
          v_worst := k;
        end if;
      end loop;
      exit when v_worst is null or t_p[v_worst] * v_cands < 0.05;
      others := ent[1:v_worst - 1] || ent[v_worst + 1:cardinality(ent)];
      others_thr := ent_thr[1:v_worst - 1] || ent_thr[v_worst + 1:cardinality(ent)];
      v_try_design := aoma_private.step_design(c_x, v_n, others, others_thr);
      v_try_fit := aoma_private.poisson_fit(v_y, v_off, v_try_design, v_p - 1);
      exit when not v_try_fit.converged;
      v_dropped := v_dropped || ent[v_worst];
      ent := others;
      ent_thr := others_thr;
      v_design := v_try_design;
      v_p := v_p - 1;
      fit := v_try_fit;
      v_changed := true;
    end loop;
    exit when not v_changed;
  end loop;

  -- ── the final model (the last converged fit): exact rate ratios of its terms ──
  v_phi_full := greatest(1, fit.pearson_x2 / (v_n - v_p));
  v_beta := fit.beta;
  v_se := '{}'::float8[];
  for j in 1..v_p loop
    v_e := array_fill(0::float8, array[v_p]);
    v_e[j] := 1;
    v_lin := aoma_private.forward_solve(fit.chol, v_e, v_p);  -- column j of L⁻¹: ‖·‖² = [M⁻¹]_jj
    v_se := v_se || sqrt(v_phi_full * (select sum(x * x) from unnest(v_lin) as x));
  end loop;
  v_q := aoma_private.whiten(v_design, fit.chol, v_p);

  res_p := array_fill(null::float8, array[v_cands]);
  res_z := res_p; res_thr := res_p; res_below := res_p; res_rr := res_p; res_lo := res_p; res_hi := res_p;
  res_high := array_fill(null::integer, array[v_cands]);
  res_note := array_fill(null::text, array[v_cands]);

  -- candidates outside the model: tested given the whole model
  for c in 1..v_cands loop
    continue when c = any (ent);
    scan := aoma_private.step_scan(c_x[(c - 1) * v_n + 1:c * v_n], v_y, fit.mu, v_q, v_p, v_phi_full, v_min_side);
    continue when scan.z is null;
    res_p[c] := scan.p_value; res_z[c] := scan.z; res_thr[c] := scan.threshold; res_below[c] := scan.below;
    res_high[c] := scan.n_high;
    res_rr[c] := exp(scan.u / scan.info);
    res_lo[c] := exp(scan.u / scan.info - 1.959963984540054 * sqrt(v_phi_full / scan.info));
    res_hi[c] := exp(scan.u / scan.info + 1.959963984540054 * sqrt(v_phi_full / scan.info));
    res_note[c] := case when c = any (v_skipped)
                        then 'left out of the model: with it the fit did not converge (its step all but separates days with and '
                             || 'without the target, so the rate ratio is unbounded); one-step estimate given the model''s terms'
                        when c = any (v_dropped)
                        then 'entered the model and left it at the backward check (given the other terms, not significant '
                             || 'among all the candidates: p × candidates ≥ 0.05); one-step estimate given the model''s terms'
                        else 'not in the model: one-step estimate given the model''s terms' end;
  end loop;

  -- terms in the model: each tested given the others (its threshold searched again)
  for k in 1..cardinality(ent) loop
    e_idx := ent[k];
    res_thr[e_idx] := ent_thr[k];
    res_below[e_idx] := (select max(x) from unnest(c_x[(e_idx - 1) * v_n + 1:e_idx * v_n]) as x where x < ent_thr[k]);
    res_high[e_idx] := (select count(*) from unnest(c_x[(e_idx - 1) * v_n + 1:e_idx * v_n]) as x where x >= ent_thr[k]);
    res_rr[e_idx] := exp(v_beta[k + 1]);
    res_lo[e_idx] := exp(v_beta[k + 1] - 1.959963984540054 * v_se[k + 1]);
    res_hi[e_idx] := exp(v_beta[k + 1] + 1.959963984540054 * v_se[k + 1]);
    res_note[e_idx] := format('in the model (entered %s of %s)', k, cardinality(ent));
    if not t_done[k] then
      -- its rate ratio stands (the full model converged); its test given the others cannot be made
      res_note[e_idx] := res_note[e_idx] || '; not tested: the model without it did not converge';
      continue;
    end if;
    -- its test given the others: the scan of the last pass (its threshold searched again)
    res_p[e_idx] := t_p[k];
    res_z[e_idx] := t_z[k];
  end loop;

  v_q_values := aoma_private.bh_qvalues(res_p);
  return query
  select (row_number() over (order by r.p nulls last, abs(r.z) desc nulls last, r.name collate "C", r.lag))::integer,
         r.name, r.lag, r.thr, r.blw, r.high, v_n, r.rr, r.lo, r.hi, r.z, r.p, r.q,
         r.c = any (ent), array_position(ent, r.c), coalesce(r.note, 'no threshold leaves 10% of the days on each side')
  from (
    select g.c, c_name[g.c] as name, c_lag[g.c] as lag, res_thr[g.c] as thr, res_below[g.c] as blw,
           res_high[g.c] as high, res_rr[g.c] as rr, res_lo[g.c] as lo, res_hi[g.c] as hi, res_z[g.c] as z,
           res_p[g.c] as p, v_q_values[g.c] as q, res_note[g.c] as note
    from generate_series(1, v_cands) as g(c)
  ) r
  order by 1;
end;
$$;
comment on function analytics.explain_drivers(text, text[], integer, date, date, integer, text[]) is
  'Threshold drivers of a daily failure count or rate, each given the others: quasi-Poisson forward selection of steps feature ≥ threshold, rate ratios with 95% CIs, threshold-adjusted p and BH q. See sql/50_drivers.sql.';
revoke execute on function analytics.explain_drivers(text, text[], integer, date, date, integer, text[]) from public;
grant execute on function analytics.explain_drivers(text, text[], integer, date, date, integer, text[]) to authenticated, service_role;
