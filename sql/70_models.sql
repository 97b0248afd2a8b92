-- AOMA Mesh Analytics — regression models fitted in SQL (issue 10, part 1: the fits).
--
-- ── analytics.fit_glm(relation, target, predictors, family, exposure, level) ───────────────────────
--   relation    regclass  a table or view the caller can read (one row per observation)
--   target      text      its outcome column (numeric): any number (gaussian), 0/1 (binomial),
--                         a count ≥ 0 (poisson, quasipoisson)
--   predictors  text[]    1..30 numeric columns; an intercept is always added
--   family      text      'gaussian' (OLS) | 'binomial' (logistic) | 'poisson' | 'quasipoisson'
--   exposure    text      default null: a column > 0 whose log is the offset (poisson families: rates);
--                         binomial: the trials of each row, the target then counts its successes
--                         (0..trials; a grouped logistic regression, e.g. failed of attempts per cell)
--   level       float8    default 95: confidence level of the intervals, in (0, 100)
--   l2          float8    default 0: ridge penalty n·l2/2·Σ (sd_j·β_j)² on the standardised slopes
--                         (0..1e6); with l2 > 0 no standard errors, tests or intervals (null)
--   robust      boolean   default true: the robust standard errors hc0_se … hc3_se (gaussian; one
--                         more scan, the costliest part of an OLS fit); false: null, as statsmodels
--                         leaves them until asked
-- Returns one row per term ('(intercept)' first, then the predictors in order): estimate, std_error,
-- statistic (t for gaussian, z otherwise), p_value, ci_low, ci_high, and for gaussian the robust
-- standard errors hc0_se … hc3_se (White's, MacKinnon–White's n/(n − p), leverage-weighted 1/(1 − h)
-- and 1/(1 − h)²; HC2 and HC3 null when a row has leverage 1); then the model's numbers, the same
-- on every row: n, df_resid, r2, adj_r2, f, f_p (gaussian), deviance, null_deviance, llf, aic, bic,
-- scale (σ² for gaussian, the Pearson χ²/df for quasipoisson, else 1), cond (condition number of the
-- standardised design), iterations, family.
-- Rows with a null in any used column are left out (n says how many were used). Runs as the caller.
--
-- ── The sums: one scan per fit (per IRLS iteration) ───────────────────────────────────────────────
-- Every sum is a built-in aggregate (float8 sum(), regr_sxy() …) — transition and combine functions in
-- C, PARALLEL SAFE —, so a fit over millions of rows is one scan that the planner can split over
-- parallel workers (and a distributed Postgres over nodes). OLS: one scan of regr_sxy/regr_sxx over
-- the raw columns gives the rows, the means and the centred cross products (Youngs–Cramer updates,
-- which keep ill-conditioned data exact: the Longley data, raw design condition number 4.9e9, comes
-- out equal to statsmodels; aoma_private.ols_moments_sql), and one more scan the residuals and
-- leverages of the robust standard errors (ols_hc_sql). GLM (canonical links) by IRLS: one scan for
-- the data checks, the predictors' means and OLS's sums of y (a 0/1 target's first iteration), then
-- one per iteration summing the cross products of √w·[1, c] (c = x − mean) and the Pearson
-- residual — the information, the score, Pearson's X² — with the weights computed once per row in
-- SQL at the current coefficients, and the log-likelihood in the same scan (glm_moments_sql); it
-- stops on the Newton decrement (aoma_private.irls). The small solve ((p+1)², scaled to unit diagonal, the Cholesky factor of
-- sql/50_drivers.sql) runs at the end in PL/pgSQL. The IRLS loop (aoma_private.irls) is the
-- project's only one: explain_drivers' step models (aoma_private.poisson_fit) run it over their arrays.
-- Checked against statsmodels 0.13 (OLS, Logit, GLM Poisson): tests/reference/make_glm_reference.py.
-- Errors (SQLSTATE 22023): one sentence naming the column and the fix — unknown or non-numeric
-- column, a constant predictor, collinear predictors, too few rows, a binary target that is not 0/1
-- or has one class only, negative counts, no convergence, perfect separation.

-- earlier versions (a PL/pgSQL aggregate of co-moments; superseded by built-in sums, 20× faster)
drop function if exists aoma_private.glm_working(text, float8, float8, float8);
drop function if exists aoma_private.ols_row(float8[], float8, float8[], float8[], float8[]);
drop function if exists aoma_private.sandwich(float8[], float8[], float8[], integer);
drop function if exists aoma_private.moments_solve(float8[], text[]);
drop aggregate if exists aoma_private.weighted_moments(float8[], float8);
drop function if exists aoma_private.weighted_moments_step(float8[], float8[], float8);
drop function if exists aoma_private.weighted_moments_combine(float8[], float8[]);
drop function if exists aoma_private.weighted_moments_final(float8[]);

-- ───────────────────────────── small linear algebra ─────────────────────────────

-- aoma_private.spd_inverse(a, p): the inverse of a symmetric positive definite p×p matrix (row-major)
-- through its Cholesky factor (aoma_private.cholesky, sql/50_drivers.sql); null when it is not PD.
create or replace function aoma_private.spd_inverse(a float8[], p integer)
returns float8[]
language plpgsql
immutable parallel safe
set search_path = ''
as $$
declare
  l float8[] := aoma_private.cholesky(a, p);
  e float8[];
  col float8[];
  inv float8[] := array_fill(0::float8, array[p * p]);
begin
  if l is null then
    return null;
  end if;
  for j in 1..p loop
    e := array_fill(0::float8, array[p]);
    e[j] := 1;
    col := aoma_private.backward_solve(l, aoma_private.forward_solve(l, e, p), p);
    for i in 1..p loop
      inv[(i - 1) * p + j] := col[i];
    end loop;
  end loop;
  return inv;
end;
$$;

-- aoma_private.unpack_symmetric(packed, k): the k×k symmetric matrix (row-major) of its upper
-- triangle packed row by row (k(k+1)/2 values).
create or replace function aoma_private.unpack_symmetric(packed float8[], k integer)
returns float8[]
language plpgsql
immutable parallel safe
set search_path = ''
as $$
declare
  m float8[] := array_fill(0::float8, array[k * k]);
  pos integer := 0;
begin
  for i in 1..k loop
    for j in i..k loop
      pos := pos + 1;
      m[(i - 1) * k + j] := packed[pos];
      m[(j - 1) * k + i] := packed[pos];
    end loop;
  end loop;
  return m;
end;
$$;

-- aoma_private.mat_mul(a, b, k): the product of two k×k matrices (row-major).
create or replace function aoma_private.mat_mul(a float8[], b float8[], k integer)
returns float8[]
language plpgsql
immutable parallel safe
set search_path = ''
as $$
declare
  c float8[] := array_fill(0::float8, array[k * k]);
  t float8;
begin
  for i in 1..k loop
    for j in 1..k loop
      t := 0;
      for l in 1..k loop
        t := t + a[(i - 1) * k + l] * b[(l - 1) * k + j];
      end loop;
      c[(i - 1) * k + j] := t;
    end loop;
  end loop;
  return c;
end;
$$;

-- aoma_private.sym_eigenvalues(a, p): the eigenvalues of a symmetric p×p matrix (cyclic Jacobi).
create or replace function aoma_private.sym_eigenvalues(a float8[], p integer)
returns float8[]
language plpgsql
immutable parallel safe
set search_path = ''
as $$
declare
  off float8;
  theta float8;
  t float8;
  c float8;
  s float8;
  akp float8;
  akq float8;
begin
  for sweep in 1..100 loop
    off := 0;
    for i in 1..p loop
      for j in i + 1..p loop
        off := off + a[(i - 1) * p + j] ^ 2;
      end loop;
    end loop;
    exit when off <= 1e-30 * greatest((select sum(a[(i - 1) * p + i] ^ 2) from generate_series(1, p) i), 1e-300);
    for pp in 1..p - 1 loop
      for qq in pp + 1..p loop
        continue when a[(pp - 1) * p + qq] = 0;
        theta := (a[(qq - 1) * p + qq] - a[(pp - 1) * p + pp]) / (2 * a[(pp - 1) * p + qq]);
        t := sign(theta) / (abs(theta) + sqrt(theta * theta + 1));
        if theta = 0 then
          t := 1;
        end if;
        c := 1 / sqrt(t * t + 1);
        s := t * c;
        for k in 1..p loop
          akp := a[(k - 1) * p + pp];
          akq := a[(k - 1) * p + qq];
          a[(k - 1) * p + pp] := c * akp - s * akq;
          a[(k - 1) * p + qq] := s * akp + c * akq;
        end loop;
        for k in 1..p loop
          akp := a[(pp - 1) * p + k];
          akq := a[(qq - 1) * p + k];
          a[(pp - 1) * p + k] := c * akp - s * akq;
          a[(qq - 1) * p + k] := s * akp + c * akq;
        end loop;
      end loop;
    end loop;
  end loop;
  return (select array_agg(a[(i - 1) * p + i] order by i) from generate_series(1, p) i);
end;
$$;

-- ───────────────────────────── distributions ─────────────────────────────

-- aoma_private.two_sided_quantile(level, df): the q with P(|T| > q) = 1 − level/100 for Student's t
-- with df degrees of freedom (df null: the standard normal), by bisection on the tail functions
-- (student_t_sf2, normal_sf2) — 1.959963985 for level 95 and the normal.
create or replace function aoma_private.two_sided_quantile(level float8, df float8)
returns float8
language plpgsql
immutable parallel safe
set search_path = ''
as $$
declare
  alpha float8 := 1 - level / 100;
  lo float8 := 0;
  hi float8 := 1;
  mid float8;
  tail float8;
begin
  loop
    tail := case when df is null then aoma_private.normal_sf2(hi) else aoma_private.student_t_sf2(hi, df) end;
    exit when tail < alpha or hi > 1e12;
    hi := hi * 2;
  end loop;
  for i in 1..200 loop
    mid := (lo + hi) / 2;
    exit when mid <= lo or mid >= hi;
    tail := case when df is null then aoma_private.normal_sf2(mid) else aoma_private.student_t_sf2(mid, df) end;
    if tail > alpha then
      lo := mid;
    else
      hi := mid;
    end if;
  end loop;
  return (lo + hi) / 2;
end;
$$;

-- ───────────────────────────── the sums: one scan of built-in aggregates ─────────────────────────────
-- Every sum over the rows is a built-in aggregate (float8 sum(), regr_*()) whose transition and
-- combine functions are C and PARALLEL SAFE, so a fit over millions of rows is one scan (one per
-- IRLS iteration) that the planner can split over parallel workers (and a distributed Postgres over
-- nodes); the queries are written by the functions below, every constant (beta, means) as an exact
-- float8 literal.
--
-- Per-row values used many times (c_j = x_j − mean_j, η, μ, the working weight) are computed once
-- per row in a stage: a subquery whose select list also has pg_jit_available() — a built-in C
-- function that is volatile (so PostgreSQL does not flatten the subquery into the outer query,
-- which would copy each expression into every sum that uses it: it has no common subexpressions)
-- and parallel safe (so the scan stays in a parallel plan, which OFFSET 0 would prevent); the plan
-- then computes the stage in the scan's own projection. Measured on 1M rows (2 cores, one logistic
-- IRLS scan, the same sums, serial): generate_series(1, 1) stages (a set-returning function, one
-- ProjectSet node per stage) 2.3–2.6 s, these 1.2 s (0.56 s with 2 workers); lateral unnest()
-- stages were slower still (6.6 s, with an earlier version of the sums).

