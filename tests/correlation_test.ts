/**
 * The statistics library (sql/00_stats.sql) and analytics.correlate (sql/20_correlation.sql)
 * against the reference values of tests/reference/make_reference.py (scipy, statsmodels, mpmath).
 *
 * Runs on an in-memory PGlite database (migrated here) and, when AOMA_TEST_DB_URL is set, on that
 * server too (already migrated; every write happens in a transaction that is rolled back).
 *
 * Tolerances: r and ρ 1e-9 absolute; p-values and CI bounds 1e-6 relative to scipy; q-values 1e-12
 * (BH alone) or 1e-6 relative (correlate, where they inherit the p-values' tolerance); the special
 * functions 1e-12 relative to the exact (mpmath) value and 1e-6 relative to scipy.
 */
import assert from "node:assert/strict";
import { migrateAll } from "../src/db/migrate.ts";
import { openPglite } from "../src/db/pglite.ts";
import { openPostgres } from "../src/db/postgres.ts";
import type { Db, Executor } from "../src/db/types.ts";

// ───────────────────────────── reference data ─────────────────────────────

type Num = number | null;
interface Expected {
  n: number;
  pearson_r: Num;
  pearson_p: Num;
  pearson_ci_low: Num;
  pearson_ci_high: Num;
  spearman_rho: Num;
  spearman_p: Num;
  note: string | null;
}
interface ExpectedRow extends Expected {
  feature: string;
  lag: number;
  pearson_q: Num;
  spearman_q: Num;
  rank: number;
  adjusted_for?: string | null;
}
interface Reference {
  meta: Record<string, unknown>;
  ln_gamma: [number, number, number][];
  incomplete_beta: [number, number, number, number, number][];
  student_t_sf2: [number, number, number | null, number][];
  correlation: { name: string; x: Num[]; y: Num[]; expected: Expected }[];
  bh: { p: Num[]; q: Num[] }[];
  correlate: {
    raw: {
      aoma_system_metrics: { timestamp: string; asset_volume: number }[];
      incidents: { incident_key: string; started_at: string }[];
      git_commits: { sha: string; committed_at: string }[];
    };
    call: { target: string; features: string[]; max_lag: number; date_from: string; date_to: string; grain: string };
    expected: ExpectedRow[];
    expected_seasonal: ExpectedRow[];
  };
}

const REF: Reference = JSON.parse(
  await Deno.readTextFile(new URL("./reference/stats_reference.json", import.meta.url)),
);

// ───────────────────────────── tiny assert helpers ─────────────────────────────

/** |actual − expected| ≤ tol·|expected| (both null, or both exactly 0, also pass). */
function closeRel(actual: unknown, expected: Num, tol: number, what: string): void {
  if (expected === null) {
    assert.equal(actual, null, `${what}: expected null, got ${actual}`);
    return;
  }
  assert.equal(typeof actual, "number", `${what}: expected a number near ${expected}, got ${actual}`);
  const a = actual as number;
  assert.ok(Number.isFinite(a), `${what}: not finite: ${a}`);
  const err = Math.abs(a - expected);
  assert.ok(
    err <= tol * Math.abs(expected),
    `${what}: got ${a}, expected ${expected} (relative error ${err / Math.abs(expected)} > ${tol})`,
  );
}

/** |actual − expected| ≤ tol. */
function closeAbs(actual: unknown, expected: Num, tol: number, what: string): void {
  if (expected === null) {
    assert.equal(actual, null, `${what}: expected null, got ${actual}`);
    return;
  }
  assert.equal(typeof actual, "number", `${what}: expected a number near ${expected}, got ${actual}`);
  assert.ok(Math.abs((actual as number) - expected) <= tol, `${what}: got ${actual}, expected ${expected} (± ${tol})`);
}

/** Asserts that `fn` fails with SQLSTATE `code` and exactly `message`. */
async function rejectsWith(fn: () => Promise<unknown>, code: string, message: string): Promise<void> {
  try {
    await fn();
  } catch (e) {
    const err = e as { code?: string; message?: string };
    assert.equal(err.message, message);
    assert.equal(err.code, code, `SQLSTATE of "${message}"`);
    return;
  }
  assert.fail(`expected an error: ${message}`);
}

