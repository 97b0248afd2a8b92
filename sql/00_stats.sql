-- AOMA Mesh Analytics — statistics library (schema aoma_private).
--
-- The special functions and tests every analysis builds on, written so that the same numbers come
-- out of PostgreSQL 15, 17 and 18 (PGlite): no lgamma()/erf() (PG18-only), no extensions.
--
--   ln_gamma(x)                    ln Γ(x), x > 0
--   ln_beta(a, b)                  ln B(a, b), a, b > 0
--   incomplete_beta(x, a, b)       regularized incomplete beta I_x(a, b)
--   incomplete_beta_xy(x, y, a, b) the same with y = 1 − x supplied by the caller (no cancellation)
--   student_t_sf2(t, df)           two-sided p-value 2·P(T > |t|) of Student's t
--   correlation_pvalue(r, n)       two-sided p of H0: ρ = 0 (t-test with n − 2 df)
--   correlation_sums(x, y)         the sufficient sums of both correlations (inlinable SQL)
--   correlation_from_sums(...)     statistics from those sums
--   correlation_stats(x, y)        Pearson r, p, 95 % CI; Spearman ρ, p; n; note
--   bh_qvalues(p)                  Benjamini–Hochberg adjusted p-values
--
-- Accuracy, measured against mpmath (50 digits) on the grids of tests/reference/make_reference.py:
-- ln_gamma ≤ 7e-16 × max(1, |ln Γ|); incomplete_beta ≤ 4e-13 relative for a, b ≤ 1000 including
-- tails down to 1e-300 (scipy 1.10 itself is off by up to 1e-12 there); student_t_sf2 ≤ 7e-13
-- relative for df ≤ 10 000 and p down to 6e-300. Tails are always computed directly, never as
-- 1 − (something close to 1).
--
-- Idempotent: create or replace only. Every function is granted to authenticated and service_role
-- (analysis functions run as the caller and call these helpers).

-- ───────────────────────────── elementary helpers ─────────────────────────────

-- log1p(z) = ln(1 + z), accurate for small |z| (PostgreSQL has no log1p). The classic trick:
-- with u = 1 + z rounded, ln(u)·z/(u − 1) cancels the rounding error of u.
create or replace function aoma_private.log1p(z float8)
returns float8
language plpgsql immutable strict parallel safe
set search_path = ''
as $$
declare
  u float8 := 1.0 + z;
begin
  if u = 1.0 then
    return z;
  end if;
  return ln(u) * z / (u - 1.0);
end
$$;
grant execute on function aoma_private.log1p(float8) to authenticated, service_role;

-- Stirling correction δ(x) = ln Γ(x) − ((x − ½)·ln x − x + ½·ln 2π) for x ≥ 10, from the
-- asymptotic series with Bernoulli numbers up to B16 (truncation error below 2e-18 at x = 10).
create or replace function aoma_private.stirling_correction(x float8)
returns float8
language plpgsql immutable strict parallel safe
set search_path = ''
as $$
declare
  z float8 := 1.0 / (x * x);
begin
  return (0.08333333333333333 + z * (-0.002777777777777778 + z * (0.0007936507936507937
    + z * (-0.0005952380952380953 + z * (0.0008417508417508417 + z * (-0.0019175269175269176
    + z * (0.00641025641025641 + z * (-0.029550653594771242)))))))) / x;
end
$$;
grant execute on function aoma_private.stirling_correction(float8) to authenticated, service_role;

-- ───────────────────────────── gamma and beta ─────────────────────────────

-- ln_gamma(x): natural log of the gamma function for finite x > 0.
-- Below 10: Lanczos approximation (g = 671/128, 14 terms, Numerical Recipes 3rd ed.);
-- from 10 on: Stirling's series with stirling_correction(). Relative error ~1e-14 (absolute
-- ~1e-15 near the zeros at x = 1 and x = 2). Raises 22023 for x ≤ 0 or non-finite x.
-- Example: ln_gamma(0.5) = 0.5723649429247001 (= ln √π).
create or replace function aoma_private.ln_gamma(x float8)
returns float8
language plpgsql immutable strict parallel safe
set search_path = ''
as $$
declare
  tmp float8;
  ser float8;
