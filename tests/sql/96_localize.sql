-- Contract of analytics.localize_cuboids (sql/82_localize.sql): signature, security, grants, every
-- argument error sentence, and small grids with a known answer (a rise in one cuboid of depth 1,
-- one of depth 2, two disjoint cuboids, a fall, none). Generated RiskLoc cases on both engines are
-- in tests/localize_test.ts; F1 against RiskLoc in bench/rca_riskloc.ts.
begin;
select plan(38);

select has_function('analytics', 'localize_cuboids', array['text[]', 'aoma_private.rca_leaf[]', 'integer', 'integer'],
  'analytics.localize_cuboids(dims, leaves, max_depth, direction) exists');
select function_returns('analytics', 'localize_cuboids', array['text[]', 'aoma_private.rca_leaf[]', 'integer', 'integer'], 'setof record',
  'it returns a table');
select is((select string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' order by a.attnum)
           from pg_attribute a where a.attrelid = 'aoma_private.rca_leaf'::regclass and a.attnum > 0),
  'vals text[], real double precision, forecast double precision', 'aoma_private.rca_leaf is (vals text[], real float8, forecast float8)');
select is((select array_to_string(p.proargnames, ',') from pg_proc p where p.oid = 'analytics.localize_cuboids(text[], aoma_private.rca_leaf[], integer, integer)'::regprocedure),
  'dims,leaves,max_depth,direction,rank,cuboid,n_leaves,real,forecast,score', 'argument and output column names');
select is((select pg_get_expr(p.proargdefaults, 0) from pg_proc p where p.oid = 'analytics.localize_cuboids(text[], aoma_private.rca_leaf[], integer, integer)'::regprocedure),
  '3, NULL::integer', 'max_depth defaults to 3, direction to null (both searched)');
select volatility_is('analytics', 'localize_cuboids', array['text[]', 'aoma_private.rca_leaf[]', 'integer', 'integer'], 'stable',
  'localize_cuboids is stable');
select isnt_definer('analytics', 'localize_cuboids', array['text[]', 'aoma_private.rca_leaf[]', 'integer', 'integer'],
  'localize_cuboids runs as the caller');
select function_privs_are('analytics', 'localize_cuboids', array['text[]', 'aoma_private.rca_leaf[]', 'integer', 'integer'],
  'anon', array[]::text[], 'anon cannot execute localize_cuboids');
select function_privs_are('analytics', 'localize_cuboids', array['text[]', 'aoma_private.rca_leaf[]', 'integer', 'integer'],
  'authenticated', array['EXECUTE'], 'authenticated executes localize_cuboids');
select function_privs_are('aoma_private', 'rca_candidates',
  array['aoma_private.rca_leaf[]', 'integer', 'integer', 'double precision', 'double precision'],
  'anon', array[]::text[], 'anon cannot execute the scoring helper');

-- argument errors: one sentence each, errcode 22023
select throws_ok($$select * from analytics.localize_cuboids('{}', array[row('{}', 1, 1)::aoma_private.rca_leaf])$$, '22023',
  'Cannot localize cuboids: dims must name 1 to 8 dimensions (got 0).', 'no dimension');
select throws_ok($$select * from analytics.localize_cuboids('{a,b,c,d,e,f,g,h,i}', null)$$, '22023',
  'Cannot localize cuboids: dims must name 1 to 8 dimensions (got 9).', 'nine dimensions');
select throws_ok($$select * from analytics.localize_cuboids('{a,a}', null)$$, '22023',
  'Cannot localize cuboids: dimension names must be distinct and not null (got {a,a}).', 'a dimension named twice');
select throws_ok($$select * from analytics.localize_cuboids(array['a', null], null)$$, '22023',
  'Cannot localize cuboids: dimension names must be distinct and not null (got {a,NULL}).', 'a null dimension name');
select throws_ok($$select * from analytics.localize_cuboids('{a,b}', array[row('{x,y}', 1, 1), row('{x}', 1, 1)]::aoma_private.rca_leaf[])$$, '22023',
  'Cannot localize cuboids: leaf 2 has vals of length 1 but dims names 2 dimensions; each leaf needs exactly one value per dimension.',
  'a leaf with too few values');
