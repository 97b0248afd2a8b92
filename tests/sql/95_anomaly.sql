-- Contract of analytics.anomaly_scores / analytics.anomaly_events (sql/80_anomaly.sql): signatures,
-- volatility, security, grants, every error sentence, and cases with a closed-form answer on series
-- without noise (constant series: every residual 0, so σ is the floor 10⁻⁶·|expected| until a spike
-- enters the 90th percentile — the 99th from 100 residuals on — of the residuals; a 0/10 alternation: the range rule, with its band
-- 10 + 5% of the range). Values against numpy on noisy series are in tests/anomaly_test.ts.
begin;
select plan(61);

-- the series of this file: idx 1..n every 5 minutes from 2026-01-01
create function pg_temp.ts(n integer) returns timestamptz[] language sql as $$
  select array_agg(timestamptz '2026-01-01 00:00+00' + (i - 1) * interval '5 minutes' order by i) from generate_series(1, n) i
$$;
-- constant 5 with the given spikes (value 50) at positions
create function pg_temp.spiky(n integer, spikes integer[]) returns float8[] language sql as $$
  select array_agg(case when i = any(spikes) then 50 else 5 end::float8 order by i) from generate_series(1, n) i
$$;

\set args 'array[''timestamp with time zone[]'', ''double precision[]'', ''integer'', ''double precision'', ''text'', ''boolean'']'
select has_function('analytics', 'anomaly_scores', :args, 'analytics.anomaly_scores(ts, vals, season, sensitivity, direction) exists');
select has_function('analytics', 'anomaly_events', :args, 'analytics.anomaly_events(ts, vals, season, sensitivity, direction) exists');
select function_returns('analytics', 'anomaly_scores', :args, 'setof record', 'anomaly_scores returns a table');
select is((select string_agg(a.n || ' ' || format_type(a.t, null), ', ' order by a.o)
           from pg_proc p, unnest(p.proargnames, p.proallargtypes, p.proargmodes) with ordinality as a(n, t, m, o)
           where p.oid = 'analytics.anomaly_scores(timestamptz[], float8[], integer, float8, text, boolean)'::regprocedure and a.m = 't'),
  'idx integer, ts timestamp with time zone, value double precision, expected double precision, lower double precision, upper double precision, score double precision, anomalous boolean, event integer',
  'anomaly_scores columns');
select is((select string_agg(a.n || ' ' || format_type(a.t, null), ', ' order by a.o)
           from pg_proc p, unnest(p.proargnames, p.proallargtypes, p.proargmodes) with ordinality as a(n, t, m, o)
           where p.oid = 'analytics.anomaly_events(timestamptz[], float8[], integer, float8, text, boolean)'::regprocedure and a.m = 't'),
  'event integer, started timestamp with time zone, ended timestamp with time zone, peak timestamp with time zone, peak_value double precision, peak_expected double precision, peak_score double precision, points integer, direction text, severity text',
  'anomaly_events columns');
select is((select pg_get_function_arguments('analytics.anomaly_scores(timestamptz[], float8[], integer, float8, text, boolean)'::regprocedure)),
  'ts timestamp with time zone[], vals double precision[], season integer DEFAULT 0, sensitivity double precision DEFAULT 0.5, direction text DEFAULT ''both''::text, counts boolean DEFAULT false',
  'anomaly_scores arguments and defaults');
select volatility_is('analytics', 'anomaly_scores', :args, 'immutable', 'anomaly_scores is immutable');
select volatility_is('analytics', 'anomaly_events', :args, 'immutable', 'anomaly_events is immutable');
select is((select bool_and(proparallel = 's') from pg_proc
           where oid in ('analytics.anomaly_scores(timestamptz[], float8[], integer, float8, text, boolean)'::regprocedure,
                         'analytics.anomaly_events(timestamptz[], float8[], integer, float8, text, boolean)'::regprocedure,
                         'aoma_private.anomaly_scores_impl(timestamptz[], float8[], integer, float8, text, boolean)'::regprocedure)),
  true, 'all three are parallel safe');