begin
  if not (x > 0 and x < 'Infinity'::float8) then
    raise exception 'ln_gamma needs a finite positive argument (got %)', x using errcode = '22023';
  end if;
  if x >= 10 then
    return (x - 0.5) * ln(x) - x + 0.9189385332046727 + aoma_private.stirling_correction(x);
  end if;
  tmp := x + 5.2421875;
  tmp := (x + 0.5) * ln(tmp) - tmp;
  ser := 0.999999999999997092 + 57.1562356658629235 / (x + 1.0) - 59.5979603554754912 / (x + 2.0)
    + 14.1360979747417471 / (x + 3.0) - 0.491913816097620199 / (x + 4.0)
    + 0.339946499848118887e-4 / (x + 5.0) + 0.465236289270485756e-4 / (x + 6.0)
    - 0.983744753048795646e-4 / (x + 7.0) + 0.158088703224912494e-3 / (x + 8.0)
    - 0.210264441724104883e-3 / (x + 9.0) + 0.217439618115212643e-3 / (x + 10.0)
    - 0.164318106536763890e-3 / (x + 11.0) + 0.844182239838527433e-4 / (x + 12.0)
    - 0.261908384015814087e-4 / (x + 13.0) + 0.368991826595316234e-5 / (x + 14.0);
  return tmp + ln(2.5066282746310005 * ser / x);
end
$$;
grant execute on function aoma_private.ln_gamma(float8) to authenticated, service_role;

-- ln_beta(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b) for finite a, b > 0, computed without the
-- catastrophic cancellation of the plain formula when a or b is large: the Stirling terms are
-- combined analytically (log1p of the ratio), as in TOMS 708 betaln. Absolute error ~1e-14·max(1, |ln B|).
create or replace function aoma_private.ln_beta(a float8, b float8)
returns float8
language plpgsql immutable strict parallel safe
set search_path = ''
as $$
declare
  p float8 := least(a, b);
  q float8 := greatest(a, b);
begin
  if not (p > 0 and q < 'Infinity'::float8) then
    raise exception 'ln_beta needs finite positive arguments (got a=%, b=%)', a, b using errcode = '22023';
  end if;
  if q < 10 then
    return aoma_private.ln_gamma(p) + aoma_private.ln_gamma(q) - aoma_private.ln_gamma(p + q);
  end if;
  if p < 10 then
    -- ln Γ(q) − ln Γ(p + q) by Stirling, the large logs folded into log1p(p/q)
    return aoma_private.ln_gamma(p) - (q - 0.5) * aoma_private.log1p(p / q) - p * ln(p + q) + p
      + aoma_private.stirling_correction(q) - aoma_private.stirling_correction(p + q);
  end if;
  return 0.9189385332046727 - 0.5 * ln(q) + (p - 0.5) * ln(p / (p + q))
    + q * aoma_private.log1p(-p / (p + q))
    + aoma_private.stirling_correction(p) + aoma_private.stirling_correction(q)
    - aoma_private.stirling_correction(p + q);
end
$$;
grant execute on function aoma_private.ln_beta(float8, float8) to authenticated, service_role;

-- ───────────────────────────── incomplete beta ─────────────────────────────

-- beta_continued_fraction(x, a, b): the continued fraction of I_x(a, b) (Numerical Recipes
-- betacf, evaluated by the modified Lentz method). Converges fast for x < (a + 1)/(a + b + 2);
-- callers use the symmetry I_x(a, b) = 1 − I_{1−x}(b, a) beyond that point.
create or replace function aoma_private.beta_continued_fraction(x float8, a float8, b float8)
returns float8
language plpgsql immutable strict parallel safe
set search_path = ''
as $$
declare
  tiny constant float8 := 1e-300::float8;
  qab float8 := a + b;
  qap float8 := a + 1.0::float8;
  qam float8 := a - 1.0::float8;
  c float8 := 1::float8;
  d float8 := 1::float8 - qab * x / qap;
  h float8;
  aa float8;
  del float8;
  m float8 := 0::float8;
  m2 float8;
  max_iter float8 := 1000.0::float8 + 10.0::float8 * sqrt(greatest(a, b));
