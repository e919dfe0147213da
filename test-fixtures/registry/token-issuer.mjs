#!/usr/bin/env node
// A small bearer token server for tests (docker's token auth spec), run as its own process so
// that tests blocked in spawnSync (the docker CLI) cannot stall it.
//
// usage: node token-issuer.mjs KEY_PEM CERT_PEM LOG_FILE   (users: $TOKEN_USERS = "user:password,...")
// Prints the realm URL (http://127.0.0.1:PORT/token) on stdout once listening.
//
// GET /token?service=...&scope=repository:NAME:ACTIONS answers a JWT signed with KEY_PEM (RS256,
// `x5c` header carrying CERT_PEM, which the registry trusts as its rootcertbundle). Anonymous
// callers get pull access only to repositories under `public/`; a caller with valid basic
// credentials gets what they ask for. Each request is appended to LOG_FILE as one JSON line
// ({user, scopes, status}; never a password).
import { createPrivateKey, randomBytes, sign, X509Certificate } from "node:crypto";
import { appendFileSync, readFileSync } from "node:fs";
import { createServer } from "node:http";

const [keyFile, certFile, logFile] = process.argv.slice(2);
const users = Object.fromEntries(
  (process.env.TOKEN_USERS ?? "")
    .split(",")
    .filter(Boolean)
    .map((p) => [p.slice(0, p.indexOf(":")), p.slice(p.indexOf(":") + 1)]),
);
const key = createPrivateKey(readFileSync(keyFile));
const x5c = new X509Certificate(readFileSync(certFile)).raw.toString("base64");
const b64url = (b) => Buffer.from(b).toString("base64url");
const log = (entry) => appendFileSync(logFile, `${JSON.stringify(entry)}\n`);

const server = createServer((req, res) => {
  if (req.method === "POST") {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => answer(req, res, new URLSearchParams(Buffer.concat(chunks).toString())));
    return;
  }
  answer(req, res, undefined);
});

/** REFRESH_PREFIX + user is the identity (refresh) token the issuer accepts for a user. */
const REFRESH_PREFIX = "berth-refresh-";

function answer(req, res, form) {
  const url = new URL(req.url ?? "/", "http://x");
  const scopes = (form ? form.getAll("scope") : url.searchParams.getAll("scope"))
    .flatMap((s) => s.split(" "))
    .filter(Boolean);
  let user;
  if (form) {
    const token = form.get("refresh_token") ?? "";
    const name = token.startsWith(REFRESH_PREFIX) ? token.slice(REFRESH_PREFIX.length) : "";
    if (form.get("grant_type") !== "refresh_token" || users[name] === undefined) {
      log({ user: undefined, scopes, status: 401, grant: "refresh_token" });
      res.writeHead(401, { "Content-Type": "application/json" });
      res.end('{"details":"invalid refresh token"}');
      return;
    }
    user = name;
  }
  const auth = form ? undefined : req.headers.authorization;
  if (auth?.startsWith("Basic ")) {
    const text = Buffer.from(auth.slice(6), "base64").toString();
    const colon = text.indexOf(":");
    const name = text.slice(0, colon);
    if (users[name] === undefined || users[name] !== text.slice(colon + 1)) {
      log({ user: name, scopes, status: 401 });
      res.writeHead(401, { "Content-Type": "application/json" });
      res.end('{"details":"incorrect username or password"}');
      return;
    }
    user = name;
  }
  const access = scopes.flatMap((s) => {
    const parts = s.split(":");
    if (parts.length < 3) return [];
    const type = parts[0];
    const actions = parts[parts.length - 1].split(",");
    const name = parts.slice(1, -1).join(":");
    const granted = user !== undefined ? actions : name.startsWith("public/") ? ["pull"] : [];
    return granted.length > 0 ? [{ type, name, actions: granted }] : [];
  });
  const now = Math.floor(Date.now() / 1000);
  const header = { typ: "JWT", alg: "RS256", x5c: [x5c] };
  const claims = {
    iss: "berth-test-issuer",
    sub: user ?? "",
    aud: (form ? form.get("service") : url.searchParams.get("service")) ?? "",
    exp: now + 300,
    nbf: now - 10,
    iat: now,
    jti: randomBytes(8).toString("hex"),
    access,
  };
  const signing = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const token = `${signing}.${b64url(sign("sha256", Buffer.from(signing), key))}`;
  log({ user, scopes, status: 200, ...(form ? { grant: "refresh_token" } : {}) });
  res.writeHead(200, { "Content-Type": "application/json" });
  res.end(
    JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }),
  );
}
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`http://127.0.0.1:${server.address().port}/token\n`);
});
process.on("SIGTERM", () => process.exit(0));
