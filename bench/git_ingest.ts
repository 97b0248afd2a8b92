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
 *   deno run -A bench/git_ingest.ts [--commits 100000] [--sizes 25000,50000,100000] [--rounds 3]
 *     [--batch 5000] [--pglite] [--rebuild] [--build-only] [--write]
 * In one run:
 * - time: on the full history, ROUNDS times, the floor `git log --numstat main > /dev/null`, then the
 *   full ingest (tag and merge deployments, feature refresh) and a re-run; ratio = ingest / the floor
 *   just before it, and their median (the machine is shared: alternating keeps both under the same load);
 *   also the ingest's own `git log` format (GIT_LOG_ARGS) and read + parse without a database;
 * - memory: the same at each size of --sizes (shorter histories are refs at the n-th commit of main's
 *   first-parent line): peak resident memory (VmHWM) of the bare git log and of the ingest process.
 * Every ingest runs in a process of its own (`--child`), into a migrated empty database prepared by
 * this one: a scratch database aoma_bench_git (dropped and recreated) on the cluster at
 * AOMA_BENCH_ADMIN_URL (default postgresql://postgres:postgres@127.0.0.1:54322/postgres), and with
 * --pglite a copy of a migrated PGlite directory (made once per run by `--make-pglite`, whose peak —
 * PGlite's initdb — is reported apart). The load average and the busiest other processes are
 * recorded before and after. --write appends the tables to bench/RESULTS.md.
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

// ───────────────────────────── measuring ─────────────────────────────

/** VmHWM (peak resident set, MiB) of a live process, or null once it is gone. */
async function vmHwm(pid: number | "self"): Promise<number | null> {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(await Deno.readTextFile(`/proc/${pid}/status`));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Runs a command with stdout to /dev/null; its wall time and peak RSS (VmHWM polled every 20 ms until it exits). */
async function measured(cmd: string[], cwd = repoDir, stdout: "null" | "piped" = "null"): Promise<{ seconds: number; peakMiB: number; out: string }> {
  const t0 = performance.now();
  const child = new Deno.Command(cmd[0], { args: cmd.slice(1), cwd, env: GIT_ENV, stdout, stderr: "piped" }).spawn();
  let peak = 0, running = true;
  const exited = child.output().finally(() => (running = false));
  while (running) {
    peak = Math.max(peak, (await vmHwm(child.pid)) ?? 0);
    await new Promise((r) => setTimeout(r, 20));
  }
  const out = await exited;
  const seconds = (performance.now() - t0) / 1000;
  if (!out.success) throw new Error(`${cmd.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return { seconds, peakMiB: peak, out: stdout === "piped" ? new TextDecoder().decode(out.stdout) : "" };
}

/** The bare `git log --numstat` of `ref`: the floor. */
const floorLog = (ref: string) => measured(["git", "log", "--numstat", ref]);

/** What one ingest child reports. */
interface ChildResult {
  engine: string;
  ref: string;
  commits: number;
  /** First ingest (feature refresh included), seconds. */
  first: number;
  /** Time inside the batch transactions (overlaps with git, which keeps reading ahead). */
  writes: number;
  /** Re-run with nothing new. */
  rerun: number;
  rerunWrote: number;
  /** VmHWM of the ingest process after opening the database (before any commit) and at the end, MiB. */
  openMiB: number;
  peakMiB: number;
  /** Peak V8 heap in use (sampled every 100 ms), MiB. */
  heapMiB: number;
  report: string;
}

/** Wraps a Db so that the time spent inside transactions (the upserts) is summed. */
function timed(db: Db): { db: Db; seconds: () => number } {
  let ms = 0;
  return {
    db: {
      ...db,
      transaction: async (fn, opts) => {
        const t0 = performance.now();
        try {
          return await db.transaction(fn, opts);
        } finally {
          ms += performance.now() - t0;
        }
      },
    },
    seconds: () => ms / 1000,
  };
}

/**
 * The ingest, in a process of its own (--child): opens the prepared database, ingests `ref`,
 * re-runs, and prints one JSON line with times and its own peak memory.
 */
async function child(spec: { engine: "postgres" | "pglite"; target: string; ref: string }): Promise<void> {
  let heap = 0;
  const sampler = setInterval(() => (heap = Math.max(heap, Deno.memoryUsage().heapUsed)), 100);
  const raw = spec.engine === "postgres" ? openPostgres(spec.target, { max: 2 }) : await openPglite(spec.target);
  await raw.query("select 1");
  const openMiB = (await vmHwm("self"))!;
  const { db, seconds } = timed(raw);
  const opts = { path: repoDir, name: "bench", branch: spec.ref, mergeDeployments: true, batchSize: BATCH };
  const t0 = performance.now();
  const report = await ingestGit(db, opts);
  const first = (performance.now() - t0) / 1000;
  const writes = seconds();
  const t1 = performance.now();
  const again = await ingestGit(db, opts);
  const rerun = (performance.now() - t1) / 1000;
  const peakMiB = (await vmHwm("self"))!;
  clearInterval(sampler);
  const commits = (await raw.query<{ n: number }>("select count(*)::int as n from aoma.git_commits"))[0].n;
  await raw.close();
  const result: ChildResult = {
    engine: spec.engine, ref: spec.ref, commits, first, writes, rerun,
    rerunWrote: again.totals().inserted + again.totals().updated,
    openMiB, peakMiB, heapMiB: heap / 2 ** 20, report: report.format(),
  };
  console.log(JSON.stringify(result));
}

if (args.has("make-pglite")) {
  // a migrated, empty PGlite directory; prints this process's peak (creating the database is PGlite's largest)
  const db = await openPglite(args.get("make-pglite")!);
  await migrateAll(db);
  await db.close();
  console.log(JSON.stringify({ peakMiB: await vmHwm("self") }));
  Deno.exit(0);
}
if (args.has("child")) {
  await child(JSON.parse(args.get("child")!));
  Deno.exit(0);
}

// ───────────────────────────── the run ─────────────────────────────

const built = await ensureRepo();
if (args.has("build-only")) Deno.exit(0);
const stats = JSON.parse(await Deno.readTextFile(`${repoDir}/aoma-bench-complete`));

/** Shorter histories of the same repository: refs/heads/first-<n> at the n-th commit of main's first-parent line. */
async function historyRef(n: number): Promise<string> {
  if (n >= COMMITS) return "main";
  const ref = `first-${n}`;
  const have = await sh(repoDir, ["git", "rev-parse", "--verify", "--quiet", `refs/heads/${ref}`]).catch(() => "");
  if (!have) {
    const line = await sh(repoDir, ["git", "rev-list", "--first-parent", "--reverse", "main"]);
    const sha = line.split("\n")[n - 1];
    await sh(repoDir, ["git", "update-ref", `refs/heads/${ref}`, sha]);
  }
  return ref;
}

const SIZES = (args.get("sizes") ?? "25000,50000,100000").split(",").map(Number).filter((n) => n > 0 && n <= COMMITS);
const ROUNDS = Math.max(1, Number(args.get("rounds") ?? 3));
const refs = await Promise.all(SIZES.map(historyRef));
const sizeCommits = await Promise.all(refs.map(async (r) => Number(await sh(repoDir, ["git", "rev-list", "--count", r]))));
const packKiB = Number((await sh(repoDir, ["du", "-sk", "objects"])).split(/\s/)[0]);
console.log(`repository ${repoDir}: ${sizeCommits.at(-1)} commits on main, ${stats.merges} merges, ${stats.files} files at the tip, ${stats.tags} tags, ` +
  `${(packKiB / 1024).toFixed(0)} MiB` + (built.built ? ` (built in ${built.seconds.toFixed(0)} s)` : " (cached)"));

/** Load average and the busiest processes that are not this benchmark's: what else ran. */
async function machineLoad(): Promise<{ load: string; others: string[] }> {
  const load = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  const ps = await new Deno.Command("ps", { args: ["-eo", "pcpu=,rss=,args=", "--sort=-pcpu"], stdout: "piped" }).output();
  const others = new TextDecoder().decode(ps.stdout).split("\n").map((l) => l.trim())
    .filter((l) => l !== "" && !l.includes("git_ingest.ts") && !/ ps -eo/.test(l) && parseFloat(l) >= 5)
    .slice(0, 5).map((l) => {
      const [cpu, rss, ...cmd] = l.split(/\s+/);
      return `${cmd.join(" ").slice(0, 70)} (${cpu}% CPU, ${(Number(rss) / 1024).toFixed(0)} MB)`;
    });
  return { load, others };
}
const loadBefore = await machineLoad();
console.log(`load before: ${loadBefore.load}; busiest other processes: ${loadBefore.others.join("; ") || "none ≥ 5% CPU"}`);

const pgTemplate = `${benchDir}/pglite-template`;
let pgliteCreateMiB: number | null = null;
let pgVersion = "";

/** A migrated, empty database for one child: a new scratch database on the cluster, or a copy of a migrated PGlite directory. */
async function prepare(engine: "postgres" | "pglite"): Promise<string> {
  if (engine === "postgres") {
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe("drop database if exists aoma_bench_git with (force)");
      await admin.unsafe("create database aoma_bench_git");
    } finally {
      await admin.end();
    }
    const db = openPostgres(benchUrl, { max: 1 });
    await migrateAll(db);
    pgVersion = (await db.query<{ v: string }>("select current_setting('server_version') as v"))[0].v;
    await db.close();
    return benchUrl;
  }
  if (pgliteCreateMiB === null) {
    // a new PGlite database is made once per run, in a process of its own (initdb inside WebAssembly: its peak is reported)
    await Deno.remove(pgTemplate, { recursive: true }).catch(() => {});
    const made = await measured([Deno.execPath(), "run", "-A", new URL(import.meta.url).pathname, "--make-pglite", pgTemplate], ".", "piped");
    pgliteCreateMiB = JSON.parse(made.out.trim().split("\n").at(-1)!).peakMiB as number;
  }
  const dir = `${benchDir}/pglite-run`;
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await sh(".", ["cp", "-r", pgTemplate, dir]);
  return dir;
}

async function runChild(engine: "postgres" | "pglite", ref: string): Promise<ChildResult> {
  const target = await prepare(engine);
  const out = await measured([Deno.execPath(), "run", "-A", new URL(import.meta.url).pathname, "--child",
    JSON.stringify({ engine, target, ref }), ...(args.has("batch") ? ["--batch", String(BATCH)] : [])], ".", "piped");
  const r = JSON.parse(out.out.trim().split("\n").at(-1)!) as ChildResult;
  console.log(`  ${engine} ${ref}: ingest ${r.first.toFixed(2)} s, re-run ${r.rerun.toFixed(2)} s, peak ${r.peakMiB.toFixed(0)} MiB ` +
    `(after opening the database ${r.openMiB.toFixed(0)}), V8 heap peak ${r.heapMiB.toFixed(0)} MiB`);
  if (r.rerunWrote !== 0) throw new Error(`the re-run of ${ref} wrote ${r.rerunWrote} rows`);
  return r;
}

await floorLog("main"); // warm the page cache once
const engines: ("postgres" | "pglite")[] = args.has("pglite") ? ["postgres", "pglite"] : ["postgres"];

// 1. time, on the full history: floor and ingest alternate, ROUNDS times, each ingest against the floor just before it
interface Round { floor: number; floorMiB: number; ingest: Record<string, ChildResult> }
const rounds: Round[] = [];
for (let k = 0; k < ROUNDS; k++) {
  const f = await floorLog(refs.at(-1)!);
  const round: Round = { floor: f.seconds, floorMiB: f.peakMiB, ingest: {} };
  console.log(`round ${k + 1}: floor ${f.seconds.toFixed(2)} s, git log peak ${f.peakMiB.toFixed(0)} MiB`);
  for (const e of engines) round.ingest[e] = await runChild(e, refs.at(-1)!);
  rounds.push(round);
}
const own = await measured(["git", ...GIT_LOG_ARGS, refs.at(-1)!]);
const tp = performance.now();
let parsed = 0;
for await (const b of readGitCommits(repoDir, { repo: "bench", revs: [refs.at(-1)!], batchSize: BATCH })) parsed += b.rows.length;
const parseOnly = (performance.now() - tp) / 1000;
console.log(`the ingest's own git log format ${own.seconds.toFixed(2)} s; read + parse only ${parseOnly.toFixed(2)} s (${parsed} rows)`);

// 2. memory against history length: floor and ingest at each size (the largest from the rounds above)
interface Size { ref: string; commits: number; floor: number; floorMiB: number; ingest: Record<string, ChildResult> }
const sizes: Size[] = [];
for (const [k, ref] of refs.entries()) {
  if (k === refs.length - 1) {
    const last = rounds.at(-1)!;
    sizes.push({ ref, commits: sizeCommits[k], floor: last.floor, floorMiB: last.floorMiB, ingest: last.ingest });
    continue;
  }
  const f = await floorLog(ref);
  const size: Size = { ref, commits: sizeCommits[k], floor: f.seconds, floorMiB: f.peakMiB, ingest: {} };
  console.log(`${ref} (${sizeCommits[k]} commits): floor ${f.seconds.toFixed(2)} s, git log peak ${f.peakMiB.toFixed(0)} MiB`);
  for (const e of engines) size.ingest[e] = await runChild(e, ref);
  sizes.push(size);
}
const loadAfter = await machineLoad();
await (async () => {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe("drop database if exists aoma_bench_git with (force)");
  await admin.end();
})();
for (const dir of [`${benchDir}/pglite-run`, pgTemplate]) await Deno.remove(dir, { recursive: true }).catch(() => {});

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const f2 = (x: number) => x.toFixed(2);
const mib = (x: number) => x.toFixed(0);
const n = (x: number) => x.toLocaleString("en-US");
const timeRows = engines.map((e) => {
  const ratios = rounds.map((r) => r.ingest[e].first / r.floor);
  const reruns = rounds.map((r) => r.ingest[e].rerun / r.ingest[e].first);
  return `| ${e} | ${rounds.map((r) => f2(r.floor)).join(" / ")} | ${rounds.map((r) => f2(r.ingest[e].first)).join(" / ")} | ` +
    `${ratios.map((x) => x.toFixed(2) + "x").join(" / ")} | **${median(ratios).toFixed(2)}x** | ` +
    `${f2(median(rounds.map((r) => r.ingest[e].writes)))} | ${f2(median(rounds.map((r) => r.ingest[e].rerun)))} (${(100 * median(reruns)).toFixed(1)}%) |`;
});
const memRows = sizes.map((z) =>
  `| ${n(z.commits)} | ${f2(z.floor)} | ${mib(z.floorMiB)} | ` +
  engines.map((e) => `${f2(z.ingest[e].first)} | ${(z.ingest[e].first / z.floor).toFixed(2)}x | ${mib(z.ingest[e].openMiB)} → **${mib(z.ingest[e].peakMiB)}** | ${mib(z.ingest[e].heapMiB)}`).join(" | ") + " |"
);
const growth = engines.map((e) =>
  `${e} ${(sizes.at(-1)!.ingest[e].peakMiB / sizes[0].ingest[e].peakMiB).toFixed(2)}x ` +
  `(${mib(sizes.at(-1)!.ingest[e].peakMiB - sizes[0].ingest[e].peakMiB)} MiB more)`
).join(", ");
const table = [
  `### Git ingest: ${n(sizeCommits.at(-1)!)} commits vs bare git log, peak memory at ${sizes.map((z) => n(z.commits)).join(" / ")} commits — ` +
  `${new Date().toISOString().slice(0, 10)}, PostgreSQL ${pgVersion}, git ${(await sh(".", ["git", "--version"])).replace("git version ", "")}, ${navigator.hardwareConcurrency} cores`,
  "",
  `Command: \`deno run -A bench/git_ingest.ts${args.has("pglite") ? " --pglite" : ""} --write\` (batch ${BATCH} commits or 4 MiB of text; ${ROUNDS} rounds; ` +
  "goals: ingest ≤ 1.3x floor, peak memory flat in the history length, re-run ≤ 5% of the first).",
  `Repository (git fast-import, cached): ${n(sizeCommits.at(-1)!)} commits, ${stats.merges} merges, ${stats.files} files at the tip, ` +
  `${stats.tags} release tags, ${(packKiB / 1024).toFixed(0)} MiB after gc; shorter histories are refs at commit ` +
  `${SIZES.slice(0, -1).map(n).join(" and ")} of main's first-parent line.`,
  "Floor: `git log --numstat <ref> > /dev/null` (page cache warm). Ingest: `ingestGit` (tag and merge deployments, feature refresh at the end) " +
  "in a process of its own into a migrated empty database, floor and ingest alternating; peak = VmHWM of the process " +
  "(the ingest reads its own /proc/self/status; git log's is polled every 20 ms). " +
  `The ingest's own \`git log\` format: ${f2(own.seconds)} s; read + parse into rows without a database: ${f2(parseOnly)} s.`,
  `Machine: load average ${loadBefore.load} before, ${loadAfter.load} after; other processes ≥ 5% CPU at the start: ` +
  `${loadBefore.others.join("; ") || "none"}; at the end: ${loadAfter.others.join("; ") || "none"}.`,
  "",
  `Time on ${n(sizeCommits.at(-1)!)} commits, each round's ingest against the floor just before it:`,
  "",
  "| database | floor (s) per round | ingest (s) per round | ratio per round | median ratio | upsert tx (s) | re-run (s, % of first) |",
  "|---|---|---|---|---:|---:|---:|",
  ...timeRows,
  "",
  "Peak memory (MiB) against history length; ingest peak = after opening the database → at the end:",
  "",
  `| commits | floor (s) | git log peak | ${engines.map((e) => `${e} ingest (s) | ratio | ${e} ingest peak | V8 heap peak`).join(" | ")} |`,
  `|---:|---:|---:|${engines.map(() => "---:|---:|---:|---:").join("|")}|`,
  ...memRows,
  "",
  `Ingest peak at the largest history / the smallest: ${growth}.` +
  (pgliteCreateMiB !== null ? ` Creating a new PGlite database (initdb in WebAssembly, before any commit) peaked at ${mib(pgliteCreateMiB)} MiB in this run.` : ""),
  "",
].join("\n");
console.log("\n" + table);
if (args.has("write")) await appendResults(table);
