/**
 * Runs left `running` by a dead process become `abandoned` at the start of the next ingest run
 * (issue 7, src/ingest/run.ts): the rules on rows of every kind (a dead process on this machine, a
 * reused pid, this very process, another machine with a fresh or a stale heartbeat, rows from before
 * the migration) on both engines; and for real: a process killed with SIGKILL in the middle of its
 * run, on an embedded PGlite folder and on the server — where a run of a live process is left alone
 * while a concurrent run starts.
 */
import assert from "node:assert/strict";
import { openPglite } from "../../src/db/pglite.ts";
import type { Db } from "../../src/db/types.ts";
import { thisProcess } from "../../src/ingest/liveness.ts";
import { runIngest } from "../../src/ingest/run.ts";
import { SERVER_URL, testOnBothEngines } from "../_engines.ts";
import { withScratchDatabase } from "../_engines.ts";

const HANG = new URL("./_hang_ingest.ts", import.meta.url).pathname;

/** A process id that just ended. */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

async function statusOf(db: Db, runId: string): Promise<{ status: string; finished: boolean; notes: string[] }> {
  const [r] = await db.query<{ status: string; finished: boolean; notes: string | null }>(
    "select status, finished_at is not null as finished, (summary->'notes')::text as notes from aoma.ingest_runs where run_id = $1::uuid",
    [runId],
  );
  return { status: r.status, finished: r.finished, notes: r.notes ? JSON.parse(r.notes) : [] };
}

testOnBothEngines("abandoned runs: which running rows the next run marks, and which it leaves alone", "aoma_test_runs", async (t, db) => {
  const me = await thisProcess();
  const ns = me.processId?.replace(/:\d+:\d+$/, "") ?? null;
  const insert = async (processId: string | null, pid: number | null, heartbeat: string | null, started = "now()") => {
    const [r] = await db.query<{ id: string }>(
      `insert into aoma.ingest_runs (source, host, pid, process_id, heartbeat_at, started_at)
       values ('logs', 'test-host', $1, $2, ${heartbeat ?? "null"}, ${started}) returning run_id::text as id`,
      [pid, processId],
    );
    return r.id;
  };

  await t.step({ name: "the rules", ignore: ns === null, fn: async () => {
    const dead = await deadPid();
    const rows = {
      deadProcess: await insert(`${ns}:${dead}:12345`, dead, "now()"),
      reusedPid: await insert(`${ns}:${Deno.pid}:1`, Deno.pid, "now()"), // our pid, another start time
      thisProcess: await insert(me.processId, me.pid, "now()"),
      otherMachineFresh: await insert("0b7c-other-boot:4026531836:77:88", 77, "now()"),
      otherMachineSilent: await insert("0b7c-other-boot:4026531836:78:89", 78, "now() - interval '11 minutes'", "now() - interval '1 hour'"),
      legacySilent: await insert(null, null, null, "now() - interval '1 hour'"),
      legacyFresh: await insert(null, null, null),
    };
    const report = await runIngest(db, "metrics", async () => {}, { refresh: false });
    const want: Record<keyof typeof rows, string> = {
      deadProcess: "abandoned",
      reusedPid: "abandoned",
      thisProcess: "running",
      otherMachineFresh: "running",
      otherMachineSilent: "abandoned",
      legacySilent: "abandoned",
      legacyFresh: "running",
    };
    for (const [name, id] of Object.entries(rows)) {
      const s = await statusOf(db, id);
      assert.equal(s.status, want[name as keyof typeof rows], name);
      assert.equal(s.finished, s.status === "abandoned", name);
    }
    assert.deepEqual((await statusOf(db, rows.deadProcess)).notes, [
      `abandoned: its process (pid ${dead} on test-host) ended without finishing the run`,
    ]);
    assert.match((await statusOf(db, rows.otherMachineSilent)).notes[0], /^abandoned: no heartbeat since .* \(more than 600 seconds\)$/);
    assert.match(report.notes[0], /^marked 4 earlier run\(s\) abandoned: /);
    // the run itself recorded this process
    const [own] = await db.query<{ status: string; pid: number; process_id: string; beat: boolean }>(
      `select status, pid, process_id, heartbeat_at is not null as beat from aoma.ingest_runs
       where source = 'metrics' order by started_at desc limit 1`,
    );
    assert.deepEqual(own, { status: "succeeded", pid: Deno.pid, process_id: me.processId, beat: true });
    // a second run finds nothing more to mark
    const again = await runIngest(db, "metrics", async () => {}, { refresh: false });
    assert.ok(!again.notes.some((n) => n.startsWith("marked")));
    await db.query("update aoma.ingest_runs set status = 'failed' where status = 'running'");
  } });

  await t.step("the status check allows abandoned and nothing else new", async () => {
    await assert.rejects(db.query("insert into aoma.ingest_runs (source, status) values ('logs', 'bogus')"), /ingest_runs_status_check/);
  });
});