begin
  if abs(d) < tiny then d := tiny; end if;
  d := 1.0::float8 / d;
  h := d;
  while m < max_iter loop
    m := m + 1.0::float8;
    m2 := m + m;
    -- even step
    aa := m * (b - m) * x / ((qam + m2) * (a + m2));
    d := 1.0::float8 + aa * d;
    c := 1.0::float8 + aa / c;
    if abs(d) < tiny or abs(c) < tiny then
      d := case when abs(d) < tiny then tiny else d end;
      c := case when abs(c) < tiny then tiny else c end;
    end if;
    d := 1.0::float8 / d;
    h := h * d * c;
    -- odd step
    aa := -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d := 1.0::float8 + aa * d;
    c := 1.0::float8 + aa / c;
    if abs(d) < tiny or abs(c) < tiny then
      d := case when abs(d) < tiny then tiny else d end;
      c := case when abs(c) < tiny then tiny else c end;
    end if;
    d := 1.0::float8 / d;
    del := d * c;
    h := h * del;
    if abs(del - 1.0::float8) < 3e-16 then
      return h;
    end if;
  end loop;
  raise exception 'incomplete beta did not converge for x=%, a=%, b=%', x, a, b using errcode = '22003';
end
$$;
grant execute on function aoma_private.beta_continued_fraction(float8, float8, float8) to authenticated, service_role;

-- incomplete_beta_xy(x, y, a, b): regularized incomplete beta I_x(a, b) where the caller passes
-- y = 1 − x computed without cancellation (e.g. y = t²/(df + t²) beside x = df/(df + t²)), so
-- that tails near x = 1 stay accurate. x, y in [0, 1] with x + y = 1; a, b > 0 and finite.
-- The prefactor x^a·y^b/B(a, b) is formed in logs (ln x from log1p(−y) when x > ½), so results
-- down to ~1e-300 keep ~1e-13 relative accuracy; below the smallest normal double (~3e-308) the
-- tail is 0. Raises 22023 on a bad domain.
create or replace function aoma_private.incomplete_beta_xy(x float8, y float8, a float8, b float8)
returns float8
language plpgsql immutable strict parallel safe
set search_path = ''
as $$
declare
  ln_x float8;
  ln_y float8;
  front float8;
  tail float8;
begin
  if not (x >= 0 and x <= 1 and y >= 0 and y <= 1) then
    raise exception 'incomplete beta needs 0 <= x <= 1 and y = 1 - x (got x=%, y=%)', x, y using errcode = '22023';
  end if;
  if not (a > 0 and b > 0 and a < 'Infinity'::float8 and b < 'Infinity'::float8) then
    raise exception 'incomplete beta needs finite positive a and b (got a=%, b=%)', a, b using errcode = '22023';
  end if;
  if x = 0 then return 0::float8; end if;
  if y = 0 then return 1::float8; end if;
  ln_x := case when x < 0.5 then ln(x) else aoma_private.log1p(-y) end;
  ln_y := case when y < 0.5 then ln(y) else aoma_private.log1p(-x) end;
  front := a * ln_x + b * ln_y - aoma_private.ln_beta(a, b);
  -- The tail is formed in logs and taken as 0 below the smallest normal double (e^-708 ≈ 3e-308):
  -- PostgreSQL raises "value out of range: underflow" when a float8 product or exp() rounds a
  -- nonzero result to 0, which subnormal intermediates would otherwise do.
  if x < (a + 1.0) / (a + b + 2.0) then
    if front < -708 then return 0::float8; end if;
    tail := front + ln(aoma_private.beta_continued_fraction(x, a, b) / a);
    return case when tail < -708 then 0::float8 else exp(tail) end;
  end if;
  if front < -708 then return 1::float8; end if;
  tail := front + ln(aoma_private.beta_continued_fraction(y, b, a) / b);
  return case when tail < -708 then 1::float8 else 1.0 - exp(tail) end;
end
$$;
grant execute on function aoma_private.incomplete_beta_xy(float8, float8, float8, float8) to authenticated, service_role;

