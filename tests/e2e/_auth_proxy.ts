/**
 * A loopback HTTP proxy that forwards every request to one upstream origin with extra headers
 * (an Authorization header), for clients that cannot send headers themselves — the MCP
 * conformance runner has no header option. Responses (including SSE streams) are streamed back.
 *
 * The proxy is as transparent as it can be: method, path, query, body and headers go through
 * unchanged — a foreign Host or Origin too, so the server's own checks still see them — except
 * that a Host/Origin naming the proxy itself is rewritten to name the upstream, as if the client
 * had called the server directly. Built on node:http because Deno's fetch does not let a caller
 * set the Host header. With `onExchange`, each finished exchange is also reported (method, path,
 * request body, status, response body; bodies cut at 1 MB) — to see what a client really sent.
 *
 * @example
 * const proxy = await startAuthProxy("http://127.0.0.1:40123", { authorization: `Bearer ${token}` });
 * // point the client at `${proxy.origin}/functions/v1/mcp`
 * await proxy.close();
 */
import { Buffer } from "node:buffer";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Readable } from "node:stream";

/** A running proxy. */
export interface AuthProxy {
  /** Origin of the proxy, e.g. http://127.0.0.1:40777. */
  origin: string;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

/** One request and its answer as seen by the proxy. */
export interface ProxyExchange {
  method: string;
  path: string;
  requestBody: string;
  /** The upstream's HTTP status, or 502 when it could not be reached. */
  status: number;
  responseBody: string;
}

/** Options of {@link startAuthProxy}. */
export interface AuthProxyOptions {
  /** Called once per exchange, after the response has ended (or failed). */
  onExchange?: (exchange: ProxyExchange) => void;
}

const _MAX_LOGGED_BODY = 1 << 20;

/** Collects the chunks of a stream as text, up to {@link _MAX_LOGGED_BODY} bytes. */
function _collect(stream: Readable): () => string {
  const chunks: Uint8Array[] = [];
  let size = 0;
  stream.on("data", (chunk: Uint8Array) => {
    if (size < _MAX_LOGGED_BODY) chunks.push(chunk.subarray(0, _MAX_LOGGED_BODY - size));
    size += chunk.length;
  });
  return () => new TextDecoder().decode(Buffer.concat(chunks));
}

/** Starts the proxy on a free loopback port in front of `upstreamOrigin` (http://host:port). */
export async function startAuthProxy(
  upstreamOrigin: string,
  addHeaders: Record<string, string>,
  opts: AuthProxyOptions = {},
): Promise<AuthProxy> {
  const upstream = new URL(upstreamOrigin);
  let self = "";
  const server = http.createServer((req, res) => {
    const requestBody = opts.onExchange ? _collect(req) : () => "";
    let status = 502;
    let responseBody = () => "";
    if (opts.onExchange) {
      const report = opts.onExchange;
      res.once("close", () =>
        report({ method: req.method ?? "", path: req.url ?? "", requestBody: requestBody(), status, responseBody: responseBody() }));
    }
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers[name] = value;
    if (headers.host === self) headers.host = upstream.host;
    if (headers.origin === `http://${self}`) headers.origin = upstream.origin;
    for (const [name, value] of Object.entries(addHeaders)) headers[name.toLowerCase()] = value;
    const out = http.request(
      { hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
      (up) => {
        status = up.statusCode ?? 502;
        if (opts.onExchange) responseBody = _collect(up);
        res.writeHead(status, up.headers);
        up.pipe(res);
      },
    );
    out.on("error", (e) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`proxy: upstream request failed: ${e.message}`);
    });
    // The client hanging up (e.g. cancelling an SSE stream) ends the upstream request as well.
    res.on("close", () => out.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  self = `127.0.0.1:${port}`;
  return {
    origin: `http://${self}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}
