-- AOMA Mesh Analytics: the model registry (issue 10, item 5) — what aoma.predictive_models records
-- of a fitted model beyond the seed's columns. The functions that write it and the analyst views are
-- in sql/72_model_registry.sql.
--
-- A model row says what was fitted (relation, target, predictors, family, exposure), on which rows
-- (order column and the training window, rows used, a hash of those rows), with which library
-- (library_version: a hash of every sql/ module applied), the fit (coefficients, standard errors,
-- covariance, model statistics) and its time-ordered cross-validation (folds, pooled, across folds,
-- always next to the baseline). The same spec on the same rows and library is one row: registering
-- it again returns the stored model (spec_key is unique).

alter table aoma.predictive_models add column if not exists family text;
alter table aoma.predictive_models add column if not exists target text;
alter table aoma.predictive_models add column if not exists predictors text[];
alter table aoma.predictive_models add column if not exists relation text;
alter table aoma.predictive_models add column if not exists exposure text;
alter table aoma.predictive_models add column if not exists order_by text;
alter table aoma.predictive_models add column if not exists train_from text;
alter table aoma.predictive_models add column if not exists train_to text;
alter table aoma.predictive_models add column if not exists n_rows integer;
alter table aoma.predictive_models add column if not exists data_hash text;
alter table aoma.predictive_models add column if not exists library_version text;
alter table aoma.predictive_models add column if not exists fit jsonb;
alter table aoma.predictive_models add column if not exists evaluation jsonb;
alter table aoma.predictive_models add column if not exists fitted_by text;
alter table aoma.predictive_models add column if not exists spec_key text;
create unique index if not exists predictive_models_spec_key on aoma.predictive_models (spec_key) where spec_key is not null;

comment on column aoma.predictive_models.family is 'gaussian, binomial, poisson or quasipoisson (analytics.fit_glm).';
comment on column aoma.predictive_models.target is 'The outcome column.';
comment on column aoma.predictive_models.predictors is 'The predictor columns, in the order of the coefficients after the intercept.';
comment on column aoma.predictive_models.relation is 'The table or view the model was fitted on.';
comment on column aoma.predictive_models.exposure is 'Exposure column (log offset) of a Poisson model, or null.';
comment on column aoma.predictive_models.order_by is 'The column that orders the rows in time (cross-validation and the training window).';
comment on column aoma.predictive_models.train_from is 'First value of order_by among the rows used.';
comment on column aoma.predictive_models.train_to is 'Last value of order_by among the rows used.';
comment on column aoma.predictive_models.n_rows is 'Rows used (complete in every used column).';
comment on column aoma.predictive_models.data_hash is 'Order-independent hash of the rows used (their count and the sum of a 60-bit md5 prefix per row).';
comment on column aoma.predictive_models.library_version is 'md5 of the applied sql/ modules and their sha256 (aoma_private.library_modules).';
comment on column aoma.predictive_models.fit is 'The fit on every row: analytics.fit_glm''s numbers (estimate, std_error, p_value, ci, cov, scale, deviance, …).';
comment on column aoma.predictive_models.evaluation is 'analytics.cross_validate_glm without its predictions: folds, pooled and across-fold metrics next to the baseline.';
comment on column aoma.predictive_models.fitted_by is 'The database role that registered the model.';
comment on column aoma.predictive_models.spec_key is 'md5 of the spec, the data hash and the library version: one row per distinct fit.';
