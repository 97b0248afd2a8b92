/**
 * The serving core under a crowd (issue 7): the real server (`src/cli/start.ts`) as a child
 * process, on PGlite and on PostgreSQL 15, in two versions side by side in one run — `before`
 * (a git revision, default 9e2544f: one request at a time on the HTTP thread, no cache) and
 * `after` (this working tree). Per engine × version:
 *
 * 1. load: 50 clients calling analyze_correlations with default arguments in a loop for 60 s, and
 *    at the same time 20 clients calling tools/list for 30 s: calls, errors, calls/s, p50/p95/p99;
 *    resident memory of the server at the start and end of the load;
 * 2. one client, 20 repeated default calls (after: answered from the cache) and — PostgreSQL only —
 *    20 fresh default calls with the chart (the data version is bumped before each, so nothing is
 *    cached): p50/p95.
 *
 *   deno run -A bench/serving_load.ts [--before 9e2544f] [--clients 50] [--seconds 60]
 *        [--list-clients 20] [--list-seconds 30] [--engines pglite,postgres] [--write]
 *
 * Needs the local cluster (npm run db:start) for the PostgreSQL rows. Each call is a raw JSON-RPC
 * POST (stateless Streamable HTTP, protocol 2025-11-25) with a bearer token; an error is any
 * non-200 answer, a JSON-RPC error or a tool error.
 */
import postgres from "postgres";
import { issueToken } from "../src/auth/token.ts";
import { appendResults, benchArgs } from "./_common.ts";

const args = benchArgs();
const BEFORE = args.get("before") ?? "9e2544f";
const CLIENTS = Number(args.get("clients") ?? 50);
const SECONDS = Number(args.get("seconds") ?? 60);
const LIST_CLIENTS = Number(args.get("list-clients") ?? 20);
const LIST_SECONDS = Number(args.get("list-seconds") ?? 30);
const ENGINES = (args.get("engines") ?? "pglite,postgres").split(",");
const PG_URL = Deno.env.get("AOMA_BENCH_DB_URL") ?? "postgresql://postgres:postgres@127.0.0.1:54322/postgres";
const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const SECRET = "bench-secret-bench-secret-bench-secret-0123";

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

function pct(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/** The source tree of `rev` in a temp folder (git archive: no .git, no node_modules needed). */
async function checkout(rev: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: `aoma-bench-${rev}-` });
  const sh = `git -C '${REPO}' archive '${rev}' | tar -x -C '${dir}'`;
  const out = await new Deno.Command("sh", { args: ["-c", sh] }).output();
  if (!out.success) throw new Error(`Cannot check out ${rev}: ${new TextDecoder().decode(out.stderr)}`);
  return dir;
}

interface Server {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

async function startServer(root: string, env: Record<string, string>): Promise<Server> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "src/cli/start.ts", "--port", String(port)],
    cwd: root,
    env: { ...env, AOMA_JWT_SECRET: SECRET, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  (async () => {
    const dec = new TextDecoder();
    for await (const c of child.stdout) out += dec.decode(c, { stream: true });
  })();
  const err = new Response(child.stderr).text();
  const end = Date.now() + 300_000;
  while (!out.includes("Press Ctrl-C to stop.")) {
    if (Date.now() > end) throw new Error(`server did not start: ${out.slice(-2000)}\n${await err}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url: `http://127.0.0.1:${port}/functions/v1/mcp`,
    pid: child.pid,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

type Outcome = { ms: number; ok: boolean };

async function rpc(url: string, token: string, body: unknown): Promise<Outcome> {
  const t = performance.now();
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        authorization: `Bearer ${token}`,
        "mcp-protocol-version": "2025-11-25",
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(120_000),
    });
    const text = await res.text();
    // an SSE answer carries the JSON in its data line
    const json = JSON.parse(text.startsWith("{") ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? "null"));
    const ok = res.status === 200 && json && !json.error && !json.result?.isError;
    return { ms: performance.now() - t, ok };
  } catch {
    return { ms: performance.now() - t, ok: false };
  }
}

const CALL = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "analyze_correlations", arguments: {} } };
const LIST = { jsonrpc: "2.0", id: 2, method: "tools/list" };

async function loop(seconds: number, fn: () => Promise<Outcome>): Promise<Outcome[]> {
  const end = performance.now() + seconds * 1000;
  const out: Outcome[] = [];
  while (performance.now() < end) out.push(await fn());
  return out;
}

interface Row {
  engine: string;
  version: string;
  calls: number;
  errors: number;
  perSecond: number;
  p50: number;
  p95: number;
  p99: number;
  lists: number;
  listErrors: number;
  listP50: number;
  listP99: number;
  rssStart: number;
  rssEnd: number;
  repeatP50: number;
  repeatP95: number;
  freshP50: number;
  freshP95: number;
}