-- incomplete_beta(x, a, b): regularized incomplete beta I_x(a, b) = B(x; a, b)/B(a, b) for
-- 0 ≤ x ≤ 1 and finite a, b > 0 (scipy.special.betainc(a, b, x)). Raises 22023 otherwise.
-- When 1 − x is known more precisely than x itself, call incomplete_beta_xy.
-- Example: incomplete_beta(0.5, 2, 3) = 0.6875.
create or replace function aoma_private.incomplete_beta(x float8, a float8, b float8)
returns float8
language sql immutable strict parallel safe
set search_path = ''
as $$
  select aoma_private.incomplete_beta_xy(x, 1.0 - x, a, b)
$$;
grant execute on function aoma_private.incomplete_beta(float8, float8, float8) to authenticated, service_role;

-- ───────────────────────────── Student's t ─────────────────────────────

-- student_t_sf2(t, df): two-sided p-value 2·P(T > |t|) for Student's t with df > 0 degrees of
-- freedom (scipy: 2·stats.t.sf(abs(t), df)). Computed as I_{df/(df+t²)}(df/2, ½), the tail
-- itself, so it stays accurate down to ~1e-300; |t| = Infinity gives 0. For |t| > 1e150
-- (t² would overflow) the leading term of the tail is exact to double precision.
-- Raises 22023 when df is not a finite positive number or t is NaN.
-- Example: student_t_sf2(2.0, 10) ≈ 0.07338803477074 (scipy: 0.07338803477074039).
create or replace function aoma_private.student_t_sf2(t float8, df float8)
returns float8
language plpgsql immutable strict parallel safe
set search_path = ''
as $$
declare
  at float8 := abs(t);
  t2 float8;
begin
  if not (df > 0 and df < 'Infinity'::float8) then
    raise exception 'degrees of freedom must be a finite positive number (got %)', df using errcode = '22023';
  end if;
  if t = 'NaN'::float8 then
    raise exception 't must be a number (got NaN)' using errcode = '22023';
  end if;
  if at = 'Infinity'::float8 then
    return 0::float8;
  end if;
  if at > 1e150 then
    -- x = df/t² to double precision; I_x(a, ½) = x^a/(a·B(a, ½))·(1 + O(x))
    return exp(0.5 * df * (ln(df) - 2.0 * ln(at)) - ln(0.5 * df) - aoma_private.ln_beta(0.5 * df, 0.5));
  end if;
  t2 := at * at;
  return aoma_private.incomplete_beta_xy(df / (df + t2), t2 / (df + t2), 0.5 * df, 0.5);
end
$$;
grant execute on function aoma_private.student_t_sf2(float8, float8) to authenticated, service_role;

-- correlation_pvalue_df(r, df): two-sided p of a correlation with df degrees of freedom,
-- t = r·√(df/(1−r²)), = I_{1−r²}(df/2, ½). With df = n − 2 it is correlation_pvalue(r, n).
create or replace function aoma_private.correlation_pvalue_df(r float8, df float8)
returns float8
language plpgsql immutable strict parallel safe
set search_path = ''
as $$
declare
  ar float8 := abs(r);
begin
  if df < 1 or r = 'NaN'::float8 then
    return null;
  end if;
  if ar >= 1 then
    return 0::float8;
  end if;
  return aoma_private.incomplete_beta_xy((1.0 - ar) * (1.0 + ar), ar * ar, 0.5::float8 * df, 0.5);
end
$$;
grant execute on function aoma_private.correlation_pvalue_df(float8, float8) to authenticated, service_role;

-- correlation_pvalue(r, n): two-sided p-value of H0: ρ = 0 for a correlation r from n pairs,
-- by the t-test with n − 2 df: t = r·√((n−2)/(1−r²)), which equals I_{1−r²}((n−2)/2, ½).
-- That is scipy.stats.pearsonr's p (and spearmanr's, applied to ρ). 1 − r² is formed as
-- (1 − |r|)(1 + |r|) so p stays accurate as |r| → 1; |r| ≥ 1 gives 0. Null when n < 3.
create or replace function aoma_private.correlation_pvalue(r float8, n integer)
returns float8
language sql immutable strict parallel safe
set search_path = ''
as $$
  select case when n >= 3 then aoma_private.correlation_pvalue_df(r, n - 2) end
