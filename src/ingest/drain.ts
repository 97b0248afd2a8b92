/**
 * A Drain-style online template miner (He, Zhu, Zheng, Lyu: "Drain: An Online Log Parsing Approach
 * with Fixed Depth Tree", ICWS 2017; the same tree as the drain3 library). Pure and in memory; the
 * database side (loading stored templates, writing new ones) is templates.ts.
 *
 * A message is masked first (mask.ts), split on whitespace into tokens, and routed through a
 * fixed-depth prefix tree: first by its token count, then by its first `depth - 2` tokens (a token
 * with a digit or a masked part, such as `<*>` or `<*>]`, goes down the `<*>` branch; a node holds
 * at most `maxChildren` branches, the rest share `<*>`). The leaf holds clusters, each with a
 * template of the same length.
 *
 * Leading bracketed context is not routed on: `[instance: <*>] VM Started …`, `[req-<*> - -] …`,
 * `[client <*>] …` route by the first tokens after the brackets (when any follow). Drain routes on
 * leading tokens because a message's first words usually name its event; a context tag in front
 * of many different events breaks that, and short messages behind it would meet in one leaf and
 * merge on the tag alone (`[instance: <*>] Creating image` with `[instance: <*>] Terminating instance`,
 * `… VM Started (Lifecycle Event)` with `… VM Paused (Lifecycle Event)`). The tag still counts in
 * the similarity.
 *
 * Matching in the leaf, in this order:
 *   1. a template that already covers the message (every token that is not `<*>` is equal) — the
 *      one with the most equal tokens; this keeps a stored template's id for every line it covers,
 *      even when it has become so general that its similarity is below the threshold;
 *   2. otherwise the template with the highest similarity if it reaches `similarity` — the template
 *      is generalised: every position where it differs from the message becomes `<*>`. Similarity =
 *      equal tokens / compared tokens, where a position at which the message token holds a masked
 *      part and the template token does too (`<*>` against `<*>`, `<*>]` against `<*>]`) is not
 *      compared: two variable values say nothing about whether two messages are the same event.
 *      So the constant tokens decide — short messages sharing only masked values and a tag are not
 *      alike (`<*> <*> Creating image` vs `<*> <*> Terminating instance`: 0 of 2), while heavily
 *      masked lines whose constants agree still merge (`GET <*> <*> 12ms` with `GET <*> <*> 40ms`:
 *      1 of 2). (The paper counts masked-vs-masked as equal, drain3 as unequal; both let a shared
 *      masked prefix decide for short messages.) A message with nothing to compare has similarity
 *      1. Ties go to the template with more `<*>`;
 *   3. otherwise a new cluster with the message itself as template.
 * A message may name pinned positions (`add(tokens, pinned)`): a template whose token differs there
 * (and is not `<*>`) is never generalised to take the message — those tokens say which event it is
 * (templates.ts pins a request line's path shape when analytics.settings.request_paths = 'shape').
 * Because covering templates win (rule 1), a generalised template cannot become identical to another
 * one of its leaf; should it ever, the two clusters merge: the younger becomes an alias of the older
 * (see {@link Cluster.resolve}).
 *
 * @example
 * const drain = new Drain();
 * drain.add(tokenize("User <*> opened file report.pdf")).cluster.template; // "User <*> opened file report.pdf"
 * drain.add(tokenize("User <*> opened file notes.txt")).cluster.template;  // "User <*> opened file <*>"
 */
import { WILDCARD } from "./mask.ts";

/** Tuning of the parser; the defaults are drain3's except the similarity threshold (0.5, the paper's). */
export interface DrainOptions {
  /** Tree depth including the root and the length layer: `depth - 2` leading tokens route. Default 4. */
  depth?: number;
  /** Least similarity (0..1) for a message to join a template. Default 0.5. */
  similarity?: number;
  /** Most branches per tree node; more tokens share the `<*>` branch. Default 100. */
  maxChildren?: number;
}

/** One template in the tree. Its `tokens` only ever become more general (a token turns into `<*>`). */
export class Cluster {
  /** The template's tokens (mutable: generalisation rewrites positions to `<*>`). */
  tokens: string[];
  /** Set when this cluster merged into another: use `resolve()` for the live one. */
  aliasOf: Cluster | null = null;
  /** Messages added to this cluster in this process (not stored occurrences). */
  size = 0;
  /** Bumped every time the template changes (generalised or merged away). */
  version = 0;
  /** Free slot for the template store (templates.ts): the template text as stored, or null. */
  stored: string | null = null;

  constructor(readonly id: number, tokens: string[]) {
    this.tokens = tokens;
  }

  private cachedText = "";
  private cachedVersion = -1;

  /** The template text: tokens joined by one space. */
  get template(): string {
    if (this.cachedVersion !== this.version) {
      this.cachedText = this.tokens.join(" ");
      this.cachedVersion = this.version;
    }
    return this.cachedText;
  }

  /** The live cluster: this one, or the one it merged into (following the chain). */
  resolve(): Cluster {
    return this.aliasOf ? this.aliasOf.resolve() : this;
  }
}

