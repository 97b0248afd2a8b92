/**
 * The `aoma` CLI (src/cli/aoma.ts) run as a subprocess, as `npm run aoma` runs it: help, bad usage
 * (exit 2, one line), a real ingest into an embedded PGlite folder (AOMA_PGLITE_DIR in a temp dir)
 * with its printed summary and an idempotent second run, the refusal while another process holds
 * the folder, and --via-function through a gateway started here (rows arrive; a non-service token
 * is refused with the server's sentence).
 */
import assert from "node:assert/strict";
import { migrateAll } from "../../src/db/migrate.ts";
import { openPglite } from "../../src/db/pglite.ts";
import { lockPath } from "../../src/cli/server_lock.ts";
import { projectUrl, parseArgs, redact } from "../../src/cli/aoma.ts";
import { createProgress, formatDuration } from "../../src/ingest/progress.ts";
import { startServer } from "../../src/server/gateway.ts";
import { testAuth } from "../mcp_fixture.ts";
import { aoma } from "./_cli.ts";

const METRICS_CSV = [
  "timestamp,asset_volume,processing_time,error_count,performance_score",
  "2026-03-02T00:00:00Z,1200,3.5,4,91.5",
  "2026-03-02T01:00:00Z,980,2.75,1,95",
  "2026-03-02T02:00:00Z,-5,2.0,0,97", // negative volume → rejected
  "2026-03-02T03:00:00Z,1410,4.25,9,88.25",
].join("\n") + "\n";

Deno.test("aoma --help, ingest --help and each source's help: usage, every option, an example; exit 0", async () => {
  const top = await aoma(["--help"]);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /^Usage: npm run aoma -- ingest <source> \[options\]/);
  for (const s of ["git", "jira", "logs", "metrics", "attempts"]) assert.match(top.stdout, new RegExp(`^  ${s} `, "m"));
  assert.doesNotMatch(top.stdout, /not available yet/);
  const metrics = await aoma(["ingest", "metrics", "--help"]);
  assert.equal(metrics.code, 0);
  assert.match(metrics.stdout, /^Usage: npm run aoma -- ingest metrics FILE \[options\]/);
  for (const opt of ["--source NAME", "--value-column NAME", "--as METRIC", "--column METRIC=INPUT", "--db-url URL", "--via-function URL", "--token JWT"]) {
    assert.ok(metrics.stdout.includes(opt), opt);
  }
  assert.ok(metrics.stdout.includes("\nExamples:\n  npm run aoma -- ingest metrics "));
  const git = await aoma(["ingest", "git", "--help"]);
  assert.match(git.stdout, /--merge-deployments/);
});

Deno.test("aoma: bad usage → exit 2 with one line on stderr, nothing on stdout", async () => {
  const cases: [string[], string][] = [
    [["ingest", "metrics", "x.csv", "--bogus"], 'aoma: unknown option "--bogus" (see --help)'],
    [["ingest", "tickets"], 'aoma: unknown source "tickets": use one of git, jira, logs, metrics, attempts (see --help)'],
    [["ingest", "metrics"], "aoma: aoma ingest metrics needs exactly one FILE (see --help)"],
    [["ingest", "metrics", "x.csv", "--as", "speed", "--value-column", "v"], 'aoma: --as must be one of asset_volume, processing_time, error_count, performance_score; got "speed" (see --help)'],
    [["ingest", "jira"], "aoma: aoma ingest jira needs exactly one of --csv FILE or --jql JQL (see --help)"],
    [["ingest", "metrics", "x.csv", "--batch-size", "0"], 'aoma: --batch-size must be a whole number ≥ 1; got "0" (see --help)'],
    [["ingest", "metrics", "x.csv", "--via-function", "http://127.0.0.1:1"], "aoma: --via-function needs a service-role token: --token JWT or AOMA_SERVICE_TOKEN (npm run -s token -- --role service_role) (see --help)"],
  ];
  for (const [args, line] of cases) {
    const r = await aoma(args);
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, `${line}\n`);
  }
  // a failure that is not usage: exit 1, one line, no stack
  const missing = await aoma(["ingest", "metrics", "/nonexistent/metrics.csv"], { AOMA_PGLITE_DIR: await Deno.makeTempDir() });
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr.trim().split("\n").length, 1);
  assert.equal(missing.stderr, "aoma: Cannot read /nonexistent/metrics.csv: no such file\n");
  assert.doesNotMatch(missing.stderr, /\bat .*\.ts:\d+/);
});

