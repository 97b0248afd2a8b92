/**
 * Black-box test of the running MCP endpoint with the MCP Inspector CLI (a client we did not
 * write): the real server is started as a child process (tests/e2e/_server.ts), and the CLI
 * from tools/inspector (installed by scripts/install-test-tools.sh) lists and calls the tool
 * over Streamable HTTP with a bearer token.
 *
 * The Inspector speaks protocol revision 2025-11-25 only: inspector-cli (0.16.8 here, 1.0.3 the
 * newest) is built on the v1 SDK, whose newest release (1.32.2) knows revisions up to 2025-11-25,
 * always initializes and has no server/discover. One step records what it sends and fails once an
 * Inspector speaks 2026-07-28, so that this test is then extended to it (tests/e2e/CONFORMANCE.md,
 * "MCP Inspector CLI"). The 2026-07-28 revision is driven by tests/e2e/discover_test.ts and the
 * 0.2.0-alpha.12 conformance run.
 */
import assert from "node:assert/strict";
import { type ProxyExchange, startAuthProxy } from "./_auth_proxy.ts";
import { MCP_PATH, REPO_ROOT, type ServerProcess, startServerProcess } from "./_server.ts";
import { SERVER_URL, withScratchDatabase } from "../_engines.ts";

const INSPECTOR_BIN = `${REPO_ROOT}/tools/inspector/node_modules/.bin/mcp-inspector-cli`;
const CLI_TIMEOUT_MS = 180_000;
/**
 * The server's tool-call deadline here. These steps check the Inspector against real values, not the
 * deadline (tests/serving_core_test.ts does). The default build_predictive_model call takes ~30 s on
 * PGlite on a 2-core machine under load (31 s measured on 2026-12-03, before and after that day's
 * change), right at the 30 s default, which would make this step fail on timing alone.
 */
const E2E_CALL_DEADLINE_MS = 120_000;

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as the JSON result the CLI prints, or undefined when it printed none. */
  json: unknown;
}

