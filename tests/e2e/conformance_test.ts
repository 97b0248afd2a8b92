/**
 * Runs the official MCP conformance suite (server mode) against the real server, once per
 * protocol era, through a loopback proxy that adds the bearer token, and holds each run's outcome
 * to its section of the contract in tests/e2e/CONFORMANCE.md:
 *
 * - `pass` scenarios must have no failed check (warnings are fine);
 * - `not applicable` scenarios must still fail (else the row is stale); when the section also
 *   lists checks for such a scenario, exactly those checks must fail — every other check of the
 *   scenario is held like a `pass`;
 * - the section must list exactly the scenarios that ran.
 */
import assert from "node:assert/strict";
import { startAuthProxy } from "./_auth_proxy.ts";
import { MCP_PATH, startServerProcess } from "./_server.ts";

/** One pinned run of the suite. Bump `pkg` together with its section of CONFORMANCE.md. */
export interface ConformanceRun {
  /** The exact-pinned runner; its section of CONFORMANCE.md is headed by this string in backticks. */
  pkg: string;
  /** Runner arguments after `server --url URL -o DIR`. */
  args: string[];
  /** The protocol revision the run speaks on the wire. */
  revision: string;
}

/**
 * The two runs: 0.1.16 (its v1 SDK client initializes with 2025-11-25) and 0.2.0-alpha.12 at
 * 2026-07-28 (server/discover, per-request _meta). `--suite all` because the default *active*
 * suite leaves out the draft and pending 2026-07-28 scenarios (server-stateless, caching,
 * http-header-validation, input-required-*, json-schema-2020-12, …); at this revision `all` runs
 * every server scenario that `--requirements 2026-07-28` names, except the optional tasks extension.
 */
export const CONFORMANCE_RUNS: readonly ConformanceRun[] = [
  { pkg: "npm:@modelcontextprotocol/conformance@0.1.16", args: [], revision: "2025-11-25" },
  {
    pkg: "npm:@modelcontextprotocol/conformance@0.2.0-alpha.12",
    args: ["--suite", "all", "--spec-version", "2026-07-28"],
    revision: "2026-07-28",
  },
];

const SUITE_TIMEOUT_MS = 600_000;
const CONTRACT_PATH = new URL("./CONFORMANCE.md", import.meta.url).pathname;

type Expected = "pass" | "not applicable";

/** What the contract says of one scenario. */
export interface ScenarioContract {
  expected: Expected;
  /** For a `not applicable` scenario with check rows: the ids of exactly the checks that fail. */
  failingChecks?: Set<string>;
}

/** One check as written by the runner in `<out>/server-<scenario>-<timestamp>/checks.json`. */
interface Check {
  id: string;
  status: "SUCCESS" | "FAILURE" | "WARNING" | "INFO" | "SKIPPED" | string;
  errorMessage?: string;
}

/**
 * Reads the section of CONFORMANCE.md headed (`## …`) by `` `pkg` ``, up to the next `## `
 * heading: scenario rows "| `scenario` | pass / not applicable | reason |" and check rows
 * "| `scenario` | `check-id` | reason |" (a check expected to fail in a not-applicable scenario).
 */