/** What `add` did with a message. */
export interface DrainResult {
  cluster: Cluster;
  /** "created": new template; "generalised": an existing template gained `<*>`; "matched": unchanged. */
  change: "created" | "generalised" | "matched";
  /** Set when the generalised template became identical to another one: the cluster merged away. */
  merged?: Cluster;
}

interface TreeNode {
  children: Map<string, TreeNode>;
  clusters: Cluster[];
}

const newNode = (): TreeNode => ({ children: new Map(), clusters: [] });
const HAS_DIGIT = /\d/;

/**
 * Splits a masked message into tokens on whitespace (no empty tokens).
 *
 * @example
 * tokenize("  a  <*>\tb "); // ["a", "<*>", "b"]
 */
export function tokenize(masked: string): string[] {
  const out = masked.split(/\s+/);
  if (out.length && out[0] === "") out.shift();
  if (out.length && out[out.length - 1] === "") out.pop();
  return out;
}

/** Number of `<*>` inside one token. */
export function countWildcards(token: string): number {
  let n = 0;
  for (let i = token.indexOf(WILDCARD); i !== -1; i = token.indexOf(WILDCARD, i + 3)) n++;
  return n;
}

/**
 * The values behind each `<*>` of `template` for one message: a template position equal to the
 * masked token contributes that token's masked values; a position the template generalised to
 * `<*>` contributes the whole original token (its masked values put back).
 *
 * @example
 * // message "Asset AST-1 from eu-west" masked to "Asset <*> from eu-west", params ["AST-1"]
 * slotValues(["Asset", "<*>", "from", "<*>"], ["Asset", "<*>", "from", "eu-west"], ["AST-1"]);
 * // ["AST-1", "eu-west"]
 */
export function slotValues(template: readonly string[], masked: readonly string[], maskParams: readonly string[]): string[] {
  const out: string[] = [];
  let p = 0;
  for (let i = 0; i < masked.length; i++) {
    const tok = masked[i];
    const n = tok.indexOf(WILDCARD) === -1 ? 0 : countWildcards(tok);
    if (template[i] === tok) {
      for (let k = 0; k < n; k++) out.push(maskParams[p + k]);
    } else if (n === 0) {
      out.push(tok);
    } else {
      const parts = tok.split(WILDCARD);
      let original = parts[0];
      for (let k = 1; k < parts.length; k++) original += maskParams[p + k - 1] + parts[k];
      out.push(original);
    }
    p += n;
  }
  return out;
}

/** The online parser. One instance per ingest run (or per process), fed message by message. */
export class Drain {
  readonly depth: number;
  readonly similarity: number;
  readonly maxChildren: number;
  private readonly root = new Map<number, TreeNode>();
  private nextId = 1;
  private readonly all: Cluster[] = [];

  constructor(opts: DrainOptions = {}) {
    this.depth = opts.depth ?? 4;
    this.similarity = opts.similarity ?? 0.5;
    this.maxChildren = opts.maxChildren ?? 100;
    if (!Number.isInteger(this.depth) || this.depth < 3) {
      throw new Error(`Cannot build the Drain parser: depth ${this.depth} is not allowed; use an integer of at least 3`);
    }
    if (!(this.similarity > 0 && this.similarity <= 1)) {
      throw new Error(`Cannot build the Drain parser: similarity ${this.similarity} is not allowed; use a number in (0, 1]`);
    }
    if (!Number.isInteger(this.maxChildren) || this.maxChildren < 2) {
      throw new Error(`Cannot build the Drain parser: maxChildren ${this.maxChildren} is not allowed; use an integer of at least 2`);
    }
  }

  /** Every live cluster (aliases left out), oldest first. */
  clusters(): Cluster[] {
    return this.all.filter((c) => !c.aliasOf);
  }

  /**
   * Adds a known template (e.g. one stored by an earlier run) as a cluster, so that lines it covers
   * get it back. Returns the existing cluster when an identical template is already in its leaf.
   */
  load(template: string): Cluster {
    const tokens = tokenize(template);
    const leaf = this.growLeaf(tokens);
    const same = leaf.clusters.find((c) => sameTokens(c.tokens, tokens));
    if (same) return same;
    return this.create(leaf, tokens);
  }

