-- AOMA Mesh Analytics — the model registry and what-if scoring (issue 10, item 5).
--
-- ── analytics.register_glm(relation, target, predictors, family, order_by, exposure, folds, level, l2)
--    → uuid   (role service_role: it writes aoma.predictive_models; other callers get 42501)
--   Fits analytics.fit_glm on every complete row, cross-validates it in time order
--   (analytics.cross_validate_glm, `folds` blocks), and stores one aoma.predictive_models row: the
--   spec, the training window (first and last order_by value), rows, a hash of the rows, the
--   library version, the fit and the evaluation. model_type is 'ols', 'logistic', 'poisson' or
--   'quasipoisson'; accuracy (in [0, 1], out of sample) is the pooled cross-validated AUC for
--   logistic, max(0, 1 − deviance/baseline deviance) for the Poisson families and max(0, R²
--   against the training mean) for OLS — the evaluation beside it holds every metric and its
--   baseline. Registering the same spec on the same rows with the same library again returns the
--   stored model: one row per distinct fit, nothing overwritten.
--
-- ── analytics.model_weights (view): model_id, term, estimate, std_error, statistic, p_value, ci_low,
--    ci_high, level — one row per coefficient of every registered model (like BigQuery ML's
--    ML.ADVANCED_WEIGHTS).
-- ── analytics.model_evaluation (view): model_id, fold (null: pooled over every predicted row),
--    train_rows, test_rows, test_from, test_to, metrics (jsonb), note.
--
-- ── analytics.score_glm(model_id, conditions jsonb, level) → table (prediction, ci_low, ci_high,
--    linear_predictor, se_linear_predictor, scale)
--   "What if asset volume is 1,300 tomorrow and it is a Monday?": conditions names every predictor
--   of the model ({"asset_volume": 1300, "is_monday": 1}; booleans as true/false or 0/1) and, for a
--   Poisson model with an exposure, the exposure (default 1: the rate per unit). The prediction is
--   the expected value (probability for logistic, count for Poisson, mean for OLS); the interval
--   (level %, default 95) is for that expected value: η ± q·se(η), se(η)² = x'Σx with Σ the fit's
--   scaled covariance (the delta method on the linear predictor), carried through the inverse link.
--   A ridge model (l2 > 0) has no covariance: its prediction comes without an interval (null).
--   Errors (22023): an unknown model, a predictor missing from conditions or not a number, an
--   unknown condition name, exposure ≤ 0.

-- aoma_private.library_version(): md5 of the applied sql/ modules and their sha256 (security definer:
-- the list of modules is not readable by callers, its hash is).
create or replace function aoma_private.library_version()
returns text
language sql
stable
security definer
set search_path = ''
as $$
  select md5(coalesce(string_agg(m.module || ':' || m.sha256, ',' order by m.module), '')) from aoma_private.library_modules m
$$;

-- aoma_private.rows_hash(src): an order-independent hash of the rows of the query src.
create or replace function aoma_private.rows_hash(src text)
returns text
language plpgsql
stable
set search_path = ''
as $$
declare
  h text;
begin
  execute format('select count(*) || '':'' || coalesce(sum((''x'' || substr(md5(r::text), 1, 15))::bit(60)::bigint::numeric), 0) from (%s) r', src)
    into h;
  return h;
end;
$$;

drop function if exists analytics.register_glm(regclass, text, text[], text, text, text, integer, float8);
drop function if exists analytics.register_glm(regclass, text, text[], text, text, text, integer, float8, float8);
create or replace function analytics.register_glm(
  relation regclass,
  target text,
  predictors text[],
  family text,
  order_by text,
  exposure text default null,
  folds integer default 5,
  level float8 default 95,
  l2 float8 default 0
)
returns uuid
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_family text := coalesce(register_glm.family, 'binomial');
  v_src text;
  v_hash text;
  v_lib text := aoma_private.library_version();
  v_key text;
  v_id uuid;
  v_fit jsonb;
  v_cv jsonb;
  v_from text;
  v_to text;
  v_acc float8;
  v_pooled jsonb;
