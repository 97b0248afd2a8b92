-- Contract of the regression fits (sql/70_models.sql): a fit's scan is built-in parallel-safe sums
-- that a parallel plan splits with the serial numbers, the quantiles, grants and security. Parity
-- with statsmodels is in tests/models_test.ts.
begin;
select plan(19);

select has_function('analytics', 'fit_glm', array['regclass', 'text', 'text[]', 'text', 'text', 'double precision', 'double precision', 'boolean'],
  'analytics.fit_glm(relation, target, predictors, family, exposure, level, l2, robust) exists');
select isnt_definer('analytics', 'fit_glm', array['regclass', 'text', 'text[]', 'text', 'text', 'double precision', 'double precision', 'boolean'], 'fit_glm runs as the caller');
select ok(has_function_privilege('authenticated', 'analytics.fit_glm(regclass, text, text[], text, text, float8, float8, boolean)', 'execute'), 'authenticated may fit');
select ok(not has_function_privilege('anon', 'analytics.fit_glm(regclass, text, text[], text, text, float8, float8, boolean)', 'execute'), 'anon may not');

-- the scans of a fit (aoma_private.ols_moments_sql: built-in regr_* co-moments over the raw columns;
-- glm_moments_sql: built-in sums over shifted predictors with per-row values in stages), split over
-- parallel workers when the planner is told it pays, with the serial numbers
create table public.wm_parallel as
select g::float8 as x_1, (g % 17)::float8 as x_2, sqrt(g) as x_3, (g % 3 = 0)::int::float8 as y, 0::float8 as off
from generate_series(1, 200000) g;
analyze public.wm_parallel;
create function pg_temp.explain_lines(q text, with_output boolean default false) returns setof text language plpgsql as $f$
declare
  l text;
begin
  for l in execute 'explain (costs off' || case when with_output then ', verbose' else '' end || ') ' || q loop
    return next l;
  end loop;
end
$f$;
create function pg_temp.moments(family text, beta float8[]) returns float8[] language plpgsql as $f$
declare
  n integer;
  m float8[];
  a float8[];
  b float8[];
  bb float8;
begin
  if family = 'gaussian' then
    execute aoma_private.ols_moments_sql('select * from public.wm_parallel', 3) into n, m, a, b, bb;
    return array[n::float8] || m || a || b || bb;
  end if;
  execute aoma_private.glm_moments_sql('select * from public.wm_parallel', 3, family, beta, '{100000.5,8,298,0.33}') into n, a, b;
  return array[n::float8] || a || b;
end
$f$;
create temp table wm_serial as
select pg_temp.moments('gaussian', null) as g, pg_temp.moments('binomial', '{-0.7,0.000001,0.01,-0.001}') as l;
select is((select g[1] from wm_serial), 200000::float8, 'one scan over every row');
set local max_parallel_workers_per_gather = 2;
set local parallel_setup_cost = 0;
set local parallel_tuple_cost = 0;
set local min_parallel_table_scan_size = 0;
select ok(exists (select from pg_temp.explain_lines(aoma_private.glm_moments_sql('select * from public.wm_parallel', 3, 'binomial',
                    '{-0.7,0.000001,0.01,-0.001}', '{100000.5,8,298,0.33}')) l where l like '%Partial Aggregate%')
          and exists (select from pg_temp.explain_lines(aoma_private.glm_moments_sql('select * from public.wm_parallel', 3, 'binomial',
                    '{-0.7,0.000001,0.01,-0.001}', '{100000.5,8,298,0.33}')) l where l like '%Gather%')
          and exists (select from pg_temp.explain_lines(aoma_private.ols_moments_sql('select * from public.wm_parallel', 3)) l where l like '%Partial Aggregate%')
          and exists (select from pg_temp.explain_lines(aoma_private.ols_moments_sql('select * from public.wm_parallel', 3)) l where l like '%Gather%'),
  'the OLS scan and an IRLS scan are split over parallel workers (Partial Aggregate under a Gather)');
-- (to 1e-9 of the largest sum: a sum near 0, like Σ c of centred values, is rounding noise in any order)
select ok((select bool_and(abs(p.g[i] - s.g[i]) <= 1e-9 * (select max(abs(x)) from unnest(s.g) x))
              and bool_and(abs(p.l[i] - s.l[i]) <= 1e-9 * (select max(abs(x)) from unnest(s.l) x))
           from (select pg_temp.moments('gaussian', null) as g, pg_temp.moments('binomial', '{-0.7,0.000001,0.01,-0.001}') as l) p,
                wm_serial s, generate_subscripts(s.g, 1) i),
  'the parallel scans give the serial sums (OLS and an IRLS step)');
