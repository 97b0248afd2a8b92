/**
 * The server's login role (supabase/migrations/20261202000200_authenticator.sql). On the local cluster
 * (AOMA_TEST_DB_URL): a real login as `authenticator` — the URL `scripts/stack.sh url --role
 * authenticator` prints, pointed at a scratch database migrated and loaded as postgres — cannot become
 * postgres or read anything by itself, and yet the MCP server answers analyze_correlations and the
 * ingest function stores a batch and a signed webhook (as service_role, features refreshed). On PGlite:
 * asRole runs statements as the role and only as an allowed one.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { asRole, type CallerRole } from "../src/db/caller.ts";
import { migrateAll } from "../src/db/migrate.ts";
import { openPglite } from "../src/db/pglite.ts";
import { openPostgres } from "../src/db/postgres.ts";
import type { Db } from "../src/db/types.ts";
import { loadDemo } from "../src/demo/load.ts";
import { isAppError } from "../src/errors.ts";
import { createIngestFunction } from "../src/ingest/function.ts";
import { signBody } from "../src/ingest/webhooks.ts";
import { startServer } from "../src/server/gateway.ts";
import { SERVER_URL, withDatabase } from "./_engines.ts";
import { connectClient, testAuth } from "./mcp_fixture.ts";

const SCRATCH = "aoma_test_authenticator";
const GH_SECRET = "authenticator-test-webhook-secret";

/** SQLSTATE of a rejected promise (fails when it resolves). */
async function sqlstateOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return String((e as { code?: unknown }).code ?? (e as Error).message);
  }
  assert.fail("expected the statement to be refused");
}

/** The server's URL as documented: `bash scripts/stack.sh url --role authenticator`. */
async function authenticatorUrl(): Promise<string> {
  const out = await new Deno.Command("bash", {
    args: ["scripts/stack.sh", "url", "--role", "authenticator"],
    cwd: new URL("../", import.meta.url),
  }).output();
  const url = new TextDecoder().decode(out.stdout).trim();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(url, /^postgresql:\/\/authenticator:[^@]+@/);
  return url;
}

Deno.test("asRole (PGlite): every statement runs as the role, the session keeps its own; only allowed roles", async () => {
  const db = await openPglite();
  try {
    await migrateAll(db);
    const writer = asRole(db, "service_role");
    assert.deepEqual(await writer.query("select current_user::text as u"), [{ u: "service_role" }]);
    assert.deepEqual(
      await writer.transaction(async (tx) => {
        await tx.query("insert into aoma.repositories (repo) values ('as-role')");
        return await tx.query("select current_user::text as u, count(*)::int as n from aoma.repositories");
      }),
      [{ u: "service_role", n: 1 }],
    );
    assert.deepEqual(await db.query("select current_user::text as u"), [{ u: "postgres" }], "the role is local to the transaction");
    const reader = asRole(db, "authenticated");
    await assert.rejects(reader.query("insert into aoma.repositories (repo) values ('nope')"), /permission denied for table repositories/);
    assert.throws(() => asRole(db, "postgres" as CallerRole), (e) => {
      assert.ok(isAppError(e));
      assert.equal((e as Error).message, 'Cannot run as role "postgres": only authenticated and service_role are allowed.');
      return true;
    });
  } finally {
    await db.close();
  }
});

