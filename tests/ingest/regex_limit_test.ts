/**
 * Caller-supplied regular expressions never run unbounded (issue 7). A pattern V8's linear-time
 * engine can run (most log patterns, and the classic catastrophic ones such as (\w+\s?)+$) answers
 * at once and correctly, however evil the line. A pattern it cannot run (a backreference here) runs
 * in a child process with a time limit per line: a line it overruns is reported and the process is
 * killed — really gone, not left computing as an ended Worker would be — and the event loop is never
 * blocked; through ingestLogs on both engines, `aoma ingest logs --pattern` and the ingest function;
 * a pattern that keeps overrunning stops the run with one sentence. Tag globs match in linear time,
 * a "/regex/" tag pattern runs in the same guard, and timestamp formats cannot build a backtracking
 * regex.
 */
import assert from "node:assert/strict";
import { openPglite } from "../../src/db/pglite.ts";
import { compileTagPattern } from "../../src/ingest/git.ts";
import { ingestLogs } from "../../src/ingest/logs.ts";
import { LINEAR_ENGINE_HERE, RegexGuard, TIMEOUT } from "../../src/ingest/regex_guard.ts";
import { checkTimestampFormat, parseTimestamp } from "../../src/ingest/timestamps.ts";
import { testOnBothEngines } from "../_engines.ts";
import { aoma } from "./_cli.ts";
import { post, withServer } from "./_function.ts";

/** Backtracks exponentially on a message of words that ends in a character \w and \s both refuse — in a backtracking engine. */
const LINEAR_EVIL = "^(?<ts>\\S+) (?<message>(\\w+\\s?)+)$";
/**
 * The same with an optional backreference: V8's linear-time engine cannot run it (nor fall back to it
 * when it backtracks too much), so it backtracks for real: 2^n steps on n letters.
 */
const EVIL = "^(?<ts>\\S+) (?<message>(\\w+\\s?)+)(?:\\k<ts>)?$";
/** 40 letters: 2^40 steps, i.e. hours — the process running it must be killed. */
const evilLine = (i: number) => `2026-11-01T00:0${i}:00Z ${"a".repeat(40)}!`;
const goodLine = (i: number) => `2026-11-01T00:0${i}:00Z Cache refresh for region ${i} finished`;
const LINES = [goodLine(1), evilLine(2), goodLine(3), evilLine(4), goodLine(5)];

/**
 * The longest event-loop stall a test accepts. Unguarded, one test line would block the thread for
 * hours; guarded, the thread only writes to a pipe and waits. The margin is for a loaded machine,
 * where a 10 ms timer can fire hundreds of milliseconds late.
 */
const STALL_LIMIT_MS = 1_500;

/** Runs `fn` while measuring the longest gap between ticks of a 10 ms timer (how long the event loop was blocked). */
async function longestStall<T>(fn: () => Promise<T>): Promise<{ result: T; stallMs: number; ms: number }> {
  let last = performance.now(), stallMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last);
    last = now;
  }, 10);
  const start = performance.now();
  try {
    const result = await fn();
    return { result, stallMs: Math.max(stallMs, performance.now() - last), ms: performance.now() - start };
  } finally {
    clearInterval(timer);
  }
}

/** Ids of the running regex processes (Linux /proc), zombies excluded. */
async function regexProcesses(): Promise<number[]> {
  const pids: number[] = [];
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const cmd = await Deno.readTextFile(`/proc/${e.name}/cmdline`);
      const stat = await Deno.readTextFile(`/proc/${e.name}/stat`);
      if (cmd.includes("regex_child.ts") && !/^\d+ \(.*\) Z /.test(stat)) pids.push(Number(e.name));
    } catch {
      // it ended while we looked
    }
  }
  return pids;
}

/** Waits up to 5 s for every regex process to be gone; returns those still there. */
async function regexProcessesLeft(): Promise<number[]> {
  const end = Date.now() + 5_000;
  let left = await regexProcesses();
  while (left.length && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    left = await regexProcesses();
  }
  return left;
}

Deno.test("the test patterns: EVIL really backtracks here (22 letters take tens of milliseconds even with the linear fallback on), LINEAR_EVIL does not", () => {
  assert.ok(LINEAR_ENGINE_HERE, "the tests run with V8_FLAGS (scripts/test.sh), as every entry point does");
  let start = performance.now();
  assert.equal(new RegExp(EVIL).exec(`x ${"a".repeat(22)}!`), null);
  assert.ok(performance.now() - start > 20);
  assert.throws(() => new RegExp(EVIL, "l"), /Cannot be executed in linear time/);
  start = performance.now();
  assert.equal(new RegExp(LINEAR_EVIL, "l").exec(`x ${"a".repeat(100_000)}!`), null);
  assert.ok(performance.now() - start < 2_000);
});

