/**
 * The in-process schedule of the forecast jobs, for a database without pg_cron: PGlite under
 * `npm start` (src/cli/start.ts). A server with pg_cron runs the same SQL function from its own
 * schedule (sql/65_forecast_ledger.sql); this module is the embedded engine's stand-in.
 *
 * Each enabled job of analytics.forecast_jobs runs every day at its `run_at` (UTC, default 02:00):
 * `analytics.run_forecast_job(day, 'in-process', job)` as service_role, through the database's own
 * queue (PGlite runs one transaction at a time, so a job waits for, and then holds up, tool calls).
 * A job counts as due for the latest day whose run time has passed; that day runs when it is later
 * than the job's latest attempted day in analytics.forecast_job_runs — on time, or as a catch-up
 * when the server was down at 02:00 (once, `initialDelayMs` after the start). A job that never ran
 * runs only on time (within `recheckMs` of its run time), so a fresh database (the demo, a test
 * server) is not written by the schedule at start-up. A day at or before the latest attempted one
 * (run by this process, an earlier one or by hand) is never run again; neither is a skipped day
 * before a catch-up. A failed day is not retried by the schedule: it is recorded
 * with its error (analytics.forecast_job_health) and logged; run it again by hand
 * (`select * from analytics.run_forecast_job('<day>', 'manual')`).
 *
 * The configuration is read at every check, so a changed run_at or a new job takes effect within
 * `recheckMs` (default 10 min) without a restart. The clock and the timer are injectable (tests).
 *
 * @example
 * const schedule = startForecastSchedule(db, { log: console.log });
 * // … on shutdown:
 * await schedule.stop();
 */
import { asRole } from "../db/caller.ts";
import type { Db } from "../db/types.ts";

/** What one job run answered (analytics.run_forecast_job). */
export interface ForecastJobResult {
  jobName: string;
  runDay: string;
  status: "succeeded" | "failed";
  rowsWritten: number;
  seriesForecast: number;
  seriesSkipped: number;
  error: string | null;
  notes: string | null;
}

/** Settings of the schedule; everything is optional. */
export interface ForecastScheduleOptions {
  /** The clock (default: the system clock). */
  now?: () => Date;
  /** Arms a timer (default setTimeout); returns a handle for clearTimer. */
  setTimer?: (fn: () => void, ms: number) => unknown;
  /** Disarms a timer (default clearTimeout). */
  clearTimer?: (handle: unknown) => void;
  /** Where progress and failures are written (default console.log). */
  log?: (line: string) => void;
  /** Delay before the first check after start, milliseconds (default 60 s: start-up comes first). */
  initialDelayMs?: number;
  /** Longest wait between two checks of the configuration, milliseconds (default 10 min). */
  recheckMs?: number;
}

/** A running schedule. */
export interface ForecastSchedule {
  /**
   * Runs every job due now that has no attempt for its day yet, then arms the timer for the next
   * check; resolves with what the jobs answered (the timer calls it too).
   */
  check(): Promise<ForecastJobResult[]>;
  /** When the timer fires next (null when stopped). */
  readonly nextCheckAt: Date | null;
  /** Disarms the timer and waits for a job that is running. */
  stop(): Promise<void>;
}

const DAY_MS = 86_400_000;

/** Milliseconds after 00:00 UTC of a job's run time "HH:MM" (or "HH:MM:SS"). */
function runAtMs(runAt: string): number {
  const m = /^(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(runAt);
  if (!m) throw new Error(`Cannot read the run time "${runAt}": expected HH:MM (UTC).`);
  return ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3] ?? 0)) * 1000;
}

/** The UTC day (YYYY-MM-DD) whose run time is the latest one at or before `now`. */
export function dueDay(runAt: string, now: Date): string {
  const midnight = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
  const day = now.getTime() - midnight >= runAtMs(runAt) ? midnight : midnight - DAY_MS;
  return new Date(day).toISOString().slice(0, 10);
}

/** The first run time strictly after `now` (UTC). */
export function nextRunAt(runAt: string, now: Date): Date {
  const midnight = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
  const today = midnight + runAtMs(runAt);
  return new Date(today > now.getTime() ? today : today + DAY_MS);
}

interface JobRow {
  job_name: string;
  run_at: string;
}

/**
 * Starts the schedule on `db` (an embedded database without pg_cron; see the module comment).
 * The first check runs after `initialDelayMs`.
 */
