-- AOMA Mesh Analytics — predictive models in the registry, what-if scoring, stored next-day
-- predictions and their ledger (issue 10, items 5 and 6).
--
-- ── analytics.register_predictive_model(target, predictors, date_from, date_to, horizon, model_type,
--                                        max_lag, folds) → uuid   (service_role only) ────────────
--   Builds analytics.build_predictive_model and stores it: one aoma.predictive_models row (model_type
--   glm | boosted | mean | seasonal_naive, accuracy = build_predictive_model's accuracy (the
--   cross-validated AUC for a yes/no day, else the skill max(0, 1 − loss / baseline loss), 0 for a baseline), features = the glm's terms or the boosted importance,
--   family, target, predictors = the glm's term names, relation analytics.features_daily, exposure,
--   order_by day, the training window, days used, a hash of the rows, the library version, fit = the
--   glm's fit with its term spec, evaluation = the candidates, folds, rule and choice) and one
--   aoma.failure_predictions row per predicted day: failure_probability = the prediction (a rate or
--   an indicator's probability), or P(count ≥ 1) = 1 − e^(−μ) for a count target (a continuous
--   target stores none); confidence_interval = {low95, high95, low80, high80, prediction, risk,
--   ratio_to_mean, target, kind, method}. The same spec on the same rows and library returns the
--   stored model (spec_key), nothing rewritten.
--
-- ── analytics.what_if(model, conditions, level) → jsonb ────────────────────────────────────────────
--   model: build_predictive_model's model.glm (or a registered fit); conditions: {"asset_volume":
--   1300, "is_monday": 1} — a feature's value sets every term of that feature (at every lag: "what
--   if the volume is 1,300 on the days the model looks at"), or a term's name sets that term (0/1
--   for a step). A term not named gets its share of days at or above the threshold in the window
--   (its expected value), said in the answer. Prediction = the expected value (rate, probability,
--   count or value), interval = η ± q·se(η) (delta method on the linear predictor with the fit's
--   scaled covariance) through the inverse link.
-- ── analytics.score_predictive_model(model_id, conditions, level) → jsonb: what_if on a registered
--   model.
--
-- ── analytics.prediction_ledger (view): every stored prediction next to what happened once its
--   day has passed (the target on that day in analytics.features_daily): predicted, interval,
--   actual (rate, indicator or count), attempts (rates), inside95, brier (indicator: (p − y)²;
--   rate: the per-attempt Brier score p² − 2p·r + r of a day with failure share r; count: (P(≥1) −
--   1[count ≥ 1])²), error.
-- ── analytics.prediction_scores (view): per target and model type, the track record: days scored,
--   mean predicted vs observed, Brier score and the base-rate Brier (the window's mean as the
--   forecast), share of actual values inside the 95% interval of the expected value.
--
-- ── analytics.run_prediction_job(day, scheduler) → table: registers the default model
--   (processing_failure_rate, auto, the last 365 days before `day`) and stores its predictions from
--   `day` on; the nightly forecast job calls it after its forecasts (sql/65_forecast_ledger.sql), so
--   pg_cron and the embedded schedule both run it.

drop function if exists analytics.register_predictive_model(text, text[], date, date, integer, text, integer, integer);
create or replace function analytics.register_predictive_model(
  target text default 'processing_failure_rate',
  predictors text[] default null,
  date_from date default null,
  date_to date default null,
  horizon integer default 7,
  model_type text default 'auto',
  max_lag integer default 1,
  folds integer default 5
)
returns uuid
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  m jsonb;
  v_lib text := aoma_private.library_version();
  v_hash text;
  v_key text;
  v_id uuid;
  v_glm jsonb;
  tg record;
