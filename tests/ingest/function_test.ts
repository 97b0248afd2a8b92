/**
 * Batches through the `ingest` function as the gateway mounts it (/functions/v1/ingest), over real
 * HTTP on an ephemeral port with an in-memory PGlite database: a service-role JWT is required (none →
 * 401 with WWW-Authenticate, role authenticated → 403), batches land in SQL with the report as the
 * answer, bad records are rejected with their numbers, and limits answer 413/400 with a sentence.
 */
import assert from "node:assert/strict";
import { MAX_BATCH_RECORDS } from "../../src/ingest/function.ts";
import { post, withServer } from "./_function.ts";

const issue = (key: string, type = "Bug", extra: Record<string, unknown> = {}) => ({
  key,
  fields: {
    project: { key: "AOMA" },
    issuetype: { name: type },
    priority: { name: "Medium" },
    status: { name: "Open" },
    components: [{ name: "API" }, { name: "Upload" }],
    labels: ["cloud"],
    summary: `Ticket ${key}`,
    created: "2026-02-10T10:00:00.000+0200",
    ...extra,
  },
});

Deno.test("ingest function: no token → 401 with WWW-Authenticate; role authenticated → 403; nothing stored", async () => {
  await withServer(async (srv, db) => {
    const body = { source: "jira", records: [issue("AOMA-1")] };
    const none = await post(srv, body);
    assert.equal(none.status, 401);
    assert.match(none.headers.get("www-authenticate") ?? "", /^Bearer resource_metadata=".*\/\.well-known\/oauth-protected-resource\/functions\/v1\/ingest"$/);
    const garbage = await post(srv, body, "not.a.jwt");
    assert.equal(garbage.status, 401);
    const analyst = await post(srv, body, await srv.token({ role: "authenticated" }));
    assert.equal(analyst.status, 403);
    assert.equal(
      analyst.json.message,
      'Cannot ingest with a token of role "authenticated": ingesting needs role service_role (npm run -s token -- --role service_role).',
    );
    const [r] = await db.query<{ n: number }>("select count(*)::int as n from aoma.jira_issues");
    assert.equal(r.n, 0);
    // the metadata names this function as a protected resource
    const meta = await (await fetch(`${srv.baseUrl}/.well-known/oauth-protected-resource/functions/v1/ingest`)).json();
    assert.equal(meta.resource, `${srv.baseUrl}/functions/v1/ingest`);
  });
});

Deno.test("ingest function: a Jira batch (REST issues and mapped rows) lands in SQL; bad records rejected by number; second run unchanged", async () => {
  await withServer(async (srv, db, token) => {
    const records = [
      issue("AOMA-1"),
      issue("AOMA-2", "Incident", { priority: { name: "Highest" }, resolutiondate: "2026-02-11T09:30:00.000+0000" }),
      issue("bad key"),
      {
        issue_key: "AOMA-3", project: "AOMA", issue_type: "Story", priority: null, status: "Done",
        components: [], labels: ["ui"], summary: "Row shaped", created_at: "2026-02-12T00:00:00Z",
        resolved_at: null, updated_at: null, raw: { from: "csv" },
      },
      { issue_key: "AOMA-4", issue_type: "Bug", status: "Open", created_at: "31.02.2026" },
    ];
    const r = await post(srv, { source: "jira", records }, token);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.source, "jira");
    assert.equal(r.json.read, 5);
    assert.equal(r.json.rejected, 2);
    assert.deepEqual((r.json.tables as Record<string, unknown>).jira_issues, { inserted: 3, updated: 0, unchanged: 0 });
    assert.deepEqual(
      (r.json.rejections as { line: number }[]).map((x) => x.line),
      [3, 5],
    );
    const rows = await db.query<Record<string, unknown>>(
      `select issue_key, issue_type, priority, status, components, labels,
              to_char(created_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI') as created,
              to_char(resolved_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI') as resolved
         from aoma.jira_issues order by issue_key`,
    );
    assert.deepEqual(rows, [
      { issue_key: "AOMA-1", issue_type: "Bug", priority: "Medium", status: "Open", components: ["API", "Upload"], labels: ["cloud"], created: "2026-02-10 08:00", resolved: null },
      { issue_key: "AOMA-2", issue_type: "Incident", priority: "Highest", status: "Open", components: ["API", "Upload"], labels: ["cloud"], created: "2026-02-10 08:00", resolved: "2026-02-11 09:30" },
      { issue_key: "AOMA-3", issue_type: "Story", priority: null, status: "Done", components: [], labels: ["ui"], created: "2026-02-12 00:00", resolved: null },
    ]);
    const [inc] = await db.query<{ n: number }>("select count(*)::int as n from aoma.incidents where source = 'jira'");
    assert.equal(inc.n, 1, "AOMA-2 (Incident) is a failure by the default rule");
    const [run] = await db.query<{ status: string; inserted: number }>(
      "select status, (summary->>'inserted')::int as inserted from aoma.ingest_runs where source = 'jira'",
    );
    assert.deepEqual(run, { status: "succeeded", inserted: 4 }); // 3 tickets + 1 incident

    const again = await post(srv, { source: "jira", records }, token);
    assert.equal(again.status, 200);
    assert.deepEqual((again.json.tables as Record<string, unknown>).jira_issues, { inserted: 0, updated: 0, unchanged: 3 });
  });
});

