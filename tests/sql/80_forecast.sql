-- Contract of the forecasting functions (sql/60_forecast.sql, sql/61_forecast_api.sql): signatures,
-- security, grants, the error sentences, and cases with a closed-form answer. Parity with
-- statsmodels and the backtest recomputed from its definition are in tests/forecast_test.ts.
begin;
select plan(40);

select has_function('analytics', 'forecast_series', array['double precision[]', 'integer', 'integer', 'double precision[]', 'text', 'text', 'integer'],
  'analytics.forecast_series(y, season, horizon, levels, method, label, season2) exists');
select has_function('analytics', 'forecast_feature', array['text[]', 'text', 'integer', 'double precision[]', 'text', 'integer'],
  'analytics.forecast_feature(features, grain, horizon, levels, method, history) exists');
select isnt_definer('analytics', 'forecast_series', array['double precision[]', 'integer', 'integer', 'double precision[]', 'text', 'text', 'integer'],
  'forecast_series runs as the caller');
select isnt_definer('analytics', 'forecast_feature', array['text[]', 'text', 'integer', 'double precision[]', 'text', 'integer'],
  'forecast_feature runs as the caller (reads the feature tables with the caller''s rights)');
select volatility_is('analytics', 'forecast_feature', array['text[]', 'text', 'integer', 'double precision[]', 'text', 'integer'], 'stable',
  'forecast_feature is stable (writes nothing)');
select function_privs_are('analytics', 'forecast_series', array['double precision[]', 'integer', 'integer', 'double precision[]', 'text', 'text', 'integer'],
  'anon', array[]::text[], 'anon cannot execute forecast_series');
select function_privs_are('analytics', 'forecast_feature', array['text[]', 'text', 'integer', 'double precision[]', 'text', 'integer'],
  'authenticated', array['EXECUTE'], 'authenticated executes forecast_feature');
select function_privs_are('analytics', 'forecast_series', array['double precision[]', 'integer', 'integer', 'double precision[]', 'text', 'text', 'integer'],
  'service_role', array['EXECUTE'], 'service_role executes forecast_series');
select function_privs_are('aoma_private', 'ets_fit', array['double precision[]', 'text', 'text', 'integer', 'integer', 'integer', 'integer'],
  'anon', array[]::text[], 'anon cannot execute the engine');

-- ── closed forms ──
-- ETS(A,N,N) with α = 1 is the naive forecast; with α at 0 the level never moves
select is((aoma_private.ets_run(array[3, 5, 4, 9]::float8[], 'N', 'N', 1, array[1, 0, 0, 1]::float8[], array[3]::float8[], false, 2)).forecast,
  array[9, 9]::float8[], 'ETS(A,N,N) with α = 1 forecasts the last value');
select is((aoma_private.ets_run(array[3, 5, 4, 9]::float8[], 'N', 'N', 1, array[0, 0, 0, 1]::float8[], array[2]::float8[], false, 1)).sse,
  (1 + 9 + 4 + 49)::float8, 'ETS(A,N,N) with α = 0: SSE around the fixed initial level');
select is((aoma_private.ets_run(array[1, 2, 3, 4]::float8[], 'A', 'N', 1, array[0.5, 0.2, 0, 1]::float8[], array[0, 1]::float8[], false, 3)).forecast,
  array[5, 6, 7]::float8[], 'a perfect line (level 0, slope 1) is continued exactly');
select is((aoma_private.ets_run(array[1, 2, 3, 4]::float8[], 'Ad', 'N', 1, array[0.5, 0.2, 0, 0.5]::float8[], array[4, 1]::float8[], false, 0)).fitted,
  null::float8[], 'no path unless asked');
select ok((aoma_private.ets_fit(array[10, 20, 10, 20, 10, 20, 10, 20, 10, 20, 10, 20]::float8[], 'N', 'A', 2)).sse < 1e-12,
  'a series that is its two-period season: ETS(A,N,A) fits it exactly (initial states by Gauss–Newton)');
select is(aoma_private.ets_loglike(2, 2), -(ln(2 * pi()) + 1), 'log-likelihood of SSE 2 over 2 values: −(log 2π + 1)');
select is(aoma_private.ets_loglike(0, 2), null, 'no log-likelihood for a perfect fit');
select is((aoma_private.ets_run(array[1, 2]::float8[], 'N', 'M', 2, array[0.5, 0, 0.1, 1]::float8[], array[1, 0, 0, 1]::float8[])).sse,
  'Infinity'::float8, 'a multiplicative season through zero has no likelihood (no division error)');
-- conformal: ⌈(k+1)·level⌉-th smallest |error|; split-half coverage
select is((select f.half_width from aoma_private.forecast_intervals(array[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]::float8[], 1, '{80,95}') f),
  array[16, 19]::float8[], '19 errors: the 80% half-width is the 16th, the 95% the 19th');
select is((select f.half_width from aoma_private.forecast_intervals(array[-1, 2, -3]::float8[], 1, '{50,95}') f),
  array[2, null]::float8[], '3 errors are too few for 95% (⌈4·0.95⌉ = 4 > 3): no half-width');
select is((select f.n_errors from aoma_private.forecast_intervals(array[1, null, 3, 4]::float8[], 2, '{80}') f where f.step = 2),
  1, 'a missing actual is not an error');
