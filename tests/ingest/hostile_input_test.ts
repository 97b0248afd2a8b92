/**
 * Hostile input, each kept to its own line or record (issue 7): a JSONL log file holding a lone
 * surrogate escape, a NUL escape, invalid UTF-8 and a raw NUL byte on four lines ingests every other
 * line and reports the four with their line numbers and reasons — through `aoma ingest logs` (a
 * subprocess, embedded PGlite folder and, with AOMA_TEST_DB_URL, a scratch server database), in
 * process on both engines, and through the ingest function (record index). The same for metrics,
 * attempts and Jira CSV files and for every batch source of the function; and the database safety
 * net: a record that passes the TypeScript checks but that PostgreSQL refuses costs only that record
 * (its batch is stored in smaller transactions), with a cursor that rides on the batch kept.
 */
import assert from "node:assert/strict";
import { openPglite } from "../../src/db/pglite.ts";
import type { Db } from "../../src/db/types.ts";
import { ingestAttempts } from "../../src/ingest/attempts.ts";
import { loadJiraCursor, writeJiraIssues } from "../../src/ingest/jira.ts";
import { ingestJiraCsv } from "../../src/ingest/jira_csv.ts";
import { ingestLogs, writeLogEvents } from "../../src/ingest/logs.ts";
import { ingestMetrics } from "../../src/ingest/metrics.ts";
import { IngestReport } from "../../src/ingest/report.ts";
import { decodeUtf8, unstorable } from "../../src/ingest/storable.ts";
import { SERVER_URL, testOnBothEngines } from "../_engines.ts";
import { aoma } from "./_cli.ts";
import { post, withServer } from "./_function.ts";
import { withScratchDatabase } from "../_engines.ts";

const enc = new TextEncoder();
const bytes = (...parts: (string | number[])[]) => {
  const chunks = parts.map((p) => (typeof p === "string" ? enc.encode(p) : new Uint8Array(p)));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) out.set(c, at), at += c.length;
  return out;
};
const good = (i: number) =>
  `{"ts":"2026-11-01T00:${String(i).padStart(2, "0")}:00Z","level":"info","msg":"Cache refresh for region-${i} finished"}`;

/** The JSONL file: good lines 1, 2, 4, 6, 8, 10; hostile lines 3, 5, 7, 9. */
const HOSTILE_JSONL = bytes(
  `${good(1)}\n${good(2)}\n`,
  `{"ts":"2026-11-01T00:03:00Z","level":"info","msg":"lone \\ud800 surrogate"}\n`, // line 3: the escape, as text
  `${good(4)}\n`,
  `{"ts":"2026-11-01T00:05:00Z","level":"info","msg":"nul \\u0000 escape"}\n`, // line 5
  `${good(6)}\n`,
  `{"ts":"2026-11-01T00:07:00Z","level":"info","msg":"bad `, [0xff, 0xfe], ` utf-8"}\n`, // line 7
  `${good(8)}\n`,
  `{"ts":"2026-11-01T00:09:00Z","level":"info","msg":"raw `, [0x00], ` nul"}\n`, // line 9
  `${good(10)}\n`,
);

/** The expected rejections, by line. */
const EXPECTED: [number, RegExp][] = [
  [3, /^"msg" holds a lone surrogate \\ud800 at character 6 \(half of a UTF-16 pair\); only well-formed Unicode can be stored$/],
  [5, /^"msg" holds a NUL character \(U\+0000\) at character 5; PostgreSQL text and jsonb cannot store it$/],
  [7, /^the line holds invalid UTF-8 \(byte 0xff\) at character 56; only UTF-8 text can be stored$/],
  [9, /^the line holds a NUL character \(U\+0000\) at character 56; PostgreSQL text and jsonb cannot store it$/],
];

function assertRejections(rejections: { line: number; reason: string }[], expected = EXPECTED): void {
  assert.deepEqual(rejections.map((r) => r.line), expected.map(([l]) => l));
  rejections.forEach((r, i) => assert.match(r.reason, expected[i][1], `line ${r.line}`));
}

