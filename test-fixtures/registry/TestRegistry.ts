/**
 * TestRegistry starts Debian's docker-registry on 127.0.0.1 (through registry.sh) in one of three
 * setups for a test: `plain` (no auth), `basic-tls` (htpasswd over TLS with a test CA; clients
 * use `certsDir`), `token` (bearer tokens from a {@link TokenIssuer} process). State lives in a
 * temp dir removed by {@link TestRegistry.stop}.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** One request the token issuer answered (no secrets). */
export interface TokenRequest {
  readonly user: string | undefined;
  readonly scopes: string[];
  readonly status: number;
  /** `refresh_token` for docker's OAuth2 form POST; absent for the GET flow. */
  readonly grant?: string;
}

/** TokenIssuer is the token server process (token-issuer.mjs) and the log of what it answered. */
export class TokenIssuer {
  readonly proc: ChildProcess;
  readonly logFile: string;
  readonly realm: string;

  private constructor(proc: ChildProcess, logFile: string, realm: string) {
    this.proc = proc;
    this.logFile = logFile;
    this.realm = realm;
  }

  /** start runs token-issuer.mjs with the signing key and waits for its realm URL. */
  static async start(dir: string): Promise<TokenIssuer> {
    const logFile = join(dir, "token-requests.jsonl");
    writeFileSync(logFile, "");
    const proc = spawn(
      process.execPath,
      [join(here, "token-issuer.mjs"), join(dir, "token.key"), join(dir, "token.crt"), logFile],
      { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, TOKEN_USERS: `${USER}:${PASSWORD}` } },
    );
    const realm = await new Promise<string>((resolve, reject) => {
      let out = "";
      proc.stdout?.on("data", (b: Buffer) => {
        out += b.toString();
        if (out.includes("\n")) resolve(out.trim());
      });
      proc.on("exit", (code) => reject(new Error(`token issuer exited with ${code}`)));
    });
    return new TokenIssuer(proc, logFile, realm);
  }

  /** requests lists what the issuer answered so far, oldest first. */
  get requests(): TokenRequest[] {
    return readFileSync(this.logFile, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as TokenRequest);
  }

  /** stop ends the issuer process. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise((r) => this.proc.once("exit", r));
    this.proc.kill("SIGTERM");
    await exited;
  }
}

/** The three registry setups. */
export type RegistryMode = "plain" | "basic-tls" | "token";

/** USER and PASSWORD are the credentials the basic and token setups accept. */
export const USER = "testuser";
export const PASSWORD = "testpassword";

const here = dirname(fileURLToPath(import.meta.url));

/** freePort asks the kernel for a free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** TestRegistry: see the module comment. */
export class TestRegistry {
  readonly mode: RegistryMode;
  readonly dir: string;
  port = 0;
  proc: ChildProcess | undefined;
  issuer: TokenIssuer | undefined;
  log = "";

  constructor(mode: RegistryMode) {
    this.mode = mode;
    this.dir = mkdtempSync(join(tmpdir(), `berth-registry-${mode}-`));
  }

  /** host is `127.0.0.1:PORT`. */
  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** certsDir holds `127.0.0.1:PORT/ca.crt` for the TLS setup (a docker certs.d layout). */
  get certsDir(): string {
    return join(this.dir, "certs.d");
  }

  /** start launches the registry (same port on a restart) and waits until `/v2/` answers. */
  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const args = [this.mode, this.dir, String(this.port)];
    if (this.mode === "token") {
      if (this.issuer === undefined) {
        // registry.sh makes the signing key; make it first so the issuer can read it.
        const { execFileSync } = await import("node:child_process");
        execFileSync(
          "openssl",
          [
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=berth-test-token",
            "-keyout",
            join(this.dir, "token.key"),
            "-out",
            join(this.dir, "token.crt"),
          ],
          { stdio: "ignore" },
        );
        this.issuer = await TokenIssuer.start(this.dir);
        this.realm = this.issuer.realm;
      }
      args.push(this.realm);
    }
    const proc = spawn(join(here, "registry.sh"), args, { stdio: ["ignore", "pipe", "pipe"] });
    this.proc = proc;
    const collect = (b: Buffer) => {
      this.log += b.toString();
    };
    proc.stdout?.on("data", collect);
    proc.stderr?.on("data", collect);
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`registry exited with ${proc.exitCode}: ${this.log}`);
      if (await this.#ready()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`registry did not answer within 20s: ${this.log}`);
  }

  realm = "";

  #ready(): Promise<boolean> {
    return new Promise((resolve) => {
      const tls = this.mode === "basic-tls";
      const req = (tls ? httpsRequest : httpRequest)(
        `${tls ? "https" : "http"}://${this.host}/v2/`,
        { rejectUnauthorized: false },
        (res) => {
          res.resume();
          resolve(res.statusCode === 200 || res.statusCode === 401);
        },
      );
      req.on("error", () => resolve(false));
      req.end();
    });
  }

  /** kill stops the registry process abruptly (SIGKILL) and waits for it to exit; state stays. */
  async kill(): Promise<void> {
    const p = this.proc;
    if (p === undefined || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGKILL");
    await exited;
  }

  /** stop kills the registry and the token issuer and removes the temp dir. */
  async stop(): Promise<void> {
    await this.kill();
    await this.issuer?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
