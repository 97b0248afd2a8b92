/**
 * Metric and processing-attempt ingest (src/ingest/metrics.ts, src/ingest/attempts.ts): a real NAB
 * CloudWatch series loaded as one metric, fixture CSV/JSON files with bad rows, attempts whose error
 * messages become templates, and — after logs, metrics and attempts are in — analytics.correlate
 * answering on that data through SQL.
 *
 * Runs on an in-memory PGlite database and, when AOMA_TEST_DB_URL is set, in a scratch database
 * (aoma_test_metrics) created on that server and dropped afterwards.
 */
import { testOnBothEngines } from "../_engines.ts";
import assert from "node:assert/strict";
import { templateId } from "../../src/demo/generate.ts";
import type { Db } from "../../src/db/types.ts";
import { ingestAttempts, mapAttemptRecords } from "../../src/ingest/attempts.ts";
import { ingestLogs } from "../../src/ingest/logs.ts";
import { ingestMetrics, mapMetricRecords, readRecords, recordsOf, writeMetricRows } from "../../src/ingest/metrics.ts";
import { IngestReport } from "../../src/ingest/report.ts";

const DATA = new URL("./testdata/metrics/", import.meta.url);
/** ../shared/data/nab-aws next to the repository (/work/shared in dev, a sibling of the clone in CI). */
const NAB = new URL("../../../shared/data/nab-aws/elb_request_count_8c0756.csv", import.meta.url).pathname;

