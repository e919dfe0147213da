/**
 * Credentials for registries, and where they come from: docker's `~/.docker/config.json`
 * (`auths` with base64 `auth`, `identitytoken`, `credsStore`, `credHelpers` through
 * `docker-credential-*` executables), or a fixed table given by the caller.
 *
 * Credentials are secrets: nothing in this module logs them or puts them in error messages.
 *
 * @since 0.1.0
 */
import { spawn } from "node:child_process";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { InvalidArgument, NotFound, Unavailable } from "@berth/errdefs";

/** Credential is a username and password (or token), or an OAuth2 identity (refresh) token. */
export interface Credential {
  readonly username: string;
  readonly password: string;
  /** An identity token: used instead of the password for bearer token requests. */
  readonly identityToken?: string;
}

/** CredentialStore looks credentials up by registry host (`127.0.0.1:5000`, `docker.io`). */
export interface CredentialStore {
  /** get returns the credential for `host`, or undefined when there is none (anonymous access). */
  get(host: string): Promise<Credential | undefined>;
}

/** DOCKER_HUB_AUTH_KEY is the key docker uses for Docker Hub in `auths`. */
export const DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/";

/** authKey maps a registry host to the key docker uses in config.json (`docker.io` -> the Hub URL). */
export function authKey(host: string): string {
  if (host === "docker.io" || host === "index.docker.io" || host === "registry-1.docker.io") {
    return DOCKER_HUB_AUTH_KEY;
  }
  return host;
}

