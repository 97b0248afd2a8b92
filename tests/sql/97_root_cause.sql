-- Contract of root-cause analysis (sql/83_root_cause.sql), the anomaly monitors (sql/81_anomaly_monitors.sql)
-- and the temporal failure patterns (sql/84_failure_patterns.sql): signatures, security, grants, the error
-- sentences, closed-form helpers, and a small planted case (rows of 2001, inside this transaction).
-- Values on the demo quarter are in tests/tools_root_cause_test.ts; the acceptance over generator seeds in
-- scripts/rca_acceptance.ts.
begin;
select plan(57);

select has_function('analytics', 'root_cause_headline', array['text', 'date', 'date', 'date', 'date', 'jsonb'], 'root_cause_headline exists');
select has_function('analytics', 'root_cause_segments', array['text', 'date', 'date', 'date', 'date', 'text[]', 'integer', 'jsonb'], 'root_cause_segments exists');
select has_function('analytics', 'root_cause_templates', array['text', 'text[]', 'date', 'date', 'date', 'date', 'integer'], 'root_cause_templates exists');
select has_function('analytics', 'root_cause_timeline', array['text', 'text[]', 'date', 'date', 'date', 'date'], 'root_cause_timeline exists');
select has_function('analytics', 'failure_patterns', array['date', 'date'], 'failure_patterns exists');
select has_function('analytics', 'detect_anomalies', array['text', 'text', 'date', 'date', 'double precision', 'text', 'integer', 'integer', 'text', 'text'], 'detect_anomalies exists');
select isnt_definer('analytics', 'root_cause_segments', array['text', 'date', 'date', 'date', 'date', 'text[]', 'integer', 'jsonb'], 'root_cause_segments runs as the caller');
select function_privs_are('analytics', 'root_cause_segments', array['text', 'date', 'date', 'date', 'date', 'text[]', 'integer', 'jsonb'],
  'anon', array[]::text[], 'anon cannot execute root_cause_segments');
select function_privs_are('analytics', 'root_cause_segments', array['text', 'date', 'date', 'date', 'date', 'text[]', 'integer', 'jsonb'],
  'authenticated', array['EXECUTE'], 'authenticated executes root_cause_segments');
select function_privs_are('analytics', 'create_anomaly_monitor', array['text', 'text', 'text', 'double precision', 'text', 'integer', 'text', 'text', 'integer'],
  'authenticated', array[]::text[], 'authenticated cannot register a monitor');
select function_privs_are('analytics', 'run_anomaly_monitors', array['text', 'text'], 'authenticated', array[]::text[], 'authenticated cannot run the monitors');
select function_privs_are('analytics', 'run_anomaly_monitors', array['text', 'text'], 'service_role', array['EXECUTE'], 'service_role runs the monitors');

-- closed-form helpers (statsmodels proportion_confint(5, 10, method='wilson') = 0.2365931, 0.7634069)
select is(round((select lo from aoma_private.rate_interval('binomial', 5, 10))::numeric, 7), 0.2365931, 'Wilson lower bound of 5/10');
select is(round((select hi from aoma_private.rate_interval('binomial', 5, 10))::numeric, 7), 0.7634069, 'Wilson upper bound of 5/10');
select is(round((select var from aoma_private.log_rate_ratio('binomial', 10, 100, 5, 100))::numeric, 12), 0.28::numeric, 'Katz variance 1/10 − 1/100 + 1/5 − 1/100');
select is(round(aoma_private.rca_loglik('binomial', 2, 4)::numeric, 12), round((4 * ln(0.5))::numeric, 12), 'binomial log-likelihood at the MLE');
select ok(aoma_private.rca_overlaps(array['a', null], array[null, 'b']) and not aoma_private.rca_overlaps(array['a', null], array['c', null]), 'overlap: agree where both are set');
select ok(aoma_private.rca_within(array['a', 'b'], array['a', null]) and not aoma_private.rca_within(array['a', null], array['a', 'b']), 'within: the child has the parent''s values');
select is(aoma_private.upload_cohort('2020-01-01', '2020-06-01', array['2020-03-01'::date], array['cloud migration']),
  'uploaded before cloud migration (2020-03-01)', 'upload cohort before a known date');
select is(aoma_private.upload_cohort(null, '2020-06-01', '{}', '{}'), 'upload date unknown', 'upload cohort without an upload time');

-- the within-day test: Mantel–Haenszel log risk ratio and Greenland–Robins variance
-- (tests/reference/make_rca_reference.py: statsmodels riskratio_pooled 1.7857142857, variance 0.0828571429)
select is(round((select est from aoma_private.rca_within_day('binomial', 12.5, 7, 7.25, 15, 150, 50, 850))::numeric, 10),
  round(0.5798184952529422::numeric, 10), 'within-day: the Mantel-Haenszel log risk ratio');
