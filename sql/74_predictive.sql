-- AOMA Mesh Analytics — the predictive model of a daily outcome (issue 10, items 2, 3, 4 and 6):
-- candidates fitted in SQL, chosen by time-ordered cross-validation, and the next days predicted
-- with intervals that carry the coefficients' uncertainty and the driver forecasts'.
--
-- ── analytics.build_predictive_model(target, predictors, date_from, date_to, horizon, model_type,
--                                     max_lag, folds, simulations) → jsonb ─────────────────────────
--   target      a daily outcome of analytics.feature_catalog (default processing_failure_rate):
--               processing_failure_rate (failed attempts per attempt: a quasi-Poisson model of
--               processing_failures with exposure processing_attempts, so exp(β) is a rate ratio),
--               a count (unit …/day: quasi-Poisson, rate ratios), a day indicator (unit indicator:
--               logistic, odds ratios) or a continuous metric (OLS on the predictors' values).
--   predictors  candidate drivers (driver or calendar features); default every driver and calendar
--               feature that is not built from the target's own records (feature_catalog.overlaps_with).
--   date_from, date_to  the training window (inclusive UTC days; default all data).
--   horizon     days to predict after the window's last day, 1..30 (default 7).
--   model_type  auto (default) | glm | boosted | baseline: auto picks by cross-validation (below).
--   max_lag     drivers are tried at lags 0..max_lag days (0..7, default 1); calendar at lag 0.
--   folds       rolling-origin folds over the later half of the days (2..10, default 5).
--   simulations draws of the prediction simulation (100..10,000, default 2,000).
--
-- Candidates (simplest first):
--   mean            the training window's mean rate / base rate / mean — the baseline;
--   seasonal_naive  (counts and rates) the same weekday a week earlier — the other baseline;
--   glm             threshold steps "feature ≥ t" found by analytics.explain_drivers' forward
--                   selection on the training days (learned thresholds, calendar effects, lags); a
--                   day not in the training set is high from the midpoint between t and the value
--                   below it (aoma_private.step_cut, as CART splits),
--                   then fitted by aoma_private.glm_fit (sql/70_models.sql) — one IRLS;
--                   continuous targets: the predictors' values, linear;
--   boosted         aoma_private.boost_fit (sql/73_boosted_stumps.sql) on every candidate's raw
--                   values at every lag: 100 rounds, learning rate 0.1, λ 1, 32 bins, ≥ 5 rows a side.
-- Scope (processing_failure_rate): first the segment screen (aoma_private.model_screen_segments) on
--   the whole window names the asset segments whose failures do not follow the days — a cohort failing
--   at its own rate for a while, such as legacy 360RA assets after a migration — and every candidate
--   (the baselines too) is fitted, cross-validated and scored on the attempts of the other segments
--   (explain_drivers' exclude_segments for the thresholds). The excluded segments are predicted by
--   every candidate alike, at their own rate of the last 7 days by their share of the attempts; they
--   are named in `scope`. The screen sees the whole window: it decides which attempts are modelled,
--   nothing about how. Without it an onset inside a test block, which no candidate can foresee,
--   decides the comparison.
-- Cross-validation: the days of the window in order; the later half is cut into `folds` consecutive
--   blocks; each block is predicted by every candidate fitted — thresholds searched again — on all
--   days before it (an expanding window: nothing is fitted on its own future). The driver values of
--   a predicted day are its actual ones (the model is judged as an explanation of the day given its
--   drivers; the forecast of the drivers is judged by generate_forecasts). Loss per day: the Poisson
--   unit deviance 2(y ln(y/μ) − (y − μ)) (counts; rates with μ = rate × attempts), the log loss
--   (indicators), the squared error (continuous). Per candidate: mean loss per fold, the mean over
--   the folds and its standard error (sd/√folds).
-- Selection (model_type auto): the one-standard-error rule, paired — per candidate the difference of
--   its fold losses from the best candidate's on the same folds (vs_best: mean and standard error);
--   the simplest candidate whose mean difference is at most one standard error wins (the folds'
--   shared difficulty cancels in the difference; a candidate with one bad fold is not judged by the
--   best one's spread). It beats the baseline when the better baseline's losses exceed its own by more
--   than one standard error of that difference. When that is a baseline, the answer says that no
--   model beats the baseline in cross-validation, and the baseline is what predicts.
-- The chosen model is then fitted on every day of the window: coefficients with SE, p, 95% CI
--   (quasi-Poisson / logistic / OLS of glm_fit), the ratio exp(β) with its CI, and the importance
--   |β|·sd(term) with its direction (boosted: permutation importance).
-- Next days (horizon): a day's driver value is the actual one where the data has it (a lag reaches
--   back into the window) and else its forecast from its last 182 days up to the window's end
--   (analytics.forecast_series, method auto, season 7; its 95%
--   interval read as a normal distribution: sd = half-width / 1.96); calendar values are known.
--   Simulation (`simulations` draws, a fixed deterministic stream, so the same call gives the same
--   numbers): coefficients ~ N(β̂, scale·cov) (the fit's covariance) and every unknown driver value ~
--   its forecast distribution; the prediction is the mean over the draws of the expected value
--   (failure probability per attempt for processing_failure_rate, the event's probability for an
--   indicator, the expected count or value otherwise), the interval its 2.5–97.5% (and 10–90%)
--   quantiles. Risk: HIGH when the prediction is ≥ 1.5 × the window's mean, MEDIUM from 1 × to
--   1.5 ×, LOW below the mean.
-- Returns {target, kind, family, unit, window, n_days, folds, candidates: [{name, simplicity,
--   loss_mean, loss_se, fold_losses, metrics}], rule, chosen, beats_baseline, baseline_value,
--   model: {terms: […], fit statistics}, predictions: [{day, prediction, low95, high95, low80,
--   high80, risk, ratio_to_mean, drivers}], risk_cutoffs, notes}.
-- Errors (22023): an unknown target or predictor, a predictor that is an outcome or counts the
--   target's own records, a horizon / lag / folds / simulations out of range, not enough days (20
--   after the lags, and 2 per fold in the later half), the fit's own sentences (collinear, constant).
--
-- ── aoma_private.model_frame_sql(…) and the helpers below build the rows of a fit from
--    analytics.features_daily: step terms "feature on day t − lag ≥ threshold" (a missing value is
--    below every threshold, as in explain_drivers), linear terms (a missing value leaves the day
--    out) and raw values for the boosting.

-- aoma_private.model_target(target): how a daily outcome is modelled (see the header).
create or replace function aoma_private.model_target(
  target text, out family text, out kind text, out y_col text, out exposure_col text, out unit text
)
language plpgsql
stable
set search_path = ''
as $$
declare
  v_kind text;
  v_valid text;
begin
  if model_target.target = 'processing_attempt_failure' then
    -- one row per processing attempt (sql/76_attempt_model.sql): will this attempt fail?
    family := 'binomial'; kind := 'attempt'; y_col := 'processing_failures'; exposure_col := 'processing_attempts';
    unit := 'probability per attempt';
    return;
  end if;
  select fc.kind, fc.unit into v_kind, unit from analytics.feature_catalog fc where fc.name = model_target.target and fc.grain = 'day';
  if v_kind is distinct from 'outcome' then
    select string_agg(fc.name, ', ' order by fc.name collate "C") into v_valid
    from analytics.feature_catalog fc where fc.grain = 'day' and fc.kind = 'outcome';
    raise exception '%; the targets are the daily outcomes (%) and processing_attempt_failure (one row per processing attempt)',
      case when v_kind is null then format('unknown target "%s"', coalesce(model_target.target, 'null'))
           else format('"%s" is a %s feature, not an outcome', model_target.target, v_kind) end, v_valid
      using errcode = '22023';
  end if;
  y_col := model_target.target;
  if model_target.target = 'processing_failure_rate' then
    family := 'quasipoisson'; kind := 'rate'; y_col := 'processing_failures'; exposure_col := 'processing_attempts';
  elsif unit = 'indicator' then
    family := 'binomial'; kind := 'binary';
  elsif unit like '%/day' then
    family := 'quasipoisson'; kind := 'count';
  else
    family := 'gaussian'; kind := 'continuous';
  end if;
end;
$$;

-- aoma_private.model_term_value_sql(feature, lag): the SQL of a feature's value on day v.day − lag.
create or replace function aoma_private.model_term_value_sql(feature text, lag integer)
returns text
language sql
immutable
set search_path = ''
as $$
  select case when lag = 0 then format('v.%I::float8', feature)
              else format('(select w.%I::float8 from analytics.features_daily w where w.day = v.day - %s)', feature, lag) end
$$;

-- aoma_private.model_term_label(term): how a term is named in a fit ("asset_volume (lag 1) ≥ 1201").
create or replace function aoma_private.model_term_label(term jsonb)
returns text
language sql
immutable
set search_path = ''
as $$
  select case term ->> 'form'
    -- the per-attempt model's own terms (sql/76_attempt_model.sql): an attempt's segment level, and
    -- its segment's failures of the previous 7 days against every attempt's
    when 'level' then (term ->> 'feature') || ' = ' || (term ->> 'level')
    when 'excess' then 'segment excess failures, previous 7 days'
    when 'flag' then 'segment failing above the rest, previous 7 days'
    else (term ->> 'feature')
         || case when (term ->> 'lag')::integer > 0 then format(' (lag %s)', term ->> 'lag') else '' end
         || case when term ->> 'form' = 'step' and coalesce(term ->> 'binary', 'false') <> 'true' then ' ≥ ' || (term ->> 'threshold') else '' end end
$$;

-- aoma_private.step_cut(term): where a step term "feature ≥ threshold" turns on for a value: the
-- midpoint between the threshold (the lowest value the search saw at or above it) and `below` (the
-- highest value under it), as CART splits. Every training day falls on the same side either way; a
-- new day between the two — a value the search never saw — goes to the nearer one, not always low.
create or replace function aoma_private.step_cut(term jsonb)
returns float8
language sql
immutable
set search_path = ''
as $$
  select case when term ->> 'below' is not null then ((term ->> 'threshold')::float8 + (term ->> 'below')::float8) / 2
              else (term ->> 'threshold')::float8 end
$$;

-- aoma_private.model_term_expr(term): the SQL of a term's value in a frame over analytics.features_daily
-- v (and, for the per-attempt model's level and excess terms, its cells c): a step is 1 from
-- step_cut up (a missing value is below every threshold), raw and linear the value itself.
create or replace function aoma_private.model_term_expr(term jsonb)
returns text
language sql
immutable
set search_path = ''
as $$
  select case term ->> 'form'
    when 'step' then format('(coalesce(%s, ''-Infinity''::float8) >= %L::float8)::int::float8',
                            aoma_private.model_term_value_sql(term ->> 'feature', (term ->> 'lag')::integer), aoma_private.step_cut(term))
    when 'raw' then format('coalesce(%s, ''-Infinity''::float8)', aoma_private.model_term_value_sql(term ->> 'feature', (term ->> 'lag')::integer))
    when 'level' then format('(c.%I = %L)::int::float8', term ->> 'feature', term ->> 'level')
    when 'excess' then 'c.excess'
    when 'flag' then 'c.flag'
    else aoma_private.model_term_value_sql(term ->> 'feature', (term ->> 'lag')::integer) end
$$;

-- aoma_private.model_frame_sql(y_col, exposure_col, terms, d_from, d_to): the query of the rows of a
-- fit over the days d_from..d_to of analytics.features_daily: o (the day), y, off (ln exposure, or 0),
-- x float8[] and x_1 … x_p (aoma_private.glm_fit's and boost_fit's shape). terms: [{feature, lag,
-- form: step (with threshold) | linear | raw}]. Days without the target or exposure ≤ 0 are left out,
-- and for linear terms days without the value.
create or replace function aoma_private.model_frame_sql(y_col text, exposure_col text, terms jsonb, d_from date, d_to date)
returns text
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_exprs text[] := '{}'::text[];
  v_where text := 's.y is not null and s.off is not null';
  v_excl text[] := '{}'::text[];
  t jsonb;
begin
  for t in select e from jsonb_array_elements(coalesce(model_frame_sql.terms, '[]'::jsonb)) e loop
    if t ->> 'form' = 'exclude' then
      v_excl := v_excl || (t ->> 'level');  -- a segment left out (aoma_private.model_screen_segments)
      continue;
    end if;
    v_exprs := v_exprs || aoma_private.model_term_expr(t);
    if t ->> 'form' = 'linear' then
      v_where := v_where || format(' and s.x_%s is not null', cardinality(v_exprs));
    end if;
  end loop;
  return format(
    -- in day order: the fit's float sums then do not depend on the join plan (which can change when the
    -- tables are analyzed), so the same call gives the same numbers to the last bit
    'select s.o, s.y, s.off, %s as x%s from (select v.day as o, %s::float8 as y, %s as off%s from %s where v.day between %L::date and %L::date) s where %s order by s.o',
    case when cardinality(v_exprs) = 0 then '''{}''::float8[]'
         else format('array[%s]::float8[]', (select string_agg(format('s.x_%s', i), ', ' order by i) from generate_subscripts(v_exprs, 1) i)) end,
    coalesce((select string_agg(format(', s.x_%s', i), '' order by i) from generate_subscripts(v_exprs, 1) i), ''),
    case when cardinality(v_excl) = 0 then format('v.%I', model_frame_sql.y_col) else format('v0.%I', model_frame_sql.y_col) end,
    case when model_frame_sql.exposure_col is null then '0::float8'
         when cardinality(v_excl) = 0 then format('case when v.%1$I > 0 then ln(v.%1$I::float8) end', model_frame_sql.exposure_col)
         else format('case when v0.%1$I > 0 then ln(v0.%1$I::float8) end', model_frame_sql.exposure_col) end,
    coalesce((select string_agg(format(', %s as x_%s', v_exprs[i], i), '' order by i) from generate_subscripts(v_exprs, 1) i), ''),
    case when cardinality(v_excl) = 0 then 'analytics.features_daily v'
         -- the failed attempts and attempts of the segments not left out, per day
         else format('%s v0 join analytics.features_daily v using (day)', aoma_private.segment_days_sql(v_excl)) end,
    model_frame_sql.d_from, model_frame_sql.d_to, v_where);
end;
$$;

-- aoma_private.model_candidates(target, predictors): the candidate features of a target (see the
-- header), each with whether it is a calendar feature; 22023 for a predictor that is unknown, an
-- outcome, or counts the target's own records.
create or replace function aoma_private.model_candidates(target text, predictors text[])
returns table (feature text, is_calendar boolean)
language plpgsql
stable
set search_path = ''
as $$
declare
  v_bad text;
  v_kind text;
begin
  if model_candidates.predictors is not null then
    if cardinality(model_candidates.predictors) = 0 or cardinality(model_candidates.predictors) > 40 then
      raise exception 'predictorVariables must name 1 to 40 daily features (got %)', cardinality(model_candidates.predictors) using errcode = '22023';
    end if;
    select u.name, fc.kind into v_bad, v_kind
    from unnest(model_candidates.predictors) with ordinality as u(name, ord)
    left join analytics.feature_catalog fc on fc.name = u.name and fc.grain = 'day'
    where fc.kind is null or fc.kind not in ('driver', 'calendar') or model_candidates.target = any (fc.overlaps_with)
    order by u.ord limit 1;
    if v_bad is not null then
      raise exception '%', case
        when v_kind is null then format('unknown predictor "%s"; the daily drivers and calendar features are: %s', v_bad,
          (select string_agg(fc.name, ', ' order by fc.name collate "C") from analytics.feature_catalog fc
           where fc.grain = 'day' and fc.kind in ('driver', 'calendar')))
        when v_kind not in ('driver', 'calendar') then format('"%s" is an outcome, not a predictor; predictors are the daily driver and calendar features', v_bad)
        else format('"%s" counts the records of the target %s itself (analytics.feature_catalog.overlaps_with), so it cannot predict it; name another driver or calendar feature', v_bad, model_candidates.target) end
        using errcode = '22023';
    end if;
  end if;
  return query
  select fc.name, fc.kind = 'calendar'
  from analytics.feature_catalog fc
  where fc.grain = 'day'
    and case when model_candidates.predictors is null
             then fc.kind in ('driver', 'calendar') and fc.name <> model_candidates.target
                  and not model_candidates.target = any (fc.overlaps_with)
             else fc.name = any (model_candidates.predictors) end
  order by fc.name collate "C";
end;
$$;

-- aoma_private.model_columns(terms): the terms that are columns of a fit (an exclude entry is a
-- segment left out of the rows, not a column).
create or replace function aoma_private.model_columns(terms jsonb)
returns jsonb
language sql
immutable
set search_path = ''
as $$
  select coalesce(jsonb_agg(e order by o), '[]'::jsonb) from jsonb_array_elements(terms) with ordinality as t(e, o)
  where coalesce(e ->> 'form', '') <> 'exclude'
$$;

-- aoma_private.model_excluded_mix(terms, d_from, d_to): the screened-out segments of terms (exclude
-- entries) over d_from..d_to — their share of the attempts and their own failure rate — or null when
-- none is screened out. A model of the failure rate predicts every attempt as the common model on the
-- other segments plus these segments at their own recent rate.
create or replace function aoma_private.model_excluded_mix(terms jsonb, d_from date, d_to date)
returns jsonb
language sql
stable
set search_path = ''
as $$
  with x as (select array_agg(e ->> 'level') as segs from jsonb_array_elements(terms) e where e ->> 'form' = 'exclude')
  select case when x.segs is not null then jsonb_build_object(
           'segments', to_jsonb(x.segs),
           'share', (select (sum(s.processing_attempts) filter (where s.segment = any (x.segs)))::float8
                            / nullif(sum(s.processing_attempts), 0)
                     from analytics.segments_daily s where s.day between d_from and d_to),
           'rate', (select sum(s.processing_failures)::float8 / nullif(sum(s.processing_attempts), 0)
                    from analytics.segments_daily s
                    where s.day between d_from and d_to and s.segment = any (x.segs)),
           'from', d_from, 'to', d_to) end
  from x
$$;

-- aoma_private.model_select_terms(target, kind, predictors, max_lag, d_from, d_to, scope): the terms
-- of the glm candidate fitted on d_from..d_to: explain_drivers' selected steps in entry order (counts,
-- rates, indicators) on the rate of the attempts in scope, or every predictor's value (continuous:
-- linear, lag 0); then the scope's exclude entries (aoma_private.model_screen_segments).
drop function if exists aoma_private.model_select_terms(text, text, text[], integer, date, date);
create or replace function aoma_private.model_select_terms(
  target text, kind text, predictors text[], max_lag integer, d_from date, d_to date, scope jsonb
)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  v_steps jsonb;
begin
  if model_select_terms.kind = 'continuous' then
    return (select coalesce(jsonb_agg(jsonb_build_object('feature', c.feature, 'lag', 0, 'form', 'linear') order by c.feature collate "C"), '[]'::jsonb)
            from aoma_private.model_candidates(model_select_terms.target, model_select_terms.predictors) c);
  end if;
  select coalesce(jsonb_agg(jsonb_build_object('feature', d.feature, 'lag', d.lag, 'form', 'step', 'threshold', d.threshold,
                                               'below', d.below, 'binary', fc.kind = 'calendar' or fc.unit = 'indicator')
                            order by d.entry_order), '[]'::jsonb)
    into v_steps
    from analytics.explain_drivers(model_select_terms.target, model_select_terms.predictors, model_select_terms.max_lag,
                                   model_select_terms.d_from, model_select_terms.d_to, 6,
                                   array(select e ->> 'level' from jsonb_array_elements(coalesce(model_select_terms.scope, '[]'::jsonb)) e)) d
    join analytics.feature_catalog fc on fc.name = d.feature and fc.grain = 'day'
    where d.in_model;
  return v_steps || coalesce(model_select_terms.scope, '[]'::jsonb);
end;
$$;

-- aoma_private.model_screen_segments(steps, d_from, d_to): the asset segments (asset type / migration
-- state) whose failures do not follow the days' common ups and downs, to be left out of the fit of the
-- failure rate. The failed attempts by segment and day form a table; the model "segment s fails at
-- its own level r_s times the day's common factor m_d" (failures ≈ attempts_sd · r_s · m_d: the
-- segment × day independence model, fitted by iterative proportional fitting — whatever drives the
-- days, known or not, is in m_d) leaves, per segment, a Poisson deviance D_s over its n_s days. The
-- common dispersion φ is the median over the segments of D_s / n_s; D_s / φ is χ² with n_s degrees
-- of freedom when the segment follows the days. A segment whose upper tail (Wilson–Hilferty) is below
-- 0.001 / segments (Bonferroni), with at least 5 expected failures — a cohort that fails at its own
-- rate for a while, whatever the day — is left out: {form: exclude, level, days, failures,
-- dispersion (D_s/n_s ÷ φ), z}. The steps come back unchanged, followed by the exclusions.
drop function if exists aoma_private.model_screen_segments(jsonb, date, date);
create or replace function aoma_private.model_screen_segments(steps jsonb, d_from date, d_to date)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  v_day integer[];
  v_seg integer[];
  v_segs text[];
  v_e float8[];
  v_y float8[];
  r float8[];
  m float8[];
  nd integer;
  ns integer;
  v_flag jsonb;
begin
  select array_agg(g.di order by g.di, g.si), array_agg(g.si order by g.di, g.si), array_agg(g.e order by g.di, g.si),
         array_agg(g.y order by g.di, g.si)
    into v_day, v_seg, v_e, v_y
    from (select (dense_rank() over (order by x.day))::int as di, (dense_rank() over (order by x.seg collate "C"))::int as si, x.e, x.y
          from (select s.day, s.segment as seg, s.processing_attempts::float8 as e, s.processing_failures::float8 as y
                from analytics.segments_daily s
                where s.day between d_from and d_to) x) g;
  select array_agg(x.seg order by x.seg collate "C") into v_segs
    from (select distinct s.segment as seg from analytics.segments_daily s where s.day between d_from and d_to) x;
  nd := coalesce((select max(x) from unnest(v_day) x), 0);
  ns := coalesce(cardinality(v_segs), 0);
  if ns < 3 or nd < 10 then
    return steps;
  end if;
  m := array_fill(1::float8, array[nd]);
  for it in 1..30 loop
    -- iterative proportional fitting of the segment levels and the day factors
    select array_agg(coalesce(q.v, 0) order by q.si) into r
      from (select g.si, sum(u.y) / nullif(sum(u.e * m[u.d]), 0) as v
            from generate_series(1, ns) g(si) left join unnest(v_day, v_seg, v_e, v_y) as u(d, s, e, y) on u.s = g.si group by g.si) q;
    select array_agg(coalesce(q.v, 0) order by q.di) into m
      from (select g.di, sum(u.y) / nullif(sum(u.e * r[u.s]), 0) as v
            from generate_series(1, nd) g(di) left join unnest(v_day, v_seg, v_e, v_y) as u(d, s, e, y) on u.d = g.di group by g.di) q;
  end loop;
  with dev as (
         select u.s, count(*)::int as n, sum(u.y) as f, sum(u.e * r[u.s] * m[u.d]) as mu_sum,
                sum(2 * (case when u.y > 0 then u.y * ln(u.y / greatest(u.e * r[u.s] * m[u.d], 1e-300)) else 0 end - (u.y - u.e * r[u.s] * m[u.d]))) as dv
         from unnest(v_day, v_seg, v_e, v_y) as u(d, s, e, y)
         where u.e * r[u.s] * m[u.d] > 0 or u.y > 0
         group by u.s),
       phi as (select percentile_cont(0.5) within group (order by dev.dv / dev.n) as phi from dev),
       z as (select dev.*, phi.phi, ((dev.dv / phi.phi / dev.n) ^ (1 / 3.0) - (1 - 2 / (9.0 * dev.n))) / sqrt(2 / (9.0 * dev.n)) as z
             from dev, phi where phi.phi > 0)
  select coalesce(jsonb_agg(jsonb_build_object('feature', 'segment', 'lag', 0, 'form', 'exclude', 'level', v_segs[z.s], 'days', z.n,
                                               'failures', z.f, 'dispersion', z.dv / z.n / z.phi, 'z', z.z) order by v_segs[z.s] collate "C"), '[]'::jsonb)
    into v_flag
    from z
    where z.mu_sum >= 5 and z.z > aoma_private.two_sided_quantile(100 * (1 - 2 * 0.001 / ns), null);
  return steps || v_flag;
end;
$$;

-- aoma_private.model_raw_terms(target, predictors, max_lag): the boosting's inputs — every candidate's
-- raw value at lags 0..max_lag (calendar features at lag 0).
create or replace function aoma_private.model_raw_terms(target text, predictors text[], max_lag integer)
returns jsonb
language sql
stable
set search_path = ''
as $$
  select coalesce(jsonb_agg(jsonb_build_object('feature', c.feature, 'lag', l.lag, 'form', 'raw') order by c.feature collate "C", l.lag), '[]'::jsonb)
  from aoma_private.model_candidates(target, predictors) c
  cross join lateral generate_series(0, case when c.is_calendar then 0 else max_lag end) as l(lag)
$$;

-- aoma_private.model_unit_loss(family, y, mu, exposure): the loss of one day (see the header).
create or replace function aoma_private.model_unit_loss(family text, y float8, mu float8)
returns float8
language sql
immutable
set search_path = ''
as $$
  select case
    when family in ('poisson', 'quasipoisson') then 2 * (case when y > 0 then y * ln(y / greatest(mu, 1e-300)) else 0 end - (y - mu))
    when family = 'binomial' then -(y * ln(least(greatest(mu, 1e-15), 1 - 1e-15)) + (1 - y) * ln(1 - least(greatest(mu, 1e-15), 1 - 1e-15)))
    else (y - mu) ^ 2 end
$$;

-- aoma_private.model_intercept(family, y, e): the intercept-only model of the baseline "mean": its
-- coefficient on the link scale and that coefficient's variance (quasi-Poisson: φ/Σy with φ ≥ 1 the
-- Pearson dispersion; logistic: 1/(n p(1 − p)); OLS: s²/n).
create or replace function aoma_private.model_intercept(family text, y float8[], e float8[], out beta0 float8, out var0 float8)
language plpgsql
immutable
set search_path = ''
as $$
declare
  n integer := cardinality(y);
  sy float8;
  se float8;
  m float8;
  phi float8;
begin
  select sum(u.y), sum(u.e) into sy, se from unnest(y, e) as u(y, e);
  if family in ('poisson', 'quasipoisson') then
    m := sy / se;
    select greatest(1, sum((u.y - m * u.e) ^ 2 / (m * u.e)) / greatest(n - 1, 1)) into phi from unnest(y, e) as u(y, e);
    beta0 := ln(greatest(m, 1e-300));
    var0 := phi / greatest(sy, 0.5);
  elsif family = 'binomial' then
    m := sy / n;
    beta0 := ln(least(greatest(m, 1e-9), 1 - 1e-9) / (1 - least(greatest(m, 1e-9), 1 - 1e-9)));
    var0 := 1 / (n * greatest(m * (1 - m), 1e-9));
  else
    m := sy / n;
    beta0 := m;
    select var_samp(u.y) / n into var0 from unnest(y) as u(y);
  end if;
end;
$$;

-- aoma_private.det_normal(seed, i): the i-th standard normal draw of a fixed stream (Box–Muller on
-- hashtextextended), so a simulation gives the same numbers every time. No SET clause: one
-- expression over pg_catalog, inlined into the simulation's queries.
create or replace function aoma_private.det_normal(seed text, i bigint)
returns float8
language sql
immutable parallel safe
as $$
  -- i::text, not text || bigint (a stable operator, which an immutable function cannot be inlined with)
  select sqrt(-2 * ln(((hashtextextended(seed || ':' || i::text || ':a', 0) & 9007199254740991)::float8 + 0.5) / 9007199254740992.0))
         * cos(2 * pi() * ((hashtextextended(seed || ':' || i::text || ':b', 0) & 9007199254740991)::float8 + 0.5) / 9007199254740992.0)
$$;

-- aoma_private.normal_cdf(z): Φ(z) from the two-sided tail of sql/50_drivers.sql.
create or replace function aoma_private.normal_cdf(z float8)
returns float8
language sql
immutable
set search_path = ''
as $$
  select case when z >= 0 then 1 - aoma_private.normal_sf2(z) / 2 else aoma_private.normal_sf2(-z) / 2 end
$$;

-- aoma_private.calendar_value(feature, day): a calendar feature's value on any day (is_monday …
-- is_sunday, is_weekend), as analytics.features_daily computes it.
create or replace function aoma_private.calendar_value(feature text, day date)
returns float8
language sql
immutable
set search_path = ''
as $$
  select case feature
    when 'is_weekend' then (extract(isodow from day) in (6, 7))::int::float8
    else (extract(isodow from day) = array_position(array['is_monday', 'is_tuesday', 'is_wednesday', 'is_thursday', 'is_friday',
                                                           'is_saturday', 'is_sunday'], feature))::int::float8 end
$$;

-- aoma_private.model_cv_constant(candidate, fold, frame, rate): the cross-validation rows of a
-- candidate that predicts the rows of frame at a constant rate (× exposure): the mean baseline, and a
-- candidate whose fit fell back to it.
create or replace function aoma_private.model_cv_constant(candidate text, fold integer, frame text, rate float8)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  v jsonb;
begin
  execute format('select coalesce(jsonb_agg(jsonb_build_object(''candidate'', $2, ''fold'', $3, ''day'', s.o, ''y'', s.y, ''e'', exp(s.off), ''mu'', $1 * exp(s.off)) order by s.o), ''[]'') from (%s) s',
                 frame) into v using rate, candidate, fold;
  return v;
end;
$$;

-- aoma_private.model_cv(…): the cross-validation of every candidate (see the header) on the attempts
-- in scope (scope: the exclude entries of the segment screen; every candidate models the same rows).
-- Returns {folds: [{fold, train_days, test_from, test_to}], rows: [{candidate, fold, day, y, e, mu}], notes}.
drop function if exists aoma_private.model_cv(text, jsonb, text[], integer, date[], integer, text[]);
create or replace function aoma_private.model_cv(
  target text, tgt jsonb, predictors text[], max_lag integer, days date[], n_folds integer, candidates text[], scope jsonb
)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  n integer := cardinality(days);
  v_start integer := n - n / 2 + 1;
  v_from integer;
  v_to integer;
  fam text := tgt ->> 'family';
  link_fam text := case when tgt ->> 'family' = 'quasipoisson' then 'poisson' else tgt ->> 'family' end;
  y_col text := tgt ->> 'y_col';
  e_col text := tgt ->> 'exposure_col';
  v_folds jsonb := '[]'::jsonb;
  v_rows jsonb := '[]'::jsonb;
  v_notes text[] := '{}'::text[];
  v_terms jsonb;
  v_raw jsonb := aoma_private.model_raw_terms(target, predictors, max_lag);
  v_fit jsonb;
  v_beta float8[];
  v_base float8;
  v_msg text;
  v_test text;
  v_new jsonb;
begin
  for f in 1..n_folds loop
    v_from := v_start + ((f - 1) * (n / 2)) / n_folds;
    v_to := case when f = n_folds then n else v_start + (f * (n / 2)) / n_folds - 1 end;
    v_folds := v_folds || jsonb_build_object('fold', f, 'train_days', v_from - 1, 'train_from', days[1], 'train_to', days[v_from - 1],
                                             'test_from', days[v_from], 'test_to', days[v_to]);
    -- the test days with their target and exposure (no terms)
    v_test := aoma_private.model_frame_sql(y_col, e_col, scope, days[v_from], days[v_to]);
    -- baseline "mean": the training mean rate / base rate / mean
    execute format('select case when $1 in (''poisson'', ''quasipoisson'') then sum(s.y) / sum(exp(s.off)) else avg(s.y) end from (%s) s',
                   aoma_private.model_frame_sql(y_col, e_col, scope, days[1], days[v_from - 1])) into v_base using fam;
    if 'mean' = any (candidates) then
      v_new := aoma_private.model_cv_constant('mean', f, v_test, v_base);
      v_rows := v_rows || v_new;
    end if;
    -- seasonal naive: the same weekday a week earlier (its rate × today's exposure); the mean when that day is missing
    if 'seasonal_naive' = any (candidates) then
      execute format($q$
        select coalesce(jsonb_agg(jsonb_build_object('candidate', 'seasonal_naive', 'fold', %s, 'day', s.o, 'y', s.y, 'e', exp(s.off),
                 'mu', coalesce(w.y / nullif(exp(w.off), 0), $1) * exp(s.off)) order by s.o), '[]')
        from (%s) s left join (%s) w on w.o = s.o - 7$q$,
        f, v_test, aoma_private.model_frame_sql(y_col, e_col, scope, days[1] , days[v_to])) into v_new using v_base;
      v_rows := v_rows || v_new;
    end if;
    if 'glm' = any (candidates) then
      begin
        v_terms := aoma_private.model_select_terms(target, tgt ->> 'kind', predictors, max_lag, days[1] - max_lag, days[v_from - 1], scope);
        if jsonb_array_length(aoma_private.model_columns(v_terms)) = 0 then
          -- no step passes the selection: the model is the intercept, i.e. the mean
          v_new := aoma_private.model_cv_constant('glm', f, v_test, v_base);
        else
          v_fit := aoma_private.glm_fit(aoma_private.model_frame_sql(y_col, e_col, v_terms, days[1], days[v_from - 1]),
                                        array(select aoma_private.model_term_label(e) from jsonb_array_elements(aoma_private.model_columns(v_terms)) e), fam, 95, 0, false);
          v_beta := array(select jsonb_array_elements_text(v_fit -> 'estimate')::float8);
          execute format('select coalesce(jsonb_agg(jsonb_build_object(''candidate'', ''glm'', ''fold'', %s, ''day'', c.o, ''y'', c.y, ''e'', exp(c.off),
                            ''mu'', aoma_private.glm_mean($2, aoma_private.linear_predictor($1, c.x) + c.off)) order by c.o), ''[]'') from (%s) c',
                         f, aoma_private.model_frame_sql(y_col, e_col, v_terms, days[v_from], days[v_to]))
            into v_new using v_beta, link_fam;
        end if;
        v_rows := v_rows || v_new;
      exception when sqlstate '22023' or sqlstate 'P0001' then
        get stacked diagnostics v_msg = message_text;
        v_notes := v_notes || format('fold %s: glm not fitted on the %s days before it (%s); the fold counts the mean for it', f, v_from - 1, v_msg);
        v_new := aoma_private.model_cv_constant('glm', f, v_test, v_base);
        v_rows := v_rows || v_new;
      end;
    end if;
    if 'boosted' = any (candidates) then
      begin
        v_fit := aoma_private.boost_fit(aoma_private.model_frame_sql(y_col, e_col, v_raw || coalesce(scope, '[]'::jsonb), days[1], days[v_from - 1]),
                                        array(select aoma_private.model_term_label(e) from jsonb_array_elements(v_raw) e),
                                        link_fam, 100, 0.1, 1, 32, 5);
        execute format('select coalesce(jsonb_agg(jsonb_build_object(''candidate'', ''boosted'', ''fold'', %s, ''day'', s.o, ''y'', s.y, ''e'', exp(s.off), ''mu'', aoma_private.glm_mean($2, aoma_private.boost_score($1, $3, s.x) + s.off)) order by s.o), ''[]'') from (%s) s',
                       f, aoma_private.model_frame_sql(y_col, e_col, v_raw || coalesce(scope, '[]'::jsonb), days[v_from], days[v_to]))
          into v_new using v_fit, link_fam, array(select aoma_private.model_term_label(e) from jsonb_array_elements(v_raw) e);
        v_rows := v_rows || v_new;
      exception when sqlstate '22023' then
        get stacked diagnostics v_msg = message_text;
        v_notes := v_notes || format('fold %s: boosted not fitted on the %s days before it (%s); the fold counts the mean for it', f, v_from - 1, v_msg);
        v_new := aoma_private.model_cv_constant('boosted', f, v_test, v_base);
        v_rows := v_rows || v_new;
      end;
    end if;
  end loop;
  return jsonb_build_object('folds', v_folds, 'rows', v_rows, 'notes', to_jsonb(v_notes));
end;
$$;

-- aoma_private.rate_calibration(y, e, p, bins): the reliability of predicted rates p (failures per
-- attempt) against y failures out of e attempts per day, attempt-weighted: equal-width bins of p over
-- [min p, max p]; per bin its attempts, mean predicted and observed rate; ece = Σ attempts_b / N ·
-- |observed_b − predicted_b| (the per-attempt expected calibration error).
create or replace function aoma_private.rate_calibration(y float8[], e float8[], p float8[], bins integer)
returns jsonb
language sql
immutable
set search_path = ''
as $$
  with r as (select u.y, u.e, u.p from unnest(y, e, p) as u(y, e, p) where u.e > 0 and u.p is not null),
       lim as (select min(r.p) as lo, max(r.p) as hi, sum(r.e) as n from r),
       b as (select least(bins - 1, case when lim.hi > lim.lo then floor((r.p - lim.lo) / (lim.hi - lim.lo) * bins)::int else 0 end) as bin,
                    r.y, r.e, r.p
             from r, lim),
       t as (select b.bin, sum(b.e) as attempts, sum(b.p * b.e) / sum(b.e) as predicted, sum(b.y) / sum(b.e) as observed, count(*) as days
             from b group by b.bin)
  select jsonb_build_object(
    'ece', (select sum(t.attempts / lim.n * abs(t.observed - t.predicted)) from t, lim),
    'attempts', (select n from lim),
    'bins', (select jsonb_agg(jsonb_build_object('bin', t.bin + 1, 'days', t.days, 'attempts', t.attempts, 'predicted', t.predicted,
                                                 'observed', t.observed) order by t.bin) from t))
$$;

-- aoma_private.paired_difference(a, b): fold losses a minus fold losses b (jsonb arrays, the same
-- folds): {mean, se} — the mean difference and its standard error sd/√folds (0 for a candidate
-- against itself). Two candidates scored on the same folds share the folds' difficulty; the SE of
-- their difference is what says whether one is better, not the SE of either's losses.
create or replace function aoma_private.paired_difference(a jsonb, b jsonb)
returns jsonb
language sql
immutable
set search_path = ''
as $$
  select jsonb_build_object('mean', avg(x.d), 'se', coalesce(stddev_samp(x.d) / sqrt(count(*)), 0))
  from (select u.l::float8 - v.l::float8 as d
        from jsonb_array_elements_text(a) with ordinality as u(l, i)
        join jsonb_array_elements_text(b) with ordinality as v(l, i) on v.i = u.i) x
$$;

-- aoma_private.baseline_test(d): does a candidate beat the baseline? d is the loss differential of
-- the cross-validated days in day order (the baseline's loss minus the candidate's, per day): the
-- Diebold–Mariano test of equal accuracy, one-sided at 5% — the mean gain, its standard error from
-- the Newey–West (Bartlett) long-run variance with L = ⌊4 (n/100)^(2/9)⌋ lags (days of one fold share
-- a fitted model, so their gains are correlated), the Harvey–Leybourne–Newbold small-sample factor
-- √((n − 1)/n) for one-step forecasts, and Student's t with n − 1 degrees of freedom. Beats when t
-- exceeds the critical value (a gain within the days' noise is not a gain). Checked against
-- statsmodels' HAC standard error and scipy's t quantile (tests/reference/make_dm_reference.py).
drop function if exists aoma_private.baseline_test(jsonb, jsonb);
create or replace function aoma_private.baseline_test(d float8[])
returns jsonb
language sql
immutable
set search_path = ''
as $$
  with x as (select u.v, u.i from unnest(d) with ordinality as u(v, i) where u.v is not null),
       s as (select count(*)::int as n, avg(x.v) as m from x),
       l as (select s.*, floor(4 * power(s.n / 100.0, 2 / 9.0))::int as lags from s),
       g as (select k, sum((a.v - l.m) * (b.v - l.m)) / l.n as gamma
             from l cross join generate_series(0, l.lags) k
             join x a on true join x b on b.i = a.i - k
             group by k, l.n, l.m),
       lr as (select sum(case when g.k = 0 then g.gamma else 2 * (1 - g.k / (l.lags + 1.0)) * g.gamma end) as s2 from g, l),
       t as (select l.n, l.m, l.lags, sqrt(greatest(lr.s2, 0) / l.n) as se,
                    case when l.n >= 3 then aoma_private.two_sided_quantile(90, l.n - 1) end as q
             from l, lr)
  select jsonb_build_object('gain', t.m, 'se', t.se, 'days', t.n, 'lags', t.lags,
           't', case when t.se > 0 then sqrt((t.n - 1.0) / t.n) * t.m / t.se end, 't_crit', t.q,
           'beats', coalesce(t.n >= 3 and t.m > 0 and (t.se = 0 or sqrt((t.n - 1.0) / t.n) * t.m / t.se > t.q), false),
           'test', 'Diebold–Mariano over the cross-validated days, one-sided 5%: Newey–West variance, Harvey–Leybourne–Newbold correction, t with days − 1 df')
  from t
$$;

-- aoma_private.model_differential(cv, family, base, chosen): the per-day loss of `base` minus that of
-- `chosen` over the cross-validated days of cv (aoma_private.model_cv's rows), in day order.
create or replace function aoma_private.model_differential(cv jsonb, family text, base text, chosen text)
returns float8[]
language sql
stable
set search_path = ''
as $$
  with r as (select x ->> 'candidate' as c, (x ->> 'day')::date as day, (x ->> 'y')::float8 as y, (x ->> 'mu')::float8 as mu
             from jsonb_array_elements(cv -> 'rows') x)
  select array_agg(aoma_private.model_unit_loss(family, b.y, b.mu) - aoma_private.model_unit_loss(family, c.y, c.mu) order by b.day)
  from r b join r c on c.day = b.day and c.c = chosen
  where b.c = base
$$;

-- aoma_private.model_summary(cv, family, kind): per candidate its fold losses, their mean and standard
-- error, and pooled metrics next to the mean baseline (aoma_private.prediction_metrics; rates also
-- the per-attempt calibration).
create or replace function aoma_private.model_summary(cv jsonb, family text, kind text)
returns jsonb
language sql
stable
set search_path = ''
as $$
  with r as (
    select x ->> 'candidate' as c, (x ->> 'fold')::int as fold, (x ->> 'day')::date as day, (x ->> 'y')::float8 as y,
           (x ->> 'e')::float8 as e, (x ->> 'mu')::float8 as mu
    from jsonb_array_elements(cv -> 'rows') x),
  b as (select r.day, r.mu from r where r.c = 'mean'),
  per_fold as (select r.c, r.fold, avg(aoma_private.model_unit_loss(family, r.y, r.mu)) as loss from r group by r.c, r.fold),
  agg as (select per_fold.c, avg(per_fold.loss) as m, stddev_samp(per_fold.loss) / sqrt(count(*)) as se,
                 jsonb_agg(per_fold.loss order by per_fold.fold) as losses
          from per_fold group by per_fold.c)
  select jsonb_agg(jsonb_build_object(
           'name', agg.c,
           'simplicity', array_position(array['mean', 'seasonal_naive', 'glm', 'boosted'], agg.c),
           'loss_mean', agg.m, 'loss_se', agg.se, 'fold_losses', agg.losses,
           'metrics', (select aoma_private.prediction_metrics(
                                jsonb_agg(jsonb_build_object('y', r.y, 'p', case when family = 'binomial' then r.mu else r.mu end,
                                                             'baseline', b.mu) order by r.day),
                                case when family = 'quasipoisson' then 'poisson' else family end, 0.5)
                              || case when kind = 'rate' then jsonb_build_object('calibration_per_attempt',
                                   aoma_private.rate_calibration(array_agg(r.y order by r.day), array_agg(r.e order by r.day),
                                                                 array_agg(r.mu / r.e order by r.day), 10)) else '{}'::jsonb end
                       from r join b on b.day = r.day where r.c = agg.c))
         order by array_position(array['mean', 'seasonal_naive', 'glm', 'boosted'], agg.c))
  from agg
$$;

-- aoma_private.model_predict_days(tgt, model, last_day, horizon, sims, seed, hist_from): the next
-- `horizon` days after last_day under a fitted model (see the header, "Next days"). model:
-- {kind: glm | boosted | mean | seasonal_naive, terms (glm: steps/linear; boosted: raw), beta, cov
-- (glm: scaled covariance, row-major; mean: [var0]), boost (boost_fit's model)}. Returns
-- {days: [{day, prediction, low95, high95, low80, high80, drivers: [{term, feature, value_day,
-- known, value, forecast_sd, p_high}]}], notes}.
create or replace function aoma_private.model_predict_days(
  tgt jsonb, model jsonb, last_day date, horizon integer, sims integer, seed text, hist_from date
)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  fam text := case when tgt ->> 'family' = 'quasipoisson' then 'poisson' else tgt ->> 'family' end;
  v_kind text := model ->> 'kind';
  terms jsonb := coalesce(model -> 'terms', '[]'::jsonb);
  k integer := jsonb_array_length(coalesce(model -> 'terms', '[]'::jsonb));
  names text[] := array(select aoma_private.model_term_label(e) from jsonb_array_elements(coalesce(model -> 'terms', '[]'::jsonb)) e);
  data_end date := last_day;  -- values after the window are not known: they are forecast (a backfill sees no future)
  v_hist float8[];
  beta float8[] := array(select jsonb_array_elements_text(coalesce(model -> 'beta', '[]'::jsonb))::float8);
  cov float8[] := array(select jsonb_array_elements_text(coalesce(model -> 'cov', '[]'::jsonb))::float8);
  chol float8[];
  kk integer;
  v_need text[];
  v_steps integer;
  v_fc jsonb := '{}'::jsonb;   -- feature → {step → [point, sd]}
  v_notes text[] := '{}'::text[];
  v_msg text;
  kv float8[];   -- per (h, j): the known value (null when forecast)
  pt float8[];
  sdv float8[];
  vkey text[];
  mid float8[];
  t jsonb;
  vd date;
  v_val float8;
  draws float8[];
  bs float8[];
  z float8[];
  eta float8;
  x float8;
  xs float8[];
  n_s integer := sims;
  out_days jsonb := '[]'::jsonb;
  drivers jsonb;
  r record;
  v_mean float8;
  v_sd float8;
  -- groups (the per-attempt model, sql/76_attempt_model.sql): each with its share, the values of its
  -- own terms (level, excess; null for the day's terms) and an offset; a day's prediction is then
  -- the groups' mixture by share
  ng integer := coalesce(jsonb_array_length(model -> 'groups'), 0);
  gval float8[];
  gshare float8[];
  goff float8[];
  gdw float8[];
  gpart float8[];
  gdraws float8[];
  mixp float8;
  out_groups jsonb;
begin
  if ng > 0 then
    gval := array(select (g -> 'values' ->> (j - 1))::float8 from jsonb_array_elements(model -> 'groups') with ordinality as u(g, gi),
                  generate_series(1, k) j order by gi, j);
    gshare := array(select (g ->> 'share')::float8 from jsonb_array_elements(model -> 'groups') with ordinality as u(g, gi) order by gi);
    goff := array(select coalesce((g ->> 'offset')::float8, 0) from jsonb_array_elements(model -> 'groups') with ordinality as u(g, gi) order by gi);
    -- day_weight 0: a group that does not follow the day's drivers (the per-attempt model's onset flag)
    gdw := array(select coalesce((g ->> 'day_weight')::float8, 1) from jsonb_array_elements(model -> 'groups') with ordinality as u(g, gi) order by gi);
    gdraws := array_fill(0::float8, array[ng * horizon * sims]);
    gpart := array_fill(0::float8, array[ng]);
  end if;
  -- the values each term needs on each future day
  kv := array_fill(null::float8, array[horizon * greatest(k, 1)]);
  pt := kv; sdv := kv; mid := array_fill(null::float8, array[greatest(k, 1)]);
  vkey := array_fill(null::text, array[horizon * greatest(k, 1)]);
  for j in 1..k loop
    t := terms -> (j - 1);
    mid[j] := case when t ->> 'form' = 'step' then aoma_private.step_cut(t) end;
  end loop;
  select array_agg(distinct e ->> 'feature') into v_need
  from jsonb_array_elements(terms) e
  join analytics.feature_catalog fc on fc.name = e ->> 'feature' and fc.grain = 'day' and fc.kind <> 'calendar'
  where last_day + horizon - (e ->> 'lag')::integer > data_end;
  v_steps := (select max(last_day + horizon - (e ->> 'lag')::integer - data_end) from jsonb_array_elements(terms) e);
  if v_need is not null then
    begin
      -- each driver forecast from its history up to the window's last day (analytics.forecast_series, auto)
      for j in 1..cardinality(v_need) loop
        v_hist := (aoma_private.forecast_history('day', v_need[j], ((last_day + 1)::timestamp at time zone 'UTC'), 182)).y;
        v_fc := v_fc || jsonb_build_object(v_need[j], (
          select jsonb_object_agg(f.step, jsonb_build_array(f.point, (f.upper[1] - f.lower[1]) / (2 * 1.959963984540054)))
          from analytics.forecast_series(v_hist, case when cardinality(v_hist) >= 28 then 7 else 1 end, greatest(v_steps, 1),
                                         array[95]::float8[], 'auto') f));
      end loop;
    exception when sqlstate '22023' or sqlstate 'P0001' then
      get stacked diagnostics v_msg = message_text;
      v_notes := v_notes || format('the drivers could not be forecast (%s); their future values are drawn from their distribution over the window instead (mean and sd since %s)', v_msg, hist_from);
    end;
  end if;
  for h in 1..horizon loop
    for j in 1..k loop
      t := terms -> (j - 1);
      vd := last_day + h - (t ->> 'lag')::integer;
      vkey[(h - 1) * k + j] := (t ->> 'feature') || '@' || vd;
      if t ->> 'form' in ('level', 'excess', 'flag') then
        kv[(h - 1) * k + j] := 0;  -- a group's own term: its value comes with the group
      elsif exists (select from analytics.feature_catalog fc where fc.name = t ->> 'feature' and fc.grain = 'day' and fc.kind = 'calendar') then
        kv[(h - 1) * k + j] := aoma_private.calendar_value(t ->> 'feature', vd);
      elsif vd <= data_end then
        execute format('select coalesce(v.%I::float8, ''-Infinity''::float8) from analytics.features_daily v where v.day = $1', t ->> 'feature')
          into v_val using vd;
        kv[(h - 1) * k + j] := coalesce(v_val, '-Infinity'::float8);
      elsif v_fc ? (t ->> 'feature') then
        pt[(h - 1) * k + j] := (v_fc -> (t ->> 'feature') -> ((vd - data_end)::text) ->> 0)::float8;
        sdv[(h - 1) * k + j] := greatest((v_fc -> (t ->> 'feature') -> ((vd - data_end)::text) ->> 1)::float8, 0);
      else
        execute format('select avg(v.%1$I::float8), stddev_samp(v.%1$I::float8) from analytics.features_daily v where v.day >= $1', t ->> 'feature')
          into v_mean, v_sd using hist_from;
        pt[(h - 1) * k + j] := v_mean;
        sdv[(h - 1) * k + j] := coalesce(v_sd, 0);
      end if;
    end loop;
  end loop;
  -- coefficient draws: β + L z with L the Cholesky factor of the scaled covariance
  kk := cardinality(beta);
  if v_kind in ('glm', 'mean', 'seasonal_naive') and kk > 0 then
    chol := aoma_private.cholesky(cov, kk);
    if chol is null then
      v_notes := v_notes || 'the coefficients'' covariance is not positive definite: the interval carries the drivers'' uncertainty only'::text;
    end if;
  end if;
  if v_kind = 'boosted' then
    n_s := least(sims, 200);
    v_notes := v_notes || format('boosted model: %s draws of the drivers; a boosted ensemble has no coefficient covariance, so its interval carries the drivers'' forecast uncertainty only', n_s);
  end if;
  draws := array_fill(0::float8, array[horizon * n_s]);
  for s in 1..n_s loop
    bs := beta;
    if chol is not null then
      z := array(select aoma_private.det_normal(seed || ':beta', (s::bigint * 64 + i)) from generate_series(1, kk) i);
      for i in 1..kk loop
        for j in 1..i loop
          bs[i] := bs[i] + chol[(i - 1) * kk + j] * z[j];
        end loop;
      end loop;
    end if;
    for g in 1..ng loop
      -- the group's own terms and offset under this draw of the coefficients (the same every day)
      gpart[g] := goff[g];
      for j in 1..k loop
        if gval[(g - 1) * k + j] is not null then
          gpart[g] := gpart[g] + bs[j + 1] * gval[(g - 1) * k + j];
        end if;
      end loop;
    end loop;
    for h in 1..horizon loop
      xs := array_fill(0::float8, array[greatest(k, 1)]);
      for j in 1..k loop
        x := kv[(h - 1) * k + j];
        if x is null then
          x := pt[(h - 1) * k + j] + sdv[(h - 1) * k + j] * aoma_private.det_normal(seed || ':' || vkey[(h - 1) * k + j], s);
        end if;
        xs[j] := case when (terms -> (j - 1) ->> 'form') = 'step' then (x >= mid[j])::int::float8 else x end;
      end loop;
      if v_kind = 'boosted' then
        eta := aoma_private.boost_score(model -> 'boost', names, xs);
      elsif v_kind = 'seasonal_naive' then
        eta := (model -> 'levels' ->> (h - 1))::float8 + coalesce(bs[1], 0);
      else
        eta := bs[1];
        for j in 1..k loop
          eta := eta + bs[j + 1] * xs[j];
        end loop;
      end if;
      draws[(h - 1) * n_s + s] := aoma_private.glm_mean(fam, eta);
      if ng > 0 then
        mixp := 0;
        for g in 1..ng loop
          gdraws[((g - 1) * horizon + (h - 1)) * n_s + s] := aoma_private.glm_mean(fam, bs[1] + gdw[g] * (eta - bs[1]) + gpart[g]);
          mixp := mixp + gshare[g] * gdraws[((g - 1) * horizon + (h - 1)) * n_s + s];
        end loop;
        draws[(h - 1) * n_s + s] := mixp;
      end if;
      if jsonb_typeof(model -> 'mix') = 'object' then
        -- the screened-out segments at their own recent rate, by their share of the attempts
        draws[(h - 1) * n_s + s] := (1 - coalesce((model -> 'mix' ->> 'share')::float8, 0)) * draws[(h - 1) * n_s + s]
                                    + coalesce((model -> 'mix' ->> 'share')::float8, 0) * coalesce((model -> 'mix' ->> 'rate')::float8, 0);
      end if;
    end loop;
  end loop;
  for h in 1..horizon loop
    select avg(d) as m, percentile_cont(0.025) within group (order by d) as l95, percentile_cont(0.975) within group (order by d) as h95,
           percentile_cont(0.10) within group (order by d) as l80, percentile_cont(0.90) within group (order by d) as h80
      into r
      from unnest(draws[(h - 1) * n_s + 1:h * n_s]) d;
    select coalesce(jsonb_agg(jsonb_build_object(
             'term', names[j], 'feature', terms -> (j - 1) ->> 'feature', 'lag', (terms -> (j - 1) ->> 'lag')::int,
             'value_day', last_day + h - (terms -> (j - 1) ->> 'lag')::integer,
             'known', kv[(h - 1) * k + j] is not null,
             'value', case when kv[(h - 1) * k + j] is null then pt[(h - 1) * k + j]
                           when kv[(h - 1) * k + j] = '-Infinity'::float8 then null else kv[(h - 1) * k + j] end,
             'forecast_sd', sdv[(h - 1) * k + j],
             'p_high', case when (terms -> (j - 1) ->> 'form') = 'step' then
                         case when kv[(h - 1) * k + j] is not null then (kv[(h - 1) * k + j] >= mid[j])::int::float8
                              when sdv[(h - 1) * k + j] > 0 then aoma_private.normal_cdf((pt[(h - 1) * k + j] - mid[j]) / sdv[(h - 1) * k + j])
                              else (pt[(h - 1) * k + j] >= mid[j])::int::float8 end end)
             order by j), '[]'::jsonb)
      into drivers from generate_series(1, k) j
      where coalesce(terms -> (j - 1) ->> 'form', '') not in ('level', 'excess', 'flag');
    out_groups := null;
    if ng > 0 then
      select jsonb_agg(jsonb_build_object('group', model -> 'groups' -> (g - 1) ->> 'group', 'share', gshare[g],
               'prediction', q.m, 'low95', q.l95, 'high95', q.h95) order by g)
        into out_groups
        from generate_series(1, ng) g
        cross join lateral (select avg(d) as m, percentile_cont(0.025) within group (order by d) as l95,
                                   percentile_cont(0.975) within group (order by d) as h95
                            from unnest(gdraws[((g - 1) * horizon + (h - 1)) * n_s + 1:((g - 1) * horizon + h) * n_s]) d) q;
    end if;
    out_days := out_days || (jsonb_build_object('day', last_day + h, 'weekday', trim(to_char(last_day + h, 'Day')),
      'prediction', r.m, 'low95', r.l95, 'high95', r.h95, 'low80', r.l80, 'high80', r.h80,
      'drivers', drivers) || case when ng > 0 then jsonb_build_object('groups', out_groups) else '{}'::jsonb end);
  end loop;
  return jsonb_build_object('days', out_days, 'draws', n_s, 'notes', to_jsonb(v_notes));
end;
$$;

-- aoma_private.model_glm_terms(fit, terms, frame): the glm's terms for people — estimate, SE, p, CI,
-- the ratio exp(β) (rate ratio or odds ratio) with its CI, days at or above the threshold, and the
-- importance |β|·sd(term) with its direction.
create or replace function aoma_private.model_glm_terms(fit jsonb, terms jsonb, frame text)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  v_sd float8[];
  v_mean float8[];
  k integer := jsonb_array_length(terms);
begin
  if k = 0 then
    return '[]'::jsonb;
  end if;
  execute format('select array[%s], array[%s] from (%s) s',
                 (select string_agg(format('stddev_samp(s.x_%s)', i), ', ') from generate_series(1, k) i),
                 (select string_agg(format('avg(s.x_%s)', i), ', ') from generate_series(1, k) i), frame)
    into v_sd, v_mean;
  return (select jsonb_agg(
            (terms -> (j - 1)) || jsonb_build_object(
              'term', fit -> 'terms' ->> j,
              'estimate', (fit -> 'estimate' ->> j)::float8, 'std_error', (fit -> 'std_error' ->> j)::float8,
              'p_value', (fit -> 'p_value' ->> j)::float8,
              'ci_low', (fit -> 'ci_low' ->> j)::float8, 'ci_high', (fit -> 'ci_high' ->> j)::float8,
              'ratio', case when fit ->> 'family' <> 'gaussian' then exp((fit -> 'estimate' ->> j)::float8) end,
              'ratio_low', case when fit ->> 'family' <> 'gaussian' then exp((fit -> 'ci_low' ->> j)::float8) end,
              'ratio_high', case when fit ->> 'family' <> 'gaussian' then exp((fit -> 'ci_high' ->> j)::float8) end,
              'share_high', case when terms -> (j - 1) ->> 'form' = 'step' then v_mean[j] end,
              'importance', abs((fit -> 'estimate' ->> j)::float8) * v_sd[j],
              'direction', sign((fit -> 'estimate' ->> j)::float8)::int)
            order by j)
          from generate_series(1, k) j);
end;
$$;

drop function if exists analytics.build_predictive_model(text, text[], date, date, integer, text, integer, integer, integer);
create or replace function analytics.build_predictive_model(
  target text default 'processing_failure_rate',
  predictors text[] default null,
  date_from date default null,
  date_to date default null,
  horizon integer default 7,
  model_type text default 'auto',
  max_lag integer default 1,
  folds integer default 5,
  simulations integer default 2000
)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
-- the frames are small: a parallel plan buys nothing and would make float sums depend on the workers'
-- order; serial, the same call gives the same numbers to the last bit
set max_parallel_workers_per_gather = 0
as $$
declare
  v_target text := coalesce(build_predictive_model.target, 'processing_failure_rate');
  v_type text := coalesce(build_predictive_model.model_type, 'auto');
  v_lag integer := coalesce(build_predictive_model.max_lag, 1);
  v_folds integer := coalesce(build_predictive_model.folds, 5);
  v_h integer := coalesce(build_predictive_model.horizon, 7);
  v_sims integer := coalesce(build_predictive_model.simulations, 2000);
  tg record;
  tgt jsonb;
  v_from date;
  v_to date;
  days date[];
  n integer;
  v_cands text[];
  v_raw jsonb;
  cv jsonb;
  summary jsonb;
  v_best jsonb;
  v_chosen jsonb;
  v_base jsonb;
  v_beats boolean;
  v_notes text[] := '{}'::text[];
  v_terms jsonb;
  v_frame text;
  v_fit jsonb;
  v_model jsonb;
  v_pmodel jsonb;
  v_y float8[];
  v_e float8[];
  ic record;
  v_mean_value float8;
  v_pred jsonb;
  v_boost jsonb;
  v_levels jsonb;
  v_msg text;
  v_scope jsonb := '[]'::jsonb;
  v_scoped text;
  v_mix jsonb;
  v_excluded jsonb := '[]'::jsonb;  -- the scope's segments for people: {level, days, failures, dispersion, z}
  v_gate jsonb;
begin
  -- ── arguments ──
  if v_type not in ('auto', 'glm', 'boosted', 'baseline') then
    raise exception 'model_type must be auto, glm, boosted or baseline (got "%")', v_type using errcode = '22023';
  end if;
  if v_h < 1 or v_h > 30 then
    raise exception 'horizon must be between 1 and 30 days (got %)', v_h using errcode = '22023';
  end if;
  if v_lag < 0 or v_lag > 7 then
    raise exception 'max_lag must be between 0 and 7 days (got %)', v_lag using errcode = '22023';
  end if;
  if v_folds < 2 or v_folds > 10 then
    raise exception 'folds must be between 2 and 10 (got %)', v_folds using errcode = '22023';
  end if;
  if v_sims < 100 or v_sims > 10000 then
    raise exception 'simulations must be between 100 and 10000 (got %)', v_sims using errcode = '22023';
  end if;
  if build_predictive_model.date_from > build_predictive_model.date_to then
    raise exception 'date_from (%) is after date_to (%)', build_predictive_model.date_from, build_predictive_model.date_to using errcode = '22023';
  end if;
  select * into tg from aoma_private.model_target(v_target);
  if tg.kind = 'attempt' then
    -- will an attempt fail: the per-attempt model (sql/76_attempt_model.sql)
    return aoma_private.build_attempt_model(build_predictive_model.predictors, build_predictive_model.date_from, build_predictive_model.date_to,
                                            v_h, v_type, v_lag, v_folds, v_sims);
  end if;
  tgt := jsonb_build_object('family', tg.family, 'kind', tg.kind, 'y_col', tg.y_col, 'exposure_col', tg.exposure_col, 'unit', tg.unit);
  perform from aoma_private.model_candidates(v_target, build_predictive_model.predictors);  -- the predictors' checks
  if tg.kind = 'continuous' and build_predictive_model.predictors is null then
    raise exception '% is a continuous metric: name its predictorVariables (1 to 40 daily drivers or calendar features); the threshold search serves counts, rates and day indicators', v_target
      using errcode = '22023';
  end if;
  if v_type = 'boosted' and tg.kind = 'continuous' then
    null;  -- gaussian boosting is supported
  end if;

  -- ── the days ──
  select min(v.day), max(v.day) into v_from, v_to from analytics.features_daily v
  where (build_predictive_model.date_from is null or v.day >= build_predictive_model.date_from)
    and (build_predictive_model.date_to is null or v.day <= build_predictive_model.date_to);
  if v_from is null then
    raise exception 'no daily data between % and %', coalesce(build_predictive_model.date_from::text, '-infinity'),
      coalesce(build_predictive_model.date_to::text, 'infinity') using errcode = '22023';
  end if;
  execute format('select array_agg(s.o order by s.o) from (%s) s',
                 aoma_private.model_frame_sql(tg.y_col, tg.exposure_col, '[]'::jsonb, v_from + v_lag, v_to)) into days;
  n := coalesce(cardinality(days), 0);
  if n < 20 then
    raise exception 'not enough data: % usable days of % between % and % (after a lag of % days); at least 20 are needed',
      n, v_target, v_from, v_to, v_lag using errcode = '22023';
  end if;
  execute format('select array_agg(s.y order by s.o), array_agg(exp(s.off) order by s.o) from (%s) s',
                 aoma_private.model_frame_sql(tg.y_col, tg.exposure_col, '[]'::jsonb, days[1], days[n])) into v_y, v_e;
  if tg.kind in ('binary', 'count', 'rate') and (select max(x) from unnest(v_y) x) = 0 then
    raise exception 'no positive class: % is 0 on every one of the % days between % and %; there is nothing to predict — widen the window or choose another target',
      v_target, n, days[1], days[n] using errcode = '22023';
  end if;
  if tg.kind = 'binary' and (select min(x) from unnest(v_y) x) = 1 then
    raise exception 'one class only: % is 1 on every one of the % days between % and %; a yes/no model needs days of both kinds — widen the window or choose another target',
      v_target, n, days[1], days[n] using errcode = '22023';
  end if;
  if n / 2 < 2 * v_folds then
    raise exception 'too few days for % folds: % usable days; the later half (%) must give every fold 2 days — fewer folds or a longer window',
      v_folds, n, n / 2 using errcode = '22023';
  end if;
  if n > 1500 then
    raise exception 'too much work: % days; at most 1,500 days per model (about 4 years) — narrow the date range', n using errcode = '22023';
  end if;

  -- ── candidates and their cross-validation ──
  v_cands := array['mean'] || case when tg.kind in ('rate', 'count') then array['seasonal_naive'] else '{}'::text[] end;
  if v_type in ('auto', 'glm') then
    v_cands := v_cands || 'glm'::text;
  end if;
  if v_type in ('auto', 'boosted') then
    v_raw := aoma_private.model_raw_terms(v_target, build_predictive_model.predictors, v_lag);
    if n::bigint * jsonb_array_length(v_raw) * 100 > 5000000 then
      v_notes := v_notes || format('boosted candidate left out: %s days × %s inputs × 100 rounds is over the 5,000,000 bound — fewer predictors or days', n, jsonb_array_length(v_raw));
    else
      v_cands := v_cands || 'boosted'::text;
    end if;
  end if;
  if tg.kind = 'rate' then
    -- the scope: the asset segments whose failures do not follow the days are left out of every candidate
    v_scope := aoma_private.model_screen_segments('[]'::jsonb, days[1], days[n]);
    v_mix := aoma_private.model_excluded_mix(v_scope, days[greatest(1, n - 6)], days[n]);
    v_excluded := (select coalesce(jsonb_agg(e - 'feature' - 'lag' - 'form'), '[]'::jsonb) from jsonb_array_elements(v_scope) e);
    if v_mix is not null then
      v_notes := v_notes || format('%s left out of every candidate (the segment screen: failures that do not follow the days); they are %s%% of the last 7 days'' attempts and are predicted at their own rate of those days, %s%%',
        array_to_string(array(select jsonb_array_elements_text(v_mix -> 'segments')), ', '),
        round(100 * (v_mix ->> 'share')::numeric, 1), round(100 * (v_mix ->> 'rate')::numeric, 1));
    end if;
  end if;
  cv := aoma_private.model_cv(v_target, tgt, build_predictive_model.predictors, v_lag, days, v_folds, v_cands, v_scope);
  v_notes := v_notes || array(select jsonb_array_elements_text(cv -> 'notes'));
  summary := aoma_private.model_summary(cv, tg.family, tg.kind);
  select e into v_best from jsonb_array_elements(summary) e order by (e ->> 'loss_mean')::float8, (e ->> 'simplicity')::int limit 1;
  select e into v_base from jsonb_array_elements(summary) e where e ->> 'name' in ('mean', 'seasonal_naive')
    order by (e ->> 'loss_mean')::float8, (e ->> 'simplicity')::int limit 1;
  -- every candidate against the best on the same folds: the mean difference of their fold losses and its SE
  summary := (select jsonb_agg(e || jsonb_build_object('vs_best', aoma_private.paired_difference(e -> 'fold_losses', v_best -> 'fold_losses'))
                               order by (e ->> 'simplicity')::int)
              from jsonb_array_elements(summary) e);
  if v_type = 'auto' then
    -- one-standard-error rule, paired: the simplest candidate whose losses exceed the best one's by at
    -- most one standard error of the difference
    select e into v_chosen from jsonb_array_elements(summary) e
    where (e -> 'vs_best' ->> 'mean')::float8 <= (e -> 'vs_best' ->> 'se')::float8
    order by (e ->> 'simplicity')::int limit 1;
  elsif v_type = 'baseline' then
    v_chosen := v_base;
  else
    select e into v_chosen from jsonb_array_elements(summary) e where e ->> 'name' = v_type;
  end if;
  -- beats the baseline: lower losses than the better baseline's, significantly (aoma_private.baseline_test);
  -- auto: a choice that does not is no better than the baseline, and the baseline predicts
  v_gate := aoma_private.baseline_test(aoma_private.model_differential(cv, tg.family, v_base ->> 'name', v_chosen ->> 'name'));
  v_beats := v_chosen ->> 'name' not in ('mean', 'seasonal_naive') and (v_gate ->> 'beats')::boolean;
  if v_type = 'auto' and v_chosen ->> 'name' not in ('mean', 'seasonal_naive') and not v_beats then
    v_notes := v_notes || format('%s is the one-SE rule''s choice but does not beat the %s baseline significantly (gain %s ± %s per day, t = %s ≤ %s): no model beats the baseline, and the baseline predicts',
      v_chosen ->> 'name', v_base ->> 'name', round((v_gate ->> 'gain')::numeric, 4), round((v_gate ->> 'se')::numeric, 4),
      coalesce(round((v_gate ->> 't')::numeric, 2)::text, 'n/a'), round((v_gate ->> 't_crit')::numeric, 2));
    v_chosen := v_base;
  end if;

  -- ── the models on every day of the window ──
  -- the window's mean over every attempt (the risk cut-offs), and the mean model of the attempts in scope
  v_mean_value := case when tg.family in ('poisson', 'quasipoisson') then (select sum(y) / nullif(sum(e), 0) from unnest(v_y, v_e) u(y, e))
                       else (select avg(y) from unnest(v_y) y) end;
  v_scoped := aoma_private.model_frame_sql(tg.y_col, tg.exposure_col, v_scope, days[1], days[n]);
  execute format('select array_agg(s.y order by s.o), array_agg(exp(s.off) order by s.o) from (%s) s', v_scoped) into v_y, v_e;
  select * into ic from aoma_private.model_intercept(tg.family, v_y, v_e);
  v_model := jsonb_build_object('candidate', v_chosen ->> 'name', 'mean', v_mean_value, 'terms', '[]'::jsonb);
  if 'glm' = any (v_cands) then
    begin
      v_terms := aoma_private.model_select_terms(v_target, tg.kind, build_predictive_model.predictors, v_lag, days[1] - v_lag, days[n], v_scope);
      if jsonb_array_length(aoma_private.model_columns(v_terms)) > 0 then
        v_frame := aoma_private.model_frame_sql(tg.y_col, tg.exposure_col, v_terms, days[1], days[n]);
        v_fit := aoma_private.glm_fit(v_frame, array(select aoma_private.model_term_label(e) from jsonb_array_elements(aoma_private.model_columns(v_terms)) e), tg.family, 95, 0);
        v_model := v_model || jsonb_build_object(
          'glm', jsonb_build_object('terms', aoma_private.model_glm_terms(v_fit, aoma_private.model_columns(v_terms), v_frame),
            'intercept', (v_fit -> 'estimate' ->> 0)::float8, 'n', (v_fit ->> 'n')::int, 'deviance', (v_fit ->> 'deviance')::float8,
            'null_deviance', (v_fit ->> 'null_deviance')::float8, 'aic', (v_fit ->> 'aic')::float8, 'scale', (v_fit ->> 'scale')::float8,
            'r2', (v_fit ->> 'r2')::float8, 'cond', (v_fit ->> 'cond')::float8, 'family', tg.family, 'fit', v_fit, 'spec', v_terms,
            -- the glm's exclude entries are the scope's (model_select_terms appends them)
            'excluded_mix', v_mix, 'excluded_segments', v_excluded));
      else
        v_model := v_model || jsonb_build_object('glm', jsonb_build_object('terms', '[]'::jsonb, 'family', tg.family,
          'note', 'no threshold step passes the forward selection (threshold-adjusted p < 0.01) on the window'));
      end if;
    exception when sqlstate '22023' or sqlstate 'P0001' then
      get stacked diagnostics v_msg = message_text;
      if build_predictive_model.predictors is not null then
        -- the caller's own predictors cannot be fitted (collinear, constant): that is their fix to make
        raise exception 'the named predictorVariables cannot be fitted together: %', v_msg using errcode = '22023';
      end if;
      v_notes := v_notes || format('the glm could not be fitted on the whole window: %s', v_msg);
      v_terms := '[]'::jsonb;
    end;
  end if;
  if 'boosted' = any (v_cands) and v_chosen ->> 'name' = 'boosted' then
    v_boost := aoma_private.boost_fit(aoma_private.model_frame_sql(tg.y_col, tg.exposure_col, v_raw || v_scope, days[1], days[n]),
                                      array(select aoma_private.model_term_label(e) from jsonb_array_elements(v_raw) e),
                                      case when tg.family = 'quasipoisson' then 'poisson' else tg.family end, 100, 0.1, 1, 32, 5);
    v_model := v_model || jsonb_build_object('boosted', jsonb_build_object('rounds_used', v_boost -> 'rounds_used',
      'importance', (select jsonb_agg(e) from jsonb_array_elements(v_boost -> 'importance') e where (e ->> 'stumps')::int > 0),
      'deviance', v_boost -> 'deviance'));
  end if;

  -- ── the next days ──
  v_pmodel := case
    when v_chosen ->> 'name' = 'glm' and v_fit is not null and jsonb_array_length(aoma_private.model_columns(v_terms)) > 0 then
      jsonb_build_object('kind', 'glm', 'terms', aoma_private.model_columns(v_terms), 'beta', v_fit -> 'estimate',
                         'cov', (select jsonb_agg(c::float8 * (v_fit ->> 'scale')::float8) from jsonb_array_elements_text(v_fit -> 'cov') c))
    when v_chosen ->> 'name' = 'boosted' then
      jsonb_build_object('kind', 'boosted', 'terms', v_raw, 'boost', v_boost)
    when v_chosen ->> 'name' = 'seasonal_naive' then
      jsonb_build_object('kind', 'seasonal_naive', 'beta', jsonb_build_array(0), 'cov', jsonb_build_array(ic.var0))
    else jsonb_build_object('kind', 'mean', 'beta', jsonb_build_array(ic.beta0), 'cov', jsonb_build_array(ic.var0)) end
    -- every candidate predicts the screened-out segments at their own rate of the last 7 days, by their share
    || case when v_mix is not null then jsonb_build_object('mix', v_mix) else '{}'::jsonb end;
  if v_pmodel ->> 'kind' = 'seasonal_naive' then
    -- the link-scale level of the same weekday in the last week of the window (the mean where it is missing)
    execute format($q$select jsonb_agg(coalesce(case when $3 in ('poisson', 'quasipoisson') then ln(nullif(s.y, 0) / exp(s.off))
                                                   when $3 = 'binomial' then null else s.y end, $4) order by g.h)
                      from generate_series(1, $2) g(h) left join (%s) s on s.o = $1 + g.h - 7 * ceil(g.h / 7.0)::int$q$, v_scoped)
      into v_levels using days[n], v_h, tg.family, ic.beta0;
    v_pmodel := v_pmodel || jsonb_build_object('levels', v_levels);
  end if;
  v_pred := aoma_private.model_predict_days(tgt, v_pmodel, days[n], v_h, v_sims,
              md5(v_target || coalesce(array_to_string(build_predictive_model.predictors, ','), '') || days[1] || days[n]), days[1]);
  v_notes := v_notes || array(select jsonb_array_elements_text(v_pred -> 'notes'));

  return jsonb_build_object(
    'target', v_target, 'kind', tg.kind, 'family', tg.family, 'unit', tg.unit, 'exposure', tg.exposure_col,
    'window', jsonb_build_object('from', days[1], 'to', days[n]), 'n_days', n, 'max_lag', v_lag, 'model_type', v_type,
    'folds', cv -> 'folds',
    'scope', jsonb_build_object(
      'excluded_segments', v_excluded,
      'excluded_mix', v_mix,
      'text', case when v_mix is null then 'every attempt: the segment screen left no asset segment out'
                   else 'the attempts of every segment but the excluded ones: the candidates are fitted and cross-validated on them; the excluded segments are predicted at their own rate of the last 7 days, by their share of the attempts' end),
    'candidates', summary,
    'rule', case when v_type = 'auto' then 'one standard error, paired: the simplest candidate whose cross-validated losses exceed the best one''s, fold by fold, by at most one standard error of that difference (vs_best); a choice that does not beat the better baseline significantly (baseline_test) leaves the baseline'
                 else format('model_type %s: the %s candidate, cross-validated beside the baselines', v_type, v_type) end,
    'baseline_test', v_gate,
    'loss', case when tg.family in ('poisson', 'quasipoisson') then 'mean Poisson deviance per day'
                 when tg.family = 'binomial' then 'mean log loss per day' else 'mean squared error per day' end,
    'best', v_best ->> 'name', 'chosen', v_chosen ->> 'name', 'baseline', v_base ->> 'name', 'beats_baseline', v_beats,
    'mean_value', v_mean_value,
    -- the chosen candidate's out-of-sample accuracy, with the baseline's beside it
    'accuracy', case when tg.kind = 'binary'
      then jsonb_build_object('value', coalesce((v_chosen -> 'metrics' ->> 'auc')::float8, 0.5), 'measure', 'AUC (cross-validated)', 'baseline', 0.5)
      else jsonb_build_object(
        'value', case when v_chosen ->> 'name' in ('mean', 'seasonal_naive') then 0
                      else greatest(0, 1 - (v_chosen ->> 'loss_mean')::float8 / nullif((v_base ->> 'loss_mean')::float8, 0)) end,
        'measure', case when tg.kind = 'continuous' then 'of the baseline''s squared error removed out of sample'
                        else 'of the baseline''s deviance explained out of sample' end,
        'baseline', 0) end,
    'model', v_model,
    'predictions', (select jsonb_agg(d || jsonb_build_object(
                       'ratio_to_mean', (d ->> 'prediction')::float8 / nullif(v_mean_value, 0),
                       'risk', case when (d ->> 'prediction')::float8 >= 1.5 * v_mean_value then 'HIGH'
                                    when (d ->> 'prediction')::float8 >= v_mean_value then 'MEDIUM' else 'LOW' end) order by d ->> 'day')
                    from jsonb_array_elements(v_pred -> 'days') d),
    'prediction_method', jsonb_build_object('draws', v_pred -> 'draws',
      'text', 'simulation: coefficients drawn from their estimated normal distribution and unknown driver values from their forecasts (analytics.forecast_feature, 95% interval read as normal); prediction = mean of the draws, intervals = their quantiles'),
    'risk_cutoffs', jsonb_build_object('high', 1.5 * v_mean_value, 'medium', v_mean_value,
      'text', 'HIGH ≥ 1.5 × the window''s mean, MEDIUM from 1 × to 1.5 ×, LOW below the mean'),
    'notes', to_jsonb(v_notes));
end;
$$;
comment on function analytics.build_predictive_model(text, text[], date, date, integer, text, integer, integer, integer) is
  'The predictive model of a daily outcome: baselines, threshold GLM and boosted stumps cross-validated in time order, one-SE choice, the fit, and the next days with simulated intervals. See sql/74_predictive.sql.';
grant execute on function analytics.build_predictive_model(text, text[], date, date, integer, text, integer, integer, integer) to authenticated, service_role;
grant execute on function
  aoma_private.model_target(text), aoma_private.model_term_value_sql(text, integer), aoma_private.model_term_label(jsonb),
  aoma_private.model_frame_sql(text, text, jsonb, date, date), aoma_private.model_term_expr(jsonb), aoma_private.model_candidates(text, text[]), aoma_private.step_cut(jsonb),
  aoma_private.model_select_terms(text, text, text[], integer, date, date, jsonb), aoma_private.model_raw_terms(text, text[], integer),
  aoma_private.model_screen_segments(jsonb, date, date), aoma_private.model_columns(jsonb), aoma_private.asset_segment(text, text),
  aoma_private.model_cv_constant(text, integer, text, float8), aoma_private.model_excluded_mix(jsonb, date, date),
  aoma_private.model_unit_loss(text, float8, float8), aoma_private.model_intercept(text, float8[], float8[]),
  aoma_private.det_normal(text, bigint), aoma_private.normal_cdf(float8), aoma_private.calendar_value(text, date),
  aoma_private.model_cv(text, jsonb, text[], integer, date[], integer, text[], jsonb), aoma_private.rate_calibration(float8[], float8[], float8[], integer),
  aoma_private.model_summary(jsonb, text, text), aoma_private.paired_difference(jsonb, jsonb), aoma_private.baseline_test(float8[]),
  aoma_private.model_differential(jsonb, text, text, text), aoma_private.model_predict_days(jsonb, jsonb, date, integer, integer, text, date),
  aoma_private.model_glm_terms(jsonb, jsonb, text)
  to authenticated, service_role;
