/**
 * The in-process schedule of the anomaly monitors, for a database without pg_cron: PGlite under
 * `npm start` (src/cli/start.ts). A server with pg_cron runs the same SQL function every 15 minutes
 * (sql/81_anomaly_monitors.sql, job aoma_anomaly_monitors); this module is the embedded engine's
 * stand-in: every `everyMs` (default 15 min, first run `initialDelayMs` after the start, default
 * 2 min) it calls `analytics.run_anomaly_monitors('in-process')` as service_role, which scores only
 * the periods that arrived since each monitor's last run (a run with nothing new writes nothing).
 * A failed run is logged and retried at the next tick; a monitor's own failure is recorded by SQL in
 * analytics.anomaly_monitor_runs. The timer is injectable (tests).
 *
 * @example
 * const schedule = startAnomalySchedule(db);
 * // … on shutdown:
 * await schedule.stop();
 */
import { asRole } from "../db/caller.ts";
import type { Db } from "../db/types.ts";

/** One monitor's result of a run (analytics.run_anomaly_monitors). */
export interface MonitorRunResult {
  monitor_name: string;
  status: "succeeded" | "failed";
  points_scored: number;
  anomalies_found: number;
  error: string | null;
}

/** Settings of the schedule; everything is optional. */
export interface AnomalyScheduleOptions {
  everyMs?: number;
  initialDelayMs?: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  log?: (line: string) => void;
}

/** A running schedule. */
export interface AnomalySchedule {
  /** Runs the monitors now (the timer calls it too); resolves with what each monitor answered. */
  check(): Promise<MonitorRunResult[]>;
  /** Disarms the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

/** Starts the schedule on `db` (see the module comment). */
export function startAnomalySchedule(db: Db, opts: AnomalyScheduleOptions = {}): AnomalySchedule {
  const everyMs = opts.everyMs ?? 15 * 60_000;
  const setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  const clearTimer = opts.clearTimer ?? ((h) => clearTimeout(h as number));
  const log = opts.log ?? console.log;
  const writer = asRole(db, "service_role");
  let handle: unknown = null;
  let running: Promise<MonitorRunResult[]> | null = null;
  let stopped = false;

  const arm = (ms: number) => {
    if (!stopped) handle = setTimer(() => void check(), ms);
  };
  const check = (): Promise<MonitorRunResult[]> => {
    running ??= (async () => {
      try {
        const rows = await writer.query<MonitorRunResult>(
          "select monitor_name, status, points_scored, anomalies_found, error from analytics.run_anomaly_monitors('in-process')",
        );
        for (const r of rows) {
          log(r.status === "succeeded"
            ? `Anomaly monitor ${r.monitor_name}: ${r.points_scored} periods scored, ${r.anomalies_found} anomalies stored.`
            : `Anomaly monitor ${r.monitor_name} failed: ${r.error}`);
        }
        return rows;
      } catch (e) {
        log(`Anomaly monitors: the run failed (${(e as Error).message}); retrying at the next tick.`);
        return [];
      } finally {
        running = null;
        arm(everyMs);
      }
    })();
    return running;
  };
  arm(opts.initialDelayMs ?? 120_000);
  return {
    check,
    async stop() {
      stopped = true;
      if (handle !== null) clearTimer(handle);
      await running?.catch(() => {});
    },
  };
}