  /**
   * Adds one message (already masked and tokenized) and returns its cluster. `pinned`: positions
   * whose token a template must share (or hold `<*>` at) to take the message.
   */
  add(tokens: string[], pinned: readonly number[] = []): DrainResult {
    const n = tokens.length;
    const leaf = this.searchLeaf(tokens) ?? newNode();
    if (leaf.clusters.length === 0) {
      const c = this.create(this.growLeaf(tokens), tokens.slice());
      c.size++;
      return { cluster: c, change: "created" };
    }
    // positions where the message holds a masked value
    const masked = maskedPositions(tokens);
    let covering: Cluster | null = null, coveringEq = -1;
    let best: Cluster | null = null, bestSim = -1, bestWild = -1;
    for (const c of leaf.clusters) {
      const t = c.tokens;
      let eq = 0, compared = 0, wild = 0, covers = true;
      for (let i = 0; i < n; i++) {
        const a = t[i], b = tokens[i];
        const isWild = a === WILDCARD;
        if (isWild) wild++;
        else if (a !== b) covers = false;
        // a masked value against a masked value: not compared (see the module header)
        if (masked[i] && (a === b || isWild || a.indexOf(WILDCARD) !== -1)) continue;
        compared++;
        if (a === b) eq++;
      }
      if (covers && eq > coveringEq) {
        covering = c;
        coveringEq = eq;
      }
      if (pinned.some((i) => t[i] !== WILDCARD && t[i] !== tokens[i])) continue; // another event
      const sim = compared === 0 ? 1 : eq / compared;
      if (sim > bestSim || (sim === bestSim && wild > bestWild)) {
        best = c;
        bestSim = sim;
        bestWild = wild;
      }
    }
    if (covering) {
      covering.size++;
      return { cluster: covering, change: "matched" };
    }
    if (best && bestSim >= this.similarity) {
      for (let i = 0; i < n; i++) if (best.tokens[i] !== tokens[i]) best.tokens[i] = WILDCARD;
      best.version++;
      best.size++;
      // identical to an older template of the same leaf: merge into it
      const twin = leaf.clusters.find((c) => c !== best && sameTokens(c.tokens, best!.tokens));
      if (twin) {
        const [keep, drop] = twin.id < best.id ? [twin, best] : [best, twin];
        keep.size += drop.size;
        drop.aliasOf = keep;
        drop.version++;
        leaf.clusters.splice(leaf.clusters.indexOf(drop), 1);
        return { cluster: keep, change: "generalised", merged: drop };
      }
      return { cluster: best, change: "generalised" };
    }
    const c = this.create(this.growLeaf(tokens), tokens.slice());
    c.size++;
    return { cluster: c, change: "created" };
  }

  private create(leaf: TreeNode, tokens: string[]): Cluster {
    const c = new Cluster(this.nextId++, tokens);
    leaf.clusters.push(c);
    this.all.push(c);
    return c;
  }

  /** Routing key of a leading token: `<*>` for a token with a digit or a masked part, else the token. */
  private static key(tok: string): string {
    return HAS_DIGIT.test(tok) || tok.indexOf(WILDCARD) !== -1 ? WILDCARD : tok;
  }

  /** The leaf a message is matched in: exact branches first, else the `<*>` branch (drain3's tree_search). */
  private searchLeaf(tokens: readonly string[]): TreeNode | null {
    let node: TreeNode | undefined = this.root.get(tokens.length);
    const from = routeStart(tokens);
    const end = Math.min(from + this.depth - 2, tokens.length);
    for (let i = from; i < end && node; i++) {
      node = node.children.get(Drain.key(tokens[i])) ?? node.children.get(WILDCARD);
    }
    return node ?? null;
  }

  /** The leaf a new template goes to, created on the way (drain3's add_seq_to_prefix_tree). */
  private growLeaf(tokens: readonly string[]): TreeNode {
    let node: TreeNode | undefined = this.root.get(tokens.length);
    if (!node) this.root.set(tokens.length, node = newNode());
    const from = routeStart(tokens);
    const end = Math.min(from + this.depth - 2, tokens.length);
    for (let i = from; i < end; i++) {
      const key = Drain.key(tokens[i]);
      let next: TreeNode | undefined = node.children.get(key);
      if (!next) {
        const wild = node.children.get(WILDCARD);
        if (key === WILDCARD || (wild && node.children.size >= this.maxChildren)) {
          next = wild ?? newNode();
          if (!wild) node.children.set(WILDCARD, next);
        } else if (!wild && node.children.size + 1 >= this.maxChildren) {
          node.children.set(WILDCARD, next = newNode());
        } else {
          node.children.set(key, next = newNode());
        }
      }
      node = next;
    }
    return node;
  }
}

/** Longest leading bracketed context skipped by routing, in tokens. */
const MAX_CONTEXT_TOKENS = 8;

/**
 * Index of the first token routing looks at: after the leading bracketed groups (`[instance: <*>]`,
 * `[req-<*> <*> - -]`), as long as a token follows them; 0 otherwise.
 */
function routeStart(tokens: readonly string[]): number {
  let from = 0;
  while (from < tokens.length && tokens[from].charCodeAt(0) === 91 /* [ */) {
    const limit = Math.min(tokens.length - 1, from + MAX_CONTEXT_TOKENS);
    let end = -1;
    for (let j = from; j < limit; j++) {
      if (tokens[j].endsWith("]")) {
        end = j;
        break;
      }
    }
    if (end === -1) break;
    from = end + 1;
  }
  return from;
}

/** For each token: does it hold a masked part (`<*>`)? */
function maskedPositions(tokens: readonly string[]): boolean[] {
  const out = new Array<boolean>(tokens.length);
  for (let i = 0; i < tokens.length; i++) out[i] = tokens[i].indexOf(WILDCARD) !== -1;
  return out;
}

function sameTokens(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