$$;
grant execute on function aoma_private.correlation_pvalue(float8, integer) to authenticated, service_role;

-- ───────────────────────────── correlation ─────────────────────────────

-- correlation_sums(x, y): the sufficient statistics of a Pearson + Spearman correlation, one row.
-- A pair counts when both values are finite (nulls, NaN and ±Infinity drop the pair).
--   n; x_min, x_max, y_min, y_max (null when n = 0);
--   sxy, sxx, syy  Σ dx·dy, Σ dx², Σ dy² over deviations from the mean, each variable scaled by its
--                  largest absolute deviation (two-pass, so no cancellation; no overflow or underflow
--                  in the squares); null when a variable is constant;
--   r12, r11, r22  Σ R1·R2, Σ R1², Σ R2² over DOUBLED average ranks R = rank() + count(*) over the
--                  same ordering (= 2 × the mean rank of the tie group): integers, so the sums are
--                  exact in float8 up to n ≈ 100 000. Their mean is n + 1.
-- Deliberately `language sql`, not strict and without `set search_path` (the one exception to the
-- house rule in this module): PostgreSQL then inlines it into a lateral join, so analytics.correlate
-- plans it once for all its (feature, lag) series instead of starting an executor per series (about
-- 20 % faster for 90-day series). Its functions are qualified with pg_catalog (nullif, greatest and
-- multi-argument unnest are syntax) and its operators are the built-in float8 ones, which resolve in
-- pg_catalog first; inlined into correlate it is parsed under correlate's empty search_path.
create or replace function aoma_private.correlation_sums(x float8[], y float8[])
returns table (n integer, x_min float8, x_max float8, y_min float8, y_max float8,
               sxy float8, sxx float8, syy float8, r12 float8, r11 float8, r22 float8)
language sql immutable parallel safe
as $$
  select pg_catalog.count(*)::integer, pg_catalog.min(d.xv), pg_catalog.max(d.xv),
         pg_catalog.min(d.yv), pg_catalog.max(d.yv),
         pg_catalog.sum(((d.xv - d.x_mean) / d.x_scale) * ((d.yv - d.y_mean) / d.y_scale)),
         pg_catalog.sum(((d.xv - d.x_mean) / d.x_scale) ^ 2),
         pg_catalog.sum(((d.yv - d.y_mean) / d.y_scale) ^ 2),
         pg_catalog.sum(d.rx * d.ry), pg_catalog.sum(d.rx * d.rx), pg_catalog.sum(d.ry * d.ry)
  from (
    select w.xv, w.yv, w.rx, w.ry, w.x_mean, w.y_mean,
           nullif(greatest(w.x_hi - w.x_mean, w.x_mean - w.x_lo), 0) as x_scale,
           nullif(greatest(w.y_hi - w.y_mean, w.y_mean - w.y_lo), 0) as y_scale
    from (
      select p.xv, p.yv,
             (pg_catalog.rank() over wx + pg_catalog.count(*) over wx)::float8 as rx,
             (pg_catalog.rank() over wy + pg_catalog.count(*) over wy)::float8 as ry,
             pg_catalog.avg(p.xv) over w0 as x_mean, pg_catalog.min(p.xv) over w0 as x_lo,
             pg_catalog.max(p.xv) over w0 as x_hi,
             pg_catalog.avg(p.yv) over w0 as y_mean, pg_catalog.min(p.yv) over w0 as y_lo,
             pg_catalog.max(p.yv) over w0 as y_hi
      from unnest(x, y) as p(xv, yv)  -- multi-argument unnest is syntax (ROWS FROM), not a pg_catalog function
      where p.xv > '-Infinity'::float8 and p.xv < 'Infinity'::float8
        and p.yv > '-Infinity'::float8 and p.yv < 'Infinity'::float8
      window wx as (order by p.xv), wy as (order by p.yv), w0 as ()
    ) w
  ) d