export function startForecastSchedule(db: Db, opts: ForecastScheduleOptions = {}): ForecastSchedule {
  const now = opts.now ?? (() => new Date());
  const setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  const clearTimer = opts.clearTimer ?? ((h) => clearTimeout(h as number));
  const log = opts.log ?? ((line) => console.log(line));
  const recheckMs = opts.recheckMs ?? 600_000;
  const writer = asRole(db, "service_role");
  let timer: unknown = undefined;
  let nextCheckAt: Date | null = null;
  let stopped = false;
  let running: Promise<ForecastJobResult[]> | null = null;

  const arm = (ms: number) => {
    if (stopped) return;
    nextCheckAt = new Date(now().getTime() + ms);
    timer = setTimer(() => {
      timer = undefined;
      void check();
    }, ms);
  };

  // next wake-up: the earliest run time of an enabled job, or the recheck interval
  let runTimes: string[] = [];
  const untilNext = () => {
    const t = now();
    const next = Math.min(...runTimes.map((r) => nextRunAt(r, t).getTime() - t.getTime()), recheckMs);
    return Math.max(0, next);
  };

  const runDue = async (): Promise<ForecastJobResult[]> => {
    const t = now();
    const jobs = await writer.query<JobRow>(
      "select job_name, to_char(run_at, 'HH24:MI:SS') as run_at from analytics.forecast_jobs where enabled order by job_name",
    );
    runTimes = jobs.map((j) => j.run_at);
    const results: ForecastJobResult[] = [];
    for (const job of jobs) {
      if (stopped) break;
      const day = dueDay(job.run_at, t);
      // the job's latest attempted day: a due day at or before it is done (or older than the last run)
      const [{ last }] = await writer.query<{ last: string | null }>(
        "select to_char(max(run_day), 'YYYY-MM-DD') as last from analytics.forecast_job_runs where job_name = $1",
        [job.job_name],
      );
      const onTime = t.getTime() - (Date.parse(`${day}T00:00:00Z`) + runAtMs(job.run_at)) < recheckMs;
      if (last === null ? !onTime : last >= day) continue;
      const started = performance.now();
      try {
        const [r] = await writer.query<{
          status: "succeeded" | "failed";
          rows_written: number;
          series_forecast: number;
          series_skipped: number;
          error: string | null;
          notes: string | null;
        }>("select * from analytics.run_forecast_job($1::date, 'in-process', $2)", [day, job.job_name]);
        const result: ForecastJobResult = {
          jobName: job.job_name,
          runDay: day,
          status: r.status,
          rowsWritten: r.rows_written,
          seriesForecast: r.series_forecast,
          seriesSkipped: r.series_skipped,
          error: r.error,
          notes: r.notes,
        };
        results.push(result);
        const secs = ((performance.now() - started) / 1000).toFixed(1);
        log(r.status === "succeeded"
          ? `Forecast job ${job.job_name} for ${day} (in-process schedule): ${r.rows_written} forecasts of ${r.series_forecast} features stored in ${secs} s` +
            (r.series_skipped ? `; ${r.series_skipped} skipped: ${r.notes}` : "")
          : `Forecast job ${job.job_name} for ${day} (in-process schedule) failed after ${secs} s: ${r.error}` +
            (r.notes ? ` (${r.notes})` : ""));
      } catch (e) {
        // the call itself was refused (database closed, job removed meanwhile): nothing was recorded
        log(`Forecast job ${job.job_name} for ${day} (in-process schedule) could not run: ${(e as Error).message}`);
      }
    }
    return results;
  };

  const check = (): Promise<ForecastJobResult[]> => {
    if (stopped) return Promise.resolve([]);
    if (running) return running;
    running = runDue()
      .catch((e) => {
        log(`Forecast schedule: cannot read the forecast jobs: ${(e as Error).message}`);
        return [];
      })
      .finally(() => {
        running = null;
        // the next check: the earliest run time, or the recheck interval
        if (timer !== undefined) clearTimer(timer);
        timer = undefined;
        arm(untilNext());
      });
    return running;
  };

  arm(opts.initialDelayMs ?? 60_000);
  return {
    check,
    get nextCheckAt() {
      return nextCheckAt;
    },
    async stop() {
      stopped = true;
      nextCheckAt = null;
      if (timer !== undefined) clearTimer(timer);
      timer = undefined;
      await running;
    },
  };
}
