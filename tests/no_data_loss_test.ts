/**
 * Nothing real is ever overwritten (issue 8): each source ingested alone with the `aoma` CLI, then
 * `npm start` (src/cli/start.ts) and `npm start -- --demo planted` on the same database. The first
 * serves the ingested rows (no demo loaded: "empty" means no row in any source table), the second is
 * refused with a sentence saying how to run the demo in a database of its own; every ingested row is
 * still there, byte for byte. Then the other direction: a database holding the demo has it removed
 * (and says so) before an ingest stores real rows, so the two never share a database. On PGlite and,
 * with AOMA_TEST_DB_URL, on a scratch database of the server.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { openDb } from "../src/db/open.ts";
import { DEMO_TABLE_NAMES } from "../src/demo/generate.ts";
import type { Db } from "../src/db/types.ts";
import { aoma } from "./ingest/_cli.ts";
import { withDatabase } from "./_engines.ts";

const SERVER_URL = Deno.env.get("AOMA_TEST_DB_URL");
const ROOT = new URL("../", import.meta.url).pathname;
const DATA = new URL("./ingest/testdata/", import.meta.url).pathname;
// the nine source tables are the demo's tables
const SOURCE_TABLES = DEMO_TABLE_NAMES;

/** A small git repository of its own: three commits and a release tag. */
async function tinyRepo(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "aoma-noloss-git-" });
  const git = async (...args: string[]) => {
    const out = await new Deno.Command("git", {
      args: ["-C", dir, ...args],
      env: {
        GIT_AUTHOR_NAME: "Ada",
        GIT_AUTHOR_EMAIL: "ada@example.com",
        GIT_COMMITTER_NAME: "Ada",
        GIT_COMMITTER_EMAIL: "ada@example.com",
        GIT_AUTHOR_DATE: "2026-11-02T10:00:00Z",
        GIT_COMMITTER_DATE: "2026-11-02T10:00:00Z",
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  };
  await git("init", "-q", "-b", "main");
  for (const n of [1, 2, 3]) {
    await Deno.writeTextFile(`${dir}/file${n}.txt`, `line ${n}\n`);
    await git("add", ".");
    await git("commit", "-q", "-m", `commit ${n}`);
  }
  await git("tag", "v1.0.0");
  return dir;
}

/** The ingest command line of each source, alone. */
async function sources(): Promise<Record<string, string[]>> {
  return {
    jira: ["ingest", "jira", "--csv", `${DATA}jira/export_comma.csv`],
    git: ["ingest", "git", await tinyRepo(), "--name", "tiny"],
    logs: ["ingest", "logs", `${DATA}logs/app.jsonl`],
    metrics: ["ingest", "metrics", `${DATA}metrics/aoma_metrics.csv`],
    attempts: ["ingest", "attempts", `${DATA}metrics/attempts.csv`],
  };
}

/** Row count and an md5 of every row of every source table, as one comparable object. */
async function fingerprint(db: Db): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of SOURCE_TABLES) {
    const [r] = await db.query<{ n: number; h: string }>(
      `select count(*)::int as n, coalesce(md5(string_agg(x::text, '|' order by x::text)), '') as h from aoma.${t} as x`,
    );
    out[t] = `${r.n}:${r.h}`;
  }
  return out;
}

