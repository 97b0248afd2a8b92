-- Contract of analytics.explain_drivers and its numeric helpers (sql/50_drivers.sql): signature,
-- security, grants, the error sentences, and the helpers on cases with a closed-form answer.
-- Values against numpy/statsmodels on the demo quarter are in tests/drivers_test.ts.
begin;
select plan(29);

select has_function('analytics', 'explain_drivers', array['text', 'text[]', 'integer', 'date', 'date', 'integer', 'text[]'],
  'analytics.explain_drivers(target, features, max_lag, date_from, date_to, max_terms, exclude_segments) exists');
select isnt_definer('analytics', 'explain_drivers', array['text', 'text[]', 'integer', 'date', 'date', 'integer', 'text[]'],
  'explain_drivers runs as the caller (security invoker)');
select volatility_is('analytics', 'explain_drivers', array['text', 'text[]', 'integer', 'date', 'date', 'integer', 'text[]'], 'stable',
  'explain_drivers is stable');
select function_privs_are('analytics', 'explain_drivers', array['text', 'text[]', 'integer', 'date', 'date', 'integer', 'text[]'],
  'anon', array[]::text[], 'anon cannot execute explain_drivers');
select function_privs_are('analytics', 'explain_drivers', array['text', 'text[]', 'integer', 'date', 'date', 'integer', 'text[]'],
  'authenticated', array['EXECUTE'], 'authenticated executes explain_drivers');
select function_privs_are('aoma_private', 'poisson_fit', array['double precision[]', 'double precision[]', 'double precision[]', 'integer'],
  'anon', array[]::text[], 'anon cannot execute the helpers');

-- helpers with closed-form answers
select ok(abs(aoma_private.normal_sf2(1.959963984540054) - 0.05) < 1e-8, 'P(|Z| > 1.96) = 0.05');
select is(aoma_private.normal_sf2(40), 0::float8, 'tails beyond double range are 0, not an underflow error');
select is(aoma_private.normal_sf2(0), 1::float8, 'P(|Z| > 0) = 1, not the fit''s 1.00000003 (a p-value above 1 would be refused downstream)');
select is((select f.converged from aoma_private.poisson_fit(array[0, 0, 0, 0, 3, 4, 5, 2]::float8[], array_fill(0::float8, array[8]),
            array[1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1]::float8[], 2) f), false,
  'a step that separates zero from non-zero counts has no finite estimate: not converged (stopped early)');
select is(aoma_private.cholesky(array[4, 2, 2, 3]::float8[], 2), array[2, 0, 1, sqrt(2::float8)]::float8[],
  'Cholesky of [[4,2],[2,3]]');
select is(aoma_private.cholesky(array[1, 1, 1, 1]::float8[], 2), null, 'a singular matrix has no Cholesky factor');
select ok(
  (select abs(f.beta[1] - ln(2.5)) < 1e-12 and f.converged
   from aoma_private.poisson_fit(array[1, 2, 3, 4]::float8[], array[0, 0, 0, 0]::float8[], array[1, 1, 1, 1]::float8[], 1) f),
  'intercept-only Poisson fit = log of the mean');
select ok(
  (select abs(f.beta[2] - ln(3.0 / 1.5)) < 1e-10 and abs(f.pearson_x2 - 1) < 1e-10
   from aoma_private.poisson_fit(array[1, 2, 2, 4]::float8[], array[0, 0, 0, 0]::float8[],
                                 array[1, 0, 1, 0, 1, 1, 1, 1]::float8[], 2) f),
  'a two-group Poisson fit gives the log ratio of the group means and Pearson X² = 1/3 + 2/3');
select ok(
  (select abs(f.beta[1] - ln(10.0 / 1000)) < 1e-12
   from aoma_private.poisson_fit(array[4, 6]::float8[], array[ln(400), ln(600)]::float8[], array[1, 1]::float8[], 1) f),
  'the offset makes it a rate: 10 events over 1,000 exposure');
-- one IRLS: explain_drivers' array fit is fit_glm's scan and solve, so both give the same numbers
create temp table pf_rows as
  select g as i, (g % 7 + (g % 3) * 2)::float8 as y, (50 + g % 11)::float8 as e, (g % 4 = 0)::int::float8 as s1,
         (g % 5 < 2)::int::float8 as s2
  from generate_series(1, 40) g;
select ok(
  (select bool_and(abs(f.beta[j] - (g.estimate)) <= 1e-12 * greatest(abs(g.estimate), 1))
          and bool_and(abs(sqrt((select sum(x * x) from unnest(aoma_private.forward_solve(f.chol,
                (select array_agg((k = j)::int::float8 order by k) from generate_series(1, 3) k), 3)) x)) - g.std_error)
                       <= 1e-9 * g.std_error)
   from (select array_agg(y order by i) y, array_agg(ln(e) order by i) off,
                (select array_agg(v order by r.i, c) from pf_rows r, unnest(array[1, r.s1, r.s2]) with ordinality as u(v, c)) x
         from pf_rows) d,
        aoma_private.poisson_fit(d.y, d.off, d.x, 3) f,
        analytics.fit_glm('pf_rows', 'y', '{s1,s2}', 'poisson', 'e') with ordinality as g(term, estimate, std_error, statistic, p_value, ci_low, ci_high, hc0_se, hc1_se, hc2_se, hc3_se, n, df_resid, r2, adj_r2, f, f_p, deviance, null_deviance, llf, aic, bic, scale, cond, iterations, family, j)),
  'poisson_fit (explain_drivers) equals fit_glm on the same rows: coefficients to 1e-12, standard errors to 1e-9');
