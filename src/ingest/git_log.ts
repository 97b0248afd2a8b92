/**
 * The pure half of the git ingest: the `git log` command line it runs, a streaming parser of that
 * command's NUL-separated output, and the mapping of one parsed commit to an aoma.git_commits row
 * (or a rejection). No process, no database: bytes in, rows out.
 *
 * Output shape read (`GIT_LOG_ARGS`, git ≥ 2.24): every commit is `\x1e` + nine NUL-terminated
 * header fields (sha, parents, author name, e-mail, raw date, committer name, e-mail, raw date,
 * message — the last one ended by the `-z` commit terminator), then its `--numstat -z` entries:
 * `added\tdeleted\tpath\0`, or for a rename/copy `added\tdeleted\t\0old\0new\0` (one file);
 * binary files print `-\t-` and count 0 lines. The first entry after the header starts with "\n".
 * Merge commits have no numstat entries (git log shows no diff for merges without -m/--cc), so a
 * merge has files_changed = insertions = deletions = 0, as in the demo data.
 *
 * Text is decoded per field: UTF-8 when valid, else with the repository's i18n.commitEncoding or
 * Windows-1252 (a superset of Latin-1), so a message written in Latin-1 without an `encoding`
 * header still reads "café", and nothing ever crashes the parse.
 * Commits that do carry an `encoding` header (i18n.commitEncoding) are re-encoded to UTF-8 by
 * git itself (`--encoding=UTF-8`). NUL never reaches the database.
 *
 * @example
 * const parser = new GitLogParser();
 * for await (const chunk of child.stdout) for (const rec of parser.push(chunk)) rows.push(toCommitRow("api", rec));
 * for (const rec of parser.end()) …
 */
import type { GitCommitRow } from "../db/rows.ts";
import { clipText, concatBytes } from "./storable.ts";

/** Arguments of the `git log` this parser reads (add revisions, `--not …`, `--since=…`). */
export const GIT_LOG_ARGS: readonly string[] = [
  "log",
  "--no-color",
  "--no-show-signature",
  "--no-textconv",
  "--no-ext-diff",
  "--encoding=UTF-8",
  "--date=raw",
  "-M",
  "--numstat",
  "-z",
  "--format=%x1e%H%x00%P%x00%an%x00%ae%x00%ad%x00%cn%x00%ce%x00%cd%x00%B",
];

/** One commit as git log printed it, before validation. */
export interface GitLogRecord {
  /** 1-based position of the commit in the log output (the "line" of a rejection). */
  index: number;
  sha: string;
  parents: string[];
  authorName: string;
  authorEmail: string;
  /** Raw git date: "<unix seconds> <±hhmm>". */
  authorDate: string;
  committerName: string;
  committerEmail: string;
  committerDate: string;
  message: string;
  /** numstat entries (a rename is one). */
  files: number;
  insertions: number;
  deletions: number;
}

/** A row of aoma.git_commits (every row has exactly these keys, in this order). */
export type { GitCommitRow } from "../db/rows.ts";

/** Longest message kept (characters); longer ones are cut and end with "…". */
export const MAX_MESSAGE_CHARS = 65_536;
/** Longest name or e-mail kept (characters). */
export const MAX_NAME_CHARS = 1_000;

const NUL = 0x00, TAB = 0x09, LF = 0x0a, RS = 0x1e, DASH = 0x2d;
const HEADER_FIELDS = 9;

const utf8 = new TextDecoder("utf-8", { fatal: true });
const cp1252 = new TextDecoder("windows-1252");

/**
 * A decoder for text that is not valid UTF-8: the repository's i18n.commitEncoding when the
 * platform knows it (e.g. "ISO-8859-1", "Shift_JIS"), else Windows-1252.
 */
export function fallbackDecoder(encoding?: string | null): TextDecoder {
  if (encoding) {
    try {
      const d = new TextDecoder(encoding.trim());
      if (d.encoding !== "utf-8") return d;
    } catch { /* unknown label: the default below */ }
  }
  return cp1252;
}