select isnt_definer('analytics', 'anomaly_scores', :args, 'anomaly_scores runs as the caller');
select function_privs_are('analytics', 'anomaly_scores', :args, 'anon', array[]::text[], 'anon cannot execute anomaly_scores');
select function_privs_are('analytics', 'anomaly_events', :args, 'anon', array[]::text[], 'anon cannot execute anomaly_events');
select function_privs_are('aoma_private', 'anomaly_scores_impl', :args, 'anon', array[]::text[], 'anon cannot execute the implementation');
select function_privs_are('analytics', 'anomaly_scores', :args, 'authenticated', array['EXECUTE'], 'authenticated executes anomaly_scores');
select function_privs_are('analytics', 'anomaly_events', :args, 'service_role', array['EXECUTE'], 'service_role executes anomaly_events');

-- the error sentences (22023)
select throws_ok($$select * from analytics.anomaly_scores(pg_temp.ts(3), array[1, 2]::float8[])$$,
  '22023', 'ts and vals must have the same length (got 3 and 2)', 'arrays of different lengths');
select throws_ok($$select * from analytics.anomaly_scores(array['2026-01-01', '2026-01-02', '2026-01-02']::timestamptz[], array[1, 2, 3]::float8[])$$,
  '22023', 'ts must be strictly increasing (position 3 is not after position 2)', 'ts not strictly increasing');
select throws_ok($$select * from analytics.anomaly_scores(array['2026-01-01', null]::timestamptz[], array[1, 2]::float8[])$$,
  '22023', 'ts must not contain nulls (null at position 2)', 'a null timestamp');
select throws_ok($$select * from analytics.anomaly_scores(null, array[1]::float8[])$$,
  '22023', 'ts and vals must be arrays (got null)', 'null arrays');
select throws_ok($$select * from analytics.anomaly_scores(pg_temp.ts(3), array[1, 2, 3]::float8[], sensitivity => 1)$$,
  '22023', 'sensitivity must be between 0.001 and 0.999 (got 1)', 'sensitivity 1');
select throws_ok($$select * from analytics.anomaly_scores(pg_temp.ts(3), array[1, 2, 3]::float8[], sensitivity => 0)$$,
  '22023', 'sensitivity must be between 0.001 and 0.999 (got 0)', 'sensitivity 0');
select throws_ok($$select * from analytics.anomaly_scores(pg_temp.ts(3), array[1, 2, 3]::float8[], direction => 'sideways')$$,
  '22023', 'direction must be ''up'', ''down'' or ''both'' (got ''sideways'')', 'unknown direction');
select throws_ok($$select * from analytics.anomaly_scores(pg_temp.ts(3), array[1, 2, 3]::float8[], season => -1)$$,
  '22023', 'season must be 0 (no seasonality) or a period of at least 2 points (got -1)', 'season < 0');
select throws_ok($$select * from analytics.anomaly_scores(pg_temp.ts(100), pg_temp.spiky(100, '{}'), season => 26)$$,
  '22023', 'season 26 is too large for 100 points: at most a quarter of the points (25) is allowed', 'season too large');
select throws_ok($$select * from analytics.anomaly_scores(pg_temp.ts(3), array[1, 'NaN', 3]::float8[])$$,
  '22023', 'vals must be finite numbers or null (got NaN at position 2)', 'NaN value');
select throws_ok($$select * from analytics.anomaly_scores(pg_temp.ts(200001), array_fill(1::float8, array[200001]))$$,
  '22023', 'at most 200,000 points are allowed (got 200001)', 'more than 200,000 points');
select throws_ok($$select * from analytics.anomaly_events(pg_temp.ts(3), array[1, 2, 3]::float8[], direction => 'UP')$$,
  '22023', 'direction must be ''up'', ''down'' or ''both'' (got ''UP'')', 'anomaly_events checks its arguments the same way');