select is((select f.converged from aoma_private.poisson_fit(array[1, 2, 3, 4]::float8[], array[0, 0, 0, 0]::float8[],
                                                           array[1, 1, 1, 1, 1, 1, 1, 1]::float8[], 2) f), false,
  'a design with a column repeated (collinear) is not converged, not an error');
select is(
  (select s.threshold from aoma_private.step_scan(
     array[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]::float8[], array[1, 1, 1, 1, 1, 5, 5, 5, 5, 5]::float8[],
     array_fill(3::float8, array[10]), array_fill(1 / sqrt(30::float8), array[10]), 1, 1, 2) s),
  6::float8, 'the scan puts the step where the counts jump');

-- errors: one sentence, SQLSTATE 22023
select throws_ok($$select * from analytics.explain_drivers('nope')$$, '22023', null, 'unknown target');
select throws_like($$select * from analytics.explain_drivers('failure_count', exclude_segments => array['360RA/legacy'])$$,
  'exclude_segments applies to processing_failure_rate only%', 'segments left out of a target that has none');
select is(aoma_private.segment_days_sql('{}'::text[]), 'analytics.features_daily', 'no segment left out: the daily features themselves');
select throws_like($$select * from analytics.explain_drivers('processing_time_avg')$$,
  '%is not a daily count or rate outcome; explain_drivers models: %failure_count%', 'average-type target');
select throws_like($$select * from analytics.explain_drivers(features => array['failure_count'])$$,
  '"failure_count" is an outcome, not a candidate driver%', 'an outcome as a candidate');
select throws_like($$select * from analytics.explain_drivers(max_lag => 10000)$$,
  'max_lag must be between 0 and 7 days (got 10000)', 'lag 10,000');
select throws_like($$select * from analytics.explain_drivers(max_terms => -1)$$,
  'max_terms must be between 0 and 10 (got -1)', 'negative max_terms');
select throws_like($$select * from analytics.explain_drivers(date_from => '2026-10-02', date_to => '2026-10-01')$$,
  'date range 2026-10-02 to 2026-10-01 is empty', 'empty range');
select throws_like($$select * from analytics.explain_drivers(features => array['x; drop table aoma.incidents'])$$,
  'unknown variable "x; drop table aoma.incidents" for grain day; valid: %', 'SQL text as a name is just an unknown name');

-- the per-day segment counts the scoped failure rate reads (analytics.segments_daily, kept by
-- analytics.refresh_features) equal the attempts themselves, after a full and an incremental refresh
insert into aoma.processing_attempts (attempt_id, asset_id, asset_type, migration_state, started_at, finished_at, status)
values ('pgtap-seg-1', 'a1', 'ZZTEST', 'legacy', '2031-01-05 23:30+00', '2031-01-05 23:40+00', 'failed'),
       ('pgtap-seg-2', 'a2', 'ZZTEST', 'legacy', '2031-01-06 00:10+00', '2031-01-06 00:20+00', 'succeeded'),
       ('pgtap-seg-3', 'a3', 'ZZTEST', null, '2031-01-06 01:10+00', '2031-01-06 01:20+00', 'failed');
select count(*) from analytics.refresh_features(full => true);
create function pg_temp.segment_truth() returns table (day date, segment text, attempts bigint, failures bigint) language sql as $f$
  select (a.started_at at time zone 'UTC')::date, a.asset_type || '/' || coalesce(a.migration_state, 'unknown'),
         count(*), count(*) filter (where a.status = 'failed')
  from aoma.processing_attempts a group by 1, 2
$f$;
select set_eq($$select day, segment, processing_attempts::bigint, processing_failures::bigint from analytics.segments_daily$$,
  $$select * from pg_temp.segment_truth()$$, 'segments_daily after a full refresh: attempts and failures per UTC day and segment');
update aoma.processing_attempts set started_at = started_at + interval '1 day', finished_at = finished_at + interval '1 day'
where attempt_id = 'pgtap-seg-1';
delete from aoma.processing_attempts where attempt_id = 'pgtap-seg-3';
select count(*) from analytics.refresh_features();
select set_eq($$select day, segment, processing_attempts::bigint, processing_failures::bigint from analytics.segments_daily$$,
  $$select * from pg_temp.segment_truth()$$, 'segments_daily after an incremental refresh of a move and a delete');

select * from finish();
rollback;
