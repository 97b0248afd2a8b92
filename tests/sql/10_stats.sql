-- Contract of the statistics library (sql/00_stats.sql): signatures, volatility, known values
-- (scipy 1.10 / mpmath), error sentences and grants. The full reference grid lives in
-- tests/correlation_test.ts (tests/reference/stats_reference.json).
begin;
select plan(50);

-- ───────────────────────────── signatures ─────────────────────────────
select has_function('aoma_private', 'ln_gamma', array['double precision'], 'ln_gamma(float8) exists');
select function_returns('aoma_private', 'ln_gamma', array['double precision'], 'double precision', 'ln_gamma returns float8');
select has_function('aoma_private', 'ln_beta', array['double precision', 'double precision'], 'ln_beta(float8, float8) exists');
select has_function('aoma_private', 'incomplete_beta', array['double precision', 'double precision', 'double precision'],
  'incomplete_beta(x, a, b) exists');
select function_returns('aoma_private', 'incomplete_beta', array['double precision', 'double precision', 'double precision'],
  'double precision', 'incomplete_beta returns float8');
select has_function('aoma_private', 'incomplete_beta_xy',
  array['double precision', 'double precision', 'double precision', 'double precision'], 'incomplete_beta_xy(x, y, a, b) exists');
select has_function('aoma_private', 'student_t_sf2', array['double precision', 'double precision'], 'student_t_sf2(t, df) exists');
select function_returns('aoma_private', 'student_t_sf2', array['double precision', 'double precision'], 'double precision',
  'student_t_sf2 returns float8');
select has_function('aoma_private', 'correlation_pvalue', array['double precision', 'integer'], 'correlation_pvalue(r, n) exists');
select has_function('aoma_private', 'correlation_stats', array['double precision[]', 'double precision[]', 'text', 'text'],
  'correlation_stats(x, y, x_label, y_label) exists');
select function_returns('aoma_private', 'correlation_stats', array['double precision[]', 'double precision[]', 'text', 'text'],
  'record', 'correlation_stats returns one record');
select has_function('aoma_private', 'correlation_sums', array['double precision[]', 'double precision[]'],
  'correlation_sums(x, y) exists');
select has_function('aoma_private', 'bh_qvalues', array['double precision[]'], 'bh_qvalues(float8[]) exists');
select function_returns('aoma_private', 'bh_qvalues', array['double precision[]'], 'double precision[]', 'bh_qvalues returns float8[]');
select volatility_is('aoma_private', 'ln_gamma', array['double precision'], 'immutable', 'ln_gamma is immutable');
select volatility_is('aoma_private', 'correlation_stats', array['double precision[]', 'double precision[]', 'text', 'text'],
  'immutable', 'correlation_stats is immutable');
select is_strict('aoma_private', 'student_t_sf2', array['double precision', 'double precision'], 'student_t_sf2 is strict');
select is(
  (select array_agg(a.name order by a.i)
   from pg_proc p
   cross join lateral unnest(p.proargnames, p.proargmodes::text[]) with ordinality as a(name, mode, i)
   where p.oid = 'aoma_private.correlation_stats(float8[], float8[], text, text)'::regprocedure and a.mode = 'o'),
  array['n', 'pearson_r', 'pearson_p', 'pearson_ci_low', 'pearson_ci_high', 'spearman_rho', 'spearman_p', 'note'],
  'correlation_stats columns');

-- ───────────────────────────── known values ─────────────────────────────
select cmp_ok(abs(aoma_private.ln_gamma(0.5) - ln(sqrt(pi()))), '<=', 1e-15::float8, 'ln_gamma(0.5) = ln √π');
select cmp_ok(abs(aoma_private.ln_gamma(100) / 359.1342053695754 - 1), '<=', 1e-14::float8, 'ln_gamma(100) (scipy gammaln)');
select cmp_ok(abs(aoma_private.ln_gamma(1)), '<=', 1e-15::float8, 'ln_gamma(1) = 0');
select cmp_ok(abs(aoma_private.incomplete_beta(0.5, 2, 3) - 0.6875), '<=', 1e-15::float8, 'I_0.5(2, 3) = 11/16');
select cmp_ok(abs(aoma_private.incomplete_beta(0.2, 44.5, 0.5) / 7.398262456667894e-33 - 1), '<=', 1e-12::float8,
  'I_0.2(44.5, 0.5): a tiny lower tail');
select is(aoma_private.incomplete_beta(0, 2, 3), 0::float8, 'I_0 = 0');
select is(aoma_private.incomplete_beta(1, 2, 3), 1::float8, 'I_1 = 1');
select cmp_ok(abs(aoma_private.student_t_sf2(2, 10) / 0.07338803477074039 - 1), '<=', 1e-12::float8, 't = 2, df = 10');
select cmp_ok(abs(aoma_private.student_t_sf2(-3.5, 88) / 0.0007325495160132177 - 1), '<=', 1e-12::float8, 't = −3.5, df = 88 (symmetric)');
select cmp_ok(abs(aoma_private.student_t_sf2(30, 500) / 7.21428888842829e-114 - 1), '<=', 1e-11::float8, 't = 30, df = 500: p ~ 1e-114');
select cmp_ok(abs(aoma_private.student_t_sf2(1e299, 1) / 6.366197723675813e-300 - 1), '<=', 1e-12::float8,
  't = 1e299, df = 1: p ~ 6e-300 computed directly, not as 1 − something');
select is(aoma_private.student_t_sf2('Infinity', 5), 0::float8, 't = ∞ gives 0');
select is(aoma_private.student_t_sf2(0, 5), 1::float8, 't = 0 gives 1');