select is((select count(*) from analytics.anomaly_scores('{}', '{}')), 0::bigint, 'empty arrays give no rows');
select throws_ok($$select * from analytics.anomaly_scores(pg_temp.ts(3), array[1, 2.5, 3]::float8[], counts => true)$$,
  '22023', 'counts => true needs whole numbers of events, 0 or more (got 2.5 at position 2); leave counts out for other series', 'counts needs whole numbers');
-- a sparse count (0, 1, 1, 2, … : mean 1): a period with 4 is a 4σ move without the Poisson floor (σ ≈ 0.61), ordinary with it (σ = 1)
select is((select array_agg(anomalous order by c) from (
    select c, (select anomalous from analytics.anomaly_scores(pg_temp.ts(60),
              (select array_agg(case when i = 60 then 4 else (array[0, 1, 1, 2])[i % 4 + 1] end::float8 order by i) from generate_series(1, 60) i),
              counts => c) where idx = 60) as anomalous
    from unnest(array[false, true]) c) x),
  array[true, false], 'the Poisson floor: 4 events after a history of mean 1 is not an anomaly of a count');

-- the score transform: 1 − two-sided t(3) tail; at |z| = √3 it is 1/2 + 1/π
select is(aoma_private.anomaly_t3_score(0), 0::float8, 'score of z = 0 is 0');
select ok(abs(aoma_private.anomaly_t3_score(sqrt(3::float8)) - (0.5 + 1 / pi())) < 1e-15, 'score of z = √3 is 1/2 + 1/π');
select is(aoma_private.anomaly_t3_score(1e300), 1::float8, 'a huge z (capped at 10¹²) scores 1, no overflow error');
select ok((select bool_and(aoma_private.anomaly_t3_score(z) between 0 and 1) from unnest(array[0.1, 4, 1e6, 1e12, 1e13, -1e300]::float8[]) z),
  'the score stays in [0, 1]');

-- constant 5 with one spike at 60 (season 0): warm-up, then z = 0 everywhere but the spike
create temp table one_spike as select * from analytics.anomaly_scores(pg_temp.ts(100), pg_temp.spiky(100, '{60}'));
select is((select count(*) from one_spike where idx <= 12 and expected is null), 12::bigint,
  'warm-up: no expected value before 12 values of history');
select is((select count(*) from one_spike where idx <= 24 and score is null and not anomalous and lower is null), 24::bigint,
  'warm-up: no score and not anomalous before 12 residuals of history (points 1-24)');
select is((select array[expected, score] from one_spike where idx = 25), array[5, 0]::float8[],
  'point 25: expected 5, score 0');
select ok((select score > 0.999999 and anomalous and event = 1 from one_spike where idx = 60), 'the spike scores ~1, is anomalous, event 1');
select is((select count(*) from one_spike where anomalous), 1::bigint, 'no other point is anomalous');
select is((select array[lower, upper] from one_spike where idx = 59), array[5 - 4 * 5e-6, 5 + 4 * 5e-6]::float8[],
  'a constant history: σ = 10⁻⁶·|expected|, band 5 ∓ 4σ at sensitivity 0.5');
select is((select row(e.event, e.started, e.ended, e.peak, e.peak_value, e.peak_expected, e.points, e.direction, e.severity)::text
           from analytics.anomaly_events(pg_temp.ts(100), pg_temp.spiky(100, '{60}')) e),
  row(1, timestamptz '2026-01-01 04:55+00', timestamptz '2026-01-01 04:55+00', timestamptz '2026-01-01 04:55+00', 50::float8, 5::float8, 1, 'up', 'high')::text,
  'the spike is one event: start = end = peak = point 60, severity high');

-- event grouping: an anomalous point opens a new event only when it is more than 3 points after the
-- previous anomalous point and more than L = 48 points (season 0) after the first point of the event
select is((select array_agg(event order by idx) from analytics.anomaly_scores(pg_temp.ts(150), pg_temp.spiky(150, '{60,63}')) where anomalous),
  array[1, 1], 'spikes at 60 and 63 (gap of 2 points): one event');
