/**
 * Shared pieces of the demo generator: time helpers, message templates and their slots, and the
 * plan of the days (weekday, volumes, effect multipliers).
 * Part of the generator in src/demo/generate.ts (see there for the whole picture).
 */
import { Rng } from "./random.ts";
import { createHash } from "node:crypto";
import truth from "./truth.json" with { type: "json" };

/** "planted": the effects of truth.json are in the data; "null": none of them is. */
export type DemoVariant = "planted" | "null";

// ───────────────────────────── helpers ─────────────────────────────

export const MIN = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

export const iso = (ms: number): string => new Date(ms).toISOString();
export const dayMs = (date: string): number => Date.parse(`${date}T00:00:00Z`);
export const SCALE = [1, 10, 100, 1000, 10_000, 100_000];
/** Rounds to `digits` decimals with basic arithmetic only (exact on every engine). */
export const round = (x: number, digits: number): number => Math.round(x * SCALE[digits]) / SCALE[digits];

/** left(md5(template), 16): the template id the schema prescribes. */
export function templateId(template: string): string {
  return createHash("md5").update(template).digest("hex").slice(0, 16);
}

export function pickKey<K extends string>(rng: Rng, weights: Record<K, number>): K {
  const keys = Object.keys(weights) as K[];
  return keys[rng.weightedIndex(keys.map((k) => weights[k]))];
}

/** A random instant (whole seconds) inside the UTC day starting at `start`, hour by `shape`. */
export function timeInDay(rng: Rng, start: number, shape: readonly number[]): number {
  return start + rng.weightedIndex(shape) * HOUR + rng.int(3600) * 1000;
}

/** Stable sort by a numeric key, ties kept in generation order. */
export function sortBy<T>(items: T[], key: (t: T) => number): T[] {
  return items.map((item, i) => ({ item, i, k: key(item) }))
    .sort((a, b) => a.k - b.k || a.i - b.i)
    .map((x) => x.item);
}

