-- AOMA Mesh Analytics — regression models fitted in SQL (issue 10, part 1: the fits).
--
-- ── analytics.fit_glm(relation, target, predictors, family, exposure, level) ───────────────────────
--   relation    regclass  a table or view the caller can read (one row per observation)
--   target      text      its outcome column (numeric): any number (gaussian), 0/1 (binomial),
--                         a count ≥ 0 (poisson, quasipoisson)
--   predictors  text[]    1..30 numeric columns; an intercept is always added
--   family      text      'gaussian' (OLS) | 'binomial' (logistic) | 'poisson' | 'quasipoisson'
--   exposure    text      default null: a column > 0 whose log is the offset (poisson families: rates)
--   level       float8    default 95: confidence level of the intervals, in (0, 100)
-- Returns one row per term ('(intercept)' first, then the predictors in order): estimate, std_error,
-- statistic (t for gaussian, z otherwise), p_value, ci_low, ci_high, and for gaussian the robust
-- standard errors hc0_se … hc3_se (White's, MacKinnon–White's n/(n − p), leverage-weighted 1/(1 − h)
-- and 1/(1 − h)²); then the model's numbers, the same on every row: n, df_resid, r2, adj_r2, f, f_p
-- (gaussian), deviance, null_deviance, llf, aic, bic, scale (σ² for gaussian, the Pearson χ²/df for
-- quasipoisson, else 1), cond (condition number of the standardised design), iterations, family.
-- Rows with a null in any used column are left out (n says how many were used). Runs as the caller.
--
-- ── The sums: one aggregate, one scan per fit (per IRLS iteration) ─────────────────────────────────
-- aoma_private.weighted_moments(v float8[], w float8): weighted means and centred co-moments of the
-- vector v (West 1979, one row at a time; Chan et al. 1979 to combine partial states), so a fit
-- over millions of rows is one scan, PARALLEL SAFE with a combine function: parallel workers (or a
-- distributed Postgres) each sum a part. Centring as it goes keeps the numbers exact where raw sums
-- of squares cancel (the Longley data: raw design condition number 4.9e9).
-- OLS: one scan of v = (x, y), w = 1. GLM (canonical links) by IRLS: each iteration is one scan of
-- v = (x, z) with the working weights w and response z at the current coefficients, plus the
-- deviance in the same scan; the small solve (p × p, standardised, Cholesky) runs at the end. Robust
-- standard errors (gaussian): one more scan with the residuals and leverages.
-- Checked against statsmodels 0.13 (OLS, Logit, GLM Poisson): tests/reference/make_glm_reference.py.
-- Errors (SQLSTATE 22023): one sentence naming the column and the fix — unknown or non-numeric
-- column, a constant predictor, collinear predictors, too few rows, a binary target that is not 0/1
-- or has one class only, negative counts, no convergence, perfect separation.

-- ───────────────────────────── the aggregate ─────────────────────────────
-- State (float8[]): [Σw, rows, q, mean_1 … mean_q, C_11 … C_qq (row-major; the transition keeps the
-- upper triangle, the final function mirrors it)]. Rows with a null anywhere or w ≤ 1e-150 are skipped.
create or replace function aoma_private.weighted_moments_step(st float8[], v float8[], w float8)
returns float8[]
language plpgsql
immutable parallel safe
set search_path = ''
as $$
declare
  q integer;
  sw float8;
  f float8;
  d float8[];
begin
  -- weights below 1e-150 carry nothing at float precision (and their products would underflow, which
  -- PostgreSQL raises as an error)
  if v is null or w is null or not (w > 1e-150) or array_position(v, null) is not null then
    return st;
  end if;
  q := cardinality(v);
  if st is null then
    st := array[0::float8, 0::float8, q::float8] || array_fill(0::float8, array[q + q * q]);
  elsif st[3] <> q then
    raise exception 'weighted_moments: every row needs % values (got %)', st[3], q using errcode = '22023';
  end if;
  sw := st[1] + w;
  f := w / sw;
  d := array_fill(0::float8, array[q]);
  for i in 1..q loop
    d[i] := v[i] - st[3 + i];
    st[3 + i] := st[3 + i] + f * d[i];
  end loop;
  -- C_ij += w · d_i · (v_j − new mean_j) = w · (1 − f) · d_i · d_j
  f := w * (1 - f);
  for i in 1..q loop
    for j in i..q loop
      st[3 + q + (i - 1) * q + j] := st[3 + q + (i - 1) * q + j] + f * d[i] * d[j];
    end loop;
  end loop;
  st[1] := sw;
  st[2] := st[2] + 1;
  return st;
