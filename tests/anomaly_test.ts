/**
 * analytics.anomaly_scores and analytics.anomaly_events (sql/80_anomaly.sql) against the independent
 * numpy implementation of tests/reference/make_anomaly_reference.py — a synthetic hourly series with
 * planted spikes, a level shift and gaps (season 24, both directions, 'up' only and 'down' only) and
 * NAB's iio_us-east-1_i-a2eb1cd9_NetworkIn (no season), and sparse daily counts with a planted
 * rise scored with and without counts (the Poisson floor); the first two are long enough for the range
 * rule (on after 288 values), and the synthetic level shift is one event of points 7 apart — on
 * PGlite and on the PostgreSQL server:
 * expected, lower, upper and score to 1e-9 (relative, absolute below 1), the anomalous flags, the
 * event numbers and every event row equal.
 */
import nodeAssert from "node:assert/strict";
import { testOnBothEngines } from "./_engines.ts";
import type { Db } from "../src/db/types.ts";

interface RefEvent {
  event: number;
  started_idx: number;
  ended_idx: number;
  peak_idx: number;
  peak_value: number;
  peak_expected: number;
  peak_score: number;
  points: number;
  direction: string;
  severity: string;
}
/** One call: its arguments and, per point (one entry each), what the reference computed. */
interface RefCase {
  name: string;
  series: string;
  season: number;
  sensitivity: number;
  direction: string;
  counts: boolean;
  expected: (number | null)[];
  lower: (number | null)[];
  upper: (number | null)[];
  score: (number | null)[];
  anomalous: boolean[];
  event: (number | null)[];
  events: RefEvent[];
}
interface RefSeries {
  start: string;
  step_minutes: number;
  values: (number | null)[];
}
const ref = JSON.parse(await Deno.readTextFile(new URL("./reference/anomaly_reference.json", import.meta.url))) as {
  series: Record<string, RefSeries>;
  cases: RefCase[];
};

/** The series' arrays as SQL expressions: ts from $1 (first timestamp) every $2 minutes, values from $3 (JSON). */
const ARRAYS = `(select array_agg($1::timestamptz + (o - 1) * make_interval(mins => $2::integer) order by o)
                 from jsonb_array_elements_text($3::text::jsonb) with ordinality as j(e, o)),
  (select array_agg(e::float8 order by o) from jsonb_array_elements_text($3::text::jsonb) with ordinality as j(e, o))`;

/** The timestamp of point idx (1-based) of a series, as the SQL below formats it. */
function tsOf(s: RefSeries, idx: number): string {
  return new Date(Date.parse(s.start) + (idx - 1) * s.step_minutes * 60_000).toISOString().replace(".000Z", "Z");
}

function close(actual: number | null, expected: number | null, what: string): void {
  if (expected === null || actual === null) {
    nodeAssert.equal(actual, expected, what);
    return;
  }
  const ok = Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected));
  nodeAssert.ok(ok, `${what}: got ${actual}, expected ${expected} (tolerance 1e-9, relative above 1)`);
}

async function checkCase(db: Db, c: RefCase): Promise<void> {
  const series = ref.series[c.series];
  const params = [series.start, series.step_minutes, JSON.stringify(series.values), c.season, c.sensitivity, c.direction, c.counts];
  const rows = await db.query<{ idx: number; expected: number | null; lower: number | null; upper: number | null; score: number | null; anomalous: boolean; event: number | null }>(
    `select a.idx, a.expected, a.lower, a.upper, a.score, a.anomalous, a.event
     from analytics.anomaly_scores(${ARRAYS}, $4::integer, $5::float8, $6::text, $7::boolean) a order by a.idx`,
    params,
  );
  nodeAssert.equal(rows.length, series.values.length, `${c.name}: one row per point`);
  for (const [i, a] of rows.entries()) {
    nodeAssert.equal(a.idx, i + 1, `${c.name}: idx`);
    for (const k of ["expected", "lower", "upper", "score"] as const) close(a[k], c[k][i], `${c.name}: ${k} at idx ${i + 1}`);
    nodeAssert.equal(a.anomalous, c.anomalous[i], `${c.name}: anomalous at idx ${i + 1}`);
    nodeAssert.equal(a.event, c.event[i], `${c.name}: event at idx ${i + 1}`);
  }
  const events = await db.query<Record<string, unknown> & { peak_value: number; peak_expected: number; peak_score: number }>(
    `select e.event, e.points, e.direction, e.severity, e.peak_value, e.peak_expected, e.peak_score,
            to_char(e.started at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as started,
            to_char(e.ended at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as ended,
            to_char(e.peak at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as peak
     from analytics.anomaly_events(${ARRAYS}, $4::integer, $5::float8, $6::text, $7::boolean) e order by e.event`,
    params,
  );
  nodeAssert.ok(c.events.length > 0, `${c.name}: the reference has events (a case without any would test nothing)`);
  nodeAssert.equal(events.length, c.events.length, `${c.name}: number of events`);
  for (const [i, e] of c.events.entries()) {
    const a = events[i];
    const what = `${c.name}: event ${e.event}`;
    nodeAssert.deepEqual(
      [a.event, a.points, a.direction, a.severity, a.started, a.ended, a.peak],
      [e.event, e.points, e.direction, e.severity, tsOf(series, e.started_idx), tsOf(series, e.ended_idx), tsOf(series, e.peak_idx)],
      what,
    );
    close(a.peak_value, e.peak_value, `${what} peak_value`);
    close(a.peak_expected, e.peak_expected, `${what} peak_expected`);
    close(a.peak_score, e.peak_score, `${what} peak_score`);
  }
}

testOnBothEngines("anomaly_scores and anomaly_events equal the numpy reference", "aoma_test_anomaly", async (t, db) => {
  for (const c of ref.cases) {
    await t.step(c.name, () => checkCase(db, c));
  }
});
