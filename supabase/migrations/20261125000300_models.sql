-- AOMA Mesh Analytics: model registry and predictions (the seed's tables), and the feature catalog.

-- ───────────────────────────── tables ─────────────────────────────

create table if not exists aoma.predictive_models (
  model_id      uuid primary key default gen_random_uuid(),
  model_type    varchar(50) not null,
  accuracy      double precision check (accuracy between 0 and 1),
  features      jsonb not null default '[]'::jsonb,
  created_at    timestamptz not null default now(),
  last_trained  timestamptz
);
comment on table aoma.predictive_models is 'Registry of fitted models (the seed table).';
comment on column aoma.predictive_models.model_id is 'Model id.';
comment on column aoma.predictive_models.model_type is 'Kind of model, e.g. logistic, ols, seasonal_naive.';
comment on column aoma.predictive_models.accuracy is 'Headline out-of-sample accuracy in [0,1]; see features for the baseline and other scores.';
comment on column aoma.predictive_models.features is 'Features with coefficients/importances, and fit metadata.';
comment on column aoma.predictive_models.created_at is 'When the model was registered.';
comment on column aoma.predictive_models.last_trained is 'When the model was last fitted.';

create table if not exists aoma.failure_predictions (
  prediction_id        uuid primary key default gen_random_uuid(),
  model_id             uuid not null references aoma.predictive_models (model_id) on delete cascade,
  predicted_date       date not null,
  failure_probability  double precision not null check (failure_probability between 0 and 1),
  confidence_interval  jsonb,
  created_at           timestamptz not null default now(),
  unique (model_id, predicted_date)
);
comment on table aoma.failure_predictions is 'Failure probability per day from a registered model (the seed table). Natural key: (model_id, predicted_date).';
comment on column aoma.failure_predictions.prediction_id is 'Prediction id.';
comment on column aoma.failure_predictions.model_id is 'Model that made the prediction.';
comment on column aoma.failure_predictions.predicted_date is 'Day predicted.';
comment on column aoma.failure_predictions.failure_probability is 'Probability of at least one failure on that day.';
comment on column aoma.failure_predictions.confidence_interval is 'Interval as {"low":…, "high":…, "level":0.95}.';
comment on column aoma.failure_predictions.created_at is 'When the prediction was made.';

create table if not exists analytics.feature_catalog (
  name         text not null check (name ~ '^[a-z][a-z0-9_]{0,62}$'),
  grain        text not null check (grain in ('hour', 'day', 'week')),
  kind         text not null check (kind in ('driver', 'outcome', 'calendar')),
  unit         text not null,
  description  text not null,
  source       text not null,
  primary key (name, grain)
);
comment on table analytics.feature_catalog is 'Every feature an analysis may name, per grain. Analyses resolve names only through this table; the name is also the column of analytics.features_<grain>.';
comment on column analytics.feature_catalog.name is 'Feature name (also its column in the feature view).';
comment on column analytics.feature_catalog.grain is 'hour, day or week: the feature view it lives in.';
comment on column analytics.feature_catalog.kind is 'driver (candidate cause), outcome (a failure measure or its symptom), calendar (weekday indicators; never lagged).';
comment on column analytics.feature_catalog.unit is 'Unit of the value, e.g. "tickets/day".';
comment on column analytics.feature_catalog.description is 'What the feature measures.';
comment on column analytics.feature_catalog.source is 'Source table(s) it is computed from.';

-- ───────────────────────────── grants ─────────────────────────────

grant select on aoma.predictive_models, aoma.failure_predictions to authenticated;
grant select, insert, update, delete on aoma.predictive_models, aoma.failure_predictions to service_role;
grant select on analytics.feature_catalog to authenticated, service_role;

-- ───────────────────────────── policies ─────────────────────────────

alter table aoma.predictive_models enable row level security;
alter table aoma.failure_predictions enable row level security;
alter table analytics.feature_catalog enable row level security;

drop policy if exists predictive_models_read on aoma.predictive_models;
create policy predictive_models_read on aoma.predictive_models for select to authenticated using (true);
drop policy if exists failure_predictions_read on aoma.failure_predictions;
create policy failure_predictions_read on aoma.failure_predictions for select to authenticated using (true);
drop policy if exists feature_catalog_read on analytics.feature_catalog;
create policy feature_catalog_read on analytics.feature_catalog for select to authenticated, service_role using (true);
