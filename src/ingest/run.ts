/**
 * Runs one ingest with its bookkeeping: an aoma.ingest_runs row (running → succeeded/failed with
 * the report as summary), then the feature views refreshed so every analysis sees the new data.
 *
 * @example
 * const report = await runIngest(db, "logs", async (report) => { … upsert batches … });
 */
import type { Db } from "../db/types.ts";
import { IngestReport } from "./report.ts";

export type IngestSource = "git" | "jira" | "logs" | "metrics" | "attempts" | "webhook";

/**
 * Runs `work`, recording the run. `refresh: false` skips the feature refresh (e.g. a batch of a
 * larger run whose last batch refreshes). The work writes in its own transactions (one per batch);
 * a failure leaves every committed batch in place and marks the run failed.
 */
export async function runIngest(
  db: Db,
  source: IngestSource,
  work: (report: IngestReport) => Promise<void>,
  opts: { refresh?: boolean } = {},
): Promise<IngestReport> {
  const report = new IngestReport(source);
  const [{ run_id }] = await db.query<{ run_id: string }>(
    "insert into aoma.ingest_runs (source) values ($1) returning run_id::text",
    [source],
  );
  try {
    await work(report);
    if (opts.refresh !== false) {
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
  }
}
