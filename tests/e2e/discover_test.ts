/**
 * Raw HTTP against the running server (tests/e2e/_server.ts) on protocol revision 2026-07-28:
 * server/discover with the per-request `_meta` envelope and the MCP-Protocol-Version / Mcp-Method /
 * Mcp-Name headers, then tools/list and tools/call, next to a 2025-11-25 client (initialize, no
 * envelope) at the same URL — no SDK on the client side, so the bytes on the wire are the ones
 * written here. The conformance suite holds the same endpoint to the spec (tests/e2e/CONFORMANCE.md);
 * tests/serving_core_test.ts drives it with the v2 SDK client in-process.
 */
import assert from "node:assert/strict";
import { startServerProcess } from "./_server.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const MODERN = "2026-07-28";
const LEGACY = "2025-11-25";

/** The per-request envelope a 2026-07-28 client sends in `params._meta`. */
const META = {
  "io.modelcontextprotocol/protocolVersion": MODERN,
  "io.modelcontextprotocol/clientCapabilities": {},
  "io.modelcontextprotocol/clientInfo": { name: "aoma-e2e-raw", version: "0" },
};

interface Exchange {
  status: number;
  headers: Headers;
  body: Json;
}

async function post(url: string, body: unknown, headers: Record<string, string>): Promise<Exchange> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(120_000),
  });
  const text = await res.text();
  let parsed: Json = text;
  try {
    parsed = JSON.parse(text);
  } catch { /* left as text: the assertions show it */ }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** A 2026-07-28 request: `_meta` in params, the revision and method (and tool name) in headers. */
function modern(url: string, token: string | null, id: number, method: string, params: Json = {}): Promise<Exchange> {
  const headers: Record<string, string> = { "mcp-protocol-version": MODERN, "mcp-method": method };
  if (typeof params.name === "string") headers["mcp-name"] = params.name;
  if (token) headers.authorization = `Bearer ${token}`;
  return post(url, { jsonrpc: "2.0", id, method, params: { ...params, _meta: META } }, headers);
}

/** A 2025-11-25 request: no envelope (stateless, so tools/call needs no initialize first). */
function legacy(url: string, token: string, id: number, method: string, params: Json = {}): Promise<Exchange> {
  return post(url, { jsonrpc: "2.0", id, method, params }, { "mcp-protocol-version": LEGACY, authorization: `Bearer ${token}` });
}

