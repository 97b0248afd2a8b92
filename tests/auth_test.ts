/**
 * Authentication, Origin/Host checks and the HTTP edges of the gateway, over real HTTP on an
 * ephemeral port: missing/bad/expired/foreign tokens get 401 with the RFC 9728 challenge, good
 * tokens get through, foreign Origins and Hosts get 403, metadata is served, bodies are bounded.
 */
import assert from "node:assert/strict";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { issueToken } from "../src/auth/token.ts";
import { parseDuration, parseFlags } from "../src/cli/args.ts";
import { createVerifier, TokenError } from "../src/auth/verify.ts";
import { openPglite } from "../src/db/pglite.ts";
import { startServer } from "../src/server/gateway.ts";
import { isAllowedOrigin } from "../src/server/origin.ts";
import { testAuth } from "./mcp_fixture.ts";

const auth = testAuth();
const now = () => Math.floor(Date.now() / 1000);

function b64url(s: string): string {
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A token signed with `secret` (default the server's) and the given claims/header. */
async function craft(
  claims: Record<string, unknown> = {},
  opts: { secret?: Uint8Array; alg?: string; iss?: string; aud?: string; exp?: number; nbf?: number } = {},
): Promise<string> {
  let jwt = new SignJWT({ role: "authenticated", ...claims })
    .setProtectedHeader({ alg: opts.alg ?? "HS256", typ: "JWT" })
    .setIssuer(opts.iss ?? auth.issuer)
    .setAudience(opts.aud ?? auth.audience)
    .setSubject("tester")
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? now() + 600);
  if (opts.nbf !== undefined) jwt = jwt.setNotBefore(opts.nbf);
  return await jwt.sign(opts.secret ?? auth.secret!);
}

function algNoneToken(): string {
  const header = b64url(JSON.stringify({ alg: "none", typ: "JWT" }));
  const payload = b64url(JSON.stringify({ role: "authenticated", iss: auth.issuer, aud: auth.audience, exp: now() + 600 }));
  return `${header}.${payload}.`;
}

const INIT = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "auth-test", version: "1" } },
};
const MCP_HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

Deno.test("verifier: accepts a good token and refuses bad ones with a reason", async () => {
  const verify = createVerifier(auth);
  const caller = await verify(await issueToken(auth, { role: "service_role", ttlSeconds: 60 }));
  assert.equal(caller.role, "service_role");
  assert.equal(caller.claims.iss, auth.issuer);

  const refused = async (token: string, reason: RegExp) => {
    await assert.rejects(verify(token), (e: unknown) => e instanceof TokenError && reason.test((e as Error).message));
  };
  await refused(await craft({}, { secret: crypto.getRandomValues(new Uint8Array(32)) }), /signature is invalid/);
  await refused(await craft({}, { exp: now() - 120 }), /expired/);
  await refused(await craft({}, { aud: "somebody-else" }), /audience/);
  await refused(await craft({}, { iss: "https://evil.example/auth/v1" }), /issuer/);
  await refused(await craft({}, { nbf: now() + 3600 }), /not valid yet/);
  await refused(await craft({}, { alg: "HS512" }), /algorithm "HS512" is not accepted/);
  await refused(algNoneToken(), /algorithm "none" is not accepted/);
  await refused("not-a-jwt", /not a well-formed JWT/);
  // a token without exp is refused too
  const noExp = await new SignJWT({ role: "authenticated" }).setProtectedHeader({ alg: "HS256" })
    .setIssuer(auth.issuer).setAudience(auth.audience).sign(auth.secret!);
  await refused(noExp, /no expiry|"exp"/);
  // role anon verifies but has no access
  await assert.rejects(verify(await craft({ role: "anon" })), (e: unknown) => (e as { status?: number }).status === 403);
});