/** Decodes bytes as UTF-8, or with `fallback` (default Windows-1252) when they are not valid UTF-8; drops NUL. */
export function decodeText(bytes: Uint8Array, fallback: TextDecoder = cp1252): string {
  let s: string;
  try {
    s = utf8.decode(bytes);
  } catch {
    s = fallback.decode(bytes);
  }
  return s.includes("\u0000") ? s.replaceAll("\u0000", "") : s;
}

/** ASCII-only field (hashes, dates): a fast decode. */
function ascii(bytes: Uint8Array): string {
  return bytes.length < 128 ? String.fromCharCode(...bytes) : cp1252.decode(bytes);
}

/** Non-negative integer in bytes[from, to); "-" (binary file) and anything else non-numeric is 0. */
function count(bytes: Uint8Array, from: number, to: number): number {
  if (from >= to || bytes[from] === DASH) return 0;
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = bytes[i] - 48;
    if (d < 0 || d > 9) return 0;
    n = n * 10 + d;
  }
  return n;
}

/**
 * Streaming parser of `git log` output produced with GIT_LOG_ARGS. Feed it chunks in order with
 * push(); each call returns the commits completed so far; end() returns the last one. A record is
 * complete when the next commit's header starts, so memory stays at one commit plus one chunk.
 */
export class GitLogParser {
  /** `fallback` decodes fields that are not valid UTF-8 (see fallbackDecoder). */
  constructor(readonly fallback: TextDecoder = cp1252) {}

  #parts: Uint8Array[] = [];
  #field = -1; // header field expected next (0..8), or -1 while reading numstat entries
  #header: string[] = [];
  #skipPaths = 0; // path tokens still to skip after a rename entry
  #firstEntry = false;
  #current: GitLogRecord | null = null;
  #count = 0;
  #out: GitLogRecord[] = [];

  /** Parses one chunk; returns the commits it completed. */
  push(chunk: Uint8Array): GitLogRecord[] {
    let start = 0;
    for (let nul = chunk.indexOf(NUL); nul >= 0; nul = chunk.indexOf(NUL, start)) {
      const piece = chunk.subarray(start, nul);
      if (this.#parts.length) {
        this.#token(concatBytes([...this.#parts, piece]));
        this.#parts = [];
      } else {
        this.#token(piece);
      }
      start = nul + 1;
    }
    if (start < chunk.length) this.#parts.push(chunk.slice(start));
    return this.#drain();
  }

  /** Ends the stream; returns the last commit(s). Throws when the output stopped inside a header. */
  end(): GitLogRecord[] {
    if (this.#parts.length) {
      this.#token(concatBytes(this.#parts));
      this.#parts = [];
    }
    if (this.#field > 0) {
      throw new Error(`Cannot parse git log output: it ended inside the header of commit ${this.#count}`);
    }
    this.#finish();
    return this.#drain();
  }