/** Thrown to roll a transaction back after its assertions passed. */
class Rollback extends Error {}

/** Runs fn in a transaction that is always rolled back. */
async function inRolledBackTransaction(db: Db, fn: (tx: Executor) => Promise<void>): Promise<void> {
  try {
    await db.transaction(async (tx) => {
      await fn(tx);
      throw new Rollback("rollback");
    });
  } catch (e) {
    if (!(e instanceof Rollback)) throw e;
  }
}

/**
 * SQL for a float8[] from a JSON array parameter (null elements stay null, order kept). Arrays go in
 * and out as JSON text: postgres.js would serialise a jsonb parameter twice and reads NULL elements
 * of a float8[] as NaN.
 */
const floatArray = (param: string) =>
  `coalesce((select array_agg(e::float8 order by o) from jsonb_array_elements_text(${param}::text::jsonb) with ordinality as t(e, o)), '{}')`;

const STATS_COLUMNS = [
  "pearson_r",
  "pearson_p",
  "pearson_ci_low",
  "pearson_ci_high",
  "spearman_rho",
  "spearman_p",
] as const;

/** Compares one correlation row with its scipy reference. */
function assertCorrelation(actual: Record<string, unknown>, e: Expected, what: string): void {
  assert.equal(actual.n, e.n, `${what}: n`);
  assert.equal(actual.note, e.note, `${what}: note`);
  closeAbs(actual.pearson_r, e.pearson_r, 1e-9, `${what}: pearson_r`);
  closeAbs(actual.spearman_rho, e.spearman_rho, 1e-9, `${what}: spearman_rho`);
  closeRel(actual.pearson_p, e.pearson_p, 1e-6, `${what}: pearson_p`);
  closeRel(actual.spearman_p, e.spearman_p, 1e-6, `${what}: spearman_p`);
  closeRel(actual.pearson_ci_low, e.pearson_ci_low, 1e-6, `${what}: pearson_ci_low`);
  closeRel(actual.pearson_ci_high, e.pearson_ci_high, 1e-6, `${what}: pearson_ci_high`);
}

// ───────────────────────────── the checks, per engine ─────────────────────────────

async function checkSpecialFunctions(db: Db): Promise<void> {
  const lg = await db.query<{ v: number }>(
    `select aoma_private.ln_gamma((e->>0)::float8) as v
     from jsonb_array_elements($1::text::jsonb) with ordinality as t(e, o) order by o`,
    [JSON.stringify(REF.ln_gamma)],
  );
  REF.ln_gamma.forEach(([x, scipyV, exact], i) => {
    // relative where ln Γ is not near its zeros (x = 1, 2), absolute there
    if (Math.abs(exact) > 0.1) closeRel(lg[i].v, exact, 1e-13, `ln_gamma(${x}) vs exact`);
    else closeAbs(lg[i].v, exact, 1e-14, `ln_gamma(${x}) vs exact`);
    if (Math.abs(scipyV) > 0.1) closeRel(lg[i].v, scipyV, 1e-6, `ln_gamma(${x}) vs scipy`);
  });

  const ib = await db.query<{ v: number }>(
    `select aoma_private.incomplete_beta((e->>0)::float8, (e->>1)::float8, (e->>2)::float8) as v
     from jsonb_array_elements($1::text::jsonb) with ordinality as t(e, o) order by o`,
    [JSON.stringify(REF.incomplete_beta)],
  );
  REF.incomplete_beta.forEach(([x, a, b, scipyV, exact], i) => {
    closeRel(ib[i].v, exact, 1e-12, `I_${x}(${a}, ${b}) vs exact`);
    closeRel(ib[i].v, scipyV, 1e-6, `I_${x}(${a}, ${b}) vs scipy`);
  });

  const ts = await db.query<{ v: number }>(
    `select aoma_private.student_t_sf2((e->>0)::float8, (e->>1)::float8) as v
     from jsonb_array_elements($1::text::jsonb) with ordinality as t(e, o) order by o`,
    [JSON.stringify(REF.student_t_sf2)],
  );
  REF.student_t_sf2.forEach(([t, df, scipyV, exact], i) => {
    closeRel(ts[i].v, exact, 1e-12, `student_t_sf2(${t}, ${df}) vs exact`);
    // null: scipy itself is off there (its t² overflows for |t| ≳ 1e154 and the tail becomes 0)
    if (scipyV !== null) closeRel(ts[i].v, scipyV, 1e-6, `student_t_sf2(${t}, ${df}) vs scipy`);
  });
  assert.ok(REF.student_t_sf2.some(([, , , exact]) => exact < 1e-290), "the grid reaches p < 1e-290");
}

