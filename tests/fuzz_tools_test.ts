/**
 * Fuzzes every MCP tool over real HTTP. A seeded generator (its own PRNG; the seed is fixed and
 * printed) builds more than 2,000 tool calls from each tool's advertised JSON Schema: wrong types,
 * boundary numbers, NaN-like strings, strings at and past their length limits and near the
 * argument-size limit, NUL bytes, unpaired surrogates, emoji, dates at 0000/0001/9999/10000 and in
 * time zones, duplicated names, unknown keys, and every catalog name of every grain
 * (analytics.feature_catalog). Non-object `arguments` and hand-written bodies (duplicate keys,
 * 1e999, __proto__) go as raw JSON-RPC over fetch, since the SDK client would refuse some of them.
 * The calls run with bounded concurrency against the gateway as tests/mcp_fixture.ts starts it, on
 * the planted demo quarter: on PGlite, and on a scratch database of the server when
 * AOMA_TEST_DB_URL is set.
 *
 * Asserts: no answer shows a raw database error (SQLSTATE, "database error", a stack frame); no
 * JSON-RPC error (never -32603; only non-object `arguments` may get -32602, and then with one
 * clean sentence); every other answer is a result that matches the tool's output schema, or
 * `isError` with one sentence that ends in a period and says no clause twice; every catalog name
 * runs with its grain; and every table of the aoma and analytics schemas has the same rows (count
 * and checksum) afterwards. A failure lists the problems grouped, with examples and the seed.
 *
 * The argument validators of src/tools/args.ts are also checked against independent oracles
 * (JavaScript's Date, String#isWellFormed) on generated inputs.
 */
import assert from "node:assert/strict";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Db } from "../src/db/types.ts";
import { loadDemo } from "../src/demo/load.ts";
import { startServer } from "../src/server/gateway.ts";
import { FIRST_DAY, LAST_DAY, parseIsoDay, textProblem } from "../src/tools/args.ts";
import { TOOLS } from "../src/tools/index.ts";
import { testOnBothEngines } from "./_engines.ts";
import { connectClient, tableChecksums, testAuth } from "./mcp_fixture.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

/** The fixed seed (AOMA_FUZZ_SEED overrides it to explore; a failure prints the seed it ran with). */
const SEED = Number(Deno.env.get("AOMA_FUZZ_SEED") ?? 20261201);
/** Generated calls per tool, besides the catalog sweep and the raw JSON-RPC cases. */
const RANDOM_CALLS = 2000;
/** Calls in flight at once. */
const CONCURRENCY = 4;
/** Share of generated calls sent as raw JSON-RPC instead of through the SDK client. */
const RAW_SHARE = 0.1;

/** A raw database error or internals leaking into an answer. */
const RAW_ERROR = /database error|\(\d{2}[0-9A-Z]{3}\)|SQLSTATE|at .*\.ts:|\n\s+at /;
/** Programming accidents worded into an answer. */
const ACCIDENT = /\bNaN\b|\bundefined\b|\[object \w+\]/;

// ───────────────────────────── a small seeded PRNG ─────────────────────────────

