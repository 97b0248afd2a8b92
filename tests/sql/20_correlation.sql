-- Contract of analytics.correlate (sql/20_correlation.sql): signature, security, grants, every error
-- sentence, and the numbers on a ten-day dataset (scipy 1.10 pearsonr / spearmanr, statsmodels
-- fdr_bh). The raw tables are emptied inside this transaction, which is rolled back.
begin;
select plan(30);

-- ───────────────────────────── signature and security ─────────────────────────────
select has_function('analytics', 'correlate', array['text', 'text[]', 'integer', 'date', 'date', 'text', 'text'],
  'analytics.correlate(target, features, max_lag, date_from, date_to, grain, adjust) exists');
select function_returns('analytics', 'correlate', array['text', 'text[]', 'integer', 'date', 'date', 'text', 'text'],
  'setof record', 'correlate returns a set of rows');
select is(
  (select array_agg(a.name || ' ' || format_type(a.type, null) order by a.i)
   from pg_proc p
   cross join lateral unnest(p.proargnames, p.proallargtypes, p.proargmodes::text[]) with ordinality as a(name, type, mode, i)
   where p.oid = 'analytics.correlate(text, text[], integer, date, date, text, text)'::regprocedure and a.mode = 't'),
  array['feature text', 'lag integer', 'n integer', 'pearson_r double precision', 'pearson_p double precision',
        'pearson_ci_low double precision', 'pearson_ci_high double precision', 'spearman_rho double precision',
        'spearman_p double precision', 'pearson_q double precision', 'spearman_q double precision',
        'rank integer', 'note text', 'adjusted_for text'],
  'correlate output columns');
select isnt_definer('analytics', 'correlate', array['text', 'text[]', 'integer', 'date', 'date', 'text', 'text'],
  'correlate runs as the caller (security invoker)');
select volatility_is('analytics', 'correlate', array['text', 'text[]', 'integer', 'date', 'date', 'text', 'text'], 'stable',
  'correlate is stable');
select function_privs_are('analytics', 'correlate', array['text', 'text[]', 'integer', 'date', 'date', 'text', 'text'],
  'anon', array[]::text[], 'anon cannot execute correlate');
select function_privs_are('analytics', 'correlate', array['text', 'text[]', 'integer', 'date', 'date', 'text', 'text'],
  'authenticated', array['EXECUTE'], 'authenticated executes correlate');
select function_privs_are('analytics', 'correlate', array['text', 'text[]', 'integer', 'date', 'date', 'text', 'text'],
  'service_role', array['EXECUTE'], 'service_role executes correlate');

-- ───────────────────────────── a ten-day dataset ─────────────────────────────
-- Monday 2026-01-05 .. 2026-01-14: asset volume and failures; failures follow the previous day's volume.
truncate aoma.jira_issues, aoma.git_commits, aoma.deployments, aoma.log_events, aoma.aoma_system_metrics,
         aoma.processing_attempts, aoma.incidents cascade;
insert into aoma.aoma_system_metrics (source, "timestamp", asset_volume)
select 'pgtap', ('2026-01-05'::date + (d.i::int - 1))::timestamp at time zone 'UTC' + interval '12 hours', d.v
from unnest('{100,300,200,500,400,700,600,900,800,1000}'::int[]) with ordinality as d(v, i);
insert into aoma.incidents (incident_key, started_at, source)
select format('PGTAP-%s-%s', f.day, k), (f.day::timestamp at time zone 'UTC') + k * interval '1 hour', 'pgtap'
from unnest('{0,1,3,2,5,4,6,5,9,8}'::int[]) with ordinality as c(cnt, i)
cross join lateral (select '2026-01-05'::date + (c.i::int - 1) as day) f
cross join lateral generate_series(1, c.cnt) as k;
select lives_ok($$select * from analytics.refresh_features()$$, 'the feature views refresh');
select is((select count(*)::int from analytics.features_daily), 10, 'ten days in the daily view');

create temp table got on commit drop as
  select * from analytics.correlate('failure_count', array['is_monday', 'asset_volume', 'asset_volume'], 1, adjust => 'none');
select results_eq($$select feature, lag, n, rank from got order by rank$$,
  $$values ('asset_volume', 1, 9, 1), ('asset_volume', 0, 10, 2), ('is_monday', 0, 10, 3)$$,
  'one row per (feature, lag); duplicates ignored; the calendar feature at lag 0 only; ranked by q');