async function checkCorrelationStats(db: Db): Promise<void> {
  for (const c of REF.correlation) {
    const [row] = await db.query<Record<string, unknown>>(
      `select * from aoma_private.correlation_stats(${floatArray("$1")}, ${floatArray("$2")})`,
      [JSON.stringify(c.x), JSON.stringify(c.y)],
    );
    assertCorrelation(row, c.expected, c.name);
    for (const k of STATS_COLUMNS) {
      if (row[k] !== null) assert.ok(Number.isFinite(row[k]), `${c.name}: ${k} finite`);
    }
  }
  // |r| = 1 exactly: p = 0 and the CI collapses to [r, r]
  const [line] = await db.query<Record<string, unknown>>(
    "select * from aoma_private.correlation_stats('{1,2,3,4,5,6}', '{-1,-3,-5,-7,-9,-11}')",
  );
  assert.deepEqual(
    [line.pearson_r, line.pearson_p, line.pearson_ci_low, line.pearson_ci_high, line.spearman_rho, line.spearman_p],
    [-1, 0, -1, -1, -1, 0],
  );
  // labels name the variables in the note
  const [labelled] = await db.query<{ note: string }>(
    "select note from aoma_private.correlation_stats('{1,1,1,1,1}', '{1,2,3,4,5}', 'is_monday', 'failure_count')",
  );
  assert.equal(labelled.note, "constant: no variation in is_monday");
  await rejectsWith(
    () => db.query("select * from aoma_private.correlation_stats('{1,2,3}', '{1,2}')"),
    "22023",
    "x and y must have the same length (got 3 and 2)",
  );
}

async function checkBh(db: Db): Promise<void> {
  for (const c of REF.bh) {
    const [row] = await db.query<{ q: Num[] }>(`select to_jsonb(aoma_private.bh_qvalues(${floatArray("$1")})) as q`, [
      JSON.stringify(c.p),
    ]);
    assert.equal(row.q.length, c.q.length, "BH keeps the length");
    c.q.forEach((e, i) => closeAbs(row.q[i], e, 1e-12, `bh(${JSON.stringify(c.p).slice(0, 40)}…)[${i}]`));
  }
  const [empty] = await db.query<{ q: Num[] }>("select to_jsonb(aoma_private.bh_qvalues('{}')) as q");
  assert.deepEqual(empty.q, []);
  await rejectsWith(
    () => db.query("select aoma_private.bh_qvalues('{0.5, 1.5}')"),
    "22023",
    "p-values must be between 0 and 1 (got 1.5)",
  );
}

/** Empties the raw tables, inserts the reference scenario and refreshes the feature views. */
async function loadScenario(tx: Executor): Promise<void> {
  const raw = REF.correlate.raw;
  await tx.query(
    `truncate aoma.jira_issues, aoma.git_commits, aoma.deployments, aoma.log_events,
              aoma.aoma_system_metrics, aoma.processing_attempts, aoma.incidents cascade`,
  );
  await tx.query(
    `insert into aoma.aoma_system_metrics (source, "timestamp", asset_volume)
     select 'correlation-test', r."timestamp", r.asset_volume
     from jsonb_to_recordset($1::text::jsonb) as r("timestamp" timestamptz, asset_volume integer)`,
    [JSON.stringify(raw.aoma_system_metrics)],
  );
  await tx.query(
    `insert into aoma.incidents (incident_key, started_at, source)
     select r.incident_key, r.started_at, 'correlation-test'
     from jsonb_to_recordset($1::text::jsonb) as r(incident_key text, started_at timestamptz)`,
    [JSON.stringify(raw.incidents)],
  );
  await tx.query(
    `insert into aoma.git_commits (repo, sha, authored_at, committed_at)
     select 'correlation-test', r.sha, r.committed_at, r.committed_at
     from jsonb_to_recordset($1::text::jsonb) as r(sha text, committed_at timestamptz)`,
    [JSON.stringify(raw.git_commits)],
  );
  await tx.query("select * from analytics.refresh_features()");
}