/** mulberry32: a 32-bit state, uniform floats in [0, 1). */
class Rng {
  #a: number;
  constructor(seed: number) {
    this.#a = seed >>> 0;
  }
  next(): number {
    this.#a = (this.#a + 0x6d2b79f5) >>> 0;
    let t = this.#a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

// ───────────────────────────── the generator ─────────────────────────────

/** The part of JSON Schema the tools advertise. */
interface Schema {
  type?: string;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  items?: Schema;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  description?: string;
}

interface CatalogRow {
  grain: string;
  name: string;
  kind: string;
}

/** One call: the arguments (or a hand-written JSON `arguments` text) and how it travels. */
interface Case {
  tool: string;
  via: "sdk" | "raw";
  args?: unknown;
  /** Raw JSON text of `arguments` (raw cases only), for what JSON.stringify cannot write. */
  argsJson?: string;
  /** A call that must succeed (the catalog sweep). */
  mustSucceed?: boolean;
}

const HOSTILE_TEXT = [
  "", " ", "\u0000", "a\u0000b", "asset_volume\u0000", "\ud800", "\udfff", "x\udbff", "\udc00\ud800", "\ud83d",
  "😀", "👨‍👩‍👧‍👦", "asset_volume😀", "e\u0301", "\u202eemulov_tessa", "\u2028", "\ufeffasset_volume", "\uffff",
  "\u0007", "\u001b[31mred", "\u007f", "\u0085", "a\nb", "\t", "NaN", "-NaN", "Infinity", "-Infinity", "-0", "1e309",
  "null", "undefined", "true", "0x1F", "[object Object]", "{}", "[]", "' or 1=1 --", "asset_volume\"; delete from aoma.incidents; --",
  "$1", "%s%n%x", "\\", "../../etc/passwd", " asset_volume", "asset_volume ", "ASSET_VOLUME", "Asset_Volume",
  "database error", "SQLSTATE 22021", "(22P02)", "at foo.ts:1",
];
const NAN_LIKE_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e309", "0x10", "1_000", " 3", "3 ", "", "-0"];
const UNKNOWN_KEYS = [
  "target", "feature", "lag", "from", "to", "start", "grain", "chart", "__proto__", "constructor", "toString",
  "", " ", "\u0000", "\ud800", "😀", "a.b", "x".repeat(1000), "TargetVariable", "MAXLAG", "maxLag\u0000",
];
/** Dates at and past the edges: 0000/0001/9999/10000, zones that roll a day over, bad fields. */
const EDGE_DATES = [
  FIRST_DAY, LAST_DAY, "0000-01-01", "0000-12-31", "10000-01-01", "+010000-01-01", "-000001-01-01",
  "0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00-12:00", "0001-01-01T11:59:59+12:00", "9999-12-31T23:59:59-12:00",
  "9999-12-31T11:59:59-12:00", "9999-12-31T12:00:00-12:00", "9999-12-31T23:59:59.999999999Z", "9999-12-31T23:59:59+14:00",
  "2026-02-29", "2024-02-29", "1900-02-29", "2000-02-29", "2026-13-01", "2026-00-10", "2026-09-31", "2026-9-1",
  "20260901", "2026-09-01T24:00", "2026-09-01T23:60", "2026-09-01T23:59:60Z", "2026-09-01T12:00:00+15:00",
  "2026-09-01T12:00:00-12:01", "2026-09-01T12:00:00+05:60", "2026-09-01T12:00:00.1234567891Z", "2026-09-01t12:00z",
  "2026-09-01 12:00", "2026-09-01T12:00:00+0530", "2026-09-01T12:00:00+05", "２０２６-09-01", " 2026-09-01",
  "2026-09-01\u0000", "2026-09-01\ud800", "yesterday", "NaN", "", "2030-01-01", "1970-01-01", "2026-08-25", "2026-11-24",
];
const ZONES = ["", "Z", "z", "+00:00", "-05:00", "+05:30", "+14:00", "-12:00", "+0900", "-03"];

class Generator {
  constructor(readonly rng: Rng, readonly catalog: CatalogRow[], readonly dataDays: [string, string]) {}

  /** Any value of the wrong kind, at any depth. */
  junk(depth = 0): unknown {
    const r = this.rng;
    switch (r.int(0, depth > 1 ? 5 : 8)) {
      case 0: return null;
      case 1: return r.pick([0, -1, 1, 1.5, -0, 1e308, -1e308, 2 ** 53 + 2, 5e-324]);
      case 2: return r.pick(HOSTILE_TEXT);
      case 3: return r.pick([true, false]);
      case 4: return r.pick(NAN_LIKE_NUMBERS);
      case 5: return this.catalogName();
      case 6: return [];
      case 7: return {};
      default: return r.chance(0.5) ? [this.junk(depth + 1), this.junk(depth + 1)] : { [r.pick(UNKNOWN_KEYS)]: this.junk(depth + 1) };
    }
  }

  catalogName(grain?: string): string {
    const rows = grain ? this.catalog.filter((c) => c.grain === grain) : this.catalog;
    return this.rng.pick(rows).name;
  }

  /** A date, most often inside the data, else at an edge, else arbitrary. */
  date(): string {
    const r = this.rng;
    if (r.chance(0.45)) {
      const [first, last] = this.dataDays.map((d) => Date.parse(`${d}T00:00:00Z`));
      const t = first + r.int(-3, Math.round((last - first) / 86400000) + 3) * 86400000 + r.int(0, 86399) * 1000;
      const iso = new Date(t).toISOString();
      return r.chance(0.5) ? iso.slice(0, 10) : `${iso.slice(0, 19)}${r.pick(ZONES)}`;
    }
    if (r.chance(0.8)) return r.pick(EDGE_DATES);
    const y = String(r.int(0, 10000)).padStart(4, "0");
    const two = (n: number) => String(n).padStart(2, "0");
    return `${y}-${two(r.int(0, 13))}-${two(r.int(0, 32))}${r.chance(0.5) ? `T${two(r.int(0, 24))}:${two(r.int(0, 60))}${r.pick(ZONES)}` : ""}`;
  }

  text(s: Schema): string {
    const r = this.rng;
    const max = s.maxLength ?? 64;
    const roll = r.next();
    if (roll < 0.55) return this.catalogName();
    if (roll < 0.8) return r.pick(HOSTILE_TEXT);
    if (roll < 0.9) return r.pick(["x".repeat(max), "x".repeat(max + 1), "😀".repeat(Math.floor(max / 2)), "😀".repeat(Math.ceil(max / 2) + 1), "é".repeat(max)]);
    if (roll < 0.93) return "y".repeat(r.int(60_000, 70_000)); // around the 64 KiB argument limit
    return this.date();
  }

  number(s: Schema): unknown {
    const r = this.rng;
    const lo = s.minimum ?? -1000;
    const hi = s.maximum ?? 1000;
    if (r.chance(0.55)) return r.int(lo, Math.min(hi, lo + 3));
    return r.pick([lo - 1, lo, hi, hi + 1, 0, -0, 0.5, hi - 0.5, hi + 1e-9, -1, 1e308, -1e308, 2 ** 31, 2 ** 53 + 2, 5e-324, r.int(lo, hi)]);
  }

  list(s: Schema): unknown[] {
    const r = this.rng;
    const max = s.maxItems ?? 100;
    const grain = r.pick(["day", "hour", "week"]);
    const roll = r.next();
    if (roll < 0.5) return Array.from({ length: r.int(1, 4) }, () => this.catalogName(grain));
    if (roll < 0.6) {
      const name = this.catalogName(grain);
      return Array.from({ length: r.int(2, 5) }, () => name); // duplicated names
    }
    if (roll < 0.65) return Array.from({ length: r.pick([max, max + 1]) }, () => this.catalogName("day"));
    if (roll < 0.7) return [];
    return Array.from({ length: r.int(1, 4) }, () => (r.chance(0.5) ? this.value(s.items ?? {}, 1) : this.junk(1)));
  }

  object(s: Schema, depth: number): Record<string, unknown> {
    const r = this.rng;
    const out: Record<string, unknown> = {};
    const keys = Object.keys(s.properties ?? {});
    const take = depth === 0 ? 0.35 : 0.7;
    for (const k of keys) if (r.chance(take)) out[k] = this.value(s.properties![k], depth + 1);
    // an own property even for "__proto__"
    if (r.chance(0.07)) Object.defineProperty(out, r.pick(UNKNOWN_KEYS), { value: this.junk(1), enumerable: true, writable: true, configurable: true });
    if (r.chance(0.02) && keys.length) out[r.pick(keys).toUpperCase()] = this.junk(1);
    return out;
  }

  /** A value for `s`: mostly of its kind (valid or at its edges), sometimes of the wrong kind. */
  value(s: Schema, depth: number): unknown {
    const r = this.rng;
    if (r.chance(0.1)) return this.junk(depth);
    if (s.enum) {
      if (r.chance(0.85)) return r.pick(s.enum);
      const v = String(r.pick(s.enum));
      return r.pick([v.toUpperCase(), ` ${v}`, `${v}\u0000`, v.slice(0, -2), "monthly", "", 1]);
    }
    switch (s.type) {
      case "string": return /ISO date/i.test(s.description ?? "") ? this.date() : this.text(s);
      case "integer":
      case "number": return this.number(s);
      case "boolean": return r.chance(0.9) ? r.chance(0.5) : r.pick(["true", "false", 1, 0]);
      case "array": return this.list(s);
      case "object": return this.object(s, depth);
      default: return this.junk(depth);
    }
  }
}

/**
 * Per tool, how a generated call is kept within the time budget: where the generator left a costly
 * default or chose it, a cheaper value is put in with probability `p` (the chart costs a second or
 * more per call on PGlite; every feature at once a few hundred milliseconds, a short list tens).
 */
const BUDGET: Record<string, (args: Record<string, unknown>, gen: Generator, p: number) => void> = {
  analyze_correlations: (args, gen, p) => {
    if ((args.includeChart === undefined || args.includeChart === true) && gen.rng.chance(p)) args.includeChart = false;
    if (args.features === undefined && gen.rng.chance(p * 0.8)) {
      const grain = ({ hourly: "hour", weekly: "week" } as Record<string, string>)[String(args.aggregationLevel)] ?? "day";
      args.features = Array.from({ length: gen.rng.int(1, 4) }, () => gen.catalogName(grain));
    }
  },
  // fitting exponential smoothing takes a second or more per daily series on PGlite (far more per
  // hourly one): most calls use the seasonal-naive baseline (a full backtest, no fit), hourly always
  generate_forecasts: (args, gen, p) => {
    if ((args.includeChart === undefined || args.includeChart === true) && gen.rng.chance(p)) args.includeChart = false;
    const fits = args.method === undefined || args.method === "auto" || args.method === "ets";
    if (fits && (args.aggregationLevel === "hourly" || gen.rng.chance(p))) args.method = "seasonal_naive";
    if (args.variables === undefined && gen.rng.chance(p * 0.8)) {
      const grain = ({ hourly: "hour", weekly: "week" } as Record<string, string>)[String(args.aggregationLevel)] ?? "day";
      args.variables = Array.from({ length: gen.rng.int(1, 3) }, () => gen.catalogName(grain));
    }
    // a history near its minimum (30) is too short for a weekly season and a backtest: refused, rightly
    if (typeof args.history === "number" && args.history < 60 && gen.rng.chance(p)) delete args.history;
  },
  // a computed model cross-validates four candidates (≈7 s on PGlite): most calls read the stored
  // model instead (source scheduled: its own checks, then one query), about 1 in 100 builds one
  build_predictive_model: (args, gen, p) => {
    if ((args.includeChart === undefined || args.includeChart === true) && gen.rng.chance(p)) args.includeChart = false;
    if (args.source !== "scheduled" && gen.rng.chance(p)) {
      args.source = "scheduled";
      for (const k of ["predictorVariables", "timeWindow", "windowEnd", "predictionHorizon", "modelType", "maxLag"]) delete args[k];
    }
  },
  // a root-cause answer runs the segment search and each cause's evidence (≈1 s on PGlite, the chart another)
  perform_root_cause_analysis: (args, gen, p) => {
    if ((args.includeChart === undefined || args.includeChart === true) && gen.rng.chance(p)) args.includeChart = false;
    if (args.maxDepth === undefined && gen.rng.chance(p * 0.5)) args.maxDepth = 1;
  },
  create_anomaly_detection: (args, gen, p) => {
    if ((args.includeChart === undefined || args.includeChart === true) && gen.rng.chance(p)) args.includeChart = false;
  },
  analyze_failure_patterns: (args, gen, p) => {
    if ((args.includeVisualization === undefined || args.includeVisualization === true) && gen.rng.chance(p)) args.includeVisualization = false;
  },
};

/**
 * Which catalog rows a tool must answer (not refuse) in the sweep. Forecasts: not calendar
 * features (their future is known), not weekly ones (the demo quarter has 14 weeks, too few for a
 * backtest), and only when every name of the call is such a row.
 */
const SWEEP_MUST_SUCCEED: Record<string, (row: CatalogRow) => boolean> = {
  generate_forecasts: (row) => row.kind !== "calendar" && row.grain !== "week",
  // the sweep puts one name in every name-like property (target and predictors alike): refusals are right
  build_predictive_model: () => false,
  // catalog names are not dimensions or scope values: refusals are right
  perform_root_cause_analysis: () => false,
  // a name that is a catalog feature is answered; a filter applies to three daily features only
  create_anomaly_detection: () => false,
};

/**
 * The catalog sweep: one call per catalog row, its name in every name-like property, and enum
 * properties set to the adjective of its grain ("hour" → "hourly", "day" → "daily").
 */
function sweepCases(tool: string, schema: Schema, gen: Generator): Case[] {
  const { catalog, rng } = gen;
  return catalog.map((row) => {
    const args: Record<string, unknown> = {};
    for (const [k, s] of Object.entries(schema.properties ?? {})) {
      if (s.enum) {
        const v = s.enum.find((e) => e === `${row.grain}ly` || e === `${row.grain.replace(/y$/, "i")}ly`);
        if (v !== undefined) args[k] = v;
      } else if (s.type === "string" && !/ISO date/i.test(s.description ?? "")) {
        args[k] = row.name;
      } else if (s.type === "array" && s.items?.type === "string") {
        // a row that must succeed gets companions that must too
        const must = SWEEP_MUST_SUCCEED[tool];
        const same = catalog.filter((c) => c.grain === row.grain && (!must || !must(row) || must(c)));
        args[k] = [row.name, rng.pick(same).name, rng.pick(same).name];
      } else if (s.type === "integer" && s.minimum !== undefined) {
        args[k] = rng.int(s.minimum, s.minimum + 2);
      }
    }
    BUDGET[tool]?.(args, gen, 1);
    return { tool, via: "sdk", args, mustSucceed: SWEEP_MUST_SUCCEED[tool]?.(row) ?? true };
  });
}

/** Non-object `arguments` and bodies JSON.stringify cannot write: raw JSON-RPC only. */
function rawCases(tool: string): Case[] {
  const texts = [
    "null", "[]", "[{}]", "[1,2]", "0", "-1", "1.5", '""', '"text"', '"{\\"maxLag\\":1}"', "true", "false",
    '{"maxLag":1,"maxLag":"x"}', '{"features":["asset_volume"],"features":[]}', '{"maxLag":1e999}', '{"maxLag":-1e999}',
    '{"maxLag":-0}', '{"maxLag":1.0,"includeChart":false}', '{"maxLag":3E0,"includeChart":false}',
    '{"targetVariable":"\\u0000"}', '{"features":["\\ud800"]}', '{"features":["\\udc00\\ud800"]}',
    '{"targetVariable":"\\ud83d\\ude00"}', '{"__proto__":{"maxLag":"x"}}', '{"constructor":{}}',
    '{"timeRange":{"start":"2026-09-01","start":"0000-01-01"}}', '{"timeRange":{"start":"9999-12-31T23:59:59-12:00"}}',
    '{"timeRange":{"start":"0000-01-01"}}',
  ];
  // a computed model takes seconds on PGlite: these texts, sent back to back, would queue several
  // builds past the 20 s wait (a 429, rightly); they test the JSON, so they read the stored model
  const cheap = tool === "build_predictive_model" ? (t: string) => (t.startsWith("{") && t !== "{}" ? `{"source":"scheduled",${t.slice(1)}` : t) : (t: string) => t;
  return [{ tool, via: "raw" }, ...texts.map((argsJson): Case => ({ tool, via: "raw", argsJson: cheap(argsJson) }))];
}

// ───────────────────────────── sending and judging ─────────────────────────────

interface Answer {
  result?: Json;
  /** JSON-RPC error (code, message) or a transport failure (code undefined). */
  error?: { code?: number; message: string };
}

async function send(client: Client, url: string, token: string, c: Case, id: number): Promise<Answer> {
  if (c.via === "sdk") {
    try {
      return { result: await client.callTool({ name: c.tool, arguments: c.args as Record<string, unknown> }) };
    } catch (e) {
      return { error: { code: (e as { code?: number }).code, message: String((e as Error).message) } };
    }
  }
  const args = c.argsJson ?? (c.args === undefined ? undefined : JSON.stringify(c.args));
  const params = `{"name":${JSON.stringify(c.tool)}${args === undefined ? "" : `,"arguments":${args}`}}`;
  const res = await fetch(url, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2025-06-18",
    },
    body: `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":${params}}`,
  });
  const body = await res.text();
  if (res.status !== 200) return { error: { message: `HTTP ${res.status}: ${body.slice(0, 200)}` } };
  const msg = JSON.parse(body);
  return msg.error ? { error: { code: msg.error.code, message: String(msg.error.message) } } : { result: msg.result };
}