  #drain(): GitLogRecord[] {
    const out = this.#out;
    this.#out = [];
    return out;
  }

  #finish(): void {
    if (this.#current) this.#out.push(this.#current);
    this.#current = null;
  }

  #token(t: Uint8Array): void {
    if (this.#field >= 0) return this.#headerToken(t);
    if (this.#skipPaths > 0) {
      this.#skipPaths--;
      return;
    }
    if (t.length > 0 && t[0] === RS) {
      this.#finish();
      this.#field = 0;
      this.#header = [];
      return this.#headerToken(t.subarray(1));
    }
    let from = 0;
    if (this.#firstEntry) {
      this.#firstEntry = false;
      if (t.length > 0 && t[0] === LF) from = 1;
    }
    if (from >= t.length || !this.#current) return; // nothing (end of output, stray terminator)
    const tab1 = t.indexOf(TAB, from);
    const tab2 = tab1 < 0 ? -1 : t.indexOf(TAB, tab1 + 1);
    if (tab2 < 0) {
      throw new Error(`Cannot parse git log output: unexpected numstat entry in commit ${this.#current.sha}`);
    }
    const c = this.#current;
    c.files++;
    c.insertions += count(t, from, tab1);
    c.deletions += count(t, tab1 + 1, tab2);
    if (tab2 === t.length - 1) this.#skipPaths = 2; // rename/copy: "a\td\t" then old and new path
  }

  #headerToken(t: Uint8Array): void {
    const f = this.#field;
    // sha, parents and the two dates are ASCII; names, e-mails and the message are free text
    this.#header.push(f === 0 || f === 1 || f === 4 || f === 7 ? ascii(t) : decodeText(t, this.fallback));
    if (f < HEADER_FIELDS - 1) {
      this.#field = f + 1;
      return;
    }
    const h = this.#header;
    this.#current = {
      index: ++this.#count,
      sha: h[0],
      parents: h[1] === "" ? [] : h[1].split(" "),
      authorName: h[2],
      authorEmail: h[3],
      authorDate: h[4],
      committerName: h[5],
      committerEmail: h[6],
      committerDate: h[7],
      message: h[8],
      files: 0,
      insertions: 0,
      deletions: 0,
    };
    this.#field = -1;
    this.#firstEntry = true;
  }
}

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const RAW_DATE = /^(-?\d{1,15}) ([+-]\d{4})$/;
// the range PostgreSQL and JavaScript both represent without surprises
const MIN_MS = Date.UTC(1900, 0, 1), MAX_MS = Date.UTC(9999, 11, 31);

function instant(raw: string, what: string): { at: string; tz: string } | string {
  const m = RAW_DATE.exec(raw);
  if (!m) return `unparseable ${what} date ${JSON.stringify(raw.slice(0, 40))}`;
  const ms = Number(m[1]) * 1000;
  if (!(ms >= MIN_MS && ms <= MAX_MS)) return `absurd ${what} date ${JSON.stringify(raw)} (outside 1900..9999)`;
  return { at: new Date(ms).toISOString(), tz: m[2] };
}

const orNull = (s: string) => (s === "" ? null : clipText(s, MAX_NAME_CHARS));

/**
 * Maps one parsed commit to a row of aoma.git_commits, or to the reason it is kept out (an invalid
 * hash or an unparseable/absurd date). The message loses its trailing newlines; an empty one is null.
 *
 * @example
 * const r = toCommitRow("api", rec);
 * if (typeof r === "string") report.reject(rec.index, r); else rows.push(r);
 */
export function toCommitRow(repo: string, rec: GitLogRecord): GitCommitRow | string {
  if (!SHA.test(rec.sha)) return `invalid commit hash ${JSON.stringify(rec.sha.slice(0, 80))}`;
  const bad = rec.parents.find((p) => !SHA.test(p));
  if (bad !== undefined) return `commit ${rec.sha}: invalid parent hash ${JSON.stringify(bad.slice(0, 80))}`;
  const a = instant(rec.authorDate, "author");
  if (typeof a === "string") return `commit ${rec.sha}: ${a}`;
  const c = instant(rec.committerDate, "commit");
  if (typeof c === "string") return `commit ${rec.sha}: ${c}`;
  const message = rec.message.replace(/\s+$/, "");
  return {
    repo,
    sha: rec.sha,
    author_name: orNull(rec.authorName),
    author_email: orNull(rec.authorEmail),
    authored_at: a.at,
    author_tz: a.tz,
    committer_name: orNull(rec.committerName),
    committer_email: orNull(rec.committerEmail),
    committed_at: c.at,
    committer_tz: c.tz,
    files_changed: rec.files,
    insertions: rec.insertions,
    deletions: rec.deletions,
    is_merge: rec.parents.length > 1,
    parents: rec.parents,
    message: message === "" ? null : clipText(message, MAX_MESSAGE_CHARS),
  };
}
