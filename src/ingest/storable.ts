/**
 * What PostgreSQL can store, checked in TypeScript before any SQL, for every ingest source (logs,
 * metrics, attempts, Jira, git, the edge function): text and jsonb hold well-formed Unicode without
 * NUL. A record holding a NUL character, a lone UTF-16 surrogate (a `"\ud800"` escape) or invalid
 * UTF-8 anywhere is rejected with the reason; nothing is replaced.
 *
 * Input bytes are decoded by {@link decodeUtf8}: valid UTF-8 as usual, and each byte that is not
 * part of a valid UTF-8 sequence as the lone surrogate U+DC80 + byte ("surrogate escape"), so the
 * byte travels with its line or record to the check, which names it ("invalid UTF-8 (byte 0xff)").
 * A JSON escape `\udc80` … `\udcff` is reported the same way: both are text PostgreSQL refuses.
 *
 * @example
 * unstorable({ msg: "a\u0000b" });       // '"msg" holds a NUL character (U+0000) at character 2; PostgreSQL text and jsonb cannot store it'
 * unstorable("ok", "the line");          // null
 * decodeUtf8(new Uint8Array([0x61, 0xff])); // "a\udcff"
 */

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Longest key path named in a reason. */
const MAX_PATH_CHARS = 80;

const cont = (x: number | undefined) => x !== undefined && (x & 0xc0) === 0x80;

/** Length of the valid UTF-8 sequence starting with the non-ASCII byte at `i`, or 0 when it is invalid. */
function sequenceLength(b: Uint8Array, i: number): number {
  const c = b[i], c1 = b[i + 1];
  if (c >= 0xc2 && c <= 0xdf) return cont(c1) ? 2 : 0;
  if (c === 0xe0) return c1 >= 0xa0 && c1 <= 0xbf && cont(b[i + 2]) ? 3 : 0;
  if (c === 0xed) return c1 >= 0x80 && c1 <= 0x9f && cont(b[i + 2]) ? 3 : 0; // no UTF-16 surrogates
  if (c >= 0xe1 && c <= 0xef) return cont(c1) && cont(b[i + 2]) ? 3 : 0;
  if (c === 0xf0) return c1 >= 0x90 && c1 <= 0xbf && cont(b[i + 2]) && cont(b[i + 3]) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(c1) && cont(b[i + 2]) && cont(b[i + 3]) ? 4 : 0;
  if (c === 0xf4) return c1 >= 0x80 && c1 <= 0x8f && cont(b[i + 2]) && cont(b[i + 3]) ? 4 : 0;
  return 0;
}

/**
 * Decodes UTF-8 bytes; every byte outside a valid sequence becomes U+DC80 + byte (a lone surrogate
 * that {@link unstorable} reports as invalid UTF-8). A byte-order mark is kept (callers that read a
 * whole file drop a leading one). Valid input takes the platform decoder's fast path.
 *
 * @example
 * decodeUtf8(new TextEncoder().encode("café")); // "café"
 */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return strict.decode(bytes);
  } catch {
    // at least one invalid sequence: decode the valid runs, escape the bytes between them
  }
  let out = "", start = 0, i = 0;
  while (i < bytes.length) {
    if (bytes[i] < 0x80) {
      i++;
      continue;
    }
    const len = sequenceLength(bytes, i);
    if (len) {
      i += len;
      continue;
    }
    out += strict.decode(bytes.subarray(start, i)) + String.fromCharCode(0xdc00 + bytes[i]);
    start = ++i;
  }
  return out + strict.decode(bytes.subarray(start));
}

/** The bytes of `parts` one after the other (the part itself when there is one). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * `s` cut to at most `max` characters ending in "…" when longer — never between the two halves of
 * a surrogate pair (half a pair is text PostgreSQL refuses).
 *
 * @example
 * clipText("abcdef", 4); // "abc…"
 */
export function clipText(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = max - 1;
  const c = s.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return s.slice(0, end) + "…";
}

/** `text` without a leading byte-order mark. */
export const withoutBom = (text: string) => (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);

/**
 * The text of a file (or URL) decoded by {@link decodeUtf8}, without a leading byte-order mark:
 * invalid bytes stay visible to {@link unstorable} instead of becoming U+FFFD.
 */
export async function readUtf8File(path: string | URL): Promise<string> {
  return withoutBom(decodeUtf8(await Deno.readFile(path)));
}

/** The reason one string cannot be stored, or null. */
function stringProblem(s: string, label: string): string | null {
  const nul = s.indexOf("\u0000");
  let bad = -1;
  if (!s.isWellFormed()) {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0xd800 || c > 0xdfff) continue;
      if (c <= 0xdbff && i + 1 < s.length) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          i++;
          continue;
        }
      }
      bad = i;
      break;
    }
  }
  if (nul !== -1 && (bad === -1 || nul < bad)) {
    return `${label} holds a NUL character (U+0000) at character ${nul + 1}; PostgreSQL text and jsonb cannot store it`;
  }
  if (bad === -1) return null;
  const c = s.charCodeAt(bad);
  if (c >= 0xdc80 && c <= 0xdcff) {
    return `${label} holds invalid UTF-8 (byte 0x${(c - 0xdc00).toString(16)}) at character ${bad + 1}; only UTF-8 text can be stored`;
  }
  return `${label} holds a lone surrogate \\u${c.toString(16)} at character ${bad + 1} (half of a UTF-16 pair); only well-formed Unicode can be stored`;
}

const quotedPath = (path: string) => JSON.stringify(path.length > MAX_PATH_CHARS ? `${path.slice(0, MAX_PATH_CHARS - 1)}…` : path);

/**
 * Why `value` cannot be stored in PostgreSQL text or jsonb, or null when it can: the first NUL
 * character, lone surrogate or escaped invalid UTF-8 byte in any string, object key or array
 * element. A string given directly is named by `label` (default "the value"); one inside an
 * object or array by its quoted key path (`"fields.summary"`, `"labels.2"`).
 *
 * @example
 * unstorable({ fields: { summary: "x\ud800" } }); // '"fields.summary" holds a lone surrogate \ud800 at character 2 …'
 * unstorable("a\udcffb", "the line");            // 'the line holds invalid UTF-8 (byte 0xff) at character 2; …'
 */
export function unstorable(value: unknown, label = "the value"): string | null {
  // iterative: the nesting depth is the input's to choose
  const stack: [unknown, string | null][] = [[value, null]];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (typeof v === "string") {
      const p = stringProblem(v, path === null ? label : quotedPath(path));
      if (p) return p;
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], path === null ? String(i) : `${path}.${i}`]);
    } else if (v !== null && typeof v === "object") {
      const entries = Object.entries(v).map(([k, x]) => [x, path === null ? k : `${path}.${k}`, k] as const);
      for (const [, at, k] of entries) {
        const keyProblem = stringProblem(k, `the key ${quotedPath(at)}`);
        if (keyProblem) return keyProblem;
      }
      for (let i = entries.length - 1; i >= 0; i--) stack.push([entries[i][0], entries[i][1]]);
    }
  }
  return null;
}