select cmp_ok((select abs(pearson_r - 0.9872689603142603) from got where feature = 'asset_volume' and lag = 1),
  '<=', 1e-9::float8, 'lag-1 Pearson r as scipy');
select cmp_ok((select abs(pearson_p / 7.571341899272413e-07 - 1) from got where feature = 'asset_volume' and lag = 1),
  '<=', 1e-6::float8, 'lag-1 Pearson p as scipy');
select cmp_ok((select abs(pearson_ci_low / 0.93847239733878 - 1) + abs(pearson_ci_high / 0.9974173064290556 - 1)
               from got where feature = 'asset_volume' and lag = 1),
  '<=', 1e-6::float8, 'lag-1 95% CI as scipy');
select cmp_ok((select abs(spearman_rho - 0.9958246164193105) + abs(spearman_p / 1.542446383195912e-08 - 1)
               from got where feature = 'asset_volume' and lag = 1),
  '<=', 1e-6::float8, 'lag-1 Spearman rho and p as scipy');
select cmp_ok((select abs(pearson_q / 2.271402569781724e-06 - 1) + abs(spearman_q / 9.254678299175472e-08 - 1)
               from got where feature = 'asset_volume' and lag = 1),
  '<=', 1e-6::float8, 'q-values over the family of all six p-values, as statsmodels fdr_bh');
select cmp_ok((select abs(pearson_q / 0.3905714418322148 - 1) from got where feature = 'is_monday'),
  '<=', 1e-6::float8, 'is_monday q as statsmodels');
select is((select count(*)::int from analytics.correlate(max_lag => 2) c
           join analytics.feature_catalog f on f.name = c.feature and f.grain = 'day'
           where f.kind = 'calendar' and c.lag > 0), 0, 'default call: calendar features only at lag 0');
select is((select count(*)::int from analytics.correlate(max_lag => 2) where feature = 'failure_count'), 0,
  'default call: the target is not among the features');

-- ───────────────────────────── error sentences ─────────────────────────────
select throws_ok($$select * from analytics.correlate(grain => 'month')$$, '22023',
  'grain must be one of hour, day, week (got "month")', 'unknown grain');
select throws_ok($$select * from analytics.correlate(max_lag => 31)$$, '22023',
  'max_lag must be between 0 and 30 for grain day (got 31)', 'max_lag above the day limit');
select throws_ok($$select * from analytics.correlate(max_lag => 169, grain => 'hour')$$, '22023',
  'max_lag must be between 0 and 168 for grain hour (got 169)', 'max_lag above the hour limit');
select throws_ok($$select * from analytics.correlate(max_lag => -1, grain => 'week')$$, '22023',
  'max_lag must be between 0 and 12 for grain week (got -1)', 'negative max_lag');
select throws_ok($$select * from analytics.correlate(date_from => '2026-02-01', date_to => '2026-01-01')$$, '22023',
  'date range 2026-02-01 to 2026-01-01 is empty', 'reversed date range');
select throws_ok($$select * from analytics.correlate(date_from => '2099-01-01', date_to => '2099-12-31')$$, '22023',
  'no day-level data between 2099-01-01 and 2099-12-31', 'a range without data');
select throws_ok($$select * from analytics.correlate(features => array(select 'f' || i from generate_series(1, 101) i))$$,
  '22023', 'too many features: 101 given, at most 100 allowed', 'more than 100 features');
select throws_ok($$select * from analytics.correlate(features => array['asset_volume', null])$$, '22023',
  'features must not contain null', 'a null feature');
select throws_ok($$select * from analytics.correlate(features => array['asset_volume', 'no_such_thing'])$$, '22023',
  (select 'unknown variable "no_such_thing" for grain day; valid: ' || string_agg(name, ', ' order by name collate "C")
   from analytics.feature_catalog where grain = 'day'),
  'an unknown feature lists the valid names');
select throws_ok($$select * from analytics.correlate('no_such_target')$$, '22023',
  (select 'unknown variable "no_such_target" for grain day; valid: ' || string_agg(name, ', ' order by name collate "C")
   from analytics.feature_catalog where grain = 'day'),
  'an unknown target lists the valid names');
select throws_ok($$select * from analytics.correlate(features => array['is_tuesday'], grain => 'hour')$$, '22023',
  (select 'unknown variable "is_tuesday" for grain hour; valid: ' || string_agg(name, ', ' order by name collate "C")
   from analytics.feature_catalog where grain = 'hour'),
  'names resolve per grain');

select * from finish();
rollback;