begin
  select * into tg from aoma_private.model_target(coalesce(register_predictive_model.target, 'processing_failure_rate'));
  m := analytics.build_predictive_model(register_predictive_model.target, register_predictive_model.predictors,
                                        register_predictive_model.date_from, register_predictive_model.date_to,
                                        register_predictive_model.horizon, register_predictive_model.model_type,
                                        register_predictive_model.max_lag, register_predictive_model.folds);
  v_hash := aoma_private.rows_hash(aoma_private.model_frame_sql(tg.y_col, tg.exposure_col, aoma_private.model_raw_terms(m ->> 'target',
              register_predictive_model.predictors, (m ->> 'max_lag')::int), (m -> 'window' ->> 'from')::date, (m -> 'window' ->> 'to')::date));
  v_key := md5(jsonb_build_array('predictive', m ->> 'target', register_predictive_model.predictors, m -> 'window', m -> 'max_lag',
                                 register_predictive_model.horizon, m ->> 'model_type', register_predictive_model.folds, v_hash, v_lib)::text);
  select pm.model_id into v_id from aoma.predictive_models pm where pm.spec_key = v_key;
  if v_id is not null then
    return v_id;
  end if;
  v_glm := m -> 'model' -> 'glm';
  insert into aoma.predictive_models as pm (model_type, accuracy, features, last_trained, family, target, predictors, relation, exposure,
    order_by, train_from, train_to, n_rows, data_hash, library_version, fit, evaluation, fitted_by, spec_key)
  values (m ->> 'chosen',
          least(1, greatest(0, coalesce((m -> 'accuracy' ->> 'value')::float8, 0))),
          coalesce(case when m ->> 'chosen' = 'boosted' then m -> 'model' -> 'boosted' -> 'importance' else v_glm -> 'terms' end, '[]'::jsonb),
          now(), m ->> 'family', m ->> 'target',
          case when m ->> 'chosen' = 'glm' then array(select jsonb_array_elements(v_glm -> 'terms') ->> 'term') end,
          'analytics.features_daily', m ->> 'exposure', 'day', m -> 'window' ->> 'from', m -> 'window' ->> 'to', (m ->> 'n_days')::int,
          v_hash, v_lib,
          case when m ->> 'chosen' = 'glm' then (v_glm -> 'fit') || jsonb_build_object('spec', v_glm -> 'spec', 'shares',
                 (select jsonb_agg(t -> 'share_high') from jsonb_array_elements(v_glm -> 'terms') t)) end,
          m - 'predictions' - 'model', current_user, v_key)
  on conflict (spec_key) where spec_key is not null do nothing
  returning pm.model_id into v_id;
  if v_id is null then  -- registered at the same moment by another call
    select pm.model_id into v_id from aoma.predictive_models pm where pm.spec_key = v_key;
    return v_id;
  end if;
  if m ->> 'kind' <> 'continuous' then
    insert into aoma.failure_predictions (model_id, predicted_date, failure_probability, confidence_interval)
    select v_id, (d ->> 'day')::date,
           least(1, greatest(0, case when m ->> 'kind' = 'count' then 1 - exp(-(d ->> 'prediction')::float8) else (d ->> 'prediction')::float8 end)),
           jsonb_build_object('prediction', (d ->> 'prediction')::float8, 'low95', (d ->> 'low95')::float8, 'high95', (d ->> 'high95')::float8,
                              'low80', (d ->> 'low80')::float8, 'high80', (d ->> 'high80')::float8, 'risk', d ->> 'risk',
                              'ratio_to_mean', (d ->> 'ratio_to_mean')::float8, 'target', m ->> 'target', 'kind', m ->> 'kind',
                              'method', m -> 'prediction_method' ->> 'text')
    from jsonb_array_elements(m -> 'predictions') d
    on conflict (model_id, predicted_date) do nothing;
  end if;
  return v_id;
end;
$$;
comment on function analytics.register_predictive_model(text, text[], date, date, integer, text, integer, integer) is
  'Builds and stores a predictive model (aoma.predictive_models) and its next-day predictions (aoma.failure_predictions); service_role only; idempotent by spec and data. See sql/75_predictions.sql.';
revoke execute on function analytics.register_predictive_model(text, text[], date, date, integer, text, integer, integer) from public, authenticated;
grant execute on function analytics.register_predictive_model(text, text[], date, date, integer, text, integer, integer) to service_role;

create or replace function analytics.what_if(model jsonb, conditions jsonb, level float8 default 95)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  fit jsonb := coalesce(what_if.model -> 'fit', what_if.model);
  spec jsonb := aoma_private.model_columns(coalesce(what_if.model -> 'spec', what_if.model -> 'fit' -> 'spec'));
  k integer;
  x float8[] := array[1::float8];
  used jsonb := '[]'::jsonb;
  t jsonb;
  v jsonb;
  val float8;
  share float8;
  eta float8 := 0;
  var float8 := 0;
  q float8;
  se float8;
  fam text;
  bad text;
  label text;
