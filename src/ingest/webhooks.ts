/**
 * Webhook security and de-duplication, shared by the `ingest` function's webhook routes.
 *
 * - Signatures are checked over the RAW body before anything parses it: GitHub sends
 *   `X-Hub-Signature-256: sha256=<hex>`, Jira `X-Hub-Signature: sha256=<hex>`, both an HMAC-SHA256 of
 *   the body with the shared secret. `crypto.subtle.verify` compares in constant time.
 * - A delivery id (`X-GitHub-Delivery`, `X-Atlassian-Webhook-Identifier`) is claimed in
 *   aoma.webhook_deliveries inside the same transaction as the data it brings, so a redelivery finds
 *   it claimed and changes nothing, and a failed delivery leaves no claim behind (it can be retried).
 *
 * @example
 * const header = await signBody(secret, body);           // "sha256=9f…" (what GitHub sends)
 * await verifySignature(secret, body, header);           // true
 */
import type { Queryable } from "../db/types.ts";

/** Webhook providers the `ingest` function accepts. */
export type WebhookProvider = "github" | "jira";

/** Where each provider puts its signature, delivery id and event name, and which env var holds its secret. */
export interface WebhookSpec {
  provider: WebhookProvider;
  /** Header with "sha256=<hex>". */
  signatureHeader: string;
  /** Header with the delivery id used for de-duplication. */
  deliveryHeader: string;
  /** Header with the event name, when the provider sends one. */
  eventHeader?: string;
  /** Environment variable holding the shared secret. */
  secretEnv: string;
}

/** The two providers. */
export const WEBHOOKS: Record<WebhookProvider, WebhookSpec> = {
  github: {
    provider: "github",
    signatureHeader: "x-hub-signature-256",
    deliveryHeader: "x-github-delivery",
    eventHeader: "x-github-event",
    secretEnv: "GITHUB_WEBHOOK_SECRET",
  },
  jira: {
    provider: "jira",
    signatureHeader: "x-hub-signature",
    deliveryHeader: "x-atlassian-webhook-identifier",
    secretEnv: "JIRA_WEBHOOK_SECRET",
  },
};

const encoder = new TextEncoder();

function hmacKey(secret: string, usage: "sign" | "verify"): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [usage]);
}

/**
 * The signature header value for `body`: "sha256=" + hex HMAC-SHA256 with `secret`.
 *
 * @example
 * await signBody("s3cret", new TextEncoder().encode("{}")); // "sha256=…64 hex digits…"
 */
