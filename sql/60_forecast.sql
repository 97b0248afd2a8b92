-- AOMA Mesh Analytics — forecasting in SQL, part 1: the ETS engine (exponential smoothing with
-- additive error, fitted by maximum likelihood). The forecasts with their backtest and intervals
-- (analytics.forecast_series / analytics.forecast_feature) are in sql/61_forecast_api.sql.
--
-- Model (Hyndman et al., "Forecasting with Exponential Smoothing", 2008; statsmodels ETSModel,
-- error="add"): with L = l_{t-1} + φ b_{t-1} and S = s_{t-m},
--   ŷ_t = L + S (season A) | L · S (season M) | L (season N);  e_t = y_t − ŷ_t
--   l_t = L + α e_t / k_l;  b_t = φ b_{t-1} + β e_t / k_l;  s_t = S + γ e_t / k_s
-- where k_l = S, k_s = l_t for a multiplicative season and 1 otherwise (statsmodels 0.13 divides
-- the seasonal update by the updated level l_t, where Hyndman et al. use L; we follow statsmodels,
-- checked to 1e-8); φ = 1 for an undamped trend,
-- b ≡ 0 without a trend. Log-likelihood (concentrated, σ² = SSE/n):
--   ℓ = −n/2 · (log(2π · SSE/n) + 1).
-- Parameters are bounded as statsmodels bounds them: 1e-4 ≤ α ≤ 1 − 1e-4, β = α·β* and
-- γ = (1 − α)·γ* with 1e-4 ≤ β*, γ* ≤ 1 − 1e-4, 0.8 ≤ φ ≤ 0.98; initial states free except the
-- oldest initial season s_{−m}, fixed to 0 (A) or 1 (M) (otherwise level and season trade off).
-- Multiplicative trend and multiplicative error are not offered.
--
-- Layout of the initial state x0: [l_{−1}, b_{−1}, s_{−1}, s_{−2}, …, s_{−m}] (b_{−1} = 0 without a
-- trend; no seasonal entries without a season) — statsmodels' order of initial_* parameters.
-- Parity with statsmodels 0.13 (fixed parameters: states, fitted values, log-likelihood, forecasts)
-- is checked by tests/forecast_test.ts against tests/reference/ets_reference.json.

-- aoma_private.ets_run: one pass of the recursion over y.
--   par = [α, β, γ, φ] (β, γ ignored without trend / season; φ ignored without damping).
--   keep_path: also return the fitted values and the states after each observation.
--   horizon: point forecasts for 1..horizon after the last observation.
--   bt_from, bt_h: backtest — at every origin t ≥ bt_from (1-based index of the last observation
--     used) the forecasts for steps 1..bt_h are compared with y[t + s] while t + s ≤ n; the errors
--     (actual − forecast) come back origin-major in bt_err (null where t + s > n or y is null).
-- A null y[t] is skipped: no error, the states move on as forecasts (not counted in n_used).
-- sse = Infinity (and the pass stops) when the recursion diverges or a multiplicative season meets 0.
create or replace function aoma_private.ets_run(
  y float8[], trend text, season text, m integer, par float8[], x0 float8[],
  keep_path boolean default false, horizon integer default 0,
  bt_from integer default null, bt_h integer default 0,
  out sse float8, out n_used integer, out fitted float8[], out level_path float8[],
  out trend_path float8[], out season_path float8[], out forecast float8[], out bt_err float8[]
)
language plpgsql
immutable
set search_path = ''
as $$
declare
  n integer := cardinality(y);
  has_b boolean := trend <> 'N';
  phi float8 := case when trend = 'Ad' then par[4] else 1 end;
  alpha float8 := par[1];
  beta float8 := case when trend <> 'N' then par[2] else 0 end;
  gamma float8 := case when season <> 'N' then par[3] else 0 end;
  mul boolean := season = 'M';
  ms integer := case when season = 'N' then 1 else m end;
  buf float8[];
  l float8 := x0[1];
  b float8 := case when trend <> 'N' then x0[2] else 0 end;
  lf float8;
  s float8;
  yh float8;
  e float8;
  k float8;
  yt float8;
  ph float8;
  bl float8;
  bb float8;