begin
  if register_glm.order_by is null then
    raise exception 'order_by must name the column that orders the rows in time (the training window and the cross-validation need it)'
      using errcode = '22023';
  end if;
  perform aoma_private.no_binomial_trials(v_family, register_glm.exposure, 'register_glm');
  v_src := aoma_private.glm_source(register_glm.relation, register_glm.target, register_glm.predictors, v_family,
                                   register_glm.exposure, register_glm.order_by);
  v_hash := aoma_private.rows_hash(v_src);
  v_key := md5(jsonb_build_array(register_glm.relation::text, register_glm.target, register_glm.predictors, v_family,
                                 register_glm.exposure, register_glm.order_by, register_glm.folds, register_glm.level,
                                 register_glm.l2, v_hash, v_lib)::text);
  select m.model_id into v_id from aoma.predictive_models m where m.spec_key = v_key;
  if v_id is not null then
    return v_id;
  end if;
  perform aoma_private.check_l2(register_glm.l2);
  v_fit := aoma_private.glm_fit(v_src, register_glm.predictors, v_family, register_glm.level, register_glm.l2);
  v_cv := analytics.cross_validate_glm(register_glm.relation, register_glm.target, register_glm.predictors, v_family,
                                       register_glm.order_by, register_glm.folds, register_glm.exposure, 0.5, register_glm.l2);
  execute format('select min(s.o)::text, max(s.o)::text from (%s) s', v_src) into v_from, v_to;
  v_pooled := v_cv -> 'pooled';
  v_acc := case when v_family = 'binomial' then (v_pooled ->> 'auc')::float8
                when v_family in ('poisson', 'quasipoisson') then
                  greatest(0, 1 - (v_pooled ->> 'poisson_deviance')::float8 / nullif((v_pooled ->> 'poisson_deviance_baseline')::float8, 0))
                else greatest(0, (v_pooled ->> 'r2')::float8) end;
  insert into aoma.predictive_models as m (model_type, accuracy, features, last_trained, family, target, predictors, relation, exposure,
    order_by, train_from, train_to, n_rows, data_hash, library_version, fit, evaluation, fitted_by, spec_key)
  values (case v_family when 'gaussian' then 'ols' when 'binomial' then 'logistic' else v_family end,
          least(1, greatest(0, v_acc)),
          (select jsonb_agg(jsonb_build_object('term', t.term, 'estimate', (v_fit -> 'estimate' ->> (t.i - 1)::int)::float8,
                                               'std_error', (v_fit -> 'std_error' ->> (t.i - 1)::int)::float8,
                                               'p_value', (v_fit -> 'p_value' ->> (t.i - 1)::int)::float8) order by t.i)
           from jsonb_array_elements_text(v_fit -> 'terms') with ordinality as t(term, i)),
          now(), v_family, register_glm.target, register_glm.predictors, register_glm.relation::text, register_glm.exposure,
          register_glm.order_by, v_from, v_to, (v_fit ->> 'n')::integer, v_hash, v_lib, v_fit, v_cv - 'predictions', current_user, v_key)
  on conflict (spec_key) where spec_key is not null do nothing
  returning m.model_id into v_id;
  if v_id is null then  -- registered at the same moment by another call
    select m.model_id into v_id from aoma.predictive_models m where m.spec_key = v_key;
  end if;
  return v_id;
end;
$$;
comment on function analytics.register_glm(regclass, text, text[], text, text, text, integer, float8, float8) is
  'Fits, cross-validates in time order and registers a model in aoma.predictive_models (service_role); the same spec on the same rows returns the stored model. See sql/72_model_registry.sql.';
revoke execute on function analytics.register_glm(regclass, text, text[], text, text, text, integer, float8, float8) from public, authenticated;
grant execute on function analytics.register_glm(regclass, text, text[], text, text, text, integer, float8, float8) to service_role;

create or replace view analytics.model_weights
with (security_invoker = true) as
select m.model_id, t.term,
       (m.fit -> 'estimate' ->> (t.i - 1)::int)::float8 as estimate,
       (m.fit -> 'std_error' ->> (t.i - 1)::int)::float8 as std_error,
       (m.fit -> 'statistic' ->> (t.i - 1)::int)::float8 as statistic,
       (m.fit -> 'p_value' ->> (t.i - 1)::int)::float8 as p_value,
       (m.fit -> 'ci_low' ->> (t.i - 1)::int)::float8 as ci_low,
       (m.fit -> 'ci_high' ->> (t.i - 1)::int)::float8 as ci_high,
       (m.fit ->> 'level')::float8 as level
from aoma.predictive_models m
cross join lateral jsonb_array_elements_text(m.fit -> 'terms') with ordinality as t(term, i)
where m.fit is not null;
comment on view analytics.model_weights is 'Every coefficient of every registered model: estimate, SE, test statistic, p, CI (like BigQuery ML.ADVANCED_WEIGHTS).';

create or replace view analytics.model_evaluation
with (security_invoker = true) as
select m.model_id, (f ->> 'fold')::integer as fold, (f ->> 'train_rows')::integer as train_rows, (f ->> 'test_rows')::integer as test_rows,
       f ->> 'test_from' as test_from, f ->> 'test_to' as test_to, f -> 'metrics' as metrics, f ->> 'note' as note