begin
  if fit is null or jsonb_typeof(fit -> 'estimate') is distinct from 'array' or spec is null or jsonb_typeof(spec) <> 'array' then
    raise exception 'the model has no fitted terms to score (a baseline or boosted model has no what-if): build a glm first' using errcode = '22023';
  end if;
  if what_if.conditions is null or jsonb_typeof(what_if.conditions) <> 'object' then
    raise exception 'conditions must be an object of feature (or term) names and numbers, e.g. {"asset_volume": 1300, "is_monday": 1}' using errcode = '22023';
  end if;
  if not (what_if.level > 0 and what_if.level < 100) then
    raise exception 'level must be a percentage strictly between 0 and 100 (got %)', what_if.level using errcode = '22023';
  end if;
  k := jsonb_array_length(spec);
  select string_agg(format('"%s"', c), ', ' order by c) into bad
  from jsonb_object_keys(what_if.conditions) c
  where not exists (select from jsonb_array_elements(spec) e where e ->> 'feature' = c or aoma_private.model_term_label(e) = c);
  if bad is not null then
    raise exception 'unknown condition %: the model''s terms are %', bad,
      (select string_agg(aoma_private.model_term_label(e), ', ') from jsonb_array_elements(spec) e) using errcode = '22023';
  end if;
  for j in 1..k loop
    t := spec -> (j - 1);
    label := aoma_private.model_term_label(t);
    v := coalesce(what_if.conditions -> label, what_if.conditions -> (t ->> 'feature'));
    if v is not null and jsonb_typeof(v) not in ('number', 'boolean') then
      raise exception 'condition "%" must be a number (or true/false)', coalesce(case when what_if.conditions ? label then label end, t ->> 'feature')
        using errcode = '22023';
    end if;
    share := coalesce((what_if.model -> 'terms' -> (j - 1) ->> 'share_high')::float8, (fit -> 'shares' ->> (j - 1))::float8);
    if v is null then
      val := share;
    else
      val := case when jsonb_typeof(v) = 'boolean' then (v::text)::boolean::int::float8 else (v::text)::float8 end;
      if t ->> 'form' = 'step' and not what_if.conditions ? label then
        val := (val >= aoma_private.step_cut(t))::int::float8;  -- a feature's value → the step's indicator (aoma_private.step_cut)
      end if;
    end if;
    x := x || val;
    used := used || jsonb_build_object('term', label, 'value', val,
      'source', case when v is null then 'not given: the share of days at or above the threshold in the window' else 'given' end);
  end loop;
  for i in 1..k + 1 loop
    eta := eta + (fit -> 'estimate' ->> (i - 1))::float8 * x[i];
    for j in 1..k + 1 loop
      var := var + x[i] * x[j] * coalesce((fit -> 'cov' ->> ((i - 1) * (k + 1) + j - 1))::float8, 0);
    end loop;
  end loop;
  fam := case when fit ->> 'family' = 'quasipoisson' then 'poisson' else fit ->> 'family' end;
  q := aoma_private.two_sided_quantile(what_if.level, case when fam = 'gaussian' then (fit ->> 'df_resid')::float8 end);
  se := case when jsonb_typeof(fit -> 'cov') = 'array' then sqrt(greatest(var, 0) * (fit ->> 'scale')::float8) end;
  return jsonb_build_object('prediction', aoma_private.glm_mean(fam, eta), 'ci_low', aoma_private.glm_mean(fam, eta - q * se),
    'ci_high', aoma_private.glm_mean(fam, eta + q * se), 'level', what_if.level, 'linear_predictor', eta, 'se_linear_predictor', se,
    'terms', used, 'method', 'delta method on the linear predictor, through the inverse link');
end;
$$;
comment on function analytics.what_if(jsonb, jsonb, float8) is
  'What-if scoring of a predictive glm (build_predictive_model''s model.glm): the expected value under given feature values with a delta-method interval. See sql/75_predictions.sql.';
grant execute on function analytics.what_if(jsonb, jsonb, float8) to authenticated, service_role;

create or replace function analytics.score_predictive_model(model_id uuid, conditions jsonb, level float8 default 95)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_fit jsonb;
begin
  select pm.fit into v_fit from aoma.predictive_models pm where pm.model_id = score_predictive_model.model_id;
  if not found then
    raise exception 'no registered model with id %', score_predictive_model.model_id using errcode = '22023';
  end if;
  return analytics.what_if(v_fit, score_predictive_model.conditions, score_predictive_model.level);
end;
$$;
grant execute on function analytics.score_predictive_model(uuid, jsonb, float8) to authenticated, service_role;