begin
  -- ring buffer: buf[t mod m + 1] holds s_{t−m} when observation t (0-based) is reached
  if season = 'N' then
    buf := array[case when mul then 1 else 0 end]::float8[];
  else
    buf := array_fill(0::float8, array[m]);
    for j in 0..m - 1 loop
      buf[j + 1] := x0[2 + m - j];
    end loop;
  end if;
  sse := 0;
  n_used := 0;
  if keep_path then
    fitted := array_fill(null::float8, array[n]);
    level_path := array_fill(null::float8, array[n]);
    trend_path := array_fill(null::float8, array[n]);
    season_path := array_fill(null::float8, array[n]);
  end if;
  if bt_h > 0 then
    bt_err := array_fill(null::float8, array[greatest(n - bt_from + 1, 0) * bt_h]);
  end if;
  for t in 0..n - 1 loop
    lf := l + phi * b;
    s := buf[t % ms + 1];
    if season = 'N' then
      yh := lf;
    elsif mul then
      yh := lf * s;
    else
      yh := lf + s;
    end if;
    yt := y[t + 1];
    if mul and (s = 0 or lf = 0) then
      sse := 'Infinity';  -- a multiplicative season through zero: no likelihood
      return;
    end if;
    if yt is null then
      e := 0;
    else
      e := yt - yh;
      if abs(e) > 1e100 then
        sse := 'Infinity';  -- diverged: stop before float8 overflows (an error in PostgreSQL)
        return;
      end if;
      sse := sse + e * e;
      n_used := n_used + 1;
    end if;
    k := case when mul then e / s else e end;
    l := lf + alpha * k;
    b := phi * b + beta * k;
    if mul then
      if l = 0 then
        sse := 'Infinity';
        return;
      end if;
      buf[t % ms + 1] := s + gamma * e / l;
    elsif season = 'A' then
      buf[t % ms + 1] := s + gamma * e;
    end if;
    if keep_path then
      fitted[t + 1] := yh;
      level_path[t + 1] := l;
      trend_path[t + 1] := b;
      season_path[t + 1] := buf[t % ms + 1];
    end if;
    -- backtest forecasts from origin t + 1 (1-based)
    if bt_h > 0 and t + 1 >= bt_from then
      ph := 0;
      bl := 1;
      for h in 1..least(bt_h, n - t - 1) loop
        yt := y[t + 1 + h];
        if has_b then
          bl := bl * phi;
          ph := ph + bl;
        end if;
        bb := l + ph * b;
        if yt is not null then
          bt_err[(t + 1 - bt_from) * bt_h + h] :=
            yt - case when season = 'N' then bb when mul then bb * buf[(t + h) % ms + 1] else bb + buf[(t + h) % ms + 1] end;
        end if;
      end loop;
    end if;
  end loop;
  if horizon > 0 then
    forecast := array_fill(0::float8, array[horizon]);
    ph := 0;
    bl := 1;
    for h in 1..horizon loop
      if has_b then
        bl := bl * phi;
        ph := ph + bl;
      end if;
      bb := l + ph * b;
      forecast[h] := case when season = 'N' then bb when mul then bb * buf[(n - 1 + h) % ms + 1] else bb + buf[(n - 1 + h) % ms + 1] end;
    end loop;
  end if;
end;
$$;
comment on function aoma_private.ets_run(float8[], text, text, integer, float8[], float8[], boolean, integer, integer, integer) is
  'One ETS(A,trend,season) pass: SSE, optionally fitted values and states, point forecasts and backtest errors per origin × step.';
revoke execute on function aoma_private.ets_run(float8[], text, text, integer, float8[], float8[], boolean, integer, integer, integer) from public;
grant execute on function aoma_private.ets_run(float8[], text, text, integer, float8[], float8[], boolean, integer, integer, integer) to authenticated, service_role;

