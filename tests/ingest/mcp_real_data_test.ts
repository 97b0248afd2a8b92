/**
 * After ingesting real data, analyze_correlations answers on it through MCP, exactly as on the demo:
 * the Apache Kafka and ZooKeeper Jira exports (../shared/data/jira-apache) with a failure rule that
 * makes Blocker bugs failures, and a real CloudWatch series (../shared/data/nab-aws) as metrics —
 * then the SDK client calls the tool over HTTP and the answer cites the ingested counts and the same
 * numbers analytics.correlate gives in SQL. The Blocker tickets are the failures, so the leakage guard
 * keeps them out of every ticket feature (no driver echoes the outcome), and the default call on ten
 * years of tickets answers with its correlations and the driver model (or a note), never an error.
 */
import assert from "node:assert/strict";
import { connectClient, testAuth, testDb } from "../mcp_fixture.ts";
import { startServer } from "../../src/server/gateway.ts";
import { APACHE_JIRA_DIR, ingestJiraCsv } from "../../src/ingest/jira_csv.ts";
import { ingestMetrics } from "../../src/ingest/metrics.ts";

const NAB = new URL("../../../shared/data/nab-aws/", import.meta.url);

Deno.test({
  name: "analyze_correlations over MCP on ingested real data (Apache Jira + NAB CloudWatch)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const db = await testDb(null);
    const server = await startServer({ db, port: 0, auth: testAuth() });
    try {
      await db.query(
        `insert into aoma.jira_failure_rules (rule_id, priorities, description)
         values ('blockers', '{Blocker}', 'Blocker bugs are failures')`,
      );
      const kafka = await ingestJiraCsv(db, new URL("kafka-jira-bug-fix-dataset.csv", APACHE_JIRA_DIR).pathname, {
        preset: "apache-bugfix",
      });
      const zk = await ingestJiraCsv(db, new URL("zookeeper-jira-bug-fix-dataset.csv", APACHE_JIRA_DIR).pathname, {
        preset: "apache-bugfix",
      });
      const metrics = await ingestMetrics(db, {
        path: new URL("elb_request_count_8c0756.csv", NAB).pathname,
        source: "nab-elb",
        valueColumn: "value",
        as: "asset_volume",
        round: true,
      });
      assert.equal(kafka.rejected + zk.rejected + metrics.rejected, 0);
      const [{ tickets, incidents, samples }] = await db.query<{ tickets: number; incidents: number; samples: number }>(
        `select (select count(*)::int from aoma.jira_issues) as tickets,
                (select count(*)::int from aoma.incidents where source = 'jira') as incidents,
                (select count(*)::int from aoma.aoma_system_metrics) as samples`,
      );
      assert.equal(tickets, kafka.tables.jira_issues.inserted + zk.tables.jira_issues.inserted);
      assert.ok(incidents > 100, `Blocker bugs became incidents (${incidents})`);

      const client = await connectClient(server.url, await server.token({ role: "authenticated" }));
      try {
        const args = { targetVariable: "failure_count", features: ["tickets_created", "tickets_resolved", "asset_volume"], maxLag: 1 };
        const res = await client.callTool({ name: "analyze_correlations", arguments: args });
        assert.notEqual(res.isError, true, JSON.stringify(res.content));
        // deno-lint-ignore no-explicit-any
        const s = res.structuredContent as any;
        assert.equal(s.dataSources.tickets, tickets);
        assert.equal(s.dataSources.incidents, incidents);
        assert.equal(s.dataSources.metricSamples, samples);
        assert.ok(s.dataSources.days > 3000, `the daily view spans the tickets' years (${s.dataSources.days} days)`);
        // the same numbers SQL gives
        const sql = await db.query<{ feature: string; lag: number; n: number; pearson_r: number | null; pearson_q: number | null }>(
          `select feature, lag, n, pearson_r, pearson_q
           from analytics.correlate('failure_count', array['tickets_created', 'tickets_resolved', 'asset_volume'], 1)
           order by rank`,
        );
        assert.deepEqual(
          // deno-lint-ignore no-explicit-any
          s.results.map((r: any) => [r.feature, r.lag, r.n, r.pearson.r, r.q]),
          sql.map((r) => [r.feature, r.lag, r.n, r.pearson_r, r.pearson_q]),
        );
        // the leakage guard: the Blocker tickets are the failures, so no driver feature counts them —
        // before it, "tickets created the same day" led with r = 0.43 and high-priority tickets with 0.83,
        // both counting the very tickets that are the failures
        const [counted] = await db.query<{ high: number; expected: number; created: number; expected_created: number }>(
          `select (select sum(tickets_priority_high)::int from analytics.features_daily) as high,
                  (select count(*)::int from aoma.jira_issues j
                    where priority in ('Highest', 'High', 'Blocker', 'Critical') and issue_type <> 'Incident'
                      and not exists (select from aoma.incidents i where i.jira_key = j.issue_key)) as expected,
                  (select sum(tickets_created)::int from analytics.features_daily) as created,
                  (select count(*)::int from aoma.jira_issues j where issue_type <> 'Incident'
                      and not exists (select from aoma.incidents i where i.jira_key = j.issue_key)) as expected_created`,
        );
        assert.equal(counted.high, counted.expected, "high-priority tickets exclude the failure tickets");
        assert.equal(counted.created, counted.expected_created, "tickets created exclude the failure tickets");
        for (const r of s.results) {
          assert.ok(Math.abs(r.pearson.r ?? 0) < 0.3, `no ticket feature echoes the failures: ${r.feature}@${r.lag} r = ${r.pearson.r}`);
        }
      } finally {
        await client.close();
      }

      // the default call on ten years of real tickets: correlations, and the driver model or a note — never an error
      const client2 = await connectClient(server.url, await server.token({ role: "authenticated" }));
      try {
        const res = await client2.callTool({ name: "analyze_correlations", arguments: { targetVariable: "failure_count" } });
        assert.notEqual(res.isError, true, JSON.stringify(res.content));
        // deno-lint-ignore no-explicit-any
        const s = res.structuredContent as any;
        // every count feature is tested over the whole history (averages of empty days are unknown, so their n is smaller)
        const ticketTests = s.results.filter((r: { feature: string }) => r.feature.startsWith("tickets_"));
        assert.ok(
          s.results.length > 10 && ticketTests.length > 5 && ticketTests.every((r: { n: number }) => r.n > 3000),
          JSON.stringify(ticketTests.map((r: { n: number }) => r.n)),
        );
        assert.ok(
          s.drivers.length > 0 || s.notes.some((n: string) => n.startsWith("No driver model")),
          JSON.stringify(s.notes),
        );
        for (const d of s.drivers) {
          assert.ok(!(d.inModel && /^tickets_/.test(d.feature) && d.rateRatio > 3), `a ticket step echoing the failures: ${JSON.stringify(d)}`);
        }
        // deno-lint-ignore no-explicit-any
        const text = (res.content as any[]).find((c) => c.type === "text").text as string;
        assert.match(text, new RegExp(`Based on ${tickets.toLocaleString("en-US")} Jira tickets`));
      } finally {
        await client2.close();
      }
    } finally {
      await server.close();
      await db.close();
    }
  },
});
