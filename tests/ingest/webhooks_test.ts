/**
 * Webhooks of the `ingest` function (src/ingest/webhooks.ts, src/ingest/github_push.ts and the routes
 * in src/ingest/function.ts), over real HTTP on an ephemeral port with an in-memory PGlite database:
 * signatures checked before parsing (good → 200 and stored; missing, malformed, other secret, body
 * altered after signing → 401 and nothing stored), no secret configured → 503, redelivery → no change,
 * GitHub push → commits and a tag deployment, Jira created/updated/deleted. The HTTP scenarios run
 * on PGlite and again, when AOMA_TEST_DB_URL is set, on a scratch database of that server.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { migrateAll } from "../../src/db/migrate.ts";
import { openPglite } from "../../src/db/pglite.ts";
import { openPostgres } from "../../src/db/postgres.ts";
import type { Db } from "../../src/db/types.ts";
import { createIngestFunction, type IngestFunction } from "../../src/ingest/function.ts";
import { isoOffset, mapGithubPush } from "../../src/ingest/github_push.ts";
import { IngestReport } from "../../src/ingest/report.ts";
import { refreshDelayFrom, signBody, verifySignature } from "../../src/ingest/webhooks.ts";
import { type RunningServer, startServer } from "../../src/server/gateway.ts";
import { testAuth } from "../mcp_fixture.ts";

const GH_SECRET = "gh-secret-for-tests-0123456789";
const JIRA_SECRET = "jira-secret-for-tests-9876543210";
const enc = (s: string) => new TextEncoder().encode(s);

// ───────────────────────────── signatures (pure) ─────────────────────────────

Deno.test("signBody/verifySignature: HMAC-SHA256 hex as GitHub computes it; wrong, malformed, altered → false", async () => {
  // GitHub's documented example: secret "It's a Secret to Everybody", payload "Hello, World!"
  const sig = await signBody("It's a Secret to Everybody", "Hello, World!");
  assert.equal(sig, "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
  const body = enc("Hello, World!");
  assert.equal(await verifySignature("It's a Secret to Everybody", body, sig), true);
  assert.equal(await verifySignature("It's a Secret to Everybody", body, sig.toUpperCase().replace("SHA256", "sha256")), true);
  assert.equal(await verifySignature("another secret", body, sig), false);
  assert.equal(await verifySignature("It's a Secret to Everybody", enc("Hello, World?"), sig), false);
  assert.equal(await verifySignature("It's a Secret to Everybody", body, null), false);
  assert.equal(await verifySignature("It's a Secret to Everybody", body, sig.slice(0, -2)), false);
  assert.equal(await verifySignature("It's a Secret to Everybody", body, sig.replace("sha256=", "sha1=")), false);
  assert.equal(await verifySignature("It's a Secret to Everybody", body, ""), false);
});

Deno.test("mapGithubPush: commits with time zones and file counts; release tag → deployment; bad commit rejected", () => {
  const report = new IngestReport("webhook");
  const push = mapGithubPush(pushPayload(), { tagPattern: /^v\d/, report });
  assert.equal(push.repo, "aoma-mesh");
  assert.equal(push.commits.length, 2);
  assert.deepEqual(push.commits[0], {
    repo: "aoma-mesh",
    sha: "a".repeat(40),
    author_name: "Alice",
    author_email: "alice@example.com",
    authored_at: "2026-03-02T09:15:00+01:00",
    author_tz: "+0100",
    committer_name: "GitHub",
    committer_email: "noreply@github.com",
    committed_at: "2026-03-02T09:15:00+01:00",
    committer_tz: "+0100",
    files_changed: 4,
    message: "Fix the 360RA upload",
  });
  assert.equal(push.deployment, null);
  assert.equal(report.read, 3);
  assert.deepEqual(report.rejections, [{ line: 3, reason: "commit without a hexadecimal id" }]);
  assert.equal(isoOffset("2026-03-02T09:15:00Z"), "+0000");
  assert.equal(isoOffset("2026-03-02T09:15:00-04:30"), "-0430");

  const tag = mapGithubPush(tagPayload("v1.4.0"), { tagPattern: /^v\d/ });
  assert.deepEqual(tag.deployment, {
    deployment_id: "aoma-mesh:tag:v1.4.0",
    repo: "aoma-mesh",
    environment: "production",
    ref: "v1.4.0",
    sha: "c".repeat(40),
    deployed_at: "2026-03-03T12:00:00.000Z",
    status: "succeeded",
    raw: { source: "github-push", ref: "refs/tags/v1.4.0", before: "0".repeat(40), after: "c".repeat(40) },
  });
  assert.equal(mapGithubPush(tagPayload("nightly-3"), { tagPattern: /^v\d/ }).deployment, null);
  assert.throws(() => mapGithubPush({ zen: "hi" }, { tagPattern: /x/ }), /needs repository.name and ref/);
});

// ───────────────────────────── payloads ─────────────────────────────

function pushPayload(): Record<string, unknown> {
  return {
    ref: "refs/heads/main",
    before: "0".repeat(40),
    after: "b".repeat(40),
    repository: { name: "aoma-mesh", full_name: "sony/aoma-mesh", pushed_at: 1772531700 },
    commits: [
      {
        id: "a".repeat(40),
        message: "Fix the 360RA upload",
        timestamp: "2026-03-02T09:15:00+01:00",
        author: { name: "Alice", email: "alice@example.com", username: "alice" },
        committer: { name: "GitHub", email: "noreply@github.com" },
        added: ["a.ts"],
        removed: [],
        modified: ["b.ts", "c.ts", "d.ts"],
      },
      {
        id: "b".repeat(40),
        message: "Merge pull request #7",
        timestamp: "2026-03-02T10:00:00-05:00",
        author: { name: "Bob", email: "bob@example.com" },
        committer: { name: "Bob", email: "bob@example.com" },
        added: [],
        removed: ["old.ts"],
        modified: [],
      },
      { id: "not-a-sha", timestamp: "2026-03-02T10:00:00Z" },
    ],
    head_commit: { id: "b".repeat(40), timestamp: "2026-03-02T10:00:00-05:00" },
  };
}

function tagPayload(tag: string): Record<string, unknown> {
  return {
    ref: `refs/tags/${tag}`,
    before: "0".repeat(40),
    after: "c".repeat(40),
    created: true,
    deleted: false,
    repository: { name: "aoma-mesh", pushed_at: Date.UTC(2026, 2, 3, 12) / 1000 },
    commits: [],
    head_commit: { id: "c".repeat(40), timestamp: "2026-03-03T11:00:00+00:00" },
  };
}

function jiraPayload(event: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    timestamp: 1772531700000,
    webhookEvent: event,
    issue: {
      key: "AOMA-42",
      fields: {
        project: { key: "AOMA" },
        issuetype: { name: "Incident" },
        priority: { name: "High" },
        status: { name: "Open" },
        components: [{ name: "Upload" }],
        labels: ["prod"],
        summary: "360RA uploads fail",
        created: "2026-03-01T08:00:00.000+0000",
        updated: "2026-03-01T09:00:00.000+0000",
        ...fields,
      },
    },
  };
}

// ───────────────────────────── over HTTP ─────────────────────────────

interface Ctx {
  db: Db;
  srv: RunningServer;
  ingest: IngestFunction;
  post(path: string, body: string, headers?: Record<string, string>): Promise<{ status: number; json: Record<string, unknown> }>;
  count(table: string): Promise<number>;
}

/** Where the scenarios run: a fresh in-memory PGlite unless the server test swaps in its scratch database. */
let openTestDb: () => Promise<{ db: Db; close: () => Promise<void> }> = async () => {
  const db = await openPglite();
  await migrateAll(db);
  return { db, close: () => db.close() };
};