select throws_ok($$select * from analytics.localize_cuboids('{a,b}', array[row(array['x', null], 1, 1)]::aoma_private.rca_leaf[])$$, '22023',
  'Cannot localize cuboids: leaf 1 has a null value; every dimension value must be a non-null text.', 'a null dimension value');
select throws_ok($$select * from analytics.localize_cuboids('{a}', array[row('{x}', 1, 1), row('{y}', -1, 5)]::aoma_private.rca_leaf[])$$, '22023',
  'Cannot localize cuboids: leaf 2 has real -1 and forecast 5; both must be finite numbers ≥ 0.', 'a negative real value');
select throws_ok($$select * from analytics.localize_cuboids('{a}', array[row('{x}', 1, 'NaN')]::aoma_private.rca_leaf[])$$, '22023',
  'Cannot localize cuboids: leaf 1 has real 1 and forecast NaN; both must be finite numbers ≥ 0.', 'a NaN forecast');
select throws_ok($$select * from analytics.localize_cuboids('{a}', array[row('{x}', null, 2)]::aoma_private.rca_leaf[])$$, '22023',
  'Cannot localize cuboids: leaf 1 has real null and forecast 2; both must be finite numbers ≥ 0.', 'a null real value');
select throws_ok($$select * from analytics.localize_cuboids('{a}', array[row('{x}', 'infinity', 2)]::aoma_private.rca_leaf[])$$, '22023',
  'Cannot localize cuboids: leaf 1 has real Infinity and forecast 2; both must be finite numbers ≥ 0.', 'an infinite real value');
select throws_ok($$select * from analytics.localize_cuboids('{a}', array[row('{x}', 1, 1)]::aoma_private.rca_leaf[], 0)$$, '22023',
  'Cannot localize cuboids: max_depth must be between 1 and 4 (got 0).', 'max_depth 0');
select throws_ok($$select * from analytics.localize_cuboids('{a}', array[row('{x}', 1, 1)]::aoma_private.rca_leaf[], 5)$$, '22023',
  'Cannot localize cuboids: max_depth must be between 1 and 4 (got 5).', 'max_depth 5');
select throws_ok($$select * from analytics.localize_cuboids('{a}', array[row('{x}', 1, 1)]::aoma_private.rca_leaf[], null)$$, '22023',
  'Cannot localize cuboids: max_depth must be between 1 and 4 (got null).', 'max_depth null');
select throws_ok($$select * from analytics.localize_cuboids('{a}', array[row('{x}', 1, 1)]::aoma_private.rca_leaf[], 2, 0)$$, '22023',
  'Cannot localize cuboids: direction must be 1 (real above forecast), -1 (real below forecast) or null (both) (got 0).', 'direction 0');
select throws_ok($$select * from analytics.localize_cuboids('{a}', array_fill(row('{x}', 1, 1)::aoma_private.rca_leaf, array[2000001]))$$, '22023',
  'Cannot localize cuboids: at most 2,000,000 leaves are allowed (got 2000001).', 'more than 2,000,000 leaves');

-- known answers on a 6 × 5 × 4 grid (a1..a6, b1..b5, c1..c4): forecast 100..149, real = forecast
-- times 1 ± up to 5% of deterministic noise, then the planted cuboids scaled
create temp table grid as
select array['a' || a, 'b' || b, 'c' || c] as vals, f * (1 + 0.05 * sin(k * 12.9898 + 78.233)) as real, f as forecast
from generate_series(1, 6) a, generate_series(1, 5) b, generate_series(1, 4) c,
     lateral (select (a * 100 + b * 10 + c) as k) as kk,
     lateral (select 100 + (kk.k * 37) % 50 as f) as ff;
-- the grid's leaves with the planted cuboids' real values scaled: [{"cuboid": ["a2", "*", "*"], "factor": 1.6}]
-- ("*" = any value)
create function pg_temp.planted(plants jsonb)
returns aoma_private.rca_leaf[]
language sql
as $$
  select array_agg(row(g.vals, g.real * coalesce((
           select (p ->> 'factor')::float8
           from jsonb_array_elements(plants) as p
           where aoma_private.cuboids_overlap(g.vals,
                   array(select nullif(x.v, '*') from jsonb_array_elements_text(p -> 'cuboid') with ordinality as x(v, i) order by x.i))
           limit 1), 1), g.forecast)::aoma_private.rca_leaf order by g.vals)
  from grid as g
$$;

