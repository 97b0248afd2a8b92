-- Contract of the regression fits (sql/70_models.sql): the moments aggregate is parallel safe with a
-- combine function, a parallel plan splits it and gives the serial numbers, partial states combine
-- exactly, the quantiles, grants and security. Parity with statsmodels is in tests/models_test.ts.
begin;
select plan(13);

select has_function('analytics', 'fit_glm', array['regclass', 'text', 'text[]', 'text', 'text', 'double precision'],
  'analytics.fit_glm(relation, target, predictors, family, exposure, level) exists');
select isnt_definer('analytics', 'fit_glm', array['regclass', 'text', 'text[]', 'text', 'text', 'double precision'], 'fit_glm runs as the caller');
select ok(has_function_privilege('authenticated', 'analytics.fit_glm(regclass, text, text[], text, text, float8)', 'execute'), 'authenticated may fit');
select ok(not has_function_privilege('anon', 'analytics.fit_glm(regclass, text, text[], text, text, float8)', 'execute'), 'anon may not');

select is((select p.proparallel::text from pg_proc p where p.oid = 'aoma_private.weighted_moments(float8[], float8)'::regprocedure), 's',
  'the moments aggregate is PARALLEL SAFE');
select isnt((select a.aggcombinefn::text from pg_aggregate a where a.aggfnoid = 'aoma_private.weighted_moments(float8[], float8)'::regprocedure), '-',
  'with a combine function');

-- partial states combine to the serial state (Chan's update), to rounding
create temp table wm_rows as
select array[sin(g) * 1e6 + 1e9, cos(g * 0.7), (g % 13)::float8]::float8[] as v, 0.5 + (g % 3)::float8 as w
from generate_series(1, 3000) g;
select ok((with whole as (select aoma_private.weighted_moments(v, w) s from wm_rows),
                parts as (select aoma_private.weighted_moments_final(aoma_private.weighted_moments_combine(
                           (select aoma_private.weighted_moments(a.v, a.w) from (select * from wm_rows limit 1000) a),
                           (select aoma_private.weighted_moments(b.v, b.w) from (select * from wm_rows offset 1000) b))) s)
           select bool_and(abs(whole.s[i] - parts.s[i]) <= 1e-9 * greatest(abs(whole.s[i]), 1))
           from whole, parts, generate_subscripts(whole.s, 1) i),
  'combine(part 1, part 2) = the state of all rows');

-- a parallel plan: two workers each aggregate part of the table, the leader combines
create function pg_temp.explain_lines(q text) returns setof text language plpgsql as $f$
declare
  l text;
begin
  for l in execute 'explain (costs off) ' || q loop
    return next l;
  end loop;
end
$f$;
create table public.wm_parallel as
select array[g::float8, (g % 17)::float8, sqrt(g)]::float8[] as v from generate_series(1, 200000) g;
analyze public.wm_parallel;
create temp table wm_serial as select aoma_private.weighted_moments(v, 1) as s from public.wm_parallel;
set local max_parallel_workers_per_gather = 2;
set local parallel_setup_cost = 0;
set local parallel_tuple_cost = 0;
set local min_parallel_table_scan_size = 0;
select ok(exists (select from (select pg_temp.explain_lines('select aoma_private.weighted_moments(v, 1) from public.wm_parallel') l) e
                  where e.l like '%Partial Aggregate%'),
  'the planner splits the aggregate over parallel workers (Partial Aggregate under a Gather)');
select ok((select bool_and(abs(p.s[i] - s.s[i]) <= 1e-9 * greatest(abs(s.s[i]), 1))
           from (select aoma_private.weighted_moments(v, 1) as s from public.wm_parallel) p, wm_serial s, generate_subscripts(s.s, 1) i),
  'the parallel aggregate gives the serial numbers');
reset max_parallel_workers_per_gather;

-- quantiles of the intervals (scipy: t.ppf(0.975, 10), norm.ppf(0.975), t.ppf(0.95, 3.5))
select ok(abs(aoma_private.two_sided_quantile(95, 10) - 2.2281388519649385) < 1e-10, 't quantile, 10 df');
select ok(abs(aoma_private.two_sided_quantile(90, 3.5) - 2.2224334936496004) < 1e-10, 't quantile, 3.5 df');
select ok(abs(aoma_private.two_sided_quantile(95, null) - 1.959963984540054) < 1e-6, 'normal quantile (erfc fit to 1.2e-7)');

select throws_like($$select * from analytics.fit_glm('pg_class', 'relpages', '{reltuples}', 'probit')$$,
  'family must be one of gaussian, binomial, poisson, quasipoisson (got "probit")', 'an unknown family is refused');

select * from finish();
rollback;