async function messages(db: Db, source: string): Promise<string[]> {
  const rows = await db.query<{ message: string }>("select message from aoma.log_events where source = $1 order by ts", [source]);
  return rows.map((r) => r.message);
}

const GOOD_MESSAGES = [1, 2, 4, 6, 8, 10].map((i) => `Cache refresh for region-${i} finished`);

Deno.test("storable: decodeUtf8 keeps invalid bytes visible; unstorable names the field and the character", () => {
  assert.equal(decodeUtf8(enc.encode("café ✓ 😀")), "café ✓ 😀");
  assert.equal(decodeUtf8(new Uint8Array([0x61, 0xff, 0x62])), "a\udcffb");
  // an overlong encoding, a UTF-16 surrogate written as UTF-8, a truncated sequence: each byte escaped
  assert.equal(decodeUtf8(new Uint8Array([0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xe2, 0x82])), "\udcc0\udcaf\udced\udca0\udc80\udce2\udc82");
  assert.equal(unstorable({ a: ["ok", { b: "x\u0000" }] }), '"a.1.b" holds a NUL character (U+0000) at character 2; PostgreSQL text and jsonb cannot store it');
  assert.equal(unstorable({ "k\ud800": 1 }), 'the key "k\\ud800" holds a lone surrogate \\ud800 at character 2 (half of a UTF-16 pair); only well-formed Unicode can be stored');
  assert.equal(unstorable("😀 fine"), null);
  assert.equal(unstorable("\ude00", "the line"), "the line holds a lone surrogate \\ude00 at character 1 (half of a UTF-16 pair); only well-formed Unicode can be stored");
  // deep nesting does not overflow the stack
  let deep: unknown = "x\u0000";
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assert.match(unstorable(deep)!, /holds a NUL character/);
});