async function runAll(t: Deno.TestContext, db: Db): Promise<void> {
  await t.step("NAB series as one metric: every data row, exact values, idempotent", async () => {
    const lines = (await Deno.readTextFile(NAB)).trim().split("\n");
    const report = await ingestMetrics(db, { path: NAB, source: "nab-elb", valueColumn: "value", as: "asset_volume", refresh: false });
    assert.equal(report.read, lines.length - 1);
    assert.equal(report.rejected, 0);
    assert.equal(report.tables.aoma_system_metrics.inserted, lines.length - 1);
    const rows = await db.query<{ ts: string; v: number; p: number | null }>(
      `select "timestamp"::text as ts, asset_volume as v, processing_time as p from aoma.aoma_system_metrics
       where source = 'nab-elb' order by "timestamp" limit 3`,
    );
    assert.deepEqual(rows, [
      { ts: "2014-04-10 00:04:00+00", v: 94, p: null },
      { ts: "2014-04-10 00:09:00+00", v: 56, p: null },
      { ts: "2014-04-10 00:14:00+00", v: 187, p: null },
    ]);
    const [last] = await db.query<{ ts: string; v: number }>(
      `select "timestamp"::text as ts, asset_volume as v from aoma.aoma_system_metrics where source = 'nab-elb' order by "timestamp" desc limit 1`,
    );
    const [lastTs, lastV] = lines[lines.length - 1].split(",");
    assert.deepEqual(last, { ts: `${lastTs}+00`, v: Number(lastV) });
    const again = await ingestMetrics(db, { path: NAB, source: "nab-elb", valueColumn: "value", as: "asset_volume", refresh: false });
    assert.deepEqual([again.totals().inserted, again.totals().updated, again.totals().unchanged], [0, 0, lines.length - 1]);
    // a second series fills another column of the same source and leaves asset_volume as it was
    const cpu = "timestamp,value\n2014-04-10 00:04:00,0.5\n2014-04-10 00:09:00,0.25\n";
    const r2 = await ingestMetrics(db, { text: cpu, source: "nab-elb", valueColumn: "value", as: "processing_time", refresh: false });
    assert.equal(r2.tables.aoma_system_metrics.updated, 2);
    const both = await db.query<{ v: number; p: number }>(
      `select asset_volume as v, processing_time as p from aoma.aoma_system_metrics where source = 'nab-elb' order by "timestamp" limit 2`,
    );
    assert.deepEqual(both, [{ v: 94, p: 0.5 }, { v: 56, p: 0.25 }]);
    // fractions into an integer column: rejected unless rounded
    const frac = "timestamp,value\n2014-04-10 00:04:00,0.132\n";
    const bad = await ingestMetrics(db, { text: frac, source: "cpu", valueColumn: "value", as: "asset_volume", refresh: false });
    assert.deepEqual(bad.rejections, [{ line: 2, reason: "asset_volume 0.132 in value is not a whole number (use round to round it)" }]);
  });

  await t.step("fixture CSV: good rows in, bad rows rejected with line numbers and reasons", async () => {
    const report = await ingestMetrics(db, { path: new URL("aoma_metrics.csv", DATA).pathname, source: "aoma", refresh: false });
    assert.equal(report.read, 10);
    assert.deepEqual(report.rejections, [
      { line: 4, reason: 'unparseable number in asset_volume: "lots"' },
      { line: 5, reason: "negative error_count -2 in error_count; allowed: 0 or more" },
      { line: 6, reason: "timestamp (column timestamp): absurd date 1899-01-01T04:00:00.000Z; allowed: 1970-01-01 to two days from now" },
      { line: 7, reason: "missing timestamp (column timestamp)" },
      { line: 8, reason: "asset_volume 12.5 in asset_volume is not a whole number (use round to round it)" },
      { line: 9, reason: "3 fields; the header has 5" },
      { line: 11, reason: "repeated timestamp 2026-11-01T01:00:00.000Z (first on line 3)" },
    ]);
    const rows = await db.query(
      `select "timestamp"::text as ts, asset_volume, processing_time, error_count, performance_score
       from aoma.aoma_system_metrics where source = 'aoma' order by 1`,
    );
    assert.deepEqual(rows, [
      { ts: "2026-11-01 00:00:00+00", asset_volume: 412, processing_time: 38.5, error_count: 3, performance_score: 97.2 },
      { ts: "2026-11-01 01:00:00+00", asset_volume: 388, processing_time: 41, error_count: 0, performance_score: 98.1 },
      { ts: "2026-11-01 08:00:00+00", asset_volume: 240, processing_time: null, error_count: null, performance_score: null },
    ]);
  });

  await t.step("fixture JSON array: numbers as strings, epoch seconds, out-of-range and malformed records", async () => {
    const report = await ingestMetrics(db, { path: new URL("aoma_metrics.json", DATA).pathname, source: "aoma-json", refresh: false });
    assert.equal(report.tables.aoma_system_metrics.inserted, 3);
    assert.deepEqual(report.rejections, [
      { line: 4, reason: "asset_volume 3000000000 in asset_volume is out of range; allowed: up to 2147483647" },
      { line: 5, reason: "missing timestamp (column timestamp)" },
      { line: 6, reason: "not a JSON object" },
    ]);
    const rows = await db.query<{ ts: string; v: number; p: number }>(
      `select "timestamp"::text as ts, asset_volume as v, processing_time as p from aoma.aoma_system_metrics where source = 'aoma-json' order by 1`,
    );
    assert.deepEqual(rows, [
      { ts: "2026-11-02 00:00:00+00", v: 500, p: 35.25 },
      { ts: "2026-11-02 01:00:00+00", v: 480, p: 36 },
      { ts: "2026-11-02 02:00:00+00", v: 460, p: 37.5 },
    ]);
    // JSON lines and the already-parsed path the edge function takes
    const jl = readRecords('{"ts":"2026-11-03T00:00:00Z","error_count":1}\nnope\n', { format: "json" });
    assert.deepEqual(jl.rejections, [{ line: 2, reason: 'unparseable JSON "nope"' }]);
    const { records } = recordsOf([{ timestamp: "2026-11-03T00:00:00Z", error_count: 7 }], 1);
    const mapped = mapMetricRecords(records, { source: "http" });
    const rep = new IngestReport("metrics");
    await writeMetricRows(db, mapped.rows, rep);
    assert.equal(rep.tables.aoma_system_metrics.inserted, 1);
    assert.throws(() => mapMetricRecords(records, { source: "http", columns: { nope: "x" } as never }), /"nope" is not a metric column/);
    assert.throws(() => mapMetricRecords([{ line: 2, values: { timestamp: "x", foo: 1 } }], { source: "s" }), /no metric column found/);
  });

  await t.step("attempts: rows validated, error messages templated, stats from the attempts", async () => {
    const report = await ingestAttempts(db, { path: new URL("attempts.csv", DATA).pathname, refresh: false });
    assert.equal(report.read, 13);
    assert.deepEqual(report.rejections, [
      { line: 8, reason: "finished_at 2026-11-01T00:29:00.000Z is before started_at 2026-11-01T00:30:00.000Z" },
      { line: 9, reason: 'unknown migration_state "cloudy"; allowed: legacy, migrating, migrated' },
      { line: 10, reason: 'unknown status "maybe"; allowed: succeeded, failed (or success, ok, failure, error)' },
      { line: 11, reason: "missing asset_id" },
      { line: 12, reason: "error_message on a succeeded attempt; only failed attempts carry one" },
      { line: 13, reason: 'repeated attempt_id "A-2" (first on line 3)' },
    ]);
    assert.equal(report.tables.processing_attempts.inserted, 7);
    const rows = await db.query<{ attempt_id: string; status: string; error_template_id: string | null; migration_state: string | null }>(
      "select attempt_id, status, error_template_id, migration_state from aoma.processing_attempts where attempt_id like 'A-%' order by started_at",
    );
    const cohort = templateId("AssetUploadTask type <*> not supported");
    const transcode = templateId("Transcode failed for asset <*>: ffmpeg exited with code <*>");
    const timeout = templateId("Timeout after <*> ms waiting for storage response from <*>");
    assert.deepEqual(rows.map((r) => [r.attempt_id, r.status, r.error_template_id, r.migration_state]), [
      ["A-1", "succeeded", null, "migrated"],
      ["A-2", "failed", cohort, "legacy"],
      ["A-3", "failed", cohort, "legacy"],
      ["A-4", "failed", transcode, "migrated"],
      ["A-5", "failed", transcode, "migrated"],
      ["A-6", "failed", timeout, "migrated"],
      ["A-12", "succeeded", null, null],
    ]);
    const stats = await db.query<{ template_id: string; n: number; first: string; last: string }>(
      `select template_id, occurrences::int as n, first_seen::text as first, last_seen::text as last
       from aoma.message_templates where template_id = any($1) order by occurrences desc, template_id`,
      [[cohort, transcode, timeout]],
    );
    assert.deepEqual(stats, [
      ...[
        { template_id: cohort, n: 2, first: "2026-11-01 00:05:00+00", last: "2026-11-01 00:10:00+00" },
        { template_id: transcode, n: 2, first: "2026-11-01 00:15:00+00", last: "2026-11-01 00:20:00+00" },
      ].sort((a, b) => (a.template_id < b.template_id ? -1 : 1)),
      { template_id: timeout, n: 1, first: "2026-11-01 00:25:00+00", last: "2026-11-01 00:25:00+00" },
    ]);
    const again = await ingestAttempts(db, { path: new URL("attempts.csv", DATA).pathname, refresh: false });
    assert.deepEqual([again.totals().inserted, again.totals().updated], [0, 0]);
    // mapping under other column names
    const m = mapAttemptRecords([{ line: 2, values: { id: "Z-1", asset: "A", kind: "WAV", start: "2026-11-01 00:00:00", outcome: "error", err: "boom" } }], {
      columns: { attempt_id: "id", asset_id: "asset", asset_type: "kind", started_at: "start", status: "outcome", error_message: "err" },
    });
    assert.deepEqual(m.rows[0], {
      attempt_id: "Z-1", asset_id: "A", asset_type: "WAV", uploaded_at: null, migration_state: null,
      started_at: "2026-11-01T00:00:00.000Z", finished_at: null, status: "failed", error_message: "boom",
    });
  });

  await t.step("logs + metrics + attempts of 4 weeks in, then analytics.correlate answers on them", async () => {
    // deterministic synthetic month: volume varies by day, failures follow volume
    let seed = 42;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const day0 = Date.UTC(2026, 9, 1);
    const metrics = ["timestamp,asset_volume,error_count"];
    const attempts = ["attempt_id,asset_id,asset_type,started_at,finished_at,status,error_message"];
    const logs: string[] = [];
    let id = 0;
    for (let d = 0; d < 28; d++) {
      const volume = 200 + Math.round(300 * rnd());
      for (let h = 0; h < 24; h++) {
        const ts = new Date(day0 + d * 86_400_000 + h * 3_600_000).toISOString();
        metrics.push(`${ts},${Math.round(volume / 24)},${Math.round(rnd() * 3)}`);
      }
      const failP = 0.02 + volume / 5000;
      for (let k = 0; k < 20; k++) {
        const start = new Date(day0 + d * 86_400_000 + k * 3_000_000).toISOString();
        const end = new Date(day0 + d * 86_400_000 + k * 3_000_000 + 60_000).toISOString();
        const failed = rnd() < failP;
        const msg = failed ? `Transcode failed for asset AST-${String(++id).padStart(8, "0")}: ffmpeg exited with code 137` : "";
        attempts.push(`M-${d}-${k},AST-${d}${k},WAV,${start},${end},${failed ? "failed" : "succeeded"},${msg}`);
        if (failed) logs.push(JSON.stringify({ ts: end, level: "error", msg }));
      }
    }
    const lr = await ingestLogs(db, { text: logs.join("\n"), source: "synthetic", refresh: false });
    const mr = await ingestMetrics(db, { text: metrics.join("\n"), source: "synthetic", refresh: false });
    const ar = await ingestAttempts(db, { text: attempts.join("\n") }); // refreshes the feature views
    assert.equal(lr.rejected + mr.rejected + ar.rejected, 0);
    assert.equal(mr.tables.aoma_system_metrics.inserted, 28 * 24);
    assert.equal(ar.tables.processing_attempts.inserted, 28 * 20);
    const res = await db.query<{ feature: string; lag: number; n: number; pearson_r: number | null }>(
      `select feature, lag, n, pearson_r from analytics.correlate('processing_failure_rate', array['asset_volume', 'log_errors'], 1,
         date '2026-10-01', date '2026-10-28')`,
    );
    assert.ok(res.length >= 3, JSON.stringify(res));
    for (const r of res) assert.ok(r.n > 0, JSON.stringify(r));
    const vol0 = res.find((r) => r.feature === "asset_volume" && r.lag === 0)!;
    assert.ok(vol0.n >= 20 && vol0.pearson_r !== null, JSON.stringify(vol0));
    // the failure log lines and the failed attempts share their template
    const [shared] = await db.query<{ n: number }>(
      `select count(distinct e.template_id)::int as n from aoma.log_events e
       join aoma.processing_attempts a on a.error_template_id = e.template_id where e.source = 'synthetic'`,
    );
    assert.equal(shared.n, 1);
  });
}

testOnBothEngines("metric and attempt ingest: NAB series, fixtures with bad rows, templates, correlate", "aoma_test_metrics", runAll);