Deno.test({
  name: "2026-07-28 over raw HTTP: server/discover, tools/list and tools/call, next to a 2025-11-25 client at the same URL",
  async fn(t) {
    const server = await startServerProcess({ demo: "planted" });
    const show = (x: Exchange) => `HTTP ${x.status}\n${JSON.stringify(x.body, null, 2).slice(0, 3000)}\n${server.output(1500)}`;
    const args = { features: ["asset_volume", "is_monday"], maxLag: 0, includeChart: false };
    try {
      await t.step("server/discover: the revision, tools only, who the server is", async () => {
        const res = await modern(server.url, server.token, 1, "server/discover");
        assert.equal(res.status, 200, show(res));
        assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
        assert.equal(res.body.id, 1);
        const r = res.body.result;
        assert.ok(r, show(res));
        assert.deepEqual(r.supportedVersions, [MODERN], "the modern handler serves 2026-07-28 (2025-era clients initialize instead)");
        assert.deepEqual(r.capabilities, { tools: { listChanged: false } });
        assert.equal(r.resultType, "complete");
        assert.equal(r._meta?.["io.modelcontextprotocol/serverInfo"]?.name, "aoma-mesh-analytics");
        assert.match(r.instructions ?? "", /analyze_correlations/);
      });

      await t.step("server/discover without a token: 401 with the protected-resource metadata, before any protocol step", async () => {
        const res = await modern(server.url, null, 2, "server/discover");
        assert.equal(res.status, 401, show(res));
        assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer .*resource_metadata="[^"]+"/);
      });

      await t.step("the 2026-07-28 envelope and headers are enforced: no _meta, header mismatch, unknown revision, initialize", async () => {
        const noMeta = await post(server.url, { jsonrpc: "2.0", id: 3, method: "tools/list", params: {} }, {
          "mcp-protocol-version": MODERN,
          "mcp-method": "tools/list",
          authorization: `Bearer ${server.token}`,
        });
        assert.equal(noMeta.status, 400, show(noMeta));
        assert.equal(noMeta.body.error?.code, -32602, show(noMeta));
        assert.equal(noMeta.body.id, 3);

        const mismatch = await post(server.url, { jsonrpc: "2.0", id: 4, method: "server/discover", params: { _meta: META } }, {
          "mcp-protocol-version": MODERN,
          "mcp-method": "tools/list",
          authorization: `Bearer ${server.token}`,
        });
        assert.equal(mismatch.status, 400, show(mismatch));
        assert.equal(mismatch.body.error?.code, -32020, show(mismatch));

        const future = await post(server.url, {
          jsonrpc: "2.0",
          id: 5,
          method: "server/discover",
          params: { _meta: { ...META, "io.modelcontextprotocol/protocolVersion": "2099-01-01" } },
        }, { "mcp-protocol-version": "2099-01-01", "mcp-method": "server/discover", authorization: `Bearer ${server.token}` });
        assert.equal(future.status, 400, show(future));
        assert.ok(future.body.error?.data?.supported?.includes(MODERN), `the refusal lists the supported revisions\n${show(future)}`);

        const init = await modern(server.url, server.token, 6, "initialize");
        assert.equal(init.status, 404, `initialize is removed in 2026-07-28\n${show(init)}`);
        assert.equal(init.body.error?.code, -32601);
      });

      let modernResult: Json;
      await t.step("tools/list and tools/call on 2026-07-28 (Mcp-Name names the tool)", async () => {
        const list = await modern(server.url, server.token, 7, "tools/list");
        assert.equal(list.status, 200, show(list));
        const tools: Json[] = list.body.result?.tools ?? [];
        assert.deepEqual(tools.map((x) => x.name), [
          "analyze_correlations", "generate_forecasts", "build_predictive_model", "perform_root_cause_analysis", "create_anomaly_detection",
          "analyze_failure_patterns",
        ], show(list));
        assert.equal(tools[0].inputSchema?.type, "object");
        assert.equal(list.body.result.ttlMs, 300_000, `tools/list ttlMs\n${show(list)}`);
        assert.equal(list.body.result.cacheScope, "public", `tools/list cacheScope\n${show(list)}`);
        assert.ok(["public", "private"].includes(list.body.result.cacheScope), `tools/list has no cacheScope\n${show(list)}`);

        const call = await modern(server.url, server.token, 8, "tools/call", { name: "analyze_correlations", arguments: args });
        assert.equal(call.status, 200, show(call));
        modernResult = call.body.result;
        assert.ok(modernResult && modernResult.isError !== true, show(call));
        assert.equal(modernResult.resultType, "complete");
        assert.deepEqual(modernResult.structuredContent.results.map((row: Json) => row.feature).sort(), [...args.features].sort());
        for (const row of modernResult.structuredContent.results) assert.equal(row.lag, 0);

        const mismatch = await post(server.url, {
          jsonrpc: "2.0",
          id: 9,
          method: "tools/call",
          params: { name: "analyze_correlations", arguments: args, _meta: META },
        }, { "mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": "another_tool", authorization: `Bearer ${server.token}` });
        assert.equal(mismatch.status, 400, show(mismatch));
        assert.equal(mismatch.body.error?.code, -32020, show(mismatch));
      });

      await t.step("a 2025-11-25 client at the same URL: initialize, then the same answer", async () => {
        const init = await legacy(server.url, server.token, 10, "initialize", {
          protocolVersion: LEGACY,
          capabilities: {},
          clientInfo: { name: "aoma-e2e-raw", version: "0" },
        });
        assert.equal(init.status, 200, show(init));
        assert.equal(init.body.result?.protocolVersion, LEGACY, show(init));
        assert.equal(init.body.result?.serverInfo?.name, "aoma-mesh-analytics");
        assert.deepEqual(init.body.result?.capabilities, { tools: { listChanged: false } });

        assert.ok(modernResult, "the 2026-07-28 call did not run");
        const call = await legacy(server.url, server.token, 11, "tools/call", { name: "analyze_correlations", arguments: args });
        assert.equal(call.status, 200, show(call));
        assert.deepEqual(call.body.result?.structuredContent, modernResult.structuredContent, "both eras get the same numbers");
      });
    } finally {
      await server.stop();
    }
  },
});
