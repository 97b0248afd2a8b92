/**
 * Log ingest (src/ingest/logs.ts with templates.ts): JSON lines and plain text with known templates,
 * rejections with line numbers, idempotency, stable template ids across runs, the generalisation
 * policy (stored events move to the generalised template in the same transaction), and recovery
 * after a run killed mid-way.
 *
 * Runs on an in-memory PGlite database and, when AOMA_TEST_DB_URL is set, in a scratch database
 * (aoma_test_logs) created on that server and dropped afterwards.
 */
import { testOnBothEngines } from "../_engines.ts";
import assert from "node:assert/strict";
import { templateId } from "../../src/demo/generate.ts";
import type { Db } from "../../src/db/types.ts";
import { writeAttemptRows } from "../../src/ingest/attempts.ts";
import { ingestLogs, LogLineParser, normaliseLevel, parseLogObjects } from "../../src/ingest/logs.ts";
import { IngestReport } from "../../src/ingest/report.ts";

const DATA = new URL("./testdata/logs/", import.meta.url);
const APP = new URL("app.jsonl", DATA).pathname;
const APP_B = new URL("app_b.jsonl", DATA).pathname;
const WORKER = new URL("worker.log", DATA).pathname;

/** The five shapes of the fixtures, recognised by their first words (independent of the miner). */
const SHAPES: [string, string][] = [
  ["Asset ", "Asset <*> uploaded by user <*> (<*> bytes)"],
  ["Processing job ", "Processing job <*> completed in <*> ms"],
  ["Slow query ", "Slow query on table <*> took <*> ms"],
  ["AssetUploadTask ", "AssetUploadTask type <*> not supported"],
  ["Cache refresh ", "Cache refresh for <*> finished"],
];

/** Expected per-template count, first and last time from the valid lines of a JSONL fixture. */
async function expected(path: string): Promise<Map<string, { n: number; first: string; last: string }>> {
  const out = new Map<string, { n: number; first: string; last: string }>();
  for (const line of (await Deno.readTextFile(path)).split("\n")) {
    let o: Record<string, string>;
    try {
      o = JSON.parse(line);
    } catch {
      continue;
    }
    const msg = o.msg ?? o.message, ts = o.ts ?? o.timestamp;
    if (!msg || !/^2026-/.test(ts) || !["info", "warn", "error", "debug"].includes((o.level ?? o.severity).toLowerCase())) continue;
    const t = SHAPES.find(([p]) => msg.startsWith(p))![1];
    const iso = new Date(ts).toISOString();
    const e = out.get(t);
    if (!e) out.set(t, { n: 1, first: iso, last: iso });
    else {
      e.n++;
      if (iso < e.first) e.first = iso;
      if (iso > e.last) e.last = iso;
    }
  }
  return out;
}

async function clean(db: Db): Promise<void> {
  await db.exec("delete from aoma.processing_attempts; delete from aoma.log_events; delete from aoma.message_templates;");
}

async function templates(db: Db) {
  return await db.query<{ template_id: string; template: string; n: number; first: string; last: string }>(
    `select template_id, template, occurrences::int as n,
            to_char(first_seen at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as first,
            to_char(last_seen at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as last
     from aoma.message_templates order by template`,
  );
}

async function snapshot(db: Db, source: string): Promise<string> {
  const events = await db.query(
    `select event_key, ts::text, level, service, host, template_id, message, params::text
     from aoma.log_events where source = $1 order by event_key`,
    [source],
  );
  return JSON.stringify({ events, templates: await templates(db) });
}

