/**
 * Wording shared by the insight writers: numbers as people read them, lags as time phrases, feature
 * names as labels. Formatting only: every value is passed in from SQL, nothing is computed here.
 */

/** Feature-view grain. */
export type Grain = "hour" | "day" | "week";

const UNIT: Record<Grain, [string, string]> = { hour: ["hour", "hours"], day: ["day", "days"], week: ["week", "weeks"] };

/**
 * The lag as a phrase: lag 0 "the same day", 1 "the previous day", k "k days earlier" (hours / weeks
 * for the other grains).
 *
 * @example
 * lagPhrase(1, "day"); // "the previous day"
 * lagPhrase(3, "hour"); // "3 hours earlier"
 */
export function lagPhrase(lag: number, grain: Grain): string {
  const [one, many] = UNIT[grain];
  if (lag === 0) return `the same ${one}`;
  if (lag === 1) return `the previous ${one}`;
  return `${lag} ${many} earlier`;
}

/** How far ahead a lagged feature leads: 1 → "one day later", k → "k days later". */
export function leadPhrase(lag: number, grain: Grain): string {
  const [one, many] = UNIT[grain];
  return lag === 1 ? `one ${one} later` : `${lag} ${many} later`;
}

/** "daily", "hourly" or "weekly". */
export function grainAdjective(grain: Grain): string {
  return grain === "hour" ? "hourly" : grain === "day" ? "daily" : "weekly";
}

/** "1 day", "90 days", "1 hour", … */
export function periods(n: number, grain: Grain): string {
  const [one, many] = UNIT[grain];
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

/** An integer with thousands separators: 15118 → "15,118". */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** A correlation coefficient with two decimals and a true minus sign: −0.31. */
export function formatR(r: number): string {
  const s = Math.abs(r).toFixed(2);
  return r < 0 && s !== "0.00" ? `\u2212${s}` : s;
}

/**
 * "q < 0.001", "q = 0.012", "q = 0.26": two significant digits, more when rounding would move the value
 * across the 0.05 bar (0.0497 prints as "0.0497", never as "0.050").
 */
export function formatP(label: string, p: number): string {
  if (p < 0.001) return `${label} < 0.001`;
  let digits = 2;
  let s = p.toPrecision(digits);
  while (digits < 6 && (Number(s) < 0.05) !== (p < 0.05)) s = p.toPrecision(++digits);
  return `${label} = ${Number(s) >= 0.1 ? Number(s).toFixed(2) : String(Number(s))}`;
}

/** "95% CI 0.45 to 0.73". */
export function formatCi(lo: number, hi: number): string {
  return `95% CI ${formatR(lo)} to ${formatR(hi)}`;
}

/**
 * A feature name as a label: "asset_volume" → "asset volume", "processing_time_avg" → "average
 * processing time", "tickets_bug" → "bug tickets", "is_monday" → "Mondays", "is_weekend" → "weekends".
 */
export function featureLabel(name: string): string {
  const day = /^is_(monday|tuesday|wednesday|thursday|friday|saturday|sunday)$/.exec(name);
  if (day) return `${day[1][0].toUpperCase()}${day[1].slice(1)}s`;
  if (name === "is_weekend") return "weekends";
  if (name === "tickets_priority_high") return "high-priority tickets";
  const tickets = /^tickets_(bug|story|task|incident)$/.exec(name);
  if (tickets) return `${tickets[1]} tickets`;
  const avg = /^(.*)_avg$/.exec(name);
  if (avg) return `average ${avg[1].replace(/_/g, " ")}`;
  return name.replace(/_/g, " ");
}