/** Every string inside `v` (keys too), longest first: the caller's own words, echoed back. */
function stringsOf(v: unknown, out: string[] = []): string[] {
  if (typeof v === "string") out.push(v);
  else if (Array.isArray(v)) for (const x of v) stringsOf(x, out);
  else if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      out.push(k);
      stringsOf(x, out);
    }
  }
  return out.filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
}

/**
 * `text` without the caller's own strings where it quotes them (as "…" verbatim or JSON-escaped)
 * and without any other quoted span, so the checks judge the server's words only.
 */
function ownWordsOnly(text: string, c: Case): string {
  let t = text;
  for (const s of stringsOf(sentArgs(c))) t = t.split(`"${s}"`).join('"…"').split(JSON.stringify(s)).join('"…"');
  return t.replace(/"[^"\n]*"/g, '"…"');
}

/** The arguments `c` sends, parsed (undefined when it sends none). */
function sentArgs(c: Case): unknown {
  return c.argsJson !== undefined ? JSON.parse(c.argsJson) : c.args;
}

/** True when `c` sends `arguments` that are not an object (null, a list, a string, a number, a boolean). */
function nonObjectArgs(c: Case): boolean {
  const v = sentArgs(c);
  return v !== undefined && (v === null || typeof v !== "object" || Array.isArray(v));
}

