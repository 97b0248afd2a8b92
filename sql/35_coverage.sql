-- sql/35_coverage.sql — the feature catalog with each feature's source coverage and the periods
-- its feature table covers.

/*
 * analytics.feature_coverage — every catalog feature with the coverage of the raw table it is
 * computed from (rows, first and last event time, from analytics.data_coverage()), so an analyst
 * or the MCP tools can see at a glance which features have data, from when to when. Calendar
 * features have no source table (null coverage). After an ingest the numbers move at once (the raw
 * tables are read live); the feature tables themselves move with analytics.refresh_features(),
 * which every ingest calls.
 *
 * period_from, period_to: the first and last period of the feature's table (analytics.features_hourly,
 * _daily or _weekly) as it stands; period_note says what that range is: the hourly table covers only
 * the analysis window (analytics.settings.hourly_window, default 2 years back from the last hour with
 * data), the daily and weekly tables the full history. overlaps_with: the targets whose records the
 * feature may contain (never a default candidate driver of them).
 * Example: select name, grain, rows, first_at, last_at, period_from, period_note from analytics.feature_coverage where grain = 'hour';
 */
create or replace view analytics.feature_coverage
with (security_invoker = true) as
select c.name, c.grain, c.kind, c.unit, c.description, c.source,
       d.rows, d.first_at, d.last_at,
       p.period_from, p.period_to,
       case c.grain
         when 'hour' then format('analysis window: the last %s of data, from the first hour with data in it (analytics.settings.hourly_window); days and weeks keep the full history',
                                 (select s.hourly_window from analytics.settings s))
         else 'full history' end as period_note,
       c.overlaps_with
from analytics.feature_catalog c
left join analytics.data_coverage() d
  on d.source = split_part(split_part(c.source, ',', 1), '.', 2)
left join (
  select 'hour'::text as grain, min(h.hour) as period_from, max(h.hour) as period_to from analytics.features_hourly h
  union all
  select 'day', min(x.day)::timestamp at time zone 'UTC', max(x.day)::timestamp at time zone 'UTC' from analytics.features_daily x
  union all
  select 'week', min(w.week)::timestamp at time zone 'UTC', max(w.week)::timestamp at time zone 'UTC' from analytics.features_weekly w
) p on p.grain = c.grain;

comment on view analytics.feature_coverage is
  'The feature catalog with rows, first_at and last_at of each feature''s source table (null for calendar features), the periods its feature table covers (period_from, period_to, period_note: the hourly table covers the analysis window analytics.settings.hourly_window, days and weeks the full history) and the targets it overlaps (overlaps_with).';
grant select on analytics.feature_coverage to authenticated, service_role;
