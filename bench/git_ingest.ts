/**
 * Benchmark: git ingest of a 100,000-commit repository next to the bare `git log --numstat` it reads
 * (the floor), in the same run, and a re-run with nothing new.
 *
 * The repository is generated with `git fast-import` (deterministic): a few thousand files in nested
 * directories, 1–10 files changed per commit with a heavy tail of large commits, line edits,
 * renames, additions and deletions, 12 authors in 9 time zones, topic branches merged with --no-ff,
 * an annotated release tag every 1,000 commits. It is cached (AOMA_BENCH_DIR, default
 * $TMPDIR/aoma-bench) so re-runs don't rebuild it; --rebuild forces it.
 *
 * Usage (local cluster up: `npm run db:start`):
 *   deno run -A bench/git_ingest.ts [--commits 100000] [--batch 5000] [--pglite] [--rebuild] [--write]
 * Times, in one run: the floor `git log --numstat > /dev/null`; the same log with the ingest's own
 * format (`GIT_LOG_ARGS`); read + parse only (no database); the full ingest into a scratch database
 * (aoma_bench_git, dropped and recreated) on the cluster at AOMA_BENCH_ADMIN_URL (default
 * postgresql://postgres:postgres@127.0.0.1:54322/postgres), feature refresh included; then a re-run.
 * --pglite also runs the ingest into an in-memory PGlite. --write appends the table to bench/RESULTS.md.
 */
import postgres from "postgres";
import { openPostgres } from "../src/db/postgres.ts";
import { openPglite } from "../src/db/pglite.ts";
import { migrateAll } from "../src/db/migrate.ts";
import type { Db } from "../src/db/types.ts";
import { Rng } from "../src/demo/random.ts";
import { ingestGit, readGitCommits } from "../src/ingest/git.ts";
import { GIT_LOG_ARGS } from "../src/ingest/git_log.ts";
import { appendResults, benchArgs } from "./_common.ts";

