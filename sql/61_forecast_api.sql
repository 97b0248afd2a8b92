-- AOMA Mesh Analytics — forecasting in SQL, part 2: backtest, conformal intervals, `auto`, and the
-- two entry points analytics.forecast_series (any array) and analytics.forecast_feature (catalog
-- features, many in one call). The ETS engine is sql/60_forecast.sql.
--
-- ── analytics.forecast_series(y, season, horizon, levels, method, label, season2) ──────────────
--   y         float8[]  the history, oldest first, one value per period (nulls allowed inside: skipped)
--   season    integer   period of the season (24 hourly, 7 daily, 52 weekly; 1 = none)
--   horizon   integer   default 7: steps to forecast, 1..500
--   levels    float8[]  default {80,95}: interval levels in percent, each in (0, 100), at most 10
--   method    text      default 'auto': 'auto' | 'ets' | 'seasonal_naive' | 'all'
--   label     text      default null: echoed as series_id in every row (so calls can be unioned)
--   season2   integer   default null: a second, longer season (168 for hourly data): adds the
--                       candidates seasonal_naive_2 and combination (see below)
-- Returns one row per step (per candidate with method 'all'):
--   series_id, step, point, interval_levels, lower[], upper[] (per level), coverage[] (backtest
--   coverage per level, see Intervals), n_errors (backtest errors the step's intervals rest on),
--   method_used ('seasonal_naive' | 'ets' | 'seasonal_naive_2' | 'combination'), model (form, parameters),
--   chosen (the candidate `auto` picks), backtest_mase, baseline_mase (seasonal naive's, always
--   computed), n_history (non-null values), notes.
--
-- ── analytics.forecast_feature(features, grain, horizon, levels, method, history) ─────────────────
--   features text[]  catalog names (analytics.feature_catalog) of the grain, 1..50
--   grain    text     'hour' | 'day' | 'week' (season 24 and second season 168 / 7 / 52 when the
--                     history allows it, else none, with a note)
--   history  integer  default null: only the last `history` periods; null = 1,008 hours (6 weeks),
--                     730 days or 260 weeks (fewer when the view holds fewer)
-- Returns the rows of forecast_series for each feature (duplicates ignored), with `feature` and
-- `period` (start of the forecast period, UTC) in front. Reads analytics.features_hourly / _daily /
-- _weekly as the caller. Calendar features are refused (their future is known). Work bound (see
-- Bounded work): the sum over features of aoma_private.forecast_work(history, season, 9) ≤ 50,000
-- (0 for method seasonal_naive, which fits nothing) — about 7 daily features of 2 years, 1 hourly feature of 6 weeks or 2 weekly ones of 5 years per
-- call — checked before anything runs.
--
-- ── Method ──────────────────────────────────────────────────────────────────────────────────────
-- Backtest (rolling origin): the last W = max(horizon + 19, ⌊n/4⌋) periods are the backtest
-- window; every candidate's parameters are estimated on the T = n − W values before it, then the
-- candidate forecasts steps 1..horizon from every origin T, T+1, …, n−1 (states updated with the
-- actuals, parameters fixed), so step s rests on W − s + 1 errors (at least 20). The forecast itself
-- is made from origin n the same way, so the backtest measures exactly what is returned.
-- MASE = mean |error| over all origins and steps / mean |y_t − y_{t−m}| over the T training values.
-- Candidates: seasonal_naive (always; the baseline), ets (every ETS form of sql/60_forecast.sql
-- that fits the data, the one with the lowest AICc on the training values; each form fitted with a
-- budget of 1,000 passes over the data, one start, no profiling — aoma_private.ets_fit's defaults,
-- with which the statsmodels parity is measured, spend up to 10× more), and with season2:
-- seasonal_naive_2 (seasonal naive at the second season) and combination (mean of ets and
-- seasonal_naive_2). `auto` takes the candidate with the lowest backtest MASE; when none beats the
-- seasonal naive, it uses the seasonal naive and the notes say so.
-- Intervals (split conformal, per step): the ⌈(k+1)·level⌉-th smallest |error| of the k backtest
-- errors of that step is the half-width. When k is too small for a level (⌈(k+1)·level⌉ > k), the
-- interval falls back to the sanity bound below, with a note. coverage[] is measured honestly: the
-- half-width is taken from the first half of the origins and the share of the second half's errors
-- inside it is reported (over all steps); null for a level whose rank the earlier half is too small
-- for (e.g. 95% with fewer than 19 errors there): that interval cannot be checked, which is not 0%.
-- Sanity rule: no interval is wider than 2 × the observed range (max − min) of the history: a
-- half-width above the range is cut to the range (noted); a point forecast stays within
-- [min − range, max + range]; a series that never goes below 0 gets lower bounds ≥ 0.
-- Bounded work (PGlite cannot cancel a statement): at most 50,000 units per call, units =
-- aoma_private.forecast_work(values, season, ETS forms) = values × forms × max(season, 7) / 7: one
-- unit is one value in one ETS form with a weekly season of days; a longer season costs in
-- proportion (its initial seasonal states are estimated too). Measured per series on PGlite (the
-- slower engine): 2 years of days (6,570 units) 1.1 s, 1,008 hours with the second season (31,104
-- units) 16.4 s, 5 years of weeks (17,383 units) 5.4 s — so the largest call allowed (7 daily
-- series of 2 years: 7.8 s; 1 hourly series of 6 weeks) fits the 30 s tool deadline. More is
-- refused with a sentence saying so (fewer features per call or a shorter history).
-- Errors (SQLSTATE 22023): one sentence saying what was wrong and what is allowed.

-- aoma_private.forecast_intervals(err, h, levels): per step 1..h of a backtest error matrix
-- (origin-major, h columns, nulls where no actual): the number of errors k, the conformal
-- half-width per level (the ⌈(k+1)·level⌉-th smallest |error|; null when that exceeds k), and for
-- the split-half check: the errors of the later half of the origins (tested) and how many of them
-- lie within the half-width taken from the earlier half alone (covered, per level).
-- aoma_private.forecast_work(n, m, forms): the work units of fitting `forms` ETS forms to n values
-- with season m (see Bounded work above).
create or replace function aoma_private.forecast_work(n bigint, m integer, forms integer)
returns bigint
language sql
immutable
set search_path = ''
as $$ select ceil(n * forms * greatest(m, 7) / 7.0)::bigint $$;
revoke execute on function aoma_private.forecast_work(bigint, integer, integer) from public;
grant execute on function aoma_private.forecast_work(bigint, integer, integer) to authenticated, service_role;

create or replace function aoma_private.forecast_intervals(err float8[], h integer, levels float8[])
returns table (step integer, n_errors integer, half_width float8[], tested integer, covered integer[])
language sql
immutable
set search_path = ''
as $$
  with e as (
    select ((u.i - 1) % h + 1)::integer as s, ((u.i - 1) / h)::integer as o, abs(u.v) as a
    from unnest(err) with ordinality as u(v, i)
    where u.v is not null
  ), cut as (select (max(e.o) + 1) / 2 as c from e),
  per_step as (
    select e.s, count(*)::integer as k,
           array_agg(e.a order by e.a) as sorted,
           coalesce(array_agg(e.a order by e.a) filter (where e.o < cut.c), '{}') as cal,
           coalesce(array_agg(e.a) filter (where e.o >= cut.c), '{}') as test
    from e cross join cut group by e.s
  )
  select p.s, p.k,
         (select array_agg(p.sorted[ceil((p.k + 1) * l.lv / 100.0)::int] order by l.ord)
          from unnest(levels) with ordinality as l(lv, ord)),
         cardinality(p.test),
         -- null where the earlier half has too few errors for the level's rank: that interval cannot be checked
         (select array_agg(case when ceil((cardinality(p.cal) + 1) * l.lv / 100.0)::int <= cardinality(p.cal) then
                             (select count(*)::integer from unnest(p.test) as x
                              where x <= p.cal[ceil((cardinality(p.cal) + 1) * l.lv / 100.0)::int]) end order by l.ord)
          from unnest(levels) with ordinality as l(lv, ord))
  from per_step p
  order by p.s
$$;
revoke execute on function aoma_private.forecast_intervals(float8[], integer, float8[]) from public;
grant execute on function aoma_private.forecast_intervals(float8[], integer, float8[]) to authenticated, service_role;

-- aoma_private.snaive_run(y, m, bt_from, bt_h, horizon): the seasonal naive forecast (the last value
-- at the same position of the season; a null there reaches one more season back) from origin n, and
-- its backtest errors from every origin ≥ bt_from (origin-major, bt_h columns, as ets_run).
create or replace function aoma_private.snaive_run(
  y float8[], m integer, bt_from integer, bt_h integer, horizon integer,
  out forecast float8[], out bt_err float8[]
)
language plpgsql
immutable
set search_path = ''
as $$
declare
  n integer := cardinality(y);
  j integer;
  f float8;
begin
  bt_err := array_fill(null::float8, array[greatest(n - bt_from + 1, 0) * bt_h]);
  forecast := array_fill(null::float8, array[horizon]);
  for o in bt_from..n loop
    for s in 1..case when o = n then horizon else least(bt_h, n - o) end loop
      j := o + s - m * ((s - 1) / m + 1);
      while j >= 1 and y[j] is null loop
        j := j - m;
      end loop;
      f := case when j >= 1 then y[j] end;
      if o = n then
        forecast[s] := f;
      elsif y[o + s] is not null and f is not null then
        bt_err[(o - bt_from) * bt_h + s] := y[o + s] - f;
      end if;
    end loop;
  end loop;
end;
$$;
revoke execute on function aoma_private.snaive_run(float8[], integer, integer, integer, integer) from public;
grant execute on function aoma_private.snaive_run(float8[], integer, integer, integer, integer) to authenticated, service_role;

drop function if exists analytics.forecast_series(float8[], integer, integer, float8[], text, text, integer);
create or replace function analytics.forecast_series(
  y float8[],
  season integer,
  horizon integer default 7,
  levels float8[] default '{80,95}',
  method text default 'auto',
  label text default null,
  season2 integer default null
)
returns table (
  series_id text, step integer, point float8, interval_levels float8[], lower float8[], upper float8[],
  coverage float8[], n_errors integer, method_used text, model text, chosen boolean,
  backtest_mase float8, baseline_mase float8, n_history integer, notes text
)
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_method text := coalesce(forecast_series.method, 'auto');
  v_h integer := coalesce(forecast_series.horizon, 7);
  v_levels float8[] := coalesce(forecast_series.levels, '{80,95}');
  m integer := forecast_series.season;
  m2 integer := forecast_series.season2;
  n integer := coalesce(cardinality(forecast_series.y), 0);
  v_known integer;
  v_min float8;
  v_max float8;
  v_range float8;
  v_nonneg boolean;
  w integer;
  t_len integer;
  v_need integer;
  v_scale float8;
  ytrain float8[];
  forms text[];
  v_form text;
  fit record;
  best record;
  best_form text[];
  best_aicc float8;
  run record;
  cand_name text[] := '{}'::text[];
  cand_model text[] := '{}'::text[];
  cand_fc float8[] := '{}'::float8[];   -- horizon values per candidate
  cand_err float8[] := '{}'::float8[];  -- W × horizon errors per candidate
  cand_mase float8[] := '{}'::float8[];
  cand_mae float8[] := '{}'::float8[];
  cand_notes text[] := '{}'::text[];
  sn record;
  sn2 record;
  nw integer;
  pick integer;
  base_mase float8;
  v_note text;
  iv record;
  fc float8;
  hw float8;
  lo float8[];
  hi float8[];
  cov float8[];
  v_errs float8[];
begin
  -- ── arguments ──
  if v_method not in ('auto', 'ets', 'seasonal_naive', 'all') then
    raise exception 'method must be one of auto, ets, seasonal_naive, all (got "%")', v_method using errcode = '22023';
  end if;
  if v_h < 1 or v_h > 500 then
    raise exception 'horizon must be between 1 and 500 periods (got %)', v_h using errcode = '22023';
  end if;
  if cardinality(v_levels) = 0 or cardinality(v_levels) > 10 or array_position(v_levels, null) is not null
     or exists (select from unnest(v_levels) l where not (l > 0 and l < 100)) then
    raise exception 'levels must be 1 to 10 interval levels in percent, each strictly between 0 and 100 (got %)', v_levels
      using errcode = '22023', hint = 'for example {80,95}';
  end if;
  if m is null or m < 1 or m > 400 then
    raise exception 'season must be a period between 1 (no season) and 400 (got %)', coalesce(m::text, 'null')
      using errcode = '22023', hint = '24 for hourly, 7 for daily, 52 for weekly data';
  end if;
  if m2 is not null and (m2 <= m or m2 > 1000 or m2 % m <> 0) then
    raise exception 'season2 must be a multiple of season % up to 1000 (got %)', m, m2 using errcode = '22023';
  end if;
  select count(v)::integer, min(v), max(v), bool_and(v >= 0) into v_known, v_min, v_max, v_nonneg
  from unnest(forecast_series.y) v
  where v > '-Infinity'::float8 and v < 'Infinity'::float8;
  if exists (select from unnest(forecast_series.y) v where v = 'NaN'::float8 or v in ('Infinity', '-Infinity')) then
    raise exception 'y must hold finite numbers or nulls (it has NaN or infinity)' using errcode = '22023';
  end if;
  if v_known = 0 then
    raise exception 'the series has no values (empty or all null); nothing to forecast' using errcode = '22023';
  end if;
  w := greatest(v_h + 19, n / 4);
  v_need := greatest(2 * m + 2, 10) + v_h + 19;
  if n < v_need then
    raise exception 'history too short: % periods; at least % are needed for horizon % with season % (2 seasons + 2, at least 10, for the fit and horizon + 19 for the backtest)',
      n, v_need, v_h, m using errcode = '22023';
  end if;
  t_len := n - w;
  v_range := v_max - v_min;

  -- ── the baseline (always) ──
  sn := aoma_private.snaive_run(forecast_series.y, m, t_len, v_h, v_h);
  select avg(abs(forecast_series.y[g] - forecast_series.y[g - m])) into v_scale
  from generate_series(m + 1, t_len) g
  where forecast_series.y[g] is not null and forecast_series.y[g - m] is not null;
  if coalesce(v_scale, 0) = 0 then
    select avg(abs(forecast_series.y[g] - forecast_series.y[g - 1])) into v_scale
    from generate_series(2, t_len) g
    where forecast_series.y[g] is not null and forecast_series.y[g - 1] is not null;
    v_note := 'the training values repeat their season exactly: MASE is scaled by the one-step naive error';
  end if;
  if coalesce(v_scale, 0) = 0 then
    v_scale := null;
    v_note := 'the training values are constant: no MASE';
  end if;
  cand_name := array['seasonal_naive'];
  cand_model := array[format('seasonal naive, m = %s', m)];
  cand_fc := sn.forecast;
  cand_err := sn.bt_err;
  nw := cardinality(sn.bt_err);

  -- ── ETS on the training values, the lowest AICc ──
  if v_method <> 'seasonal_naive' and v_range > 0 then
    forms := array['N,N', 'A,N', 'Ad,N'];
    if m > 1 then
      forms := forms || array['N,A', 'A,A', 'Ad,A'];
      if v_min > 0 then
        forms := forms || array['N,M', 'A,M', 'Ad,M'];
      end if;
    end if;
    if aoma_private.forecast_work(n, m, cardinality(forms)) > 50000 then
      raise exception 'too much work: % values × % ETS forms with season % = % units; at most 50,000 per call (units = values × forms × max(season, 7) / 7) — shorten the history',
        n, cardinality(forms), m, aoma_private.forecast_work(n, m, cardinality(forms)) using errcode = '22023';
    end if;
    ytrain := forecast_series.y[1:t_len];
    foreach v_form in array forms loop
      fit := aoma_private.ets_fit(ytrain, split_part(v_form, ',', 1), split_part(v_form, ',', 2), m, 1000, 1, 0);
      if fit.aicc < coalesce(best_aicc, 'Infinity'::float8) then
        best_aicc := fit.aicc;
        best := fit;
        best_form := string_to_array(v_form, ',');
      end if;
    end loop;
    if best_form is not null then
      run := aoma_private.ets_run(forecast_series.y, best_form[1], best_form[2], m, best.par, best.x0, false, v_h, t_len, v_h);
      if run.sse < 'Infinity'::float8 then
        cand_name := cand_name || 'ets'::text;
        cand_model := cand_model || format('ETS(A,%s,%s), m = %s, α = %s, β = %s, γ = %s, φ = %s, AICc %s',
          best_form[1], best_form[2], m, round(best.par[1]::numeric, 4), round(best.par[2]::numeric, 4),
          round(best.par[3]::numeric, 4), round(best.par[4]::numeric, 4), round(best.aicc::numeric, 1));
        cand_fc := cand_fc || run.forecast;
        cand_err := cand_err || run.bt_err;
      end if;
    end if;
  end if;

  -- ── the second season: its seasonal naive and the combination with ets ──
  if m2 is not null and v_method in ('auto', 'all') then
    if t_len <= m2 then
      cand_notes := cand_notes || format('history too short for the second season %s (%s training values; more than %s needed): not tried', m2, t_len, m2);
    else
      sn2 := aoma_private.snaive_run(forecast_series.y, m2, t_len, v_h, v_h);
      cand_name := cand_name || 'seasonal_naive_2'::text;
      cand_model := cand_model || format('seasonal naive, m = %s', m2);
      cand_fc := cand_fc || sn2.forecast;
      cand_err := cand_err || sn2.bt_err;
      if 'ets' = any (cand_name) then
        cand_name := cand_name || 'combination'::text;
        cand_model := cand_model || format('mean of %s and seasonal naive m = %s', cand_model[2], m2);
        cand_fc := cand_fc || (select array_agg((cand_fc[v_h + g] + sn2.forecast[g]) / 2 order by g) from generate_series(1, v_h) g);
        cand_err := cand_err || (select array_agg((cand_err[nw + g] + sn2.bt_err[g]) / 2 order by g) from generate_series(1, nw) g);
      end if;
    end if;
  end if;

  -- ── backtest MASE and the pick ──
  -- mean absolute backtest error per candidate; MASE = that / the training's seasonal naive MAE
  for c in 1..cardinality(cand_name) loop
    cand_mae := cand_mae || (select avg(abs(e)) from unnest(cand_err[(c - 1) * nw + 1:c * nw]) e);
    cand_mase := cand_mase || cand_mae[c] / v_scale;
  end loop;
  base_mase := cand_mase[1];
  pick := case v_method when 'seasonal_naive' then 1 when 'ets' then coalesce(array_position(cand_name, 'ets'), 1) else 1 end;
  if v_method in ('auto', 'all') then
    for c in 2..cardinality(cand_name) loop
      if cand_mae[c] < cand_mae[pick] then
        pick := c;
      end if;
    end loop;
    if pick = 1 and cardinality(cand_name) > 1 then
      cand_notes := cand_notes || format('nothing beat the seasonal naive baseline in the backtest (%s): using it',
        (select string_agg(format('%s %s %s vs %s', cand_name[c], case when v_scale is null then 'MAE' else 'MASE' end,
                                  round((cand_mae[c] / coalesce(v_scale, 1))::numeric, 3), round((cand_mae[1] / coalesce(v_scale, 1))::numeric, 3)), ', ')
         from generate_series(2, cardinality(cand_name)) c));
    end if;
  end if;
  if v_method = 'ets' and pick = 1 then
    cand_notes := cand_notes || 'no ETS form could be fitted (constant history): the seasonal naive forecast is returned'::text;
  end if;
  if v_range = 0 then
    cand_notes := cand_notes || 'constant history: the forecast is that constant and the intervals have width 0'::text;
  end if;
  if v_note is not null then
    cand_notes := cand_notes || v_note;
  end if;

  -- ── intervals and rows ──
  for c in 1..cardinality(cand_name) loop
    continue when v_method <> 'all' and c <> pick;
    v_errs := cand_err[(c - 1) * nw + 1:c * nw];
    -- over the steps whose interval could be checked; null when none could (too few errors for the level)
    select array_agg(round(x.cov_sum::numeric / nullif(x.t_sum, 0), 4)::float8 order by x.ord)
      into cov
    from (select l.ord, sum(iv2.covered[l.ord]) as cov_sum, sum(iv2.tested) filter (where iv2.covered[l.ord] is not null) as t_sum
          from aoma_private.forecast_intervals(v_errs, v_h, v_levels) iv2
          cross join generate_subscripts(v_levels, 1) as l(ord)
          group by l.ord) x;
    for iv in select * from aoma_private.forecast_intervals(v_errs, v_h, v_levels) loop
      fc := greatest(v_min - v_range, least(v_max + v_range, cand_fc[(c - 1) * v_h + iv.step]));
      lo := '{}'::float8[];
      hi := '{}'::float8[];
      v_note := null;
      for l in 1..cardinality(v_levels) loop
        hw := iv.half_width[l];
        if hw is null or hw > v_range then
          v_note := coalesce(v_note || '; ', '') || case when hw is null
            then format('%s%% interval: %s backtest errors are too few (%s needed): cut to the sanity bound ± the observed range',
                        v_levels[l], iv.n_errors, ceil(v_levels[l] / (100 - v_levels[l])))
            else format('%s%% interval cut to the sanity bound ± the observed range %s', v_levels[l], v_range) end;
          hw := v_range;
        end if;
        lo := lo || case when v_nonneg then greatest(0, fc - hw) else fc - hw end;
        hi := hi || (fc + hw);
      end loop;
      series_id := forecast_series.label;
      step := iv.step;
      point := fc;
      interval_levels := v_levels;
      lower := lo;
      upper := hi;
      coverage := cov;
      n_errors := iv.n_errors;
      method_used := cand_name[c];
      model := cand_model[c];
      chosen := c = pick;
      backtest_mase := cand_mase[c];
      baseline_mase := base_mase;
      n_history := v_known;
      notes := nullif(array_to_string(cand_notes || v_note, '; '), '');
      return next;
    end loop;
  end loop;
end;
$$;
comment on function analytics.forecast_series(float8[], integer, integer, float8[], text, text, integer) is
  'Forecast of one series (array, oldest first): seasonal naive baseline, ETS by MLE and AICc, auto by rolling-origin backtest MASE, split-conformal intervals per step. See sql/61_forecast_api.sql.';
revoke execute on function analytics.forecast_series(float8[], integer, integer, float8[], text, text, integer) from public;
grant execute on function analytics.forecast_series(float8[], integer, integer, float8[], text, text, integer) to authenticated, service_role;

drop function if exists analytics.forecast_feature(text[], text, integer, float8[], text, integer);
create or replace function analytics.forecast_feature(
  features text[],
  grain text default 'day',
  horizon integer default 7,
  levels float8[] default '{80,95}',
  method text default 'auto',
  history integer default null
)
returns table (
  feature text, period timestamptz, step integer, point float8, interval_levels float8[],
  lower float8[], upper float8[], coverage float8[], n_errors integer, method_used text, model text,
  chosen boolean, backtest_mase float8, baseline_mase float8, n_history integer, notes text
)
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_grain text := coalesce(forecast_feature.grain, 'day');
  v_h integer := coalesce(forecast_feature.horizon, 7);
  v_step interval;
  v_table text;
  v_calendar text;
  v_work bigint := 0;
  v_nf integer;
  v_n integer;
  m integer;
  m2 integer;
  v_note text;
  rec record;
  v_y float8[];
  v_last timestamptz;
  f record;
begin
  if v_grain not in ('hour', 'day', 'week') then
    raise exception 'grain must be one of hour, day, week (got "%")', v_grain using errcode = '22023';
  end if;
  if forecast_feature.features is null or cardinality(forecast_feature.features) = 0
     or cardinality(forecast_feature.features) > 50 then
    raise exception 'features must name 1 to 50 catalog variables (got %)', coalesce(cardinality(forecast_feature.features), 0)
      using errcode = '22023';
  end if;
  if forecast_feature.history is not null and forecast_feature.history < 1 then
    raise exception 'history must be a positive number of periods or null for all (got %)', forecast_feature.history
      using errcode = '22023';
  end if;
  perform aoma_private.check_analysis_args(null, null, forecast_feature.features, null, v_grain);
  select string_agg(c.name, ', ' order by c.name) into v_calendar
  from analytics.feature_catalog c
  where c.grain = v_grain and c.kind = 'calendar' and c.name = any (forecast_feature.features);
  if v_calendar is not null then
    raise exception 'calendar features have a known future and are not forecast: %', v_calendar using errcode = '22023';
  end if;
  v_table := case v_grain when 'hour' then 'features_hourly' when 'day' then 'features_daily' else 'features_weekly' end;
  v_step := aoma_private.forecast_period_length(v_grain);
  execute format('select count(*)::int from analytics.%I', v_table) into v_n;
  if v_n = 0 then
    raise exception 'no % data yet (analytics.% is empty): load data and run analytics.refresh_features() first', v_grain, v_table
      using errcode = '22023';
  end if;
  v_n := least(v_n, coalesce(forecast_feature.history, case v_grain when 'hour' then 1008 when 'day' then 730 else 260 end));
  -- bounded work before anything runs: every feature at the history and season it will get, 9 ETS
  -- forms (none for the seasonal naive method: it fits nothing)
  m := case v_grain when 'hour' then 24 when 'day' then 7 else 52 end;
  if coalesce(forecast_feature.method, 'auto') = 'seasonal_naive' then
    v_work := 0;
  elsif v_grain = 'week' and v_n < 2 * 52 + 2 + v_h + 19 then
    v_work := aoma_private.forecast_work(v_n, 1, 3);
  else
    v_work := aoma_private.forecast_work(v_n, m, 9);
  end if;
  v_nf := (select count(distinct u) from unnest(forecast_feature.features) u)::integer;
  if v_work * v_nf > 50000 then
    raise exception 'too much work: % features × % %s (% units each) = % units; at most 50,000 per call (units = periods × 9 ETS forms × max(season, 7) / 7; season % here) — fewer features per call or a shorter history',
      v_nf, v_n, v_grain, v_work, v_work * v_nf, m
      using errcode = '22023';
  end if;
  for rec in select u.name from unnest(forecast_feature.features) with ordinality as u(name, ord)
             group by u.name order by min(u.ord) loop
    -- the same reader as the nightly job's (sql/62_feature_history.sql), up to the last period
    select h.y, h.last_period into v_y, v_last from aoma_private.forecast_history(v_grain, rec.name, 'infinity', v_n) h;
    if not exists (select from unnest(v_y) x where x is not null) then
      raise exception '"%" has no values in the last % %s; nothing to forecast', rec.name, cardinality(v_y), v_grain
        using errcode = '22023';
    end if;
    m := case v_grain when 'hour' then 24 when 'day' then 7 else 52 end;
    m2 := case when v_grain = 'hour' then 168 end;
    v_note := null;
    if v_grain = 'week' and coalesce(cardinality(v_y), 0) < 2 * 52 + 2 + v_h + 19 then
      v_note := format('history too short for a yearly season (%s weeks; %s needed): used none',
                       coalesce(cardinality(v_y), 0), 2 * 52 + 2 + v_h + 19);
      m := 1;
    end if;
    for f in select * from analytics.forecast_series(v_y, m, v_h, forecast_feature.levels, forecast_feature.method, rec.name, m2) loop
      feature := rec.name;
      period := v_last + v_step * f.step;
      step := f.step;
      point := f.point;
      interval_levels := f.interval_levels;
      lower := f.lower;
      upper := f.upper;
      coverage := f.coverage;
      n_errors := f.n_errors;
      method_used := f.method_used;
      model := f.model;
      chosen := f.chosen;
      backtest_mase := f.backtest_mase;
      baseline_mase := f.baseline_mase;
      n_history := f.n_history;
      notes := nullif(concat_ws('; ', v_note, f.notes), '');
      return next;
    end loop;
  end loop;
end;
$$;
comment on function analytics.forecast_feature(text[], text, integer, float8[], text, integer) is
  'Forecasts of catalog features (1..50) at hour / day / week grain through analytics.forecast_series; one row per feature × step. See sql/61_forecast_api.sql.';
revoke execute on function analytics.forecast_feature(text[], text, integer, float8[], text, integer) from public;
grant execute on function analytics.forecast_feature(text[], text, integer, float8[], text, integer) to authenticated, service_role;