Deno.test("verifier with a JWKS (AOMA_JWKS_URL): ES256 tokens from the key set, HS256 still with the secret", async () => {
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" };
  const jwksServer = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, () => Response.json({ keys: [jwk] }));
  try {
    const jwksUrl = `http://127.0.0.1:${jwksServer.addr.port}/auth/v1/.well-known/jwks.json`;
    const verify = createVerifier({ ...auth, jwksUrl });
    const es = (claims: Record<string, unknown>, key = privateKey, aud = auth.audience) =>
      new SignJWT({ role: "authenticated", ...claims }).setProtectedHeader({ alg: "ES256", kid: "k1" })
        .setIssuer(auth.issuer).setAudience(aud).setExpirationTime(now() + 600).sign(key);
    const caller = await verify(await es({ sub: "jwks-user" }));
    assert.deepEqual([caller.role, caller.claims.sub], ["authenticated", "jwks-user"]);
    assert.equal((await verify(await issueToken(auth, { ttlSeconds: 60 }))).role, "authenticated");
    const other = await generateKeyPair("ES256");
    await assert.rejects(verify(await es({}, other.privateKey)), (e: unknown) => e instanceof TokenError);
    await assert.rejects(verify(await es({}, privateKey, "somebody-else")), /audience/);
  } finally {
    await jwksServer.shutdown();
  }
});

Deno.test("origin allowlist: own, local and configured origins only", () => {
  const self = "http://127.0.0.1:54321";
  assert.equal(isAllowedOrigin(null, self, []), true);
  assert.equal(isAllowedOrigin(self, self, []), true);
  assert.equal(isAllowedOrigin("http://localhost:6274", self, []), true);
  assert.equal(isAllowedOrigin("http://127.0.0.1:3000", self, []), true);
  assert.equal(isAllowedOrigin("https://studio.example.com", self, ["https://studio.example.com"]), true);
  assert.equal(isAllowedOrigin("https://evil.example", self, []), false);
  assert.equal(isAllowedOrigin("http://localhost.evil.example", self, []), false);
  assert.equal(isAllowedOrigin("null", self, []), false);
});

