/**
 * RegistryClient speaks the OCI Distribution API (and Docker's registry v2 API) to one or more
 * registries: manifests (GET/HEAD/PUT with content negotiation), blobs (GET verified by the
 * caller, HEAD, cross-repository mount, monolithic and chunked upload), authentication
 * (anonymous, basic, bearer token flow with a token cache per host and scope), TLS per host,
 * redirects that never carry credentials to another host, and retries with backoff on
 * connection errors and 5xx answers.
 *
 * @since 0.1.0
 */
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { type Readable, Transform } from "node:stream";
import {
  FailedPrecondition,
  InvalidArgument,
  isBerthError,
  NotFound,
  ResourceExhausted,
  Unauthorized,
  Unavailable,
} from "@berth/errdefs";
import {
  type Digest,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  isDigest,
  OCI_INDEX,
  OCI_MANIFEST,
  type Reference,
  sha256,
} from "@berth/oci";
import { type Challenge, parseChallenges } from "./Challenge.ts";
import type { Credential, CredentialStore } from "./Credentials.ts";
import { type Endpoint, resolveEndpoint } from "./Hosts.ts";
import { MAX_ERROR_BODY_BYTES, registryError } from "./RegistryError.ts";

/**
 * MAX_MANIFEST_BYTES bounds a manifest or index read from a registry (containers/image
 * `iolimits.maxManifestBodySize` is 4 MiB; unbounded reads are CVE-2020-1702-style memory exhaustion).
 */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** MANIFEST_ACCEPT lists the manifest media types Berth negotiates, best first. */
export const MANIFEST_ACCEPT = [OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST] as const;

/** Options for {@link RegistryClient}. */
export interface RegistryClientOptions {
  /** Where credentials come from; default none (anonymous). */
  readonly credentials?: CredentialStore;
  /** Hosts (`host:port`) that may be reached over plain HTTP besides loopback ones. */
  readonly insecure?: readonly string[];
  /** docker `certs.d`-style directory; default `/etc/berth/certs.d`. */
  readonly certsDir?: string;
  /** How many times a failed request is retried (connection errors, 5xx, 429); default 4. */
  readonly retries?: number;
  /** First backoff delay in ms (doubles each retry); default 200. */
  readonly retryDelayMs?: number;
  /** User-Agent header; default `berth/0.1`. */
  readonly userAgent?: string;
  /** Idle socket timeout in ms; default 60000. */
  readonly timeoutMs?: number;
}

/** FetchedManifest is a manifest or index as served: exact bytes, digest and media type. */
export interface FetchedManifest {
  readonly digest: Digest;
  readonly mediaType: string;
  readonly bytes: Buffer;
}

/** ManifestHead is what a HEAD of a manifest tells. */
export interface ManifestHead {
  readonly digest: Digest | undefined;
  readonly mediaType: string;
  readonly size: number;
}

/** Options of {@link RegistryClient.uploadBlob}. */
export interface UploadOptions {
  /** Upload in PATCH chunks of this many bytes; default: one monolithic PUT. */
  readonly chunkSize?: number;
  /** Called with the number of bytes sent so far. */
  readonly onProgress?: (sent: number) => void;
  readonly signal?: AbortSignal;
}

/** Repository names a repository on a registry (`{domain: "127.0.0.1:5000", path: "a/b"}`). */
export type Repository = Pick<Reference, "domain" | "path">;

interface Req {
  readonly method: string;
  readonly url: URL;
  readonly headers?: Record<string, string>;
  /** A body that can be sent again on retry (Buffer), or a one-shot stream. */
  readonly body?: Buffer | Readable;
  readonly scopes: readonly string[];
  readonly signal?: AbortSignal;
  /** Follow redirects (GET/HEAD). */
  readonly follow?: boolean;
}

interface Res {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: IncomingMessage;
  readonly url: URL;
}

interface Token {
  readonly value: string;
  readonly expires: number;
}

const RETRYABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ERR_STREAM_PREMATURE_CLOSE",
  "UND_ERR_SOCKET",
]);

/** Errors of a connection that never got anywhere: nobody listens, no such host, no route. */
const CONNECT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

