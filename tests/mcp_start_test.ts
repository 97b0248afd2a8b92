/**
 * `npm start` as a user runs it: a child process on a free port with a fresh PGlite folder loads the
 * demo, serves the gateway, prints the endpoint, a working token, client configurations and the
 * executive summary, and stops cleanly (exit 0) on Ctrl-C (SIGINT).
 */
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { clientConfigs } from "../src/cli/start.ts";
import { V8_FLAGS } from "../src/process/deno_child.ts";

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("clientConfigs: Claude Code, Cursor, Claude Desktop and Inspector with the token", () => {
  const text = clientConfigs("http://127.0.0.1:54321/functions/v1/mcp", "TOKEN");
  assert.ok(text.includes(
    'claude mcp add --transport http aoma http://127.0.0.1:54321/functions/v1/mcp --header "Authorization: Bearer TOKEN"',
  ));
  assert.ok(text.includes('"Authorization": "Bearer TOKEN"'));
  assert.ok(text.includes('"mcp-remote"'));
  assert.ok(text.includes("npx @modelcontextprotocol/inspector --cli http://127.0.0.1:54321/functions/v1/mcp --transport http"));
});

Deno.test({
  name: "npm start: demo, endpoint, token, summary, then a clean Ctrl-C",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "aoma-start-" });
    const port = freePort();
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `--v8-flags=${V8_FLAGS}`, "src/cli/start.ts", "--demo", "null", "--port", String(port)],
      cwd: new URL("../", import.meta.url),
      env: {
        AOMA_PGLITE_DIR: `${dir}/pglite`,
        AOMA_JWT_SECRET_FILE: `${dir}/jwt-secret`,
        AOMA_JWT_SECRET: "",
        SUPABASE_JWT_SECRET: "",
        AOMA_DB_URL: "",
        SUPABASE_DB_URL: "",
        DATABASE_URL: "",
        NO_COLOR: "1",
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let out = "";
    const reader = (async () => {
      const dec = new TextDecoder();
      for await (const chunk of child.stdout) out += dec.decode(chunk, { stream: true });
    })();
    const errText = new Response(child.stderr).text();
    try {
      const deadline = Date.now() + 240_000;
      while (!out.includes("Press Ctrl-C to stop.")) {
        assert.ok(Date.now() < deadline, `npm start did not get ready:\n${out}\n${await Promise.race([errText, "…"])}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      const url = `http://127.0.0.1:${port}/functions/v1/mcp`;
      assert.ok(out.includes("Loading the null demo quarter (seed 1)"), out);
      assert.ok(out.includes(`MCP endpoint (Streamable HTTP): ${url}`), out);
      assert.match(out, /No driver is statistically significant at q < 0\.05 over \d+ tests/);
      const token = /Bearer token[^\n]*\n {2}([\w-]+\.[\w-]+\.[\w-]+)\n/.exec(out)?.[1];
      assert.ok(token, "the printed token");
      assert.ok(out.includes(`--header "Authorization: Bearer ${token}"`));

      // the printed token works with the SDK client
      const client = new Client({ name: "start-test", version: "1" });
      await client.connect(new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: { Authorization: `Bearer ${token}` } },
      }));
      const res = await client.callTool({ name: "analyze_correlations", arguments: { includeChart: false } });
      assert.notEqual(res.isError, true);
      await client.close();
      assert.equal((await Deno.stat(`${dir}/jwt-secret`)).isFile, true, "the generated secret was kept for npm run token");

      child.kill("SIGINT");
      const status = await child.status;
      await reader;
      assert.equal(status.code, 0, `exit code; stderr: ${await errText}`);
      assert.ok(out.includes("Stopping: closing the server and the database"));
    } finally {
      try {
        child.kill("SIGKILL");
      } catch { /* already stopped */ }
      await child.status;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
