/**
 * Runs the official MCP conformance suite (server mode) against the real server, through a
 * loopback proxy that adds the bearer token, and holds the outcome to the contract in
 * tests/e2e/CONFORMANCE.md: `pass` scenarios must have no failed check, `not applicable` ones must
 * still fail (else the table is stale), and the table must list exactly the scenarios that ran.
 */
import assert from "node:assert/strict";
import { startAuthProxy } from "./_auth_proxy.ts";
import { MCP_PATH, startServerProcess } from "./_server.ts";

/** The pinned suite. Bump it together with CONFORMANCE.md. */
export const CONFORMANCE_PACKAGE = "npm:@modelcontextprotocol/conformance@0.1.16";
const SUITE_TIMEOUT_MS = 600_000;
const CONTRACT_PATH = new URL("./CONFORMANCE.md", import.meta.url).pathname;

type Expected = "pass" | "not applicable";

/** One check as written by the runner in `<out>/server-<scenario>-<timestamp>/checks.json`. */
interface Check {
  id: string;
  status: "SUCCESS" | "FAILURE" | "WARNING" | "INFO" | string;
  errorMessage?: string;
}

/** Reads the table rows "| `scenario` | pass / not applicable | reason |" of CONFORMANCE.md. */
export async function readContract(path = CONTRACT_PATH): Promise<Map<string, Expected>> {
  const contract = new Map<string, Expected>();
  for (const line of (await Deno.readTextFile(path)).split("\n")) {
    const m = line.match(/^\|\s*`([a-z0-9-]+)`\s*\|\s*(pass|not applicable)\s*\|/);
    if (!m) continue;
    if (contract.has(m[1])) throw new Error(`CONFORMANCE.md lists the scenario ${m[1]} twice.`);
    contract.set(m[1], m[2] as Expected);
  }
  if (contract.size === 0) throw new Error(`CONFORMANCE.md has no scenario rows (| \`name\` | pass | reason |).`);
  return contract;
}

/** Runs the active server suite against `url`, saving results under `outDir`; returns the runner's output. */
async function runSuite(url: string, outDir: string): Promise<{ code: number; output: string }> {
  // Run from the empty temp folder with --no-config/--no-lock so the repo's deno.json/deno.lock stay untouched.
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-config", "--no-lock", CONFORMANCE_PACKAGE, "server", "--url", url, "-o", outDir],
    cwd: outDir,
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(SUITE_TIMEOUT_MS),
  }).output();
  const td = new TextDecoder();
  return { code: out.code, output: td.decode(out.stdout) + td.decode(out.stderr) };
}

/** Collects the checks of each scenario from the runner's result folders. */
async function readResults(outDir: string): Promise<Map<string, Check[]>> {
  const results = new Map<string, Check[]>();
  for await (const entry of Deno.readDir(outDir)) {
    const m = entry.isDirectory && entry.name.match(/^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/);
    if (!m) continue;
    let checks: Check[];
    try {
      checks = JSON.parse(await Deno.readTextFile(`${outDir}/${entry.name}/checks.json`));
    } catch (e) {
      checks = [{ id: m[1], status: "FAILURE", errorMessage: `no readable checks.json: ${(e as Error).message}` }];
    }
    results.set(m[1], checks);
  }
  return results;
}

Deno.test({
  name: "MCP conformance suite: every applicable scenario passes (contract: tests/e2e/CONFORMANCE.md)",
  async fn(t) {
    const contract = await readContract();
    const server = await startServerProcess({ demo: "planted" });
    const outDir = await Deno.makeTempDir({ prefix: "aoma-conformance-" });
    let proxy: Awaited<ReturnType<typeof startAuthProxy>> | undefined;
    try {
      proxy = await startAuthProxy(server.origin, { authorization: `Bearer ${server.token}` });
      const run = await runSuite(`${proxy.origin}${MCP_PATH}`, outDir);
      const results = await readResults(outDir);
      assert.ok(results.size > 0, `the conformance runner produced no results (exit ${run.code}):\n${run.output}`);

      await t.step("CONFORMANCE.md lists exactly the scenarios the suite ran", () => {
        const undocumented = [...results.keys()].filter((s) => !contract.has(s));
        const notRun = [...contract.keys()].filter((s) => !results.has(s));
        assert.deepEqual(
          { undocumented, notRun },
          { undocumented: [], notRun: [] },
          "update tests/e2e/CONFORMANCE.md (undocumented: scenarios the suite ran; notRun: rows for scenarios it did not run)",
        );
      });

      for (const [scenario, expected] of contract) {
        const checks = results.get(scenario);
        if (!checks) continue; // reported by the step above
        const failed = checks.filter((c) => c.status === "FAILURE");
        await t.step(`${scenario}: ${expected}`, () => {
          if (expected === "pass") {
            assert.deepEqual(
              failed.map((c) => `${c.id}: ${c.errorMessage ?? "(no message)"}`),
              [],
              `scenario ${scenario} failed; checks: ${JSON.stringify(checks, null, 2)}\n${server.output(1500)}`,
            );
          } else {
            assert.ok(
              failed.length > 0,
              `scenario ${scenario} is documented as not applicable but now passes: mark it "pass" in CONFORMANCE.md`,
            );
          }
        });
      }
    } finally {
      await proxy?.close();
      await server.stop();
      await Deno.remove(outDir, { recursive: true }).catch(() => {});
    }
  },
});