select is(round((select var from aoma_private.rca_within_day('binomial', 12.5, 7, 7.25, 15, 150, 50, 850))::numeric, 10),
  round(0.08285714285714285::numeric, 10), 'within-day: the Greenland-Robins variance');
select is(round((select var from aoma_private.rca_within_day('binomial', 0, 7, 0, 0, 150, 50, 850))::numeric, 10),
  round((1 / 0.5 - 1 / 151.0 + 1 / 50.5 - 1 / 851.0)::numeric, 10), 'within-day: no failure in the segment falls back to Haldane''s crude ratio');
select is(aoma_private.recent_commits_label(16, 15), 'more than 15 service commits in the prior 24 h', 'recent commits above the cut');
select is(aoma_private.recent_commits_label(null, 15), 'at most 15 service commits in the prior 24 h', 'no commits: at most the cut');

-- error sentences
select throws_ok($$select * from analytics.root_cause_segments('tickets')$$, '22023',
  'target "tickets" is not a failure measure root-cause analysis knows; use processing_failures (failed processing attempts), incidents or log_errors (ERROR and FATAL log lines)', 'unknown target');
select throws_ok($$select * from analytics.root_cause_headline('processing_failures', '2001-01-11', '2001-01-11')$$, '22023',
  'the window 2001-01-11 is a single day; give a window of at least 2 days to compare with the baseline (default: the last 14 days)', 'a window of one period');
select throws_ok($$select * from analytics.root_cause_headline('processing_failures', '2001-01-11', '2001-01-12', '2001-01-05', '2001-01-11')$$, '22023',
  'the baseline 2001-01-05 to 2001-01-11 overlaps the window 2001-01-11 to 2001-01-12; choose a baseline that ends before the window starts or begins after it ends (default: the 60 days before the window)',
  'a baseline overlapping the window');
select throws_ok($$select * from analytics.root_cause_headline('processing_failures', '1990-01-01', '1990-01-05')$$, '22023',
  'there are no processing attempts in the window 1990-01-01 to 1990-01-05; choose a window with data', 'a window with no data');

-- a planted case: type A's failure rate rises from 5% to 50% in the window, type B's stays at 5%
insert into aoma.processing_attempts (attempt_id, asset_id, asset_type, migration_state, started_at, status)
select 'T-' || t || '-' || p || '-' || i, 'X' || i, t, 'migrated',
       case p when 'b' then timestamptz '2001-01-01 00:00+00' + (i % 10) * interval '1 day' + interval '1 hour'
              else timestamptz '2001-01-11 00:00+00' + (i % 2) * interval '1 day' + interval '1 hour' end,
       case when p = 'b' and i < 5 then 'failed' when p = 'w' and t = 'A' and i < 25 then 'failed'
            when p = 'w' and t = 'B' and i < 2 then 'failed' else 'succeeded' end
from unnest(array['A', 'B']) t, unnest(array['b', 'w']) p, generate_series(0, 99) i
where p = 'b' or i < 50;

select results_eq(
  $$select window_n, window_failures, baseline_n, baseline_failures
    from analytics.root_cause_headline('processing_failures', '2001-01-11', '2001-01-12', '2001-01-01', '2001-01-10')$$,
  $$values (100::float8, 27::float8, 200::float8, 10::float8)$$, 'headline: attempts and failures counted in window and baseline');
select is((select round(excess::numeric, 9) from analytics.root_cause_headline('processing_failures', '2001-01-11', '2001-01-12', '2001-01-01', '2001-01-10')),
  22::numeric, 'excess = 27 − 100 × 10/200');
select results_eq(
  $$select vals[1], window_failures, round(change::numeric, 9) from analytics.root_cause_segments('processing_failures', '2001-01-11', '2001-01-12', '2001-01-01', '2001-01-10', array['asset_type'])
    where cause_rank = 1$$,
  $$values ('A'::text, 25::float8, 10::numeric)$$, 'the cause is type A, its rate ×10');
select is((select round(excess_share::numeric, 9) from analytics.root_cause_segments('processing_failures', '2001-01-11', '2001-01-12', '2001-01-01', '2001-01-10', array['asset_type'])
  where cause_rank = 1), round((22.5 / 22)::numeric, 9), 'type A explains 22.5 of the 22 excess failures (B fell by 0.5)');