/** What is wrong with `text` as the one sentence of a refusal. */
function sentenceProblems(text: string, c: Case): string[] {
  const own = ownWordsOnly(text, c);
  const problems: string[] = [];
  if (own.includes("\n")) problems.push("a refusal of more than one line");
  if (!/\.$/.test(own)) problems.push("a refusal that does not end in a period");
  if (/[.!?]\s+[A-Z]/.test(own)) problems.push("a refusal of more than one sentence");
  const clauses = own.replace(/\.$/, "").split(/;\s+/).map((x) => x.replace(/^Cannot run \w+: /, ""));
  if (new Set(clauses).size !== clauses.length) problems.push("a refusal that says a clause twice");
  return problems;
}

/**
 * What is wrong with the answer to `c`, or [] when nothing is. A JSON-RPC error is wrong, except
 * -32602 with one clean sentence for `arguments` that are not an object (the request itself is
 * then malformed: MCP's CallToolRequest says arguments is an object).
 */
function judge(c: Case, a: Answer, outputSchemas: Map<string, { safeParse(v: unknown): { success: boolean } }>): string[] {
  const texts: string[] = a.error
    ? [a.error.message]
    : (a.result?.content ?? []).filter((x: Json) => x.type === "text").map((x: Json) => String(x.text));
  const problems: string[] = [];
  const own = texts.map((t) => ownWordsOnly(t, c)).join("\n");
  if (RAW_ERROR.test(own)) problems.push(`raw database error or stack: ${own.match(RAW_ERROR)![0]}`);
  if (ACCIDENT.test(own)) problems.push(`programming accident in the text: ${own.match(ACCIDENT)![0]}`);
  if (a.error) {
    const code = a.error.code ?? "(none)";
    if (code === -32602 && nonObjectArgs(c)) return [...problems, ...sentenceProblems(a.error.message, c)];
    return [...problems, `JSON-RPC error ${code}: ${a.error.message.replace(/\s+/g, " ").replace(/\/\d+\//g, "/N/").slice(0, 140)}`];
  }
  const res = a.result;
  if (!texts.length) problems.push("no text content");
  if (res?.isError === true) {
    if (res.content.length !== 1) problems.push(`${res.content.length} content items in a tool error`);
    problems.push(...sentenceProblems(texts[0] ?? "", c));
    if (c.mustSucceed) problems.push("a catalog name with its grain was refused");
  } else {
    const checked = outputSchemas.get(c.tool)?.safeParse(res?.structuredContent);
    if (!checked?.success) problems.push("structuredContent does not match the output schema");
  }
  return problems;
}