/** Runs `node mcp-inspector-cli --cli <url> --transport http [...args]` and parses its JSON output. */
async function inspector(url: string, args: string[]): Promise<CliRun> {
  const out = await new Deno.Command("node", {
    args: [INSPECTOR_BIN, "--cli", url, "--transport", "http", ...args],
    cwd: REPO_ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(CLI_TIMEOUT_MS),
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  let json: unknown;
  const start = stdout.indexOf("{");
  if (start >= 0) {
    try {
      json = JSON.parse(stdout.slice(start));
    } catch { /* not JSON: left undefined, the assertions say so */ }
  }
  return { code: out.code, stdout, stderr, json };
}

// deno-lint-ignore no-explicit-any
type Json = any;

/** JSON text parsed, or undefined when it is not JSON. */
function parse(text: string): Json {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The Inspector's steps against one running server (PGlite or a Postgres scratch database). */
async function inspectorSteps(t: Deno.TestContext, server: ServerProcess): Promise<void> {
  const auth = ["--header", `Authorization: Bearer ${server.token}`];
  const debug = (run: CliRun) => `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}\n${server.output()}`;
  let defaultTarget: string | undefined;
  let topFeatures: string[] = [];
  await t.step("tools/list lists analyze_correlations with readOnlyHint", async () => {
    const run = await inspector(server.url, [...auth, "--method", "tools/list"]);
    assert.equal(run.code, 0, debug(run));
    const tools: Json[] = (run.json as Json)?.tools;
    assert.ok(Array.isArray(tools), `tools/list printed no tools array.\n${debug(run)}`);
    const tool = tools.find((x) => x.name === "analyze_correlations");
    assert.ok(tool, `analyze_correlations is not listed; got ${tools.map((x) => x.name).join(", ")}`);
    assert.equal(tool.annotations?.readOnlyHint, true);
    assert.ok(typeof tool.description === "string" && tool.description.length > 20, "tool has no real description");
    assert.equal(tool.inputSchema?.type, "object");
    for (const arg of ["targetVariable", "features", "maxLag", "timeRange", "aggregationLevel", "adjust", "includeChart"]) {
      assert.ok(arg in (tool.inputSchema.properties ?? {}), `inputSchema lacks the argument ${arg}`);
    }
    assert.deepEqual(tool.inputSchema.required ?? [], [], "every argument is optional");
  });

  await t.step("the Inspector speaks 2025-11-25 (initialize), not 2026-07-28: its v1 SDK has no newer revision", async () => {
    const seen: ProxyExchange[] = [];
    const proxy = await startAuthProxy(server.origin, { authorization: `Bearer ${server.token}` }, {
      onExchange: (x) => seen.push(x),
    });
    let run: CliRun;
    try {
      run = await inspector(`${proxy.origin}${MCP_PATH}`, ["--method", "tools/list"]);
    } finally {
      await proxy.close();
    }
    assert.equal(run.code, 0, debug(run));
    const bodies = seen.map((x) => ({ req: parse(x.requestBody), res: parse(x.responseBody), status: x.status }));
    const init = bodies.find((x) => x.req?.method === "initialize");
    assert.ok(init, `the Inspector sent no initialize; it sent ${bodies.map((x) => x.req?.method).join(", ")}`);
    assert.equal(init.status, 200);
    assert.equal(init.req.params?.protocolVersion, "2025-11-25", "the Inspector asks for another revision: extend this test");
    assert.equal(init.res?.result?.protocolVersion, "2025-11-25", "the server negotiated another revision with the Inspector");
    assert.ok(
      !bodies.some((x) => x.req?.method === "server/discover" || x.req?.params?._meta?.["io.modelcontextprotocol/protocolVersion"]),
      "the Inspector now speaks 2026-07-28 (server/discover or a _meta envelope): extend this test to that revision",
    );
  });

  await t.step("tools/call with no arguments returns real correlations", async () => {
    const run = await inspector(server.url, [...auth, "--method", "tools/call", "--tool-name", "analyze_correlations"]);
    assert.equal(run.code, 0, debug(run));
    const result: Json = run.json;
    assert.ok(result && !result.isError, `the call failed:\n${debug(run)}`);
    const sc = result.structuredContent;
    assert.ok(sc, "no structuredContent");
    assert.ok(typeof sc.target === "string" && sc.target.length > 0, "no target variable");
    defaultTarget = sc.target;
    assert.ok(sc.dataSources?.tickets > 5000, `the demo data has more than 5000 tickets; got ${sc.dataSources?.tickets}`);
    assert.ok(Array.isArray(sc.results) && sc.results.length > 0, "no result rows");
    const top = sc.results[0];
    assert.equal(top.rank, 1, "results are ordered by rank");
    assert.ok(typeof top.feature === "string" && top.feature.length > 0, "top row has no feature name");
    assert.ok(top.feature !== sc.target, "the top feature is the target itself");
    assert.ok(typeof top.pearson?.r === "number" && Number.isFinite(top.pearson.r), `r is not a number: ${top.pearson?.r}`);
    assert.ok(top.pearson.r >= -1 && top.pearson.r <= 1, `r outside [-1, 1]: ${top.pearson.r}`);
    assert.ok(top.n >= 80, `the top row rests on at least 80 paired observations; got n = ${top.n}`);
    assert.ok(typeof top.lag === "number", "top row has no lag");
    topFeatures = sc.results.slice(0, 2).map((row: Json) => row.feature);
    // The text is written from the same numbers: the ticket count and the top r appear in it.
    const text: string = (result.content ?? []).filter((c: Json) => c.type === "text").map((c: Json) => c.text).join("\n");
    assert.ok(text.includes(sc.dataSources.tickets.toLocaleString("en-US")), `the text does not give the ticket count:\n${text}`);
    const r2 = Math.abs(top.pearson.r).toFixed(2);
    assert.match(text, new RegExp(`r = [-\u2212]?${r2.replace(".", "\\.")}`), `the text does not quote the top r (${r2})`);
  });

  await t.step("tools/call with typed arguments (array, integer, boolean) restricts the analysis", async () => {
    assert.equal(topFeatures.length, 2, "the no-argument call did not yield two features");
    const run = await inspector(server.url, [
      ...auth,
      "--method",
      "tools/call",
      "--tool-name",
      "analyze_correlations",
      "--tool-arg",
      `features=${JSON.stringify(topFeatures)}`,
      "maxLag=0",
      "includeChart=false",
    ]);
    assert.equal(run.code, 0, debug(run));
    const result: Json = run.json;
    assert.ok(result?.structuredContent && !result.isError, `the call failed:\n${debug(run)}`);
    const sc = result.structuredContent;
    assert.equal(sc.testsRun, 2, "two features at lag 0 are two tests");
    assert.deepEqual(sc.results.map((row: Json) => row.feature).sort(), [...topFeatures].sort());
    for (const row of sc.results) {
      assert.equal(row.lag, 0, `maxLag=0 yet ${row.feature} has lag ${row.lag}`);
      assert.ok(row.pearson.r >= -1 && row.pearson.r <= 1, `r outside [-1, 1]: ${row.pearson.r}`);
    }
    const types = (result.content ?? []).map((c: Json) => c.type);
    assert.ok(!types.includes("image"), `includeChart=false yet the result has an image: ${types}`);
  });

  await t.step("tools/call with an unknown variable is a tool error naming the valid ones", async () => {
    const run = await inspector(server.url, [
      ...auth,
      "--method",
      "tools/call",
      "--tool-name",
      "analyze_correlations",
      "--tool-arg",
      "targetVariable=no_such_variable",
    ]);
    assert.equal(run.code, 0, `a tool error is a result, not a protocol failure:\n${debug(run)}`);
    const result: Json = run.json;
    assert.equal(result?.isError, true, debug(run));
    const text: string = (result.content ?? []).map((c: Json) => c.text ?? "").join("\n");
    assert.match(text, /no_such_variable/, "the message quotes the bad value");
    assert.match(text, /valid|allowed|one of/i, "the message says what is allowed");
    assert.ok(defaultTarget, "the no-argument call did not run");
    for (const name of [defaultTarget, ...topFeatures]) {
      assert.ok(text.includes(name), `the list of valid variables lacks ${name}:\n${text}`);
    }
  });

  await t.step("build_predictive_model through the Inspector: the planted drivers, three days predicted", async () => {
    const run = await inspector(server.url, [
      ...auth, "--method", "tools/call", "--tool-name", "build_predictive_model",
      "--tool-arg", "predictionHorizon=3", "includeChart=false", `whatIf=${JSON.stringify({ is_monday: 1 })}`,
    ]);
    assert.equal(run.code, 0, debug(run));
    const result: Json = run.json;
    assert.ok(result?.structuredContent && !result.isError, `the call failed:\n${debug(run)}`);
    const sc = result.structuredContent;
    assert.equal(sc.target.name, "processing_failure_rate");
    assert.equal(sc.chosen, "glm");
    assert.equal(sc.beatsBaseline, true);
    const vol = sc.glm.terms.find((x: Json) => x.feature === "asset_volume" && x.lag === 1);
    assert.ok(vol && vol.ratioLow <= 3 && 3 <= vol.ratioHigh, `asset volume the day before ×3 (planted) inside ${vol?.ratioLow}–${vol?.ratioHigh}`);
    assert.deepEqual(sc.glm.excludedSegments.map((x: Json) => x.segment), ["360RA/legacy"]);
    assert.equal(sc.model.predictions.length, 3);
    for (const p of sc.model.predictions) assert.ok(p.low95 <= p.prediction && p.prediction <= p.high95 && ["LOW", "MEDIUM", "HIGH"].includes(p.risk));
    assert.ok(sc.whatIf.prediction > sc.meanValue, "a Monday is riskier than the average day");
    const text: string = (result.content ?? []).filter((c: Json) => c.type === "text").map((c: Json) => c.text).join("\n");
    assert.match(text, /^🔮 PREDICTIVE MODEL GENERATED/);
    assert.ok(!(result.content ?? []).some((c: Json) => c.type === "image"), "includeChart=false yet an image");
  });

  await t.step("without the Authorization header the CLI cannot connect (401)", async () => {
    const run = await inspector(server.url, ["--method", "tools/list"]);
    assert.ok(run.code !== 0, `the CLI succeeded without a token:\n${debug(run)}`);
    assert.match(run.stdout + run.stderr, /Failed to connect|Error POSTing/, debug(run));
    // The CLI does not print the status; the same first request (initialize) shows it.
    const res = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "e2e", version: "0" } },
      }),
    });
    await res.body?.cancel();
    assert.equal(res.status, 401);
    assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer .*resource_metadata="[^"]+"/);
  });

  await t.step("a token signed with another secret is refused", async () => {
    const [head, body] = server.token.split(".");
    const forged = `${head}.${body}.${"A".repeat(43)}`;
    const run = await inspector(server.url, ["--header", `Authorization: Bearer ${forged}`, "--method", "tools/list"]);
    assert.ok(run.code !== 0, `the CLI succeeded with a forged token:\n${debug(run)}`);
  });
}