Deno.test("ingest function: a git batch lands in aoma.git_commits with the repository", async () => {
  await withServer(async (srv, db, token) => {
    const commit = (sha: string, at: string) => ({
      repo: "ignored", sha, author_name: "Ann", author_email: "ann@example.com", authored_at: at, author_tz: "+0530",
      committer_name: "Ann", committer_email: "ann@example.com", committed_at: at, committer_tz: "+0530",
      files_changed: 3, insertions: 40, deletions: 2, is_merge: false, parents: ["f".repeat(40)], message: "Add upload retry",
    });
    const r = await post(srv, {
      source: "git",
      repo: "uploader",
      records: [commit("1".repeat(40), "2026-01-05T10:00:00+05:30"), commit("2".repeat(40), "2026-01-06T11:00:00+05:30"), commit("zz", "x")],
    }, token);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.rejected, 1);
    const rows = await db.query<Record<string, unknown>>(
      "select repo, sha, insertions, author_tz, to_char(committed_at at time zone 'UTC', 'HH24:MI') as t from aoma.git_commits order by sha",
    );
    assert.deepEqual(rows, [
      { repo: "uploader", sha: "1".repeat(40), insertions: 40, author_tz: "+0530", t: "04:30" },
      { repo: "uploader", sha: "2".repeat(40), insertions: 40, author_tz: "+0530", t: "05:30" },
    ]);
    const [repo] = await db.query<{ repo: string }>("select repo from aoma.repositories");
    assert.equal(repo.repo, "uploader");
    const noRepo = await post(srv, { source: "git", records: [] }, token);
    assert.equal(noRepo.status, 400);
    assert.equal(noRepo.json.message, "Cannot read the git batch: repo must be the repository name (1 to 200 characters).");
  });
});