/** `npm start` with `args` until it serves (then Ctrl-C) or exits; its output and exit code. */
async function start(env: Record<string, string>, args: string[]): Promise<{ code: number; out: string }> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "src/cli/start.ts", "--port", String(port), ...args],
    cwd: ROOT,
    env: { AOMA_DB_URL: "", SUPABASE_DB_URL: "", DATABASE_URL: "", AOMA_JWT_SECRET: "test-secret-test-secret-test-secret-42", NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const dec = new TextDecoder();
  const read = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s) out += dec.decode(chunk, { stream: true });
  };
  const reading = Promise.all([read(child.stdout), read(child.stderr)]);
  let exited: Deno.CommandStatus | null = null;
  child.status.then((s) => exited = s);
  const deadline = Date.now() + 180_000;
  while (!exited && !out.includes("Press Ctrl-C to stop.")) {
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`npm start neither served nor exited:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  if (!exited) child.kill("SIGINT");
  const status = await child.status;
  await reading;
  return { code: status.code, out };
}

/**
 * Runs `check` against one engine: PGlite in a temp folder, or a scratch database on the server.
 * `open` opens the database for reading (PGlite is single-process: the CLI and npm start open the
 * folder themselves, so `close` must come before them).
 */
async function onEngine(
  engine: "pglite" | "server",
  name: string,
  check: (env: Record<string, string>, open: () => Promise<Db>, close: () => Promise<void>) => Promise<void>,
): Promise<void> {
  let env: Record<string, string>;
  let cleanup: () => Promise<void>;
  if (engine === "pglite") {
    const dir = await Deno.makeTempDir({ prefix: `aoma-noloss-${name}-` });
    env = { AOMA_PGLITE_DIR: `${dir}/pglite` };
    cleanup = () => Deno.remove(dir, { recursive: true }).catch(() => {});
  } else {
    const admin = postgres(SERVER_URL!, { max: 1, onnotice: () => {} });
    const db = `aoma_test_noloss_${name}`;
    await admin.unsafe(`drop database if exists ${db} with (force)`);
    await admin.unsafe(`create database ${db}`);
    env = { AOMA_DB_URL: withDatabase(SERVER_URL!, db) };
    const mig = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", "scripts/db.ts", "all", "--url", env.AOMA_DB_URL], cwd: ROOT })
      .output();
    assert.ok(mig.success, new TextDecoder().decode(mig.stderr));
    cleanup = async () => {
      await admin.unsafe(`drop database if exists ${db} with (force)`);
      await admin.end();
    };
  }
  let db: Db | null = null;
  const close = async () => {
    await db?.close();
    db = null;
  };
  const open = async () => db ??= engine === "pglite" ? await openDb({ pgliteDir: env.AOMA_PGLITE_DIR }) : await openDb({ url: env.AOMA_DB_URL });
  try {
    await check(env, open, close);
  } finally {
    await close();
    await cleanup();
  }
}

for (const engine of ["pglite", "server"] as const) {
  Deno.test({
    name: `no data loss (${engine}): each source alone survives npm start and npm start -- --demo planted`,
    ignore: engine === "server" && !SERVER_URL,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn(t) {
      for (const [source, args] of Object.entries(await sources())) {
        await t.step(source, async () => {
          await onEngine(engine, source, async (env, open, close) => {
            const ingest = await aoma([...args, "--quiet"], env);
            assert.equal(ingest.code, 0, `${source}: ${ingest.stderr}`);
            const before = await fingerprint(await open());
            assert.ok(Object.values(before).some((v) => !v.startsWith("0:")), `${source}: the ingest stored rows`);
            await close();

            const served = await start(env, []);
            assert.equal(served.code, 0, served.out);
            assert.ok(!served.out.includes("demo quarter"), `${source}: npm start loaded no demo:\n${served.out}`);
            assert.match(served.out, /Serving the ingested data \(rows in aoma\.\w+/);

            const demo = await start(env, ["--demo", "planted"]);
            assert.equal(demo.code, 1, demo.out);
            assert.match(
              demo.out,
              /Cannot load the demo quarter: this database holds ingested data \(rows in aoma\.\w+.*\), and the demo never shares a database with real data, so nothing was changed\. Run the demo in a database of its own: `AOMA_PGLITE_DIR=\.data\/demo npm start -- --demo planted`/,
            );
            assert.deepEqual(await fingerprint(await open()), before, `${source}: every ingested row is still there`);
          });
        });
      }

      await t.step("a demo database: the demo is removed (and said so) before an ingest stores real rows", async () => {
        await onEngine(engine, "demo", async (env, open, close) => {
          const served = await start(env, []);
          assert.equal(served.code, 0, served.out);
          assert.ok(served.out.includes("Loading the planted demo quarter (seed 1)"), served.out);
          const again = await start(env, ["--demo", "null"]);
          assert.equal(again.code, 0, again.out);
          assert.ok(again.out.includes("Loading the null demo quarter (seed 1)"), "a demo may replace a demo");
          const ingest = await aoma(["ingest", "metrics", `${DATA}metrics/aoma_metrics.csv`], env);
          assert.equal(ingest.code, 0, ingest.stderr);
          assert.match(
            ingest.stdout,
            /removed the demo quarter \(null, seed 1\) from this database before storing real data: demo and real data never share a database/,
          );
          const after = await fingerprint(await open());
          const rows = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, Number(v.split(":")[0])]));
          assert.deepEqual(rows, {
            repositories: 0,
            jira_issues: 0,
            git_commits: 0,
            deployments: 0,
            message_templates: 0,
            log_events: 0,
            aoma_system_metrics: 3,
            processing_attempts: 0,
            incidents: 0,
          });
          const [{ state }] = await (await open()).query<{ state: string }>("select state from aoma_private.database_content()");
          assert.equal(state, "ingested");
          await close();
        });
      });
    },
  });
}