end;
$$;

create or replace function aoma_private.weighted_moments_combine(a float8[], b float8[])
returns float8[]
language plpgsql
immutable parallel safe
set search_path = ''
as $$
declare
  q integer;
  sw float8;
  f float8;
  d float8[];
begin
  if a is null then
    return b;
  elsif b is null then
    return a;
  end if;
  q := a[3]::integer;
  sw := a[1] + b[1];
  d := array_fill(0::float8, array[q]);
  for i in 1..q loop
    d[i] := b[3 + i] - a[3 + i];
    a[3 + i] := a[3 + i] + d[i] * b[1] / sw;
  end loop;
  f := a[1] * b[1] / sw;
  for i in 1..q loop
    for j in i..q loop
      a[3 + q + (i - 1) * q + j] := a[3 + q + (i - 1) * q + j] + b[3 + q + (i - 1) * q + j] + f * d[i] * d[j];
    end loop;
  end loop;
  a[1] := sw;
  a[2] := a[2] + b[2];
  return a;
end;
$$;

create or replace function aoma_private.weighted_moments_final(st float8[])
returns float8[]
language plpgsql
immutable parallel safe
set search_path = ''
as $$
declare
  q integer;
begin
  if st is null then
    return null;
  end if;
  q := st[3]::integer;
  for i in 2..q loop
    for j in 1..i - 1 loop
      st[3 + q + (i - 1) * q + j] := st[3 + q + (j - 1) * q + i];
    end loop;
  end loop;
  return st;
end;
$$;

drop aggregate if exists aoma_private.weighted_moments(float8[], float8);
create aggregate aoma_private.weighted_moments(float8[], float8) (
  sfunc = aoma_private.weighted_moments_step,
  stype = float8[],
  combinefunc = aoma_private.weighted_moments_combine,
  finalfunc = aoma_private.weighted_moments_final,
  parallel = safe
);
comment on aggregate aoma_private.weighted_moments(float8[], float8) is
  'Weighted means and centred co-moments of a vector (state [Σw, rows, q, means, q×q co-moments]); parallel safe. See sql/70_models.sql.';

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

-- ───────────────────────────── one solve from the moments ─────────────────────────────