-- aoma_private.ets_par(trend, season, v): the model parameters [α, β, γ, φ] from the optimiser's
-- vector v = [α, β*, γ*, φ] restricted to the parameters the form has (β = α·β*, γ = (1 − α)·γ*).
-- (No SET clause, as ets_objective below: one expression over pg_catalog, inlined where it is called.)
create or replace function aoma_private.ets_par(trend text, season text, v float8[])
returns float8[]
language sql
immutable parallel safe
as $$
  select array[v[1],
               case when trend <> 'N' then v[1] * v[2] else 0 end,
               case when season <> 'N' then (1 - v[1]) * v[2 + (trend <> 'N')::int] else 0 end,
               case when trend = 'Ad' then v[2 + (trend <> 'N')::int + (season <> 'N')::int] else 1 end]::float8[]
$$;
revoke execute on function aoma_private.ets_par(text, text, float8[]) from public;
grant execute on function aoma_private.ets_par(text, text, float8[]) to authenticated, service_role;

-- aoma_private.ets_start_states(y, trend, season, m): starting initial states (Hyndman et al. 2008,
-- §2.6 in spirit): seasonal indices from the first cycles (up to 5) around their cycle means, level
-- and trend from the first cycles' means (first 10 values without a season); then shifted so that
-- s_{−m} = 0 (A) or 1 (M). Only a start: ets_fit estimates the initial states by Gauss–Newton.
create or replace function aoma_private.ets_start_states(y float8[], trend text, season text, m integer)
returns float8[]
language plpgsql
immutable
set search_path = ''
as $$
declare
  n integer := cardinality(y);
  per integer := case when season = 'N' then least(10, n / 2) else m end;
  cyc integer := case when season = 'N' then 2 else greatest(1, least(5, n / m)) end;
  x0 float8[];
  mean1 float8;
  mean2 float8;
  cm float8;
  acc float8;
  cnt integer;
  base float8;
begin
  select avg(v) into mean1 from unnest(y[1:per]) v;
  select avg(v) into mean2 from unnest(y[per + 1:2 * per]) v;
  mean1 := coalesce(mean1, 0);
  x0 := array[mean1 - case when trend <> 'N' then coalesce((mean2 - mean1) / per, 0) * (per + 1) / 2.0 else 0 end,
              case when trend <> 'N' then coalesce((mean2 - mean1) / per, 0) else 0 end];
  if season = 'N' then
    return x0;
  end if;
  x0 := x0 || array_fill(0::float8, array[m]);
  for j in 0..m - 1 loop  -- observation j (0-based) of each cycle ↔ s_{−(m − j)} = x0[2 + m − j]
    acc := 0;
    cnt := 0;
    for c in 0..cyc - 1 loop
      select avg(v) into cm from unnest(y[c * m + 1:(c + 1) * m]) v;
      if y[c * m + j + 1] is not null and cm is not null and (season = 'A' or cm <> 0) then
        acc := acc + case when season = 'A' then y[c * m + j + 1] - cm else y[c * m + j + 1] / cm end;
        cnt := cnt + 1;
      end if;
    end loop;
    x0[2 + m - j] := case when cnt > 0 then acc / cnt when season = 'A' then 0 else 1 end;
  end loop;
  base := x0[2 + m];
  if season = 'M' and base > 0 then
    x0[1] := x0[1] * base;
    x0[2] := x0[2] * base;
    for j in 3..2 + m loop
      x0[j] := x0[j] / base;
    end loop;
  elsif season = 'A' then
    x0[1] := x0[1] + base;
    for j in 3..2 + m loop
      x0[j] := x0[j] - base;
    end loop;
  end if;
  return x0;
end;
$$;
revoke execute on function aoma_private.ets_start_states(float8[], text, text, integer) from public;
grant execute on function aoma_private.ets_start_states(float8[], text, text, integer) to authenticated, service_role;

-- aoma_private.ets_gauss_newton(y, trend, season, m, par, x0, steps): the initial states that
-- minimise the SSE for fixed smoothing parameters, by Gauss–Newton with a forward-difference
-- Jacobian of the fitted values (exact for the linear forms, i.e. without a multiplicative season)
-- and step halving. Free states: l, b (with a trend), s_{−1} … s_{−(m−1)}; s_{−m} stays fixed.
create or replace function aoma_private.ets_gauss_newton(
  y float8[], trend text, season text, m integer, par float8[], x0 float8[], steps integer,
  out x float8[], out sse float8, out passes integer
)
language plpgsql
immutable
set search_path = ''
as $$
declare
  n integer := cardinality(y);
  free integer[];
  k integer;
  base record;
  jac float8[];  -- n × k, row-major
  col float8[];
  xt float8[];
  d float8;
  scale float8;
  jtj float8[];
  jtr float8[];
  r float8;
  chol float8[];
  delta float8[];
  trial float8;
  lam float8;