Deno.test("aoma ingest logs (embedded PGlite folder): the four hostile lines are reported by number, every other line stored, on every re-run", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/hostile.jsonl`;
  await Deno.writeFile(file, HOSTILE_JSONL);
  const env = { AOMA_PGLITE_DIR: `${dir}/pglite` };
  for (const round of [1, 2]) {
    const r = await aoma(["ingest", "logs", file, "--source", "hostile", "--quiet", "--json"], env);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.read, 10);
    assert.equal(report.rejected, 4);
    assertRejections(report.rejections);
    assert.equal(report.inserted, round === 1 ? 6 + 1 : 0, `round ${round}`); // 6 events + their template, then nothing
  }
  const summary = await aoma(["ingest", "logs", file, "--source", "hostile", "--quiet"], env);
  assert.match(summary.stdout, /^logs: read 10; inserted 0, updated 0, unchanged 6, rejected 4$/m);
  assert.match(summary.stdout, /^ {2}rejected line 7: the line holds invalid UTF-8 \(byte 0xff\)/m);
  const db = await openPglite(`${dir}/pglite`);
  try {
    assert.deepEqual(await messages(db, "hostile"), GOOD_MESSAGES);
    const runs = await db.query<{ status: string }>("select status from aoma.ingest_runs order by started_at");
    assert.deepEqual(runs.map((r) => r.status), ["succeeded", "succeeded", "succeeded"]);
  } finally {
    await db.close();
  }
});

Deno.test({
  name: "aoma ingest logs --db-url (server, scratch database aoma_test_hostile_cli): the same four lines reported, the rest stored",
  ignore: !SERVER_URL,
  async fn() {
    await withScratchDatabase("aoma_test_hostile_cli", async (db, url) => {
      const dir = await Deno.makeTempDir();
      await Deno.writeFile(`${dir}/hostile.jsonl`, HOSTILE_JSONL);
      const r = await aoma(["ingest", "logs", `${dir}/hostile.jsonl`, "--source", "hostile", "--quiet", "--json", "--db-url", url]);
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout);
      assert.equal(report.rejected, 4);
      assertRejections(report.rejections);
      assert.deepEqual(await messages(db, "hostile"), GOOD_MESSAGES);
    });
  },
});

testOnBothEngines("hostile input kept to its line: logs, metrics, attempts, Jira CSV; database safety net", "aoma_test_hostile", async (t, db) => {
  const dir = await Deno.makeTempDir();

  await t.step("logs: the JSONL file in process", async () => {
    await Deno.writeFile(`${dir}/hostile.jsonl`, HOSTILE_JSONL);
    const report = await ingestLogs(db, { path: `${dir}/hostile.jsonl`, source: "hostile", refresh: false, batchSize: 3 });
    assertRejections(report.rejections);
    assert.equal(report.tables.log_events.inserted, 6);
    assert.deepEqual(await messages(db, "hostile"), GOOD_MESSAGES);
    // text lines with the default pattern: invalid UTF-8 and NUL reported the same way
    const text = bytes(
      "2026-11-02 00:00:00 INFO Disk usage at 91% on volume /data/vol1\n",
      "2026-11-02 00:01:00 INFO Disk usage at ", [0xc3], "% on volume /data/vol2\n",
      "2026-11-02 00:02:00 INFO Disk usage at 93% on volume /data/vol3\r\n",
    );
    await Deno.writeFile(`${dir}/text.log`, text);
    const r2 = await ingestLogs(db, { path: `${dir}/text.log`, source: "hostile-text", refresh: false });
    assert.deepEqual(r2.rejections, [{ line: 2, reason: "the line holds invalid UTF-8 (byte 0xc3) at character 40; only UTF-8 text can be stored" }]);
    assert.equal(r2.tables.log_events.inserted, 2);
  });

  await t.step("metrics CSV and attempts JSON lines: bad lines rejected by number, good ones stored", async () => {
    const csv = bytes(
      "timestamp,asset_volume,note\n",
      "2026-03-02T00:00:00Z,10,ok\n",
      "2026-03-02T01:00:00Z,11,caf", [0xe9], "\n", // Latin-1 é: invalid UTF-8
      "2026-03-02T02:00:00Z,12,a\u0000b\n",
      "2026-03-02T03:00:00Z,13,ok\n",
    );
    await Deno.writeFile(`${dir}/m.csv`, csv);
    const m = await ingestMetrics(db, { path: `${dir}/m.csv`, source: "hostile", refresh: false });
    assert.deepEqual(m.rejections, [
      { line: 3, reason: '"note" holds invalid UTF-8 (byte 0xe9) at character 4; only UTF-8 text can be stored' },
      { line: 4, reason: '"note" holds a NUL character (U+0000) at character 2; PostgreSQL text and jsonb cannot store it' },
    ]);
    const [n] = await db.query<{ n: number; v: number }>(
      "select count(*)::int as n, sum(asset_volume)::int as v from aoma.aoma_system_metrics where source = 'hostile'",
    );
    assert.deepEqual(n, { n: 2, v: 23 });

    const attempt = (id: string, msg: string) =>
      `{"attempt_id":"${id}","asset_id":"A","asset_type":"WAV","started_at":"2026-03-02T10:00:00Z","status":"failed","error_message":"${msg}"}`;
    const jsonl = [attempt("h-1", "Timeout"), attempt("h-2", "bad \\udfff half"), attempt("h-3", "Timeout again")].join("\n");
    const a = await ingestAttempts(db, { text: jsonl, format: "json", refresh: false });
    assert.deepEqual(a.rejections, [
      { line: 2, reason: '"error_message" holds a lone surrogate \\udfff at character 5 (half of a UTF-16 pair); only well-formed Unicode can be stored' },
    ]);
    assert.equal(a.tables.processing_attempts.inserted, 2);
  });

  await t.step("Jira CSV: a cell with invalid UTF-8 rejects its record by line", async () => {
    const csv = bytes(
      "Issue key,Issue Type,Status,Created,Summary\n",
      "HOS-1,Bug,Open,05/Sep/26 3:04 PM,fine\n",
      "HOS-2,Bug,Open,05/Sep/26 3:05 PM,", [0x80], "oops\n",
      "HOS-3,Bug,Open,05/Sep/26 3:06 PM,fine too\n",
    );
    await Deno.writeFile(`${dir}/j.csv`, csv);
    const j = await ingestJiraCsv(db, `${dir}/j.csv`, { now: Date.UTC(2026, 9, 1) });
    assert.deepEqual(j.rejections, [{ line: 3, reason: '"Summary" holds invalid UTF-8 (byte 0x80) at character 1; only UTF-8 text can be stored' }]);
    const keys = await db.query<{ issue_key: string }>("select issue_key from aoma.jira_issues where issue_key like 'HOS-%' order by 1");
    assert.deepEqual(keys.map((k) => k.issue_key), ["HOS-1", "HOS-3"]);
  });

  await t.step("safety net: rows PostgreSQL refuses (past the TypeScript checks) cost only themselves", async () => {
    // straight to the writer, as a caller that skips the parser would: NUL in two of five records
    const report = new IngestReport("logs");
    const rec = (i: number, message: string) => ({
      line: 100 + i, event_key: String(i).padStart(32, "0"), ts: `2026-11-03T00:0${i}:00.000Z`,
      level: "INFO" as const, service: null, host: null, message,
    });
    await writeLogEvents(db, [
      rec(1, "Net one ok"), rec(2, "Net two \u0000 bad"), rec(3, "Net three ok"), rec(4, "Net four ok"), rec(5, "Net five\u0000"),
    ], report, { source: "net" });
    assert.deepEqual(report.rejections.map((r) => r.line), [102, 105]);
    assert.match(report.rejections[0].reason, /^PostgreSQL refused the record: /);
    assert.equal(report.tables.log_events.inserted, 3);
    assert.deepEqual(await messages(db, "net"), ["Net one ok", "Net three ok", "Net four ok"]);

    // a Jira batch whose LAST row is refused still stores its cursor, after the good rows
    const jira = new IngestReport("jira");
    const row = (key: string, summary: string) => ({
      issue_key: key, project: "NET", issue_type: "Bug", priority: null, status: "Open", components: [], labels: [],
      summary, created_at: "2026-09-01T00:00:00.000Z", resolved_at: null, updated_at: null, raw: null,
    });
    await writeJiraIssues(db, [row("NET-1", "ok"), row("NET-2", "x\u0000")], jira, {
      lines: [7, 8],
      cursor: { scope: "net", state: { updated: "2026-09-01T00:00:00.000Z" } },
      sync: false,
    });
    assert.deepEqual(jira.rejections.map((r) => r.line), [8]);
    assert.deepEqual(jira.tables.jira_issues, { inserted: 1, updated: 0, unchanged: 0 });
    assert.deepEqual(await loadJiraCursor(db, "net"), { updated: "2026-09-01T00:00:00.000Z" });
  });
});

Deno.test("ingest function: hostile records are rejected by record index, the rest of the batch stored (every source)", async () => {
  await withServer(async (srv, db, token) => {
    // the JSONL lines as the records of one batch, sent as raw bytes (line 9's raw NUL would make the body invalid JSON)
    const lines: Uint8Array[] = [];
    let from = 0;
    for (let i = 0; i <= HOSTILE_JSONL.length; i++) {
      if (i === HOSTILE_JSONL.length || HOSTILE_JSONL[i] === 10) {
        if (i > from) lines.push(HOSTILE_JSONL.subarray(from, i));
        from = i + 1;
      }
    }
    const records = lines.filter((_, i) => i !== 8);
    const comma = enc.encode(",");
    const body = bytes('{"source":"logs","logSource":"fn","records":[', ...records.flatMap((r, i) => [...(i ? [Array.from(comma)] : []), Array.from(r)]), "]}");
    const r = await post(srv, body, token);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.read, 9);
    assertRejections(r.json.rejections as { line: number; reason: string }[], [
      [3, EXPECTED[0][1]],
      [5, EXPECTED[1][1]],
      [7, /^"msg" holds invalid UTF-8 \(byte 0xff\) at character 5; only UTF-8 text can be stored$/],
    ]);
    assert.deepEqual(await messages(db, "fn"), GOOD_MESSAGES);

    // one bad record per source; every other record lands
    const nul = "x\u0000y";
    const metrics = await post(srv, {
      source: "metrics", metricSource: "fn", records: [
        { timestamp: "2026-03-02T00:00:00Z", asset_volume: 1 },
        { timestamp: "2026-03-02T01:00:00Z", asset_volume: 2, comment: nul },
        { timestamp: "2026-03-02T02:00:00Z", asset_volume: 3 },
      ],
    }, token);
    assert.equal(metrics.status, 200, JSON.stringify(metrics.json));
    assert.deepEqual((metrics.json.rejections as { line: number }[]).map((x) => x.line), [2]);
    assert.equal(metrics.json.inserted, 2);

    const attempt = (id: string, extra: Record<string, unknown> = {}) => ({
      attempt_id: id, asset_id: "A", asset_type: "WAV", started_at: "2026-03-02T10:00:00Z", status: "succeeded", ...extra,
    });
    const attempts = await post(srv, { source: "attempts", records: [attempt("f-1", { asset_id: "\ud800" }), attempt("f-2")] }, token);
    assert.equal(attempts.status, 200, JSON.stringify(attempts.json));
    assert.deepEqual((attempts.json.rejections as { line: number }[]).map((x) => x.line), [1]);

    const commit = (sha: string, message: string) => ({
      sha, authored_at: "2026-01-05T10:00:00Z", committed_at: "2026-01-05T10:00:00Z", message,
    });
    const git = await post(srv, { source: "git", repo: "fn", records: [commit("a".repeat(40), "ok"), commit("b".repeat(40), nul)] }, token);
    assert.equal(git.status, 200, JSON.stringify(git.json));
    assert.deepEqual(git.json.rejections, [{ line: 2, reason: '"message" holds a NUL character (U+0000) at character 2; PostgreSQL text and jsonb cannot store it' }]);

    const issue = (key: string, summary: string) => ({
      key, fields: { issuetype: { name: "Bug" }, status: { name: "Open" }, created: "2026-02-10T10:00:00.000+0000", summary },
    });
    const jira = await post(srv, { source: "jira", records: [issue("FN-1", "ok"), issue("FN-2", "\udbff!"), issue("FN-3", "ok")] }, token);
    assert.equal(jira.status, 200, JSON.stringify(jira.json));
    assert.deepEqual((jira.json.rejections as { line: number }[]).map((x) => x.line), [2]);
    assert.equal((jira.json.tables as Record<string, { inserted: number }>).jira_issues.inserted, 2);

    const parsed = await post(srv, {
      source: "logs", logSource: "fn-parsed", format: "parsed", records: [
        { event_key: "c".repeat(32), ts: "2026-11-01T00:00:00Z", level: "INFO", service: null, host: null, message: nul },
        { event_key: "d".repeat(32), ts: "2026-11-01T00:00:00Z", level: "INFO", service: null, host: null, message: "fine" },
      ],
    }, token);
    assert.equal(parsed.status, 200, JSON.stringify(parsed.json));
    assert.deepEqual((parsed.json.rejections as { line: number }[]).map((x) => x.line), [1]);
    assert.equal(parsed.json.inserted, 2); // the event and its template

    const runs = await db.query<{ status: string }>("select distinct status from aoma.ingest_runs");
    assert.deepEqual(runs, [{ status: "succeeded" }]);
  });
});