/** Fails loudly when the Inspector is not installed (scripts/install-test-tools.sh) rather than skip. */
async function assertInstalled(): Promise<void> {
  const installed = await Deno.stat(INSPECTOR_BIN).then(() => true, () => false);
  assert.ok(installed, `Cannot find the Inspector CLI at ${INSPECTOR_BIN}: run bash scripts/install-test-tools.sh first.`);
}

Deno.test({
  name: "MCP Inspector CLI: list and call the tools on the running server (PGlite)",
  // the postgres pass of scripts/test.sh runs the server variant only; the PGlite pass this one
  ignore: !!SERVER_URL,
  async fn(t) {
    await assertInstalled();
    const server = await startServerProcess({ demo: "planted", callDeadlineMs: E2E_CALL_DEADLINE_MS });
    try {
      await inspectorSteps(t, server);
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "MCP Inspector CLI: list and call the tools on the running server (server, scratch database aoma_test_inspector)",
  ignore: !SERVER_URL,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await assertInstalled();
    await withScratchDatabase("aoma_test_inspector", async (_db, url) => {
      const server = await startServerProcess({ demo: "planted", dbUrl: url, callDeadlineMs: E2E_CALL_DEADLINE_MS });
      try {
        await inspectorSteps(t, server);
      } finally {
        await server.stop();
      }
    });
  },
});