-- aoma_private.row_stage(cols, src): the stage described above: `cols` computed once per row of src
-- (aliased s; write the columns as s.name).
create or replace function aoma_private.row_stage(cols text, src text)
returns text
language sql
immutable parallel safe
set search_path = ''
as $$
  select format('select %s, pg_jit_available() as once_ from (%s) s', cols, src)
$$;

-- aoma_private.centred_columns(mean, p): the select list `s.x_1 − mean_1 as c1, …` of a first stage.
create or replace function aoma_private.centred_columns(mean float8[], p integer)
returns text
language sql
immutable parallel safe
set search_path = ''
as $$
  select string_agg(format('s.x_%s - (%s)::float8 as c%s', j, mean[j], j), ', ' order by j) from generate_series(1, p) j
$$;

-- aoma_private.ols_moments_sql(src, p): the query of the one scan of an OLS fit over the rows of src
-- (x_1 … x_p, y): n, mean (the p predictors' means, then y's), and in the basis [1, c] with
-- c_j = x_j − mean_j the sums glm_solve takes — a (the packed upper triangle of Σ [1,c][1,c]': n,
-- then p zeros, then Σ c_i c_j row by row), b (Σ (y − ȳ)·[1,c]: 0, then Σ (y − ȳ) c_j) and bb
-- (Σ (y − ȳ)²). The centred co-moments are the built-in regr_sxy/regr_sxx/regr_syy over the raw
-- columns: one C transition per pair of columns and row (Youngs–Cramer updates, exact on
-- ill-conditioned data: the Longley design, condition number 4.9e9, equals statsmodels), and the
-- aggregates over the same pair share one transition state, so the means and squares come free.
-- extra (optional): more items of the same select list, after bb (the data checks of an IRLS fit,
-- glm_check_rows, ride on this scan).
drop function if exists aoma_private.ols_moments_sql(text, integer);
create or replace function aoma_private.ols_moments_sql(src text, p integer, extra text default null)
returns text
language plpgsql
immutable parallel safe
set search_path = ''
as $$
declare
  m integer := p + 1;  -- columns v_1 … v_m = x_1 … x_p, y
  v text[] := (select array_agg(format('s.x_%s', j) order by j) from generate_series(1, p) j) || array['s.y'];
  -- each column's mean and square from a pair it belongs to: (v_i, v_i+1), the last one (v_p, v_m)
  avg_ text := (select string_agg(case when i < m then format('regr_avgx(%s, %s)', v[i + 1], v[i])
                                       else format('regr_avgy(%s, %s)', v[m], v[m - 1]) end, ', ' order by i)
                from generate_series(1, m) i);
  sq text[] := (select array_agg(case when i < m then format('regr_sxx(%s, %s)', v[i + 1], v[i])
                                      else format('regr_syy(%s, %s)', v[m], v[m - 1]) end order by i)
                from generate_series(1, m) i);
  a_ text := (select string_agg(case when i = j then sq[i] else format('regr_sxy(%s, %s)', v[j], v[i]) end, ', ' order by i, j)
              from generate_series(1, p) i, generate_series(1, p) j where j >= i);
  b_ text := (select string_agg(format('regr_sxy(%s, %s)', v[m], v[j]), ', ' order by j) from generate_series(1, p) j);
begin
  return format('select count(*)::integer as n, array[%s]::float8[] as mean,
                        array[count(*)::float8, %s, %s]::float8[] as a, array[0::float8, %s]::float8[] as b, %s as bb%s
                 from (%s) s',
    avg_, array_to_string(array_fill('0::float8'::text, array[p]), ', '), a_, b_, sq[m], coalesce(', ' || extra, ''), src);
end;
$$;