select is((select f.covered from aoma_private.forecast_intervals(
            (select array_agg(g::float8 order by g) from generate_series(1, 20) g), 1, '{80,95}') f),
  array[0, null]::integer[],
  'split-half check: 10 earlier errors give the 80% width (9th) but are too few for 95% (⌈11·0.95⌉ = 11): unchecked, not 0 covered');
-- seasonal naive and the auto rule on a series that repeats its season exactly plus a ramp
select is((select array_agg(f.point order by f.step) from analytics.forecast_series(
            (select array_agg((g % 4)::float8 order by g) from generate_series(1, 60) g), 4, 4, '{80}', 'seasonal_naive') f),
  array[1, 2, 3, 0]::float8[], 'seasonal naive repeats the last season');
select is((select count(*)::int from analytics.forecast_series(
            (select array_agg((g % 4)::float8 order by g) from generate_series(1, 60) g), 4, 4, '{80}', 'all') f where f.chosen),
  4, 'method all marks the chosen candidate on each of its steps');
select is((select distinct f.method_used || ': ' || f.notes from analytics.forecast_series(
            (select array_agg((g % 4)::float8 order by g) from generate_series(1, 60) g), 4, 4, '{80}') f),
  'seasonal_naive: nothing beat the seasonal naive baseline in the backtest (ets MASE 0.682 vs 0.000): using it; the training values repeat their season exactly: MASE is scaled by the one-step naive error',
  'auto says when nothing beats the baseline, with both MASEs and why the scale is the one-step error');
select ok((select bool_and(f.point = 7 and f.lower = array[7]::float8[] and f.upper = array[7]::float8[]
                   and f.notes like '%constant history: the forecast is that constant%')
           from analytics.forecast_series(array_fill(7::float8, array[40]), 1, 3, '{80}') f),
  'a constant series: that constant, width 0, and a note');
select ok((select bool_and(f.lower[1] >= 0) from analytics.forecast_series(
            (select array_agg(case when g % 7 = 0 then 5 else 0 end::float8 order by g) from generate_series(1, 70) g), 1, 7, '{95}') f),
  'a series that never goes below 0 gets no negative lower bound');

-- ── errors: one sentence, SQLSTATE 22023 ──
select throws_ok($$select * from analytics.forecast_series(array[1, 2, 3]::float8[], 1, 0)$$, '22023',
  'horizon must be between 1 and 500 periods (got 0)', 'horizon 0');
select throws_ok($$select * from analytics.forecast_series(array[1, 2, 3]::float8[], 1, 501)$$, '22023',
  'horizon must be between 1 and 500 periods (got 501)', 'horizon above the maximum');
select throws_like($$select * from analytics.forecast_series(array[1, 2, 3]::float8[], 1, 3, '{80,100}')$$,
  'levels must be 1 to 10 interval levels in percent, each strictly between 0 and 100 (got {80,100})', 'level 100');
select throws_like($$select * from analytics.forecast_series(array[1, 2, 3]::float8[], 1, 3, '{0}')$$,
  'levels must be %strictly between 0 and 100 (got {0})', 'level 0');
select throws_ok($$select * from analytics.forecast_series(array[1, 2, 3]::float8[], 1, 3, '{80}', 'prophet')$$, '22023',
  'method must be one of auto, ets, seasonal_naive, all (got "prophet")', 'unknown method');
select throws_ok($$select * from analytics.forecast_series(array[null, null]::float8[], 1, 3)$$, '22023',
  'the series has no values (empty or all null); nothing to forecast', 'all-null series');
select throws_ok($$select * from analytics.forecast_series(array_fill(1::float8, array[50]), 24, 48)$$, '22023',
  'history too short: 50 periods; at least 117 are needed for horizon 48 with season 24 (2 seasons + 2, at least 10, for the fit and horizon + 19 for the backtest)',
  'too short: the sentence names the minimum');
select throws_like($$select * from analytics.forecast_series(array[1, 'NaN']::float8[], 1, 3)$$,
  'y must hold finite numbers or nulls%', 'NaN in the series');
select throws_like($$select * from analytics.forecast_series(array[1, 2]::float8[], 0, 3)$$,
  'season must be a period between 1 (no season) and 400 (got 0)', 'season 0');
select throws_like($$select * from analytics.forecast_series((select array_agg(g::float8) from generate_series(1, 6000) g), 7, 7)$$,
  'too much work: 6000 values × 9 ETS forms with season 7 = 54000 units; at most 50,000 per call%', 'work bound of one series');
select throws_like($$select * from analytics.forecast_series((select array_agg((g % 24 + 1)::float8) from generate_series(1, 1700) g), 24, 48)$$,
  'too much work: 1700 values × 9 ETS forms with season 24 = 52458 units; at most 50,000 per call%',
  'work bound: a season of 24 costs 24/7 per value (1,700 hours: 52,458 units; 1,700 days would be 15,300)');
select throws_like($$select * from analytics.forecast_feature(array['x; drop table aoma.incidents'])$$,
  'unknown variable "x; drop table aoma.incidents" for grain day; valid: %', 'unknown feature: the valid ones listed');
select throws_like($$select * from analytics.forecast_feature(array['is_monday'])$$,
  'calendar features have a known future and are not forecast: is_monday', 'calendar feature');
select throws_like($$select * from analytics.forecast_feature(array['commits'], 'month')$$,
  'grain must be one of hour, day, week (got "month")', 'unknown grain');

select * from finish();
rollback;