/** Failures grouped by problem: how many calls, and the first few of them. */
class Failures {
  #groups = new Map<string, string[]>();
  count = 0;
  add(problem: string, example: string): void {
    const g = this.#groups.get(problem) ?? [];
    g.push(example);
    this.#groups.set(problem, g);
    this.count++;
  }
  report(): string {
    return [...this.#groups].sort((x, y) => y[1].length - x[1].length)
      .map(([problem, ex]) => `${ex.length}× ${problem}\n${ex.slice(0, 4).map((e) => `    e.g. ${e}`).join("\n")}`)
      .join("\n");
  }
}

// ───────────────────────────── the tests ─────────────────────────────

/** Runs `work` over `items` with at most `limit` in flight, in order of the items. */
async function pool<T, R>(items: T[], limit: number, work: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i], i);
    }
  }));
  return out;
}

testOnBothEngines("fuzz: generated tool calls over MCP get a result or one clean sentence, nothing is written", "aoma_test_fuzz", async (t, db: Db) => {
  await loadDemo(db, { variant: "planted", seed: 1 });
  const srv = await startServer({ port: 0, db, auth: testAuth() });
  const token = await srv.token();
  const client = await connectClient(srv.url, token);
  try {
    const catalog = await db.query<CatalogRow>("select grain, name, kind from analytics.feature_catalog order by grain collate \"C\", name collate \"C\"");
    const [span] = await db.query<{ first: string; last: string }>(
      "select to_char(min(day), 'YYYY-MM-DD') as first, to_char(max(day), 'YYYY-MM-DD') as last from analytics.features_daily",
    );
    const before = await tableChecksums(db);
    const { tools }: Json = await client.listTools();
    assert.deepEqual(tools.map((x: Json) => x.name), TOOLS.map((x) => x.definition.name), "the fuzz covers every listed tool");
    const outputSchemas = new Map(TOOLS.map((x) => [x.definition.name, x.definition.outputSchema]));

    const rng = new Rng(SEED);
    const gen = new Generator(rng, catalog, [span.first, span.last]);
    const cases: Case[] = [];
    for (const tool of tools) {
      const schema = tool.inputSchema as Schema;
      cases.push(...sweepCases(tool.name, schema, gen), ...rawCases(tool.name));
      for (let i = 0; i < RANDOM_CALLS; i++) {
        const args = rng.chance(0.01) ? gen.junk() : gen.object(schema, 0);
        const nonObject = args === null || typeof args !== "object" || Array.isArray(args);
        if (!nonObject) BUDGET[tool.name]?.(args as Record<string, unknown>, gen, 0.99);
        cases.push({ tool: tool.name, via: nonObject || rng.chance(RAW_SHARE) ? "raw" : "sdk", args });
      }
    }
    console.log(`fuzz seed ${SEED}: ${cases.length} calls (${catalog.length} catalog names), concurrency ${CONCURRENCY}, ${db.engine}`);

    const failures = new Failures();
    let results = 0;
    let toolErrors = 0;
    const started = performance.now();
    await t.step(`${cases.length} calls`, async () => {
      await pool(cases, CONCURRENCY, async (c, i) => {
        const answer = await send(client, srv.url, token, c, i + 1);
        if (answer.result?.isError) toolErrors++;
        else if (answer.result) results++;
        const args = c.argsJson ?? (c.args === undefined ? "(no arguments)" : JSON.stringify(c.args));
        const text = String(answer.result?.content?.[0]?.text ?? answer.error?.message ?? "").replace(/\s+/g, " ");
        for (const problem of judge(c, answer, outputSchemas)) {
          failures.add(problem, `#${i} ${c.via} ${args.slice(0, 140)} → ${text.slice(0, 160)}`);
        }
      });
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      console.log(`fuzz seed ${SEED}: ${results} results, ${toolErrors} tool errors, ${failures.count} problems in ${seconds} s`);
      assert.ok(cases.length >= 2000, `only ${cases.length} calls`);
      assert.equal(failures.count, 0, `seed ${SEED}: ${failures.count} problems in ${cases.length} calls:\n${failures.report()}`);
      // the run exercised the analyses, not only the argument checks
      assert.ok(results >= 0.15 * cases.length, `only ${results} of ${cases.length} calls ran an analysis`);
      assert.ok(toolErrors >= 0.3 * cases.length, `only ${toolErrors} of ${cases.length} calls were refused`);
    });

    await t.step("every table of aoma and analytics unchanged (rows and checksum)", async () => {
      assert.deepEqual(await tableChecksums(db), before);
    });
  } finally {
    await client.close();
    await srv.close();
  }
});