export async function readContract(pkg: string, path = CONTRACT_PATH): Promise<Map<string, ScenarioContract>> {
  const lines = (await Deno.readTextFile(path)).split("\n");
  const start = lines.findIndex((l) => l.startsWith("## ") && l.includes(`\`${pkg}\``));
  if (start < 0) throw new Error(`CONFORMANCE.md has no section headed "## \`${pkg}\` …": add one with its table.`);
  const end = lines.findIndex((l, i) => i > start && l.startsWith("## "));
  const section = lines.slice(start + 1, end < 0 ? undefined : end);

  const contract = new Map<string, ScenarioContract>();
  const checkRows: [string, string][] = [];
  for (const line of section) {
    const check = line.match(/^\|\s*`([a-z0-9-]+)`\s*\|\s*`([A-Za-z0-9_.:-]+)`\s*\|/);
    if (check) {
      checkRows.push([check[1], check[2]]);
      continue;
    }
    const m = line.match(/^\|\s*`([a-z0-9-]+)`\s*\|\s*(pass|not applicable)\s*\|/);
    if (!m) continue;
    if (contract.has(m[1])) throw new Error(`CONFORMANCE.md (${pkg}) lists the scenario ${m[1]} twice.`);
    contract.set(m[1], { expected: m[2] as Expected });
  }
  if (contract.size === 0) throw new Error(`CONFORMANCE.md (${pkg}) has no scenario rows (| \`name\` | pass | reason |).`);
  for (const [scenario, id] of checkRows) {
    const entry = contract.get(scenario);
    if (entry?.expected !== "not applicable") {
      throw new Error(`CONFORMANCE.md (${pkg}) lists the failing check ${id} of ${scenario}, which is not a not-applicable scenario.`);
    }
    entry.failingChecks ??= new Set();
    if (entry.failingChecks.has(id)) throw new Error(`CONFORMANCE.md (${pkg}) lists the check ${id} of ${scenario} twice.`);
    entry.failingChecks.add(id);
  }
  return contract;
}

/** Runs the suite against `url`, saving results under `outDir`; returns the runner's output. */
async function runSuite(run: ConformanceRun, url: string, outDir: string): Promise<{ code: number; output: string }> {
  // Run from the empty temp folder with --no-config/--no-lock so the repo's deno.json/deno.lock stay untouched.
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-config", "--no-lock", run.pkg, "server", "--url", url, "-o", outDir, ...run.args],
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

for (const run of CONFORMANCE_RUNS) {
  Deno.test({
    name: `MCP conformance suite, ${run.revision} (${run.pkg}): every applicable scenario passes (contract: tests/e2e/CONFORMANCE.md)`,
    async fn(t) {
      const contract = await readContract(run.pkg);
      const server = await startServerProcess({ demo: "planted" });
      const outDir = await Deno.makeTempDir({ prefix: "aoma-conformance-" });
      let proxy: Awaited<ReturnType<typeof startAuthProxy>> | undefined;
      try {
        proxy = await startAuthProxy(server.origin, { authorization: `Bearer ${server.token}` });
        const ran = await runSuite(run, `${proxy.origin}${MCP_PATH}`, outDir);
        const results = await readResults(outDir);
        assert.ok(results.size > 0, `the conformance runner produced no results (exit ${ran.code}):\n${ran.output}`);

        await t.step("CONFORMANCE.md lists exactly the scenarios the suite ran", () => {
          const undocumented = [...results.keys()].filter((s) => !contract.has(s));
          const notRun = [...contract.keys()].filter((s) => !results.has(s));
          assert.deepEqual(
            { undocumented, notRun },
            { undocumented: [], notRun: [] },
            `update the ${run.pkg} section of tests/e2e/CONFORMANCE.md (undocumented: scenarios the suite ran; notRun: rows for scenarios it did not run)`,
          );
        });

        for (const [scenario, { expected, failingChecks }] of contract) {
          const checks = results.get(scenario);
          if (!checks) continue; // reported by the step above
          const failed = checks.filter((c) => c.status === "FAILURE");
          await t.step(`${scenario}: ${expected}`, () => {
            const detail = `checks: ${JSON.stringify(checks, null, 2)}\n${server.output(1500)}`;
            if (expected === "pass") {
              assert.deepEqual(
                failed.map((c) => `${c.id}: ${c.errorMessage ?? "(no message)"}`),
                [],
                `scenario ${scenario} failed; ${detail}`,
              );
            } else if (failingChecks) {
              const failedIds = new Set(failed.map((c) => c.id));
              assert.deepEqual(
                {
                  unexpectedFailures: failed.filter((c) => !failingChecks.has(c.id)).map((c) => `${c.id}: ${c.errorMessage ?? "(no message)"}`),
                  nowPassing: [...failingChecks].filter((id) => !failedIds.has(id)),
                },
                { unexpectedFailures: [], nowPassing: [] },
                `in ${scenario} exactly the checks listed in CONFORMANCE.md may fail (unexpectedFailures: a held check failed; ` +
                  `nowPassing: a listed check no longer fails — drop its row, or mark the scenario "pass"); ${detail}`,
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
}