Deno.test("ingest function: metrics, attempts and logs batches land in SQL (templates mined, rejections numbered)", async () => {
  await withServer(async (srv, db, token) => {
    const m = await post(srv, {
      source: "metrics",
      metricSource: "cloudwatch",
      valueColumn: "value",
      as: "asset_volume",
      firstLine: 101,
      records: [
        { timestamp: "2026-03-02 00:00:00", value: 120 },
        { timestamp: "2026-03-02 00:05:00", value: "135" },
        { timestamp: "not a time", value: 1 },
      ],
    }, token);
    assert.equal(m.status, 200, JSON.stringify(m.json));
    assert.equal(m.json.read, 3);
    assert.deepEqual(m.json.rejections, [{ line: 103, reason: 'unparseable timestamp (column timestamp) "not a time"' }]);
    const metrics = await db.query<{ v: number }>("select asset_volume as v from aoma.aoma_system_metrics where source = 'cloudwatch' order by \"timestamp\"");
    assert.deepEqual(metrics.map((r) => r.v), [120, 135]);
    const noSource = await post(srv, { source: "metrics", records: [] }, token);
    assert.equal(noSource.status, 400);
    assert.equal(noSource.json.message, "Cannot read the metrics batch: it needs metricSource (a string).");
    const badMap = await post(srv, { source: "metrics", metricSource: "x", as: "speed", valueColumn: "v", records: [] }, token);
    assert.equal(badMap.status, 400);
    assert.match(String(badMap.json.message), /^Cannot map metrics: valueColumn and as go together/);

    const a = await post(srv, {
      source: "attempts",
      records: [
        { attempt_id: "at-1", asset_id: "A1", asset_type: "360RA", started_at: "2026-03-02T10:00:00Z", status: "failed", error_message: "AssetUploadTask type '360RA' not supported" },
        { attempt_id: "at-2", asset_id: "A2", asset_type: "WAV", started_at: "2026-03-02T10:01:00Z", status: "succeeded" },
        { attempt_id: "at-3", asset_id: "A3", asset_type: "DDP", started_at: "2026-03-02T10:02:00Z", status: "failed", error_message: "AssetUploadTask type 'DDP' not supported" },
        { attempt_id: "at-4", asset_type: "DDP", started_at: "2026-03-02T10:02:00Z", status: "failed" },
      ],
    }, token);
    assert.equal(a.status, 200, JSON.stringify(a.json));
    assert.equal(a.json.rejected, 1);
    assert.equal((a.json.rejections as { line: number }[])[0].line, 4);
    const [tpl] = await db.query<{ n: number; ids: number }>(
      "select count(*)::int as n, count(distinct error_template_id)::int as ids from aoma.processing_attempts where status = 'failed'",
    );
    assert.deepEqual(tpl, { n: 2, ids: 1 }, "both errors share one template");

    const lines = [
      "2026-11-01 00:00:00,000 WARN [aoma-mesh@w-1] Slow query on table 'metadata_fields' took 2909 ms",
      "2026-11-01 00:01:00,000 WARN [aoma-mesh@w-2] Slow query on table 'assets' took 310 ms",
      "garbage without a time",
    ];
    const l = await post(srv, { source: "logs", logSource: "worker", format: "text", records: lines }, token);
    assert.equal(l.status, 200, JSON.stringify(l.json));
    assert.equal(l.json.read, 3);
    assert.equal(l.json.rejected, 1);
    const events = await db.query<{ level: string; host: string; template: string }>(
      "select e.level, e.host, t.template from aoma.log_events e join aoma.message_templates t using (template_id) where e.source = 'worker' order by e.ts",
    );
    assert.equal(events.length, 2);
    assert.deepEqual(events.map((e) => [e.level, e.host]), [["WARN", "w-1"], ["WARN", "w-2"]]);
    assert.equal(events[0].template, events[1].template);
    const json = await post(srv, { source: "logs", logSource: "app", records: [{ ts: "2026-11-01T00:00:00Z", level: "error", msg: "Disk full on /data/vol2" }] }, token);
    assert.equal(json.status, 200);
    assert.deepEqual((json.json.tables as Record<string, unknown>).log_events, { inserted: 1, updated: 0, unchanged: 0 });
    const parsed = await post(srv, { source: "logs", logSource: "app", format: "parsed", records: [{ event_key: "zz", ts: "x" }] }, token);
    assert.equal(parsed.status, 200);
    assert.deepEqual(parsed.json.rejections, [{ line: 1, reason: "event_key must be 32 hex digits" }]);
  });
});

Deno.test("ingest function: too many records or bytes → 413; bad envelope → 400; every answer a sentence", async () => {
  await withServer(async (srv, db, token) => {
    const many = { source: "jira", records: Array.from({ length: MAX_BATCH_RECORDS + 1 }, (_, i) => ({ key: `A-${i}` })) };
    const r1 = await post(srv, many, token);
    assert.equal(r1.status, 413);
    assert.equal(r1.json.message, "Cannot accept the batch: 5,001 records is more than 5,000 per batch; split it.");
    const huge = JSON.stringify({ source: "jira", records: [issue("AOMA-9", "Bug", { description: "x".repeat(6 * 1024 * 1024) })] });
    const r2 = await post(srv, huge, token);
    assert.equal(r2.status, 413);
    assert.equal(r2.json.message, "Cannot accept the request: the body is larger than 5,242,880 bytes.");
    const r3 = await post(srv, "{oops", token);
    assert.equal(r3.status, 400);
    assert.equal(r3.json.message, "Cannot read the batch: the body is not JSON; send { source, records: [ … ] }.");
    const r4 = await post(srv, { source: "tickets", records: [] }, token);
    assert.equal(r4.status, 400);
    assert.equal(r4.json.message, 'Cannot read the batch: source "tickets" is not one of jira, git, logs, metrics, attempts.');
    const r5 = await post(srv, { source: "jira", records: {} }, token);
    assert.equal(r5.status, 400);
    const r6 = await fetch(`${srv.baseUrl}/functions/v1/ingest`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r6.status, 405);
    await r6.body?.cancel();
    const [n] = await db.query<{ n: number }>("select count(*)::int as n from aoma.ingest_runs");
    assert.equal(n.n, 0);
  });
});