create or replace view analytics.prediction_ledger
with (security_invoker = true) as
select fp.prediction_id, fp.model_id, pm.target, pm.model_type, pm.train_to, fp.predicted_date, fp.created_at,
       (fp.confidence_interval ->> 'kind') as kind,
       (fp.confidence_interval ->> 'prediction')::float8 as predicted,
       fp.failure_probability,
       (fp.confidence_interval ->> 'low95')::float8 as low95, (fp.confidence_interval ->> 'high95')::float8 as high95,
       fp.confidence_interval ->> 'risk' as risk,
       a.actual, a.attempts,
       case when a.actual is not null then a.actual between (fp.confidence_interval ->> 'low95')::float8 and (fp.confidence_interval ->> 'high95')::float8 end as inside95,
       case when a.actual is null then null
            when fp.confidence_interval ->> 'kind' = 'rate' then fp.failure_probability ^ 2 - 2 * fp.failure_probability * a.actual + a.actual
            when fp.confidence_interval ->> 'kind' = 'count' then (fp.failure_probability - (a.actual >= 1)::int) ^ 2
            else (fp.failure_probability - a.actual) ^ 2 end as brier,
       a.actual - (fp.confidence_interval ->> 'prediction')::float8 as error
from aoma.failure_predictions fp
join aoma.predictive_models pm on pm.model_id = fp.model_id
left join lateral (
  select case when pm.target = 'processing_failure_rate' then d.processing_failures::float8 / nullif(d.processing_attempts, 0)
              else (to_jsonb(d) ->> pm.target)::float8 end as actual,
         d.processing_attempts as attempts
  from analytics.features_daily d
  where d.day = fp.predicted_date and d.day < (select max(x.day) from analytics.features_daily x)  -- a day still filling is not scored
) a on true;
comment on view analytics.prediction_ledger is
  'Stored next-day predictions (aoma.failure_predictions) next to what happened once the day has passed: actual, inside the 95% interval, Brier score. See sql/75_predictions.sql.';

create or replace view analytics.prediction_scores
with (security_invoker = true) as
select l.target, l.model_type, count(*)::int as days_scored, avg(l.predicted) as mean_predicted, avg(l.actual) as mean_observed,
       avg(l.brier) as brier,
       avg(case when l.kind = 'rate' then b.base ^ 2 - 2 * b.base * l.actual + l.actual
                when l.kind = 'count' then (b.base - (l.actual >= 1)::int) ^ 2
                else (b.base - l.actual) ^ 2 end) as brier_baseline,
       avg(l.inside95::int) as share_inside95,
       min(l.predicted_date) as first_day, max(l.predicted_date) as last_day
from analytics.prediction_ledger l
cross join lateral (select (pm.evaluation ->> 'mean_value')::float8 as base from aoma.predictive_models pm where pm.model_id = l.model_id) b
where l.actual is not null
group by l.target, l.model_type;
comment on view analytics.prediction_scores is
  'Track record of the stored predictions per target and model type: days scored, mean predicted vs observed, Brier score next to the base-rate Brier, share inside the 95% interval.';
grant select on analytics.prediction_ledger, analytics.prediction_scores to authenticated, service_role;

create or replace function analytics.run_prediction_job(
  day date default (now() at time zone 'UTC')::date,
  target text default 'processing_failure_rate'
)
returns table (model_id uuid, predictions integer, chosen text, note text)
language plpgsql
volatile
security invoker
set search_path = ''
as $$
begin
  model_id := analytics.register_predictive_model(run_prediction_job.target, null, run_prediction_job.day - 365, run_prediction_job.day - 1, 7, 'auto', 1, 5);
  select count(*)::int into predictions from aoma.failure_predictions fp where fp.model_id = run_prediction_job.model_id;
  select pm.model_type into chosen from aoma.predictive_models pm where pm.model_id = run_prediction_job.model_id;
  note := format('%s: %s model of %s trained to %s, %s predictions stored', run_prediction_job.day, chosen, run_prediction_job.target,
                 run_prediction_job.day - 1, predictions);
  return next;
end;
$$;
comment on function analytics.run_prediction_job(date, text) is
  'Registers the default predictive model on the year before `day` and stores its next-7-day predictions (service_role); run by the nightly forecast job.';
revoke execute on function analytics.run_prediction_job(date, text) from public, authenticated;
grant execute on function analytics.run_prediction_job(date, text) to service_role;
