/**
 * A tiny flag parser for the CLIs: `--name value`, `--name=value` and bare `--flag` (booleans).
 * Unknown flags are an error with the list of known ones.
 */

/** Parsed flags by name; boolean flags are "true" when present. */
export type Flags = Record<string, string>;

/**
 * Parses `args` against `known` (flag name → takes a value?).
 *
 * @example
 * parseFlags(["--port", "8000", "--help"], { port: true, help: false }); // { port: "8000", help: "true" }
 */
export function parseFlags(args: readonly string[], known: Record<string, boolean>): Flags {
  const out: Flags = {};
  for (let i = 0; i < args.length; i++) {
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(args[i]);
    if (!m || !(m[1] in known)) {
      throw new Error(`Cannot understand "${args[i]}": known flags are ${Object.keys(known).map((k) => `--${k}`).join(", ")}.`);
    }
    const [, name, inline] = m;
    if (!known[name]) {
      out[name] = "true";
    } else if (inline !== undefined) {
      out[name] = inline;
    } else if (i + 1 < args.length) {
      out[name] = args[++i];
    } else {
      throw new Error(`Cannot understand --${name}: it needs a value.`);
    }
  }
  return out;
}

/**
 * A duration in seconds from "3600", "90s", "30m", "12h" or "7d".
 *
 * @example
 * parseDuration("12h"); // 43200
 */
export function parseDuration(text: string): number {
  const m = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  if (!m || Number(m[1]) <= 0) throw new Error(`Cannot understand the duration "${text}": use e.g. 3600, 30m, 12h or 7d.`);
  return Number(m[1]) * { "": 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as "" | "s" | "m" | "h" | "d"];
}