select is((select array_agg(event order by idx) from analytics.anomaly_scores(pg_temp.ts(150), pg_temp.spiky(150, '{60,64}')) where anomalous),
  array[1, 1], 'spikes at 60 and 64 (4 points after the event''s start): one event, no second alert');
select is((select array_agg(event order by idx) from analytics.anomaly_scores(pg_temp.ts(150), pg_temp.spiky(150, '{60,108}')) where anomalous),
  array[1, 1], 'spikes at 60 and 108 (48 points after the event''s start): still one event');
select is((select array_agg(event order by idx) from analytics.anomaly_scores(pg_temp.ts(150), pg_temp.spiky(150, '{60,109}')) where anomalous),
  array[1, 2], 'spikes at 60 and 109 (49 points after the event''s start): two events');

-- a level shift 5 → 15 at point 101: residuals from point 13 on, 88 zeros before the shift, so at point
-- 101 + k (k shifted residuals of 10 in the history, fewer than 100 residuals: σ from the 90th
-- percentile) Q₀.₉₀ = 0 for k ≤ 9 (σ = 1.2533 · mean, z = (88 + k) / (1.2533 k) ≥ 8.6; k = 0: the floor),
-- Q₀.₉₀ = 0.3 · 10 at k = 10 (z = 10 / (3 / 1.6449) = 5.48), Q₀.₉₀ = 10 at k = 11 (z = 1.64): points 101–111
-- are anomalous, one event
create temp table shift as
  select * from analytics.anomaly_events(pg_temp.ts(200), (select array_agg(case when i <= 100 then 5 else 15 end::float8 order by i) from generate_series(1, 200) i));
select is((select count(*) from shift), 1::bigint, 'the level shift is one event');
select is((select row(started, ended, peak, points, direction)::text from shift),
  row(timestamptz '2026-01-01 08:20+00', timestamptz '2026-01-01 09:10+00', timestamptz '2026-01-01 08:20+00', 11, 'up')::text,
  'the shift event starts at point 101, ends at 111 (11 points), peaks at 101');

-- direction and gaps
select is((select array[score, lower] from analytics.anomaly_scores(pg_temp.ts(100), pg_temp.spiky(100, '{}'), direction => 'up')
           where idx = 60), array[0, null]::float8[], 'direction up: a value on the expected value scores 0, no lower band');
select is((select count(*) from analytics.anomaly_scores(pg_temp.ts(100),
             (select array_agg(case when i = 60 then -40 else 5 end::float8 order by i) from generate_series(1, 100) i), direction => 'up')
           where anomalous), 0::bigint, 'direction up: a downward spike is not anomalous');
select is((select row(score, anomalous, event, expected)::text from analytics.anomaly_scores(pg_temp.ts(100),
             (select array_agg(case when i = 70 then null else 5 end::float8 order by i) from generate_series(1, 100) i)) where idx = 70),
  row(null::float8, false, null::integer, 5::float8)::text, 'a null value is a gap: no score, not anomalous, expected still given');
select is((select count(score) from analytics.anomaly_scores(pg_temp.ts(100),
             (select array_agg(case when i between 5 and 40 then null else 5 end::float8 order by i) from generate_series(1, 100) i))
           where idx <= 60), 0::bigint, 'a long gap keeps the series in warm-up: no score until enough history');

-- seasonality: a pure daily pattern (season 24) is expected exactly once 3 seasons of offsets exist
select ok((select bool_and(abs(expected - (10 + (idx % 24))) < 1e-9) and count(*) filter (where anomalous) = 0
           from analytics.anomaly_scores(pg_temp.ts(240),
             (select array_agg((10 + i % 24)::float8 order by i) from generate_series(1, 240) i), season => 24)
           where expected is not null),
  'a repeating daily pattern is expected exactly, nothing anomalous');