/** isRetryable tells whether an error is a transient transport failure worth another attempt. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof Unavailable) return (err as { retryable?: boolean }).retryable !== false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && RETRYABLE_CODES.has(code)) return true;
  const msg = (err as Error).message ?? "";
  return /socket hang up|aborted|ECONNRESET|premature close/i.test(msg);
}

/** sleep waits `ms`, or rejects when the signal aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/** readLimited reads a whole body of at most `max` bytes. */
export async function readLimited(body: Readable, max: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of body as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > max) {
      body.destroy();
      throw new ResourceExhausted(`${what} is larger than the limit of ${max} bytes`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

function drain(body: IncomingMessage): Promise<string> {
  return readLimited(body, MAX_ERROR_BODY_BYTES, "error body")
    .then((b) => b.toString("utf8"))
    .catch(() => "");
}

function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** RegistryClient: see the module comment. One instance may serve many registries. */
export class RegistryClient {
  readonly #opts: RegistryClientOptions;
  readonly #endpoints = new Map<string, Promise<Endpoint>>();
  /** Per host: the challenges of `GET /v2/` (empty: no auth needed). */
  readonly #challenges = new Map<string, Challenge[]>();
  /** Hosts that gave this client an HTTP answer (so a refused connection is worth retrying). */
  readonly #answered = new Set<string>();
  /** Per host and scope set: a bearer token. */
  readonly #tokens = new Map<string, Token>();
  /** Credentials given to {@link login} for this client's lifetime, by host. */
  readonly #overrides = new Map<string, Credential | null>();

  /** Create a client; nothing is contacted until a method is called. */
  constructor(opts: RegistryClientOptions = {}) {
    this.#opts = opts;
  }

  /** withCredential makes `host` use `cred` (or anonymous access with `null`) instead of the store. */
  withCredential(host: string, cred: Credential | null): this {
    this.#overrides.set(host, cred);
    this.#challenges.delete(host);
    for (const k of [...this.#tokens.keys()]) if (k.startsWith(`${host} `)) this.#tokens.delete(k);
    return this;
  }

  endpoint(host: string): Promise<Endpoint> {
    let ep = this.#endpoints.get(host);
    if (ep === undefined) {
      ep = resolveEndpoint(host, {
        ...(this.#opts.insecure ? { insecure: this.#opts.insecure } : {}),
        ...(this.#opts.certsDir ? { certsDir: this.#opts.certsDir } : {}),
      }).then((e) => this.#upgradeToTls(e));
      this.#endpoints.set(host, ep);
      ep.catch(() => this.#endpoints.delete(host));
    }
    return ep;
  }

  /**
   * #upgradeToTls: a plain-HTTP endpoint (loopback or insecure-listed) that answers
   * "Client sent an HTTP request to an HTTPS server" is reached over TLS without verification,
   * as docker treats insecure registries. Connection errors are left to the real request.
   */
  async #upgradeToTls(ep: Endpoint): Promise<Endpoint> {
    if (!ep.base.startsWith("http:")) return ep;
    try {
      const res = await this.#sendOnce(
        ep,
        { method: "GET", url: new URL("/v2/", ep.base), scopes: [] },
        undefined,
      );
      const body = await drain(res.body);
      if (res.status === 400 && /HTTP request to an HTTPS server/i.test(body)) {
        return { ...ep, base: ep.base.replace(/^http:/, "https:"), skipVerify: true };
      }
    } catch {
      // unreachable now: the request that follows reports it (with retries)
    }
    return ep;
  }

  async #credential(host: string): Promise<Credential | undefined> {
    if (this.#overrides.has(host)) return this.#overrides.get(host) ?? undefined;
    return this.#opts.credentials?.get(host);
  }

  // ---------------------------------------------------------------- transport

  #sendOnce(ep: Endpoint, req: Req, auth: string | undefined): Promise<Res> {
    return new Promise((resolve, reject) => {
      const url = req.url;
      const sameHost = url.origin === new URL(ep.base).origin;
      const headers: Record<string, string> = {
        "User-Agent": this.#opts.userAgent ?? "berth/0.1",
        ...(req.headers ?? {}),
      };
      if (auth !== undefined && sameHost) headers.Authorization = auth;
      const isHttps = url.protocol === "https:";
      const opts = {
        method: req.method,
        headers,
        timeout: this.#opts.timeoutMs ?? 60_000,
        ...(req.signal ? { signal: req.signal } : {}),
        ...(isHttps && sameHost && ep.ca ? { ca: ep.ca } : {}),
        ...(isHttps && sameHost && ep.cert ? { cert: ep.cert, key: ep.key } : {}),
        ...(isHttps && sameHost && ep.skipVerify ? { rejectUnauthorized: false } : {}),
      };
      const r = (isHttps ? httpsRequest : httpRequest)(url, opts, (res) => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url });
      });
      r.on("timeout", () => r.destroy(Object.assign(new Error("request timed out"), { code: "ETIMEDOUT" })));
      r.on("error", reject);
      const body = req.body;
      if (body === undefined) r.end();
      else if (Buffer.isBuffer(body)) r.end(body);
      else {
        body.on("error", (err) => r.destroy(err));
        body.pipe(r);
      }
    });
  }

  /** #send sends with redirects (credentials only to the registry's own origin). */
  async #send(ep: Endpoint, req: Req, auth: string | undefined): Promise<Res> {
    let current = req;
    for (let hop = 0; ; hop++) {
      const res = await this.#sendOnce(ep, current, auth);
      const loc = header(res.headers, "location");
      if (req.follow && loc !== undefined && [301, 302, 303, 307, 308].includes(res.status)) {
        res.body.resume();
        if (hop >= 5) throw new Unavailable(`too many redirects for ${req.method} ${req.url.pathname}`);
        const next = new URL(loc, current.url);
        if (next.protocol !== "https:" && next.protocol !== "http:") {
          throw new InvalidArgument(`refusing redirect to ${next.protocol} URL`);
        }
        current = { ...current, url: next };
        continue;
      }
      return res;
    }
  }

  /** #request sends with auth and retries; 401 refreshes the token once for body-less requests. */
  async #request(ep: Endpoint, req: Req): Promise<Res> {
    const retries = this.#opts.retries ?? 4;
    const delay = this.#opts.retryDelayMs ?? 200;
    const canRetry = req.body === undefined || Buffer.isBuffer(req.body);
    for (let attempt = 0; ; attempt++) {
      try {
        let auth = await this.#authorization(ep, req.scopes, req.signal);
        let res = await this.#send(ep, req, auth);
        this.#answered.add(ep.host);
        if (res.status === 401 && canRetry) {
          const challenges = parseChallenges(res.headers["www-authenticate"]);
          res.body.resume();
          if (challenges.length > 0) this.#challenges.set(ep.host, challenges);
          const extra = challenges.find((c) => c.scheme === "bearer")?.params.scope;
          const scopes = extra ? [...new Set([...req.scopes, ...extra.split(" ")])] : req.scopes;
          this.#dropTokens(ep.host, req.scopes);
          auth = await this.#authorization(ep, scopes, req.signal);
          res = await this.#send(ep, req, auth);
        }
        if (res.status === 401) {
          res.body.resume();
          throw await this.#unauthorized(ep, `${req.method} ${req.url.pathname}`);
        }
        if ((res.status >= 500 || res.status === 429) && canRetry && attempt < retries) {
          res.body.resume();
          await sleep(delay * 2 ** attempt, req.signal);
          continue;
        }
        return res;
      } catch (err) {
        if (req.signal?.aborted) throw err;
        if (canRetry && attempt < retries && this.#worthRetry(ep, err) && !(err instanceof Unauthorized)) {
          await sleep(delay * 2 ** attempt, req.signal);
          continue;
        }
        if (isBerthError(err)) throw err;
        throw new Unavailable(
          `${req.method} ${req.url.origin}${req.url.pathname}: ${(err as Error).message}` +
            (attempt > 0 ? ` (after ${attempt + 1} attempts)` : ""),
          { cause: err },
        );
      }
    }
  }

  async #unauthorized(ep: Endpoint, what: string): Promise<Unauthorized> {
    const cred = await this.#credential(ep.host);
    if (cred === undefined) {
      return new Unauthorized(
        `${what}: no basic auth credentials for ${ep.host}: log in first (berth login ${ep.host})`,
      );
    }
    return new Unauthorized(
      `${what}: authentication required: the credentials for ${ep.host} were refused; log in again (berth login ${ep.host})`,
    );
  }

  /**
   * #worthRetry: a transient transport failure, except that a registry which never answered this
   * client (nobody listens, no such host) fails at once, as docker's does; one that answered
   * before and now refuses is retried (it may be restarting mid-pull).
   */
  #worthRetry(ep: Endpoint, err: unknown): boolean {
    const e = err as { code?: unknown; cause?: { code?: unknown } };
    const code = e.code ?? e.cause?.code;
    if (typeof code === "string" && CONNECT_CODES.has(code) && !this.#answered.has(ep.host)) return false;
    return isRetryable(err);
  }

  #dropTokens(host: string, scopes: readonly string[]): void {
    this.#tokens.delete(`${host} ${[...scopes].sort().join(" ")}`);
  }

  /** #challengesOf pings `GET /v2/` once per host to learn how it authenticates. */
  async #challengesOf(ep: Endpoint, signal?: AbortSignal): Promise<Challenge[]> {
    const known = this.#challenges.get(ep.host);
    if (known !== undefined) return known;
    const retries = this.#opts.retries ?? 4;
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.#send(
          ep,
          { method: "GET", url: new URL("/v2/", ep.base), scopes: [], ...(signal ? { signal } : {}) },
          undefined,
        );
        this.#answered.add(ep.host);
        res.body.resume();
        if (res.status >= 500 && attempt < retries) {
          await sleep((this.#opts.retryDelayMs ?? 200) * 2 ** attempt, signal);
          continue;
        }
        const challenges = res.status === 401 ? parseChallenges(res.headers["www-authenticate"]) : [];
        this.#challenges.set(ep.host, challenges);
        return challenges;
      } catch (err) {
        if (!signal?.aborted && attempt < retries && this.#worthRetry(ep, err)) {
          await sleep((this.#opts.retryDelayMs ?? 200) * 2 ** attempt, signal);
          continue;
        }
        throw new Unavailable(`GET ${ep.base}/v2/: ${(err as Error).message}`, { cause: err });
      }
    }
  }

  /** #authorization returns the Authorization header value for `scopes`, or undefined. */
  async #authorization(
    ep: Endpoint,
    scopes: readonly string[],
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    const challenges = await this.#challengesOf(ep, signal);
    if (challenges.length === 0) return undefined;
    const cred = await this.#credential(ep.host);
    const bearer = challenges.find((c) => c.scheme === "bearer");
    if (bearer !== undefined) {
      const token = await this.#token(ep, bearer, scopes, cred, signal);
      return `Bearer ${token}`;
    }
    if (challenges.some((c) => c.scheme === "basic") && cred !== undefined) {
      return `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString("base64")}`;
    }
    return undefined;
  }

  /** #token fetches (or reuses) a bearer token for the scopes (docker's token flow, GET form). */
  async #token(
    ep: Endpoint,
    challenge: Challenge,
    scopes: readonly string[],
    cred: Credential | undefined,
    signal?: AbortSignal,
  ): Promise<string> {
    const key = `${ep.host} ${[...scopes].sort().join(" ")}`;
    const cached = this.#tokens.get(key);
    if (cached !== undefined && cached.expires > Date.now()) return cached.value;
    const realm = challenge.params.realm;
    if (realm === undefined || realm === "") {
      throw new Unavailable(`registry ${ep.host} sent a bearer challenge without a realm`);
    }
    const url = new URL(realm);
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new InvalidArgument(`token realm of ${ep.host} is not an http(s) URL`);
    }
    const headers: Record<string, string> = { "User-Agent": this.#opts.userAgent ?? "berth/0.1" };
    let req: Req;
    if (cred?.identityToken) {
      // An identity (refresh) token: docker's OAuth2 form POST (distribution's fetchTokenWithOAuth).
      const form = new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: cred.identityToken,
        client_id: "berth",
        ...(challenge.params.service ? { service: challenge.params.service } : {}),
        ...(scopes.length > 0 ? { scope: scopes.join(" ") } : {}),
      });
      const body = Buffer.from(form.toString());
      headers["Content-Type"] = "application/x-www-form-urlencoded";
      headers["Content-Length"] = String(body.length);
      req = { method: "POST", url, headers, body, scopes: [], ...(signal ? { signal } : {}) };
    } else {
      if (challenge.params.service) url.searchParams.set("service", challenge.params.service);
      for (const s of scopes) url.searchParams.append("scope", s);
      if (cred !== undefined) {
        headers.Authorization = `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString("base64")}`;
      }
      req = { method: "GET", url, headers, scopes: [], ...(signal ? { signal } : {}) };
    }
    // The token server is its own endpoint: it gets the registry's TLS settings (CA, client
    // certificate, insecure upgrade) only when it is the registry's own host.
    const sameHost = url.host === new URL(ep.base).host;
    const realmEp: Endpoint = sameHost ? { ...ep, base: url.origin } : { host: url.host, base: url.origin };
    const res = await this.#sendOnce(realmEp, req, undefined).catch((err: unknown) => {
      throw new Unavailable(`fetching a token from ${url.origin}${url.pathname}: ${(err as Error).message}`, {
        cause: err,
      });
    });
    if (res.status === 401 || res.status === 403) {
      res.body.resume();
      throw await this.#unauthorized(ep, `token for ${ep.host}`);
    }
    if (res.status !== 200) {
      const body = await drain(res.body);
      throw registryError(res.status, `fetching a token from ${url.origin}${url.pathname}`, body);
    }
    const body = await readLimited(res.body, 1024 * 1024, "token answer");
    let parsed: { token?: string; access_token?: string; expires_in?: number };
    try {
      parsed = JSON.parse(body.toString("utf8")) as typeof parsed;
    } catch {
      throw new Unavailable(`token answer from ${url.origin} is not JSON`);
    }
    const value = parsed.token ?? parsed.access_token;
    if (typeof value !== "string" || value === "")
      throw new Unavailable(`token answer from ${url.origin} has no token`);
    const ttl = typeof parsed.expires_in === "number" && parsed.expires_in > 0 ? parsed.expires_in : 60;
    this.#tokens.set(key, { value, expires: Date.now() + Math.max(1, ttl - 5) * 1000 });
    return value;
  }

  // ---------------------------------------------------------------- API

  /**
   * checkLogin verifies `cred` against `host` as docker login does: `GET /v2/`, and for a
   * token registry a token request. Throws Unauthorized when the registry refuses them.
   */
  async checkLogin(host: string, cred: Credential): Promise<void> {
    this.withCredential(host, cred);
    const ep = await this.endpoint(host);
    const res = await this.#request(ep, { method: "GET", url: new URL("/v2/", ep.base), scopes: [] }).catch(
      (err: unknown) => {
        if (err instanceof Unauthorized) {
          throw new Unauthorized(`login attempt to ${ep.base}/v2/ failed with status: 401 Unauthorized`);
        }
        throw err;
      },
    );
    res.body.resume();
    if (res.status !== 200) {
      throw registryError(res.status, `login attempt to ${ep.base}/v2/`, "");
    }
  }

  #repoUrl(ep: Endpoint, repo: Repository, rest: string): URL {
    return new URL(`/v2/${repo.path}/${rest}`, ep.base);
  }

  /**
   * getManifest fetches a manifest or index by tag or digest with the right Accept headers.
   * Bodies over {@link MAX_MANIFEST_BYTES} are refused; a manifest fetched by digest must hash
   * to that digest, and a `Docker-Content-Digest` answer header must match the bytes.
   */
  async getManifest(repo: Repository, reference: string, signal?: AbortSignal): Promise<FetchedManifest> {
    const ep = await this.endpoint(repo.domain);
    const url = this.#repoUrl(ep, repo, `manifests/${reference}`);
    const res = await this.#request(ep, {
      method: "GET",
      url,
      headers: { Accept: MANIFEST_ACCEPT.join(", ") },
      scopes: [`repository:${repo.path}:pull`],
      follow: true,
      ...(signal ? { signal } : {}),
    });
    if (res.status !== 200) {
      const body = await drain(res.body);
      throw registryError(res.status, `GET ${url.origin}${url.pathname}`, body);
    }
    const declared = Number(header(res.headers, "content-length") ?? "-1");
    if (declared > MAX_MANIFEST_BYTES) {
      res.body.destroy();
      throw new ResourceExhausted(
        `manifest ${repo.path}:${reference} is ${declared} bytes, larger than the limit of ${MAX_MANIFEST_BYTES} bytes`,
      );
    }
    const bytes = await readLimited(res.body, MAX_MANIFEST_BYTES, `manifest ${repo.path}:${reference}`);
    const digest = sha256(bytes);
    if (isDigest(reference) && reference !== digest) {
      throw new FailedPrecondition(
        `manifest verification failed for digest ${reference}: content hashes to ${digest}`,
      );
    }
    const served = header(res.headers, "docker-content-digest");
    if (served?.startsWith("sha256:") && served !== digest) {
      throw new FailedPrecondition(
        `manifest ${repo.path}:${reference}: registry says digest ${served}, content hashes to ${digest}`,
      );
    }
    let mediaType = (header(res.headers, "content-type") ?? "").split(";")[0]!.trim();
    try {
      const doc = JSON.parse(bytes.toString("utf8")) as { mediaType?: unknown };
      if (typeof doc.mediaType === "string" && doc.mediaType !== "") mediaType = doc.mediaType;
    } catch {
      throw new InvalidArgument(`manifest ${repo.path}:${reference} is not valid JSON`);
    }
    return { digest, mediaType, bytes };
  }

  /** headManifest asks whether a manifest exists; undefined on 404. */
  async headManifest(
    repo: Repository,
    reference: string,
    signal?: AbortSignal,
  ): Promise<ManifestHead | undefined> {
    const ep = await this.endpoint(repo.domain);
    const url = this.#repoUrl(ep, repo, `manifests/${reference}`);
    const res = await this.#request(ep, {
      method: "HEAD",
      url,
      headers: { Accept: MANIFEST_ACCEPT.join(", ") },
      scopes: [`repository:${repo.path}:pull`],
      follow: true,
      ...(signal ? { signal } : {}),
    });
    res.body.resume();
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw registryError(res.status, `HEAD ${url.origin}${url.pathname}`, "");
    const d = header(res.headers, "docker-content-digest");
    return {
      digest: d !== undefined && isDigest(d) ? d : undefined,
      mediaType: (header(res.headers, "content-type") ?? "").split(";")[0]!.trim(),
      size: Number(header(res.headers, "content-length") ?? "0"),
    };
  }

  /** putManifest uploads a manifest (after its blobs) under a tag or digest; returns its digest. */
  async putManifest(repo: Repository, reference: string, bytes: Buffer, mediaType: string): Promise<Digest> {
    const ep = await this.endpoint(repo.domain);
    const url = this.#repoUrl(ep, repo, `manifests/${reference}`);
    const res = await this.#request(ep, {
      method: "PUT",
      url,
      headers: { "Content-Type": mediaType, "Content-Length": String(bytes.length) },
      body: bytes,
      scopes: [`repository:${repo.path}:pull,push`],
    });
    const body = await drain(res.body);
    if (res.status !== 201 && res.status !== 200) {
      throw registryError(res.status, `PUT ${url.origin}${url.pathname}`, body);
    }
    const digest = sha256(bytes);
    const served = header(res.headers, "docker-content-digest");
    if (served !== undefined && served !== digest) {
      throw new FailedPrecondition(`registry stored manifest as ${served}, expected ${digest}`);
    }
    return digest;
  }

  /** MAX_TAGS_BYTES bounds a tag list answer. */
  static readonly MAX_TAGS_BYTES = 4 * 1024 * 1024;

  /** listTags returns a repository's tags (`GET /v2/<name>/tags/list`, following `Link` pages). */
  async listTags(repo: Repository): Promise<string[]> {
    const ep = await this.endpoint(repo.domain);
    const tags: string[] = [];
    let url: URL | undefined = this.#repoUrl(ep, repo, "tags/list");
    for (let page = 0; url !== undefined && page < 100; page++) {
      const res = await this.#request(ep, {
        method: "GET",
        url,
        scopes: [`repository:${repo.path}:pull`],
        follow: true,
      });
      if (res.status !== 200) {
        const body = await drain(res.body);
        throw registryError(res.status, `GET ${url.origin}${url.pathname}`, body);
      }
      const body = await readLimited(res.body, RegistryClient.MAX_TAGS_BYTES, `tag list of ${repo.path}`);
      const parsed = JSON.parse(body.toString("utf8")) as { tags?: unknown };
      if (Array.isArray(parsed.tags)) for (const t of parsed.tags) if (typeof t === "string") tags.push(t);
      const link = header(res.headers, "link");
      const next = link === undefined ? undefined : /<([^>]+)>;\s*rel="?next"?/.exec(link)?.[1];
      url = next === undefined ? undefined : new URL(next, url);
      if (url !== undefined && url.origin !== new URL(ep.base).origin) url = undefined;
    }
    return tags;
  }

  /** headBlob returns a blob's size when the repository has it, else undefined. */
  async headBlob(repo: Repository, digest: Digest, push = false): Promise<number | undefined> {
    const ep = await this.endpoint(repo.domain);
    const url = this.#repoUrl(ep, repo, `blobs/${digest}`);
    const res = await this.#request(ep, {
      method: "HEAD",
      url,
      scopes: [`repository:${repo.path}:${push ? "pull,push" : "pull"}`],
      follow: true,
    });
    res.body.resume();
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw registryError(res.status, `HEAD ${url.origin}${url.pathname}`, "");
    return Number(header(res.headers, "content-length") ?? "0");
  }

  /**
   * fetchBlob opens a blob's bytes. They are NOT verified here: pipe them into
   * `ContentStore.ingest({expected, size})` (or `verifyingTransform`) before trusting them.
   * The stream ends early with an error when the registry sends more than `size` bytes.
   */
  async fetchBlob(repo: Repository, digest: Digest, size: number, signal?: AbortSignal): Promise<Readable> {
    const ep = await this.endpoint(repo.domain);
    const url = this.#repoUrl(ep, repo, `blobs/${digest}`);
    const res = await this.#request(ep, {
      method: "GET",
      url,
      scopes: [`repository:${repo.path}:pull`],
      follow: true,
      ...(signal ? { signal } : {}),
    });
    if (res.status !== 200) {
      const body = await drain(res.body);
      if (res.status === 404) throw new NotFound(`blob ${digest} not found in ${repo.domain}/${repo.path}`);
      throw registryError(res.status, `GET ${url.origin}${url.pathname}`, body);
    }
    const declared = Number(header(res.headers, "content-length") ?? "-1");
    if (declared >= 0 && declared !== size) {
      res.body.destroy();
      throw new FailedPrecondition(`blob ${digest} is served as ${declared} bytes, expected ${size}`);
    }
    return res.body;
  }

  /**
   * mountBlob asks the registry to mount `digest` from repository `from` (same registry) into
   * `repo` (`POST /v2/<repo>/blobs/uploads/?mount=<digest>&from=<from>`). Returns true when
   * mounted (201), false when the registry started an ordinary upload instead (which is cancelled).
   */
  async mountBlob(repo: Repository, digest: Digest, from: string): Promise<boolean> {
    const ep = await this.endpoint(repo.domain);
    const url = this.#repoUrl(ep, repo, "blobs/uploads/");
    url.searchParams.set("mount", digest);
    url.searchParams.set("from", from);
    const res = await this.#request(ep, {
      method: "POST",
      url,
      headers: { "Content-Length": "0" },
      body: Buffer.alloc(0),
      scopes: [`repository:${repo.path}:pull,push`, `repository:${from}:pull`],
    });
    const body = await drain(res.body);
    if (res.status === 201) return true;
    if (res.status === 202) {
      const loc = header(res.headers, "location");
      if (loc !== undefined) {
        const cancel = await this.#request(ep, {
          method: "DELETE",
          url: new URL(loc, url),
          scopes: [`repository:${repo.path}:pull,push`],
        }).catch(() => undefined);
        cancel?.body.resume();
      }
      return false;
    }
    throw registryError(res.status, `POST ${url.origin}${url.pathname}`, body);
  }

  /**
   * uploadBlob uploads a blob (`POST` an upload session, then one `PUT ?digest=` with the whole
   * body, or `PATCH` chunks with `Content-Range` and a final `PUT` when `chunkSize` is set).
   * `open` is called once per attempt, so a failed upload is retried from the start.
   */
  async uploadBlob(
    repo: Repository,
    digest: Digest,
    size: number,
    open: () => Promise<Readable>,
    opts: UploadOptions = {},
  ): Promise<void> {
    const retries = this.#opts.retries ?? 4;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#uploadOnce(repo, digest, size, await open(), opts);
        return;
      } catch (err) {
        if (opts.signal?.aborted || attempt >= retries || !isRetryable(err)) throw err;
        await sleep((this.#opts.retryDelayMs ?? 200) * 2 ** attempt, opts.signal);
      }
    }
  }

  async #uploadOnce(
    repo: Repository,
    digest: Digest,
    size: number,
    source: Readable,
    opts: UploadOptions,
  ): Promise<void> {
    const ep = await this.endpoint(repo.domain);
    const scopes = [`repository:${repo.path}:pull,push`];
    const start = this.#repoUrl(ep, repo, "blobs/uploads/");
    const sig = opts.signal ? { signal: opts.signal } : {};
    const res = await this.#request(ep, {
      method: "POST",
      url: start,
      headers: { "Content-Length": "0" },
      body: Buffer.alloc(0),
      scopes,
      ...sig,
    });
    const startBody = await drain(res.body);
    if (res.status !== 202) {
      source.destroy();
      throw registryError(res.status, `POST ${start.origin}${start.pathname}`, startBody);
    }
    let location = new URL(header(res.headers, "location") ?? "", start);
    let sent = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        sent += chunk.length;
        opts.onProgress?.(sent);
        cb(null, chunk);
      },
    });
    source.on("error", (err) => counter.destroy(err));
    const counted = source.pipe(counter);
    const chunkSize = opts.chunkSize;
    if (chunkSize !== undefined && chunkSize > 0 && size > chunkSize) {
      let offset = 0;
      for await (const chunk of chunks(counted, chunkSize)) {
        const end = offset + chunk.length - 1;
        const r = await this.#request(ep, {
          method: "PATCH",
          url: location,
          headers: {
            "Content-Type": "application/octet-stream",
            "Content-Length": String(chunk.length),
            "Content-Range": `${offset}-${end}`,
          },
          body: chunk,
          scopes,
          ...sig,
        });
        const b = await drain(r.body);
        if (r.status !== 202)
          throw registryError(r.status, `PATCH ${location.origin}${location.pathname}`, b);
        location = new URL(header(r.headers, "location") ?? location.href, location);
        offset = end + 1;
      }
      const done = new URL(location);
      done.searchParams.set("digest", digest);
      const r = await this.#request(ep, {
        method: "PUT",
        url: done,
        headers: { "Content-Length": "0" },
        body: Buffer.alloc(0),
        scopes,
        ...sig,
      });
      const b = await drain(r.body);
      if (r.status !== 201) throw registryError(r.status, `PUT ${done.origin}${done.pathname}`, b);
      return;
    }
    const done = new URL(location);
    done.searchParams.set("digest", digest);
    const r = await this.#request(ep, {
      method: "PUT",
      url: done,
      headers: { "Content-Type": "application/octet-stream", "Content-Length": String(size) },
      body: counted,
      scopes,
      ...sig,
    });
    const b = await drain(r.body);
    if (r.status !== 201) throw registryError(r.status, `PUT ${done.origin}${done.pathname}`, b);
  }
}

/** chunks regroups a byte stream into buffers of exactly `size` bytes (the last may be shorter). */
async function* chunks(source: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let have = 0;
  for await (const c of source) {
    let buf = c;
    while (have + buf.length >= size) {
      const take = size - have;
      parts.push(buf.subarray(0, take));
      yield Buffer.concat(parts);
      parts = [];
      have = 0;
      buf = buf.subarray(take);
    }
    if (buf.length > 0) {
      parts.push(buf);
      have += buf.length;
    }
  }
  if (have > 0) yield Buffer.concat(parts);
}