/** normaliseKey turns a key of `auths` (`https://host/v1/`, `host`) into a bare host. */
function normaliseKey(key: string): string {
  if (key === DOCKER_HUB_AUTH_KEY) return "docker.io";
  const stripped = key.replace(/^https?:\/\//, "");
  return stripped.split("/")[0] ?? stripped;
}

/** StaticCredentials is a CredentialStore over a fixed host -> credential table. */
export class StaticCredentials implements CredentialStore {
  readonly #table: Map<string, Credential>;

  /** Create a store from `{host: credential}`. */
  constructor(table: Record<string, Credential> = {}) {
    this.#table = new Map(Object.entries(table).map(([k, v]) => [normaliseKey(k), v]));
  }

  /** get returns the credential of `host`. */
  async get(host: string): Promise<Credential | undefined> {
    return this.#table.get(normaliseKey(host));
  }
}

/** The parts of docker's config.json this module reads and writes (other fields are kept). */
interface DockerConfigFile {
  auths?: Record<string, { auth?: string; identitytoken?: string; username?: string; password?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [k: string]: unknown;
}

/** Options for {@link DockerConfig}. */
export interface DockerConfigOptions {
  /** Directory holding config.json; default `$DOCKER_CONFIG` or `~/.docker`. */
  readonly dir?: string;
  /** Where to find `docker-credential-*` helpers; default `$PATH`. */
  readonly path?: string;
}

/**
 * DockerConfig reads and writes credentials in docker's `config.json` format, so `berth login`
 * and `docker login` share them. `credHelpers[host]` wins over `credsStore`, which wins over
 * `auths`. Writes are atomic (temp file + rename) with mode 0600.
 */
export class DockerConfig implements CredentialStore {
  /** The config.json path. */
  readonly file: string;
  readonly #path: string | undefined;

  /** Create a view of `dir/config.json` (nothing is read until used). */
  constructor(opts: DockerConfigOptions = {}) {
    const dir = opts.dir ?? process.env.DOCKER_CONFIG ?? join(homedir(), ".docker");
    this.file = join(dir, "config.json");
    this.#path = opts.path;
  }

  async #read(): Promise<DockerConfigFile> {
    let text: string;
    try {
      text = await readFile(this.file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
      throw err;
    }
    if (text.trim() === "") return {};
    try {
      const v = JSON.parse(text) as unknown;
      if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("not an object");
      return v as DockerConfigFile;
    } catch (err) {
      throw new InvalidArgument(`${this.file}: expected a JSON object: ${(err as Error).message}`);
    }
  }

  async #write(cfg: DockerConfigFile): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(cfg, null, "\t")}\n`, { mode: 0o600 });
    await rename(tmp, this.file);
  }

  /** helperFor returns the credential helper suffix that serves `host`, if any. */
  async helperFor(host: string): Promise<string | undefined> {
    const cfg = await this.#read();
    const key = authKey(host);
    return cfg.credHelpers?.[key] ?? cfg.credHelpers?.[host] ?? cfg.credsStore ?? undefined;
  }

  /** get returns the credential stored for `host`, from a helper or from `auths`. */
  async get(host: string): Promise<Credential | undefined> {
    const cfg = await this.#read();
    const key = authKey(host);
    const helper = cfg.credHelpers?.[key] ?? cfg.credHelpers?.[host] ?? cfg.credsStore;
    if (helper !== undefined && helper !== "") {
      return helperGet(helper, key, this.#path);
    }
    for (const [k, entry] of Object.entries(cfg.auths ?? {})) {
      if (k !== key && normaliseKey(k) !== host) continue;
      return decodeAuthEntry(entry);
    }
    return undefined;
  }

  /** store saves `cred` for `host` (through the helper when one is configured). */
  async store(host: string, cred: Credential): Promise<void> {
    const cfg = await this.#read();
    const key = authKey(host);
    const helper = cfg.credHelpers?.[key] ?? cfg.credHelpers?.[host] ?? cfg.credsStore;
    if (helper !== undefined && helper !== "") {
      await helperRun(
        helper,
        "store",
        JSON.stringify({ ServerURL: key, Username: cred.username, Secret: cred.password }),
        this.#path,
      );
      cfg.auths = { ...(cfg.auths ?? {}), [key]: {} };
    } else {
      const entry: { auth: string; identitytoken?: string } = {
        auth: Buffer.from(`${cred.username}:${cred.password}`).toString("base64"),
      };
      if (cred.identityToken !== undefined) entry.identitytoken = cred.identityToken;
      cfg.auths = { ...(cfg.auths ?? {}), [key]: entry };
    }
    await this.#write(cfg);
  }

  /** erase removes the credential of `host`; returns false when there was none. */
  async erase(host: string): Promise<boolean> {
    const cfg = await this.#read();
    const key = authKey(host);
    const helper = cfg.credHelpers?.[key] ?? cfg.credHelpers?.[host] ?? cfg.credsStore;
    let found = false;
    if (helper !== undefined && helper !== "") {
      found = await helperRun(helper, "erase", key, this.#path).then(
        () => true,
        () => false,
      );
    }
    for (const k of Object.keys(cfg.auths ?? {})) {
      if (k === key || normaliseKey(k) === host) {
        delete cfg.auths![k];
        found = true;
      }
    }
    await this.#write(cfg);
    return found;
  }
}

/** decodeAuthEntry reads one `auths` entry: base64 `user:password` and/or an identity token. */
export function decodeAuthEntry(entry: {
  auth?: string;
  identitytoken?: string;
  username?: string;
  password?: string;
}): Credential | undefined {
  let username = entry.username ?? "";
  let password = entry.password ?? "";
  if (entry.auth !== undefined && entry.auth !== "") {
    const text = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = text.indexOf(":");
    if (colon < 0)
      throw new InvalidArgument("invalid auth entry in docker config: expected base64 of user:password");
    username = text.slice(0, colon);
    password = text.slice(colon + 1);
  }
  if (username === "" && password === "" && (entry.identitytoken ?? "") === "") return undefined;
  return {
    username,
    password,
    ...(entry.identitytoken ? { identityToken: entry.identitytoken } : {}),
  };
}

/** helperGet asks `docker-credential-<helper> get` for the credential of `serverURL`. */
async function helperGet(
  helper: string,
  serverURL: string,
  path: string | undefined,
): Promise<Credential | undefined> {
  let out: string;
  try {
    out = await helperRun(helper, "get", serverURL, path);
  } catch (err) {
    if (err instanceof NotFound) return undefined;
    throw err;
  }
  const v = JSON.parse(out) as { Username?: string; Secret?: string };
  if (v.Username === "<token>") return { username: "", password: "", identityToken: v.Secret ?? "" };
  return { username: v.Username ?? "", password: v.Secret ?? "" };
}

/**
 * helperRun runs `docker-credential-<helper> <action>` with `input` on stdin (the credential
 * helper protocol). The helper's output may hold a secret: it is never put into an error.
 */
function helperRun(helper: string, action: string, input: string, path: string | undefined): Promise<string> {
  if (!/^[A-Za-z0-9_.-]+$/.test(helper)) {
    return Promise.reject(new InvalidArgument(`invalid credential helper name ${JSON.stringify(helper)}`));
  }
  return new Promise((resolve, reject) => {
    const env = path === undefined ? process.env : { ...process.env, PATH: path };
    const child = spawn(`docker-credential-${helper}`, [action], { env, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.resume();
    child.on("error", (err) =>
      reject(new Unavailable(`credential helper docker-credential-${helper} could not run: ${err.message}`)),
    );
    child.on("close", (code) => {
      const text = Buffer.concat(out).toString("utf8");
      if (code === 0) resolve(text);
      else if (/credentials not found/i.test(text))
        reject(new NotFound("credentials not found in native keychain"));
      else
        reject(
          new Unavailable(
            `credential helper docker-credential-${helper} ${action} exited with status ${code}`,
          ),
        );
    });
    child.stdin.on("error", () => {});
    child.stdin.end(input);
  });
}