select results_eq(
  $$select n, round(pearson_r::numeric, 12), round(spearman_rho::numeric, 12), note
    from aoma_private.correlation_stats('{1,2,3,4,5}', '{2,1,4,3,5}')$$,
  $$values (5, 0.8::numeric, 0.8::numeric, null::text)$$,
  'correlation_stats: r and rho of the classic example');
select cmp_ok((select abs(pearson_p / 0.10408803866182785 - 1) + abs(pearson_ci_low / -0.279640041969355 - 1)
                    + abs(pearson_ci_high / 0.9861961933012714 - 1)
               from aoma_private.correlation_stats('{1,2,3,4,5}', '{2,1,4,3,5}')), '<=', 1e-12::float8,
  'correlation_stats: p and 95% CI as scipy.stats.pearsonr');
select results_eq(
  $$select n, pearson_r, pearson_p, pearson_ci_low, pearson_ci_high, spearman_rho, spearman_p
    from aoma_private.correlation_stats('{1,2,3,4,5,6,7,8,9,10}', '{3,5,7,9,11,13,15,17,19,21}')$$,
  $$values (10, 1::float8, 0::float8, 1::float8, 1::float8, 1::float8, 0::float8)$$,
  'an exact line: r = 1, p = 0, CI = [1, 1], no NaN');
select is((select note from aoma_private.correlation_stats('{1,2,3}', '{3,1,2}')),
  'not enough data (n=3; need at least 4)', 'n < 4 gets a note');
select is((select note from aoma_private.correlation_stats('{1,2,null,4,5}', '{2,2,9,2,2}')),
  'constant: no variation in y', 'pairs with a null drop out, then y is constant');
select is((select row(pearson_r, pearson_p, spearman_rho)::text from aoma_private.correlation_stats('{5,5,5,5}', '{1,2,3,4}')),
  '(,,)', 'a constant input leaves every statistic null');
select is(aoma_private.bh_qvalues('{0.01, 0.04, null, 0.03}')::text, '{0.030000000000000002,0.04,NULL,0.04}',
  'bh_qvalues: statsmodels fdr_bh, nulls kept in place and not counted');
select is(aoma_private.bh_qvalues('{0.02, 0.02, 0.5, 1}'), '{0.04,0.04,0.6666666666666666,1}'::float8[],
  'bh_qvalues: ties share their q, capped at 1');
select is(aoma_private.bh_qvalues('{}'), '{}'::float8[], 'bh_qvalues of nothing is empty');

-- ───────────────────────────── errors ─────────────────────────────
select throws_ok($$select aoma_private.ln_gamma(0)$$, '22023', 'ln_gamma needs a finite positive argument (got 0)',
  'ln_gamma(0) is refused');
select throws_ok($$select aoma_private.incomplete_beta(1.5, 1, 1)$$, '22023',
  'incomplete beta needs 0 <= x <= 1 and y = 1 - x (got x=1.5, y=-0.5)', 'x outside [0, 1] is refused');
select throws_ok($$select aoma_private.student_t_sf2(1, 0)$$, '22023',
  'degrees of freedom must be a finite positive number (got 0)', 'df = 0 is refused');
select throws_ok($$select * from aoma_private.correlation_stats('{1,2,3}', '{1,2}')$$, '22023',
  'x and y must have the same length (got 3 and 2)', 'arrays of different lengths are refused');
select throws_ok($$select aoma_private.bh_qvalues('{0.1, 1.5}')$$, '22023', 'p-values must be between 0 and 1 (got 1.5)',
  'a p-value above 1 is refused');

-- ───────────────────────────── grants ─────────────────────────────
select is(
  (select count(*)::int from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname = 'aoma_private'
     and p.proname in ('log1p', 'stirling_correction', 'ln_gamma', 'ln_beta', 'beta_continued_fraction',
                       'incomplete_beta_xy', 'incomplete_beta', 'student_t_sf2', 'correlation_pvalue',
                       'correlation_sums', 'correlation_from_sums', 'correlation_stats', 'bh_qvalues',
                       'correlation_pvalue_df', 'seasonal_correlation_sums', 'partial_correlation_from_sums',
                       'fisher_interval')
     and has_function_privilege('anon', p.oid, 'execute')),
  0, 'anon cannot execute any statistics function');
select is(
  (select count(*)::int from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname = 'aoma_private'
     and p.proname in ('log1p', 'stirling_correction', 'ln_gamma', 'ln_beta', 'beta_continued_fraction',
                       'incomplete_beta_xy', 'incomplete_beta', 'student_t_sf2', 'correlation_pvalue',
                       'correlation_sums', 'correlation_from_sums', 'correlation_stats', 'bh_qvalues',
                       'correlation_pvalue_df', 'seasonal_correlation_sums', 'partial_correlation_from_sums',
                       'fisher_interval')
     and has_function_privilege('authenticated', p.oid, 'execute')
     and has_function_privilege('service_role', p.oid, 'execute')),
  17, 'authenticated and service_role execute all 17');
select function_privs_are('aoma_private', 'correlation_stats',
  array['double precision[]', 'double precision[]', 'text', 'text'], 'anon', array[]::text[],
  'anon has no privilege on correlation_stats');

-- tails below the smallest normal double are 0, never an underflow error (PostgreSQL raises one
-- when a float8 product rounds a nonzero result to 0): r = 0.9985 over 1,424 days, as git-only data gives
select is(aoma_private.correlation_pvalue(0.9985::float8, 1424), 0::float8,
  'a p-value below 1e-308 is 0, not an underflow error');
select cmp_ok(aoma_private.correlation_pvalue(0.9::float8, 300), '>', 0::float8,
  'a tiny but representable p-value stays positive');

select * from finish();
rollback;