async function runAll(t: Deno.TestContext, db: Db): Promise<void> {
  await t.step("JSON lines: exactly the 5 known templates with their counts and first/last seen; bad lines rejected by number", async () => {
    await clean(db);
    const report = await ingestLogs(db, { path: APP, source: "aoma-mesh/app", refresh: false });
    assert.equal(report.read, 46); // 47 lines, one blank
    assert.equal(report.rejections[0].line, 22);
    assert.match(report.rejections[0].reason, /^unparseable JSON "\{\\"ts\\": \\"2026-11-01T10:00:00Z\\", /);
    assert.deepEqual(report.rejections.slice(1), [
      { line: 23, reason: 'unparseable timestamp "yesterday"' },
      { line: 24, reason: 'unknown level "LOUD"; allowed: TRACE, DEBUG, INFO, WARN, ERROR, FATAL and their usual spellings' },
      { line: 25, reason: "missing message" },
      { line: 26, reason: "timestamp: absurd date 1899-12-31T23:00:00.000Z; allowed: 1970-01-01 to two days from now" },
    ]);
    assert.equal(report.tables.log_events.inserted, 41); // 40 lines + an exact duplicate kept apart
    const want = await expected(APP);
    const got = await templates(db);
    assert.equal(got.length, 5);
    for (const row of got) {
      const e = want.get(row.template);
      assert.ok(e, `unexpected template ${row.template}`);
      assert.equal(row.template_id, templateId(row.template));
      assert.deepEqual({ n: row.n, first: row.first, last: row.last }, e, row.template);
    }
    assert.equal(got.reduce((a, r) => a + r.n, 0), 41);
    // the demo's template for the cohort error, and params in slot order
    const [ev] = await db.query<{ template_id: string; params: string[]; level: string; host: string }>(
      `select template_id, params, level, host from aoma.log_events
       where source = 'aoma-mesh/app' and message like 'AssetUploadTask%' order by ts limit 1`,
    );
    assert.equal(ev.template_id, templateId("AssetUploadTask type <*> not supported"));
    assert.equal(ev.level, "ERROR");
    assert.match(ev.params[0], /^'AssetUpload\w+'$/);
    const [dups] = await db.query<{ n: number }>(
      "select count(*)::int as n from (select message, ts from aoma.log_events where source = 'aoma-mesh/app' group by 1, 2 having count(*) = 2) d",
    );
    assert.equal(dups.n, 1);
  });

  await t.step("a second run is a no-op: 0 inserted, 0 updated, occurrences unchanged", async () => {
    const before = await snapshot(db, "aoma-mesh/app");
    const report = await ingestLogs(db, { path: APP, source: "aoma-mesh/app", refresh: false });
    assert.equal(report.totals().inserted, 0);
    assert.equal(report.totals().updated, 0);
    assert.equal(report.tables.log_events.unchanged, 41);
    assert.equal(report.rejected, 5);
    assert.equal(await snapshot(db, "aoma-mesh/app"), before);
  });

  await t.step("plain text with the default pattern: same templates, service and host from [svc@host]", async () => {
    const ids = (await templates(db)).map((r) => r.template_id);
    const report = await ingestLogs(db, { path: WORKER, source: "aoma-mesh/worker", refresh: false });
    assert.equal(report.read, 41);
    assert.deepEqual(report.rejections, [{ line: 7, reason: 'line does not match the pattern: "this line has no timestamp"' }]);
    assert.equal(report.tables.log_events.inserted, 40);
    assert.equal(report.tables.message_templates?.inserted ?? 0, 0);
    assert.deepEqual((await templates(db)).map((r) => r.template_id), ids);
    const [row] = await db.query<{ ts: string; service: string; host: string; level: string }>(
      `select ts::text, service, host, level from aoma.log_events where source = 'aoma-mesh/worker' order by ts limit 1 offset 1`,
    );
    assert.deepEqual(row, { ts: "2026-11-01 00:37:00.001+00", service: "aoma-mesh", host: "aoma-worker-02", level: "WARN" });
    // occurrences now count both sources
    const total = (await templates(db)).reduce((a, r) => a + r.n, 0);
    assert.equal(total, 81);
  });

  await t.step("plain text with a custom pattern and timestamp format (syslog style)", async () => {
    const text = [
      "Nov 24 10:00:00 app-01 uploader[311]: warning: Slow query on table 'assets' took 4100 ms",
      "Nov 24 10:00:05 app-02 uploader[311]: err: AssetUploadTask type 'AssetUploadSorting' not supported",
      "Nov 24 10:00:07 app-02 uploader[311]: crit: Disk usage at 99% on volume /data/vol1",
      "Nov 31 10:00:09 app-02 uploader[311]: info: impossible day",
    ].join("\n");
    const report = await ingestLogs(db, {
      text,
      source: "syslog",
      format: "text",
      pattern: "^(?<ts>\\w{3} +\\d+ \\d{2}:\\d{2}:\\d{2}) (?<host>\\S+) (?<service>[\\w-]+)\\[\\d+\\]: (?<level>\\w+): (?<message>.*)$",
      tsFormat: "MMM d HH:mm:ss",
      year: 2026,
      refresh: false,
    });
    assert.equal(report.tables.log_events.inserted, 3);
    assert.deepEqual(report.rejections, [{ line: 4, reason: 'unparseable timestamp "Nov 31 10:00:09"' }]);
    const rows = await db.query<{ level: string; host: string; service: string; template: string; ts: string }>(
      `select e.level, e.host, e.service, t.template, e.ts::text from aoma.log_events e
       join aoma.message_templates t using (template_id) where e.source = 'syslog' order by e.ts`,
    );
    assert.deepEqual(rows, [
      { level: "WARN", host: "app-01", service: "uploader", template: "Slow query on table <*> took <*> ms", ts: "2026-11-24 10:00:00+00" },
      { level: "ERROR", host: "app-02", service: "uploader", template: "AssetUploadTask type <*> not supported", ts: "2026-11-24 10:00:05+00" },
      { level: "FATAL", host: "app-02", service: "uploader", template: "Disk usage at <*>% on volume <*>", ts: "2026-11-24 10:00:07+00" },
    ]);
  });

  await t.step("stable across runs: file B with the same shapes maps to the same template ids", async () => {
    const before = new Map((await templates(db)).map((r) => [r.template, r.template_id]));
    const report = await ingestLogs(db, { path: APP_B, source: "aoma-mesh/app-b", refresh: false });
    assert.equal(report.rejected, 0);
    assert.equal(report.tables.log_events.inserted, 23);
    assert.equal(report.tables.message_templates?.inserted ?? 0, 0);
    const after = await templates(db);
    assert.equal(after.length, before.size);
    for (const r of after) assert.equal(r.template_id, before.get(r.template));
    const b = await db.query<{ template: string; n: number }>(
      `select t.template, count(*)::int as n from aoma.log_events e join aoma.message_templates t using (template_id)
       where e.source = 'aoma-mesh/app-b' group by 1 order by 1`,
    );
    assert.deepEqual(b.map((r) => r.n).sort(), [3, 5, 5, 5, 5]);
    // last_seen moved to B's later days for the shared templates
    const cache = after.find((r) => r.template === "Cache refresh for <*> finished")!;
    assert.ok(cache.last > "2026-11-05");
  });

  await t.step("policy: a stored template that Drain generalises moves its events and attempts, old row deleted", async () => {
    const first = await ingestLogs(db, {
      text: "2026-11-02T00:00:00Z INFO Index rebuild for catalog done",
      source: "pin",
      refresh: false,
    });
    assert.equal(first.tables.message_templates.inserted, 1);
    const literal = templateId("Index rebuild for catalog done");
    const rep = new IngestReport("attempts");
    await writeAttemptRows(db, [{
      attempt_id: "pin-1", asset_id: "AST-1", asset_type: "WAV", uploaded_at: null, migration_state: null,
      started_at: "2026-11-02T00:00:00Z", finished_at: null, status: "failed", error_message: "Index rebuild for catalog done",
    }], rep);
    const [a0] = await db.query<{ id: string }>("select error_template_id as id from aoma.processing_attempts where attempt_id = 'pin-1'");
    assert.equal(a0.id, literal);

    const second = await ingestLogs(db, {
      text: "2026-11-02T01:00:00Z INFO Index rebuild for royalties done",
      source: "pin",
      refresh: false,
    });
    const general = templateId("Index rebuild for <*> done");
    assert.equal(second.tables.log_events.inserted, 1);
    assert.equal(second.tables.log_events.updated, 1); // the stored event moved
    assert.equal(second.tables.processing_attempts.updated, 1);
    assert.match(second.notes.join("\n"), new RegExp(`template ${literal} generalised to ${general}`));
    const rows = await db.query<{ template_id: string; params: string[] }>(
      "select template_id, params from aoma.log_events where source = 'pin' order by ts",
    );
    assert.deepEqual(rows, [{ template_id: general, params: ["catalog"] }, { template_id: general, params: ["royalties"] }]);
    const [a1] = await db.query<{ id: string }>("select error_template_id as id from aoma.processing_attempts where attempt_id = 'pin-1'");
    assert.equal(a1.id, general);
    const t = await db.query<{ template_id: string; n: number; first: string; last: string }>(
      `select template_id, occurrences::int as n, first_seen::text as first, last_seen::text as last
       from aoma.message_templates where template in ('Index rebuild for catalog done', 'Index rebuild for <*> done')`,
    );
    assert.deepEqual(t, [{ template_id: general, n: 2, first: "2026-11-02 00:00:00+00", last: "2026-11-02 01:00:00+00" }]);
    // and a third run of the first line is a no-op: the general template covers it
    const third = await ingestLogs(db, { text: "2026-11-02T00:00:00Z INFO Index rebuild for catalog done", source: "pin", refresh: false });
    assert.deepEqual([third.totals().inserted, third.totals().updated], [0, 0]);
  });

  await t.step("killed after the first batch, then re-run: exactly the rows of an uninterrupted run", async () => {
    await clean(db);
    const whole = await ingestLogs(db, { path: APP, source: "kill", batchSize: 7, refresh: false });
    assert.equal(whole.tables.log_events.inserted, 41);
    assert.equal(whole.tables.log_events.updated, 1); // the first "Cache refresh" line, moved when it generalised
    const reference = await snapshot(db, "kill");
    await clean(db);
    await assert.rejects(
      ingestLogs(db, {
        path: APP,
        source: "kill",
        batchSize: 7,
        refresh: false,
        onBatch: (n) => {
          if (n === 1) throw new Error("killed");
        },
      }),
      /killed/,
    );
    const [partial] = await db.query<{ n: number }>("select count(*)::int as n from aoma.log_events where source = 'kill'");
    assert.equal(partial.n, 7);
    const [run] = await db.query<{ status: string }>("select status from aoma.ingest_runs order by started_at desc limit 1");
    assert.equal(run.status, "failed");
    const again = await ingestLogs(db, { path: APP, source: "kill", batchSize: 7 }); // with the feature refresh
    assert.equal(again.tables.log_events.inserted, 34);
    assert.equal(await snapshot(db, "kill"), reference);
    const [days] = await db.query<{ n: number }>("select sum(log_events)::int as n from analytics.features_daily");
    assert.equal(days.n, 41);
  });

  await t.step("parse step alone: levels, JSON objects from an HTTP batch, oversized fields", () => {
    assert.deepEqual(["warning", "Err", "critical", "notice", 30, "7", 0].map(normaliseLevel), ["WARN", "ERROR", "FATAL", "INFO", "INFO", "DEBUG", "FATAL"]);
    assert.equal(normaliseLevel("loud"), null);
    const { records, rejections } = parseLogObjects(
      [
        { time: 1764064800, severity: 40, msg: "Disk usage at 91% on volume /data/vol2", host: "h1" },
        { time: "2026-11-25T10:00:00Z", msg: "x".repeat(70_000) },
        "not an object",
      ],
      { source: "http", now: Date.UTC(2026, 10, 25) },
      101,
    );
    assert.equal(records.length, 1);
    assert.deepEqual({ ...records[0], event_key: undefined }, {
      line: 101, event_key: undefined, ts: "2025-11-25T10:00:00.000Z", level: "WARN", service: null, host: "h1",
      message: "Disk usage at 91% on volume /data/vol2",
    });
    assert.deepEqual(rejections, [
      { line: 102, reason: "oversized message: 70000 characters; allowed: 65536" },
      { line: 103, reason: "not a JSON object" },
    ]);
    // event keys: same line → same key; a repeated line gets a different key; another source another key
    const p = new LogLineParser({ source: "s", format: "jsonl" });
    const line = '{"ts":"2026-11-01T00:00:00Z","msg":"a"}';
    const k1 = (p.parse(line, 1) as { event_key: string }).event_key;
    const k2 = (p.parse(line, 2) as { event_key: string }).event_key;
    const k3 = (new LogLineParser({ source: "s", format: "jsonl" }).parse(line, 9) as { event_key: string }).event_key;
    const k4 = (new LogLineParser({ source: "t", format: "jsonl" }).parse(line, 1) as { event_key: string }).event_key;
    assert.match(k1, /^[0-9a-f]{32}$/);
    assert.notEqual(k1, k2);
    assert.equal(k1, k3);
    assert.notEqual(k1, k4);
  });
}

testOnBothEngines("log ingest: templates, rejections, idempotency, stability, generalisation, recovery", "aoma_test_logs", runAll);