select is((select min(idx) from analytics.anomaly_scores(pg_temp.ts(240),
             (select array_agg((10 + i % 24)::float8 order by i) from generate_series(1, 240) i), season => 24)
           where expected is not null), 85, 'season 24: expected from point 85 (a level from point 13, then 3 seasons of slot offsets: 13 + 72)');

-- the range rule (on once 288 values precede t): values alternate 0 / 10 (odd / even idx), so the level is
-- 5, every residual ±5 or, in the first points, 0 / 10: |z| ≤ 10 / (10 / 2.5758) = 2.58 < 4 for 10.6 or
-- −0.6; past the range [0, 10] by 0.6 the range z is 80 · 0.6 / 10 = 4.8 ≥ 4
create function pg_temp.alt(n integer, at integer, v float8) returns float8[] language sql as $$
  select array_agg(case when i = at then v when i % 2 = 0 then 10 else 0 end::float8 order by i) from generate_series(1, n) i
$$;
create temp table rng as select * from analytics.anomaly_scores(pg_temp.ts(400), pg_temp.alt(400, 300, 10.6));
select ok((select anomalous and event = 1 and abs(score - aoma_private.anomaly_t3_score(80 * (10.6 - 10) / 10)) < 1e-12 from rng where idx = 300)
  and (select count(*) from rng where anomalous) = 1,
  'range rule: 10.6 after 299 values in [0, 10] is anomalous (range z 4.8), the only anomalous point');
select is((select array[lower, upper] from rng where idx = 300), array[-0.5, 10.5]::float8[],
  'range rule: the band is narrowed to the range ∓ 5% of it (sensitivity 0.5)');
select is((select count(*) from analytics.anomaly_scores(pg_temp.ts(400), pg_temp.alt(400, 200, 10.6)) where anomalous), 0::bigint,
  'range rule: not before 288 values (10.6 at point 200 is not anomalous)');
select is((select anomalous from analytics.anomaly_scores(pg_temp.ts(400), pg_temp.alt(400, 301, -0.6), direction => 'down') where idx = 301), true,
  'range rule, direction down: −0.6 below the range is anomalous');
select is((select anomalous from analytics.anomaly_scores(pg_temp.ts(400), pg_temp.alt(400, 301, -0.6), direction => 'up') where idx = 301), false,
  'range rule, direction up: −0.6 below the range is not');

select is((select count(*) from analytics.anomaly_scores(pg_temp.ts(1200), (select array_agg(sin(i / 10.0)::float8 order by i) from generate_series(1, 1200) i), season => 288)
           where expected is null and (lower is not null or upper is not null or score is not null or anomalous)), 0::bigint,
  'season 288: no band, score or flag before the expected value exists, though the range rule is on from point 289');

-- a short daily series (90 days, season 7): a weekly pattern 10 + i mod 7 with a deterministic wobble
-- 0.5·sin(2.3 i); a spike, and a spike followed by a level shift of +8 (16 wobble amplitudes)
create function pg_temp.days(n integer) returns timestamptz[] language sql as $$
  select array_agg(timestamptz '2026-01-01 00:00+00' + (i - 1) * interval '1 day' order by i) from generate_series(1, n) i
$$;
select is((select array_agg(idx order by idx) from analytics.anomaly_scores(pg_temp.days(90),
             (select array_agg(case when i = 70 then 40 else 10 + i % 7 + 0.5 * sin(2.3 * i) end::float8 order by i) from generate_series(1, 90) i), season => 7)
           where anomalous), array[70], 'season 7, 90 points: the spike on day 70 is the only anomalous point');
select is((select array_agg(started::date::text order by event) from analytics.anomaly_events(pg_temp.days(90),
             (select array_agg(case when i = 50 then 40 else 10 + i % 7 + 0.5 * sin(2.3 * i) + case when i >= 70 then 8 else 0 end end::float8 order by i)
              from generate_series(1, 90) i), season => 7)),
  array['2026-02-19', '2026-03-11'], 'season 7, 90 points: a spike on day 50 does not hide a level shift on day 70: two events');

select * from finish();
rollback;