/** Index of the last element of ascending `sorted` that is <= x, or -1. */
export function lastAtOrBefore(sorted: readonly number[], x: number): number {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

export function meanSd(xs: readonly number[]): { mean: number; sd: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.reduce((a, b) => a + (b - mean) * (b - mean), 0) / Math.max(1, xs.length - 1);
  return { mean: round(mean, 4), sd: round(Math.sqrt(v), 4) };
}

// ───────────────────────────── message templates ─────────────────────────────

export interface SlotContext {
  assetId?: string;
  assetType?: string;
}

export const EXT: Record<string, string> = {
  WAV: "wav",
  MP4: "mp4",
  DDP: "ddp",
  "360RA": "mp4",
  FLAC: "flac",
  MOV: "mov",
  JPG: "jpg",
  PDF: "pdf",
};

export const randomAssetId = (rng: Rng) => `AST-${String(rng.int(100_000_000)).padStart(8, "0")}`;

/** How each masked slot of a template is filled. */
export const SLOTS: Record<string, (rng: Rng, ctx: SlotContext) => string> = {
  asset_id: (rng, ctx) => ctx.assetId ?? randomAssetId(rng),
  exit_code: (rng) => rng.choice(["1", "137", "139", "234", "255"]),
  timeout_ms: (rng) => rng.choice(["5000", "10000", "30000", "60000"]),
  storage_host: (rng) => `storage-${1 + rng.int(8)}.aoma.internal`,
  asset_path: (rng, ctx) =>
    `/mnt/assets/${ctx.assetId ?? randomAssetId(rng)}/source.${EXT[ctx.assetType ?? "WAV"] ?? "bin"}`,
  md5: (rng) => rng.hex(32),
  metadata_field: (rng) => rng.choice(["'ISRC'", "'UPC'", "'ReleaseDate'", "'LabelName'", "'Territory'"]),
  s3_key: (rng, ctx) => `ingest/${ctx.assetId ?? randomAssetId(rng)}/part-${rng.int(64)}.bin`,
  upload_task: (rng) => rng.choice(truth.processing.ordinary_upload_tasks),
  megabytes: (rng) => rng.choice(["512", "1024", "2048", "4096", "8192"]),
  user: (rng) => `user-${1000 + rng.int(9000)}`,
  bytes: (rng) => String(Math.round(rng.lognormal(16, 1.5))),
  job_id: (rng) => `job-${rng.hex(8)}`,
  duration_ms: (rng) => String(Math.round(rng.lognormal(7, 1))),
  sync_target: (rng) => rng.choice(["'jira'", "'dam'", "'royalty-ledger'", "'catalog'"]),
  count: (rng) => String(1 + rng.int(5000)),
  ip: (rng) => `10.${rng.int(256)}.${rng.int(256)}.${rng.int(256)}`,
  cache_name: (rng) => rng.choice(["'territories'", "'labels'", "'asset-types'", "'users'"]),
  table_name: (rng) => rng.choice(["'assets'", "'processing_jobs'", "'metadata_fields'", "'upload_sessions'"]),
  slow_ms: (rng) => String(1000 + rng.int(9000)),
  retry: (rng) => String(1 + rng.int(4)),
  percent: (rng) => String(80 + rng.int(19)),
  volume_path: (rng) => rng.choice(["/data/vol1", "/data/vol2", "/data/vol3"]),
};

export interface Filled {
  template: string;
  templateId: string;
  message: string;
  params: string[];
}

/** Fills the <*> slots of `template` in order with the given values. */
export function instantiate(template: string, params: string[]): Filled {
  const parts = template.split("<*>");
  if (parts.length - 1 !== params.length) {
    throw new Error(
      `Cannot fill template "${template}": it has ${parts.length - 1} slots, got ${params.length} values`,
    );
  }
  let message = parts[0];
  for (let i = 0; i < params.length; i++) message += params[i] + parts[i + 1];
  return { template, templateId: templateId(template), message, params };
}

export function fill(rng: Rng, t: { template: string; slots: string[] }, ctx: SlotContext): Filled {
  return instantiate(t.template, t.slots.map((s) => SLOTS[s](rng, ctx)));
}

// ───────────────────────────── the days ─────────────────────────────

export interface Day {
  index: number;
  start: number;
  date: string;
  weekday: number;
  monday: boolean;
  weekend: boolean;
  volume: number;
  serviceCommits: number;
  highVolumePrev: boolean;
  highCommits: boolean;
  /** Product of the planted multipliers of the day (used by the planted variant only). */
  multiplier: number;
}

export function planDays(seed: number): Day[] {
  const { start_date, days: n } = truth.calendar;
  const fx = truth.effects;
  const volRng = Rng.derive(seed, "asset-volume");
  const scRng = Rng.derive(seed, "service-commits");
  const days: Day[] = [];
  for (let i = 0; i < n; i++) {
    const start = dayMs(start_date) + i * DAY;
    const weekday = new Date(start).getUTCDay();
    const volume = Math.max(0, Math.round(volRng.normal(truth.asset_volume.daily_mean, truth.asset_volume.daily_sd)));
    const serviceCommits = scRng.negbin(truth.commits.service_per_day_mean, truth.commits.service_per_day_sd);
    const prev = days[i - 1];
    const highVolumePrev = prev !== undefined && prev.volume > fx.asset_volume.threshold;
    const highCommits = serviceCommits > fx.service_commits.threshold;
    const monday = weekday === 1;
    let multiplier = 1;
    if (monday) multiplier *= fx.monday.multiplier;
    if (highVolumePrev) multiplier *= fx.asset_volume.multiplier;
    if (highCommits) multiplier *= fx.service_commits.multiplier;
    days.push({
      index: i,
      start,
      date: iso(start).slice(0, 10),
      weekday,
      monday,
      weekend: weekday === 0 || weekday === 6,
      volume,
      serviceCommits,
      highVolumePrev,
      highCommits,
      multiplier,
    });
  }
  const windowStart = days[n - fx.cohort_360ra.window_days].date;
  if (windowStart !== fx.cohort_360ra.window_start) {
    throw new Error(
      `Cannot generate the demo: truth.json says the 360RA window starts ${fx.cohort_360ra.window_start}, the calendar gives ${windowStart}`,
    );
  }
  return days;
}
