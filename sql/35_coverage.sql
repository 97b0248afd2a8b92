-- sql/35_coverage.sql — the feature catalog with each feature's source coverage.

/*
 * analytics.feature_coverage — every catalog feature with the coverage of the raw table it is
 * computed from (rows, first and last event time, from analytics.data_coverage()), so an analyst
 * or the MCP tools can see at a glance which features have data, from when to when. Calendar
 * features have no source table (null coverage). After an ingest the numbers move at once (the raw
 * tables are read live); the feature views themselves move with analytics.refresh_features(),
 * which every ingest calls.
 * Example: select name, grain, rows, first_at, last_at from analytics.feature_coverage where grain = 'day';
 */
create or replace view analytics.feature_coverage
with (security_invoker = true) as
select c.name, c.grain, c.kind, c.unit, c.description, c.source,
       d.rows, d.first_at, d.last_at
from analytics.feature_catalog c
left join analytics.data_coverage() d
  on d.source = split_part(split_part(c.source, ',', 1), '.', 2);

comment on view analytics.feature_coverage is
  'The feature catalog with rows, first_at and last_at of each feature''s source table (null for calendar features).';
grant select on analytics.feature_coverage to authenticated, service_role;
