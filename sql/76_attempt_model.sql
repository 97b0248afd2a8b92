-- AOMA Mesh Analytics — the per-attempt failure model (issue 10, item 2: "per-attempt failure (one
-- row per processing attempt with its asset type, cohort, migration state and that day's features) —
-- the model that says which uploads will fail").
--
-- analytics.build_predictive_model(target => 'processing_attempt_failure', …) answers with it; the
-- envelope is build_predictive_model's (sql/74_predictive.sql), kind 'attempt', family binomial.
--
-- Rows: every processing attempt of the window, grouped without loss into cells — day × asset type
--   × migration state × upload-age cohort (the time from upload to the attempt: under 1 day, 1–7
--   days, 7–90 days, 90–365 days, over 1 year) — with their attempts (trials) and failures
--   (successes): a grouped binomial fit is the per-attempt logistic regression, because every
--   attempt of a cell has the same predictors.
-- Terms of the glm (logistic; odds ratios with 95% CIs from aoma_private.glm_fit):
--   the day's drivers — the threshold steps the daily failure-rate model selects on the same training
--   days (explain_drivers on the attempts the segment screen keeps), so "that day's features";
--   its segment's onset flag — 1 when the segment's failures of the previous 7 days are significantly
--   above every attempt's rate of those days (one-sided binomial z > 3.09, p < 0.001, with at least
--   20 attempts): a cohort that has started to fail on its own, as the linear excess below cannot say
--   for the few segments that do (it is fitted over every segment); in the fit only when the training
--   days hold at least 100 flagged attempts with 5 failures and 5 successes. A flagged cell does not
--   follow the day's drivers (its day terms are 0: the flag's odds ratio is the cohort's own level,
--   as the segment screen of the daily model leaves such a cohort to its own rate);
--   the attempt's segment — one indicator per asset type, migration state and upload-age cohort
--   level other than the commonest (levels with at least 100 attempts, 5 failures and 5 successes in
--   the training days; rarer ones count with the commonest);
--   its segment's excess failures of the previous 7 days — ln-odds of the segment's (asset type /
--   migration state) failures over the 7 days before the day, shrunk by 50 pseudo-attempts towards
--   every attempt's rate of those days, minus the ln-odds of that rate: 0 for a segment failing like
--   the rest, large for a cohort that has started to fail on its own (known before the day: no
--   outcome of the day itself).
-- Candidates (simplest first): mean (the base rate of the training attempts — the baseline),
--   segment_rate (each segment × cohort at its own training rate, shrunk by 20 pseudo-attempts to the
--   base rate), glm. Cross-validation as the daily model's: the later half of the days in `folds`
--   consecutive blocks, each predicted by candidates fitted on every day before it (steps searched
--   again). Loss per fold: the log loss per attempt (Σ over the fold's attempts / attempts). Choice:
--   the paired one-standard-error rule; it beats the baseline when the base rate's losses exceed its
--   own by more than one standard error of the difference.
-- Metrics of every candidate over its cross-validated attempts (analytics.binary_metrics, one value
--   per attempt): AUC, Brier and Brier skill, log loss, accuracy and balanced accuracy next to the
--   majority class, the confusion matrix at the HIGH-risk cut (1.5 × the training base rate) and the
--   calibration table with its ECE.
-- Next days: per group (segment × cohort with attempts in the last 28 days of the window) the failure
--   probability of an attempt on each day, simulated like the daily model's (coefficients and the
--   day's unknown drivers drawn together, aoma_private.model_predict_days), the segment's excess held
--   at its value for the day after the window; the day's prediction is the groups' mixture by their
--   share of the last 28 days' attempts.

-- aoma_private.upload_age_cohort(age): an attempt's upload-age cohort (started − uploaded).
create or replace function aoma_private.upload_age_cohort(age interval)
returns text
language sql
immutable
set search_path = ''
as $$
  select case when age is null then 'unknown'
              when age < interval '1 day' then 'under 1 day'
              when age < interval '7 days' then '1-7 days'
              when age < interval '90 days' then '7-90 days'
              when age < interval '365 days' then '90-365 days'
              else 'over 1 year' end
$$;

-- aoma_private.attempt_cells_sql(d_from, d_to, with_next): the query of the cells of d_from..d_to
-- (day, asset_type, migration_state, age, seg, attempts, failures, excess, flag; see the header). with_next:
-- also one row per segment × cohort seen in the last 28 days up to d_to, dated d_to + 1, with those
-- days' attempts (failures 0) and the excess of d_to + 1 — the groups of the next days.
create or replace function aoma_private.attempt_cells_sql(d_from date, d_to date, with_next boolean default false)
returns text
language sql
immutable
set search_path = ''
as $$
  select format($q$(
    with a as (
      select (p.started_at at time zone 'UTC')::date as day, p.asset_type, coalesce(p.migration_state, 'unknown') as migration_state,
             aoma_private.upload_age_cohort(p.started_at - p.uploaded_at) as age, (p.status = 'failed')::int as f
      from aoma.processing_attempts p
      where p.started_at >= (least(%1$L::date, %2$L::date - 27) - 7)::timestamp at time zone 'UTC'
        and p.started_at < (%2$L::date + 1)::timestamp at time zone 'UTC'),
    sd as (select a.day, a.asset_type || '/' || a.migration_state as seg, count(*)::float8 as n, sum(a.f)::float8 as y from a group by 1, 2),
    grid as (select s.seg, g.day::date as day, coalesce(sd.n, 0) as n, coalesce(sd.y, 0) as y
             from (select distinct sd.seg from sd) s
             cross join generate_series(least(%1$L::date, %2$L::date - 27) - 7, %2$L::date + 1, interval '1 day') g(day)
             left join sd on sd.seg = s.seg and sd.day = g.day::date),
    win as (select grid.seg, grid.day, sum(grid.n) over w as n7, sum(grid.y) over w as y7
            from grid window w as (partition by grid.seg order by grid.day rows between 7 preceding and 1 preceding)),
    tot as (select win.day, sum(win.n7) as n7, sum(win.y7) as y7 from win group by 1),
    ex as (select win.seg, win.day,
                  case when tot.y7 > 0 and tot.y7 < tot.n7 and win.n7 > 0
                       then ln((win.y7 + 50 * tot.y7 / tot.n7) / (win.n7 - win.y7 + 50 * (1 - tot.y7 / tot.n7))) - ln(tot.y7 / (tot.n7 - tot.y7))
                       else 0 end as excess,
                  case when tot.n7 > 0 and tot.y7 > 0 and tot.y7 < tot.n7 and win.n7 >= 20
                            and (win.y7 - win.n7 * tot.y7 / tot.n7) / sqrt(win.n7 * tot.y7 / tot.n7 * (1 - tot.y7 / tot.n7)) > 3.090232306167813
                       then 1 else 0 end::float8 as flag
           from win join tot using (day)),
    cells as (
      select a.day, a.asset_type, a.migration_state, a.age, a.asset_type || '/' || a.migration_state as seg,
             count(*)::float8 as attempts, sum(a.f)::float8 as failures
      from a where a.day between %1$L::date and %2$L::date group by 1, 2, 3, 4
      union all
      select %2$L::date + 1, a.asset_type, a.migration_state, a.age, a.asset_type || '/' || a.migration_state, count(*)::float8, 0::float8
      from a where %3$L::boolean and a.day between %2$L::date - 27 and %2$L::date group by 2, 3, 4)
    select cells.*, coalesce(ex.excess, 0) as excess, coalesce(ex.flag, 0) as flag from cells left join ex on ex.seg = cells.seg and ex.day = cells.day)$q$,
    d_from, d_to, coalesce(with_next, false))
$$;

-- aoma_private.attempt_cells_literal(d_from, d_to, with_next): the cells (attempt_cells_sql) computed
-- once and written as a FROM item of array literals (unnest), so that the many scans of a fit (one
-- per IRLS iteration) and of the cross-validation read them without aggregating the attempts again
-- (a read-only transaction may not create even a temporary table).
create or replace function aoma_private.attempt_cells_literal(d_from date, d_to date, with_next boolean default false)
returns text
language plpgsql
stable
set search_path = ''
as $$
declare
  v text;
begin
  execute format($q$
    select format('(select * from unnest(%%L::date[], %%L::text[], %%L::text[], %%L::text[], %%L::text[], %%L::float8[], %%L::float8[], %%L::float8[], %%L::float8[])
                     as c(day, asset_type, migration_state, age, seg, attempts, failures, excess, flag))',
                  coalesce(array_agg(c.day order by c.day, c.seg, c.age), '{}'), coalesce(array_agg(c.asset_type order by c.day, c.seg, c.age), '{}'),
                  coalesce(array_agg(c.migration_state order by c.day, c.seg, c.age), '{}'), coalesce(array_agg(c.age order by c.day, c.seg, c.age), '{}'),
                  coalesce(array_agg(c.seg order by c.day, c.seg, c.age), '{}'), coalesce(array_agg(c.attempts order by c.day, c.seg, c.age), '{}'),
                  coalesce(array_agg(c.failures order by c.day, c.seg, c.age), '{}'), coalesce(array_agg(c.excess order by c.day, c.seg, c.age), '{}'),
                  coalesce(array_agg(c.flag order by c.day, c.seg, c.age), '{}'))
    from %s c$q$, aoma_private.attempt_cells_sql(d_from, d_to, with_next))
    into v;
  return v;