$$;
grant execute on function aoma_private.correlation_sums(float8[], float8[]) to authenticated, service_role;

-- fisher_interval(r, m): the 95 % confidence interval of a correlation r by Fisher's z with
-- standard error 1/√m (m = n − 3 for a plain correlation, n − 3 − k for a partial one given k
-- covariates): tanh(atanh(r) ± ndtri(0.975)/√m), as scipy's pearsonr(...).confidence_interval().
-- |r| = 1 gives [r, r] (no infinities).
create or replace function aoma_private.fisher_interval(r float8, m float8, out lo float8, out hi float8)
returns record
language plpgsql immutable strict parallel safe
set search_path = ''
as $$
declare
  z float8;
  h float8;
begin
  if abs(r) = 1 then
    lo := r;
    hi := r;
    return;
  end if;
  z := atanh(r);
  h := 1.959963984540054::float8 / sqrt(m);  -- scipy.special.ndtri(0.975) × the standard error of z
  lo := tanh(z - h);
  hi := tanh(z + h);
end
$$;
grant execute on function aoma_private.fisher_interval(float8, float8) to authenticated, service_role;

-- correlation_from_sums(n, x_min, x_max, y_min, y_max, sxy, sxx, syy, r12, r11, r22, x_label, y_label):
-- turns one row of correlation_sums() into the statistics of correlation_stats() (see there),
-- naming the variables x_label / y_label in the note. Pure arithmetic, no query.
create or replace function aoma_private.correlation_from_sums(
  n integer, x_min float8, x_max float8, y_min float8, y_max float8,
  sxy float8, sxx float8, syy float8, r12 float8, r11 float8, r22 float8,
  x_label text, y_label text,
  out pearson_r float8, out pearson_p float8,
  out pearson_ci_low float8, out pearson_ci_high float8,
  out spearman_rho float8, out spearman_p float8, out note text)
returns record
language plpgsql immutable parallel safe
set search_path = ''
as $$
declare
  rank_mean2 float8;
begin
  if coalesce(n, 0) < 4 then
    note := format('not enough data (n=%s; need at least 4)', coalesce(n, 0));
    return;
  end if;
  if x_min = x_max or y_min = y_max then
    note := 'constant: no variation in ' || case
      when x_min = x_max and y_min = y_max then x_label || ' and ' || y_label
      when x_min = x_max then x_label
      else y_label end;
    return;
  end if;

  -- sqrt of the product: exactly ±1 for an exact linear relation (sqrt(fl(s·s)) = s in IEEE arithmetic)
  pearson_r := greatest(-1::float8, least(1::float8, sxy / sqrt(sxx * syy)));
  rank_mean2 := n * (n + 1.0::float8) * (n + 1.0::float8);  -- n × (mean doubled rank)²
  spearman_rho := greatest(-1::float8, least(1::float8, (r12 - rank_mean2) / sqrt((r11 - rank_mean2) * (r22 - rank_mean2))));
  pearson_p := aoma_private.correlation_pvalue(pearson_r, n);
  spearman_p := aoma_private.correlation_pvalue(spearman_rho, n);

  select f.lo, f.hi into pearson_ci_low, pearson_ci_high from aoma_private.fisher_interval(pearson_r, n - 3.0::float8) f;
end
$$;
grant execute on function aoma_private.correlation_from_sums(integer, float8, float8, float8, float8, float8, float8, float8, float8, float8, float8, text, text)
  to authenticated, service_role;

