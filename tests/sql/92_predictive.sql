-- Contract of the predictive model (sql/74_predictive.sql, sql/75_predictions.sql): who may call
-- what, the views, and the small closed forms checked by hand. The model against its parts is in
-- tests/predictive_model_test.ts, the MCP tool in tests/tools_build_predictive_model_test.ts.
begin;
select plan(24);

select has_function('analytics', 'build_predictive_model',
  array['text', 'text[]', 'date', 'date', 'integer', 'text', 'integer', 'integer', 'integer'], 'analytics.build_predictive_model exists');
select isnt_definer('analytics', 'build_predictive_model',
  array['text', 'text[]', 'date', 'date', 'integer', 'text', 'integer', 'integer', 'integer'], 'build_predictive_model runs as the caller');
select ok(has_function_privilege('authenticated', 'analytics.build_predictive_model(text, text[], date, date, integer, text, integer, integer, integer)', 'execute'),
  'authenticated may build a model');
select ok(not has_function_privilege('anon', 'analytics.build_predictive_model(text, text[], date, date, integer, text, integer, integer, integer)', 'execute'),
  'anon may not');
select ok(has_function_privilege('service_role', 'analytics.register_predictive_model(text, text[], date, date, integer, text, integer, integer)', 'execute'),
  'service_role may register a model');
select ok(not has_function_privilege('authenticated', 'analytics.register_predictive_model(text, text[], date, date, integer, text, integer, integer)', 'execute'),
  'authenticated may not register (it writes the registry)');
select ok(not has_function_privilege('authenticated', 'analytics.run_prediction_job(date, text)', 'execute'), 'authenticated may not run the prediction job');
select ok(has_function_privilege('authenticated', 'analytics.what_if(jsonb, jsonb, double precision)', 'execute'), 'authenticated may score a what-if');
select has_view('analytics', 'prediction_ledger', 'the prediction ledger view');
select has_view('analytics', 'prediction_scores', 'the prediction scores view');
select has_column('analytics', 'forecast_jobs', 'predict_target', 'a forecast job may also store predictions');
select is((select predict_target from analytics.forecast_jobs where job_name = 'nightly'), 'processing_failure_rate', 'the nightly job predicts the failure rate');

-- closed forms
select is(aoma_private.model_unit_loss('poisson', 3, 2), 2 * (3 * ln(1.5::float8) - 1), 'Poisson unit deviance 2(y ln(y/μ) − (y − μ))');
select is(aoma_private.model_unit_loss('poisson', 0, 2), 4::float8, 'Poisson unit deviance at y = 0 is 2μ');
select is(aoma_private.model_unit_loss('binomial', 1, 0.25), -ln(0.25::float8), 'log loss of a yes at p = 0.25');
select is(aoma_private.model_unit_loss('gaussian', 1, 3), 4::float8, 'squared error');
select results_eq($$select beta0, var0 from aoma_private.model_intercept('binomial', '{1,0,0,0}', '{1,1,1,1}')$$,
  $$values (ln(0.25::float8 / 0.75), 1 / (4 * 0.25::float8 * 0.75))$$, 'intercept-only logistic: logit of the base rate, 1/(n p (1 − p))');
-- Poisson: rate 10/20; Pearson X² = (2 − 5)²/5 + (8 − 5)²/5 = 3.6 over 1 df → φ = 3.6
select results_eq($$select beta0, var0 from aoma_private.model_intercept('quasipoisson', '{2,8}', '{10,10}')$$,
  $$values (ln(0.5::float8), 3.6::float8 / 10)$$, 'intercept-only quasi-Poisson: ln of the mean rate, φ/Σy');
select is(aoma_private.calendar_value('is_monday', '2026-11-30') + aoma_private.calendar_value('is_weekend', '2026-11-29')
          + aoma_private.calendar_value('is_sunday', '2026-11-30'), 2::float8, 'calendar values of future days');
select is(aoma_private.det_normal('seed', 7), aoma_private.det_normal('seed', 7), 'the simulation stream is fixed');
select is(aoma_private.step_cut('{"threshold": 1216, "below": 1190}'), 1203::float8, 'a step turns on halfway between the threshold and the value below it');
select is(aoma_private.step_cut('{"threshold": 1216}'), 1216::float8, 'a step with nothing below it turns on at the threshold');
-- per-attempt calibration: two days, 100 attempts each, predicted 0.1 and 0.3, observed 12 and 24 failures:
-- one bin each (2 bins over [0.1, 0.3]); ece = ½·|0.12 − 0.1| + ½·|0.24 − 0.3| = 0.04
select is(round((aoma_private.rate_calibration('{12,24}', '{100,100}', '{0.1,0.3}', 2) ->> 'ece')::numeric, 12), 0.04, 'attempt-weighted ECE by hand');
select throws_like($$select analytics.build_predictive_model(horizon => 31)$$, 'horizon must be between 1 and 30 days (got 31)', 'horizon out of range: a sentence');

select * from finish();
rollback;
