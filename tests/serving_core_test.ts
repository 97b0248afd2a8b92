/**
 * The serving core (issue 7) against the real embedded server: PGlite in its own process, the gateway
 * over real HTTP, real MCP clients of both protocol eras.
 *
 * - While the heaviest allowed call runs, tools/list, an unauthenticated request and the status
 *   answer within 200 ms; past its deadline the call is stopped (the database's process is killed,
 *   and is gone, and the database reopens), the server goes on answering, and every table's row
 *   count and checksum is unchanged.
 * - A client that disconnects cancels its running call; a full queue answers 429 with Retry-After;
 *   a JSON-RPC batch is refused without running anything.
 * - Identical calls are answered from the cache until the data version moves.
 * - server/discover (2026-07-28) and initialize (2025-11-25) clients list and call the same tools.
 * - On a PostgreSQL server (AOMA_TEST_DB_URL) the deadline cancels the backend's query.
 */
import assert from "node:assert/strict";
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from "@modelcontextprotocol/client";
import postgres from "postgres";
import { RLS_CLAIMS } from "../src/mcp/answer_cache.ts";
import { migrateAll } from "../src/db/migrate.ts";
import { openPgliteProcess } from "../src/db/pglite_host.ts";
import { openPostgres } from "../src/db/postgres.ts";
import type { Db } from "../src/db/types.ts";
import { loadDemo } from "../src/demo/load.ts";
import { startServer } from "../src/server/gateway.ts";
import { SERVER_URL, withDatabase } from "./_engines.ts";
import { connectClient, tableChecksums, testAuth } from "./mcp_fixture.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

/** The heaviest call the tool allows: hourly, every feature, the longest lag, with its chart. */
const HEAVIEST = { aggregationLevel: "hourly", maxLag: 30, includeChart: true };


async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}

function rpc(url: string, token: string | null, body: unknown, signal?: AbortSignal): Promise<Response> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": "2025-11-25",
  };
  if (token) headers.authorization = `Bearer ${token}`;
  return fetch(url, { method: "POST", headers, body: JSON.stringify(body), signal });
}

const call = (id: number, args: Json) => ({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "analyze_correlations", arguments: args } });