Deno.test("args.ts validators agree with independent oracles on generated input", () => {
  const rng = new Rng(SEED);
  const two = (n: number) => String(n).padStart(2, "0");

  // dates: the UTC day of a date-time is what JavaScript's Date says; outside 0001..9999 it is refused
  for (let i = 0; i < 20_000; i++) {
    const y = rng.chance(0.2) ? rng.pick([0, 1, 9999]) : rng.int(0, 9999);
    const [mo, d] = [rng.int(1, 12), rng.int(1, 31)];
    const probe = new Date(0);
    probe.setUTCFullYear(y, mo - 1, d);
    const real = probe.getUTCFullYear() === y && probe.getUTCMonth() === mo - 1 && probe.getUTCDate() === d;
    const date = `${String(y).padStart(4, "0")}-${two(mo)}-${two(d)}`;
    const off = rng.int(-12 * 4, 14 * 4) * 15;
    const zone = rng.chance(0.2) ? "" : off === 0 && rng.chance(0.5) ? "Z" : `${off < 0 ? "-" : "+"}${two(Math.trunc(Math.abs(off) / 60))}:${two(Math.abs(off) % 60)}`;
    const time = rng.chance(0.3) ? "" : `T${two(rng.int(0, 23))}:${two(rng.int(0, 59))}:${two(rng.int(0, 59))}`;
    const s = time ? `${date}${time}${zone}` : date;
    const got = parseIsoDay(s, "d");
    if (!real) {
      assert.deepEqual(got, { problem: "d is not a real calendar date" }, s);
      continue;
    }
    const utc = new Date(Date.parse(time ? `${date}${time}${zone || "Z"}` : `${date}T00:00:00Z`));
    const uy = utc.getUTCFullYear();
    if (uy < 1 || uy > 9999) {
      assert.ok("problem" in got && got.problem.startsWith(`d must be a day from ${FIRST_DAY} to ${LAST_DAY}`), `${s}: ${JSON.stringify(got)}`);
    } else {
      assert.equal("day" in got ? got.day : got.problem, utc.toISOString().slice(0, 10), s);
    }
  }

  // text: refused exactly when it is not well-formed UTF-16 or holds a C0/C1 control character
  const units = [0x0, 0x1f, 0x20, 0x41, 0x7e, 0x7f, 0x9f, 0xa0, 0xe9, 0x2028, 0xd7ff, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe000, 0xfeff, 0xffff];
  for (let i = 0; i < 20_000; i++) {
    const s = String.fromCharCode(...Array.from({ length: rng.int(0, 6) }, () => (rng.chance(0.6) ? rng.pick(units) : rng.int(0, 0xffff))));
    const clean = s.isWellFormed() && !/[\u0000-\u001f\u007f-\u009f]/.test(s);
    assert.equal(textProblem(s) === null, clean, JSON.stringify(s));
  }
});