-- aoma_private.cross_product_items(v): the select-list items Σ v_i·v_j (i ≤ j, row by row) of the
-- columns v (a stage's names, e.g. s.u1), each from the built-in regr_* aggregates over the pair:
-- the centred co-moment (Youngs–Cramer) plus n·mean_i·mean_j, n the query's count(*). The
-- aggregates over one pair share their transition state — one C transition per pair and row, and
-- each square comes free from a pair its column is in —: twice as fast as sum(v_i * v_j) (measured,
-- 21 pairs over 1M rows). Callers assemble the items into their arrays.
create or replace function aoma_private.cross_product_items(v text[])
returns table (i integer, j integer, e text)
language sql
immutable parallel safe
set search_path = ''
as $$
  select i, j,
         case when i < j then format('(regr_sxy(%1$s, %2$s) + count(*) * regr_avgx(%1$s, %2$s) * regr_avgy(%1$s, %2$s))', v[j], v[i])
              when i < cardinality(v) then format('(regr_sxx(%1$s, %2$s) + count(*) * regr_avgx(%1$s, %2$s) ^ 2)', v[i + 1], v[i])
              else format('(regr_syy(%1$s, %2$s) + count(*) * regr_avgy(%1$s, %2$s) ^ 2)', v[i], v[i - 1]) end
  from generate_series(1, cardinality(v)) i, generate_series(1, cardinality(v)) j
  where j >= i
$$;

-- aoma_private.glm_moments_sql(src, p, family, beta, mean): the query of one IRLS scan over the rows
-- of src (x_1 … x_p, y, off) for the canonical links (binomial, poisson). With the weights w and
-- u = √w·[1, c] (c_j = x_j − mean_j) it returns
--   n     the rows
--   a     Σ w·[1,c][1,c]' = Σ u u' (packed upper triangle, row by row, (p+1)(p+2)/2 values)
--   g     at beta: the score Σ (y − μ)·[1,c] = Σ r·u, r = (y − μ)/√w the Pearson residual (the
--         Newton step is A⁻¹ g); with beta null (the starting values μ = (y + ½)/2 binomial, y + ⅒
--         poisson): Σ w·z·[1,c] = Σ (√w·η + r)·u, the right-hand side of the first solve
--   bb    Σ of the last column squared: at beta, the Pearson X² Σ r²
--   l     Σ the negative log-likelihood terms without the β-free parts (binomial t·ln(1 + e^−η) +
--         (t − y)·η, poisson μ − y·ln μ)
--   sat   Σ the β-free parts that make the deviance 2·(l + sat): binomial with trials y ln(y/t) +
--         (t − y) ln((t − y)/t) (0 for 0/1 rows), poisson y ln y − y; summed by the start's scan only
--         (beta null; null otherwise: they cost a fifth of a scan)
--   certain  rows fitted with weight < 1e-10
-- in one scan: per-row values in stages (row_stage), the sums from cross_product_items (one
-- transition per pair of the p + 2 columns u and the last).
create or replace function aoma_private.glm_moments_sql(src text, p integer, family text, beta float8[], mean float8[])
returns text
language plpgsql
immutable parallel safe
set search_path = ''
as $$
declare
  -- the shifted predictors' select list with a trailing comma ('' for an intercept-only model)
  cs text := coalesce((select string_agg(format('s.c%s, ', j), '' order by j) from generate_series(1, p) j), '');
  cc text := coalesce(aoma_private.centred_columns(mean, p) || ', ', '');
  eta text;
  st text;
  sat text;
begin
  if family not in ('binomial', 'poisson') then
    raise exception 'glm_moments_sql: family % has no IRLS scan', family using errcode = '22023';
  end if;
  if beta is null then
    eta := case family when 'binomial' then 'ln((s.y + 0.5) / (exp(s.off) - s.y + 0.5))' else 'ln(s.y + 0.1) - s.off' end;
  else
    eta := format('(%s)::float8', beta[1])
           || coalesce((select string_agg(format(' + (%s)::float8 * s.x_%s', beta[1 + j], j), '' order by j) from generate_series(1, p) j), '');
  end if;
  if family = 'binomial' then
    -- stage 1: c, y, the trials t = e^off (1 for a 0/1 row), η and η̃ (η clamped to ±35); stage 2:
    -- ex = e^−η̃; stage 3: √w = √(t·ex)/(1 + ex) (w = t·μ(1 − μ), μ = 1/(1 + ex)), r, the terms
    st := aoma_private.row_stage(cc || format('s.y, exp(s.off) as t, %s as eta', eta), src);
    st := aoma_private.row_stage(cs || 's.y, s.t, s.eta, greatest(-35, least(35, s.eta)) as ge, exp(-greatest(-35, least(35, s.eta))) as ex', st);
    sat := case when beta is null then 'case when s.t > 1 then case when s.y > 0 then s.y * ln(s.y / s.t) else 0 end
                                   + case when s.t - s.y > 0 then (s.t - s.y) * ln((s.t - s.y) / s.t) else 0 end else 0 end' end;
    st := aoma_private.row_stage(cs || format('s.eta, sqrt(s.t * s.ex) / (1 + s.ex) as sw, (s.y * (1 + s.ex) - s.t) / sqrt(s.t * s.ex) as r,
                                              s.t * ln(1 + s.ex) + (s.t - s.y) * s.ge as l, %s as sat', coalesce(sat, 'null::float8')), st);
  else
    -- stage 1: c, y, η, ln μ = η + offset (clamped); stage 2: μ = w; stage 3: √w, r, the terms
    st := aoma_private.row_stage(cc || format('s.y, %s as eta, greatest(-200, least(700, %s + s.off)) as eo', eta, eta), src);
    st := aoma_private.row_stage(cs || 's.y, s.eta, s.eo, exp(s.eo) as mu', st);
    sat := case when beta is null then 'case when s.y > 0 then s.y * ln(s.y) - s.y else 0 end' end;
    st := aoma_private.row_stage(cs || format('s.eta, sqrt(s.mu) as sw, (s.y - s.mu) / sqrt(s.mu) as r, s.mu - s.y * s.eo as l, %s as sat', coalesce(sat, 'null::float8')), st);
  end if;
  -- the columns u_0 = √w, u_j = √w·c_j and the last one: r (at beta) or √w·z = √w·η + r (start)
  st := aoma_private.row_stage('s.sw as u0'
                               || coalesce((select string_agg(format(', s.sw * s.c%s as u%s', j, j), '' order by j) from generate_series(1, p) j), '')
                               || case when beta is null then ', s.sw * s.eta + s.r as ul, s.l, s.sat' else ', s.r as ul, s.l' end, st);
  -- a: the items of the pairs of u; g: of u_i with the last column; bb: its square
  return (select format('select count(*)::integer as n, array[%s]::float8[], array[%s]::float8[], %s, sum(s.l), %s,
                                count(*) filter (where s.u0 < 1e-5)::integer from (%s) s',
                        string_agg(x.e, ', ' order by x.i, x.j) filter (where x.j <= p + 1),
                        string_agg(x.e, ', ' order by x.i) filter (where x.j = p + 2 and x.i <= p + 1),
                        min(x.e) filter (where x.i = p + 2),
                        case when beta is null then 'sum(s.sat)' else 'null::float8' end, st)
          from aoma_private.cross_product_items((select array_agg(format('s.u%s', j) order by j) from generate_series(0, p) j) || array['s.ul']) x);
end;
$$;

-- aoma_private.basis_to_original(c, mean): a covariance (p+1)² of coefficients in the basis
-- [1, x − mean] carried to the coefficients of [1, x]: β0 = θ0 − Σ θ_j mean_j, so cov = T C T' with
-- T = [[1, −mean'], [0, I]].
create or replace function aoma_private.basis_to_original(c float8[], mean float8[])
returns float8[]
language plpgsql
immutable parallel safe
set search_path = ''
as $$
declare
  p integer := cardinality(mean);
  k integer := p + 1;
  cov float8[] := c;
  t float8;
begin
  for j in 1..p loop
    t := c[1 + j];
    for i in 1..p loop
      t := t - mean[i] * c[i * k + 1 + j];
    end loop;
    cov[1 + j] := t;
    cov[j * k + 1] := t;
  end loop;
  t := c[1];
  for i in 1..p loop
    t := t - 2 * mean[i] * c[1 + i];
    for j in 1..p loop
      t := t + mean[i] * mean[j] * c[i * k + 1 + j];
    end loop;
  end loop;
  cov[1] := t;
  return cov;
end;
$$;

-- ───────────────────────────── robust standard errors (OLS) ─────────────────────────────

-- aoma_private.ols_hc_sql(src, theta, ainv, mean): the query of one scan that returns, for the
-- weights u = e², e²/(1 − h) and e²/(1 − h)² (e the residual, h = [1,c]' A⁻¹ [1,c] the leverage), the
-- packed upper triangles of Σ u·[1,c][1,c]' (hc0, hc2, hc3) — the meat of the sandwich — as the
-- cross products of the columns √u·[1,c] (cross_product_items) —, then the largest leverage (HC2 and
-- HC3 are undefined when it reaches 1). mean: the predictors' means, then y's. Per-row values in
-- stages (aoma_private.row_stage).
create or replace function aoma_private.ols_hc_sql(src text, theta float8[], ainv float8[], mean float8[])
returns text
language plpgsql
immutable parallel safe
set search_path = ''
as $$
declare
  p integer := cardinality(theta) - 1;
  k integer := p + 1;
  cs text := (select string_agg(format('s.c%s', j), ', ' order by j) from generate_series(1, p) j);
  u text;
  sums text := '';
  e text;
  h text;
  st text;
begin
  -- e = (y − mean_y) − θ0 − Σ θ_j c_j;  h = Σ_ij A⁻¹_ij u_i u_j with u = [1, c] (A⁻¹ symmetric: the
  -- upper triangle, off-diagonal terms doubled)
  e := format('(s.y - (%s)::float8) - (%s)::float8', mean[p + 1], theta[1])
       || (select string_agg(format(' - (%s)::float8 * s.c%s', theta[1 + j], j), '' order by j) from generate_series(1, p) j);
  h := (select string_agg(format('(%s)::float8%s%s', ainv[(i - 1) * k + j] * case when i = j then 1 else 2 end,
                                 case when i > 1 then format(' * s.c%s', i - 1) else '' end,
                                 case when j > 1 then format(' * s.c%s', j - 1) else '' end), ' + ' order by i, j)
        from generate_series(1, k) i, generate_series(1, k) j where j >= i);
  st := aoma_private.row_stage(aoma_private.centred_columns(mean, p) || ', s.y', src);
  st := aoma_private.row_stage(cs || format(', abs(%s) as ae, %s as h', e, h), st);
  -- (a leverage of 1 − 1e-10 or more leaves HC2 and HC3 undefined: the caller reads max(h) and
  -- drops them; the clamp only keeps the scan from dividing by 0)
  st := aoma_private.row_stage(cs || ', s.ae, s.h, 1 / sqrt(greatest(1 - s.h, 1e-10)) as f2, 1 / greatest(1 - s.h, 1e-10) as f3', st);
  -- the columns √u·[1, c] of each weight: |e|·[1, c], then times 1/√(1 − h) and 1/(1 − h)
  st := aoma_private.row_stage('s.h, s.ae as a0, s.ae * s.f2 as b0, s.ae * s.f3 as d0'
    || (select string_agg(format(', s.ae * s.c%1$s as a%1$s, s.ae * s.c%1$s * s.f2 as b%1$s, s.ae * s.c%1$s * s.f3 as d%1$s', j), '' order by j)
        from generate_series(1, p) j), st);
  foreach u in array array['a', 'b', 'd'] loop
    sums := sums || case when sums = '' then '' else ', ' end
      || (select format('array[%s]', string_agg(x.e, ', ' order by x.i, x.j))
          from aoma_private.cross_product_items((select array_agg(format('s.%s%s', u, j) order by j) from generate_series(0, p) j)) x);
  end loop;
  return format('select %s, max(s.h) from (%s) s', sums, st);
end;
$$;

-- aoma_private.sandwich(meat, ainv, mean): the robust covariance of the coefficients (row-major
-- (p+1)², original basis): A⁻¹ M A⁻¹ in the basis [1, c], M unpacked from its upper triangle, then
-- basis_to_original. Null when meat is null.
create or replace function aoma_private.sandwich(meat float8[], ainv float8[], mean float8[])
returns float8[]
language plpgsql
immutable parallel safe
set search_path = ''
as $$
declare
  k integer := cardinality(mean) + 1;
begin
  if meat is null or meat[1] is null then
    return null;
  end if;
  return aoma_private.basis_to_original(
    aoma_private.mat_mul(aoma_private.mat_mul(ainv, aoma_private.unpack_symmetric(meat, k), k), ainv, k), mean);
end;
$$;

-- ───────────────────────────── one solve ─────────────────────────────

-- aoma_private.glm_solve(a, b, bb, mean, names): the weighted least-squares solution of the sums of
-- glm_moments_sql. The (p+1)² matrix A (basis [1, c]) is scaled to unit diagonal before its Cholesky
-- inverse. Returns the coefficients (intercept first, in the original units), their unscaled
-- covariance A⁻¹ carried back to the original basis (row-major (p+1)²), the weighted residual sum
-- of squares bb − θ'b (gaussian: the RSS) and A⁻¹ itself (in the basis, for leverages). pen (optional): an L2 penalty per slope,
-- added to A's diagonal (ridge; collinear predictors are then estimable). A constant or collinear
-- predictor raises 22023 naming it.
-- (earlier versions: without the penalty; with the condition number, now design_condition, which
-- an IRLS needs once and not at every iteration)
drop function if exists aoma_private.glm_solve(float8[], float8[], float8, float8[], text[]);
drop function if exists aoma_private.glm_solve(float8[], float8[], float8, float8[], text[], float8[]);
create function aoma_private.glm_solve(
  a float8[], b float8[], bb float8, mean float8[], names text[], pen float8[] default null,
  out beta float8[], out theta float8[], out cov float8[], out rss float8, out ainv float8[]
)
language plpgsql
immutable parallel safe
set search_path = ''
as $$
declare
  p integer := cardinality(names);
  k integer := p + 1;
  m float8[] := aoma_private.unpack_symmetric(a, cardinality(names) + 1);
  d float8[];
  r float8[];
  mp float8[];
  rinv float8[];
  t float8;
begin
  d := array_fill(0::float8, array[k]);
  for i in 1..k loop
    d[i] := sqrt(greatest(m[(i - 1) * k + i], 0));
  end loop;
  -- a predictor without spread around the (weighted) mean: constant
  for j in 1..p loop
    t := m[j * k + 1 + j] - m[1 + j] ^ 2 / m[1];
    -- against Σ w·x_j² (uncentred): a constant column's centred sum is rounding noise, not 0
    if not (t > 1e-24 * (m[j * k + 1 + j] + 2 * mean[j] * m[1 + j] + mean[j] ^ 2 * m[1])) then
      raise exception 'predictor "%" is constant in the rows used (%): it cannot be estimated beside the intercept; leave it out',
        names[j], round((mean[j] + m[1 + j] / m[1])::numeric, 6) using errcode = '22023';
    end if;
  end loop;
  -- an L2 penalty adds pen_j to the slopes' diagonal (the intercept is not penalised)
  mp := m;
  if pen is not null then
    for j in 1..p loop
      mp[j * k + 1 + j] := mp[j * k + 1 + j] + pen[j];
      d[1 + j] := sqrt(mp[j * k + 1 + j]);
    end loop;
  end if;
  r := array_fill(0::float8, array[k * k]);
  for i in 1..k loop
    for j in 1..k loop
      r[(i - 1) * k + j] := mp[(i - 1) * k + j] / (d[i] * d[j]);
    end loop;
  end loop;
  rinv := aoma_private.spd_inverse(r, k);
  if rinv is null then
    for q in 3..k loop
      if aoma_private.cholesky((select array_agg(r[(i - 1) * k + j] order by i, j) from generate_series(1, q) i, generate_series(1, q) j), q) is null then
        raise exception 'predictors are collinear: "%" is (almost) a linear combination of %; leave one of them out',
          names[q - 1], (select string_agg(format('"%s"', names[i]), ', ' order by i) from generate_series(1, q - 2) i)
          using errcode = '22023';
      end if;
    end loop;
    raise exception 'predictors are collinear; leave one of them out' using errcode = '22023';
  end if;
  ainv := array_fill(0::float8, array[k * k]);
  for i in 1..k loop
    for j in 1..k loop
      ainv[(i - 1) * k + j] := rinv[(i - 1) * k + j] / (d[i] * d[j]);
    end loop;
  end loop;
  theta := array_fill(0::float8, array[k]);
  for i in 1..k loop
    for j in 1..k loop
      theta[i] := theta[i] + ainv[(i - 1) * k + j] * b[j];
    end loop;
  end loop;
  -- Σ w (z − [1,c]θ)² = bb − 2θ'b + θ'Aθ (A without the penalty; = bb − θ'b when there is none)
  rss := bb;
  for i in 1..k loop
    rss := rss - 2 * theta[i] * b[i];
    for j in 1..k loop
      rss := rss + theta[i] * m[(i - 1) * k + j] * theta[j];
    end loop;
  end loop;
  rss := greatest(rss, 0);
  -- back to the original basis: β0 = θ0 − Σ θ_j mean_j; cov = T A⁻¹ T', T = [[1, −mean'], [0, I]]
  beta := theta;
  for j in 1..p loop
    beta[1] := beta[1] - theta[1 + j] * mean[j];
  end loop;
  cov := aoma_private.basis_to_original(ainv, mean[1:p]);
end;
$$;

-- aoma_private.design_condition(a, p): the condition number of the standardised predictors — the
-- square root of the ratio of the largest to the smallest eigenvalue of their weighted correlation
-- matrix — from the packed sums a of glm_moments_sql / ols_moments_sql (p predictors); null for an
-- intercept-only model.
create or replace function aoma_private.design_condition(a float8[], p integer)
returns float8
language plpgsql
immutable parallel safe
set search_path = ''
as $$
declare
  k integer := p + 1;
  m float8[] := aoma_private.unpack_symmetric(a, p + 1);
  corr float8[] := array_fill(0::float8, array[p * p]);
  ev float8[];
begin
  if p < 1 then
    return null;
  end if;
  for i in 1..p loop
    for j in 1..p loop
      corr[(i - 1) * p + j] := (m[i * k + 1 + j] - m[1 + i] * m[1 + j] / m[1])
        / sqrt((m[i * k + 1 + i] - m[1 + i] ^ 2 / m[1]) * (m[j * k + 1 + j] - m[1 + j] ^ 2 / m[1]));
    end loop;
  end loop;
  ev := aoma_private.sym_eigenvalues(corr, p);
  return sqrt((select max(x) from unnest(ev) x) / nullif((select min(x) from unnest(ev) x), 0));
end;
$$;

-- ───────────────────────────── per-row helpers ─────────────────────────────

-- aoma_private.check_l2(l2): raises 22023 unless l2 is a penalty in [0, 1e6] (every function that takes one).
create or replace function aoma_private.check_l2(l2 float8)
returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if l2 is null or not (l2 >= 0 and l2 <= 1e6) then
    raise exception 'l2 must be a penalty between 0 (none) and 1e6 (got %)', coalesce(l2::text, 'null') using errcode = '22023';
  end if;
end;
$$;

-- aoma_private.glm_mean(family, eta): the expected value at linear predictor eta (offset included) —
-- the inverse of the canonical link: probability (binomial), count (poisson, quasipoisson), eta
-- (gaussian); null for a null eta (strict: least/greatest would otherwise skip the null). eta is
-- clamped to ±700 first, so no input overflows or underflows exp(). No SET clause: one expression
-- over pg_catalog, inlined into the per-row queries that call it.
create or replace function aoma_private.glm_mean(family text, eta float8)
returns float8
language sql
immutable strict parallel safe
as $$
  select case when family = 'binomial' then 1 / (1 + exp(-greatest(-700, least(700, eta))))
              when family in ('poisson', 'quasipoisson') then exp(greatest(-700, least(700, eta)))
              else eta end
$$;


-- aoma_private.linear_predictor(beta, x): beta[1] + Σ beta[1 + j] · x[j].
create or replace function aoma_private.linear_predictor(beta float8[], x float8[])
returns float8
language plpgsql
immutable parallel safe
set search_path = ''
as $$
declare
  eta float8 := beta[1];
begin
  for j in 1..cardinality(x) loop
    eta := eta + beta[1 + j] * x[j];
  end loop;
  return eta;
end;
$$;

-- ───────────────────────────── the fit ─────────────────────────────

-- aoma_private.check_row_count(n, p): raises 22023 unless n rows are enough for the intercept and p
-- predictors (p + 3: two residual degrees of freedom).
create or replace function aoma_private.check_row_count(n integer, p integer)
returns void
language plpgsql
immutable parallel safe
set search_path = ''
as $$
begin
  if n < p + 3 then
    raise exception 'too few rows: % complete rows for % coefficients (the intercept and % predictors); at least % are needed',
      n, p + 1, p, p + 3 using errcode = '22023';
  end if;
end;
$$;

-- aoma_private.glm_check_rows(src, p, family): the data checks of a fit over the rows of src (see
-- glm_fit): enough rows for p predictors, a 0/1 target with both classes (binomial; with trials
-- t = e^off per row, y successes of t, 0 ≤ y ≤ t, both outcomes somewhere), no negative count
-- (poisson). Returns the rows, the rows with y = 1 (grouped: the successes) and whether the rows are
-- grouped (binomial with trials), and from the same scan the predictors' means (then y's) and
-- population variances, and OLS's sums of y on the predictors (ols_moments_sql: a, b, bb — for a 0/1
-- target they give the IRLS's first iteration, see glm_fit); 22023 with the reason otherwise.
drop function if exists aoma_private.glm_check_rows(text, integer, text);
create or replace function aoma_private.glm_check_rows(src text, p integer, family text, out n integer, out n_pos integer, out grouped boolean,
                                                       out mean float8[], out var float8[], out a float8[], out b float8[], out bb float8)
language plpgsql
stable
set search_path = ''
as $$
declare
  fam text := family;
  ymin float8;
  ymax float8;
  non_int integer;
  over_t integer;
  t_max float8;
  y_sum float8;
  t_sum float8;
begin
  execute aoma_private.ols_moments_sql(src, p,
            'min(s.y), max(s.y), count(*) filter (where s.y = 1)::integer, count(*) filter (where s.y <> floor(s.y))::integer,
             count(*) filter (where s.y > round(exp(s.off)))::integer, max(exp(s.off)), sum(s.y), sum(round(exp(s.off)))')
    into n, mean, a, b, bb, ymin, ymax, n_pos, non_int, over_t, t_max, y_sum, t_sum;
  perform aoma_private.check_row_count(n, p);
  var := (select array_agg(a[(j - 1) * (p + 1) - (j - 1) * (j - 2) / 2 + 1] / n order by j) from generate_series(2, p + 1) j);
  grouped := fam = 'binomial' and t_max > 1;
  if fam = 'binomial' and t_max > 1 then
    -- grouped rows: y successes out of t trials
    if not (ymin >= 0 and non_int = 0 and over_t = 0) then
      raise exception 'a binomial target with trials (exposure) must count successes, a whole number from 0 to the row''s trials (% rows do not; it ranges from % to %)',
        non_int + over_t + (ymin < 0)::int, ymin, ymax using errcode = '22023';
    end if;
    if y_sum = 0 or y_sum = t_sum then
      raise exception 'the target has one outcome only (% successes in % trials): there is nothing to classify; widen the window', y_sum, t_sum
        using errcode = '22023';
    end if;
    n_pos := y_sum::integer;
    return;
  end if;
  if fam = 'binomial' and not (ymin >= 0 and ymax <= 1 and non_int = 0) then
    raise exception 'a binomial (logistic) target must be 0 or 1 in every row (it ranges from % to %); use family gaussian or poisson for other values, or give the trials as exposure',
      ymin, ymax using errcode = '22023';
  end if;
  if fam = 'binomial' and (n_pos = 0 or n_pos = n) then
    raise exception 'the target has one class only (% of % rows are 1): there is nothing to classify; widen the window', n_pos, n
      using errcode = '22023';
  end if;
  if fam = 'poisson' and ymin < 0 then
    raise exception 'a Poisson target must be a count or rate ≥ 0 (its minimum is %)', ymin using errcode = '22023';
  end if;
end;
$$;


-- aoma_private.irls(src, names, family, mean, pen, max_slope, data, start): a canonical-link GLM
-- (binomial, poisson) fitted by Newton's method — iteratively reweighted least squares — over the
-- rows of the query src (x_1 … x_p, y, off; see glm_fit): one scan per iteration (glm_moments_sql)
-- and the small solve (glm_solve, which raises 22023 for a constant or collinear predictor). The
-- first iteration solves from the starting values (glm_moments_sql with beta null) unless start
-- gives the coefficients it would reach (glm_fit derives them for 0/1 targets from its check scan:
-- the iteration is counted, its scan saved; only for 0/1 rows, whose deviance has no β-free part);
-- every later scan at β gives the information A and the score g, and the step
-- δ = (A + P)⁻¹(g − P·β) (P the L2 penalty). Converged when the step's Newton decrement
-- λ² = δ'(g − P·β) — the deviance the step still gains — is at most 1e-14·(|dev| + 1): the step is
-- then ~1e-7·√n standard errors or less, so A at β is the information at the estimate to ~1e-7
-- relative (its standard errors equal a scan's at the estimate to that: 4e-8 on 1M rows); the step
-- is still taken (within 100 iterations). Not converged when every binomial row is fitted with
-- certainty (complete separation) or, with max_slope, when a slope passes ±max_slope (it only
-- grows: the predictor separates the data). The one IRLS of the
-- project: fit_glm's fits over tables and explain_drivers' fits over its arrays
-- (aoma_private.poisson_fit) both run it. data: the values src reads as $1, when it reads any.
-- Returns the coefficients, the rows, in the basis [1, x − mean] the packed information a of the
-- last scan, the unscaled covariance in the original basis, and that scan's deviance, Pearson X²
-- (null if the only scan was the start's), log-likelihood terms (glm_moments_sql), certain rows,
-- the iterations and whether it converged.
-- (earlier version: converged when the deviance of two scans agreed to 1e-13, one scan more)
drop function if exists aoma_private.irls(text, text[], text, float8[], float8[], float8, float8[]);
create or replace function aoma_private.irls(
  src text, names text[], family text, mean float8[], pen float8[] default null, max_slope float8 default null,
  data float8[] default null, start float8[] default null,
  out n integer, out beta float8[], out a float8[], out cov float8[], out dev float8, out pearson float8,
  out llr float8, out certain integer, out iterations integer, out converged boolean
)
language plpgsql
stable
set search_path = ''
as $$
declare
  p integer := coalesce(cardinality(names), 0);
  g float8[];
  bb float8;
  l float8;
  sat float8 := 0;  -- the deviance's β-free part: from the start's scan (0 for the 0/1 rows a start is given for)
  sat_scan float8;
  lam2 float8;
  sol record;
begin
  converged := false;
  beta := start;
  iterations := case when start is null then 0 else 1 end;
  while iterations < 100 loop
    execute aoma_private.glm_moments_sql(src, p, family, beta, mean)
      into n, a, g, bb, l, sat_scan, certain using data;
    iterations := iterations + 1;
    if beta is null then
      sat := sat_scan;
    end if;
    dev := 2 * (l + sat);
    llr := -l;
    if beta is null then
      -- the first solve, from the starting values: g is the right-hand side itself
      sol := aoma_private.glm_solve(a, g, 0, mean[1:p], coalesce(names, '{}'), pen);
      beta := sol.beta;
      cov := sol.cov;
      continue;
    end if;
    pearson := bb;
    if pen is not null then
      for j in 1..p loop
        g[1 + j] := g[1 + j] - pen[j] * beta[1 + j];
      end loop;
    end if;
    sol := aoma_private.glm_solve(a, g, 0, mean[1:p], coalesce(names, '{}'), pen);
    lam2 := (select sum(t * r) from unnest(sol.theta, g) as u(t, r));
    -- the step (glm_solve's beta of a right-hand side g is the step in the original basis: linear)
    beta := (select array_agg(b0 + d order by i) from unnest(beta, sol.beta) with ordinality as u(b0, d, i));
    cov := sol.cov;
    if lam2 <= 1e-14 * (abs(dev) + 1) then
      converged := true;
      exit;
    end if;
    if max_slope is not null and exists (select from unnest(beta[2:]) as v where abs(v) > max_slope) then
      return;
    end if;
  end loop;
  if family = 'binomial' and certain = n then
    converged := false;  -- every row fitted with certainty: complete separation
  end if;
end;
$$;

-- aoma_private.glm_fit(src, names, family, level, l2): fits the rows of the query src (columns x_1 …
-- x_p — the predictors named by names, in order —, y float8, off float8; no nulls) and returns the
-- fit as jsonb (see analytics.fit_glm for the fields). src is built by analytics.fit_glm from
-- checked identifiers only. l2 > 0: ridge — the objective gains n·l2/2·Σ (sd_j·β_j)² (sd_j the
-- predictor's standard deviation, so l2 is on the scale of standardised coefficients; the intercept
-- is free); standard errors, tests and intervals are then not reported (null): a penalised
-- estimate is shrunk on purpose and its classical intervals would not hold. JIT is off for its
-- scans: their generated expressions are long and each runs once, so compiling them (≈1.7 s
-- measured) costs more than it saves.
drop function if exists aoma_private.glm_fit(text, text[], text, float8);
drop function if exists aoma_private.glm_fit(text, text[], text, float8, float8);
create or replace function aoma_private.glm_fit(src text, names text[], family text, level float8, l2 float8 default 0, robust boolean default true)
returns jsonb
language plpgsql
volatile
set search_path = ''
set jit = off
as $$
declare
  p integer := cardinality(names);
  k integer := p + 1;
  fam text := case when family = 'quasipoisson' then 'poisson' else family end;
  n integer;
  n_pos integer;
  grouped boolean;
  mean float8[];
  pen float8[];
  m_a float8[];
  m_b float8[];
  m_bb float8;
  m_dev float8;
  m_pearson float8;
  m_llr float8;
  sol record;  -- gaussian: the one solve (glm_solve)
  irl record;  -- binomial, poisson: the IRLS (irls)
  start float8[];  -- its first iteration's coefficients, when the check scan gives them
  cov float8[];  -- the coefficients' unscaled covariance
  beta float8[];
  dev float8;
  llf float8;
  it integer := 0;
  converged boolean := false;
  df_resid integer;
  scale float8;
  q float8;
  se float8[];
  stat float8[];
  pv float8[];
  lo float8[];
  hi float8[];
  tss float8;
  r2 float8;
  adj float8;
  f float8;
  f_p float8;
  aic float8;
  bic float8;
  null_dev float8;
  lngam float8;
  hc jsonb := '{}'::jsonb;
  hc0m float8[];
  hc2m float8[];
  hc3m float8[];
  hmax float8;
  hcv float8[];
  wk text;
begin
  if fam = 'gaussian' then
    -- OLS: the one scan gives the rows, the means and the centred sums
    execute aoma_private.ols_moments_sql(src, p) into n, mean, m_a, m_b, m_bb;
    perform aoma_private.check_row_count(n, p);
    pen := (select array_agg(u.m[j * k + 1 + j] / n order by j)
            from (select aoma_private.unpack_symmetric(m_a, k) as m) u, generate_series(1, p) j);  -- var_pop
  else
    -- the checks, the means the predictors are shifted by and OLS's sums of y: one scan
    select c.n, c.n_pos, c.grouped, c.mean, c.var, c.a, c.b, c.bb into n, n_pos, grouped, mean, pen, m_a, m_b, m_bb
    from aoma_private.glm_check_rows(src, p, fam) c;
  end if;
  df_resid := n - k;
  -- the L2 penalty per slope: n · l2 · sd_j²  (null: none)
  pen := case when coalesce(l2, 0) > 0 then (select array_agg(n * l2 * v order by i) from unnest(pen) with ordinality as u(v, i)) end;

  if fam = 'gaussian' then
    sol := aoma_private.glm_solve(m_a, m_b, m_bb, mean[1:p], names, pen);
    beta := sol.beta;
    cov := sol.cov;
    beta[1] := beta[1] + mean[k];
    scale := sol.rss / df_resid;
    tss := m_bb;
    it := 1;
    converged := true;
  else
    -- IRLS: one scan per iteration (aoma_private.irls). A 0/1 target's first iteration needs no scan
    -- of its own: from the starting values μ = (y + ½)/2 every row weighs w = 3/16 and its working
    -- response is z = (ln 3 + 4/3)·(2y − 1), so the first solve is (ln 3 + 4/3)·(2·β_OLS − e₁), β_OLS
    -- the least squares of y on the predictors (with the penalty P/w) from the check scan's sums.
    if fam = 'binomial' and not grouped then
      sol := aoma_private.glm_solve(m_a, m_b, m_bb, mean[1:p], names,
                                    (select array_agg(v * 16 / 3 order by i) from unnest(pen) with ordinality as u(v, i)));
      start := (select array_agg((ln(3::float8) + 4 / 3::float8) * (2 * v - case when i = 1 then 1 - 2 * mean[k] else 0 end) order by i)
                from unnest(sol.beta) with ordinality as u(v, i));
    end if;
    irl := aoma_private.irls(src, names, fam, mean, pen, null, null, start);
    n := irl.n;
    beta := irl.beta;
    cov := irl.cov;
    it := irl.iterations;
    converged := irl.converged;
    m_dev := irl.dev;
    m_pearson := irl.pearson;
    m_llr := irl.llr;
    m_a := irl.a;
    if not converged then
      raise exception '%', case when fam = 'binomial'
        then 'the fit does not converge: the predictors (almost) perfectly separate the 0 and 1 rows, so the coefficients grow without bound; leave out the predictor that separates them'
        else 'the Poisson fit does not converge in 100 iterations: check the predictors'' scale and the exposure' end
        using errcode = '22023';
    end if;
    dev := m_dev;
    llf := m_llr;
    if fam = 'poisson' then
      execute format('select sum(g.c * aoma_private.ln_gamma(g.y + 1)) from (select s.y, count(*) as c from (%s) s group by s.y) g', src)
        into lngam;
      llf := llf - lngam;
    end if;
    scale := case when family = 'quasipoisson' then m_pearson / df_resid else 1 end;
  end if;

  -- standard errors, tests and intervals
  q := aoma_private.two_sided_quantile(coalesce(level, 95), case when fam = 'gaussian' then df_resid end);
  se := '{}';
  stat := '{}';
  pv := '{}';
  lo := '{}';
  hi := '{}';
  for j in 1..k loop
    se := se || case when pen is null then sqrt(scale * cov[(j - 1) * k + j]) end;
    stat := stat || beta[j] / nullif(se[j], 0);
    pv := pv || case when se[j] is null then null
                     when fam = 'gaussian' then aoma_private.student_t_sf2(coalesce(stat[j], 0), df_resid)
                     else aoma_private.normal_sf2(coalesce(stat[j], 0)) end;
    lo := lo || beta[j] - q * se[j];
    hi := hi || beta[j] + q * se[j];
  end loop;

  if fam = 'gaussian' then
    dev := sol.rss;
    r2 := case when tss > 0 then 1 - dev / tss end;
    adj := 1 - (1 - r2) * (n - 1) / df_resid;
    f := case when dev > 0 then ((tss - dev) / p) / (dev / df_resid) end;
    f_p := case when f is not null then aoma_private.incomplete_beta(df_resid / (df_resid + p * f), df_resid / 2.0, p / 2.0) end;
    llf := -n / 2.0 * (ln(2 * pi() * dev / n) + 1);
    null_dev := tss;
    if pen is not null then
      f := null;
      f_p := null;
    end if;
    -- robust standard errors: one scan of residuals and leverages (not for a penalised fit, nor
    -- when the caller does not want them)
    if pen is null and coalesce(robust, true) then
      execute aoma_private.ols_hc_sql(src, sol.theta, sol.ainv, mean) into hc0m, hc2m, hc3m, hmax;
      if hmax >= 1 - 1e-10 then
        hc2m := null;  -- a row with leverage 1: HC2 and HC3 divide by 1 − h = 0
        hc3m := null;
      end if;
    end if;
    foreach wk in array array['hc0', 'hc1', 'hc2', 'hc3'] loop
      hcv := aoma_private.sandwich(case wk when 'hc2' then hc2m when 'hc3' then hc3m else hc0m end, sol.ainv, mean[1:p]);
      continue when hcv is null;
      hc := hc || jsonb_build_object(wk || '_se', (select jsonb_agg(sqrt(hcv[(j - 1) * k + j] * case when wk = 'hc1' then n::float8 / df_resid else 1 end) order by j)
                                                  from generate_series(1, k) j));
    end loop;
  elsif fam = 'binomial' and not grouped then
    null_dev := -2 * (n_pos * ln(n_pos::float8 / n) + (n - n_pos) * ln((n - n_pos)::float8 / n));
  elsif fam = 'binomial' then
    -- grouped: the intercept-only model puts every row at the pooled rate Σy / Σt; the binomial
    -- coefficients ln C(t, y) join the log-likelihood, as statsmodels counts them
    execute format('with s as (select s0.y, round(exp(s0.off)) as t from (%s) s0), c as (select sum(s.y) / sum(s.t) as r from s)
                    select 2 * sum(case when s.y > 0 then s.y * ln(s.y / (s.t * c.r)) else 0 end
                                   + case when s.t - s.y > 0 then (s.t - s.y) * ln((s.t - s.y) / (s.t * (1 - c.r))) else 0 end),
                           sum(aoma_private.ln_gamma(s.t + 1) - aoma_private.ln_gamma(s.y + 1) - aoma_private.ln_gamma(s.t - s.y + 1))
                    from s cross join c', src)
      into null_dev, lngam;
    llf := llf + lngam;
  else
    -- the intercept-only Poisson model with the same offset: μ_i = e^off_i · Σy / Σe^off
    execute format('with s as (%s), c as (select sum(s.y) / sum(exp(s.off)) as rate from s)
                    select 2 * sum(case when s.y > 0 then s.y * ln(s.y / (exp(s.off) * c.rate)) else 0 end - (s.y - exp(s.off) * c.rate))
                    from s cross join c', src)
      into null_dev;
  end if;
  if family = 'quasipoisson' then
    llf := null;
  end if;
  aic := -2 * llf + 2 * k;
  bic := -2 * llf + k * ln(n::float8);
  return jsonb_build_object(
    'family', family, 'terms', to_jsonb(array['(intercept)'] || names), 'estimate', to_jsonb(beta), 'std_error', to_jsonb(se),
    'statistic', to_jsonb(stat), 'p_value', to_jsonb(pv), 'ci_low', to_jsonb(lo), 'ci_high', to_jsonb(hi), 'level', coalesce(level, 95),
    'n', n, 'df_resid', df_resid, 'r2', r2, 'adj_r2', adj, 'f', f, 'f_p', f_p, 'deviance', dev, 'null_deviance', null_dev,
    'pearson_chi2', m_pearson, 'llf', llf, 'aic', aic, 'bic', bic, 'scale', scale, 'cond', aoma_private.design_condition(m_a, p), 'iterations', it,
    'l2', coalesce(l2, 0), 'cov', case when pen is null then to_jsonb(cov) end) || hc;
end;
$$;

-- ───────────────────────────── the analysts' entry point ─────────────────────────────

-- aoma_private.column_as_float8(relation, column): the SQL expression reading a numeric or boolean
-- column as float8 (booleans as 0/1), the column quoted as an identifier.
create or replace function aoma_private.column_as_float8(relation regclass, col text)
returns text
language sql
stable
set search_path = ''
as $$
  select case when a.atttypid = 'bool'::regtype then format('%I::int::float8', col) else format('%I::float8', col) end
  from pg_catalog.pg_attribute a
  where a.attrelid = relation and a.attname = col and a.attnum > 0 and not a.attisdropped
$$;

-- aoma_private.no_binomial_trials(family, exposure, fn): 22023 when a binomial fit is given trials
-- (exposure) in a function that scores rows one by one (cross-validation metrics, boosting, registry).
create or replace function aoma_private.no_binomial_trials(family text, exposure text, fn text)
returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if family = 'binomial' and exposure is not null then
    raise exception '% takes 0/1 rows for the binomial family, not trials (exposure "%"): fit grouped rows with analytics.fit_glm, or give one row per trial', fn, exposure
      using errcode = '22023';
  end if;
end;
$$;
grant execute on function aoma_private.no_binomial_trials(text, text, text) to authenticated, service_role;

-- aoma_private.glm_source(relation, target, predictors, family, exposure, order_by): checks the
-- arguments of a fit (columns exist, are numeric or boolean, the caller may read the relation) and
-- returns the query of its rows for aoma_private.glm_fit — x float8[] and the same predictors as
-- columns x_1 … x_p (the scans read those: no array per row), y, off (ln exposure or 0),
-- and with order_by the column o — built from quoted identifiers only; rows with a null in any used
-- column are left out. Errors: 22023 with the valid columns.
create or replace function aoma_private.glm_source(
  relation regclass, target text, predictors text[], family text, exposure text, order_by text
)
returns text
language plpgsql
stable
set search_path = ''
as $$
declare
  v_family text := glm_source.family;
  v_cols text[];
  v_bad text;
begin
  if v_family not in ('gaussian', 'binomial', 'poisson', 'quasipoisson') then
    raise exception 'family must be one of gaussian, binomial, poisson, quasipoisson (got "%")', v_family using errcode = '22023';
  end if;
  if glm_source.relation is null or glm_source.target is null then
    raise exception 'relation and target are required' using errcode = '22023';
  end if;
  if glm_source.predictors is null or cardinality(glm_source.predictors) = 0 or cardinality(glm_source.predictors) > 30
     or array_position(glm_source.predictors, null) is not null then
    raise exception 'predictors must name 1 to 30 columns (got %)', coalesce(cardinality(glm_source.predictors), 0) using errcode = '22023';
  end if;
  if (select count(distinct x) from unnest(glm_source.predictors) x) < cardinality(glm_source.predictors) or glm_source.target = any (glm_source.predictors) then
    raise exception 'predictors must be distinct columns other than the target' using errcode = '22023';
  end if;
  if glm_source.exposure is not null and v_family not in ('poisson', 'quasipoisson', 'binomial') then
    raise exception 'exposure applies to the poisson and quasipoisson families (a rate''s exposure) and to binomial (the trials of a row whose target counts its successes) only' using errcode = '22023';
  end if;
  if not has_table_privilege(glm_source.relation, 'select') then
    raise exception 'you cannot read %', glm_source.relation using errcode = '22023';
  end if;
  v_cols := array[glm_source.target] || glm_source.predictors || case when glm_source.exposure is null then '{}'::text[] else array[glm_source.exposure] end;
  select string_agg(format('"%s"', c.name), ', ' order by c.ord) into v_bad
  from unnest(v_cols) with ordinality as c(name, ord)
  where not exists (select from pg_catalog.pg_attribute a
                    where a.attrelid = glm_source.relation and a.attname = c.name and a.attnum > 0 and not a.attisdropped
                      and a.atttypid in ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'float4'::regtype,
                                         'float8'::regtype, 'numeric'::regtype, 'bool'::regtype));
  if v_bad is not null then
    raise exception '% %: not a numeric (or boolean) column of %; valid: %', case when v_bad like '%,%' then 'columns' else 'column' end,
      v_bad, glm_source.relation,
      coalesce((select string_agg(a.attname, ', ' order by a.attnum) from pg_catalog.pg_attribute a
                where a.attrelid = glm_source.relation and a.attnum > 0 and not a.attisdropped
                  and a.atttypid in ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'float4'::regtype,
                                     'float8'::regtype, 'numeric'::regtype, 'bool'::regtype)), 'none')
      using errcode = '22023';
  end if;
  -- the rows: every used column present (booleans as 0/1), exposure > 0
  if glm_source.order_by is not null and not exists (select from pg_catalog.pg_attribute a where a.attrelid = glm_source.relation
      and a.attname = glm_source.order_by and a.attnum > 0 and not a.attisdropped) then
    raise exception 'order_by "%" is not a column of %', glm_source.order_by, glm_source.relation using errcode = '22023';
  end if;
  v_cols := v_cols || case when glm_source.order_by is null then '{}'::text[] else array[glm_source.order_by] end;
  return format('select array[%s]::float8[] as x, %s, %s as y, %s as off%s from %s where %s',
    (select string_agg(aoma_private.column_as_float8(glm_source.relation, c.name), ', ' order by c.ord)
     from unnest(glm_source.predictors) with ordinality as c(name, ord)),
    (select string_agg(format('%s as x_%s', aoma_private.column_as_float8(glm_source.relation, c.name), c.ord), ', ' order by c.ord)
     from unnest(glm_source.predictors) with ordinality as c(name, ord)),
    aoma_private.column_as_float8(glm_source.relation, glm_source.target),
    case when glm_source.exposure is null then '0::float8' else format('ln(%s)', aoma_private.column_as_float8(glm_source.relation, glm_source.exposure)) end,
    case when glm_source.order_by is null then '' else format(', %I as o', glm_source.order_by) end,
    glm_source.relation,
    (select string_agg(format('%I is not null', c), ' and ') from unnest(v_cols) c)
      || case when glm_source.exposure is null then '' else format(' and %I > 0', glm_source.exposure) end);
end;
$$;

drop function if exists analytics.fit_glm(regclass, text, text[], text, text, float8);
drop function if exists analytics.fit_glm(regclass, text, text[], text, text, float8, float8);
create or replace function analytics.fit_glm(
  relation regclass,
  target text,
  predictors text[],
  family text default 'gaussian',
  exposure text default null,
  level float8 default 95,
  l2 float8 default 0,
  robust boolean default true
)
returns table (
  term text, estimate float8, std_error float8, statistic float8, p_value float8, ci_low float8, ci_high float8,
  hc0_se float8, hc1_se float8, hc2_se float8, hc3_se float8,
  n integer, df_resid integer, r2 float8, adj_r2 float8, f float8, f_p float8, deviance float8, null_deviance float8,
  llf float8, aic float8, bic float8, scale float8, cond float8, iterations integer, family_used text
)
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_family text := coalesce(fit_glm.family, 'gaussian');
  v_src text;
  fit jsonb;
begin
  if not (fit_glm.level > 0 and fit_glm.level < 100) then
    raise exception 'level must be a percentage strictly between 0 and 100 (got %)', fit_glm.level using errcode = '22023';
  end if;
  perform aoma_private.check_l2(fit_glm.l2);
  v_src := aoma_private.glm_source(fit_glm.relation, fit_glm.target, fit_glm.predictors, v_family, fit_glm.exposure, null);
  fit := aoma_private.glm_fit(v_src, fit_glm.predictors, v_family, fit_glm.level, fit_glm.l2, fit_glm.robust);
  for j in 1..jsonb_array_length(fit -> 'terms') loop
    term := fit -> 'terms' ->> (j - 1);
    estimate := (fit -> 'estimate' ->> (j - 1))::float8;
    std_error := (fit -> 'std_error' ->> (j - 1))::float8;
    statistic := (fit -> 'statistic' ->> (j - 1))::float8;
    p_value := (fit -> 'p_value' ->> (j - 1))::float8;
    ci_low := (fit -> 'ci_low' ->> (j - 1))::float8;
    ci_high := (fit -> 'ci_high' ->> (j - 1))::float8;
    hc0_se := (fit -> 'hc0_se' ->> (j - 1))::float8;
    hc1_se := (fit -> 'hc1_se' ->> (j - 1))::float8;
    hc2_se := (fit -> 'hc2_se' ->> (j - 1))::float8;
    hc3_se := (fit -> 'hc3_se' ->> (j - 1))::float8;
    n := (fit ->> 'n')::integer;
    df_resid := (fit ->> 'df_resid')::integer;
    r2 := (fit ->> 'r2')::float8;
    adj_r2 := (fit ->> 'adj_r2')::float8;
    f := (fit ->> 'f')::float8;
    f_p := (fit ->> 'f_p')::float8;
    deviance := (fit ->> 'deviance')::float8;
    null_deviance := (fit ->> 'null_deviance')::float8;
    llf := (fit ->> 'llf')::float8;
    aic := (fit ->> 'aic')::float8;
    bic := (fit ->> 'bic')::float8;
    scale := (fit ->> 'scale')::float8;
    cond := (fit ->> 'cond')::float8;
    iterations := (fit ->> 'iterations')::integer;
    family_used := v_family;
    return next;
  end loop;
end;
$$;
comment on function analytics.fit_glm(regclass, text, text[], text, text, float8, float8, boolean) is
  'OLS / logistic / Poisson / quasi-Poisson regression of a table''s column on others, fitted in SQL (one parallel-safe aggregate scan per IRLS iteration): coefficients, SE, tests, CIs, robust SEs (OLS), model statistics. See sql/70_models.sql.';
grant execute on function analytics.fit_glm(regclass, text, text[], text, text, float8, float8, boolean) to authenticated, service_role;

grant execute on function
  aoma_private.spd_inverse(float8[], integer), aoma_private.sym_eigenvalues(float8[], integer),
  aoma_private.two_sided_quantile(float8, float8), aoma_private.linear_predictor(float8[], float8[]),
  aoma_private.glm_moments_sql(text, integer, text, float8[], float8[]), aoma_private.basis_to_original(float8[], float8[]),
  aoma_private.ols_hc_sql(text, float8[], float8[], float8[]), aoma_private.sandwich(float8[], float8[], float8[]),
  aoma_private.row_stage(text, text), aoma_private.centred_columns(float8[], integer), aoma_private.ols_moments_sql(text, integer, text), aoma_private.check_row_count(integer, integer),
  aoma_private.glm_solve(float8[], float8[], float8, float8[], text[], float8[]), aoma_private.design_condition(float8[], integer),
  aoma_private.irls(text, text[], text, float8[], float8[], float8, float8[], float8[]), aoma_private.cross_product_items(text[]),
  aoma_private.unpack_symmetric(float8[], integer), aoma_private.mat_mul(float8[], float8[], integer),
  aoma_private.check_l2(float8), aoma_private.glm_mean(text, float8),
  aoma_private.glm_fit(text, text[], text, float8, float8, boolean), aoma_private.column_as_float8(regclass, text),
  aoma_private.glm_source(regclass, text, text[], text, text, text), aoma_private.glm_check_rows(text, integer, text)
  to authenticated, service_role;