const args = benchArgs();
const COMMITS = Number(args.get("commits") ?? 100_000);
const BATCH = Number(args.get("batch") ?? 5000);
const adminUrl = Deno.env.get("AOMA_BENCH_ADMIN_URL") ?? "postgresql://postgres:postgres@127.0.0.1:54322/postgres";
const benchUrl = adminUrl.replace(/\/[^/?]+(\?|$)/, "/aoma_bench_git$1");
const benchDir = Deno.env.get("AOMA_BENCH_DIR") ?? `${Deno.env.get("TMPDIR") ?? "/tmp"}/aoma-bench`;
const GEN_VERSION = 2;
const repoDir = `${benchDir}/git-${COMMITS}-v${GEN_VERSION}.git`;
const GIT_ENV = { GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" };

// ───────────────────────────── the repository ─────────────────────────────

const AUTHORS = [
  ["Ana Souza", "ana@example.com", "-0300"], ["Ben Carter", "ben@example.com", "-0500"],
  ["Chen Wei", "chen@example.com", "+0800"], ["Dara Okafor", "dara@example.com", "+0100"],
  ["Emil Nowak", "emil@example.com", "+0100"], ["Farah Khan", "farah@example.com", "+0500"],
  ["Gita Rao", "gita@example.com", "+0530"], ["Hiro Sato", "hiro@example.com", "+0900"],
  ["Ines Weber", "ines@example.com", "+0200"], ["Jon Berg", "jon@example.com", "+0000"],
  ["Kai Müller", "kai@example.com", "+0100"], ["Lena Park", "lena@example.com", "-0800"],
] as const;
const WORDS = ("fix add remove refactor update handle parse render cache retry queue worker asset upload " +
  "timeout config schema migrate test docs logging metrics index query batch stream token session").split(" ");
const DIRS = ["src", "lib", "services", "web", "tools"];

/** Writes the fast-import stream for COMMITS commits to `w`. Returns stats. */
async function generate(w: WritableStreamDefaultWriter<Uint8Array>): Promise<{ merges: number; files: number; tags: number }> {
  const rng = new Rng(20261125);
  const enc = new TextEncoder();
  let buf: string[] = [];
  let bufLen = 0;
  const out = async (s: string) => {
    buf.push(s);
    bufLen += s.length;
    if (bufLen > 1 << 20) await flush();
  };
  const flush = async () => {
    await w.write(enc.encode(buf.join("")));
    buf = [];
    bufLen = 0;
  };
  const data = (s: string) => `data ${enc.encode(s).length}\n${s}\n`;

  const files = new Map<string, string[]>();
  const targets = new Map<string, number>(); // a file's usual length: edits keep it near there
  const paths: string[] = [];
  let serial = 0;
  const newLine = () => `  v${serial++} = ${WORDS[rng.int(WORDS.length)]}(${rng.int(1000)});`;
  const newPath = () => {
    const depth = 1 + rng.int(3);
    let p = DIRS[rng.int(DIRS.length)];
    for (let d = 0; d < depth; d++) p += `/${WORDS[rng.int(WORDS.length)]}${rng.int(8)}`;
    return `${p}/${WORDS[rng.int(WORDS.length)]}_${serial++}.ts`;
  };
  const addFile = () => {
    const p = newPath();
    const n = Math.min(10 + Math.floor(rng.lognormal(3.3, 0.8)), 2000); // median ~ 37 lines, heavy tail
    files.set(p, Array.from({ length: n }, newLine));
    targets.set(p, n);
    paths.push(p);
    return p;
  };
  const editFile = (p: string) => {
    const lines = files.get(p)!;
    const target = targets.get(p)!;
    const edits = 1 + Math.floor(rng.exponential(2));
    for (let e = 0; e < edits; e++) {
      const at = rng.int(lines.length + 1);
      let kind = rng.uniform();
      const n = 1 + Math.floor(rng.exponential(kind < 0.05 ? 15 : 3));
      if (kind >= 0.5 && kind < 0.75 && lines.length > 1.5 * target) kind = 1; // grown: delete instead
      if (kind < 0.5) lines.splice(at, Math.min(n, lines.length - at), ...Array.from({ length: n }, newLine));
      else if (kind < 0.75) lines.splice(at, 0, ...Array.from({ length: n }, newLine));
      else if (lines.length > n + 5) lines.splice(at, n);
    }
  };
  const content = (p: string) => files.get(p)!.join("\n") + "\n";

  let time = Date.UTC(2016, 0, 4, 9) / 1000;
  let mark = 0;
  let mainTip = 0;
  let merges = 0, tags = 0;
  const person = (a: typeof AUTHORS[number], t: number) => `${a[0]} <${a[1]}> ${t} ${a[2]}`;

  /** Emits one commit touching `count` files on `ref`, parent `from` (0 = none), optional merge parent. */
  const commit = async (ref: string, from: number, merge: number, touch: () => string[]) => {
    const a = AUTHORS[rng.int(AUTHORS.length)];
    time += Math.max(1, Math.floor(rng.exponential(1500)));
    const msg = `${WORDS[rng.int(WORDS.length)]} ${WORDS[rng.int(WORDS.length)]} in ${WORDS[rng.int(WORDS.length)]}` +
      (rng.bernoulli(0.3) ? `\n\n${Array.from({ length: 1 + rng.int(4) }, () => WORDS[rng.int(WORDS.length)]).join(" ")}.` : "");
    const m = ++mark;
    let s = `commit ${ref}\nmark :${m}\nauthor ${person(a, time)}\ncommitter ${person(a, time)}\n${data(msg)}`;
    if (from) s += `from :${from}\n`;
    if (merge) s += `merge :${merge}\n`;
    await out(s);
    for (const op of touch()) await out(op);
    await out("\n");
    return m;
  };
  /** Changes `count` files; every path added, changed or deleted goes into `touched` too. */
  const modifyOps = (count: number, touched = new Set<string>()): string[] => {
    const ops: string[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < count; i++) {
      const r = rng.uniform();
      if (paths.length < 200 || (r < 0.12 && paths.length < 3500)) {
        const p = addFile();
        seen.add(p);
        touched.add(p);
        ops.push(`M 100644 inline ${p}\n${data(content(p))}`);
      } else if (r < 0.14 && paths.length > 500) {
        const idx = rng.int(paths.length);
        const p = paths[idx];
        if (seen.has(p)) continue;
        paths[idx] = paths[paths.length - 1];
        paths.pop();
        files.delete(p);
        targets.delete(p);
        touched.add(p);
        ops.push(`D ${p}\n`);
      } else if (r < 0.16) {
        // rename with a small edit
        const idx = rng.int(paths.length);
        const p = paths[idx];
        if (seen.has(p)) continue;
        const q = newPath();
        files.set(q, files.get(p)!);
        targets.set(q, targets.get(p)!);
        files.delete(p);
        targets.delete(p);
        paths[idx] = q;
        seen.add(q);
        touched.add(p).add(q);
        if (rng.bernoulli(0.5)) editFile(q);
        ops.push(`D ${p}\nM 100644 inline ${q}\n${data(content(q))}`);
      } else {
        const p = paths[rng.int(paths.length)];
        if (seen.has(p)) continue;
        seen.add(p);
        touched.add(p);
        editFile(p);
        ops.push(`M 100644 inline ${p}\n${data(content(p))}`);
      }
    }
    return ops;
  };
  const size = () => {
    const r = rng.uniform();
    if (r < 0.977) return 1 + rng.int(10);
    if (r < 0.997) return 11 + rng.int(40);
    return 100 + rng.int(300);
  };

  let made = 0;
  mainTip = await commit("refs/heads/main", 0, 0, () => modifyOps(300));
  made++;
  while (made < COMMITS) {
    if (rng.bernoulli(0.02) && COMMITS - made >= 5) {
      // a topic branch of 1–3 commits merged with --no-ff: the merge's tree carries the topic's files
      let tip = mainTip;
      const touched = new Set<string>();
      const k = 1 + rng.int(3);
      for (let i = 0; i < k; i++) {
        tip = await commit("refs/heads/topic", tip, 0, () => modifyOps(1 + rng.int(6), touched));
      }
      mainTip = await commit("refs/heads/main", mainTip, tip, () => {
        const ops: string[] = [];
        for (const p of touched) ops.push(files.has(p) ? `M 100644 inline ${p}\n${data(content(p))}` : `D ${p}\n`);
        return ops;
      });
      made += k + 1;
      merges++;
    } else {
      mainTip = await commit("refs/heads/main", mainTip, 0, () => modifyOps(size()));
      made++;
    }
    if (Math.floor(made / 1000) > tags) {
      tags++;
      await out(`tag v1.${tags}.0\nfrom :${mainTip}\ntagger ${person(AUTHORS[0], time + 60)}\n${data(`Release 1.${tags}.0`)}`);
    }
  }
  await out("done\n");
  await flush();
  return { merges, files: paths.length, tags };
}

async function sh(cwd: string, cmd: string[], stdout: "null" | "piped" = "piped"): Promise<string> {
  const out = await new Deno.Command(cmd[0], { args: cmd.slice(1), cwd, env: GIT_ENV, stdout, stderr: "piped" }).output();
  if (!out.success) throw new Error(`${cmd.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return stdout === "piped" ? new TextDecoder().decode(out.stdout).trim() : "";
}

async function ensureRepo(): Promise<{ built: boolean; seconds: number }> {
  const marker = `${repoDir}/aoma-bench-complete`;
  if (!args.has("rebuild")) {
    try {
      await Deno.stat(marker);
      return { built: false, seconds: 0 };
    } catch { /* build it */ }
  }
  const t0 = performance.now();
  await Deno.remove(repoDir, { recursive: true }).catch(() => {});
  await Deno.mkdir(repoDir, { recursive: true });
  await sh(repoDir, ["git", "init", "-q", "--bare", "-b", "main"]);
  const child = new Deno.Command("git", {
    args: ["fast-import", "--quiet", "--done"],
    cwd: repoDir,
    env: GIT_ENV,
    stdin: "piped",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const w = child.stdin.getWriter();
  const stats = await generate(w);
  await w.close();
  if (!(await child.status).success) throw new Error("git fast-import failed");
  await sh(repoDir, ["git", "update-ref", "-d", "refs/heads/topic"]);
  console.log(`generated: ${JSON.stringify(stats)} in ${((performance.now() - t0) / 1000).toFixed(0)} s; git gc …`);
  await sh(repoDir, ["git", "gc", "--quiet"]);
  await Deno.writeTextFile(marker, JSON.stringify(stats));
  return { built: true, seconds: (performance.now() - t0) / 1000 };
}

// ───────────────────────────── timing ─────────────────────────────

async function timeGitLog(extra: string[]): Promise<number> {
  const t0 = performance.now();
  await sh(repoDir, ["git", ...extra], "null");
  return (performance.now() - t0) / 1000;
}

/** Wraps a Db so that the time spent inside transactions (the upserts) is summed. */
function timed(db: Db): { db: Db; seconds: () => number } {
  let ms = 0;
  return {
    db: {
      ...db,
      engine: db.engine,
      query: db.query,
      exec: db.exec,
      close: db.close,
      transaction: async (fn) => {
        const t0 = performance.now();
        try {
          return await db.transaction(fn);
        } finally {
          ms += performance.now() - t0;
        }
      },
    },
    seconds: () => ms / 1000,
  };
}

interface IngestTimes {
  engine: string;
  first: number;
  writes: number;
  refresh: number;
  rerun: number;
  rows: number;
}

async function benchIngest(engine: string, open: () => Promise<Db>): Promise<IngestTimes> {
  const raw = await open();
  const { db, seconds } = timed(raw);
  try {
    const t0 = performance.now();
    const report = await ingestGit(db, { path: repoDir, name: "bench", mergeDeployments: true, batchSize: BATCH });
    const first = (performance.now() - t0) / 1000;
    const writes = seconds();
    const t1 = performance.now();
    await raw.query("select * from analytics.refresh_features()");
    const refresh = (performance.now() - t1) / 1000;
    const t2 = performance.now();
    const again = await ingestGit(db, { path: repoDir, name: "bench", mergeDeployments: true, batchSize: BATCH });
    const rerun = (performance.now() - t2) / 1000;
    const rows = (await raw.query<{ n: number }>("select count(*)::int as n from aoma.git_commits"))[0].n;
    console.log(`${engine}: ${report.format()}`);
    console.log(`${engine} re-run: ${again.format()}`);
    if (again.totals().inserted + again.totals().updated !== 0) throw new Error("re-run wrote rows");
    return { engine, first, writes, refresh, rerun, rows };
  } finally {
    await raw.close();
  }
}

const built = await ensureRepo();
const stats = JSON.parse(await Deno.readTextFile(`${repoDir}/aoma-bench-complete`));
const commits = Number(await sh(repoDir, ["git", "rev-list", "--count", "main"]));
const packKiB = Number((await sh(repoDir, ["du", "-sk", "objects"])).split(/\s/)[0]);
console.log(`repository ${repoDir}: ${commits} commits, ${stats.merges} merges, ${stats.files} files at the tip, ${stats.tags} tags, ${(packKiB / 1024).toFixed(0)} MiB` +
  (built.built ? ` (built in ${built.seconds.toFixed(0)} s)` : " (cached)"));

await timeGitLog(["log", "--numstat", "main"]); // warm the page cache once
const floor = await timeGitLog(["log", "--numstat", "main"]);
const ownLog = await timeGitLog([...GIT_LOG_ARGS, "main"]);
console.log(`floor git log --numstat: ${floor.toFixed(2)} s; with the ingest's format: ${ownLog.toFixed(2)} s`);
const tp = performance.now();
let parsed = 0;
for await (const b of readGitCommits(repoDir, { repo: "bench", revs: ["main"], batchSize: BATCH })) parsed += b.rows.length;
const parseOnly = (performance.now() - tp) / 1000;
console.log(`read + parse only: ${parseOnly.toFixed(2)} s (${parsed} rows)`);

const results: IngestTimes[] = [];
const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
await admin.unsafe("drop database if exists aoma_bench_git with (force)");
await admin.unsafe("create database aoma_bench_git");
let pgVersion = "";
try {
  results.push(await benchIngest("postgres", async () => {
    const db = openPostgres(benchUrl, { max: 2 });
    await migrateAll(db);
    pgVersion = (await db.query<{ v: string }>("select current_setting('server_version') as v"))[0].v;
    return db;
  }));
} finally {
  await admin.unsafe("drop database if exists aoma_bench_git with (force)");
  await admin.end();
}
if (args.has("pglite")) {
  results.push(await benchIngest("pglite", async () => {
    const db = await openPglite();
    await migrateAll(db);
    return db;
  }));
}
for (const r of results) {
  console.log(`${r.engine}: ingest ${r.first.toFixed(2)} s = ${(r.first / floor).toFixed(2)}x floor ` +
    `(upsert transactions ${r.writes.toFixed(2)} s, feature refresh ≈ ${r.refresh.toFixed(2)} s); ` +
    `re-run ${r.rerun.toFixed(2)} s = ${(100 * r.rerun / r.first).toFixed(1)}% of the first`);
}

const f2 = (x: number) => x.toFixed(2);
const table = [
  `### Git ingest of a ${commits.toLocaleString("en-US")}-commit repository vs bare git log — ${new Date().toISOString().slice(0, 10)}, ` +
  `PostgreSQL ${pgVersion}, git ${(await sh(".", ["git", "--version"])).replace("git version ", "")}, ${navigator.hardwareConcurrency} cores`,
  "",
  `Command: \`deno run -A bench/git_ingest.ts${args.has("pglite") ? " --pglite" : ""} --write\` (batch ${BATCH}; goals: ingest ≤ 1.5x floor, re-run ≤ 5% of the first).`,
  `Repository (git fast-import, cached): ${commits.toLocaleString("en-US")} commits, ${stats.merges} merges, ${stats.files} files at the tip, ` +
  `${stats.tags} release tags, ${(packKiB / 1024).toFixed(0)} MiB after gc.`,
  `Floor: \`git log --numstat main > /dev/null\` ${f2(floor)} s (page cache warm). The ingest's own \`git log\` format: ${f2(ownLog)} s; ` +
  `read + parse into rows without a database: ${f2(parseOnly)} s.`,
  "Ingest: `ingestGit` (tag and merge deployments, feature refresh at the end); upsert = time inside the batch transactions " +
  "(overlaps with git, which keeps reading ahead); re-run: same call, nothing new.",
  "",
  "| database | ingest (s) | ratio to floor | upsert tx (s) | feature refresh (s) | re-run (s) | re-run / first |",
  "|---|---:|---:|---:|---:|---:|---:|",
  ...results.map((r) =>
    `| ${r.engine} | ${f2(r.first)} | ${(r.first / floor).toFixed(2)}x | ${f2(r.writes)} | ${f2(r.refresh)} | ${f2(r.rerun)} | ${(100 * r.rerun / r.first).toFixed(1)}% |`
  ),
  "",
].join("\n");
console.log("\n" + table);
if (args.has("write")) await appendResults(table);