async function checkCorrelateScenario(db: Db): Promise<void> {
  const call = REF.correlate.call;
  await inRolledBackTransaction(db, async (tx) => {
    await loadScenario(tx);
    // analysts call it as authenticated (security invoker: grants decide)
    await tx.query("set local role authenticated");
    const callWith = (adjust: string) =>
      tx.query<Record<string, unknown>>(
        `select * from analytics.correlate($1, array(select jsonb_array_elements_text($2::text::jsonb)), $3, $4::date, $5::date, $6, $7)`,
        [call.target, JSON.stringify(call.features), call.max_lag, call.date_from, call.date_to, call.grain, adjust],
      );
    // adjust 'none': plain Pearson/Spearman (scipy); 'seasonal' (the default): partial correlations given
    // the weekday for non-calendar features (numpy residuals + scipy t, p cross-checked with statsmodels OLS)
    const cases: [string, ExpectedRow[]][] = [["none", REF.correlate.expected], ["seasonal", REF.correlate.expected_seasonal]];
    for (const [adjust, expected] of cases) {
      const got = await callWith(adjust);
      // duplicates in `features` are ignored; the calendar feature is tested at lag 0 only
      assert.deepEqual(
        got.map((r) => `${r.feature}@${r.lag}`),
        expected.map((e) => `${e.feature}@${e.lag}`),
        `rows in rank order (adjust ${adjust})`,
      );
      got.forEach((r, i) => {
        const e = expected[i];
        const what = `correlate (adjust ${adjust}) ${e.feature} lag ${e.lag}`;
        assertCorrelation(r, e, what);
        closeRel(r.pearson_q, e.pearson_q, 1e-6, `${what}: pearson_q`);
        closeRel(r.spearman_q, e.spearman_q, 1e-6, `${what}: spearman_q`);
        assert.equal(r.rank, e.rank, `${what}: rank`);
        assert.equal(r.adjusted_for, e.adjusted_for, `${what}: adjusted_for`);
      });
    }
    const rows = await callWith("none");
    // the planted effect: asset volume of the previous day is the top finding
    assert.equal(rows[0].feature, "asset_volume");
    assert.equal(rows[0].lag, 1);

    // features null: every driver and calendar feature of the grain, minus the target
    const all = await tx.query<Record<string, unknown>>("select * from analytics.correlate(target => 'failure_count', max_lag => 3)");
    const kinds = new Map(
      (await tx.query<{ name: string; kind: string }>(
        "select name, kind from analytics.feature_catalog where grain = 'day'",
      )).map((r) => [r.name, r.kind]),
    );
    const tested = new Set(all.map((r) => r.feature as string));
    const wanted = [...kinds].filter(([n, k]) => (k === "driver" || k === "calendar") && n !== "failure_count");
    assert.deepEqual([...tested].sort(), wanted.map(([n]) => n).sort(), "default features");
    for (const r of all) {
      const kind = kinds.get(r.feature as string);
      if (kind === "calendar") assert.equal(r.lag, 0, `${r.feature} is a calendar feature: lag 0 only`);
    }
    for (const [name, kind] of wanted) {
      const lags = all.filter((r) => r.feature === name).map((r) => r.lag).sort();
      assert.deepEqual(lags, kind === "calendar" ? [0] : [0, 1, 2, 3], `lags of ${name}`);
    }
    // ranks 1..N; rows without a p-value (constant features here) come last
    assert.deepEqual(all.map((r) => r.rank), all.map((_, i) => i + 1));
    const firstNote = all.findIndex((r) => r.note !== null);
    assert.ok(firstNote > 0, "some features are constant in this scenario");
    for (const [i, r] of all.entries()) {
      if (i < firstNote) assert.equal(r.note, null);
      else {
        assert.match(
          r.note as string,
          /^(constant: no variation in [a-z_]+|no variation in [a-z_]+ beyond the weekday pattern|not enough data \(n=\d+; need at least \d+( with the weekday adjustment)?\))$/,
        );
        assert.equal(r.pearson_p, null);
        assert.equal(r.pearson_q, null);
      }
    }
    // one BH family: both p-values of every row (checked with the library's bh_qvalues, which is
    // itself checked against statsmodels above)
    const [{ q }] = await tx.query<{ q: Num[] }>(
      `select to_jsonb(aoma_private.bh_qvalues(${floatArray("$1")})) as q`,
      [JSON.stringify([...all.map((r) => r.pearson_p as Num), ...all.map((r) => r.spearman_p as Num)])],
    );
    all.forEach((r, i) => {
      closeAbs(r.pearson_q, q[i], 1e-12, `family pearson_q ${r.feature}@${r.lag}`);
      closeAbs(r.spearman_q, q[all.length + i], 1e-12, `family spearman_q ${r.feature}@${r.lag}`);
    });

    // the target itself, when listed, is tested from lag 1 (autocorrelation), never at lag 0
    const self = await tx.query<{ lag: number }>(
      "select lag from analytics.correlate('failure_count', array['failure_count'], 2) order by lag",
    );
    assert.deepEqual(self.map((r) => r.lag), [1, 2]);

    // the work budget (PGlite never fires statement_timeout): every hourly feature at 169 lags over
    // 42 days of hours is millions of pairs, refused before any work is done
    await tx.query("savepoint budget");
    await assert.rejects(
      tx.query("select * from analytics.correlate(grain => 'hour', max_lag => 168)"),
      (e: Error) => /^too much work: \d+ tests over \d+ hour-level periods \(\d+ pairs\); at most 2000000 pairs per call/.test(e.message),
    );
    await tx.query("rollback to savepoint budget");
  });
}

