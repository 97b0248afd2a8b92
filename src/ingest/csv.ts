/**
 * A small RFC 4180 CSV reader shared by the ingests (Jira exports, metric files): configurable
 * delimiter (or detected from the header line), quoted fields with `""` escapes and embedded
 * delimiters or line breaks, CRLF / LF / CR line ends, a leading byte-order mark dropped, blank
 * lines skipped. Each record carries the 1-based line it starts on, so rejections can name it.
 *
 * Lenient where real exports are sloppy: a quote inside an unquoted field is kept as text, and text
 * after a closing quote (`"a"b`) is appended. The one thing it cannot recover from — a quoted field
 * still open at the end of the input — is reported on that record as `error`, never thrown.
 *
 * @example
 * for (const rec of readCsv('key;summary\nA-1;"two\nlines"\n', { delimiter: "auto" })) {
 *   rec.line;   // 1, then 2
 *   rec.fields; // ["key", "summary"], then ["A-1", "two\nlines"]
 * }
 */

/** Options of {@link readCsv} and {@link parseCsv}. */
export interface CsvOptions {
  /** Field separator (one character), or "auto" to detect it from the first line. Default ",". */
  delimiter?: string;
  /** Candidates tried by "auto", in order of preference on ties. Default `, ; \t |`. */
  candidates?: readonly string[];
  /** Skip lines with no characters at all (default true). A line of only delimiters is a record. */
  skipEmptyLines?: boolean;
}

/** One record: its fields, the line it starts on (1-based) and, when malformed, why. */
export interface CsvRecord {
  fields: string[];
  /** 1-based line of the input where the record starts. */
  line: number;
  /** Set when the record could not be read cleanly (an unterminated quoted field). */
  error?: string;
}

const DEFAULT_CANDIDATES = [",", ";", "\t", "|"] as const;

/**
 * Detects the delimiter from the first line of `text`: the candidate that occurs most often
 * outside quotes (ties go to the earlier candidate). Falls back to the first candidate.
 *
 * @example
 * detectDelimiter('Key;Priority;"A;B"\n…'); // ";"
 */
export function detectDelimiter(text: string, candidates: readonly string[] = DEFAULT_CANDIDATES): string {
  const counts = new Map<string, number>(candidates.map((c) => [c, 0]));
  let quoted = false;
  for (let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === "\n" || ch === "\r")) break;
    else if (!quoted && counts.has(ch)) counts.set(ch, counts.get(ch)! + 1);
  }
  let best = candidates[0], bestN = 0;
  for (const c of candidates) {
    const n = counts.get(c)!;
    if (n > bestN) [best, bestN] = [c, n];
  }
  return best;
}

/**
 * Reads `text` record by record (a generator, so large inputs are not copied into one array).
 * Throws only on a bad option (a delimiter that is not one character, or is a quote or line break).
 */
export function* readCsv(text: string, opts: CsvOptions = {}): Generator<CsvRecord> {
  const delimiter = opts.delimiter === undefined || opts.delimiter === "auto"
    ? (opts.delimiter === "auto" ? detectDelimiter(text, opts.candidates) : ",")
    : opts.delimiter;
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === "\n" || delimiter === "\r") {
    throw new Error(
      `Cannot read CSV: delimiter ${JSON.stringify(delimiter)} is not allowed; use one character other than a quote or line break`,
    );
  }
  const skipEmpty = opts.skipEmptyLines ?? true;
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;

  while (i < n) {
    const startLine = line;
    // a blank line (LF, CRLF or CR alone)
    if (text[i] === "\n" || text[i] === "\r") {
      i += text[i] === "\r" && text[i + 1] === "\n" ? 2 : 1;
      line++;
      if (!skipEmpty) yield { fields: [""], line: startLine };
      continue;
    }
    const fields: string[] = [];
    let error: string | undefined;
    for (;;) {
      let value = "";
      if (text[i] === '"') {
        // quoted field: runs to the next quote not followed by another quote
        i++;
        let closed = false;
        while (i < n) {
          const q = text.indexOf('"', i);
          const chunkEnd = q === -1 ? n : q;
          const chunk = text.slice(i, chunkEnd);
          for (let k = 0; k < chunk.length; k++) {
            const c = chunk.charCodeAt(k);
            if (c === 10) line++;
            else if (c === 13 && chunk.charCodeAt(k + 1) !== 10) line++;
          }
          value += chunk;
          if (q === -1) {
            i = n;
            break;
          }
          if (text[q + 1] === '"') {
            value += '"';
            i = q + 2;
          } else {
            i = q + 1;
            closed = true;
            break;
          }
        }
        if (!closed) error = `quoted field opened on line ${startLine} is never closed`;
      }
      // unquoted text (or text after a closing quote) up to the delimiter or the line end
      let j = i;
      while (j < n) {
        const ch = text[j];
        if (ch === delimiter || ch === "\n" || ch === "\r") break;
        j++;
      }
      value += text.slice(i, j);
      fields.push(value);
      i = j;
      if (i < n && text[i] === delimiter) {
        i++;
        if (i === n) fields.push(""); // trailing delimiter at the very end: one more empty field
        if (i < n) continue;
      }
      // line end (or input end)
      if (i < n) {
        i += text[i] === "\r" && text[i + 1] === "\n" ? 2 : 1;
        line++;
      }
      break;
    }
    yield error ? { fields, line: startLine, error } : { fields, line: startLine };
  }
}

/**
 * Reads all of `text` into rows of fields (records with an error included as read).
 *
 * @example
 * parseCsv('a,"b ""c"""\r\n1,2'); // [["a", 'b "c"'], ["1", "2"]]
 */
export function parseCsv(text: string, opts: CsvOptions = {}): string[][] {
  return Array.from(readCsv(text, opts), (r) => r.fields);
}