select is((select count(*)::int from analytics.root_cause_segments('processing_failures', '2001-01-11', '2001-01-12', '2001-01-01', '2001-01-10', array['asset_type'])
  where cause_rank is not null), 1, 'one cause: B did not rise');
select throws_ok($$select * from analytics.root_cause_segments('processing_failures', '2001-01-11', '2001-01-12', '2001-01-01', '2001-01-10', array['colour'])$$, '22023',
  'dimension "colour" is not one of processing_failures''s: asset_type, migration_state, upload_cohort, recent_deploy, recent_commits', 'unknown dimension');
select throws_ok($$select * from analytics.root_cause_segments('processing_failures', '2001-01-11', '2001-01-12', '2001-01-01', '2001-01-10', null, 4)$$, '22023',
  'max_depth must be 1, 2 or 3 dimension values per segment (got 4)', 'depth out of range');
select throws_ok($$select * from analytics.root_cause_headline('processing_failures', '2001-01-11', '2001-01-12', '2001-01-01', '2001-01-10', '{"colour": "red"}')$$, '22023',
  'scope names "colour", which is not a dimension of processing_failures; use asset_type, migration_state, upload_cohort, recent_deploy, recent_commits', 'unknown scope dimension');
select throws_ok($$select * from analytics.root_cause_headline('processing_failures', '2001-01-11', '2001-01-12', '2001-01-01', '2001-01-10', '{"asset_type": "C"}')$$, '22023',
  'there are no processing attempts with {"asset_type": "C"} in the window 2001-01-11 to 2001-01-12; widen the scope or choose a window with data', 'a scope with no attempts');
select results_eq(
  $$select window_failures::int, baseline_failures::int from analytics.root_cause_headline('processing_failures', '2001-01-11', '2001-01-12', '2001-01-01', '2001-01-10', '{"asset_type": "A"}')$$,
  $$values (25, 5)$$, 'a scope counts only its units');
-- the service commits of the prior 24 hours, per hour: 3 commits at 2001-01-11 09:xx count from 10:00 to 09:00 the next day
insert into aoma.repositories (repo, is_service) values ('rca-test-svc', true);
insert into aoma.git_commits (repo, sha, authored_at, committed_at)
select 'rca-test-svc', md5(i::text), timestamptz '2001-01-11 09:10+00' + i * interval '1 minute', timestamptz '2001-01-11 09:10+00' + i * interval '1 minute'
from generate_series(1, 3) i;
select results_eq(
  $$select hour, commits from aoma_private.service_commit_hours('2001-01-11 09:00+00', '2001-01-12 11:00+00') where hour in
      ('2001-01-11 09:00+00', '2001-01-11 10:00+00', '2001-01-12 09:00+00', '2001-01-12 10:00+00') order by hour$$,
  $$values ('2001-01-11 09:00+00'::timestamptz, 0::bigint), ('2001-01-11 10:00+00', 3), ('2001-01-12 09:00+00', 3), ('2001-01-12 10:00+00', 0)$$,
  'service commits counted in the 24 h before each hour began');
select is((select count(distinct vals[5])::int from analytics.root_cause_segments('processing_failures', '2001-01-11', '2001-01-12', '2001-01-01', '2001-01-10', array['recent_commits'])),
  2, 'recent_commits splits the attempts at the baseline''s median hour');
-- the templates behind type A's failures: the one that rose is ranked first, with its interval, p and q
update aoma.processing_attempts set error_template_id = null where attempt_id like 'T-%';
insert into aoma.message_templates (template_id, template) values ('00000000000000aa', 'rca test new error <*>'), ('00000000000000bb', 'rca test old error <*>');
update aoma.processing_attempts set error_template_id = case when started_at >= '2001-01-11' and split_part(attempt_id, '-', 4)::int between 5 and 24
  then '00000000000000aa' else '00000000000000bb' end, error_message = 'example'
where attempt_id like 'T-A-%' and status = 'failed';
select results_eq(
  $$select template_id, window_failures, baseline_failures, excess_share > 0.7, p_value < 0.05, q_value < 0.05, change_lo < change and change < change_hi
    from analytics.root_cause_templates('processing_failures', array['A', null, null, null, null], '2001-01-11', '2001-01-12', '2001-01-01', '2001-01-10') limit 1$$,
  $$values ('00000000000000aa'::text, 20::bigint, 0::bigint, true, true, true, true)$$, 'templates: the new error first, with its share of the excess, p, q and interval');
-- error log lines: one ERROR line a day on two hosts in the baseline; in the window host h2 adds 10 a day of a new template
insert into aoma.log_events (source, event_key, ts, level, service, host, template_id, message)
select 'rca-test', h || '-' || d || '-' || k, timestamptz '2001-01-01 12:00+00' + d * interval '1 day' + k * interval '1 minute', 'ERROR', 'svc', h,
       case when k > 0 then '00000000000000aa' else '00000000000000bb' end, 'line'