Deno.test("gateway over HTTP: 401 challenges, good tokens, 403 origins and hosts, metadata, limits", async (t) => {
  const db = await openPglite();
  const srv = await startServer({ port: 0, db, auth, allowedOrigins: [] });
  const metadataUrl = `${srv.baseUrl}/.well-known/oauth-protected-resource/functions/v1/mcp`;
  const post = (headers: Record<string, string>, body: unknown = INIT) =>
    fetch(srv.url, { method: "POST", headers: { ...MCP_HEADERS, ...headers }, body: JSON.stringify(body) });
  try {
    await t.step("no token → 401 with resource_metadata, no error code", async () => {
      const res = await post({});
      assert.equal(res.status, 401);
      assert.equal(res.headers.get("www-authenticate"), `Bearer resource_metadata="${metadataUrl}"`);
      const body = await res.json();
      assert.equal(body.message, "Cannot authorize the request: a bearer token is required.");
    });

    const cases: [string, () => Promise<string>, RegExp][] = [
      ["bad signature", () => craft({}, { secret: crypto.getRandomValues(new Uint8Array(32)) }), /signature is invalid/],
      ["expired", () => craft({}, { exp: now() - 120 }), /expired/],
      ["wrong audience", () => craft({}, { aud: "anon" }), /audience/],
      ["wrong issuer", () => craft({}, { iss: "https://evil.example/auth/v1" }), /issuer/],
      ["alg none", () => Promise.resolve(algNoneToken()), /algorithm "none"/],
      ["garbage", () => Promise.resolve("garbage"), /well-formed/],
    ];
    for (const [name, make, reason] of cases) {
      await t.step(`${name} → 401 invalid_token with resource_metadata`, async () => {
        const res = await post({ authorization: `Bearer ${await make()}` });
        assert.equal(res.status, 401);
        const challenge = res.headers.get("www-authenticate") ?? "";
        assert.match(challenge, /^Bearer error="invalid_token", error_description="[^"]+", resource_metadata="/);
        assert.ok(challenge.endsWith(`resource_metadata="${metadataUrl}"`), challenge);
        const body = await res.json();
        assert.equal(body.error, "invalid_token");
        assert.match(body.message, reason);
      });
    }

    await t.step("non-Bearer Authorization → 401 invalid_token", async () => {
      const res = await post({ authorization: "Basic dXNlcjpwYXNz" });
      assert.equal(res.status, 401);
      assert.match(res.headers.get("www-authenticate")!, /error="invalid_token"/);
      await res.body?.cancel();
    });

    await t.step("good token (authenticated and service_role) → 200 initialize", async () => {
      for (const role of ["authenticated", "service_role"] as const) {
        const res = await post({ authorization: `Bearer ${await srv.token({ role })}` });
        assert.equal(res.status, 200);
        const body = await res.json();
        assert.equal(body.result.serverInfo.name, "aoma-mesh-analytics");
        assert.equal(res.headers.get("mcp-session-id"), null, "stateless: no session id");
      }
    });

    await t.step("role anon → 403", async () => {
      const res = await post({ authorization: `Bearer ${await craft({ role: "anon" })}` });
      assert.equal(res.status, 403);
      assert.match((await res.json()).message, /role "anon" has no access/);
    });

    await t.step("foreign Origin → 403 even with a good token; local Origin → 200 with CORS", async () => {
      const token = await srv.token();
      const bad = await post({ authorization: `Bearer ${token}`, origin: "https://evil.example" });
      assert.equal(bad.status, 403);
      assert.equal((await bad.json()).message, 'Cannot serve this request: origin "https://evil.example" is not allowed.');
      assert.equal(bad.headers.get("access-control-allow-origin"), null);
      const good = await post({ authorization: `Bearer ${token}`, origin: "http://localhost:6274" });
      assert.equal(good.status, 200);
      assert.equal(good.headers.get("access-control-allow-origin"), "http://localhost:6274");
      assert.match(good.headers.get("access-control-expose-headers")!, /www-authenticate/);
      await good.body?.cancel();
    });

    await t.step("CORS preflight: allowed origin 204 without a token, foreign origin 403", async () => {
      const ok = await fetch(srv.url, { method: "OPTIONS", headers: { origin: "http://localhost:6274" } });
      assert.equal(ok.status, 204);
      assert.match(ok.headers.get("access-control-allow-headers")!, /authorization/);
      assert.match(ok.headers.get("access-control-allow-headers")!, /mcp-protocol-version/);
      await ok.body?.cancel();
      const bad = await fetch(srv.url, { method: "OPTIONS", headers: { origin: "https://evil.example" } });
      assert.equal(bad.status, 403);
      await bad.body?.cancel();
    });

    await t.step("foreign Host header → 403 (DNS rebinding)", async () => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: srv.port });
      await conn.write(new TextEncoder().encode(
        "GET /.well-known/oauth-protected-resource HTTP/1.1\r\nHost: rebind.evil.example\r\nConnection: close\r\n\r\n",
      ));
      let text = "";
      const buf = new Uint8Array(4096);
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        text += new TextDecoder().decode(buf.subarray(0, n));
      }
      conn.close();
      assert.match(text, /^HTTP\/1\.1 403/);
      assert.match(text, /host \\"rebind\.evil\.example\\" is not allowed/);
    });

    await t.step("RFC 9728 metadata at the root, path-inserted and below the function", async () => {
      for (const url of [
        `${srv.baseUrl}/.well-known/oauth-protected-resource`,
        metadataUrl,
        `${srv.url}/.well-known/oauth-protected-resource`,
      ]) {
        const res = await fetch(url);
        assert.equal(res.status, 200, url);
        assert.deepEqual(await res.json(), {
          resource: srv.url,
          authorization_servers: [auth.issuer],
          bearer_methods_supported: ["header"],
          resource_name: "AOMA Mesh Analytics",
        });
      }
    });

    await t.step("body over 1 MiB → 413 (declared length and streamed body)", async () => {
      const token = await srv.token();
      const big = new Uint8Array(2 * 1024 * 1024).fill(0x20);
      const declared = await fetch(srv.url, {
        method: "POST",
        headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
        body: big,
      });
      assert.equal(declared.status, 413);
      assert.equal((await declared.json()).message, "Cannot accept the request: the body is larger than 1,048,576 bytes.");
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(c) {
          if (sent >= 4 * 1024 * 1024) return c.close();
          sent += 64 * 1024;
          c.enqueue(new Uint8Array(64 * 1024).fill(0x20));
        },
      });
      const streamed = await fetch(srv.url, {
        method: "POST",
        headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
        body: stream,
      });
      assert.equal(streamed.status, 413);
      await streamed.body?.cancel();
    });

    await t.step("GET on the stateless endpoint → 405; unknown function → 404", async () => {
      const get = await fetch(srv.url, { headers: { authorization: `Bearer ${await srv.token()}`, accept: "text/event-stream" } });
      assert.equal(get.status, 405);
      await get.body?.cancel();
      const missing = await fetch(`${srv.baseUrl}/functions/v1/nope`);
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
    });
  } finally {
    await srv.close();
    await db.close();
  }
});