async function withServer(env: Record<string, string>, fn: (c: Ctx) => Promise<void>): Promise<void> {
  const { db, close } = await openTestDb();
  const auth = testAuth();
  const ingest = createIngestFunction({ db, auth, metadataAtRoot: true, env: (n) => env[n] });
  const srv = await startServer({ db, auth, port: 0, functions: { ingest } });
  const ctx: Ctx = {
    db,
    srv,
    ingest,
    async post(path, body, headers = {}) {
      const res = await fetch(`${srv.baseUrl}/functions/v1/ingest${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body,
      });
      const text = await res.text();
      for (const [name, secret] of Object.entries(env)) {
        if (name.endsWith("_SECRET")) assert.ok(!text.includes(secret), "a secret leaked into a response");
      }
      return { status: res.status, json: JSON.parse(text) };
    },
    async count(table) {
      const [r] = await db.query<{ n: number }>(`select count(*)::int as n from aoma.${table}`);
      return r.n;
    },
  };
  try {
    await fn(ctx);
  } finally {
    await ingest.settle(); // a debounced feature refresh still pending runs before the database closes
    await srv.close();
    await close();
  }
}

const SCENARIOS: [string, () => Promise<void>][] = [];
/** Registers an HTTP scenario: a PGlite test now, and a step of the server test below. */
function scenario(name: string, fn: () => Promise<void>): void {
  SCENARIOS.push([name, fn]);
  Deno.test(name, fn);
}

const ghHeaders = async (body: string, delivery: string, secret = GH_SECRET, event = "push") => ({
  "x-github-event": event,
  "x-github-delivery": delivery,
  "x-hub-signature-256": await signBody(secret, body),
});

scenario("GitHub webhook: signed push → 200 and stored; redelivery → duplicate, nothing changes", async () => {
  await withServer({ GITHUB_WEBHOOK_SECRET: GH_SECRET }, async (c) => {
    const body = JSON.stringify(pushPayload());
    const first = await c.post("/webhooks/github", body, await ghHeaders(body, "d-1"));
    assert.equal(first.status, 200, JSON.stringify(first.json));
    assert.equal(first.json.duplicate, false);
    assert.equal(first.json.read, 3);
    assert.equal(first.json.rejected, 1);
    assert.deepEqual((first.json.tables as Record<string, unknown>).git_commits, { inserted: 2, updated: 0, unchanged: 0 });
    const rows = await c.db.query<Record<string, unknown>>(
      `select sha, author_tz, committer_tz, files_changed, insertions, deletions, is_merge,
              to_char(committed_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI') as at
         from aoma.git_commits where repo = 'aoma-mesh' order by sha`,
    );
    assert.deepEqual([...rows], [
      { sha: "a".repeat(40), author_tz: "+0100", committer_tz: "+0100", files_changed: 4, insertions: 0, deletions: 0, is_merge: false, at: "2026-03-02 08:15" },
      { sha: "b".repeat(40), author_tz: "-0500", committer_tz: "-0500", files_changed: 1, insertions: 0, deletions: 0, is_merge: false, at: "2026-03-02 15:00" },
    ]);
    assert.ok((first.json.notes as string[]).some((n) => /no line counts/.test(n)));

    const before = await c.count("git_commits");
    const again = await c.post("/webhooks/github", body, await ghHeaders(body, "d-1"));
    assert.equal(again.status, 200);
    assert.deepEqual(again.json, { duplicate: true, provider: "github", delivery: "d-1" });
    assert.equal(await c.count("git_commits"), before);
    const [d] = await c.db.query<{ n: number }>("select count(*)::int as n from aoma.webhook_deliveries where delivery_id = 'd-1'");
    assert.equal(d.n, 1);
    const [runs] = await c.db.query<{ n: number }>("select count(*)::int as n from aoma.ingest_runs where source = 'webhook'");
    assert.equal(runs.n, 1, "a duplicate delivery records no run");
  });
});

scenario("GitHub webhook: missing, malformed, other-secret and altered-body signatures → 401, nothing stored", async () => {
  await withServer({ GITHUB_WEBHOOK_SECRET: GH_SECRET }, async (c) => {
    const body = JSON.stringify(pushPayload());
    const good = await ghHeaders(body, "d-2");
    const cases: [string, string, Record<string, string>][] = [
      ["unsigned", body, { "x-github-event": "push", "x-github-delivery": "d-2" }],
      ["malformed", body, { ...good, "x-hub-signature-256": "sha256=xyz" }],
      ["sha1 only", body, { ...good, "x-hub-signature-256": good["x-hub-signature-256"].replace("sha256", "sha1") }],
      ["other secret", body, await ghHeaders(body, "d-2", "not-the-secret")],
      ["altered after signing", body.replace("Fix the 360RA upload", "Fix the 360RA uploaf"), good],
      ["not JSON but unsigned", "{not json", { "x-github-event": "push" }],
    ];
    for (const [what, b, h] of cases) {
      const r = await c.post("/webhooks/github", b, h);
      assert.equal(r.status, 401, what);
      assert.match(String(r.json.message), /x-hub-signature-256 signature is missing or does not match the body/, what);
    }
    assert.equal(await c.count("git_commits"), 0);
    assert.equal(await c.count("webhook_deliveries"), 0);
    assert.equal(await c.count("ingest_runs"), 0);
    // the good one still goes through afterwards (the failed attempts claimed nothing)
    assert.equal((await c.post("/webhooks/github", body, good)).status, 200);
    assert.equal(await c.count("git_commits"), 2);
  });
});

scenario("GitHub webhook: tag push → deployment; ping → noted; signed non-JSON → 400; no secret → 503", async () => {
  await withServer({ GITHUB_WEBHOOK_SECRET: GH_SECRET, GITHUB_DEPLOY_TAG_PATTERN: "/^v[0-9]/" }, async (c) => {
    const tag = JSON.stringify(tagPayload("v2.0.1"));
    const r = await c.post("/webhooks/github", tag, await ghHeaders(tag, "t-1"));
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const [dep] = await c.db.query<Record<string, unknown>>(
      "select deployment_id, sha, ref, to_char(deployed_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI') as at from aoma.deployments",
    );
    assert.deepEqual(dep, { deployment_id: "aoma-mesh:tag:v2.0.1", sha: "c".repeat(40), ref: "v2.0.1", at: "2026-03-03 12:00" });
    const other = JSON.stringify(tagPayload("nightly-7"));
    assert.equal((await c.post("/webhooks/github", other, await ghHeaders(other, "t-2"))).status, 200);
    assert.equal(await c.count("deployments"), 1);

    const ping = JSON.stringify({ zen: "Keep it logically awesome.", hook_id: 1 });
    const p = await c.post("/webhooks/github", ping, await ghHeaders(ping, "p-1", GH_SECRET, "ping"));
    assert.equal(p.status, 200);
    assert.ok((p.json.notes as string[]).some((n) => /only push events/.test(n)));

    const junk = "not json at all";
    const j = await c.post("/webhooks/github", junk, await ghHeaders(junk, "j-1"));
    assert.equal(j.status, 400);
    assert.equal(j.json.message, "Cannot read the github webhook: the body is not JSON.");
  });
  await withServer({}, async (c) => {
    const body = JSON.stringify(pushPayload());
    const r = await c.post("/webhooks/github", body, await ghHeaders(body, "d-9"));
    assert.equal(r.status, 503);
    assert.equal(r.json.message, "Cannot accept github webhooks: no secret is configured; set GITHUB_WEBHOOK_SECRET on the server.");
    assert.equal(await c.count("git_commits"), 0);
    const unknown = await c.post("/webhooks/gitlab", "{}", {});
    assert.equal(unknown.status, 404);
  });
});

scenario("Jira webhook: created → stored (and an incident by the rules), updated, deleted; bad signature → 401; redelivery → no change", async () => {
  await withServer({ JIRA_WEBHOOK_SECRET: JIRA_SECRET }, async (c) => {
    const send = async (payload: unknown, id: string, secret = JIRA_SECRET) => {
      const body = JSON.stringify(payload);
      return await c.post("/webhooks/jira", body, {
        "x-hub-signature": await signBody(secret, body),
        "x-atlassian-webhook-identifier": id,
      });
    };
    const bad = await send(jiraPayload("jira:issue_created"), "j-0", GH_SECRET);
    assert.equal(bad.status, 401);
    assert.match(String(bad.json.message), /x-hub-signature signature is missing or does not match/);
    assert.equal(await c.count("jira_issues"), 0);

    const created = await send(jiraPayload("jira:issue_created"), "j-1");
    assert.equal(created.status, 200, JSON.stringify(created.json));
    assert.equal(created.json.event, "jira:issue_created");
    const [row] = await c.db.query<Record<string, unknown>>(
      "select issue_key, issue_type, priority, status, components, labels, resolved_at from aoma.jira_issues",
    );
    assert.deepEqual(row, {
      issue_key: "AOMA-42", issue_type: "Incident", priority: "High", status: "Open",
      components: ["Upload"], labels: ["prod"], resolved_at: null,
    });
    const [inc] = await c.db.query<{ n: number }>("select count(*)::int as n from aoma.incidents where jira_key = 'AOMA-42'");
    assert.equal(inc.n, 1, "an Incident ticket becomes an incident (rule 'incidents')");

    const updated = await send(
      jiraPayload("jira:issue_updated", { status: { name: "Done" }, resolutiondate: "2026-03-01T12:00:00.000+0000" }),
      "j-2",
    );
    assert.equal(updated.status, 200);
    assert.deepEqual((updated.json.tables as Record<string, unknown>).jira_issues, { inserted: 0, updated: 1, unchanged: 0 });
    const [st] = await c.db.query<{ status: string }>("select status from aoma.jira_issues where issue_key = 'AOMA-42'");
    assert.equal(st.status, "Done");

    // the earlier "created" delivered again: a duplicate, so the update is not undone
    const redelivered = await send(jiraPayload("jira:issue_created"), "j-1");
    assert.equal(redelivered.json.duplicate, true);
    const [st2] = await c.db.query<{ status: string }>("select status from aoma.jira_issues where issue_key = 'AOMA-42'");
    assert.equal(st2.status, "Done");

    const deleted = await send({ webhookEvent: "jira:issue_deleted", issue: { key: "AOMA-42" } }, "j-3");
    assert.equal(deleted.status, 200);
    assert.equal(await c.count("jira_issues"), 0);

    const broken = await send(jiraPayload("jira:issue_created", { created: "yesterday" }), "j-4");
    assert.equal(broken.status, 200);
    assert.equal(broken.json.rejected, 1);
    assert.equal(await c.count("jira_issues"), 0);
    assert.equal(await c.count("webhook_deliveries"), 4);
  });
});

scenario("Webhook deliveries are debounced: a burst of 8 refreshes the features once, after the last delivery", async () => {
  await withServer({ JIRA_WEBHOOK_SECRET: JIRA_SECRET, AOMA_WEBHOOK_REFRESH_DELAY_MS: "3000" }, async (c) => {
    const ticketsInFeatures = async () =>
      (await c.db.query<{ n: number }>("select coalesce(sum(tickets_created), 0)::int as n from analytics.features_daily"))[0].n;
    const state = async () =>
      (await c.db.query<{ at: string | null }>("select refreshed_at::text as at from aoma_private.feature_refresh_state"))[0].at;
    const before = await state();
    for (let i = 1; i <= 8; i++) {
      const payload = jiraPayload("jira:issue_created", { issuetype: { name: "Bug" }, created: `2026-03-0${i}T08:00:00.000+0000` });
      (payload.issue as Record<string, unknown>).key = `AOMA-${100 + i}`;
      const body = JSON.stringify(payload);
      const r = await c.post("/webhooks/jira", body, {
        "x-hub-signature": await signBody(JIRA_SECRET, body),
        "x-atlassian-webhook-identifier": `burst-${i}`,
      });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.ok((r.json.notes as string[]).some((n) => /refresh 3000 ms after the last delivery/.test(n)), JSON.stringify(r.json.notes));
    }
    assert.equal(await c.count("jira_issues"), 8);
    assert.equal(c.ingest.refreshes, 0, "no refresh during the burst");
    assert.equal(await ticketsInFeatures(), 0, "the feature tables do not have the burst yet");
    assert.equal(await state(), before);
    // the refresh runs by itself 3 s after the last delivery
    const deadline = Date.now() + 20_000;
    while (c.ingest.refreshes === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await c.ingest.settle();
    assert.equal(c.ingest.refreshes, 1, "one refresh for the burst");
    assert.equal(await ticketsInFeatures(), 8, "that refresh holds all 8 deliveries");
    assert.notEqual(await state(), before);
    const [{ dirty }] = await c.db.query<{ dirty: number }>("select count(*)::int as dirty from aoma_private.dirty_hours");
    assert.equal(dirty, 0);
  });
});

Deno.test("refreshDelayFrom: default 2000 ms, whole milliseconds 0..600000, anything else one sentence", () => {
  assert.equal(refreshDelayFrom(undefined), 2000);
  assert.equal(refreshDelayFrom("0"), 0);
  assert.equal(refreshDelayFrom(" 250 "), 250);
  for (const bad of ["-1", "1.5", "2s", "600001"]) {
    assert.throws(() => refreshDelayFrom(bad), {
      message: `AOMA_WEBHOOK_REFRESH_DELAY_MS must be a whole number of milliseconds from 0 to 600000 (got ${JSON.stringify(bad)}).`,
    });
  }
});

const SERVER_URL = Deno.env.get("AOMA_TEST_DB_URL");

Deno.test({
  name: "webhooks on the server (scratch database aoma_test_webhooks at AOMA_TEST_DB_URL)",
  ignore: !SERVER_URL,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const admin = postgres(SERVER_URL!, { max: 1, onnotice: () => {} });
    const url = SERVER_URL!.replace(/\/[^/?]+(\?|$)/, "/aoma_test_webhooks$1");
    const saved = openTestDb;
    // every scenario starts from an empty, migrated database
    openTestDb = async () => {
      await admin.unsafe("drop database if exists aoma_test_webhooks with (force)");
      await admin.unsafe("create database aoma_test_webhooks");
      const db = openPostgres(url, { max: 3 });
      await migrateAll(db);
      return { db, close: () => db.close() };
    };
    try {
      for (const [name, fn] of SCENARIOS) await t.step(name, fn);
    } finally {
      openTestDb = saved;
      await admin.unsafe("drop database if exists aoma_test_webhooks with (force)");
      await admin.end();
    }
  },
});