async function measure(engine: string, version: string, root: string, admin: postgres.Sql | null): Promise<Row> {
  const env: Record<string, string> = { AOMA_DB_URL: "", SUPABASE_DB_URL: "", DATABASE_URL: "" };
  let db: string | null = null;
  if (engine === "pglite") {
    env.AOMA_PGLITE_DIR = await Deno.makeTempDir({ prefix: "aoma-bench-pglite-" });
  } else {
    db = `aoma_bench_${version}`;
    await admin!.unsafe(`drop database if exists ${db} with (force)`);
    await admin!.unsafe(`create database ${db}`);
    const url = PG_URL.replace(/\/[^/?]+(\?|$)/, `/${db}$1`);
    // the schema as this version's own CLI installs it on a server
    const mig = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", "scripts/db.ts", "all", "--url", url], cwd: root }).output();
    if (!mig.success) throw new Error(`migrate ${version}: ${new TextDecoder().decode(mig.stderr)}`);
    env.AOMA_DB_URL = url;
  }
  const server = await startServer(root, env);
  const token = await issueToken({ secret: new TextEncoder().encode(SECRET), issuer: "http://127.0.0.1:54321/auth/v1", audience: "authenticated" }, {
    role: "authenticated",
  });
  try {
    await rpc(server.url, token, CALL); // warm-up (type-check, JIT, chart renderer)
    const rssStart = rssMb(server.pid);
    const t0 = performance.now();
    const [calls, lists] = await Promise.all([
      Promise.all(Array.from({ length: CLIENTS }, () => loop(SECONDS, () => rpc(server.url, token, CALL)))).then((r) => r.flat()),
      Promise.all(Array.from({ length: LIST_CLIENTS }, () => loop(LIST_SECONDS, () => rpc(server.url, token, LIST)))).then((r) => r.flat()),
    ]);
    const elapsed = (performance.now() - t0) / 1000;
    const rssEnd = rssMb(server.pid);
    const repeat: number[] = [];
    for (let i = 0; i < 20; i++) repeat.push((await rpc(server.url, token, CALL)).ms);
    const fresh: number[] = [];
    if (db) {
      const dbAdmin = postgres(PG_URL.replace(/\/[^/?]+(\?|$)/, `/${db}$1`), { max: 1, onnotice: () => {} });
      const bump = version === "after" ? "select aoma_private.bump_data_version()" : "select 1";
      for (let i = 0; i < 20; i++) {
        await dbAdmin.begin((tx) => tx.unsafe(bump));
        fresh.push((await rpc(server.url, token, CALL)).ms);
      }
      await dbAdmin.end();
    }
    const ms = (xs: Outcome[]) => xs.map((x) => x.ms);
    return {
      engine,
      version,
      calls: calls.length,
      errors: calls.filter((c) => !c.ok).length,
      perSecond: calls.length / elapsed,
      p50: pct(ms(calls), 50),
      p95: pct(ms(calls), 95),
      p99: pct(ms(calls), 99),
      lists: lists.length,
      listErrors: lists.filter((c) => !c.ok).length,
      listP50: pct(ms(lists), 50),
      listP99: pct(ms(lists), 99),
      rssStart,
      rssEnd,
      repeatP50: pct(repeat, 50),
      repeatP95: pct(repeat, 95),
      freshP50: pct(fresh, 50),
      freshP95: pct(fresh, 95),
    };
  } finally {
    await server.stop();
    if (db) await admin!.unsafe(`drop database if exists ${db} with (force)`);
    if (env.AOMA_PGLITE_DIR) await Deno.remove(env.AOMA_PGLITE_DIR, { recursive: true }).catch(() => {});
  }
}

const f = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : "–");

const admin = ENGINES.includes("postgres") ? postgres(PG_URL, { max: 1, onnotice: () => {} }) : null;
const beforeRoot = await checkout(BEFORE);
const rows: Row[] = [];
try {
  for (const engine of ENGINES) {
    for (const [version, root] of [["before", beforeRoot], ["after", REPO]] as const) {
      console.error(`… ${engine} ${version}`);
      const row = await measure(engine, version, root, admin);
      console.error(JSON.stringify(row));
      rows.push(row);
    }
  }
} finally {
  await admin?.end();
  await Deno.remove(beforeRoot, { recursive: true }).catch(() => {});
}

const lines = [
  `## Serving core under load (${new Date().toISOString().slice(0, 10)}, bench/serving_load.ts)`,
  "",
  `${CLIENTS} clients × ${SECONDS} s of default analyze_correlations (chart included) and, at the same time, ${LIST_CLIENTS} × ${LIST_SECONDS} s of tools/list; ` +
  `then one client: 20 repeated default calls, and 20 fresh ones (PostgreSQL: data version bumped before each). ` +
  `before = ${BEFORE} (one request at a time on the HTTP thread, no cache), after = this tree. Times in ms, memory = server RSS in MB.`,
  "",
  "| engine | version | calls | errors | calls/s | p50 | p95 | p99 | tools/list calls | errors | tools/list p50 | p99 | RSS start → end | repeated p50 / p95 | fresh p50 / p95 |",
  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ...rows.map((r) =>
    `| ${r.engine} | ${r.version} | ${r.calls} | ${r.errors} | ${f(r.perSecond, 1)} | ${f(r.p50)} | ${f(r.p95)} | ${f(r.p99)} | ${r.lists} | ${r.listErrors} | ` +
    `${f(r.listP50)} | ${f(r.listP99)} | ${r.rssStart} → ${r.rssEnd} | ${f(r.repeatP50)} / ${f(r.repeatP95)} | ${f(r.freshP50)} / ${f(r.freshP95)} |`
  ),
  "",
  "Ratios after / before (same run):",
  "",
  ...ENGINES.map((e) => {
    const b = rows.find((r) => r.engine === e && r.version === "before");
    const a = rows.find((r) => r.engine === e && r.version === "after");
    if (!a || !b) return "";
    return `- ${e}: calls/s ×${f(a.perSecond / b.perSecond, 1)}, p50 ×${f(a.p50 / b.p50, 3)}, p99 ×${f(a.p99 / b.p99, 3)}, ` +
      `tools/list p99 ×${f(a.listP99 / b.listP99, 3)}, repeated-call p50 ×${f(a.repeatP50 / b.repeatP50, 3)}` +
      (e === "postgres" ? `, fresh-call p50 ×${f(a.freshP50 / b.freshP50, 2)}` : "");
  }),
  "",
];
console.log(lines.join("\n"));
if (args.has("write")) await appendResults(lines.join("\n"));