/** Runs `deno run -A src/cli/token.ts …` with exactly `env` (plus what deno needs to find its cache). */
async function tokenCli(args: string[], env: Record<string, string>) {
  const keep = ["HOME", "PATH", "DENO_DIR", "XDG_CACHE_HOME"].flatMap((k) => (Deno.env.get(k) ? [[k, Deno.env.get(k)!]] : []));
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "src/cli/token.ts", ...args],
    cwd: new URL("../", import.meta.url),
    clearEnv: true,
    env: { ...Object.fromEntries(keep), NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout).trim(), stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("npm run token: prints only a token the server accepts; the generated secret is shared", async () => {
  const dir = await Deno.makeTempDir({ prefix: "aoma-token-" });
  try {
    const secretFile = `${dir}/jwt-secret`;
    const a = await tokenCli(["--role", "service_role", "--ttl", "1h"], { AOMA_JWT_SECRET_FILE: secretFile });
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /^[\w-]+\.[\w-]+\.[\w-]+$/, "stdout is just the JWT");
    const secret = (await Deno.readTextFile(secretFile)).trim();
    assert.equal((await Deno.stat(secretFile)).mode! & 0o777, 0o600);
    const verify = createVerifier({ ...auth, secret: new TextEncoder().encode(secret) });
    const caller = await verify(a.stdout);
    assert.equal(caller.role, "service_role");
    assert.ok((caller.claims.exp as number) - now() <= 3600 && (caller.claims.exp as number) - now() > 3500);
    const b = await tokenCli([], { AOMA_JWT_SECRET_FILE: secretFile });
    assert.equal((await verify(b.stdout)).role, "authenticated", "a second run reuses the same secret");

    const env = await tokenCli([], { AOMA_JWT_SECRET: "from-the-environment-0123456789abcdef", AOMA_JWT_SECRET_FILE: `${dir}/unused` });
    await createVerifier({ ...auth, secret: new TextEncoder().encode("from-the-environment-0123456789abcdef") })(env.stdout);
    assert.equal(await Deno.stat(`${dir}/unused`).then(() => true, () => false), false, "no file when the env has a secret");

    const bad = await tokenCli(["--role", "anon"], { AOMA_JWT_SECRET_FILE: secretFile });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Cannot issue a token for role "anon": use authenticated or service_role\./);
    assert.equal(bad.stdout, "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CLI flags and durations", () => {
  assert.deepEqual(parseFlags(["--port", "8000", "--demo=null", "--help"], { port: true, demo: true, help: false }), {
    port: "8000",
    demo: "null",
    help: "true",
  });
  assert.throws(() => parseFlags(["--bogus"], { port: true }), /Cannot understand "--bogus": known flags are --port\./);
  assert.throws(() => parseFlags(["--port"], { port: true }), /needs a value/);
  assert.equal(parseDuration("3600"), 3600);
  assert.equal(parseDuration("30m"), 1800);
  assert.equal(parseDuration("12h"), 43200);
  assert.equal(parseDuration("7d"), 604800);
  assert.throws(() => parseDuration("soon"), /Cannot understand the duration "soon"/);
});