Deno.test("regex guard, linear engine: a catastrophic pattern answers every line correctly, no time limit needed", async () => {
  const guard = new RegexGuard(LINEAR_EVIL, "", { perInputMs: 500, maxTimeouts: 1 });
  try {
    assert.equal(guard.engine, "linear");
    const lines = [goodLine(1), `2026-11-01T00:02:00Z ${"a".repeat(50_000)}!`, goodLine(3)];
    const { result, stallMs } = await longestStall(() => guard.exec(lines));
    assert.deepEqual(result.map((r) => (r === TIMEOUT ? r : r === null ? null : r.ts)), ["2026-11-01T00:01:00Z", null, "2026-11-01T00:03:00Z"]);
    assert.equal(guard.timeouts, 0);
    assert.ok(stallMs < STALL_LIMIT_MS, `event loop stalled ${stallMs.toFixed(0)} ms`);
    assert.deepEqual(await guard.test(["2026 ok", "nope"]), [true, false]);
    // the engine that cannot backtrack still has the per-line limit (a huge line, a tiny limit)
    const tight = new RegexGuard(LINEAR_EVIL, "", { perInputMs: 5, maxTimeouts: 5 });
    try {
      const [r] = await tight.exec([`x ${"ab ".repeat(2_000_000)}!`]);
      assert.equal(r, TIMEOUT);
    } finally {
      tight.close();
    }
  } finally {
    guard.close();
  }
  assert.throws(() => new RegexGuard("(unclosed"), /^Error: Cannot use the pattern: it is not a valid regular expression \(/);
  assert.throws(() => new RegexGuard("a".repeat(2_001)), /^Error: Cannot use the pattern: it has 2001 characters; at most 2000 are allowed$/);
});

Deno.test("regex guard, backtracking pattern: per-input time limit in a process that is killed (gone, not computing), the main thread free, budget error", async () => {
  const guard = new RegexGuard(EVIL, "", { perInputMs: 200, maxTimeouts: 3 });
  try {
    assert.equal(guard.engine, "process");
    const { result, stallMs } = await longestStall(() => guard.exec(LINES));
    assert.deepEqual(result.map((r) => (r === TIMEOUT ? r : r === null ? null : r.ts)), [
      "2026-11-01T00:01:00Z", TIMEOUT, "2026-11-01T00:03:00Z", TIMEOUT, "2026-11-01T00:05:00Z",
    ]);
    assert.ok(stallMs < STALL_LIMIT_MS, `event loop stalled ${stallMs.toFixed(0)} ms`);
    // two processes were killed at their overrun; only the guard's current one is left
    assert.deepEqual(await regexProcesses(), [guard.pid]);
    assert.deepEqual(await guard.test(["2026 ok", "nope"]), [true, false]);
    await assert.rejects(
      guard.exec([evilLine(6), evilLine(7)]),
      /^RegexBudgetError: Cannot use the pattern: it ran longer than 200 ms on 3 inputs, so it backtracks catastrophically; simplify it/,
    );
  } finally {
    guard.close();
  }
  assert.deepEqual(await regexProcessesLeft(), [], "every regex process is gone: none is left backtracking");
});

testOnBothEngines("log ingest with a caller's pattern: overrunning lines rejected, the rest stored, the event loop free", "aoma_test_regex", async (t, db) => {
  await t.step("default limits: the two evil lines rejected by number", async () => {
    const { result: report, stallMs } = await longestStall(() =>
      ingestLogs(db, { text: LINES.join("\n"), source: "evil", format: "text", pattern: EVIL, refresh: false })
    );
    assert.deepEqual(report.rejections, [
      { line: 2, reason: "the pattern ran longer than 500 ms on this line (it backtracks); simplify it" },
      { line: 4, reason: "the pattern ran longer than 500 ms on this line (it backtracks); simplify it" },
    ]);
    assert.equal(report.tables.log_events.inserted, 3);
    assert.ok(stallMs < STALL_LIMIT_MS, `event loop stalled ${stallMs.toFixed(0)} ms`);
  });

  await t.step("a pattern that keeps overrunning stops the run with one sentence; the run is recorded failed", async () => {
    const text = [goodLine(1), ...[2, 3, 4, 5].map(evilLine)].join("\n");
    await assert.rejects(
      ingestLogs(db, { text, source: "evil-2", format: "text", pattern: EVIL, regexLimits: { perInputMs: 100, maxTimeouts: 3 }, refresh: false }),
      /^RegexBudgetError: Cannot use the pattern: it ran longer than 100 ms on 3 inputs, so it backtracks catastrophically; simplify it \(avoid nested quantifiers such as \(a\+\)\+ or \(\\w\+\\s\?\)\*\)$/,
    );
    const [run] = await db.query<{ status: string }>("select status from aoma.ingest_runs where summary->>'source' = 'logs' order by started_at desc limit 1");
    assert.equal(run.status, "failed");
  });
});

Deno.test("aoma ingest logs --pattern: an evil pattern costs only its lines; exit 0 with the rejections", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/worker.log`, LINES.join("\n") + "\n");
  const r = await aoma(["ingest", "logs", `${dir}/worker.log`, "--format", "text", "--pattern", EVIL, "--quiet"], {
    AOMA_PGLITE_DIR: `${dir}/pglite`,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^logs: read 5; inserted 4, updated 0, unchanged 0, rejected 2$/m); // 3 events + 1 template
  assert.match(r.stdout, /^ {2}rejected line 2: the pattern ran longer than 500 ms on this line/m);
  assert.match(r.stdout, /^ {2}rejected line 4: the pattern ran longer than 500 ms on this line/m);
  const db = await openPglite(`${dir}/pglite`);
  try {
    const [n] = await db.query<{ n: number }>("select count(*)::int as n from aoma.log_events");
    assert.equal(n.n, 3);
  } finally {
    await db.close();
  }
});

Deno.test("ingest function: a caller's pattern in a text batch runs with the time limit; an unusable one answers 400", async () => {
  await withServer(async (srv, db, token) => {
    // while the batch is in the guard (two lines × 500 ms at least), the server answers another request
    let batchDone = 0;
    const batch = post(srv, { source: "logs", logSource: "fn-evil", format: "text", pattern: EVIL, records: LINES }, token)
      .finally(() => (batchDone = performance.now()));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const meta = await fetch(`${srv.baseUrl}/.well-known/oauth-protected-resource/functions/v1/ingest`);
    await meta.body?.cancel();
    const metaDone = performance.now();
    const r = await batch;
    assert.equal(meta.status, 200);
    assert.ok(metaDone < batchDone, "the other request was answered while the batch was running");
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual((r.json.rejections as { line: number }[]).map((x) => x.line), [2, 4]);
    const [n] = await db.query<{ n: number }>("select count(*)::int as n from aoma.log_events where source = 'fn-evil'");
    assert.equal(n.n, 3);

    const many = Array.from({ length: 12 }, (_, i) => evilLine(i % 10));
    const refused = await post(srv, { source: "logs", logSource: "fn-evil", format: "text", pattern: EVIL, records: many }, token);
    assert.equal(refused.status, 400);
    assert.match(String(refused.json.message), /^Cannot use the pattern: it ran longer than 500 ms on 10 inputs, so it backtracks catastrophically; simplify it .*\(logs batch\)\.$/);
    const bad = await post(srv, { source: "logs", logSource: "x", format: "text", pattern: "(?<ts>", records: [] }, token);
    assert.equal(bad.status, 400);
    assert.match(String(bad.json.message), /^Cannot use the pattern: it is not a valid regular expression/);
  });
});

Deno.test("tag patterns: globs match in linear time; a /regex/ runs in the guard and an overrun tag is no deployment", async () => {
  const glob = compileTagPattern("*a*a*a*a*a*a*a*a*a*a*b,v[0-9]*");
  const long = "a".repeat(5_000);
  const start = performance.now();
  assert.deepEqual(await glob.match([long, `${long}b`, "v1.2", "vx"]), [false, true, true, false]);
  assert.ok(performance.now() - start < 1_000, "the glob that once compiled to a backtracking regex answers at once");
  assert.deepEqual(await compileTagPattern("release-?,[!a-c]x").match(["release-1", "release-12", "dx", "ax"]), [true, false, true, false]);

  const linear = compileTagPattern("/^(a+)+$/");
  assert.deepEqual(await linear.match(["aaa", `${"a".repeat(100_000)}!`, "b"]), [true, false, false]);
  assert.deepEqual(linear.timedOut, []);
  const regex = compileTagPattern("/^(a+)+\\1$/"); // a backreference: may backtrack, runs in a process
  const evil = `${"a".repeat(40)}!`;
  const { result, stallMs } = await longestStall(() => regex.match(["aaa", evil, "b"]));
  assert.deepEqual(result, [true, false, false]);
  assert.deepEqual(regex.timedOut, [evil]);
  assert.deepEqual(await regexProcessesLeft(), []);
  assert.ok(stallMs < STALL_LIMIT_MS, `event loop stalled ${stallMs.toFixed(0)} ms`);
  assert.throws(() => compileTagPattern("/(/"), /^Error: Cannot use the tag pattern "\/\(\/": it is not a valid regular expression/);
});

Deno.test("timestamp formats: no field twice, bounded widths, a long value is unparseable at once", () => {
  assert.throws(() => checkTimestampFormat("yyyy yy"), /^Error: Cannot use the timestamp format "yyyy yy": yyyy and yy name the same field; each field may appear once$/);
  checkTimestampFormat("dd/MMM/yyyy:HH:mm:ss Z");
  assert.equal(parseTimestamp("10/Oct/2026:13:55:36 -0700", "dd/MMM/yyyy:HH:mm:ss Z"), Date.UTC(2026, 9, 10, 20, 55, 36));
  assert.equal(parseTimestamp("2026-11-01   10:00:00.123", "yyyy-MM-dd HH:mm:ss.S"), Date.UTC(2026, 10, 1, 10, 0, 0, 123));
  // many whitespace runs in the format and a long value: one \s+ per run, the value cut off at 100 characters
  const start = performance.now();
  assert.equal(parseTimestamp(`2026 ${" ".repeat(5_000)}x`, "yyyy \t \t \t \t \t \t \t \t MM"), null);
  assert.equal(parseTimestamp(`${"1".repeat(101)}Z`, "SZ"), null);
  assert.equal(parseTimestamp(`${"1".repeat(90)} 1`, "S H"), null);
  assert.ok(performance.now() - start < 1_000);
});