begin
  select array_agg(i order by i) into free
  from generate_series(1, cardinality(x0)) i
  where (i <> 2 or trend <> 'N') and (season = 'N' or i <> 2 + m);
  k := cardinality(free);
  select avg(abs(v)) into scale from unnest(y) v;
  scale := greatest(coalesce(scale, 1), 1e-8);
  x := x0;
  passes := 0;
  base := aoma_private.ets_run(y, trend, season, m, par, x, true);
  sse := base.sse;
  passes := 1;
  for it in 1..steps loop
    exit when sse = 'Infinity'::float8;
    jac := array_fill(0::float8, array[n * k]);
    for c in 1..k loop
      xt := x;
      d := 1e-5 * greatest(abs(x[free[c]]), case when season = 'M' and free[c] > 2 then 1 else scale end);
      xt[free[c]] := xt[free[c]] + d;
      col := (aoma_private.ets_run(y, trend, season, m, par, xt, true)).fitted;
      passes := passes + 1;
      for t in 1..n loop
        jac[(t - 1) * k + c] := (col[t] - base.fitted[t]) / d;
      end loop;
    end loop;
    jtj := array_fill(0::float8, array[k * k]);
    jtr := array_fill(0::float8, array[k]);
    for t in 1..n loop
      continue when y[t] is null;
      r := y[t] - base.fitted[t];
      for i in 1..k loop
        d := jac[(t - 1) * k + i];
        continue when d = 0;
        jtr[i] := jtr[i] + d * r;
        for j in 1..i loop
          jtj[(i - 1) * k + j] := jtj[(i - 1) * k + j] + d * jac[(t - 1) * k + j];
        end loop;
      end loop;
    end loop;
    for i in 1..k loop
      for j in i + 1..k loop
        jtj[(i - 1) * k + j] := jtj[(j - 1) * k + i];
      end loop;
    end loop;
    chol := aoma_private.cholesky(jtj, k);
    exit when chol is null;
    delta := aoma_private.backward_solve(chol, aoma_private.forward_solve(chol, jtr, k), k);
    lam := 1;
    loop
      xt := x;
      for c in 1..k loop
        xt[free[c]] := xt[free[c]] + lam * delta[c];
      end loop;
      trial := (aoma_private.ets_run(y, trend, season, m, par, xt)).sse;
      passes := passes + 1;
      exit when trial < sse or lam < 1e-3;
      lam := lam / 2;
    end loop;
    exit when not trial < sse;
    exit when sse - trial <= 1e-12 * sse;
    x := xt;
    base := aoma_private.ets_run(y, trend, season, m, par, x, true);
    passes := passes + 1;
    sse := base.sse;
    exit when season <> 'M';  -- linear in the initial states: one step is the optimum
  end loop;
end;
$$;
revoke execute on function aoma_private.ets_gauss_newton(float8[], text, text, integer, float8[], float8[], integer) from public;
grant execute on function aoma_private.ets_gauss_newton(float8[], text, text, integer, float8[], float8[], integer) to authenticated, service_role;

-- aoma_private.ets_objective(y, trend, season, m, v, x0, profile): the SSE at optimiser vector v —
-- with the initial states x0 as given, or (profile) with the initial states re-estimated for v by
-- one Gauss–Newton step from x0 (exact for the linear forms), so the optimiser moves along the
-- valley where smoothing parameters and initial states trade off instead of zigzagging across it.
create or replace function aoma_private.ets_objective(
  y float8[], trend text, season text, m integer, v float8[], x0 float8[], profile boolean
)
returns float8
language sql
immutable
as $$
  select case when profile
              then (aoma_private.ets_gauss_newton(y, trend, season, m, aoma_private.ets_par(trend, season, v), x0, 1)).sse
              else (aoma_private.ets_run(y, trend, season, m, aoma_private.ets_par(trend, season, v), x0)).sse end
