-- AOMA Mesh Analytics — how good a model is (issue 10, part 2): metrics next to their baseline, and
-- time-ordered cross-validation of analytics.fit_glm.
--
-- ── analytics.binary_metrics(y, p, threshold, bins) → jsonb ───────────────────────────────────────
--   y float8[] (0/1), p float8[] (probabilities, same length; pairs with a null are left out),
--   threshold (default 0.5: "positive" means p ≥ threshold), bins (default 10: calibration bins).
--   n, positives, base_rate; auc (Mann–Whitney: the share of positive–negative pairs ranked right,
--   ties count ½); brier, brier_baseline (the base rate as the forecast), brier_skill = 1 − brier /
--   brier_baseline; log_loss (p clipped to [1e-15, 1 − 1e-15]) and log_loss_baseline; accuracy,
--   balanced_accuracy, majority_accuracy (always the commoner class: the baseline), tp, fp, tn, fn;
--   calibration: [{bin, n, predicted, observed}] over equal-width bins of p (scikit-learn's
--   calibration_curve, strategy uniform) and ece = Σ n_b/n · |observed_b − predicted_b|.
--   Checked against numpy/scipy: tests/reference/make_metrics_reference.py.
--
-- ── analytics.count_metrics(y, mu, baseline) → jsonb ──────────────────────────────────────────────
--   mae, rmse, poisson_deviance (mean 2·(y·ln(y/μ) − (y − μ))) of mu, and the same of baseline.
--
-- ── analytics.cross_validate_glm(relation, target, predictors, family, order_by, folds, exposure,
--                                 threshold, l2) → jsonb   (l2: the ridge penalty of every fold's fit) ─────────────────────────────────────────────
--   Time-ordered rolling-origin cross-validation: the rows (complete in every used column) ordered
--   by order_by (a column: a date, a time or a number); the last half of them is cut into `folds`
--   consecutive blocks (default 5); each block is predicted by analytics.fit_glm's fit on every row
--   before it (an expanding window: no row is ever predicted by a model that saw its future).
--   Baseline, fitted on the same training rows: the base rate (binomial) or the mean rate (counts,
--   per unit of exposure when there is one) — "does the model beat knowing the average?".
--   Returns {family, folds: [{fold, train_rows, test_rows, test_from, test_to, metrics}],
--   pooled: metrics over every predicted row, mean and sd over the folds of the headline metrics
--   (auc, brier_skill, log_loss, ece for binomial; mae, rmse, poisson_deviance for counts;
--   mae, rmse, r2 for gaussian), predictions: [{order, y, p, baseline}]}.
--   Errors (22023): those of fit_glm, an order_by column that is not there, fewer than 2 folds or more
--   than 20, a fold without rows, a training window too short for the fit.

-- analytics.binary_metrics — see the header.
create or replace function analytics.binary_metrics(y float8[], p float8[], threshold float8 default 0.5, bins integer default 10)
returns jsonb
language sql
immutable
set search_path = ''
as $$
  with pairs as (
    select u.y, u.p from unnest(binary_metrics.y, binary_metrics.p) as u(y, p) where u.y is not null and u.p is not null
  ), ranked as (
    -- mid-ranks of p (ties share the mean of their positions)
    select y, p, avg(rn) over (partition by p) as r
    from (select y, p, row_number() over (order by p) as rn from pairs) s
  ), totals as (
    select count(*)::float8 as n, sum(y) as n1, avg(y) as b from pairs
  ), conf as (
    select count(*) filter (where p >= threshold and y = 1)::integer as tp,
           count(*) filter (where p >= threshold and y = 0)::integer as fp,
           count(*) filter (where p < threshold and y = 0)::integer as tn,
           count(*) filter (where p < threshold and y = 1)::integer as fn
    from pairs
  ), cal as (
    select b.bin, count(*)::integer as n, avg(b.p) as predicted, avg(b.y) as observed
    from (select pairs.*, 1 + (select count(*) from generate_series(1, bins - 1) k where k * (1.0::float8 / bins) < pairs.p)::integer as bin
          from pairs) b
    group by b.bin
  )
  select jsonb_build_object(
    'n', t.n::integer, 'positives', t.n1::integer, 'base_rate', t.b,
    'auc', case when t.n1 > 0 and t.n1 < t.n then
             ((select sum(r) from ranked where y = 1) - t.n1 * (t.n1 + 1) / 2) / (t.n1 * (t.n - t.n1)) end,
    'brier', (select avg((p - y) ^ 2) from pairs),
    'brier_baseline', t.b * (1 - t.b),
    'brier_skill', case when t.b > 0 and t.b < 1 then 1 - (select avg((p - y) ^ 2) from pairs) / (t.b * (1 - t.b)) end,
    'log_loss', (select -avg(y * ln(least(greatest(p, 1e-15), 1 - 1e-15)) + (1 - y) * ln(1 - least(greatest(p, 1e-15), 1 - 1e-15))) from pairs),
    'log_loss_baseline', case when t.b > 0 and t.b < 1 then -(t.b * ln(t.b) + (1 - t.b) * ln(1 - t.b)) end,
    'threshold', threshold,
    'accuracy', (c.tp + c.tn) / t.n,
    'balanced_accuracy', case when c.tp + c.fn > 0 and c.tn + c.fp > 0 then
                           0.5 * (c.tp::float8 / (c.tp + c.fn) + c.tn::float8 / (c.tn + c.fp)) end,
    'majority_accuracy', greatest(t.b, 1 - t.b),
    'tp', c.tp, 'fp', c.fp, 'tn', c.tn, 'fn', c.fn,
    'calibration', (select jsonb_agg(jsonb_build_object('bin', bin, 'n', n, 'predicted', predicted, 'observed', observed) order by bin) from cal),
    'ece', (select sum(n / t.n * abs(observed - predicted)) from cal))
  from totals t cross join conf c
  where t.n > 0
$$;
comment on function analytics.binary_metrics(float8[], float8[], float8, integer) is
  'AUC, Brier (and skill over the base rate), log loss, accuracy, balanced accuracy, confusion matrix, calibration table and ECE of probabilities p for 0/1 outcomes y, each next to its baseline. See sql/71_model_eval.sql.';
grant execute on function analytics.binary_metrics(float8[], float8[], float8, integer) to authenticated, service_role;

create or replace function analytics.count_metrics(y float8[], mu float8[], baseline float8[])
returns jsonb
language sql
immutable
set search_path = ''
as $$
  with r as (
    select u.y, u.mu, u.b from unnest(count_metrics.y, count_metrics.mu, count_metrics.baseline) as u(y, mu, b)
    where u.y is not null and u.mu is not null
  )
  select jsonb_build_object(
    'n', count(*),
    'mae', avg(abs(y - mu)), 'rmse', sqrt(avg((y - mu) ^ 2)),
    'poisson_deviance', case when bool_and(mu > 0 and y >= 0) then
      2 * avg(case when y > 0 then y * ln(y / nullif(mu, 0)) else 0 end - (y - mu)) end,  -- nullif: the aggregate runs before the guard
    'mae_baseline', avg(abs(y - b)), 'rmse_baseline', sqrt(avg((y - b) ^ 2)),
    'poisson_deviance_baseline', case when bool_and(b > 0 and y >= 0) then
      2 * avg(case when y > 0 then y * ln(y / nullif(b, 0)) else 0 end - (y - b)) end)
  from r
  having count(*) > 0
$$;
comment on function analytics.count_metrics(float8[], float8[], float8[]) is
  'MAE, RMSE and mean Poisson deviance of predictions mu for outcomes y, and of a baseline. See sql/71_model_eval.sql.';
grant execute on function analytics.count_metrics(float8[], float8[], float8[]) to authenticated, service_role;

-- ───────────────────────────── time-ordered cross-validation ─────────────────────────────

-- aoma_private.prediction_metrics(rows, family, threshold): the metrics of predictions
-- [{y, p, baseline}] — binary_metrics for binomial (the baseline is the base rate it reports),
-- count_metrics for poisson, and MAE / RMSE / R² next to the training mean for gaussian.
create or replace function aoma_private.prediction_metrics(rows jsonb, family text, threshold float8)
returns jsonb
language sql
immutable
set search_path = ''
as $$
  select case family
    when 'binomial' then analytics.binary_metrics(array_agg((r ->> 'y')::float8), array_agg((r ->> 'p')::float8), threshold, 10)
    when 'poisson' then analytics.count_metrics(array_agg((r ->> 'y')::float8), array_agg((r ->> 'p')::float8), array_agg((r ->> 'baseline')::float8))
    else analytics.count_metrics(array_agg((r ->> 'y')::float8), array_agg((r ->> 'p')::float8), array_agg((r ->> 'baseline')::float8))
         - 'poisson_deviance' - 'poisson_deviance_baseline'
         || jsonb_build_object('r2', 1 - sum(((r ->> 'y')::float8 - (r ->> 'p')::float8) ^ 2)
                                         / nullif(sum(((r ->> 'y')::float8 - (r ->> 'baseline')::float8) ^ 2), 0))
  end
  from jsonb_array_elements(rows) r
$$;

-- aoma_private.fold_summary(folds, keys): mean and sd (n − 1) over the folds of each headline metric.
create or replace function aoma_private.fold_summary(folds jsonb, keys text[])
returns jsonb
language sql
immutable
set search_path = ''
as $$
  select coalesce(jsonb_object_agg(k, jsonb_build_object('mean', m, 'sd', sd, 'folds', c)), '{}'::jsonb)
  from (select k.k, avg((f -> 'metrics' ->> k.k)::float8) as m, stddev_samp((f -> 'metrics' ->> k.k)::float8) as sd,
               count((f -> 'metrics' ->> k.k)::float8) as c
        from unnest(keys) as k(k)
        cross join jsonb_array_elements(folds) f
        group by k.k) s
$$;

drop function if exists analytics.cross_validate_glm(regclass, text, text[], text, text, integer, text, float8);
drop function if exists analytics.cross_validate_glm(regclass, text, text[], text, text, integer, text, float8, float8);
create or replace function analytics.cross_validate_glm(
  relation regclass,
  target text,
  predictors text[],
  family text default 'binomial',
  order_by text default null,
  folds integer default 5,
  exposure text default null,
  threshold float8 default 0.5,
  l2 float8 default 0
)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_family text := coalesce(cross_validate_glm.family, 'binomial');
  fam text;
  v_src text;
  v_n integer;
  v_start integer;
  v_from integer;
  v_to integer;
  v_fit jsonb;
  v_beta float8[];
  v_rows jsonb;
  v_folds jsonb := '[]'::jsonb;
  v_all jsonb := '[]'::jsonb;
  v_msg text;
  v_metrics jsonb;
  v_keys text[];
begin
  if cross_validate_glm.order_by is null then
    raise exception 'order_by must name the column that orders the rows in time (a date, a time or a number)' using errcode = '22023';
  end if;
  perform aoma_private.check_l2(cross_validate_glm.l2);
  if cross_validate_glm.folds is null or cross_validate_glm.folds < 2 or cross_validate_glm.folds > 20 then
    raise exception 'folds must be between 2 and 20 (got %)', coalesce(cross_validate_glm.folds::text, 'null') using errcode = '22023';
  end if;
  fam := case when v_family = 'quasipoisson' then 'poisson' else v_family end;
  perform aoma_private.no_binomial_trials(v_family, cross_validate_glm.exposure, 'cross_validate_glm');
  v_src := aoma_private.glm_source(cross_validate_glm.relation, cross_validate_glm.target, cross_validate_glm.predictors,
                                   v_family, cross_validate_glm.exposure, cross_validate_glm.order_by);
  perform aoma_private.glm_check_rows(v_src, cardinality(cross_validate_glm.predictors), fam);
  v_src := format('select s.*, row_number() over (order by s.o)::integer as rn from (%s) s', v_src);
  execute format('select count(*)::integer from (%s) z', v_src) into v_n;
  v_start := v_n - v_n / 2 + 1;
  if v_n / 2 < cross_validate_glm.folds then
    raise exception 'too few rows for % folds: % complete rows; the later half (%) must give every fold a row', cross_validate_glm.folds, v_n, v_n / 2
      using errcode = '22023';
  end if;
  for f in 1..cross_validate_glm.folds loop
    v_from := v_start + ((f - 1) * (v_n / 2)) / cross_validate_glm.folds;
    v_to := v_start + (f * (v_n / 2)) / cross_validate_glm.folds - 1;
    if f = cross_validate_glm.folds then
      v_to := v_n;
    end if;
    begin
      v_fit := aoma_private.glm_fit(format('select z.* from (%s) z where z.rn < %s', v_src, v_from),
                                    cross_validate_glm.predictors, v_family, 95, cross_validate_glm.l2, false);
      v_beta := array(select jsonb_array_elements_text(v_fit -> 'estimate')::float8);
      -- predictions of the block, and the baseline fitted on the same training rows
      execute format($q$
        with train as (select z.y, z.off from (%1$s) z where z.rn < %2$s),
             base as (select case when $2 = 'poisson' then sum(train.y) / sum(exp(train.off)) else avg(train.y) end as b from train)
        select jsonb_agg(jsonb_build_object(
                 'order', z.o::text, 'y', z.y,
                 'p', aoma_private.glm_mean($2, aoma_private.linear_predictor($1, z.x) + z.off),
                 'baseline', case when $2 = 'poisson' then base.b * exp(z.off) else base.b end) order by z.rn)
        from (%1$s) z cross join base
        where z.rn between %2$s and %3$s$q$, v_src, v_from, v_to)
        into v_rows using v_beta, fam;
      v_metrics := aoma_private.prediction_metrics(v_rows, fam, cross_validate_glm.threshold);
      v_folds := v_folds || jsonb_build_object('fold', f, 'train_rows', v_from - 1, 'test_rows', v_to - v_from + 1,
        'test_from', v_rows -> 0 ->> 'order', 'test_to', v_rows -> -1 ->> 'order', 'metrics', v_metrics);
      v_all := v_all || v_rows;
    exception when sqlstate '22023' then
      get stacked diagnostics v_msg = message_text;
      v_folds := v_folds || jsonb_build_object('fold', f, 'train_rows', v_from - 1, 'test_rows', v_to - v_from + 1,
        'note', format('not fitted on the %s rows before it: %s', v_from - 1, v_msg));
    end;
  end loop;
  if jsonb_array_length(v_all) = 0 then
    raise exception 'no fold could be fitted: %', v_folds -> 0 ->> 'note' using errcode = '22023';
  end if;
  v_keys := case fam when 'binomial' then array['auc', 'brier', 'brier_skill', 'log_loss', 'ece', 'accuracy', 'balanced_accuracy']
                     when 'poisson' then array['mae', 'mae_baseline', 'rmse', 'poisson_deviance', 'poisson_deviance_baseline']
                     else array['mae', 'mae_baseline', 'rmse', 'rmse_baseline'] end;
  return jsonb_build_object(
    'family', v_family, 'l2', cross_validate_glm.l2, 'order_by', cross_validate_glm.order_by, 'rows', v_n, 'folds', v_folds,
    'pooled', aoma_private.prediction_metrics(v_all, fam, cross_validate_glm.threshold),
    'across_folds', aoma_private.fold_summary(v_folds, v_keys),
    'predictions', v_all);
end;
$$;
comment on function analytics.cross_validate_glm(regclass, text, text[], text, text, integer, text, float8, float8) is
  'Time-ordered rolling-origin cross-validation of analytics.fit_glm: per fold, pooled and across-fold metrics next to the base-rate / mean baseline. See sql/71_model_eval.sql.';
grant execute on function analytics.cross_validate_glm(regclass, text, text[], text, text, integer, text, float8, float8) to authenticated, service_role;
grant execute on function aoma_private.prediction_metrics(jsonb, text, float8), aoma_private.fold_summary(jsonb, text[])
  to authenticated, service_role;