export async function signBody(secret: string, body: Uint8Array<ArrayBuffer> | string): Promise<string> {
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret, "sign"), bytes));
  return `sha256=${Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * True when `header` is "sha256=<64 hex digits>" and equals the HMAC-SHA256 of `body` under `secret`.
 * A missing or malformed header is false, never an exception. The comparison is constant-time
 * (crypto.subtle.verify).
 *
 * @example
 * if (!await verifySignature(secret, rawBody, req.headers.get("x-hub-signature-256"))) → 401
 */
export async function verifySignature(
  secret: string,
  body: Uint8Array<ArrayBuffer>,
  header: string | null,
): Promise<boolean> {
  const m = header === null ? null : /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim());
  if (!m) return false;
  const mac = new Uint8Array(32);
  for (let i = 0; i < 32; i++) mac[i] = parseInt(m[1].slice(2 * i, 2 * i + 2), 16);
  return await crypto.subtle.verify("HMAC", await hmacKey(secret, "verify"), mac, body);
}

/**
 * Claims delivery `deliveryId` of `provider` in aoma.webhook_deliveries. Run it inside the
 * transaction that writes the delivery's data: true = first time (go on), false = already
 * processed (skip; the caller answers `{duplicate: true}`).
 *
 * @example
 * await db.transaction(async (tx) => { if (!await claimDelivery(tx, "github", id, "push")) return; … });
 */
export async function claimDelivery(
  tx: Queryable,
  provider: WebhookProvider,
  deliveryId: string,
  event: string | null,
): Promise<boolean> {
  const rows = await tx.query<{ delivery_id: string }>(
    `insert into aoma.webhook_deliveries (provider, delivery_id, event) values ($1, $2, $3)
     on conflict (provider, delivery_id) do nothing returning delivery_id`,
    [provider, deliveryId, event],
  );
  return rows.length === 1;
}

/** Default delay of the feature refresh after the last webhook delivery of a burst. */
export const DEFAULT_REFRESH_DELAY_MS = 2_000;
/** Environment variable that sets it (0 = refresh inside every delivery). */
export const REFRESH_DELAY_ENV = "AOMA_WEBHOOK_REFRESH_DELAY_MS";

/**
 * The refresh delay from `AOMA_WEBHOOK_REFRESH_DELAY_MS` (default 2000): whole milliseconds from 0
 * to 600000; anything else is refused with a sentence (at start-up, not per delivery).
 *
 * @example
 * refreshDelayFrom(undefined);  // 2000
 * refreshDelayFrom("250");      // 250
 */
export function refreshDelayFrom(value: string | undefined): number {
  if (value === undefined || value.trim() === "") return DEFAULT_REFRESH_DELAY_MS;
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || n > 600_000) {
    throw new Error(`${REFRESH_DELAY_ENV} must be a whole number of milliseconds from 0 to 600000 (got ${JSON.stringify(value)}).`);
  }
  return n;
}

/**
 * One feature refresh for a burst of webhook deliveries. `schedule()`, called after each delivery
 * commits, (re)arms a timer: the refresh runs `delayMs` after the last delivery, or `maxDelayMs`
 * (default 10 × delayMs) after the first delivery not yet refreshed when deliveries never pause.
 * Refreshes never overlap: one asked for while another runs starts after it. A refresh that fails
 * is passed to `onError` and loses nothing — the touched hours stay in aoma_private.dirty_hours for
 * the next refresh (the next delivery, ingest or pg_cron job). Where the Supabase Edge Runtime
 * offers `EdgeRuntime.waitUntil`, the worker is kept alive until the refresh has run.
 *
 * @example
 * const refresher = new RefreshDebouncer(() => db.query("select * from analytics.refresh_features()").then(() => {}), 2000);
 * refresher.schedule();        // after each delivery
 * await refresher.settle();    // on shutdown: run a pending refresh now
 */
export class RefreshDebouncer {
  /** Refreshes started so far. */
  refreshes = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #firstAt = 0;
  #pending = false;
  #chain: Promise<void> = Promise.resolve();
  #done: (() => void)[] = [];

  constructor(
    private readonly refresh: () => Promise<void>,
    readonly delayMs: number,
    readonly maxDelayMs: number = delayMs * 10,
    private readonly onError: (e: unknown) => void = (e) =>
      console.error(`feature refresh after webhook deliveries failed (the next refresh catches up): ${(e as Error).message}`),
  ) {}

  /** Asks for a refresh `delayMs` from now (pushing back one already asked for, within maxDelayMs). */
  schedule(): void {
    const now = Date.now();
    if (!this.#pending) {
      this.#pending = true;
      this.#firstAt = now;
      const edge = (globalThis as { EdgeRuntime?: { waitUntil?: (p: Promise<unknown>) => void } }).EdgeRuntime;
      edge?.waitUntil?.(new Promise<void>((resolve) => this.#done.push(resolve)));
    }
    clearTimeout(this.#timer);
    const wait = Math.max(0, Math.min(this.delayMs, this.#firstAt + this.maxDelayMs - now));
    const timer = setTimeout(() => void this.settle(), wait);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /** Runs a pending refresh now, and resolves when every refresh asked for so far has ended. */
  settle(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending) {
      this.#pending = false;
      const done = this.#done.splice(0);
      this.#chain = this.#chain.then(async () => {
        this.refreshes++;
        try {
          await this.refresh();
        } catch (e) {
          this.onError(e);
        } finally {
          for (const resolve of done) resolve();
        }
      });
    }
    return this.#chain;
  }
}