$$;
revoke execute on function aoma_private.ets_objective(float8[], text, text, integer, float8[], float8[], boolean) from public;
grant execute on function aoma_private.ets_objective(float8[], text, text, integer, float8[], float8[], boolean) to authenticated, service_role;

-- aoma_private.ets_nelder_mead(y, trend, season, m, x0, v0, max_evals, profile): the smoothing
-- parameters (optimiser vector v = [α, β*, γ*, φ] of the form, see ets_par) that minimise the SSE
-- for fixed initial states x0 (profile: re-estimated at every point, see ets_objective), by
-- Nelder–Mead (reflection 1, expansion 2, contraction ½, shrink ½) with every
-- trial point projected onto the box (statsmodels' bounds); restarted from the best vertex with a
-- fresh simplex until a restart gains nothing. Stops when the simplex's SSE spread is ≤ 1e-9
-- relative, or at max_evals passes.
drop function if exists aoma_private.ets_nelder_mead(float8[], text, text, integer, float8[], float8[], integer);
create or replace function aoma_private.ets_nelder_mead(
  y float8[], trend text, season text, m integer, x0 float8[], v0 float8[], max_evals integer,
  profile boolean,
  out v float8[], out sse float8, out evals integer
)
language plpgsql
immutable
set search_path = ''
as $$
declare
  d integer := cardinality(v0);
  cost integer := case when profile then cardinality(x0) + 3 else 1 end;  -- passes per evaluation
  lo float8[];
  hi float8[];
  sx float8[];   -- (d + 1) × d vertices, row-major
  fx float8[];
  ord integer[];
  cen float8[];
  xr float8[];
  xe float8[];
  xc float8[];
  fr float8;
  fe float8;
  fc float8;
  w integer;
  best float8;
  restart_from float8;
begin
  lo := array_fill(1e-4::float8, array[d]);
  hi := array_fill(1 - 1e-4::float8, array[d]);
  if trend = 'Ad' then
    lo[d] := 0.8;
    hi[d] := 0.98;
  end if;
  v := v0;
  evals := 0;
  sse := aoma_private.ets_objective(y, trend, season, m, v, x0, profile);
  evals := cost;
  loop  -- restarts
    restart_from := sse;
    sx := v;
    fx := array[sse];
    for i in 1..d loop
      xr := v;
      xr[i] := case when v[i] + 0.1 * (hi[i] - lo[i]) <= hi[i] then v[i] + 0.1 * (hi[i] - lo[i]) else v[i] - 0.1 * (hi[i] - lo[i]) end;
      sx := sx || xr;
      fx := fx || aoma_private.ets_objective(y, trend, season, m, xr, x0, profile);
      evals := evals + cost;
    end loop;
    loop
      select array_agg(i order by fx[i], i) into ord from generate_series(1, d + 1) i;
      exit when evals >= max_evals
        or fx[ord[d + 1]] - fx[ord[1]] <= 1e-9 * abs(fx[ord[1]]) + 1e-300;
      w := ord[d + 1];
      cen := array_fill(0::float8, array[d]);
      for i in 1..d + 1 loop
        continue when i = w;
        for j in 1..d loop
          cen[j] := cen[j] + sx[(i - 1) * d + j] / d;
        end loop;
      end loop;
      xr := cen;
      for j in 1..d loop
        xr[j] := least(hi[j], greatest(lo[j], 2 * cen[j] - sx[(w - 1) * d + j]));
      end loop;
      fr := aoma_private.ets_objective(y, trend, season, m, xr, x0, profile);
      evals := evals + cost;
      if fr < fx[ord[1]] then
        xe := cen;
        for j in 1..d loop
          xe[j] := least(hi[j], greatest(lo[j], 3 * cen[j] - 2 * sx[(w - 1) * d + j]));
        end loop;
        fe := aoma_private.ets_objective(y, trend, season, m, xe, x0, profile);
        evals := evals + cost;
        if fe < fr then
          xr := xe;
          fr := fe;
        end if;
      end if;
      if fr < fx[ord[d]] then
        sx[(w - 1) * d + 1:w * d] := xr;
        fx[w] := fr;
        continue;
      end if;
      -- contraction (outside when the reflection beat the worst, else inside)
      xc := cen;
      for j in 1..d loop
        xc[j] := case when fr < fx[w] then cen[j] + 0.5 * (xr[j] - cen[j])
                      else cen[j] + 0.5 * (sx[(w - 1) * d + j] - cen[j]) end;
      end loop;
      fc := aoma_private.ets_objective(y, trend, season, m, xc, x0, profile);
      evals := evals + cost;
      if fc < least(fr, fx[w]) then
        sx[(w - 1) * d + 1:w * d] := xc;
        fx[w] := fc;
        continue;
      end if;
      -- shrink towards the best vertex
      for i in 1..d + 1 loop
        continue when i = ord[1];
        for j in 1..d loop
          sx[(i - 1) * d + j] := sx[(ord[1] - 1) * d + j] + 0.5 * (sx[(i - 1) * d + j] - sx[(ord[1] - 1) * d + j]);
        end loop;
        fx[i] := aoma_private.ets_objective(y, trend, season, m, sx[(i - 1) * d + 1:i * d], x0, profile);
        evals := evals + cost;
      end loop;
    end loop;
    best := fx[ord[1]];
    if best < sse then
      sse := best;
      v := sx[(ord[1] - 1) * d + 1:ord[1] * d];
    end if;
    exit when evals >= max_evals or not (sse < restart_from - 1e-9 * abs(restart_from));
  end loop;
end;
$$;
revoke execute on function aoma_private.ets_nelder_mead(float8[], text, text, integer, float8[], float8[], integer, boolean) from public;
grant execute on function aoma_private.ets_nelder_mead(float8[], text, text, integer, float8[], float8[], integer, boolean) to authenticated, service_role;

-- aoma_private.ets_loglike(sse, n): the concentrated Gaussian log-likelihood of an additive-error
-- model, −n/2 · (log(2π · SSE/n) + 1) (statsmodels ETSModel.loglike); null without a finite SSE > 0.
create or replace function aoma_private.ets_loglike(sse float8, n integer)
returns float8
language sql
immutable
set search_path = ''
as $$
  select case when sse > 0 and sse < 'Infinity'::float8 and n > 0 then -n / 2.0 * (ln(2 * pi() * sse / n) + 1) end
$$;
revoke execute on function aoma_private.ets_loglike(float8, integer) from public;
grant execute on function aoma_private.ets_loglike(float8, integer) to authenticated, service_role;

-- aoma_private.ets_start_vector(trend, season, alpha): the optimiser's start [α, β*, γ*, φ] for a
-- form: β* = 0.1 (statsmodels' β = 0.01 at α = 0.1), γ* = 0.01, φ = 0.98.
create or replace function aoma_private.ets_start_vector(trend text, season text, alpha float8)
returns float8[]
language sql
immutable
set search_path = ''
as $$
  select array[alpha]::float8[]
         || case when trend <> 'N' then array[0.1::float8] else '{}'::float8[] end
         || case when season <> 'N' then array[0.01::float8] else '{}'::float8[] end
         || case when trend = 'Ad' then array[0.98::float8] else '{}'::float8[] end
$$;
revoke execute on function aoma_private.ets_start_vector(text, text, float8) from public;
grant execute on function aoma_private.ets_start_vector(text, text, float8) to authenticated, service_role;

-- aoma_private.ets_fit(y, trend, season, m, max_evals, n_starts, profile_states): maximum
-- likelihood for one form. Alternates Nelder–Mead over the smoothing parameters (initial states
-- fixed) and Gauss–Newton over the initial states (smoothing parameters fixed) until a round gains
-- less than 1e-8 relative SSE (at most 8 rounds); with at most profile_states free initial states
-- (default 10) Nelder–Mead profiles them instead (ets_objective) — damped trends need it.
-- Starts: statsmodels' (α = 0.1, β = 0.01, γ = 0.01, φ = 0.98) and α = 0.5; with at most 10 free
-- initial states (season ≤ 7 or none) α ∈ {0.0001, 0.01, 0.1, 0.5, 0.9} are screened first
-- (initial states by Gauss–Newton for each) and the best n_starts of them run (default 5: all) —
-- a slowly moving level with a trend (α at its lower bound), or a damped trend at φ = 0.8 rather
-- than 0.98, is otherwise missed. At most max_evals passes over the data (default 10,000).
-- Returns the parameters [α, β, γ, φ], the initial states, SSE, n (non-null values), the
-- log-likelihood, AICc (statsmodels' count: smoothing parameters, initial states including the
-- fixed s_{−m}, and σ²) and the passes over the data it took.
drop function if exists aoma_private.ets_fit(float8[], text, text, integer, integer);
drop function if exists aoma_private.ets_fit(float8[], text, text, integer, integer, integer);
create or replace function aoma_private.ets_fit(
  y float8[], trend text, season text, m integer, max_evals integer default 10000, n_starts integer default 5,
  profile_states integer default 10,
  out par float8[], out x0 float8[], out sse float8, out n integer, out loglike float8,
  out aicc float8, out k integer, out passes integer
)
language plpgsql
immutable
set search_path = ''
as $$
declare
  d integer := 1 + (trend <> 'N')::int + (season <> 'N')::int + (trend = 'Ad')::int;
  n_states integer := 1 + (trend <> 'N')::int + case when season <> 'N' then m - 1 else 0 end;
  starts float8[];
  start_x float8[];  -- one row of initial states per start
  start_sse float8[] := '{}'::float8[];
  nx integer;
  v float8[];
  x float8[];
  cur float8;
  prev float8;
  nm record;
  gn record;
  used integer := 0;
  a float8;
  order_idx integer[];
begin
  sse := 'Infinity';
  x := aoma_private.ets_start_states(y, trend, season, m);
  nx := cardinality(x);
  starts := case when n_states <= 10 then array[0.0001, 0.01, 0.1, 0.5, 0.9] else array[0.1, 0.5] end;
  start_x := '{}'::float8[];
  foreach a in array starts loop
    v := aoma_private.ets_start_vector(trend, season, a);
    if n_states <= 10 then
      gn := aoma_private.ets_gauss_newton(y, trend, season, m, aoma_private.ets_par(trend, season, v), x, 1);
      used := used + gn.passes;
      start_x := start_x || gn.x;
      start_sse := start_sse || gn.sse;
    else
      start_x := start_x || x;
      start_sse := start_sse || 0::float8;
    end if;
  end loop;
  select array_agg(i order by start_sse[i], i) into order_idx from generate_series(1, cardinality(starts)) i;
  for si in 1..least(n_starts, cardinality(starts)) loop
    v := aoma_private.ets_start_vector(trend, season, starts[order_idx[si]]);
    x := start_x[(order_idx[si] - 1) * nx + 1:order_idx[si] * nx];
    cur := 'Infinity';
    for round in 1..8 loop
      prev := cur;
      nm := aoma_private.ets_nelder_mead(y, trend, season, m, x, v,
        least(greatest(50, max_evals - used), (60 + 40 * d) * case when n_states <= profile_states then n_states + 3 else 1 end),
        n_states <= profile_states);
      used := used + nm.evals;
      v := nm.v;
      gn := aoma_private.ets_gauss_newton(y, trend, season, m, aoma_private.ets_par(trend, season, v), x,
                                          case when season = 'M' then 5 else 1 end);
      used := used + gn.passes;
      x := gn.x;
      cur := least(nm.sse, gn.sse);
      exit when not (cur < prev - 1e-8 * abs(prev)) or used >= max_evals;
    end loop;
    if cur < sse then
      sse := cur;
      par := aoma_private.ets_par(trend, season, v);
      x0 := x;
    end if;
  end loop;
  passes := used;
  select count(*)::int into n from unnest(y) t where t is not null;
  k := d + 1 + (trend <> 'N')::int + case when season <> 'N' then m else 0 end + 1;
  loglike := aoma_private.ets_loglike(sse, n);
  if loglike is not null then
    aicc := case when n - k - 1 > 0 then -2 * loglike + 2 * k + 2.0 * k * (k + 1) / (n - k - 1) else 'Infinity' end;
  end if;
end;
$$;
revoke execute on function aoma_private.ets_fit(float8[], text, text, integer, integer, integer, integer) from public;
grant execute on function aoma_private.ets_fit(float8[], text, text, integer, integer, integer, integer) to authenticated, service_role;