Deno.test({
  name: "the MCP and ingest functions connected as authenticator (server, scratch database aoma_test_authenticator)",
  ignore: !SERVER_URL,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const admin = postgres(SERVER_URL!, { max: 1, onnotice: () => {} });
    const [{ has_password }] = await admin<{ has_password: boolean }[]>`
      select rolpassword is not null as has_password from pg_authid where rolname = 'authenticator'`;
    assert.ok(has_password, "authenticator has no password on this cluster: run `npm run db:start` (scripts/stack.sh sets it)");
    await admin.unsafe(`drop database if exists ${SCRATCH} with (force)`);
    await admin.unsafe(`create database ${SCRATCH}`);
    const owner = openPostgres(withDatabase(SERVER_URL!, SCRATCH), { max: 2 });
    let server: Db | undefined;
    try {
      await migrateAll(owner);
      await loadDemo(owner, { variant: "planted", seed: 1 });
      server = openPostgres(withDatabase(await authenticatorUrl(), SCRATCH), { max: 3 });
      const db = server;

      await t.step("a real login as authenticator: no superuser, cannot become postgres, reads nothing by itself", async () => {
        assert.deepEqual(
          await db.query("select session_user::text as s, current_user::text as c, (select rolsuper from pg_roles where rolname = session_user) as su"),
          [{ s: "authenticator", c: "authenticator", su: false }],
        );
        assert.equal(await sqlstateOf(db.query("set role postgres")), "42501");
        assert.equal(await sqlstateOf(db.transaction((tx) => tx.query("select set_config('role', 'postgres', true)"))), "42501");
        assert.equal(await sqlstateOf(db.query("set session authorization postgres")), "42501");
        assert.equal(await sqlstateOf(db.query("select count(*) from aoma_private.library_modules")), "42501");
        assert.equal(await sqlstateOf(db.query("select count(*) from aoma.incidents")), "42501");
        assert.equal(await sqlstateOf(asRole(db, "service_role").query("select count(*) from aoma_private.library_modules")), "42501");
        assert.equal(await sqlstateOf(asRole(db, "authenticated").query("delete from aoma.incidents")), "42501");
      });

      const auth = testAuth();
      const ingest = createIngestFunction({ db, auth, metadataAtRoot: true, env: (n) => ({ GITHUB_WEBHOOK_SECRET: GH_SECRET })[n] });
      const srv = await startServer({ db, auth, port: 0, functions: { ingest } });
      try {
        await t.step("analyze_correlations over MCP answers with analytics.correlate's numbers", async () => {
          const client = await connectClient(srv.url, await srv.token());
          try {
            // deno-lint-ignore no-explicit-any
            const res: any = await client.callTool({ name: "analyze_correlations", arguments: { includeChart: false } });
            assert.notEqual(res.isError, true, JSON.stringify(res.content?.[0]));
            const expected = await owner.query<{ feature: string; lag: number; n: number; pearson_r: number }>(
              "select feature, lag, n, pearson_r from analytics.correlate() order by rank",
            );
            assert.ok(expected.length > 0);
            assert.deepEqual(
              // deno-lint-ignore no-explicit-any
              res.structuredContent.results.map((r: any) => [r.feature, r.lag, r.n, r.pearson.r]),
              expected.map((r) => [r.feature, r.lag, r.n, r.pearson_r]),
            );
          } finally {
            await client.close();
          }
        });

        await t.step("an ingest batch is stored as service_role and the feature views are refreshed", async () => {
          const day = "2026-11-20";
          const failures = async () =>
            (await owner.query<{ n: number }>("select failure_count::int as n from analytics.features_daily where day = $1::date", [day]))[0].n;
          const res = await fetch(`${srv.baseUrl}/functions/v1/ingest`, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${await srv.token({ role: "service_role" })}` },
            body: JSON.stringify({
              source: "jira",
              records: [{
                key: "AUTHN-1",
                fields: {
                  project: { key: "AUTHN" }, issuetype: { name: "Incident" }, priority: { name: "Highest" },
                  status: { name: "Open" }, components: [], labels: [], summary: "ingested through authenticator",
                  created: `${day}T10:00:00.000+0000`,
                },
              }],
            }),
          });
          const report = await res.json();
          assert.equal(res.status, 200, JSON.stringify(report));
          assert.deepEqual(report.tables.jira_issues, { inserted: 1, updated: 0, unchanged: 0 });
          assert.deepEqual(
            await owner.query("select severity, source from aoma.incidents where jira_key = 'AUTHN-1'"),
            [{ severity: "critical", source: "jira" }],
          );
          // the database held the demo: the first real row removes it (they never share a database)
          assert.ok(report.notes.some((n: string) => n.startsWith("removed the demo quarter (planted, seed 1)")), JSON.stringify(report.notes));
          assert.equal(await failures(), 1, "refresh_features ran after the batch (the demo's incidents are gone)");
          assert.deepEqual(
            await owner.query("select status from aoma.ingest_runs where source = 'jira' order by started_at desc limit 1"),
            [{ status: "succeeded" }],
          );
        });

        await t.step("a signed GitHub push webhook is stored, and a redelivery changes nothing", async () => {
          const body = JSON.stringify({
            ref: "refs/heads/main",
            before: "0".repeat(40),
            after: "e".repeat(40),
            repository: { name: "authn-repo", pushed_at: 1772531700 },
            commits: [{
              id: "e".repeat(40), message: "through authenticator", timestamp: "2026-11-20T09:15:00+01:00",
              author: { name: "A", email: "a@example.com" }, committer: { name: "A", email: "a@example.com" },
              added: ["x.ts"], removed: [], modified: [],
            }],
          });
          const send = async () =>
            await fetch(`${srv.baseUrl}/functions/v1/ingest/webhooks/github`, {
              method: "POST",
              headers: {
                "content-type": "application/json",
                "x-github-event": "push",
                "x-github-delivery": "authn-1",
                "x-hub-signature-256": await signBody(GH_SECRET, body),
              },
              body,
            });
          const first = await send();
          const json = await first.json();
          assert.equal(first.status, 200, JSON.stringify(json));
          assert.equal(json.duplicate, false);
          const again = await send();
          assert.deepEqual(await again.json(), { duplicate: true, provider: "github", delivery: "authn-1" });
          assert.deepEqual(
            await owner.query("select sha from aoma.git_commits where repo = 'authn-repo'"),
            [{ sha: "e".repeat(40) }],
          );
        });
      } finally {
        await srv.close();
      }
    } finally {
      await server?.close();
      await owner.close();
      await admin.unsafe(`drop database if exists ${SCRATCH} with (force)`);
      await admin.end();
    }
  },
});