-- correlation_stats(x, y [, x_label, y_label]): Pearson and Spearman correlation of paired samples.
--
-- Input: two arrays of the same length (22023 otherwise); a pair counts when both values are
-- finite numbers (nulls, NaN and ±Infinity drop the pair). The labels only name the variables
-- in the note (default 'x' and 'y').
-- Output (one row):
--   n                the number of pairs used
--   pearson_r        Pearson's r (two-pass on centred, scaled values; clamped to [−1, 1])
--   pearson_p        two-sided p, t-test with n − 2 df             = scipy.stats.pearsonr(x, y).pvalue
--   pearson_ci_low   95 % CI by Fisher's z: tanh(atanh(r) ∓ 1.959963984540054/√(n − 3))
--   pearson_ci_high                                               = pearsonr(...).confidence_interval(0.95)
--   spearman_rho     Pearson on average ranks (ties share their mean rank) = scipy.stats.spearmanr
--   spearman_p       two-sided p, t-test with n − 2 df on ρ          = spearmanr(x, y).pvalue
--   note             null when the statistics are defined, else why not:
--                    'not enough data (n=3; need at least 4)' or 'constant: no variation in x'
--                    (or 'in y', 'in x and y'); every statistic is then null.
-- |r| = 1 gives p = 0 and the CI [r, r]. Never returns NaN or Infinity.
-- Example: select * from aoma_private.correlation_stats('{1,2,3,4,5}', '{2,1,4,3,5}');
--   n=5, pearson_r=0.8, pearson_p=0.1040880386618…, pearson_ci_low=-0.2796400419693…,
--   pearson_ci_high=0.9861961933012…, spearman_rho=0.8, spearman_p=0.1040880386618…, note=null
create or replace function aoma_private.correlation_stats(
  x float8[], y float8[], x_label text default 'x', y_label text default 'y',
  out n integer, out pearson_r float8, out pearson_p float8,
  out pearson_ci_low float8, out pearson_ci_high float8,
  out spearman_rho float8, out spearman_p float8, out note text)
returns record
language plpgsql immutable strict parallel safe
set search_path = ''
as $$
begin
  if cardinality(x) <> cardinality(y) then
    raise exception 'x and y must have the same length (got % and %)', cardinality(x), cardinality(y)
      using errcode = '22023';
  end if;
  select s.n, f.pearson_r, f.pearson_p, f.pearson_ci_low, f.pearson_ci_high, f.spearman_rho, f.spearman_p, f.note
    into n, pearson_r, pearson_p, pearson_ci_low, pearson_ci_high, spearman_rho, spearman_p, note
  from aoma_private.correlation_sums(x, y) s
  cross join lateral aoma_private.correlation_from_sums(s.n, s.x_min, s.x_max, s.y_min, s.y_max,
    s.sxy, s.sxx, s.syy, s.r12, s.r11, s.r22, x_label, y_label) f;
end
$$;
grant execute on function aoma_private.correlation_stats(float8[], float8[], text, text) to authenticated, service_role;

-- ───────────────────────────── multiple testing ─────────────────────────────

-- bh_qvalues(p): Benjamini–Hochberg adjusted p-values (q-values), returned in the input order.
-- q_(i) = min over j ≥ i of p_(j)·m/j, capped at 1, where m counts the non-null p-values;
-- nulls stay null and do not count. Equals statsmodels
-- multipletests(p, method='fdr_bh')[1] on the non-null values (ties share their q).
-- An empty array gives an empty array. Raises 22023 when a p-value is outside [0, 1] or NaN.
-- Example: bh_qvalues('{0.01, 0.04, null, 0.03}') = {0.03, 0.04, null, 0.04}.
create or replace function aoma_private.bh_qvalues(p float8[])
returns float8[]
language plpgsql immutable strict parallel safe
set search_path = ''
as $$
declare
  bad float8;
  q float8[];
begin
  select v into bad from unnest(p) as u(v) where not (v >= 0 and v <= 1) limit 1;
  if found then
    raise exception 'p-values must be between 0 and 1 (got %)', bad using errcode = '22023';
  end if;
  select coalesce(array_agg(case when r.v is null then null else least(1.0, r.q) end order by r.ord), '{}')
    into q
  from (
    select s.v, s.ord,
           min(s.v / (s.k::float8 / nullif(s.m, 0))) over (order by s.k desc rows between unbounded preceding and current row) as q
    from (
      select u.v, u.ord,
             row_number() over (order by u.v nulls last, u.ord) as k,
             count(u.v) over () as m
      from unnest(p) with ordinality as u(v, ord)
    ) s
  ) r;
  return q;
end
$$;
grant execute on function aoma_private.bh_qvalues(float8[]) to authenticated, service_role;