end;
$$;

-- aoma_private.attempt_frame_sql(terms, cells, d_from, d_to): the rows of a fit (aoma_private.glm_fit's
-- shape): one per cell of `cells` (a FROM item: attempt_cells_literal) from d_from to d_to, o (the day), k (segment|cohort), y (failures), off (ln
-- attempts: the trials of a grouped binomial row), x and x_1 … x_p (aoma_private.model_term_expr
-- over the day's features v and the cell c), in day and cell order.
drop function if exists aoma_private.attempt_frame_sql(jsonb, date, date);
create or replace function aoma_private.attempt_frame_sql(terms jsonb, cells text, d_from date, d_to date)
returns text
language sql
immutable
set search_path = ''
as $$
  with t as (select e, o from jsonb_array_elements(coalesce(terms, '[]'::jsonb)) with ordinality as u(e, o) where e ->> 'form' <> 'exclude'),
       -- with the onset flag in the model, a flagged cell's day terms are 0
       f as (select exists (select from t where t.e ->> 'form' = 'flag') as on_)
  select format(
    'select s.o, s.k, s.y, s.off, %s as x%s from (select c.day as o, c.seg || ''|'' || c.age as k, c.failures as y, ln(c.attempts) as off%s
       from %s c join analytics.features_daily v on v.day = c.day where c.day between %L::date and %L::date) s order by s.o, s.k',
    coalesce((select format('array[%s]::float8[]', string_agg(format('s.x_%s', o), ', ' order by o)) from t), '''{}''::float8[]'),
    coalesce((select string_agg(format(', s.x_%s', o), '' order by o) from t), ''),
    coalesce((select string_agg(format(', %s as x_%s',
                                       case when f.on_ and e ->> 'form' not in ('level', 'excess', 'flag')
                                            then format('(%s) * (1 - c.flag)', aoma_private.model_term_expr(e)) else aoma_private.model_term_expr(e) end, o),
                                '' order by o) from t, f), ''),
    cells, d_from, d_to)
$$;

-- aoma_private.attempt_level_terms(cells, d_from, d_to): the segment indicators of a fit on d_from..d_to
-- (see the header: every level but the commonest of asset_type, migration_state and age with at
-- least 100 attempts, 5 failures and 5 successes).
drop function if exists aoma_private.attempt_level_terms(date, date);
create or replace function aoma_private.attempt_level_terms(cells text, d_from date, d_to date)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  v jsonb;
begin
  execute format($q$
    with c as (select * from %s c where c.day between %L::date and %L::date),
    lv as (select 'asset_type' as col, c.asset_type as lvl, sum(c.attempts) as n, sum(c.failures) as y from c group by 2
           union all select 'migration_state', c.migration_state, sum(c.attempts), sum(c.failures) from c group by 2
           union all select 'age', c.age, sum(c.attempts), sum(c.failures) from c group by 2),
    r as (select lv.*, row_number() over (partition by lv.col order by lv.n desc, lv.lvl collate "C") as rk from lv)
    select coalesce(jsonb_agg(jsonb_build_object('feature', r.col, 'lag', 0, 'form', 'level', 'level', r.lvl, 'binary', true)
                              order by array_position(array['asset_type', 'migration_state', 'age'], r.col), r.lvl collate "C"), '[]'::jsonb)
    from r where r.rk > 1 and r.n >= 100 and r.y >= 5 and r.n - r.y >= 5$q$, cells, d_from, d_to)
    into v;
  return v;
end;
$$;

-- aoma_private.attempt_flag_term(cells, d_from, d_to): [the onset flag term] when the cells of
-- d_from..d_to hold at least 100 flagged attempts with 5 failures and 5 successes, else [].
create or replace function aoma_private.attempt_flag_term(cells text, d_from date, d_to date)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  v_n float8;
  v_y float8;
begin
  execute format('select coalesce(sum(c.attempts) filter (where c.flag = 1), 0), coalesce(sum(c.failures) filter (where c.flag = 1), 0)
                  from %s c where c.day between %L::date and %L::date', cells, d_from, d_to) into v_n, v_y;
  return case when v_n >= 100 and v_y >= 5 and v_n - v_y >= 5
              then jsonb_build_array(jsonb_build_object('feature', 'segment_onset', 'lag', 0, 'form', 'flag', 'binary', true))
              else '[]'::jsonb end;
end;
$$;

-- aoma_private.attempt_terms(predictors, max_lag, cells, d_from, d_to, scope): the glm's terms on the
-- training days d_from..d_to: the daily failure-rate model's steps, the segment levels, the onset
-- flag (when the training days hold enough flagged attempts), the excess.
drop function if exists aoma_private.attempt_terms(text[], integer, date, date, jsonb);
create or replace function aoma_private.attempt_terms(predictors text[], max_lag integer, cells text, d_from date, d_to date, scope jsonb)
returns jsonb
language sql
stable
set search_path = ''
as $$
  select aoma_private.model_columns(aoma_private.model_select_terms('processing_failure_rate', 'rate', predictors, max_lag, d_from - max_lag, d_to, scope))
         || aoma_private.attempt_level_terms(cells, d_from, d_to)
         || aoma_private.attempt_flag_term(cells, d_from, d_to)
         || jsonb_build_array(jsonb_build_object('feature', 'segment_excess', 'lag', 0, 'form', 'excess', 'binary', false))
$$;

-- aoma_private.attempt_cv(predictors, max_lag, days, n_folds, candidates, scope, cells): the cross-validation
-- of the per-attempt candidates (see the header) on `cells` (attempt_cells_literal of the window). Returns {folds, rows: [{candidate, fold, day, k, y,
-- n, p}], notes}.
drop function if exists aoma_private.attempt_cv(text[], integer, date[], integer, text[], jsonb);
create or replace function aoma_private.attempt_cv(
  predictors text[], max_lag integer, days date[], n_folds integer, candidates text[], scope jsonb, cells text
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
  v_folds jsonb := '[]'::jsonb;
  v_rows jsonb := '[]'::jsonb;
  v_notes text[] := '{}'::text[];
  v_terms jsonb;
  v_fit jsonb;
  v_beta float8[];
  v_base float8;
  v_msg text;
  v_new jsonb;
  v_cells text;
begin
  for f in 1..n_folds loop
    v_from := v_start + ((f - 1) * (n / 2)) / n_folds;
    v_to := case when f = n_folds then n else v_start + (f * (n / 2)) / n_folds - 1 end;
    v_folds := v_folds || jsonb_build_object('fold', f, 'train_days', v_from - 1, 'train_from', days[1], 'train_to', days[v_from - 1],
                                             'test_from', days[v_from], 'test_to', days[v_to]);
    v_cells := format('(select * from %s c where c.day between %L::date and %L::date)', cells, days[v_from], days[v_to]);
    execute format('select sum(c.failures) / sum(c.attempts) from %s c where c.day between %L::date and %L::date', cells, days[1], days[v_from - 1])
      into v_base;
    -- the baselines: the base rate, and each segment × cohort at its own shrunk training rate
    execute format($q$
      select coalesce(jsonb_agg(jsonb_build_object('candidate', m.cand, 'fold', %s, 'day', c.day, 'k', c.seg || '|' || c.age,
                                                   'y', c.failures, 'n', c.attempts,
                                                   'p', case when m.cand = 'mean' then $1 else (coalesce(t.y, 0) + 20 * $1) / (coalesce(t.n, 0) + 20) end)
                               order by m.cand, c.day, c.seg || '|' || c.age), '[]')
      from %s c
      cross join unnest($2::text[]) as m(cand)
      left join (select tc.seg, tc.age, sum(tc.attempts) as n, sum(tc.failures) as y from %s tc where tc.day between %L::date and %L::date group by 1, 2) t
        on t.seg = c.seg and t.age = c.age
      where m.cand in ('mean', 'segment_rate')$q$,
      f, v_cells, cells, days[1], days[v_from - 1])
      into v_new using v_base, candidates;
    v_rows := v_rows || v_new;
    if 'glm' = any (candidates) then
      begin
        v_terms := aoma_private.attempt_terms(predictors, max_lag, cells, days[1], days[v_from - 1], scope);
        v_fit := aoma_private.glm_fit(aoma_private.attempt_frame_sql(v_terms, cells, days[1], days[v_from - 1]),
                                      array(select aoma_private.model_term_label(e) from jsonb_array_elements(v_terms) e), 'binomial', 95, 0);
        v_beta := array(select jsonb_array_elements_text(v_fit -> 'estimate')::float8);
        execute format('select coalesce(jsonb_agg(jsonb_build_object(''candidate'', ''glm'', ''fold'', %s, ''day'', s.o, ''k'', s.k, ''y'', s.y, ''n'', exp(s.off),
                          ''p'', aoma_private.glm_mean(''binomial'', aoma_private.linear_predictor($1, s.x))) order by s.o, s.k), ''[]'') from (%s) s',
                       f, aoma_private.attempt_frame_sql(v_terms, cells, days[v_from], days[v_to]))
          into v_new using v_beta;
      exception when sqlstate '22023' or sqlstate 'P0001' then
        get stacked diagnostics v_msg = message_text;
        v_notes := v_notes || format('fold %s: glm not fitted on the %s days before it (%s); the fold counts the base rate for it', f, v_from - 1, v_msg);
        execute format('select coalesce(jsonb_agg(jsonb_build_object(''candidate'', ''glm'', ''fold'', %s, ''day'', c.day, ''k'', c.seg || ''|'' || c.age,
                          ''y'', c.failures, ''n'', c.attempts, ''p'', $1) order by c.day, c.seg || ''|'' || c.age), ''[]'') from %s c', f, v_cells)
          into v_new using v_base;
      end;
      v_rows := v_rows || v_new;
    end if;
  end loop;
  return jsonb_build_object('folds', v_folds, 'rows', v_rows, 'notes', to_jsonb(v_notes));
end;
$$;

-- aoma_private.attempt_rows(cv): the cross-validated cells of aoma_private.attempt_cv's answer as rows
-- (candidate c, fold, day, k, y failures, n attempts, p clipped to [1e-15, 1 − 1e-15]).
create or replace function aoma_private.attempt_rows(cv jsonb)
returns table (c text, fold integer, day date, k text, y float8, n float8, p float8)
language sql
immutable
set search_path = ''
as $$
  select x ->> 'candidate', (x ->> 'fold')::int, (x ->> 'day')::date, x ->> 'k', (x ->> 'y')::float8, (x ->> 'n')::float8,
         least(1 - 1e-15, greatest(1e-15, (x ->> 'p')::float8))
  from jsonb_array_elements(cv -> 'rows') x
$$;

-- aoma_private.attempt_summary(cv, threshold): per candidate its fold losses (log loss per attempt),
-- their mean and standard error, and analytics.binary_metrics over its cross-validated attempts (one
-- 0/1 value per attempt) at `threshold`.
create or replace function aoma_private.attempt_summary(cv jsonb, threshold float8)
returns jsonb
language sql
stable
set search_path = ''
as $$
  with r as (select * from aoma_private.attempt_rows(cv)),
  per_fold as (select r.c, r.fold, sum(-(r.y * ln(r.p) + (r.n - r.y) * ln(1 - r.p))) / sum(r.n) as loss from r group by r.c, r.fold),
  agg as (select per_fold.c, avg(per_fold.loss) as m, stddev_samp(per_fold.loss) / sqrt(count(*)) as se,
                 jsonb_agg(per_fold.loss order by per_fold.fold) as losses
          from per_fold group by per_fold.c)
  select jsonb_agg(jsonb_build_object(
           'name', agg.c, 'simplicity', array_position(array['mean', 'segment_rate', 'glm'], agg.c),
           'loss_mean', agg.m, 'loss_se', agg.se, 'fold_losses', agg.losses,
           'metrics', (select analytics.binary_metrics(array_agg(v.y order by r.day, r.k, v.y), array_agg(r.p order by r.day, r.k, v.y), threshold, 10)
                       from r cross join lateral (select 1::float8 as y from generate_series(1, r.y::int)
                                                  union all select 0::float8 from generate_series(1, (r.n - r.y)::int)) v
                       where r.c = agg.c))
         order by array_position(array['mean', 'segment_rate', 'glm'], agg.c))
  from agg
$$;

-- aoma_private.attempt_differential(cv, base, chosen): per cross-validated day, the log loss per
-- attempt of `base` minus that of `chosen` (aoma_private.attempt_cv's rows), in day order.
create or replace function aoma_private.attempt_differential(cv jsonb, base text, chosen text)
returns float8[]
language sql
stable
set search_path = ''
as $$
  with r as (select * from aoma_private.attempt_rows(cv)),
       d as (select r.c, r.day, sum(-(r.y * ln(r.p) + (r.n - r.y) * ln(1 - r.p))) / sum(r.n) as loss from r group by r.c, r.day)
  select array_agg(b.loss - c.loss order by b.day) from d b join d c on c.day = b.day and c.c = chosen where b.c = base
$$;

-- aoma_private.build_attempt_model(…): analytics.build_predictive_model for the target
-- processing_attempt_failure (see the header); the arguments are build_predictive_model's, checked there.
create or replace function aoma_private.build_attempt_model(
  predictors text[], date_from date, date_to date, horizon integer, model_type text, max_lag integer, n_folds integer, simulations integer
)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  days date[];
  n integer;
  v_cands text[] := array['mean', 'segment_rate'];
  v_scope jsonb;
  cv jsonb;
  summary jsonb;
  v_best jsonb;
  v_base jsonb;
  v_chosen jsonb;
  v_beats boolean;
  v_rate float8;
  v_attempts float8;
  v_notes text[] := '{}'::text[];
  v_terms jsonb;
  v_frame text;
  v_fit jsonb;
  v_model jsonb;
  v_pmodel jsonb;
  v_groups jsonb;
  v_pred jsonb;
  v_msg text;
  v_gterms integer[];
  v_cells text;
  v_gate jsonb;
  tgt jsonb := jsonb_build_object('family', 'binomial', 'kind', 'attempt');
begin
  if model_type = 'boosted' then
    raise exception 'the per-attempt model (processing_attempt_failure) has no boosted candidate; use model_type auto, glm or baseline' using errcode = '22023';
  end if;
  perform from aoma_private.model_candidates('processing_failure_rate', predictors);  -- the predictors' checks
  select array_agg(x.day order by x.day) into days
  from (select distinct (p.started_at at time zone 'UTC')::date as day from aoma.processing_attempts p) x
  join analytics.features_daily v on v.day = x.day
  where x.day >= coalesce(date_from, '-infinity'::date) + max_lag and x.day <= coalesce(date_to, 'infinity'::date);
  n := coalesce(cardinality(days), 0);
  if n < 20 then
    raise exception 'not enough data: % days with processing attempts between % and % (after a lag of % days); at least 20 are needed',
      n, coalesce(date_from::text, 'the first day'), coalesce(date_to::text, 'the last day'), max_lag using errcode = '22023';
  end if;
  if n / 2 < 2 * n_folds then
    raise exception 'too few days for % folds: % days with attempts; the later half (%) must give every fold 2 days — fewer folds or a longer window',
      n_folds, n, n / 2 using errcode = '22023';
  end if;
  if n > 730 then
    raise exception 'too much work: % days; at most 730 days per per-attempt model (two years) — narrow the date range', n using errcode = '22023';
  end if;
  v_cells := aoma_private.attempt_cells_literal(days[1], days[n]);
  execute format('select sum(c.failures) / sum(c.attempts), sum(c.attempts) from %s c', v_cells) into v_rate, v_attempts;
  if v_rate = 0 or v_rate = 1 then
    raise exception 'one outcome only: % of the % attempts between % and % failed; there is nothing to predict — widen the window',
      case when v_rate = 0 then 'none' else 'all' end, v_attempts, days[1], days[n] using errcode = '22023';
  end if;
  if model_type in ('auto', 'glm') then
    v_cands := v_cands || 'glm'::text;
  end if;
  -- the day's drivers are selected on the attempts the daily model's segment screen keeps
  v_scope := aoma_private.model_screen_segments('[]'::jsonb, days[1], days[n]);
  cv := aoma_private.attempt_cv(predictors, max_lag, days, n_folds, v_cands, v_scope, v_cells);
  v_notes := v_notes || array(select jsonb_array_elements_text(cv -> 'notes'));
  summary := aoma_private.attempt_summary(cv, 1.5 * v_rate);
  select e into v_best from jsonb_array_elements(summary) e order by (e ->> 'loss_mean')::float8, (e ->> 'simplicity')::int limit 1;
  select e into v_base from jsonb_array_elements(summary) e where e ->> 'name' = 'mean';
  summary := (select jsonb_agg(e || jsonb_build_object('vs_best', aoma_private.paired_difference(e -> 'fold_losses', v_best -> 'fold_losses'))
                               order by (e ->> 'simplicity')::int)
              from jsonb_array_elements(summary) e);
  if model_type = 'auto' then
    select e into v_chosen from jsonb_array_elements(summary) e
    where (e -> 'vs_best' ->> 'mean')::float8 <= (e -> 'vs_best' ->> 'se')::float8
    order by (e ->> 'simplicity')::int limit 1;
  elsif model_type = 'baseline' then
    select e into v_chosen from jsonb_array_elements(summary) e where e ->> 'name' = 'mean';
  else
    select e into v_chosen from jsonb_array_elements(summary) e where e ->> 'name' = model_type;
  end if;
  -- beats the base rate significantly (aoma_private.baseline_test), or the base rate predicts (auto)
  v_gate := aoma_private.baseline_test(aoma_private.attempt_differential(cv, 'mean', v_chosen ->> 'name'));
  v_beats := v_chosen ->> 'name' <> 'mean' and (v_gate ->> 'beats')::boolean;
  if model_type = 'auto' and v_chosen ->> 'name' <> 'mean' and not v_beats then
    v_notes := v_notes || format('%s is the one-SE rule''s choice but does not beat the base rate significantly (gain %s ± %s per day, t = %s ≤ %s): no model beats the baseline, and the base rate predicts',
      v_chosen ->> 'name', round((v_gate ->> 'gain')::numeric, 5), round((v_gate ->> 'se')::numeric, 5),
      coalesce(round((v_gate ->> 't')::numeric, 2)::text, 'n/a'), round((v_gate ->> 't_crit')::numeric, 2));
    v_chosen := v_base;
  end if;

  -- ── the glm on every day of the window ──
  v_model := jsonb_build_object('candidate', v_chosen ->> 'name', 'mean', v_rate, 'terms', '[]'::jsonb);
  if 'glm' = any (v_cands) then
    begin
      v_terms := aoma_private.attempt_terms(predictors, max_lag, v_cells, days[1], days[n], v_scope);
      v_frame := aoma_private.attempt_frame_sql(v_terms, v_cells, days[1], days[n]);
      v_fit := aoma_private.glm_fit(v_frame, array(select aoma_private.model_term_label(e) from jsonb_array_elements(v_terms) e), 'binomial', 95, 0);
      v_model := v_model || jsonb_build_object('glm', jsonb_build_object(
        'terms', aoma_private.model_glm_terms(v_fit, v_terms, v_frame),
        'intercept', (v_fit -> 'estimate' ->> 0)::float8, 'n', (v_fit ->> 'n')::int, 'deviance', (v_fit ->> 'deviance')::float8,
        'null_deviance', (v_fit ->> 'null_deviance')::float8, 'aic', (v_fit ->> 'aic')::float8, 'scale', (v_fit ->> 'scale')::float8,
        'r2', null, 'cond', (v_fit ->> 'cond')::float8, 'family', 'binomial', 'fit', v_fit, 'spec', v_terms,
        'rows', 'cells (day × asset type × migration state × upload-age cohort) of attempts: a grouped binomial fit, the same as one row per attempt',
        'excluded_mix', null, 'excluded_segments', '[]'::jsonb));
    exception when sqlstate '22023' or sqlstate 'P0001' then
      get stacked diagnostics v_msg = message_text;
      if predictors is not null then
        raise exception 'the named predictorVariables cannot be fitted together: %', v_msg using errcode = '22023';
      end if;
      v_notes := v_notes || format('the glm could not be fitted on the whole window: %s', v_msg);
      v_fit := null;
    end;
  end if;

  -- ── the next days, per group ──
  -- the groups: segment × cohort with attempts in the last 28 days, with their share and the values of
  -- their level and excess terms on the day after the window
  v_gterms := array(select o::int from jsonb_array_elements(coalesce(v_terms, '[]'::jsonb)) with ordinality as u(e, o) where e ->> 'form' in ('level', 'excess', 'flag'));
  execute format($q$
    select jsonb_agg(jsonb_build_object('group', c.seg || ' · uploaded ' || c.age || ' before', 'segment', c.seg, 'age', c.age,
                                        'share', c.share, 'attempts_28d', c.attempts,
                                        'rate_28d', r.rate,
                                        'excess', c.excess, 'onset_flag', c.flag,
                                        'day_weight', case when exists (select from jsonb_array_elements(coalesce($2, '[]'::jsonb)) e where e ->> 'form' = 'flag')
                                                           then 1 - c.flag else 1 end,
                                        'values', jsonb_build_array(%1$s)) order by c.attempts desc, c.seg, c.age)
    from (select c.*, c.attempts / sum(c.attempts) over () as share from %3$s c where c.day = $1 + 1) c
    left join (select t.seg, t.age, sum(t.failures) / sum(t.attempts) as rate from %2$s t group by 1, 2) r on r.seg = c.seg and r.age = c.age$q$,
    coalesce((select string_agg(case when e ->> 'form' in ('level', 'excess', 'flag') then aoma_private.model_term_expr(e) else 'null::float8' end, ', ' order by o)
              from jsonb_array_elements(coalesce(v_terms, '[]'::jsonb)) with ordinality as u(e, o)), ''),
    format('(select * from %s c where c.day >= %L::date)', v_cells, days[n] - 27), aoma_private.attempt_cells_literal(days[n] - 27, days[n], true))
    into v_groups using days[n], v_terms;
  v_pmodel := case
    when v_chosen ->> 'name' = 'glm' and v_fit is not null then
      jsonb_build_object('kind', 'glm', 'terms', v_terms, 'beta', v_fit -> 'estimate', 'cov', v_fit -> 'cov', 'groups', v_groups)
    else
      -- a baseline: every group at its own rate (segment_rate) or the base rate (mean); no drivers
      jsonb_build_object('kind', 'mean', 'beta', jsonb_build_array(ln(v_rate / (1 - v_rate))),
        'cov', jsonb_build_array(1 / (v_attempts * v_rate * (1 - v_rate))),
        'groups', (select jsonb_agg(g || jsonb_build_object('values', '[]'::jsonb,
                     'offset', case when v_chosen ->> 'name' = 'segment_rate'
                                    then ln(((g ->> 'rate_28d')::float8 * (g ->> 'attempts_28d')::float8 + 20 * v_rate) / ((g ->> 'attempts_28d')::float8 + 20))
                                         - ln(1 - ((g ->> 'rate_28d')::float8 * (g ->> 'attempts_28d')::float8 + 20 * v_rate) / ((g ->> 'attempts_28d')::float8 + 20))
                                         - ln(v_rate / (1 - v_rate))
                                    else 0 end)) from jsonb_array_elements(v_groups) g)) end;
  v_pred := aoma_private.model_predict_days(tgt, v_pmodel, days[n], horizon, least(simulations, 1000),
              md5('processing_attempt_failure' || coalesce(array_to_string(predictors, ','), '') || days[1] || days[n]), days[1]);
  v_notes := v_notes || array(select jsonb_array_elements_text(v_pred -> 'notes'));
  if cardinality(v_gterms) > 0 then
    v_notes := v_notes || 'next days: each group''s segment excess and onset flag are held at their values for the day after the window (the 7 days before it are known; later ones are not)'::text;
  end if;

  return jsonb_build_object(
    'target', 'processing_attempt_failure', 'kind', 'attempt', 'family', 'binomial', 'unit', 'probability per attempt', 'exposure', null,
    'window', jsonb_build_object('from', days[1], 'to', days[n]), 'n_days', n, 'n_attempts', v_attempts, 'max_lag', max_lag, 'model_type', model_type,
    'folds', cv -> 'folds',
    'scope', jsonb_build_object('excluded_segments', '[]'::jsonb, 'excluded_mix', null,
      'text', 'every attempt: the per-attempt model keeps every segment (the segment screen only decides on which attempts the day''s drivers are selected)'),
    'candidates', summary,
    'rule', case when model_type = 'auto' then 'one standard error, paired: the simplest candidate whose cross-validated losses exceed the best one''s, fold by fold, by at most one standard error of that difference (vs_best); a choice that does not beat the base rate significantly (baseline_test) leaves the base rate'
                 else format('model_type %s: the %s candidate, cross-validated beside the baselines', model_type, model_type) end,
    'baseline_test', v_gate,
    'loss', 'log loss per attempt',
    'best', v_best ->> 'name', 'chosen', v_chosen ->> 'name', 'baseline', 'mean', 'beats_baseline', v_beats,
    'mean_value', v_rate,
    'threshold', 1.5 * v_rate,
    'accuracy', jsonb_build_object('value', coalesce((v_chosen -> 'metrics' ->> 'auc')::float8, 0.5), 'measure', 'AUC per attempt (cross-validated)', 'baseline', 0.5),
    'model', v_model,
    'predictions', (select jsonb_agg(d || jsonb_build_object(
                       'ratio_to_mean', (d ->> 'prediction')::float8 / nullif(v_rate, 0),
                       'risk', case when (d ->> 'prediction')::float8 >= 1.5 * v_rate then 'HIGH'
                                    when (d ->> 'prediction')::float8 >= v_rate then 'MEDIUM' else 'LOW' end,
                       'groups', (select jsonb_agg(g || jsonb_build_object('risk', case when (g ->> 'prediction')::float8 >= 1.5 * v_rate then 'HIGH'
                                                                                      when (g ->> 'prediction')::float8 >= v_rate then 'MEDIUM' else 'LOW' end)
                                                   order by (g ->> 'prediction')::float8 desc)
                                  from jsonb_array_elements(d -> 'groups') g)) order by d ->> 'day')
                    from jsonb_array_elements(v_pred -> 'days') d),
    'prediction_method', jsonb_build_object('draws', v_pred -> 'draws',
      'text', 'simulation per group: coefficients drawn from their estimated normal distribution and unknown driver values from their forecasts; a day''s prediction is the groups'' mixture by their share of the last 28 days'' attempts; intervals = quantiles of the draws'),
    'risk_cutoffs', jsonb_build_object('high', 1.5 * v_rate, 'medium', v_rate,
      'text', 'HIGH ≥ 1.5 × the window''s failure rate per attempt, MEDIUM from 1 × to 1.5 ×, LOW below it'),
    'notes', to_jsonb(v_notes));
end;
$$;

revoke execute on function aoma_private.upload_age_cohort(interval), aoma_private.attempt_cells_sql(date, date, boolean),
  aoma_private.attempt_cells_literal(date, date, boolean),
  aoma_private.attempt_frame_sql(jsonb, text, date, date), aoma_private.attempt_level_terms(text, date, date),
  aoma_private.attempt_terms(text[], integer, text, date, date, jsonb), aoma_private.attempt_cv(text[], integer, date[], integer, text[], jsonb, text),
  aoma_private.attempt_flag_term(text, date, date), aoma_private.attempt_differential(jsonb, text, text), aoma_private.attempt_rows(jsonb),
  aoma_private.attempt_summary(jsonb, float8), aoma_private.build_attempt_model(text[], date, date, integer, text, integer, integer, integer) from public;
grant execute on function aoma_private.upload_age_cohort(interval), aoma_private.attempt_cells_sql(date, date, boolean),
  aoma_private.attempt_cells_literal(date, date, boolean),
  aoma_private.attempt_frame_sql(jsonb, text, date, date), aoma_private.attempt_level_terms(text, date, date),
  aoma_private.attempt_terms(text[], integer, text, date, date, jsonb), aoma_private.attempt_cv(text[], integer, date[], integer, text[], jsonb, text),
  aoma_private.attempt_flag_term(text, date, date), aoma_private.attempt_differential(jsonb, text, text), aoma_private.attempt_rows(jsonb),
  aoma_private.attempt_summary(jsonb, float8), aoma_private.build_attempt_model(text[], date, date, integer, text, integer, integer, integer)
  to authenticated, service_role;
