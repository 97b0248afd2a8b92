/**
 * Runs one ingest with its bookkeeping: an aoma.ingest_runs row (running → succeeded/failed with
 * the report as summary), then the feature views refreshed so every analysis sees the new data.
 *
 * A run killed without a chance to say so (SIGKILL, OOM, power loss) would stay `running` forever,
 * so every run records its process (host, pid, process identity: liveness.ts) and writes a
 * heartbeat every RUN_HEARTBEAT_MS; and every run starts by marking `abandoned` the runs whose
 * process certainly ended (same machine: no such live process) or whose heartbeat is older than
 * RUN_ABANDON_AFTER_MS (any machine). A live run — of this process or another, here or elsewhere —
 * keeps its heartbeat fresh and is never marked; should one be marked all the same (its process was
 * suspended past the limit), its next heartbeat sets it back to running, and its end writes its
 * real status.
 *
 * @example
 * const report = await runIngest(db, "logs", async (report) => { … upsert batches … });
 */
import type { Db, Queryable } from "../db/types.ts";
import { removeDemoBeforeIngest } from "../demo/load.ts";
import { processGone, thisProcess } from "./liveness.ts";
import { IngestReport } from "./report.ts";

export type IngestSource = "git" | "jira" | "logs" | "metrics" | "attempts" | "webhook";

/** How often a running run writes its heartbeat. */
export const RUN_HEARTBEAT_MS = 30_000;
/** A running run whose heartbeat is older than this is abandoned (20 missed heartbeats). */
export const RUN_ABANDON_AFTER_MS = 10 * 60_000;

/**
 * Marks `abandoned` the running runs whose process ended (judged from this machine, liveness.ts)
 * or whose heartbeat (or start, for rows without one) is older than `silentMs`. Returns their ids.
 *
 * @example
 * await markAbandonedRuns(db); // ["5f0c…"]
 */
export async function markAbandonedRuns(db: Queryable, silentMs: number = RUN_ABANDON_AFTER_MS): Promise<string[]> {
  const running = await db.query<{ run_id: string; process_id: string }>(
    "select run_id::text, process_id from aoma.ingest_runs where status = 'running' and process_id is not null",
  );
  const gone: string[] = [];
  for (const r of running) if (await processGone(r.process_id)) gone.push(r.run_id);
  const rows = await db.query<{ run_id: string }>(
    `update aoma.ingest_runs
        set status = 'abandoned', finished_at = now(),
            summary = jsonb_build_object('source', source, 'notes', jsonb_build_array(
              case when run_id = any($1::uuid[])
                   then format('abandoned: its process (pid %s on %s) ended without finishing the run', pid, coalesce(host, 'an unknown host'))
                   else format('abandoned: no heartbeat since %s (more than %s seconds)', coalesce(heartbeat_at, started_at), $2::int)
              end))
      where status = 'running'
        and (run_id = any($1::uuid[]) or coalesce(heartbeat_at, started_at) < now() - make_interval(secs => $2::int))
      returning run_id::text`,
    [gone, Math.round(silentMs / 1000)],
  );
  return rows.map((r) => r.run_id);
}

/**
 * Runs `work`, recording the run. A database holding the demo quarter has it removed first (demo and
 * real data never share a database; the report says so). `refresh: false` skips the feature refresh (e.g. a batch of a
 * larger run whose last batch refreshes); `refresh: { deferred: note }` leaves it to the caller, who
 * refreshes later (webhook deliveries, debounced: src/ingest/webhooks.ts), and reports the note. The
 * refresh is incremental (analytics.refresh_features: only the hours the writes touched). The work writes in its own transactions (one per batch);
 * a failure leaves every committed batch in place and marks the run failed. Runs of dead processes
 * are marked abandoned first (markAbandonedRuns).
 */
export async function runIngest(
  db: Db,
  source: IngestSource,
  work: (report: IngestReport) => Promise<void>,
  opts: { refresh?: boolean | { deferred: string } } = {},
): Promise<IngestReport> {
  const report = new IngestReport(source);
  const abandoned = await markAbandonedRuns(db);
  if (abandoned.length) report.notes.push(`marked ${abandoned.length} earlier run(s) abandoned: ${abandoned.join(", ")}`);
  const demoRemoved = await db.transaction((tx) => removeDemoBeforeIngest(tx));
  if (demoRemoved) report.notes.push(demoRemoved);
  const me = await thisProcess();
  const [{ run_id }] = await db.query<{ run_id: string }>(
    `insert into aoma.ingest_runs (source, host, pid, process_id, heartbeat_at) values ($1, $2, $3, $4, now())
     returning run_id::text`,
    [source, me.host, me.pid, me.processId],
  );
  const heartbeat = setInterval(() => {
    db.query(
      `update aoma.ingest_runs set heartbeat_at = now(), status = 'running', finished_at = null
        where run_id = $1::uuid and status in ('running', 'abandoned')`,
      [run_id],
    ).catch(() => {}); // a missed heartbeat only matters after RUN_ABANDON_AFTER_MS of them
  }, RUN_HEARTBEAT_MS);
  Deno.unrefTimer(heartbeat);
  try {
    await work(report);
    if (typeof opts.refresh === "object") {
      report.notes.push(opts.refresh.deferred);
    } else if (opts.refresh !== false) {
      await db.query("select * from analytics.refresh_features()");
    } else {
      report.notes.push("feature views not refreshed: run `select * from analytics.refresh_features()`");
    }
    await db.query(
      "update aoma.ingest_runs set status = 'succeeded', finished_at = now(), summary = $2::text::jsonb where run_id = $1::uuid",
      [run_id, JSON.stringify(report)],
    );
    return report;
  } catch (e) {
    report.notes.push(`failed: ${(e as Error).message}`);
    await db.query(
      "update aoma.ingest_runs set status = 'failed', finished_at = now(), summary = $2::text::jsonb where run_id = $1::uuid",
      [run_id, JSON.stringify(report)],
    ).catch(() => {});
    throw e;
  } finally {
    clearInterval(heartbeat);
  }
}