from unnest(array['h1', 'h2']) h, generate_series(0, 11) d, generate_series(0, 10) k
where k = 0 or (h = 'h2' and d >= 10);
select results_eq(
  $$select window_n, window_failures, baseline_n, baseline_failures
    from analytics.root_cause_headline('log_errors', '2001-01-11', '2001-01-12', '2001-01-01', '2001-01-10')$$,
  $$values (2::float8, 24::float8, 10::float8, 20::float8)$$, 'log_errors: lines counted per period over its days');
select results_eq(
  $$select vals from analytics.root_cause_segments('log_errors', '2001-01-11', '2001-01-12', '2001-01-01', '2001-01-10') where cause_rank = 1$$,
  $$values (array[null, null, 'rca test new error <*>']::text[])$$, 'log_errors: the new template is the cause');
select is((select template_id from analytics.root_cause_templates('log_errors', array[null, 'h2', null], '2001-01-11', '2001-01-12', '2001-01-01', '2001-01-10') limit 1),
  '00000000000000aa', 'log_errors: the templates behind a host''s lines');
select throws_ok($$select * from analytics.root_cause_headline('log_errors', '2001-01-11', '2001-01-12', '2001-01-01', '2001-01-10', '{"host": "h9"}')$$, '22023',
  'there are no error log lines with {"host": "h9"} in the window 2001-01-11 to 2001-01-12 nor in the baseline 2001-01-01 to 2001-01-10; widen the scope or choose periods with data',
  'log_errors: a scope with no lines');
select is((select day from analytics.root_cause_timeline('processing_failures', array['A', null, null, null, null], '2001-01-11', '2001-01-12', '2001-01-01', '2001-01-10') where is_change),
  '2001-01-11'::date, 'the timeline puts the change on the window''s first day');

-- monitors and patterns: sentences
select throws_ok($$select * from analytics.detect_anomalies('asset_volume', asset_type => '360RA')$$, '22023',
  'a filter on asset type or migration state applies to processing_attempts, processing_failures and processing_failure_rate at day grain (got "asset_volume" at day grain)',
  'a filter on another feature');
set local role service_role;
select throws_ok($$select * from analytics.create_anomaly_monitor('Bad Name', 'processing_failures')$$, '22023',
  'a monitor name is 1 to 63 lower-case letters, digits and underscores, starting with a letter (got "Bad Name")', 'a bad monitor name');
select throws_ok($$select * from analytics.run_anomaly_monitors('cron')$$, '22023', 'scheduler must be one of pg_cron, in-process, manual (got "cron")', 'an unknown scheduler');
reset role;
select results_eq($$select aoma_private.anomaly_counts('processing_failures', 'day', '{1, 2}'), aoma_private.anomaly_counts('processing_failure_rate', 'day', '{1, 2}'),
                          aoma_private.anomaly_counts('processing_failures', 'day', '{1.5}')$$,
  $$values (true, false, false)$$, 'monitors: failures per day are counts; a rate, or a fractional value, is not');
-- the stated formulas: the anomaly threshold and the confidence of a failure-pattern analysis
select results_eq($$select z_cut, range_share from analytics.anomaly_threshold(0.5)$$, $$values (4::float8, 0.05::float8)$$, 'sensitivity 0.5: z 4, 5% past the range');
select is((select round(confidence::numeric, 12) from analytics.evidence_confidence(90, '[[0.001, 0.2, null], [], true]')),
  round(((0.999 + 0 + 1) / 3.0)::numeric, 12), 'confidence: mean strength of three sources over 90 days');
select is((select round(confidence::numeric, 12) from analytics.evidence_confidence(30, '[[0.01], [0.06]]')),
  round((0.5 * (0.99 + 0) / 2)::numeric, 12), 'confidence: 30 days halve it; a q of 0.06 is no finding');
select is((select confidence from analytics.evidence_confidence(90, '[]')), 0::float8, 'confidence: no source, 0');
select throws_ok($$select * from analytics.evidence_confidence(90, '[["x"]]')$$, '22023',
  'each evidence source is an array of q-values (numbers or null) or true/false (got ["x"])', 'confidence: a bad source');
select throws_ok($$select * from analytics.failure_patterns('2001-02-01', '2001-01-01')$$, '22023',
  'date_from (2001-02-01) is after date_to (2001-01-01); give the first day, then the last', 'failure_patterns: reversed window');

select * from finish();
rollback;