/** Starts _hang_ingest.ts and waits until its run is recorded; returns the child and its pid. */
async function startHanging(args: string[]): Promise<{ child: Deno.ChildProcess; pid: number }> {
  const child = new Deno.Command(Deno.execPath(), { args: ["run", "-A", HANG, ...args], stdout: "piped", stderr: "piped" }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!/running (\d+)/.test(out)) {
    const { value, done } = await reader.read();
    if (done) {
      const err = await new Response(child.stderr).text();
      throw new Error(`the hanging ingest ended early: ${out} ${err}`);
    }
    out += value;
  }
  reader.releaseLock();
  return { child, pid: Number(/running (\d+)/.exec(out)![1]) };
}

async function kill9(child: Deno.ChildProcess): Promise<void> {
  child.kill("SIGKILL");
  const status = await child.status;
  assert.equal(status.signal, "SIGKILL");
  await child.stdout.cancel().catch(() => {});
  await child.stderr.cancel().catch(() => {});
}

async function runOfPid(db: Db, pid: number): Promise<{ status: string; notes: string[] }> {
  const [r] = await db.query<{ status: string; notes: string | null }>(
    "select status, (summary->'notes')::text as notes from aoma.ingest_runs where pid = $1",
    [pid],
  );
  return { status: r.status, notes: r.notes ? JSON.parse(r.notes) : [] };
}

Deno.test({
  name: "SIGKILL during a run (embedded PGlite folder): the next run marks it abandoned",
  ignore: (await thisProcess()).processId === null,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    const { child, pid } = await startHanging(["--pglite", dir]);
    await kill9(child);
    const db = await openPglite(dir);
    try {
      assert.equal((await runOfPid(db, pid)).status, "running", "killed: nobody said otherwise");
      const report = await runIngest(db, "logs", async () => {}, { refresh: false });
      assert.match(report.notes[0], /^marked 1 earlier run\(s\) abandoned: /);
      const killed = await runOfPid(db, pid);
      assert.equal(killed.status, "abandoned");
      assert.match(killed.notes[0], new RegExp(`^abandoned: its process \\(pid ${pid} on .+\\) ended without finishing the run$`));
    } finally {
      await db.close();
    }
  },
});

Deno.test({
  name: "SIGKILL during a run (server, scratch database aoma_test_runs_kill): a live run is left alone, the killed one marked",
  ignore: !SERVER_URL || (await thisProcess()).processId === null,
  sanitizeResources: false,
  async fn() {
    await withScratchDatabase("aoma_test_runs_kill", async (db, url) => {
      const { child, pid } = await startHanging(["--url", url]);
      try {
        // a concurrent run while the other process is alive and mid-run: it stays running
        const meanwhile = await runIngest(db, "metrics", async () => {}, { refresh: false });
        assert.ok(!meanwhile.notes.some((n) => n.startsWith("marked")));
        assert.equal((await runOfPid(db, pid)).status, "running");
      } finally {
        await kill9(child);
      }
      await runIngest(db, "metrics", async () => {}, { refresh: false });
      assert.equal((await runOfPid(db, pid)).status, "abandoned");
    });
  },
});
