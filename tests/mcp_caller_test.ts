/**
 * withCaller: one read-only transaction as the caller's role, with the JWT claims and a statement
 * timeout set locally; writes fail, anon and unknown roles are refused, grants decide what is seen.
 * Runs on PGlite, and also on the local cluster when AOMA_TEST_DB_URL is set.
 */
import assert from "node:assert/strict";
import { withCaller } from "../src/db/caller.ts";
import { openPostgres } from "../src/db/postgres.ts";
import type { Db } from "../src/db/types.ts";
import { sqlState } from "../src/errors.ts";
import type { AnalyzeCorrelationsOutput } from "../src/tools/analyze_correlations.ts";
import { testDb } from "./mcp_fixture.ts";

const CLUSTER_URL = Deno.env.get("AOMA_TEST_DB_URL");

async function checks(db: Db) {
  const before = await db.query<{ n: number }>("select count(*)::int as n from aoma.incidents");

  const seen = await withCaller(db, { role: "authenticated", claims: { sub: "u-42", role: "authenticated" } }, (tx) =>
    tx.query<{ who: string; claims: string; ro: string; timeout: string }>(
      `select current_user::text as who, current_setting('request.jwt.claims') as claims,
              current_setting('transaction_read_only') as ro, current_setting('statement_timeout') as timeout`,
    ));
  assert.equal(seen[0].who, "authenticated");
  assert.deepEqual(JSON.parse(seen[0].claims), { sub: "u-42", role: "authenticated" });
  assert.equal(seen[0].ro, "on");
  assert.equal(seen[0].timeout, "15s");

  // settings are local to the transaction: the session is back to its own role afterwards
  const [after] = await db.query<{ who: string }>("select current_user::text as who");
  assert.notEqual(after.who, "authenticated");

  // custom timeout
  const [t] = await withCaller(db, { role: "authenticated", claims: {} }, (tx) =>
    tx.query<{ timeout: string }>("select current_setting('statement_timeout') as timeout"), { statementTimeoutMs: 2500 });
  assert.equal(t.timeout, "2500ms");

  // writes fail inside the read-only transaction, even for service_role (which may write otherwise)
  await assert.rejects(
    withCaller(db, { role: "service_role", claims: {} }, (tx) =>
      tx.query("insert into aoma.incidents (incident_key, started_at) values ('INC-TEST-1', now())")),
    (e: unknown) => sqlState(e) === "25006",
  );
  await assert.rejects(
    withCaller(db, { role: "authenticated", claims: {} }, (tx) => tx.query("delete from aoma.incidents")),
    (e: unknown) => sqlState(e) === "25006" || sqlState(e) === "42501",
  );

  // grants decide: analysts cannot read the private schema's tables directly
  await assert.rejects(
    withCaller(db, { role: "authenticated", claims: {} }, (tx) => tx.query("select * from aoma_private.features_hourly_raw limit 1")),
    (e: unknown) => sqlState(e) === "42501",
  );

  // anon and anything else are refused before the database is touched
  for (const role of ["anon", "postgres", "authenticated; drop table aoma.incidents", ""]) {
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      withCaller(db, { role: role as any, claims: {} }, () => Promise.resolve(1)),
      (e: unknown) => (e as { status?: number }).status === 403 && /only authenticated and service_role/.test((e as Error).message),
    );
  }

  const afterCount = await db.query<{ n: number }>("select count(*)::int as n from aoma.incidents");
  assert.deepEqual(afterCount, before);
}

Deno.test("withCaller on PGlite: role, claims, read-only, timeout, refusals", async () => {
  const db = await testDb(null);
  try {
    await checks(db);
  } finally {
    await db.close();
  }
});

Deno.test({
  name: "withCaller on the local cluster (AOMA_TEST_DB_URL)",
  ignore: !CLUSTER_URL,
  async fn() {
    const db = openPostgres(CLUSTER_URL!);
    try {
      await checks(db);
    } finally {
      await db.close();
    }
  },
});

Deno.test({
  name: "analyze_correlations on the local cluster (AOMA_TEST_DB_URL): a scratch database with the demo, same numbers as SQL",
  ignore: !CLUSTER_URL,
  async fn() {
    const { handler } = await import("../src/tools/analyze_correlations.ts");
    const { migrateAll } = await import("../src/db/migrate.ts");
    const { loadDemo } = await import("../src/demo/load.ts");
    const name = `aoma_mcp_test_${crypto.randomUUID().slice(0, 8)}`;
    const admin = openPostgres(CLUSTER_URL!);
    await admin.query(`create database ${name}`);
    const url = new URL(CLUSTER_URL!);
    url.pathname = `/${name}`;
    const db = openPostgres(url.toString());
    try {
      await migrateAll(db);
      const caller = { role: "authenticated" as const, claims: { sub: "cluster-test" } };
      // empty: the SQL sentence comes back as the error
      await assert.rejects(handler({}, { db, caller }), (e: unknown) => sqlState(e) === "22023" && /^no day-level data between/.test((e as Error).message));

      await loadDemo(db, { variant: "planted", seed: 1 });
      const res = await handler({ features: ["asset_volume", "is_monday", "commits"], maxLag: 2 }, { db, caller });
      const out = res.structuredContent as AnalyzeCorrelationsOutput;
      const sql = await db.query<{ feature: string; lag: number; n: number; pearson_r: number | null; pearson_q: number | null }>(
        "select feature, lag, n, pearson_r, pearson_q from analytics.correlate(features => array['asset_volume','is_monday','commits'], max_lag => 2) order by rank",
      );
      assert.deepEqual(out.results.map((r) => [r.feature, r.lag, r.n, r.pearson.r, r.q]), sql.map((e) => [e.feature, e.lag, e.n, e.pearson_r, e.pearson_q]));
      assert.deepEqual([out.results[0].feature, out.results[0].lag], ["asset_volume", 1]);
      const [{ n }] = await db.query<{ n: number }>("select count(*)::int as n from aoma.jira_issues");
      assert.equal(out.dataSources.tickets, n);
      assert.equal(out.dataSources.days, 90);
      assert.equal(out.chart?.vegaLite.$schema, "https://vega.github.io/schema/vega-lite/v6.json");
      assert.deepEqual(res.content.map((c: { type: string }) => c.type), ["text", "resource", "image"]);
    } finally {
      await db.close();
      await admin.query(`drop database if exists ${name}`);
      await admin.close();
    }
  },
});
