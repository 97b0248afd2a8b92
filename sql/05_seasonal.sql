-- sql/05_seasonal.sql — correlation after removing a seasonal pattern (partial correlation given
-- the season), used by analytics.correlate for every non-calendar feature.
--
-- Why: when the target has a weekly rhythm (e.g. more failures on Mondays) every feature with a
-- weekly rhythm of its own (tickets, commits: low at weekends) correlates with it, at lag 0 and
-- lag 1, without driving it. Removing each series' mean per season (weekday for days; weekday ×
-- hour of day for hours) before correlating tests "does the feature move with the target beyond
-- what the calendar explains?" — the partial correlation given season dummies. It equals the
-- t-test of the feature's coefficient in OLS  y ~ x + C(season)  (statsmodels), with
-- df = n − 2 − (seasons − 1).
--
-- Spearman's version ranks both series over the paired sample first (average ranks for ties),
-- then removes the season means of the ranks and correlates the residual ranks (as pingouin's
-- partial_corr(method="spearman") does), with the same df.

-- seasonal_correlation_sums(x, y, g): sufficient sums for the partial correlations of x and y
-- given the season g (one integer per pair). A pair counts when x and y are finite and g is not
-- null. Returns n; k = seasons present − 1; residual sums sxy, sxx, syy (deviations from each
-- season's mean); sxx_total, syy_total (deviations from the overall mean, to tell "explained by
-- the season" from "varies"); rxy, rxx, ryy the same residual sums for doubled average ranks.
-- language sql without set search_path so that it inlines into analytics.correlate (see
-- aoma_private.correlation_sums in sql/00_stats.sql for the reasoning).
create or replace function aoma_private.seasonal_correlation_sums(x float8[], y float8[], g integer[])
returns table (n integer, k integer, sxy float8, sxx float8, syy float8,
               sxx_total float8, syy_total float8, rxy float8, rxx float8, ryy float8)
language sql immutable parallel safe
as $$
  select pg_catalog.count(*)::integer,
         (pg_catalog.count(distinct r.gv) - 1)::integer,
         pg_catalog.sum(r.ex * r.ey), pg_catalog.sum(r.ex * r.ex), pg_catalog.sum(r.ey * r.ey),
         pg_catalog.sum((r.xv - r.x_all) ^ 2), pg_catalog.sum((r.yv - r.y_all) ^ 2),
         pg_catalog.sum(r.erx * r.ery), pg_catalog.sum(r.erx * r.erx), pg_catalog.sum(r.ery * r.ery)
  from (
    select w.gv, w.xv, w.yv, w.x_all, w.y_all,
           w.xv - pg_catalog.avg(w.xv) over ws as ex,
           w.yv - pg_catalog.avg(w.yv) over ws as ey,
           w.rx - pg_catalog.avg(w.rx) over ws as erx,
           w.ry - pg_catalog.avg(w.ry) over ws as ery
    from (
      select p.xv, p.yv, p.gv,
             (pg_catalog.rank() over wx + pg_catalog.count(*) over wx)::float8 as rx,
             (pg_catalog.rank() over wy + pg_catalog.count(*) over wy)::float8 as ry,
             pg_catalog.avg(p.xv) over w0 as x_all, pg_catalog.avg(p.yv) over w0 as y_all
      from unnest(x, y, g) as p(xv, yv, gv)
      where p.xv > '-Infinity'::float8 and p.xv < 'Infinity'::float8
        and p.yv > '-Infinity'::float8 and p.yv < 'Infinity'::float8
        and p.gv is not null
      window wx as (order by p.xv), wy as (order by p.yv), w0 as ()
    ) w
    window ws as (partition by w.gv)
  ) r
$$;
grant execute on function aoma_private.seasonal_correlation_sums(float8[], float8[], integer[]) to authenticated, service_role;

-- partial_correlation_from_sums(n, k, …, x_label, y_label, season_label): statistics from one row of
-- seasonal_correlation_sums. df = n − 2 − k; 95 % CI by Fisher z with standard error 1/√(n − 3 − k).
-- Notes instead of numbers: fewer than k + 4 pairs ('not enough data …'), or a series with no
-- variation left once the season is removed ('no variation in X beyond the weekly pattern').
create or replace function aoma_private.partial_correlation_from_sums(
  n integer, k integer, sxy float8, sxx float8, syy float8, sxx_total float8, syy_total float8,
  rxy float8, rxx float8, ryy float8, x_label text, y_label text, season_label text,
  out pearson_r float8, out pearson_p float8,
  out pearson_ci_low float8, out pearson_ci_high float8,
  out spearman_rho float8, out spearman_p float8, out note text)
returns record
language plpgsql immutable parallel safe
set search_path = ''
as $$
declare
  df float8;
  x_flat boolean;
  y_flat boolean;
begin
  if coalesce(n, 0) < 4 then
    note := format('not enough data (n=%s; need at least 4)', coalesce(n, 0));
    return;
  end if;
  if n < k + 4 then
    note := format('not enough data (n=%s; need at least %s with the %s adjustment)',
                   n, k + 4, season_label);
    return;
  end if;
  -- a constant series reads as in the plain correlation; one whose variation is all seasonal
  -- (nothing left beyond rounding noise once the season means are removed) says so
  if coalesce(sxx_total, 0) = 0 or coalesce(syy_total, 0) = 0 then
    note := 'constant: no variation in ' || case
      when coalesce(sxx_total, 0) = 0 and coalesce(syy_total, 0) = 0 then x_label || ' and ' || y_label
      when coalesce(sxx_total, 0) = 0 then x_label else y_label end;
    return;
  end if;
  x_flat := sxx <= 1e-12 * sxx_total;
  y_flat := syy <= 1e-12 * syy_total;
  if x_flat or y_flat then
    note := 'no variation in ' || case when x_flat and y_flat then x_label || ' and ' || y_label
                                       when x_flat then x_label else y_label end
            || ' beyond the ' || season_label || ' pattern';
    return;
  end if;
  df := n - 2 - k;
  pearson_r := greatest(-1::float8, least(1::float8, sxy / sqrt(sxx * syy)));
  pearson_p := aoma_private.correlation_pvalue_df(pearson_r, df);
  if rxx > 0 and ryy > 0 then
    spearman_rho := greatest(-1::float8, least(1::float8, rxy / sqrt(rxx * ryy)));
    spearman_p := aoma_private.correlation_pvalue_df(spearman_rho, df);
  end if;
  select f.lo, f.hi into pearson_ci_low, pearson_ci_high
    from aoma_private.fisher_interval(pearson_r, n - 3.0::float8 - k) f;
end
$$;
grant execute on function aoma_private.partial_correlation_from_sums(integer, integer, float8, float8, float8, float8, float8, float8, float8, float8, text, text, text)
  to authenticated, service_role;
