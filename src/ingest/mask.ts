/**
 * Masking: the first step of templating a log or error message. Variable parts a person would not
 * count as "the same message" — quoted values, URLs, e-mail addresses, UUIDs, IP addresses, paths,
 * hex strings, ids with digits and plain numbers — are replaced by `<*>`, left to right, and kept
 * as the message's parameters in order. The Drain parser (drain.ts) then works on the masked text.
 *
 * What is masked (earliest match wins; at one position the first rule listed wins):
 *   1. a literal `<*>` in the input (so slots and parameters always line up)
 *   2. the target of a quoted HTTP request line: `"GET /v2/9f…/servers/detail?x=1 HTTP/1.1"` becomes
 *      `"GET <*> HTTP/1.1"` — the method (any upper-case word) and the protocol are what the line is
 *      about and stay text, so GET, POST and DELETE lines get templates of their own; the target
 *      (path and query) is the one parameter, as an unquoted path already is (rule 8). This is how
 *      Loghub's labelled templates group request lines (one event per method, e.g. OpenStack's
 *      `<*> "GET <*>" status: <*> …`). With `requestPaths: "shape"` (analytics.settings.request_paths)
 *      the path keeps its shape instead: each segment is masked by these same rules and the query is
 *      one parameter — `"GET /v2/<*>/servers/detail?<*> HTTP/1.1"` — so each endpoint gets templates
 *      of its own
 *   3. other quoted values `'…'` and `"…"` (quotes included; an apostrophe inside a word is not a quote)
 *   4. URLs `scheme://…`          5. e-mail addresses           6. UUIDs
 *   7. IPv4 addresses (with :port) and IPv6 addresses with at least three groups
 *   8. paths: `/a/b`, `./a`, `~/a`, `C:\a\b`, and relative paths of three or more parts
 *      (`ingest/AST-1/part-3.bin`); one slash inside a word, as in "and/or", is not a path
 *   9. hex: `0x…`, and runs of 8+ hex digits that contain a digit (hashes, commit ids)
 *  10. ids: words joined by `-`, `_` or `.` that contain a digit (`AST-00012345`, `job-1a2b3c4d`,
 *      `storage-3.aoma.internal`, `v1.2.3`); a word without a separator keeps its digits (`S3`, `MP4`)
 *  11. numbers standing alone (`42`, `-3.5`, the `80` of `80%`)
 * Whitespace is left as it is; drain.ts splits on it.
 *
 * @example
 * maskMessage("AssetUploadTask type 'AssetUploadSorting' not supported");
 * // { masked: "AssetUploadTask type <*> not supported", params: ["'AssetUploadSorting'"] }
 */

/** The wildcard every masked part and every generalised position becomes. */
export const WILDCARD = "<*>";

/** A masked message and the values masked out of it, in order of their `<*>`. */
export interface Masked {
  masked: string;
  params: string[];
}

/**
 * How a quoted request line's target is masked (rule 2): "parameter" — the whole target is one
 * parameter (the default); "shape" — its path segments are masked one by one, so the path's constant
 * segments stay in the template.
 */
export type RequestPaths = "parameter" | "shape";

/** Options of {@link maskMessage}. */
export interface MaskOptions {
  requestPaths?: RequestPaths;
}

/** A quoted value that is an HTTP request line: method, target, protocol (rule 2). */
const REQUEST = /^"[A-Z]{3,12} [^\s"]+ HTTP\/\d(?:\.\d)?"$/;

const RULES = [
  /<\*>/.source,
  /(?<![\w'])'[^'\n]*'(?![\w'])/.source,
  /(?<![\w"])"[^"\n]*"(?![\w"])/.source,
  /\b[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s'"<>]+/.source,
  /\b[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+\b/.source,
  /\b[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\b/.source,
  /(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?(?![\w.])/.source,
  /(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){2,7}[0-9A-Fa-f]{1,4}(?![\w:])/.source,
  /(?<![\w/])(?:~|\.{1,2})?(?:\/[\w%+=@-](?:[\w.%+=@-]*[\w%+=@-])?)+\/?/.source,
  /(?<![\w/.-])[\w.-]*\w(?:\/[\w%+=@-](?:[\w.%+=@-]*[\w%+=@-])?){2,}\/?/.source,
  /\b[A-Za-z]:\\[^\s'"]+/.source,
  /\b0[xX][0-9A-Fa-f]+\b/.source,
  /(?<![\w-])(?=[A-Fa-f]*\d)[0-9A-Fa-f]{8,}(?![\w-])/.source,
  // ids: only masked when they contain a digit (checked in maskMessage)
  /\b[A-Za-z0-9]+(?:[-_.][A-Za-z0-9]+)+\b/.source,
  /(?<![\w.])\d+(?:\.\d+)?(?![\w])/.source,
];
// each rule in its own group, so maskMessage knows which one matched
const MASK = new RegExp(RULES.map((r) => `(${r})`).join("|"), "g");
const ID_GROUP = RULES.length - 1;
// double-quoted values: rule 2 (a request line) or rule 3
const DOUBLE_QUOTED_GROUP = 3;
const HAS_DIGIT = /\d/;

/**
 * Masks the variable parts of `message` (see the module header for the rules).
 * Pure and deterministic: the same message always gives the same masked text and parameters.
 *
 * @example
 * maskMessage("Disk usage at 91% on volume /data/vol2").masked; // "Disk usage at <*>% on volume <*>"
 */
export function maskMessage(message: string, opts: MaskOptions = {}): Masked {
  const params: string[] = [];
  let out = "";
  let last = 0;
  MASK.lastIndex = 0;
  for (let m = MASK.exec(message); m !== null; m = MASK.exec(message)) {
    const text = m[0];
    // the id rule needs a digit somewhere in the word ("aoma-mesh" stays text)
    if (m[ID_GROUP] !== undefined && !HAS_DIGIT.test(text)) continue;
    if (m[DOUBLE_QUOTED_GROUP] !== undefined && REQUEST.test(text)) {
      // "METHOD target HTTP/x.y": only the target is a parameter (or, by shape, its variable segments)
      const a = text.indexOf(" "), b = text.lastIndexOf(" ");
      const target = text.slice(a + 1, b);
      const shaped = opts.requestPaths === "shape" ? pathShape(target) : { masked: WILDCARD, params: [target] };
      MASK.lastIndex = m.index + text.length; // (pathShape masks with MASK too)
      out += message.slice(last, m.index) + text.slice(0, a + 1) + shaped.masked + text.slice(b);
      params.push(...shaped.params);
      last = m.index + text.length;
      continue;
    }
    out += message.slice(last, m.index) + WILDCARD;
    params.push(text);
    last = m.index + text.length;
  }
  if (last === 0) return { masked: message, params };
  return { masked: out + message.slice(last), params };
}

/**
 * A request target by its shape: each `/` segment of the path masked by the rules above (ids, hex,
 * numbers, UUIDs become `<*>`; words such as `servers` or `v2` stay), the query one parameter.
 *
 * @example
 * pathShape("/v2/54fadb41…/servers/detail?all=1").masked; // "/v2/<*>/servers/detail?<*>"
 */
function pathShape(target: string): Masked {
  const q = target.indexOf("?");
  const path = q === -1 ? target : target.slice(0, q);
  const params: string[] = [];
  const segments = path.split("/").map((segment) => {
    const m = maskMessage(segment);
    params.push(...m.params);
    return m.masked;
  });
  let masked = segments.join("/");
  if (q !== -1) {
    masked += "?" + WILDCARD;
    params.push(target.slice(q + 1));
  }
  return { masked, params };
}