from aoma.predictive_models m cross join lateral jsonb_array_elements(m.evaluation -> 'folds') f
where m.evaluation is not null
union all
select m.model_id, null, null, (m.evaluation -> 'pooled' ->> 'n')::integer, null, null, m.evaluation -> 'pooled', null
from aoma.predictive_models m
where m.evaluation is not null;
comment on view analytics.model_evaluation is 'Cross-validated metrics of every registered model per fold (fold null: pooled over every predicted row), each with its baseline.';
grant select on analytics.model_weights, analytics.model_evaluation to authenticated, service_role;

drop function if exists analytics.score_glm(uuid, jsonb, float8);
create or replace function analytics.score_glm(model_id uuid, conditions jsonb, level float8 default 95)
returns table (prediction float8, ci_low float8, ci_high float8, linear_predictor float8, se_linear_predictor float8, scale float8)
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  m aoma.predictive_models;
  p integer;
  k integer;
  x float8[];
  v jsonb;
  eta float8 := 0;
  var float8 := 0;
  q float8;
  off float8 := 0;
  fam text;
  bad text;
begin
  select * into m from aoma.predictive_models pm where pm.model_id = score_glm.model_id and pm.fit is not null;
  if m.model_id is null then
    raise exception 'no registered model with id %', score_glm.model_id using errcode = '22023';
  end if;
  if score_glm.conditions is null or jsonb_typeof(score_glm.conditions) <> 'object' then
    raise exception 'conditions must be an object naming every predictor: %', array_to_string(m.predictors, ', ') using errcode = '22023';
  end if;
  if not (score_glm.level > 0 and score_glm.level < 100) then
    raise exception 'level must be a percentage strictly between 0 and 100 (got %)', score_glm.level using errcode = '22023';
  end if;
  select string_agg(format('"%s"', c), ', ' order by c) into bad
  from jsonb_object_keys(score_glm.conditions) c
  where c <> all (m.predictors) and c is distinct from m.exposure;
  if bad is not null then
    raise exception 'unknown condition %: the model''s predictors are %', bad, array_to_string(m.predictors, ', ') using errcode = '22023';
  end if;
  p := cardinality(m.predictors);
  k := p + 1;
  x := array[1::float8];
  for j in 1..p loop
    v := score_glm.conditions -> m.predictors[j];
    if v is null or jsonb_typeof(v) not in ('number', 'boolean') then
      raise exception 'condition "%" must be a number (or true/false); the model needs every predictor: %', m.predictors[j],
        array_to_string(m.predictors, ', ') using errcode = '22023';
    end if;
    x := x || case when jsonb_typeof(v) = 'boolean' then (v::text)::boolean::int::float8 else (v::text)::float8 end;
  end loop;
  if m.exposure is not null then
    v := score_glm.conditions -> m.exposure;
    if v is not null and (jsonb_typeof(v) <> 'number' or (v::text)::float8 <= 0) then
      raise exception 'exposure "%" must be a number > 0', m.exposure using errcode = '22023';
    end if;
    off := case when v is null then 0 else ln((v::text)::float8) end;
  end if;
  scale := (m.fit ->> 'scale')::float8;
  for i in 1..k loop
    eta := eta + (m.fit -> 'estimate' ->> (i - 1))::float8 * x[i];
    for j in 1..k loop
      var := var + x[i] * x[j] * (m.fit -> 'cov' ->> ((i - 1) * k + j - 1))::float8;
    end loop;
  end loop;
  fam := case when m.family = 'quasipoisson' then 'poisson' else m.family end;
  q := aoma_private.two_sided_quantile(score_glm.level, case when fam = 'gaussian' then (m.fit ->> 'df_resid')::float8 end);
  linear_predictor := eta + off;
  -- a penalised (ridge) model stores no covariance: its prediction comes without an interval
  se_linear_predictor := case when m.fit -> 'cov' is not null and jsonb_typeof(m.fit -> 'cov') = 'array' then sqrt(greatest(var, 0) * scale) end;
  prediction := aoma_private.glm_mean(fam, linear_predictor);
  ci_low := aoma_private.glm_mean(fam, linear_predictor - q * se_linear_predictor);
  ci_high := aoma_private.glm_mean(fam, linear_predictor + q * se_linear_predictor);
  return next;
end;
$$;
comment on function analytics.score_glm(uuid, jsonb, float8) is
  'What-if scoring of a registered model: the expected value under given conditions with a delta-method interval. See sql/72_model_registry.sql.';
grant execute on function analytics.score_glm(uuid, jsonb, float8) to authenticated, service_role;
grant execute on function aoma_private.library_version(), aoma_private.rows_hash(text) to authenticated, service_role;
