-- AOMA Mesh Analytics: the nightly forecast job also stores next-day failure predictions (issue 10,
-- item 6). A job with predict_target set runs analytics.run_prediction_job(day, predict_target)
-- after its forecasts when it runs live (for today or a later day; a backfill of past days stores
-- forecasts only). The default job 'nightly' predicts processing_failure_rate.

alter table analytics.forecast_jobs add column if not exists predict_target text;
comment on column analytics.forecast_jobs.predict_target is
  'A daily outcome whose predictive model the job registers and whose next 7 days it stores in aoma.failure_predictions after its forecasts, on live runs (analytics.run_prediction_job); null: none.';
update analytics.forecast_jobs set predict_target = 'processing_failure_rate' where job_name = 'nightly' and predict_target is null;