select is((select count(*)::integer from analytics.localize_cuboids('{a,b,c}', pg_temp.planted('[]'))), 0,
  'no anomaly (only ±5% noise): the empty set');
select results_eq(
  $$select rank, cuboid from analytics.localize_cuboids('{a,b,c}', pg_temp.planted('[{"cuboid": ["a2", "*", "*"], "factor": 1.6}]'))$$,
  $$values (1, array['a2', null, null]::text[])$$,
  'a rise in a = a2 (depth 1): exactly that cuboid');
select results_eq(
  $$select n_leaves, round(real::numeric, 6), round(forecast::numeric, 6)
    from analytics.localize_cuboids('{a,b,c}', pg_temp.planted('[{"cuboid": ["a2", "*", "*"], "factor": 1.6}]'))$$,
  $$select count(*)::integer, round(sum(l.real)::numeric, 6), round(sum(l.forecast)::numeric, 6)
    from unnest(pg_temp.planted('[{"cuboid": ["a2", "*", "*"], "factor": 1.6}]')) as l where l.vals[1] = 'a2'$$,
  'n_leaves, real and forecast are the counts and sums over the cuboid''s leaves');
select ok((select bool_and(score > 0) from analytics.localize_cuboids('{a,b,c}', pg_temp.planted('[{"cuboid": ["a2", "*", "*"], "factor": 1.6}]'))),
  'scores are positive');
select results_eq(
  $$select rank, cuboid from analytics.localize_cuboids('{a,b,c}', pg_temp.planted('[{"cuboid": ["a3", "b2", "*"], "factor": 1.8}]'))$$,
  $$values (1, array['a3', 'b2', null]::text[])$$,
  'a rise in a = a3 & b = b2 (depth 2, four leaves): exactly that cuboid, not a = a3 nor b = b2');
select results_eq(
  $$select cuboid from analytics.localize_cuboids('{a,b,c}',
      pg_temp.planted('[{"cuboid": ["a1", "b1", "*"], "factor": 1.7}, {"cuboid": ["a4", "*", "c3"], "factor": 2.0}]')) order by cuboid$$,
  $$values (array['a1', 'b1', null]::text[]), (array['a4', null, 'c3']::text[])$$,
  'two disjoint cuboids: both, and nothing else');
select results_eq(
  $$select rank, cuboid from analytics.localize_cuboids('{a,b,c}', pg_temp.planted('[{"cuboid": ["*", "b5", "*"], "factor": 0.4}]'))$$,
  $$values (1, array[null, 'b5', null]::text[])$$,
  'a fall in b = b5 (real below forecast) is found when both directions are searched');
select results_eq(
  $$select cuboid from analytics.localize_cuboids('{a,b,c}', pg_temp.planted('[{"cuboid": ["*", "b5", "*"], "factor": 0.4}]'), 3, -1)$$,
  $$values (array[null, 'b5', null]::text[])$$,
  'direction -1 (real below forecast) finds the fall');
select is((select count(*)::integer from analytics.localize_cuboids('{a,b,c}', pg_temp.planted('[{"cuboid": ["*", "b5", "*"], "factor": 0.4}]'), 3, 1)), 0,
  'direction 1 looks only for rises: the fall gives the empty set');
select results_eq(
  $$select rank, cuboid from analytics.localize_cuboids('{a,b,c}', pg_temp.planted('[{"cuboid": ["a3", "b2", "*"], "factor": 1.8}]'), 1)$$,
  $$values (1, array['a3', null, null]::text[])$$,
  'max_depth 1 cannot name the depth-2 cuboid: the best depth-1 cuboid holding it, a = a3 (20 leaves) before b = b2 (24)');
select is((select count(*)::integer from analytics.localize_cuboids('{a,b,c}',
    array(select row(g.vals, 0, 0)::aoma_private.rca_leaf from grid as g))), 0, 'every leaf zero: the empty set');
select is((select count(*)::integer from analytics.localize_cuboids('{a,b,c}', '{}')), 0, 'no leaf: the empty set');
select ok(aoma_private.cuboids_overlap(array['a1', null], array[null, 'b2']) and not aoma_private.cuboids_overlap(array['a1', null], array['a2', 'b2']),
  'a = a1 and b = b2 share the leaf a1 & b2; a = a1 and a = a2 & b = b2 share none');

select * from finish();
rollback;