-- aoma_private.moments_solve(mom, names): the weighted least-squares fit of the last variable of the
-- moments on the others plus an intercept. The predictors are standardised (their co-moments scaled
-- to a correlation-like matrix) before the Cholesky solve. Returns the coefficients (intercept
-- first), their unscaled covariance (X'WX)⁻¹ (row-major, (p+1)²), the weighted residual sum of
-- squares, Σw, the rows and the condition number of the standardised design. A constant or
-- collinear predictor raises 22023 naming it.
create or replace function aoma_private.moments_solve(
  mom float8[], names text[],
  out beta float8[], out cov float8[], out rss float8, out sw float8, out n_rows integer, out cond float8
)
language plpgsql
immutable parallel safe
set search_path = ''
as $$
declare
  q integer := mom[3]::integer;
  p integer := q - 1;
  mean float8[];
  d float8[];
  r float8[];
  rinv float8[];
  s float8[];
  g float8[];
  ev float8[];
  c0 float8;
begin
  sw := mom[1];
  n_rows := mom[2]::integer;
  mean := mom[4:3 + q];
  d := array_fill(0::float8, array[p]);
  for j in 1..p loop
    d[j] := sqrt(greatest(mom[3 + q + (j - 1) * q + j], 0));
    if not (d[j] > 1e-12 * greatest(abs(mean[j]), 1e-300) * sqrt(sw)) then
      raise exception 'predictor "%" is constant in the rows used (%): it cannot be estimated beside the intercept; leave it out',
        names[j], round(mean[j]::numeric, 6) using errcode = '22023';
    end if;
  end loop;
  r := array_fill(0::float8, array[p * p]);
  s := array_fill(0::float8, array[p]);
  for i in 1..p loop
    for j in 1..p loop
      r[(i - 1) * p + j] := mom[3 + q + (i - 1) * q + j] / (d[i] * d[j]);
    end loop;
    s[i] := mom[3 + q + (i - 1) * q + q] / d[i];
  end loop;
  rinv := aoma_private.spd_inverse(r, p);
  if rinv is null then
    -- the first predictor that the ones before it explain (leading blocks)
    for k in 2..p loop
      if aoma_private.cholesky((select array_agg(r[(i - 1) * p + j] order by i, j) from generate_series(1, k) i, generate_series(1, k) j), k) is null then
        raise exception 'predictors are collinear: "%" is (almost) a linear combination of %; leave one of them out',
          names[k], (select string_agg(format('"%s"', names[i]), ', ' order by i) from generate_series(1, k - 1) i)
          using errcode = '22023';
      end if;
    end loop;
    raise exception 'predictors are collinear; leave one of them out' using errcode = '22023';
  end if;
  ev := aoma_private.sym_eigenvalues(r, p);
  cond := sqrt((select max(x) from unnest(ev) x) / nullif((select min(x) from unnest(ev) x), 0));
  g := array_fill(0::float8, array[p]);
  for i in 1..p loop
    for j in 1..p loop
      g[i] := g[i] + rinv[(i - 1) * p + j] * s[j];
    end loop;
  end loop;
  -- slopes β_j = γ_j / d_j; intercept = mean_y − Σ β_j mean_j
  beta := array[mean[q]] || array_fill(0::float8, array[p]);
  rss := mom[3 + q + (q - 1) * q + q];
  for j in 1..p loop
    beta[1 + j] := g[j] / d[j];
    beta[1] := beta[1] - beta[1 + j] * mean[j];
    rss := rss - g[j] * s[j];
  end loop;
  rss := greatest(rss, 0);
  -- covariance: Var(β) = Sxx⁻¹ = D⁻¹ R⁻¹ D⁻¹; Cov(b0, β) = −m' Var(β); Var(b0) = 1/Σw + m' Var(β) m
  cov := array_fill(0::float8, array[(p + 1) * (p + 1)]);
  for i in 1..p loop
    for j in 1..p loop
      cov[i * (p + 1) + 1 + j] := rinv[(i - 1) * p + j] / (d[i] * d[j]);
    end loop;
  end loop;
  c0 := 1 / sw;
  for j in 1..p loop
    cov[1 + j] := 0;
    for i in 1..p loop
      cov[1 + j] := cov[1 + j] - mean[i] * cov[i * (p + 1) + 1 + j];
    end loop;
    cov[j * (p + 1) + 1] := cov[1 + j];
    c0 := c0 - cov[1 + j] * mean[j];
  end loop;
  cov[1] := c0;
end;
$$;

-- ───────────────────────────── per-row helpers ─────────────────────────────

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

-- aoma_private.glm_working(family, eta, y, off): one row's IRLS ingredients for a canonical-link
-- family at linear predictor eta (without the offset; eta null: the starting values, μ = (y + ½)/2
-- binomial, y + ⅒ poisson): {working weight w, working response z (without the offset), deviance
-- contribution, Pearson contribution, log-likelihood contribution}.
create or replace function aoma_private.glm_working(family text, eta float8, y float8, off float8)
returns float8[]
language plpgsql
immutable parallel safe
set search_path = ''
as $$
declare
  mu float8;
  w float8;
  lmu float8;   -- ln μ
  l1mu float8;  -- ln (1 − μ)
begin
  if family = 'binomial' then
    if eta is null then
      mu := (y + 0.5) / 2;
      eta := ln(mu / (1 - mu));
    end if;
    -- ln μ = −softplus(−η), ln(1 − μ) = −softplus(η), without overflow; PostgreSQL raises an error on
    -- float underflow, so exponents below −700 are 0 here
    lmu := -(greatest(-eta, 0) + case when abs(eta) > 700 then 0 else aoma_private.log1p(exp(-abs(eta))) end);
    l1mu := -(greatest(eta, 0) + case when abs(eta) > 700 then 0 else aoma_private.log1p(exp(-abs(eta))) end);
    mu := case when lmu < -700 then 0 else exp(lmu) end;
    w := case when lmu + l1mu < -700 then 0 else exp(lmu + l1mu) end;
    if w <= 1e-150 then
      return array[0, null, -2 * (y * lmu + (1 - y) * l1mu), null, y * lmu + (1 - y) * l1mu];
    end if;
    return array[w, eta + (y - mu) / w, -2 * (y * lmu + (1 - y) * l1mu),
                 case when abs(y - mu) < 1e-150 then 0 else (y - mu) ^ 2 / w end, y * lmu + (1 - y) * l1mu];
  else
    if eta is null then
      eta := ln(y + 0.1) - off;
    end if;
    lmu := eta + off;
    if lmu > 700 then
      raise exception 'the Poisson fit diverged (a fitted mean above e^700): check the predictors'' scale' using errcode = '22023';
    end if;
    if lmu < -700 then
      return array[0, null, 2 * y * (700 + lmu), null, null];  -- μ ≈ 0: no weight (y > 0 here would mean divergence)
    end if;
    mu := exp(lmu);
    return array[mu, eta + (y - mu) / mu,
                 2 * (case when y > 0 then y * (ln(y) - lmu) else 0 end - (y - mu)), (y - mu) ^ 2 / mu,
                 y * lmu - mu - aoma_private.ln_gamma(y + 1)];
  end if;
end;
$$;

-- aoma_private.ols_row(x, y, beta, mean, v): one row's residual² and leverage for the robust
-- standard errors: {e², h} with e = y − x̃β and h = 1/n + (x − mean)' V (x − mean), V the unscaled
-- covariance of the slopes, mean[p + 1] = 1/n.
create or replace function aoma_private.ols_row(x float8[], y float8, beta float8[], mean float8[], v float8[])
returns float8[]
language plpgsql
immutable parallel safe
set search_path = ''
as $$
declare
  p integer := cardinality(x);
  e float8 := y - aoma_private.linear_predictor(beta, x);
  h float8 := mean[p + 1];
  t float8;
begin
  for i in 1..p loop
    t := 0;
    for j in 1..p loop
      t := t + v[(i - 1) * p + j] * (x[j] - mean[j]);
    end loop;
    h := h + (x[i] - mean[i]) * t;
  end loop;
  return array[e * e, h];
end;
$$;

-- aoma_private.sandwich(mom, mean, v, n): the robust covariance (p+1)² of the OLS coefficients from
-- the weighted moments of (x − mean) with weights u (e², e²/(1 − h) or e²/(1 − h)²): bread
-- diag(1/n, V) in the basis [1, x − mean], meat M = Σ u x̃ x̃', then back to the intercept at 0.
create or replace function aoma_private.sandwich(mom float8[], mean float8[], v float8[], n integer)
returns float8[]
language plpgsql
immutable parallel safe
set search_path = ''
as $$
declare
  p integer;
  su float8;
  mu float8[];
  m float8[];   -- meat, (p+1)² in the basis [1, x − mean]
  s float8[];   -- B M B
  out_ float8[];
  t float8;
begin
  if mom is null then
    return null;
  end if;
  p := mom[3]::integer;
  su := mom[1];
  mu := mom[4:3 + p];
  m := array_fill(0::float8, array[(p + 1) * (p + 1)]);
  m[1] := su;
  for j in 1..p loop
    m[1 + j] := su * mu[j];
    m[j * (p + 1) + 1] := su * mu[j];
    for k in 1..p loop
      m[j * (p + 1) + 1 + k] := mom[3 + p + (j - 1) * p + k] + su * mu[j] * mu[k];
    end loop;
  end loop;
  -- bread: b(0,0) = 1/n, b(j,k) = V_jk
  s := array_fill(0::float8, array[(p + 1) * (p + 1)]);
  s[1] := m[1] / (n::float8 * n);
  for j in 1..p loop
    t := 0;
    for k in 1..p loop
      t := t + m[1 + k] * v[(k - 1) * p + j];
    end loop;
    s[1 + j] := t / n;
    s[j * (p + 1) + 1] := t / n;
  end loop;
  for i in 1..p loop
    for j in 1..p loop
      t := 0;
      for k in 1..p loop
        for l in 1..p loop
          t := t + v[(i - 1) * p + k] * m[k * (p + 1) + 1 + l] * v[(l - 1) * p + j];
        end loop;
      end loop;
      s[i * (p + 1) + 1 + j] := t;
    end loop;
  end loop;
  -- back to b0 = a − mean'β: Var(b0) = S00 − 2 m'S0 + m'S m; Cov(b0, β) = S0 − m'S
  out_ := s;
  for j in 1..p loop
    t := s[1 + j];
    for i in 1..p loop
      t := t - mean[i] * s[i * (p + 1) + 1 + j];
    end loop;
    out_[1 + j] := t;
    out_[j * (p + 1) + 1] := t;
  end loop;
  t := s[1];
  for i in 1..p loop
    t := t - 2 * mean[i] * s[1 + i];
    for j in 1..p loop
      t := t + mean[i] * mean[j] * s[i * (p + 1) + 1 + j];
    end loop;
  end loop;
  out_[1] := t;
  return out_;
end;
$$;

-- ───────────────────────────── the fit ─────────────────────────────

-- aoma_private.glm_check_rows(src, p, family): the data checks of a fit over the rows of src (see
-- glm_fit): enough rows for p predictors, a 0/1 target with both classes (binomial), no negative
-- count (poisson). Returns the rows and the rows with y = 1; 22023 with the reason otherwise.
create or replace function aoma_private.glm_check_rows(src text, p integer, family text, out n integer, out n_pos integer)
language plpgsql
stable
set search_path = ''
as $$
declare
  k integer := p + 1;
  fam text := family;
  ymin float8;
  ymax float8;
  non_int integer;
begin
  execute format('select count(*)::integer, min(y), max(y), count(*) filter (where y = 1)::integer,
                         count(*) filter (where y <> floor(y))::integer from (%s) s', src)
    into n, ymin, ymax, n_pos, non_int;
  if n < k + 2 then
    raise exception 'too few rows: % complete rows for % coefficients (the intercept and % predictors); at least % are needed',
      n, k, p, k + 2 using errcode = '22023';
  end if;
  if fam = 'binomial' and not (ymin >= 0 and ymax <= 1 and non_int = 0) then
    raise exception 'a binomial (logistic) target must be 0 or 1 in every row (it ranges from % to %); use family gaussian or poisson for other values',
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


-- aoma_private.glm_fit(src, names, family, level): fits the rows of the query src (columns x
-- float8[] — the predictors named by names, in order —, y float8, off float8; no nulls) and returns
-- the fit as jsonb (see analytics.fit_glm for the fields). src is built by analytics.fit_glm from
-- checked identifiers only.
create or replace function aoma_private.glm_fit(src text, names text[], family text, level float8)
returns jsonb
language plpgsql
volatile
set search_path = ''
as $$
declare
  p integer := cardinality(names);
  k integer := p + 1;
  fam text := case when family = 'quasipoisson' then 'poisson' else family end;
  n integer;
  n_pos integer;
  n_certain integer;
  mom float8[];
  sol record;
  beta float8[];
  dev float8;
  dev_prev float8;
  pearson float8;
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
  hc jsonb := '{}'::jsonb;
  hc0m float8[];
  hc2m float8[];
  hc3m float8[];
  hcv float8[];
  mean float8[];
  v float8[];
  wk text;
begin
  select c.n, c.n_pos into n, n_pos from aoma_private.glm_check_rows(src, p, fam) c;
  df_resid := n - k;

  if fam = 'gaussian' then
    execute format('select aoma_private.weighted_moments(s.x || s.y, 1) from (%s) s', src) into mom;
    sol := aoma_private.moments_solve(mom, names);
    beta := sol.beta;
    scale := sol.rss / df_resid;
    tss := mom[3 + k + (k - 1) * k + k];
    converged := true;
  else
    wk := 'aoma_private.glm_working($2, case when $1 is null then null else aoma_private.linear_predictor($1, s.x) end, s.y, s.off)';
    for i in 1..100 loop
      execute format('select aoma_private.weighted_moments(q.x || q.wk[2], q.wk[1]), sum(q.wk[3]), sum(q.wk[4]), sum(q.wk[5]),
                             count(*) filter (where q.wk[1] < 1e-10)::integer
                      from (select s.x, %s as wk from (%s) s) q', wk, src)
        into mom, dev, pearson, llf, n_certain using beta, fam;
      it := i;
      if beta is not null and abs(dev - dev_prev) <= 1e-13 * (abs(dev) + 0.1) then
        converged := true;
        exit;
      end if;
      sol := aoma_private.moments_solve(mom, names);
      beta := sol.beta;
      dev_prev := dev;
    end loop;
    if fam = 'binomial' and n_certain = n then
      converged := false;  -- every row fitted with certainty: complete separation
    end if;
    if not converged then
      raise exception '%', case when fam = 'binomial'
        then 'the fit does not converge: the predictors (almost) perfectly separate the 0 and 1 rows, so the coefficients grow without bound; leave out the predictor that separates them'
        else 'the Poisson fit does not converge in 100 iterations: check the predictors'' scale and the exposure' end
        using errcode = '22023';
    end if;
    scale := case when family = 'quasipoisson' then pearson / df_resid else 1 end;
  end if;

  -- standard errors, tests and intervals
  q := aoma_private.two_sided_quantile(coalesce(level, 95), case when fam = 'gaussian' then df_resid end);
  se := '{}';
  stat := '{}';
  pv := '{}';
  lo := '{}';
  hi := '{}';
  for j in 1..k loop
    se := se || sqrt(scale * sol.cov[(j - 1) * k + j]);
    stat := stat || beta[j] / nullif(se[j], 0);
    pv := pv || case when fam = 'gaussian' then aoma_private.student_t_sf2(coalesce(stat[j], 0), df_resid)
                     else aoma_private.normal_sf2(coalesce(stat[j], 0)) end;
    lo := lo || beta[j] - q * se[j];
    hi := hi || beta[j] + q * se[j];
  end loop;

  if fam = 'gaussian' then
    r2 := case when tss > 0 then 1 - sol.rss / tss end;
    adj := 1 - (1 - r2) * (n - 1) / df_resid;
    f := case when sol.rss > 0 then ((tss - sol.rss) / p) / (sol.rss / df_resid) end;
    f_p := case when f is not null then aoma_private.incomplete_beta(df_resid / (df_resid + p * f), df_resid / 2.0, p / 2.0) end;
    llf := -n / 2.0 * (ln(2 * pi() * sol.rss / n) + 1);
    null_dev := tss;
    dev := sol.rss;
    -- robust standard errors: one scan of residuals and leverages
    mean := mom[4:3 + p] || (1.0 / n);
    v := (select array_agg(sol.cov[i * k + 1 + j] order by i, j) from generate_series(1, p) i, generate_series(1, p) j);
    execute format('select aoma_private.weighted_moments(q.xc, q.r[1]) as hc0,
                           aoma_private.weighted_moments(q.xc, q.r[1] / (1 - q.r[2])) as hc2,
                           aoma_private.weighted_moments(q.xc, q.r[1] / (1 - q.r[2]) ^ 2) as hc3
                    from (select (select array_agg(s.x[j] - $3[j] order by j) from generate_subscripts(s.x, 1) j) as xc,
                                 aoma_private.ols_row(s.x, s.y, $1, $3, $2) as r from (%s) s) q', src)
      into hc0m, hc2m, hc3m using beta, v, mean;
    mean := mean[1:p];
    foreach wk in array array['hc0', 'hc1', 'hc2', 'hc3'] loop
      hcv := aoma_private.sandwich(case wk when 'hc2' then hc2m when 'hc3' then hc3m else hc0m end, mean, v, n);
      hc := hc || jsonb_build_object(wk || '_se', (select jsonb_agg(sqrt(hcv[(j - 1) * k + j] * case when wk = 'hc1' then n::float8 / df_resid else 1 end) order by j)
                                                  from generate_series(1, k) j));
    end loop;
  elsif fam = 'binomial' then
    null_dev := -2 * (n_pos * ln(n_pos::float8 / n) + (n - n_pos) * ln((n - n_pos)::float8 / n));
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
    'pearson_chi2', pearson, 'llf', llf, 'aic', aic, 'bic', bic, 'scale', scale, 'cond', sol.cond, 'iterations', it,
    'cov', to_jsonb(sol.cov)) || hc;
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

-- aoma_private.glm_source(relation, target, predictors, family, exposure, order_by): checks the
-- arguments of a fit (columns exist, are numeric or boolean, the caller may read the relation) and
-- returns the query of its rows for aoma_private.glm_fit — x float8[], y, off (ln exposure or 0),
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
  if glm_source.exposure is not null and v_family not in ('poisson', 'quasipoisson') then
    raise exception 'exposure applies to the poisson and quasipoisson families only' using errcode = '22023';
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
  return format('select array[%s]::float8[] as x, %s as y, %s as off%s from %s where %s',
    (select string_agg(aoma_private.column_as_float8(glm_source.relation, c.name), ', ' order by c.ord)
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
create or replace function analytics.fit_glm(
  relation regclass,
  target text,
  predictors text[],
  family text default 'gaussian',
  exposure text default null,
  level float8 default 95
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
  v_src := aoma_private.glm_source(fit_glm.relation, fit_glm.target, fit_glm.predictors, v_family, fit_glm.exposure, null);
  fit := aoma_private.glm_fit(v_src, fit_glm.predictors, v_family, fit_glm.level);
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
comment on function analytics.fit_glm(regclass, text, text[], text, text, float8) is
  'OLS / logistic / Poisson / quasi-Poisson regression of a table''s column on others, fitted in SQL (one parallel-safe aggregate scan per IRLS iteration): coefficients, SE, tests, CIs, robust SEs (OLS), model statistics. See sql/70_models.sql.';
grant execute on function analytics.fit_glm(regclass, text, text[], text, text, float8) to authenticated, service_role;

grant execute on function aoma_private.weighted_moments_step(float8[], float8[], float8),
  aoma_private.weighted_moments_combine(float8[], float8[]), aoma_private.weighted_moments_final(float8[]),
  aoma_private.spd_inverse(float8[], integer), aoma_private.sym_eigenvalues(float8[], integer),
  aoma_private.two_sided_quantile(float8, float8), aoma_private.moments_solve(float8[], text[]),
  aoma_private.linear_predictor(float8[], float8[]), aoma_private.glm_working(text, float8, float8, float8),
  aoma_private.ols_row(float8[], float8, float8[], float8[], float8[]), aoma_private.sandwich(float8[], float8[], float8[], integer),
  aoma_private.glm_fit(text, text[], text, float8), aoma_private.column_as_float8(regclass, text),
  aoma_private.glm_source(regclass, text, text[], text, text, text), aoma_private.glm_check_rows(text, integer, text)
  to authenticated, service_role;
grant execute on function aoma_private.weighted_moments(float8[], float8) to authenticated, service_role;