Deno.test("aoma ingest metrics into the embedded database: summary printed, rows stored, second run unchanged; refused while held", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/metrics.csv`;
  await Deno.writeTextFile(file, METRICS_CSV);
  const env = { AOMA_PGLITE_DIR: `${dir}/pglite` };
  const first = await aoma(["ingest", "metrics", file, "--source", "cli-test"], env);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(
    first.stdout,
    [
      "metrics: read 4; inserted 3, updated 0, unchanged 0, rejected 1",
      "  aoma_system_metrics: inserted 3, updated 0, unchanged 0",
      "  rejected line 4: negative asset_volume -5 in asset_volume; allowed: 0 or more",
      "",
    ].join("\n"),
  );
  assert.match(first.stderr, /metrics .*metrics\.csv: 3 rows in \d+:\d\d/);
  const second = await aoma(["ingest", "metrics", file, "--source", "cli-test", "--quiet"], env);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /^metrics: read 4; inserted 0, updated 0, unchanged 3, rejected 1$/m);
  assert.equal(second.stderr, "");

  const db = await openPglite(`${dir}/pglite`);
  try {
    const rows = await db.query<Record<string, unknown>>(
      `select to_char("timestamp" at time zone 'UTC', 'HH24:MI') as t, asset_volume, processing_time, error_count, performance_score
         from aoma.aoma_system_metrics where source = 'cli-test' order by 1`,
    );
    assert.deepEqual(rows, [
      { t: "00:00", asset_volume: 1200, processing_time: 3.5, error_count: 4, performance_score: 91.5 },
      { t: "01:00", asset_volume: 980, processing_time: 2.75, error_count: 1, performance_score: 95 },
      { t: "03:00", asset_volume: 1410, processing_time: 4.25, error_count: 9, performance_score: 88.25 },
    ]);
  } finally {
    await db.close();
  }
  assert.equal(await Deno.stat(lockPath(`${dir}/pglite`)).then(() => true, () => false), false, "the CLI removed its lock");

  // another live process holds the folder (as npm start does): refused, nothing opened
  await Deno.writeTextFile(lockPath(`${dir}/pglite`), JSON.stringify({ pid: Deno.pid, url: "http://127.0.0.1:54399" }));
  const held = await aoma(["ingest", "metrics", file, "--source", "cli-test"], env);
  assert.equal(held.code, 1);
  assert.equal(
    held.stderr.trim().split("\n").at(-1),
    `aoma: Cannot open the embedded database ${dir}/pglite: process ${Deno.pid} (http://127.0.0.1:54399) is using it and PGlite is single-process; ` +
      "stop npm start, or use --via-function http://127.0.0.1:54399",
  );
  // a lock left by a process that is gone is ignored
  await Deno.writeTextFile(lockPath(`${dir}/pglite`), JSON.stringify({ pid: 2 ** 22 + 7, url: "http://127.0.0.1:54399" }));
  const stale = await aoma(["ingest", "metrics", file, "--source", "cli-test", "--quiet"], env);
  assert.equal(stale.code, 0, stale.stderr);
});