async function status(baseUrl: string, token: string): Promise<Json> {
  const res = await fetch(`${baseUrl}/functions/v1/mcp/status`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  return await res.json();
}

async function until(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Whether process `pid` exists and is not a zombie (Linux /proc). */
async function processAlive(pid: number): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
}

Deno.test({
  name: "serving core on the embedded server: responsive during the heaviest call, deadline, cancel, 429, batch, cache, both eras",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "aoma-serving-" });
    const db = await openPgliteProcess(dir);
    await migrateAll(db);
    await loadDemo(db, { variant: "planted", seed: 1 });
    // short enough that the heaviest call (about 5 s on an idle machine) is always stopped, long
    // enough for an ordinary call (0.2–1 s); the cache and 2026 steps use a second server without it
    const deadlineMs = 2_500;
    const server = await startServer({
      db,
      port: 0,
      auth: testAuth(),
      serving: { deadlineMs, concurrency: 1, maxWaiting: 1, maxWaitMs: 20_000 },
    });
    const relaxed = await startServer({ db, port: 0, auth: server.auth, serving: { deadlineMs: 120_000 } });
    const token = await server.token();
    const client = await connectClient(server.url, token);
    let heavyPid = 0;
    try {
      const before = await tableChecksums(db, ["aoma", "analytics", "aoma_private"]);

      await t.step("RLS reads no JWT claim that the cache key leaves out", async () => {
        const policies = await db.query<{ name: string }>(
          `select schemaname || '.' || tablename || ' ' || policyname as name from pg_policies
           where schemaname in ('aoma', 'analytics') and (coalesce(qual, '') || coalesce(with_check, '')) ~* '(jwt|auth\\.|claims)'`,
        );
        assert.deepEqual(policies.map((p) => p.name), [], `policies read JWT claims: add them to RLS_CLAIMS (${RLS_CLAIMS})`);
      });

      await t.step("the heaviest call: tools/list, 401 and status answer within 200 ms; stopped at its deadline", async () => {
        heavyPid = (await status(server.baseUrl, token)).database.pid;
        assert.ok(heavyPid > 0, "the database runs in a process of its own");
        const heavy = timed(() => client.callTool({ name: "analyze_correlations", arguments: HEAVIEST }, undefined, { timeout: 120_000 }));
        await until("the heavy call to run", 5_000, async () => (await status(server.baseUrl, token)).queue.running === 1);
        const listMs: number[] = [];
        const unauthMs: number[] = [];
        for (let i = 0; i < 5; i++) {
          const list = await timed(() => rpc(server.url, token, { jsonrpc: "2.0", id: 100 + i, method: "tools/list" }));
          assert.equal(list.value.status, 200);
          assert.equal((await list.value.json()).result.tools[0].name, "analyze_correlations");
          listMs.push(list.ms);
          const unauth = await timed(() => rpc(server.url, null, { jsonrpc: "2.0", id: 1, method: "tools/list" }));
          assert.equal(unauth.value.status, 401);
          await unauth.value.body?.cancel();
          unauthMs.push(unauth.ms);
          await new Promise((r) => setTimeout(r, 100));
        }
        const st = await status(server.baseUrl, token);
        assert.equal(st.queue.running, 1, "the heavy call was still running while we measured");
        assert.ok(Math.max(...listMs) < 200, `tools/list during the heavy call: ${listMs.map(Math.round)} ms`);
        assert.ok(Math.max(...unauthMs) < 200, `401 during the heavy call: ${unauthMs.map(Math.round)} ms`);
        const { ms, value: res } = await heavy;
        const r = res as Json;
        assert.equal(r.isError, true);
        assert.match(r.content[0].text, /^Cannot run analyze_correlations: the analysis did not finish within 2.5 s and was stopped; narrow timeRange/);
        assert.ok(ms < deadlineMs + 3_000, `answered ${Math.round(ms)} ms after it was sent`);
      });

      await t.step("after the stop the server answers, and the database is intact", async () => {
        // (on the server without the short deadline: the first call after a reopen reads a cold cache)
        const res = (await (await rpc(relaxed.url, token, call(5, { includeChart: false }))).json()).result;
        assert.notEqual(res.isError, true, res.content?.[0]?.text);
        assert.equal(res.structuredContent.results[0].feature, "asset_volume");
        const st = await status(server.baseUrl, token);
        assert.equal(st.database.stops, 1);
        assert.ok(st.database.lastReopenMs > 0);
        // the stopped statement does not go on computing somewhere: its process is gone
        assert.equal(await processAlive(heavyPid), false, `the stopped database process ${heavyPid} is still alive`);
        assert.notEqual(st.database.pid, heavyPid);
        assert.deepEqual(await tableChecksums(db, ["aoma", "analytics", "aoma_private"]), before);
      });

      await t.step("a client that disconnects cancels its running call", async () => {
        await until("the database to be open again", 60_000, async () => !(await status(server.baseUrl, token)).database.reopening);
        const stops = (await status(server.baseUrl, token)).database.stops;
        const ac = new AbortController();
        const pending = rpc(server.url, token, call(7, { ...HEAVIEST, maxLag: 29 }), ac.signal).catch((e) => e);
        await until("the call to run in the database", 5_000, async () => (await status(server.baseUrl, token)).database.busy);
        ac.abort();
        assert.equal((await pending as Error).name, "AbortError");
        await until("the call to be cancelled", 5_000, async () => {
          const st = await status(server.baseUrl, token);
          return st.queue.running === 0 && st.database.stops === stops + 1;
        });
      });

      await t.step("a full queue answers 429 with Retry-After; nothing else is dropped", async () => {
        const a = rpc(server.url, token, call(1, { ...HEAVIEST, maxLag: 28 }));
        await until("the first call to run", 5_000, async () => (await status(server.baseUrl, token)).queue.running === 1);
        const b = rpc(server.url, token, call(2, { ...HEAVIEST, maxLag: 27 }));
        await until("the second call to wait", 5_000, async () => (await status(server.baseUrl, token)).queue.waiting === 1);
        const c = await rpc(server.url, token, call(3, { ...HEAVIEST, maxLag: 26 }));
        assert.equal(c.status, 429);
        assert.ok(Number(c.headers.get("retry-after")) >= 1);
        const body = await c.json();
        assert.equal(body.id, 3);
        assert.match(body.error.message, /^The server is busy \(1 calls running and 1 waiting, the most it queues\); retry in \d+ s\.$/);
        for (const r of [await a, await b]) {
          assert.equal(r.status, 200);
          assert.match((await r.json()).result.content[0].text, /did not finish within 2.5 s/);
        }
      });

      await t.step("a JSON-RPC batch is refused whole: nothing runs", async () => {
        const calls = (await status(server.baseUrl, token)).cache.misses;
        const res = await rpc(server.url, token, [call(1, {}), call(2, { maxLag: 2 }), { jsonrpc: "2.0", id: 3, method: "tools/list" }]);
        assert.equal(res.status, 400);
        const body = await res.json();
        assert.equal(body.error.code, -32600);
        assert.match(body.error.message, /^Cannot accept a JSON-RPC batch of 3 messages: this server takes one request per POST/);
        assert.equal((await status(server.baseUrl, token)).cache.misses, calls);
      });

      await t.step("identical calls come from the cache until the data version moves", async () => {
        const args = { maxLag: 2, includeChart: false };
        const callOnce = async (id: number) => (await (await rpc(relaxed.url, token, call(id, args))).json()).result;
        const first = await callOnce(1);
        const second = await callOnce(2);
        assert.equal(first._meta["dev.aoma-mesh/cached"], false);
        assert.equal(second._meta["dev.aoma-mesh/cached"], true);
        assert.deepEqual(second.structuredContent, first.structuredContent);
        assert.equal(second._meta["dev.aoma-mesh/computedAt"], first._meta["dev.aoma-mesh/computedAt"]);
        assert.match(second.content[0].text, /Computed \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC on data version \d+ \(answered from the cache/);
        const version = first._meta["dev.aoma-mesh/dataVersion"];
        // an analyst's write (a failure rule) moves the version; the next call computes again
        await db.query("insert into aoma.jira_failure_rules (rule_id, issue_types, description) values ('t', '{Bug}', 'test')");
        assert.equal(Number(await db.dataVersion()), Number(version) + 1);
        const third = await callOnce(3);
        assert.equal(third._meta["dev.aoma-mesh/cached"], false);
        assert.equal(third._meta["dev.aoma-mesh/dataVersion"], String(Number(version) + 1));
        await db.query("delete from aoma.jira_failure_rules where rule_id = 't'");
      });

      await t.step("2026-07-28: server/discover, then the same tools and answers", async () => {
        const v2 = new ClientV2({ name: "aoma-test-v2", version: "1.0.0" }, { versionNegotiation: { mode: { pin: "2026-07-28" } } });
        await v2.connect(new TransportV2(new URL(relaxed.url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
        try {
          assert.equal(v2.getNegotiatedProtocolVersion(), "2026-07-28");
          const discovered = await v2.discover() as Json;
          assert.equal(discovered._meta["io.modelcontextprotocol/serverInfo"].name, "aoma-mesh-analytics");
          assert.deepEqual(discovered.capabilities, { tools: { listChanged: false } });
          assert.ok(discovered.supportedVersions.includes("2026-07-28"));
          const tools = await v2.listTools();
          const legacyTools = await client.listTools();
          assert.deepEqual(tools.tools.map((x: Json) => x.name), legacyTools.tools.map((x: Json) => x.name));
          const res = await v2.callTool({ name: "analyze_correlations", arguments: { maxLag: 2, includeChart: false } }) as Json;
          assert.notEqual(res.isError, true, res.content?.[0]?.text);
          assert.equal(res.structuredContent.results[0].feature, "asset_volume");
          // one cache for both eras: the 2025-era call of the same arguments gets this answer
          const legacy = (await (await rpc(relaxed.url, token, call(9, { maxLag: 2, includeChart: false }))).json()).result;
          assert.equal(legacy._meta["dev.aoma-mesh/cached"], true);
          assert.deepEqual(legacy.structuredContent, res.structuredContent);
          const bad = await v2.callTool({ name: "analyze_correlations", arguments: { maxLag: 99 } }) as Json;
          assert.equal(bad.isError, true);
          assert.match(bad.content[0].text, /^Cannot run analyze_correlations: maxLag must be a whole number from 0 to 30\.$/);
        } finally {
          await v2.close();
        }
      });
    } finally {
      await client.close().catch(() => {});
      await server.close();
      await relaxed.close();
      await db.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "serving core on a PostgreSQL server: the deadline cancels the backend's query",
  ignore: !SERVER_URL,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const name = "aoma_test_serving";
    const admin = postgres(SERVER_URL!, { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.unsafe(`create database ${name}`);
    const db: Db = openPostgres(withDatabase(SERVER_URL!, name), { max: 4 });
    try {
      await migrateAll(db);
      await loadDemo(db, { variant: "planted", seed: 1 });
      const server = await startServer({ db, port: 0, auth: testAuth(), serving: { deadlineMs: 300 } });
      try {
        const token = await server.token();
        const res = await (await rpc(server.url, token, call(1, HEAVIEST))).json();
        assert.match(res.result.content[0].text, /^Cannot run analyze_correlations: the analysis did not finish within 0\.3 s and was stopped/);
        await until("no query of ours left running", 3_000, async () => {
          const rows = await admin.unsafe(
            `select count(*)::int as n from pg_stat_activity where datname = $1 and state = 'active' and query ilike '%analytics.%'`,
            [name],
          );
          return rows[0].n === 0;
        });
        // the server serves the next call: a light one, inside the same 0.3 s deadline on a loaded machine
        const ok = await (await rpc(server.url, token, call(2, { features: ["asset_volume", "is_monday"], includeChart: false }))).json();
        assert.notEqual(ok.result.isError, true, ok.result.content?.[0]?.text);
        assert.equal(ok.result.structuredContent.results[0].feature, "asset_volume");
      } finally {
        await server.close();
      }
    } finally {
      await db.close();
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    }
  },
});