async function checkCorrelateErrors(db: Db): Promise<void> {
  const call = (sql: string, params: unknown[] = []) => () => db.query(sql, params);
  const catalog = async (grain: string) =>
    (await db.query<{ name: string }>("select name from analytics.feature_catalog where grain = $1", [grain]))
      .map((r) => r.name)
      .sort()
      .join(", ");

  await rejectsWith(
    call("select * from analytics.correlate(grain => 'month')"),
    "22023",
    'grain must be one of hour, day, week (got "month")',
  );
  await rejectsWith(
    call("select * from analytics.correlate(max_lag => 31)"),
    "22023",
    "max_lag must be between 0 and 30 for grain day (got 31)",
  );
  await rejectsWith(
    call("select * from analytics.correlate(max_lag => -1)"),
    "22023",
    "max_lag must be between 0 and 30 for grain day (got -1)",
  );
  await rejectsWith(
    call("select * from analytics.correlate(max_lag => 169, grain => 'hour')"),
    "22023",
    "max_lag must be between 0 and 168 for grain hour (got 169)",
  );
  await rejectsWith(
    call("select * from analytics.correlate(max_lag => 13, grain => 'week')"),
    "22023",
    "max_lag must be between 0 and 12 for grain week (got 13)",
  );
  await rejectsWith(
    call("select * from analytics.correlate(date_from => '2026-04-01', date_to => '2026-03-01')"),
    "22023",
    "date range 2026-04-01 to 2026-03-01 is empty",
  );
  await rejectsWith(
    call("select * from analytics.correlate(date_from => '2099-01-01', date_to => '2099-01-31')"),
    "22023",
    "no day-level data between 2099-01-01 and 2099-01-31",
  );
  await rejectsWith(
    call("select * from analytics.correlate(date_from => '2099-01-01', grain => 'week')"),
    "22023",
    "no week-level data between 2099-01-01 and infinity",
  );
  const many = Array.from({ length: 101 }, (_, i) => `f${i}`);
  await rejectsWith(
    call("select * from analytics.correlate(features => array(select jsonb_array_elements_text($1::text::jsonb)))", [
      JSON.stringify(many),
    ]),
    "22023",
    "too many features: 101 given, at most 100 allowed",
  );
  await rejectsWith(
    call("select * from analytics.correlate(features => array['asset_volume', null])"),
    "22023",
    "features must not contain null",
  );
  await rejectsWith(
    call("select * from analytics.correlate(features => '{}'::text[])"),
    "22023",
    "features must name at least one variable (or be null for every driver and calendar feature)",
  );
  const validDay = await catalog("day");
  assert.ok(validDay.includes("asset_volume, "), "the day catalog is loaded");
  await rejectsWith(
    call("select * from analytics.correlate(features => array['asset_volume', 'no_such_thing'])"),
    "22023",
    `unknown variable "no_such_thing" for grain day; valid: ${validDay}`,
  );
  await rejectsWith(
    call("select * from analytics.correlate('failure_count; drop table aoma.incidents')"),
    "22023",
    `unknown variable "failure_count; drop table aoma.incidents" for grain day; valid: ${validDay}`,
  );
  await rejectsWith(
    call("select * from analytics.correlate(features => array['is_tuesday'], grain => 'hour')"),
    "22023",
    `unknown variable "is_tuesday" for grain hour; valid: ${await catalog("hour")}`,
  );
}

