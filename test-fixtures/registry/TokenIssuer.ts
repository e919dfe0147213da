/**
 * TokenIssuer is a small bearer token server for tests (docker's token auth spec): it answers
 * `GET /token?service=...&scope=repository:NAME:ACTIONS` with a JWT signed by `token.key`
 * (RS256, `x5c` header carrying `token.crt`, which the registry trusts as its rootcertbundle).
 * Anonymous callers get pull access only to repositories under `public/`; a caller with valid
 * basic credentials gets whatever they ask for. `requests` records what was asked (no secrets).
 */
import { createPrivateKey, randomBytes, sign, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One request the issuer answered. */
export interface TokenRequest {
  readonly user: string | undefined;
  readonly scopes: string[];
  readonly status: number;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");

/** TokenIssuer: see the module comment. */
export class TokenIssuer {
  readonly requests: TokenRequest[] = [];
  #server: Server | undefined;
  readonly #users: Record<string, string>;
  readonly #key: ReturnType<typeof createPrivateKey>;
  readonly #x5c: string;

  constructor(opts: { keyFile: string; certFile: string; users: Record<string, string> }) {
    this.#users = opts.users;
    this.#key = createPrivateKey(readFileSync(opts.keyFile));
    this.#x5c = new X509Certificate(readFileSync(opts.certFile)).raw.toString("base64");
  }

  /** start listens on 127.0.0.1 (random port) and returns the realm URL. */
  async start(): Promise<string> {
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      let user: string | undefined;
      const auth = req.headers.authorization;
      if (auth?.startsWith("Basic ")) {
        const text = Buffer.from(auth.slice(6), "base64").toString();
        const colon = text.indexOf(":");
        const name = text.slice(0, colon);
        if (this.#users[name] === undefined || this.#users[name] !== text.slice(colon + 1)) {
          this.requests.push({ user: name, scopes: url.searchParams.getAll("scope"), status: 401 });
          res.writeHead(401, { "Content-Type": "application/json" });
          res.end('{"details":"incorrect username or password"}');
          return;
        }
        user = name;
      }
      const scopes = url.searchParams
        .getAll("scope")
        .flatMap((s) => s.split(" "))
        .filter(Boolean);
      const access = scopes.flatMap((s) => {
        const parts = s.split(":");
        if (parts.length < 3) return [];
        const type = parts[0]!;
        const actions = parts[parts.length - 1]!.split(",");
        const name = parts.slice(1, -1).join(":");
        const granted = user !== undefined ? actions : name.startsWith("public/") ? ["pull"] : [];
        return granted.length > 0
          ? [{ type, name, actions: granted.filter((a) => actions.includes(a)) }]
          : [];
      });
      const now = Math.floor(Date.now() / 1000);
      const header = { typ: "JWT", alg: "RS256", x5c: [this.#x5c] };
      const claims = {
        iss: "berth-test-issuer",
        sub: user ?? "",
        aud: url.searchParams.get("service") ?? "",
        exp: now + 300,
        nbf: now - 10,
        iat: now,
        jti: randomBytes(8).toString("hex"),
        access,
      };
      const signing = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
      const sig = sign("sha256", Buffer.from(signing), this.#key);
      const token = `${signing}.${b64url(sig)}`;
      this.requests.push({ user, scopes, status: 200 });
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(
        JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }),
      );
    });
    this.#server = server;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  }

  /** stop closes the server. */
  async stop(): Promise<void> {
    const s = this.#server;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