Deno.test("aoma ingest --via-function: metrics and a Jira CSV arrive through the ingest function; a non-service token is refused", async () => {
  const db = await openPglite();
  await migrateAll(db);
  const srv = await startServer({ db, auth: testAuth(), port: 0 });
  try {
    const dir = await Deno.makeTempDir();
    const file = `${dir}/metrics.csv`;
    await Deno.writeTextFile(file, METRICS_CSV);
    const token = await srv.token({ role: "service_role" });
    const r = await aoma(["ingest", "metrics", file, "--source", "via-fn", "--via-function", srv.baseUrl, "--records-per-request", "2", "--quiet"], {
      AOMA_SERVICE_TOKEN: token,
      AOMA_PGLITE_DIR: `${dir}/never-opened`,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^metrics: read 4; inserted 3, updated 0, unchanged 0, rejected 1$/m);
    assert.match(r.stdout, /rejected line 4: negative asset_volume/);
    assert.match(r.stdout, new RegExp(`note: sent 3 records through ${srv.baseUrl}/functions/v1/ingest`));
    assert.ok(!r.stdout.includes(token) && !r.stderr.includes(token));
    const [m] = await db.query<{ n: number; v: number }>(
      "select count(*)::int as n, sum(asset_volume)::int as v from aoma.aoma_system_metrics where source = 'via-fn'",
    );
    assert.deepEqual(m, { n: 3, v: 3590 });
    const runs = await db.query<{ refreshed: boolean }>(
      "select not (summary->'notes' @> '[\"feature views not refreshed: run `select * from analytics.refresh_features()`\"]') as refreshed from aoma.ingest_runs where source = 'metrics' order by started_at",
    );
    assert.deepEqual(runs.map((x) => x.refreshed), [false, true], "two requests; only the last refreshes the features");
    assert.equal(await Deno.stat(`${dir}/never-opened`).then(() => true, () => false), false, "no local database opened");

    const jira = new URL("./testdata/jira/export_comma.csv", import.meta.url).pathname;
    const j = await aoma(["ingest", "jira", "--csv", jira, "--via-function", `${srv.baseUrl}/functions/v1/ingest`, "--token", token, "--quiet"]);
    assert.equal(j.code, 0, j.stderr);
    assert.match(j.stdout, /^jira: read 7; inserted 5, updated 0, unchanged 0, rejected 3$/m);
    const [t] = await db.query<{ n: number }>("select count(*)::int as n from aoma.jira_issues");
    assert.equal(t.n, 4);

    // the project's own repository, read locally with git and sent in batches of 5 commits
    const root = new URL("../../", import.meta.url).pathname;
    const g = await aoma(["ingest", "git", root, "--name", "self", "--via-function", srv.baseUrl, "--token", token, "--records-per-request", "5", "--quiet"]);
    assert.equal(g.code, 0, g.stderr);
    const count = await new Deno.Command("git", { args: ["-C", root, "rev-list", "--count", "HEAD"], stdout: "piped" }).output();
    const commits = Number(new TextDecoder().decode(count.stdout).trim());
    assert.match(g.stdout, new RegExp(`^git: read ${commits.toLocaleString("en-US")}; inserted ${(commits + 1).toLocaleString("en-US")}, `, "m"));
    const [c] = await db.query<{ n: number }>("select count(*)::int as n from aoma.git_commits where repo = 'self'");
    assert.equal(c.n, commits);

    const analyst = await srv.token({ role: "authenticated" });
    const refused = await aoma(["ingest", "metrics", file, "--via-function", srv.baseUrl, "--token", analyst, "--quiet"]);
    assert.equal(refused.code, 1);
    assert.equal(
      refused.stderr,
      'aoma: The ingest function refused the batch (HTTP 403): Cannot ingest with a token of role "authenticated": ingesting needs role service_role (npm run -s token -- --role service_role)\n',
    );
  } finally {
    await srv.close();
    await db.close();
  }
});

Deno.test("aoma helpers: argument parsing, project URL, redaction", () => {
  assert.deepEqual(
    parseArgs(["a.csv", "--column", "x=1", "--column=y=2", "--round"], { column: { value: "C", help: "" }, round: { help: "" } }),
    { flags: { column: ["x=1", "y=2"], round: ["true"] }, positional: ["a.csv"] },
  );
  assert.equal(projectUrl("http://127.0.0.1:54321/functions/v1/ingest/"), "http://127.0.0.1:54321");
  assert.equal(projectUrl("https://abc.supabase.co"), "https://abc.supabase.co");
  assert.throws(() => projectUrl("ftp://x"), /must be an http\(s\) URL/);
  assert.equal(
    redact("cannot connect to postgres://svc:hunter22@db:5432/x with eyJabc.def", ["eyJabc.def"]),
    "cannot connect to postgres://svc:***@db:5432/x with ***",
  );
});

/** A fake stderr that records what is written. */
function fakeStream(tty: boolean) {
  const chunks: string[] = [];
  return {
    chunks,
    stream: {
      isTerminal: () => tty,
      writeSync(b: Uint8Array) {
        chunks.push(new TextDecoder().decode(b));
        return b.length;
      },
    },
  };
}

Deno.test("progress: a \\r-redrawn bar with rate and ETA on a terminal; periodic plain lines otherwise", () => {
  let now = 0;
  const tty = fakeStream(true);
  const bar = createProgress("logs app.log", { stream: tty.stream, unit: "lines", now: () => now });
  bar.total(1000);
  now = 2000;
  bar.advance(250);
  now = 2050;
  bar.advance(10); // within the redraw interval: not drawn
  now = 4000;
  bar.advance(240);
  bar.done();
  assert.deepEqual(tty.chunks, [
    "\r[######------------------] 25%  logs app.log: 250/1,000 lines  125 lines/s  ETA 0:06",
    "\r[############------------] 50%  logs app.log: 500/1,000 lines  125 lines/s  ETA 0:04",
    "\r[############------------] 50%  logs app.log: 500/1,000 lines  125 lines/s  ETA 0:04",
    "\n",
  ]);

  now = 0;
  const pipe = fakeStream(false);
  const lines = createProgress("git api", { stream: pipe.stream, unit: "commits", intervalSeconds: 5, now: () => now });
  for (let t = 1; t <= 12; t++) {
    now = t * 1000;
    lines.advance(100);
  }
  lines.done();
  assert.deepEqual(pipe.chunks, [
    "git api: 500 commits  100 commits/s\n",
    "git api: 1,000 commits  100 commits/s\n",
    "git api: 1,200 commits in 0:12\n",
  ]);
  assert.equal(formatDuration(3725), "1:02:05");
});