async function checkGrants(db: Db): Promise<void> {
  const [g] = await db.query<Record<string, boolean>>(`
    select has_function_privilege('anon', 'analytics.correlate(text, text[], integer, date, date, text, text)', 'execute') as anon_correlate,
           has_function_privilege('authenticated', 'analytics.correlate(text, text[], integer, date, date, text, text)', 'execute') as auth_correlate,
           has_function_privilege('service_role', 'analytics.correlate(text, text[], integer, date, date, text, text)', 'execute') as service_correlate,
           has_function_privilege('anon', 'aoma_private.correlation_stats(float8[], float8[], text, text)', 'execute') as anon_stats,
           has_function_privilege('authenticated', 'aoma_private.correlation_stats(float8[], float8[], text, text)', 'execute') as auth_stats`);
  assert.deepEqual(g, {
    anon_correlate: false,
    auth_correlate: true,
    service_correlate: true,
    anon_stats: false,
    auth_stats: true,
  });
}

async function checkSpeed(db: Db): Promise<void> {
  // 30 features × 31 lags × 90 days, timed on the second call (the first compiles the functions)
  await inRolledBackTransaction(db, async (tx) => {
    await tx.query(
      `truncate aoma.jira_issues, aoma.git_commits, aoma.deployments, aoma.log_events,
                aoma.aoma_system_metrics, aoma.processing_attempts, aoma.incidents cascade`,
    );
    await tx.query(`
      insert into aoma.aoma_system_metrics (source, "timestamp", asset_volume, processing_time, error_count, performance_score)
      select 'speed', ts, (500 + 400 * sin(extract(epoch from ts) / 7e4))::int, 1 + (extract(hour from ts) % 7),
             (extract(doy from ts)::int * 7) % 11, 50 + (extract(doy from ts)::int * 13) % 40
      from generate_series('2026-01-01'::timestamptz, '2026-03-31 23:00', interval '3 hours') ts`);
    // deterministic pseudo-random events over 90 days, so that (almost) every feature varies
    await tx.query(`
      insert into aoma.incidents (incident_key, started_at)
      select 'SPEED-' || i, '2026-01-01'::timestamptz + (i * 7919 % 129600) * interval '1 minute'
      from generate_series(1, 250) i`);
    await tx.query(`
      insert into aoma.git_commits (repo, sha, authored_at, committed_at, files_changed, insertions, deletions, is_merge)
      select 'speed', md5(i::text), t, t, i % 9, i % 97, i % 31, i % 13 = 0
      from (select i, '2026-01-01'::timestamptz + (i * 104729 % 129600) * interval '1 minute' as t
            from generate_series(1, 3000) i) s`);
    await tx.query(`
      insert into aoma.jira_issues (issue_key, project, issue_type, priority, status, created_at, resolved_at)
      select 'SPD-' || i, 'SPD', (array['Bug', 'Story', 'Task', 'Incident'])[1 + i % 4],
             (array['High', 'Medium', 'Low'])[1 + i % 3], 'Done', t, t + (i % 5) * interval '1 day'
      from (select i, '2026-01-01'::timestamptz + (i::bigint * 15485863 % 129600) * interval '1 minute' as t
            from generate_series(1, 1500) i) s`);
    await tx.query(`
      insert into aoma.processing_attempts (attempt_id, asset_id, asset_type, started_at, finished_at, status)
      select 'speed-' || i, 'asset-' || (i % 300), 'WAV', t, t + (i % 50) * interval '1 second',
             case when i % 7 = 0 then 'failed' else 'succeeded' end
      from (select i, '2026-01-01'::timestamptz + (i * 7927 % 129600) * interval '1 minute' as t
            from generate_series(1, 2000) i) s`);
    await tx.query(`
      insert into aoma.log_events (source, event_key, ts, level)
      select 'speed', i::text, '2026-01-01'::timestamptz + (i * 6841 % 129600) * interval '1 minute',
             (array['INFO', 'WARN', 'ERROR'])[1 + i % 3]
      from generate_series(1, 3000) i`);
    await tx.query(`
      insert into aoma.deployments (deployment_id, deployed_at, status)
      select 'speed-' || i, '2026-01-01'::timestamptz + (i * 3571 % 129600) * interval '1 minute',
             case when i % 6 = 0 then 'failed' else 'succeeded' end
      from generate_series(1, 120) i`);
    await tx.query("select * from analytics.refresh_features()");
    const features = (await tx.query<{ name: string }>(
      `select name from analytics.feature_catalog
       where grain = 'day' and kind <> 'calendar' and name <> 'failure_count' order by name limit 30`,
    )).map((r) => r.name);
    const sql = `select count(*)::int as n, count(pearson_p)::int as with_p from analytics.correlate('failure_count',
                   array(select jsonb_array_elements_text($1::text::jsonb)), 30)`;
    await tx.query(sql, [JSON.stringify(features)]);
    const t0 = performance.now();
    const [{ n, with_p }] = await tx.query<{ n: number; with_p: number }>(sql, [JSON.stringify(features)]);
    const ms = performance.now() - t0;
    console.log(
      `correlate speed (${db.engine}): ${features.length} features x 31 lags x 90 days in ${ms.toFixed(0)} ms`,
    );
    assert.equal(n, features.length * 31);
    assert.ok(with_p >= n * 0.8, `most tests have a p-value (${with_p} of ${n})`);
    // scaled to 30 features: well under a second on the server (~0.3 s measured), PGlite (WASM,
    // ~0.7 s measured) gets slack for a busy machine
    const scaled = ms * 30 / features.length;
    const budget = db.engine === "postgres" ? 1000 : 3000;
    assert.ok(scaled < budget, `30 features × 31 lags × 90 days took ~${scaled.toFixed(0)} ms (budget ${budget} ms)`);
  });
}

