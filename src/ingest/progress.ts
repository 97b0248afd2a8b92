/**
 * Progress of a long ingest on stderr: on a terminal a one-line bar redrawn in place (`\r`) with the
 * rate and, when the total is known, the percentage and the ETA; otherwise (a pipe, a CI log) one
 * plain line every few seconds. The summary of a finished run is printed with `printSummary`.
 *
 * @example
 * const progress = createProgress("git aoma-mesh", { unit: "commits" });
 * await ingestGit(db, { path: "." }, progress);   // the source calls total/advance/done
 */
import type { IngestReport, Progress } from "./report.ts";

/** A writable text sink (Deno.stderr by default) and whether it is a terminal. */
export interface ProgressStream {
  writeSync(bytes: Uint8Array): number;
  isTerminal(): boolean;
}

/** How the progress is shown. */
export interface ProgressOptions {
  /** Where to write (default Deno.stderr). */
  stream?: ProgressStream;
  /** What is counted, e.g. "lines", "commits", "records" (default "records"). */
  unit?: string;
  /** Seconds between plain lines when the stream is not a terminal (default 5). */
  intervalSeconds?: number;
  /** Milliseconds between bar redraws on a terminal (default 100). */
  redrawMs?: number;
  /** Clock in milliseconds (tests). */
  now?: () => number;
}

const BAR_WIDTH = 24;
const encoder = new TextEncoder();
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

/** "1:05", "12:03:09": a duration in seconds for people. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const two = (x: number) => String(x).padStart(2, "0");
  return h > 0 ? `${h}:${two(m)}:${two(r)}` : `${m}:${two(r)}`;
}

/**
 * Makes a Progress labelled `label`.
 *
 * @example
 * const p = createProgress("logs app.log", { unit: "lines" });
 * p.total(10_000); p.advance(2_500); p.done();
 */
export function createProgress(label: string, opts: ProgressOptions = {}): Progress {
  const stream = opts.stream ?? Deno.stderr;
  const tty = stream.isTerminal();
  const unit = opts.unit ?? "records";
  const now = opts.now ?? (() => performance.now());
  const interval = (opts.intervalSeconds ?? 5) * 1000;
  const redraw = opts.redrawMs ?? 100;
  const started = now();
  let total: number | undefined;
  let done = 0;
  let lastShown = tty ? -Infinity : started;
  let finished = false;
  let drawnWidth = 0;

  const write = (text: string) => {
    try {
      stream.writeSync(encoder.encode(text));
    } catch {
      // a closed stderr must never break an ingest
    }
  };

  const line = (): string => {
    const elapsed = (now() - started) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const parts = [`${label}: ${fmt(done)}${total !== undefined ? `/${fmt(total)}` : ""} ${unit}`];
    if (elapsed >= 0.5) parts.push(`${fmt(rate)} ${unit}/s`);
    if (total !== undefined && total > 0) {
      const share = Math.min(1, done / total);
      const pct = `${(share * 100).toFixed(share < 0.1 ? 1 : 0)}%`;
      if (tty) {
        const full = Math.round(share * BAR_WIDTH);
        parts.unshift(`[${"#".repeat(full)}${"-".repeat(BAR_WIDTH - full)}] ${pct}`);
      } else {
        parts.push(pct);
      }
      if (rate > 0 && done < total) parts.push(`ETA ${formatDuration((total - done) / rate)}`);
    }
    return parts.join("  ");
  };

  const show = (force: boolean) => {
    const t = now();
    if (!force && t - lastShown < (tty ? redraw : interval)) return;
    lastShown = t;
    if (tty) {
      const text = line();
      write(`\r${text}${" ".repeat(Math.max(0, drawnWidth - text.length))}`);
      drawnWidth = text.length;
    } else {
      write(`${line()}\n`);
    }
  };

  return {
    total(n: number) {
      if (Number.isFinite(n) && n >= 0) total = Math.max(total ?? 0, n);
    },
    advance(n: number) {
      if (finished || !(n > 0)) return;
      done += n;
      show(false);
    },
    done() {
      if (finished) return;
      finished = true;
      const elapsed = (now() - started) / 1000;
      // on a terminal, end the bar with a final line; in a log, say how long it took
      if (tty) {
        show(true);
        write("\n");
      } else if (done > 0) {
        write(`${label}: ${fmt(done)} ${unit} in ${formatDuration(elapsed)}\n`);
      }
    },
  };
}

/**
 * Writes the report's human summary (report.format()) to `out` (default stdout).
 *
 * @example
 * printSummary(report); // "git: read 1,204; inserted 1,180, updated 0, unchanged 24, rejected 0"
 */
export function printSummary(report: IngestReport, out: (line: string) => void = console.log): void {
  out(report.format());
}