reset max_parallel_workers_per_gather;
select ok((select count(*) = 8 and bool_and(p.proparallel = 's') from pg_proc p
           where p.oid in ('sum(float8)'::regprocedure, 'exp(float8)'::regprocedure, 'ln(float8)'::regprocedure,
                           'regr_sxy(float8, float8)'::regprocedure, 'regr_sxx(float8, float8)'::regprocedure,
                           'regr_syy(float8, float8)'::regprocedure, 'regr_avgx(float8, float8)'::regprocedure,
                           'pg_jit_available()'::regprocedure)),
  'every aggregate and function a scan uses is parallel safe');
select ok(not exists (select from pg_temp.explain_lines(aoma_private.ols_moments_sql('select * from public.wm_parallel', 3)) l
                     where l like '%SubPlan%' or l like '%Materialize%' or l like '%Subquery%' or l like '%ProjectSet%'),
  'an OLS scan is one pass: no subplan, nothing materialised');

-- the one-expression helpers called per row carry no SET clause and nothing stable, so the planner
-- inlines them (with one, every call was a function call: asset_segment cost 8.7 s of a default
-- build_predictive_model)
select ok(not exists (select from pg_temp.explain_lines($$select aoma_private.asset_segment(a.asset_type, a.migration_state) from aoma.processing_attempts a$$, true) l
                     where l like '%asset_segment%'), 'asset_segment is inlined into the scans that call it per attempt');
select ok(not exists (select from pg_temp.explain_lines($$select aoma_private.det_normal('s', g) from generate_series(1, 3) g$$, true) l
                     where l like '%det_normal%'), 'det_normal is inlined into the simulation''s queries');

-- quantiles of the intervals (scipy: t.ppf(0.975, 10), norm.ppf(0.975), t.ppf(0.95, 3.5))
select ok(abs(aoma_private.two_sided_quantile(95, 10) - 2.2281388519649385) < 1e-10, 't quantile, 10 df');
select ok(abs(aoma_private.two_sided_quantile(90, 3.5) - 2.2224334936496004) < 1e-10, 't quantile, 3.5 df');
select ok(abs(aoma_private.two_sided_quantile(95, null) - 1.959963984540054) < 1e-6, 'normal quantile (erfc fit to 1.2e-7)');

select throws_like($$select * from analytics.fit_glm('pg_class', 'relpages', '{reltuples}', 'probit')$$,
  'family must be one of gaussian, binomial, poisson, quasipoisson (got "probit")', 'an unknown family is refused');

-- a stage's values are computed once per row in the scan, not copied into every sum that reads them
select ok(not exists (select from pg_temp.explain_lines(aoma_private.glm_moments_sql('select * from public.wm_parallel', 3, 'binomial',
                        '{-0.7,0.000001,0.01,-0.001}', '{100000.5,8,298,0.33}'), true) l
                      where l like '%regr_%' and (l like '%exp(%' or l like '%sqrt(%')),
  'an IRLS scan computes its per-row values once (the aggregates read the stage''s columns)');

-- a 0/1 target's first iteration comes from the check scan (no scan of its own): the same
-- coefficients and iterations as the IRLS that scans from the starting values
create temp table wm_logit as
select c.mean, (select array_agg(e.estimate order by e.term = '(intercept)' desc, e.term) from analytics.fit_glm('public.wm_parallel', 'y', '{x_1,x_2,x_3}', 'binomial') e) as fit,
       (select max(e.iterations) from analytics.fit_glm('public.wm_parallel', 'y', '{x_1,x_2,x_3}', 'binomial') e) as it
from aoma_private.glm_check_rows('select x_1, x_2, x_3, y, off from public.wm_parallel', 3, 'binomial') c;
select ok((select bool_and(abs(i.beta[k] - w.fit[k]) <= 1e-9 * abs(w.fit[k])) and max(i.iterations) = max(w.it)
           from wm_logit w, aoma_private.irls('select x_1, x_2, x_3, y, off from public.wm_parallel', '{x_1,x_2,x_3}', 'binomial', w.mean) i,
                generate_subscripts(w.fit, 1) k),
  'a logistic fit started from the check scan equals the IRLS started from a scan, iteration for iteration');

-- a row with leverage 1 (the only row of a dummy): HC2 and HC3 are undefined (null), HC0 is not
create table public.wm_lever as select g::float8 as x, (g = 1)::int::float8 as d, (g % 7)::float8 + sqrt(g) as y from generate_series(1, 50) g;
select ok((select bool_and(hc2_se is null and hc3_se is null and hc0_se > 0 and hc1_se > 0) from analytics.fit_glm('public.wm_lever', 'y', '{x,d}')),
  'a row with leverage 1 leaves HC2 and HC3 null (they divide by 1 − h) and HC0/HC1 reported');
select ok((select bool_and(hc2_se > 0 and hc3_se > 0) from analytics.fit_glm('public.wm_lever', 'y', '{x}')),
  'without it, HC2 and HC3 are reported');

select * from finish();
rollback;