async function runAll(t: Deno.TestContext, db: Db): Promise<void> {
  await t.step("ln_gamma, incomplete beta and Student's t against mpmath and scipy", () => checkSpecialFunctions(db));
  await t.step("correlation_stats against scipy pearsonr / spearmanr", () => checkCorrelationStats(db));
  await t.step("bh_qvalues against statsmodels fdr_bh", () => checkBh(db));
  await t.step("correlate on a known daily scenario (scipy + statsmodels numbers)", () => checkCorrelateScenario(db));
  await t.step("correlate error sentences", () => checkCorrelateErrors(db));
  await t.step("grants: anon cannot execute", () => checkGrants(db));
  await t.step("correlate is fast enough", () => checkSpeed(db));
}

Deno.test({
  name: "statistics library and correlate (PGlite)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const db = await openPglite();
    try {
      await migrateAll(db);
      await runAll(t, db);
    } finally {
      await db.close();
    }
  },
});

const SERVER_URL = Deno.env.get("AOMA_TEST_DB_URL");

Deno.test({
  name: "statistics library and correlate (server at AOMA_TEST_DB_URL)",
  ignore: !SERVER_URL,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const db = openPostgres(SERVER_URL!, { max: 2 });
    try {
      await runAll(t, db);
    } finally {
      await db.close();
    }
  },
});
