import { Readable } from "node:stream";
import {
  API_VERSION,
  type ContainerCreateRequest,
  type ContainerInspectResponse,
  type ContainerSummary,
  decodeJSONLines,
  type ExecCreateRequest,
  type ExecInspectResponse,
  FALLBACK_API_VERSION,
  FrameDecoder,
  Headers,
  type ImageDeleteResponseItem,
  type ImageInspect,
  type ImageSummary,
  type JSONMessage,
  JSONMessageError,
  jsonMessageError,
  minVersion,
  type SystemInfo,
  type SystemVersion,
} from "@berth/api";
import { Canceled, Internal, InvalidArgument } from "@berth/errdefs";
import { type AttachStream, createAttachStream, type OutputChunk } from "./AttachStream.ts";
import type {
  AttachOptions,
  ClientOptions,
  ImageImportOptions,
  LogsOptions,
  PingResult,
  RawResponse,
  RequestOptions,
  WaitPromise,
  WaitResult,
} from "./ClientOptions.ts";
import { CONNECT_ERROR_CODES, connectError } from "./connectError.ts";
import { DEFAULT_HOST, type DockerHost, parseDockerHost } from "./DockerHost.ts";
import { encodeFilters, encodeQuery, type QueryValue } from "./encodeQuery.ts";
import { errorFromResponse } from "./errorFromResponse.ts";
import type { HttpResponse } from "./HttpResponse.ts";
import { enc, encName, headerString, isMultiplexed, isStreamLike, readAll } from "./httpUtil.ts";
import { sendRequest, TIMEOUT_CODE } from "./sendRequest.ts";

interface Send {
  method: string;
  path: string;
  query?: Readonly<Record<string, QueryValue>> | undefined;
  body?: unknown;
  headers?: Record<string, string> | undefined;
  versioned?: boolean;
  timeout?: boolean;
  signal?: AbortSignal | undefined;
  throwOnError?: boolean;
}

const USER_AGENT = "Berth-Client/0.1.0 (linux)";

/**
 * isHijacked tells whether an attach/exec answer hands the connection over: `101 UPGRADED`, or
 * (daemons that ignore the Upgrade header) a 200 whose Content-Type is docker's raw or
 * multiplexed stream and that is not length-framed.
 */
function isHijacked(head: {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
}): boolean {
  if (head.statusCode === 101) return true;
  if (head.statusCode !== 200) return false;
  const type = headerString(head.headers, "content-type") ?? "";
  const framed =
    head.headers["content-length"] !== undefined || head.headers["transfer-encoding"] !== undefined;
  return !framed && /^application\/vnd\.docker\.(raw|multiplexed)-stream/.test(type);
}

/**
 * Client is a typed Docker Engine API client over a UNIX socket or plain TCP. It works against
 * berthd and against a real dockerd.
 *
 * Lifecycle: the API version is negotiated lazily with `HEAD /_ping` on the first request
 * (the lower of the daemon's `Api-Version` and {@link API_VERSION}) unless pinned with
 * `version`; every path is then prefixed `/v<version>`. Each request uses its own connection
 * (HTTP/1.1 over `node:net`, see {@link sendRequest}); {@link Client.close} (or `await using`)
 * is kept for symmetry and has nothing to release.
 *
 * Errors: a non-2xx answer throws the @berth/errdefs kind for its status with the daemon's
 * `message` (print it as `Error response from daemon: <message>`); a daemon that is not there
 * throws Unavailable with docker's "Cannot connect to the Docker daemon at ..." text and the
 * errno as `code`.
 *
 * @example
 * const client = Client.fromEnv();
 * const { Id } = await client.containerCreate({ Image: "busybox", Cmd: ["echo", "hi"] });
 * @since 0.1.0
 */
export class Client {
  /** socketPath is the UNIX socket in use, undefined for TCP. */
  readonly socketPath: string | undefined;
  /** host is the daemon address as a DOCKER_HOST URL (used in error messages). */
  readonly host: string;
  private readonly target: DockerHost;
  private readonly userAgent: string;
  private readonly timeoutMs: number | undefined;
  private negotiated: Promise<string> | undefined;
  private readonly pendingWaits = new Set<Promise<void>>();

  constructor(opts: ClientOptions = {}) {
    this.target =
      opts.socketPath !== undefined
        ? { kind: "unix", socketPath: opts.socketPath, url: `unix://${opts.socketPath}` }
        : parseDockerHost(opts.host ?? DEFAULT_HOST);
    this.socketPath = this.target.kind === "unix" ? this.target.socketPath : undefined;
    this.host = this.target.url;
    this.userAgent = opts.userAgent ?? USER_AGENT;
    this.timeoutMs = opts.timeoutMs;
    if (opts.version !== undefined) {
      const v = opts.version.replace(/^v/, "");
      if (!/^\d+\.\d+$/.test(v)) {
        throw new InvalidArgument(`invalid api version ${JSON.stringify(opts.version)}, expected e.g. 1.41`);
      }
      this.negotiated = Promise.resolve(v);
    }
  }

  /** fromEnv builds a client from DOCKER_HOST and DOCKER_API_VERSION (default unix:///run/berth/berth.sock). */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): Client {
    const opts: ClientOptions = {};
    if (env.DOCKER_HOST) opts.host = env.DOCKER_HOST;
    if (env.DOCKER_API_VERSION) opts.version = env.DOCKER_API_VERSION;
    return new Client(opts);
  }

  /** apiVersion resolves the version in use (negotiating on first call). */
  apiVersion(): Promise<string> {
    if (!this.negotiated) {
      const p = this.negotiate();
      this.negotiated = p;
      // A failed negotiation (daemon down) is retried by the next call.
      p.catch(() => {
        if (this.negotiated === p) this.negotiated = undefined;
      });
    }
    return this.negotiated;
  }

  private async negotiate(): Promise<string> {
    let res: RawResponse;
    try {
      res = await this.pingRaw();
    } catch (err) {
      if ((err as { _tag?: unknown })._tag === "Unavailable") throw err;
      return FALLBACK_API_VERSION;
    }
    const server = headerString(res.headers, Headers.apiVersion);
    if (!server || !/^\d+\.\d+$/.test(server)) return FALLBACK_API_VERSION;
    return minVersion(server, API_VERSION);
  }

  private async pingRaw(): Promise<RawResponse> {
    const head = await this.send({ method: "HEAD", path: "/_ping", versioned: false, timeout: true });
    if (head.status < 400) return head;
    // Old daemons answer HEAD with 404/405; docker falls back to GET.
    return this.send({ method: "GET", path: "/_ping", versioned: false, timeout: true });
  }

  /** ping checks the daemon (`HEAD /_ping`, falling back to GET) and reports its API version and OS. */
  async ping(): Promise<PingResult> {
    const res = await this.pingRaw();
    if (res.status >= 400) throw errorFromResponse(res);
    const builder = headerString(res.headers, Headers.builderVersion);
    return {
      apiVersion: headerString(res.headers, Headers.apiVersion) ?? FALLBACK_API_VERSION,
      osType: headerString(res.headers, Headers.osType) ?? "",
      experimental: headerString(res.headers, Headers.experimental) === "true",
      ...(builder === undefined ? {} : { builderVersion: builder }),
    };
  }

  /** version returns `GET /version`. */
  async version(): Promise<SystemVersion> {
    return this.json<SystemVersion>({ method: "GET", path: "/version" });
  }

  /** info returns `GET /info`. */
  async info(): Promise<SystemInfo> {
    return this.json<SystemInfo>({ method: "GET", path: "/info" });
  }

  /** containerCreate creates a container (`POST /containers/create`). */
  async containerCreate(
    body: ContainerCreateRequest,
    opts: { name?: string; platform?: string } = {},
  ): Promise<{ Id: string; Warnings: string[] }> {
    const res = await this.json<{ Id: string; Warnings?: string[] | null }>({
      method: "POST",
      path: "/containers/create",
      query: { name: opts.name, platform: opts.platform },
      body,
    });
    return { Id: res.Id, Warnings: res.Warnings ?? [] };
  }

  /**
   * containerStart starts a container. It first waits until every wait request issued by this
   * client has been registered by the daemon, so `containerWait` then `containerStart` cannot
   * miss a fast exit.
   */
  async containerStart(id: string, opts: { detachKeys?: string } = {}): Promise<void> {
    await Promise.all([...this.pendingWaits].map((p) => p.catch(() => {})));
    await this.send({
      method: "POST",
      path: `/containers/${enc(id)}/start`,
      query: { detachKeys: opts.detachKeys },
    });
  }

  /** containerStop stops a container (`t` seconds grace, then SIGKILL). */
  async containerStop(id: string, opts: { t?: number; signal?: string } = {}): Promise<void> {
    await this.send({
      method: "POST",
      path: `/containers/${enc(id)}/stop`,
      query: { t: opts.t, signal: opts.signal },
    });
  }

  /** containerRestart restarts a container. */
  async containerRestart(id: string, opts: { t?: number; signal?: string } = {}): Promise<void> {
    await this.send({
      method: "POST",
      path: `/containers/${enc(id)}/restart`,
      query: { t: opts.t, signal: opts.signal },
    });
  }

  /** containerKill sends a signal (default SIGKILL) to a container. */
  async containerKill(id: string, opts: { signal?: string } = {}): Promise<void> {
    await this.send({ method: "POST", path: `/containers/${enc(id)}/kill`, query: { signal: opts.signal } });
  }

  /** containerRemove removes a container (`force` kills it first, `v` removes anonymous volumes). */
  async containerRemove(
    id: string,
    opts: { force?: boolean; v?: boolean; link?: boolean } = {},
  ): Promise<void> {
    await this.send({
      method: "DELETE",
      path: `/containers/${enc(id)}`,
      query: { force: opts.force || undefined, v: opts.v || undefined, link: opts.link || undefined },
    });
  }

  /**
   * containerWait waits for a container to stop (`POST /containers/{id}/wait`). The request is
   * sent right away, before the promise settles, so a caller can start the container after
   * calling this (as `docker run` does); `registered` resolves when the daemon has answered the
   * headers, and {@link Client.containerStart} waits for that automatically.
   */
  containerWait(id: string, opts: { condition?: "not-running" | "next-exit" | "removed" } = {}): WaitPromise {
    let markRegistered!: () => void;
    let failRegistered!: (err: unknown) => void;
    const registered = new Promise<void>((resolve, reject) => {
      markRegistered = resolve;
      failRegistered = reject;
    });
    registered.catch(() => {});
    this.pendingWaits.add(registered);
    const forget = (): void => {
      this.pendingWaits.delete(registered);
    };
    registered.then(forget, forget);
    const result = (async (): Promise<WaitResult> => {
      let res: HttpResponse;
      try {
        res = await this.stream({
          method: "POST",
          path: `/containers/${enc(id)}/wait`,
          query: { condition: opts.condition },
        });
      } catch (err) {
        failRegistered(err);
        throw err;
      }
      markRegistered();
      const body = (await readAll(res)).toString("utf8").trim();
      if (body === "") {
        throw new Internal("wait ended without a result: the daemon closed the connection", {
          code: "ERR_WAIT",
        });
      }
      const parsed = JSON.parse(body) as WaitResult & { message?: string };
      if (typeof parsed.StatusCode !== "number") {
        throw new Internal(parsed.message ?? `unexpected wait answer ${body.slice(0, 200)}`, {
          code: "ERR_WAIT",
        });
      }
      return parsed;
    })();
    return Object.assign(result, { registered });
  }

  /** containerInspect returns `GET /containers/{id}/json`. */
  async containerInspect(id: string, opts: { size?: boolean } = {}): Promise<ContainerInspectResponse> {
    return this.json<ContainerInspectResponse>({
      method: "GET",
      path: `/containers/${enc(id)}/json`,
      query: { size: opts.size || undefined },
    });
  }

  /** containerList returns `GET /containers/json`. */
  async containerList(
    opts: { all?: boolean; limit?: number; size?: boolean; filters?: Record<string, string[]> } = {},
  ): Promise<ContainerSummary[]> {
    return this.json<ContainerSummary[]>({
      method: "GET",
      path: "/containers/json",
      query: {
        all: opts.all || undefined,
        limit: opts.limit,
        size: opts.size || undefined,
        filters: encodeFilters(opts.filters),
      },
    });
  }

  /**
   * containerLogs streams `GET /containers/{id}/logs`. The stream is demultiplexed unless the
   * daemon says it is raw (API >= 1.42) or, for older daemons, `tty` is set. Aborting `signal`
   * ends the iteration without an error.
   */
  async *containerLogs(id: string, opts: LogsOptions): AsyncGenerator<OutputChunk, void, undefined> {
    let res: HttpResponse;
    try {
      res = await this.stream({
        method: "GET",
        path: `/containers/${enc(id)}/logs`,
        query: {
          follow: opts.follow || undefined,
          stdout: opts.stdout || undefined,
          stderr: opts.stderr || undefined,
          since: opts.since,
          until: opts.until,
          timestamps: opts.timestamps || undefined,
          tail: opts.tail,
        },
        signal: opts.signal,
      });
    } catch (err) {
      if (opts.signal?.aborted) return;
      throw err;
    }
    const version = await this.apiVersion();
    const multiplexed = isMultiplexed(res.headers, version, opts.tty ?? false);
    const decoder = multiplexed ? new FrameDecoder() : undefined;
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        if (!decoder) {
          yield { stream: "stdout", data: chunk };
          continue;
        }
        for (const f of decoder.push(chunk)) {
          if (f.stream === 3)
            throw new Internal(f.payload.toString("utf8").trim(), { code: "ERR_SYSTEMERR" });
          yield { stream: f.stream === 2 ? "stderr" : "stdout", data: f.payload };
        }
      }
      decoder?.end();
    } catch (err) {
      if (opts.signal?.aborted) return;
      throw err;
    } finally {
      res.destroy();
    }
  }

  /**
   * containerAttach hijacks `POST /containers/{id}/attach` (Connection: Upgrade, Upgrade: tcp;
   * expects `101 UPGRADED`). Output is multiplexed unless the Content-Type says raw on API >= 1.42,
   * or `tty` is set.
   */
  async containerAttach(id: string, opts: AttachOptions): Promise<AttachStream> {
    return this.hijack(
      `/containers/${enc(id)}/attach`,
      {
        stream: opts.stream || undefined,
        stdin: opts.stdin || undefined,
        stdout: opts.stdout || undefined,
        stderr: opts.stderr || undefined,
        logs: opts.logs || undefined,
        detachKeys: opts.detachKeys,
      },
      undefined,
      opts.tty,
    );
  }

  /**
   * hijack performs an upgrade POST (attach, exec start) and returns the duplex. Exported for
   * exec: `client.hijack("/exec/<id>/start", {}, { Detach: false, Tty: true }, true)`.
   */
  async hijack(
    path: string,
    query: Readonly<Record<string, QueryValue>>,
    body: unknown,
    tty: boolean,
  ): Promise<AttachStream> {
    const version = await this.apiVersion();
    const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body));
    let res: HttpResponse;
    try {
      res = await sendRequest({
        target: this.target,
        method: "POST",
        path: `/v${version}${path}${encodeQuery(query)}`,
        headers: {
          "User-Agent": this.userAgent,
          "Content-Type": body === undefined ? "text/plain" : "application/json",
          "Content-Length": String(payload.length),
          Connection: "Upgrade",
          Upgrade: "tcp",
        },
        body: payload,
        takeOver: isHijacked,
      });
    } catch (err) {
      throw this.mapError(err);
    }
    if (res.upgrade) {
      return createAttachStream(
        res.upgrade.socket,
        res.upgrade.head,
        isMultiplexed(res.headers, version, tty),
      );
    }
    const raw: RawResponse = { status: res.statusCode, headers: res.headers, body: await readAll(res) };
    if (raw.status >= 400) throw errorFromResponse(raw);
    throw new Internal(`daemon answered ${raw.status} without upgrading the connection, expected 101`);
  }

  /** execCreate creates an exec instance in a running container (`POST /containers/{id}/exec`). */
  async execCreate(id: string, body: ExecCreateRequest): Promise<{ Id: string }> {
    return this.json<{ Id: string }>({ method: "POST", path: `/containers/${enc(id)}/exec`, body });
  }

  /**
   * execStart starts an exec and hijacks its stdio (`POST /exec/{id}/start` with Upgrade), like
   * {@link Client.containerAttach}. With `detach: true` the exec runs in the background and the
   * promise resolves with undefined.
   */
  async execStart(
    execId: string,
    opts: { tty: boolean; detach?: boolean },
  ): Promise<AttachStream | undefined> {
    if (opts.detach) {
      await this.send({
        method: "POST",
        path: `/exec/${enc(execId)}/start`,
        body: { Detach: true, Tty: opts.tty },
      });
      return undefined;
    }
    return this.hijack(`/exec/${enc(execId)}/start`, {}, { Detach: false, Tty: opts.tty }, opts.tty);
  }

  /** execInspect returns `GET /exec/{id}/json` (ExitCode, Running, ...). */
  async execInspect(execId: string): Promise<ExecInspectResponse> {
    return this.json<ExecInspectResponse>({ method: "GET", path: `/exec/${enc(execId)}/json` });
  }

  /** execResize sets an exec's TTY size. */
  async execResize(execId: string, size: { h: number; w: number }): Promise<void> {
    await this.send({ method: "POST", path: `/exec/${enc(execId)}/resize`, query: { h: size.h, w: size.w } });
  }

  /** containerResize sets the TTY size (`POST /containers/{id}/resize?h=&w=`). */
  async containerResize(id: string, size: { h: number; w: number }): Promise<void> {
    await this.send({
      method: "POST",
      path: `/containers/${enc(id)}/resize`,
      query: { h: size.h, w: size.w },
    });
  }

  /** imageList returns `GET /images/json`. */
  async imageList(
    opts: { all?: boolean; filters?: Record<string, string[]>; digests?: boolean } = {},
  ): Promise<ImageSummary[]> {
    return this.json<ImageSummary[]>({
      method: "GET",
      path: "/images/json",
      query: {
        all: opts.all || undefined,
        digests: opts.digests || undefined,
        filters: encodeFilters(opts.filters),
      },
    });
  }

  /** imageInspect returns `GET /images/{name}/json`. */
  async imageInspect(name: string): Promise<ImageInspect> {
    return this.json<ImageInspect>({ method: "GET", path: `/images/${encName(name)}/json` });
  }

  /** imageTag adds `repo:tag` to an image (`POST /images/{name}/tag`). */
  async imageTag(name: string, opts: { repo: string; tag?: string }): Promise<void> {
    await this.send({
      method: "POST",
      path: `/images/${encName(name)}/tag`,
      query: { repo: opts.repo, tag: opts.tag },
    });
  }

  /** imageRemove untags/deletes an image (`DELETE /images/{name}`). */
  async imageRemove(
    name: string,
    opts: { force?: boolean; noprune?: boolean } = {},
  ): Promise<Array<{ Untagged?: string; Deleted?: string }>> {
    const items = await this.json<ImageDeleteResponseItem[] | null>({
      method: "DELETE",
      path: `/images/${encName(name)}`,
      query: { force: opts.force || undefined, noprune: opts.noprune || undefined },
    });
    return items ?? [];
  }

  /**
   * imageImport imports a tar stream as an image (`POST /images/create?fromSrc=-`). Resolves with
   * the new image ID (the last `sha256:` status) and every progress message; an error line rejects.
   */
  async imageImport(
    source: NodeJS.ReadableStream | AsyncIterable<Uint8Array>,
    opts: ImageImportOptions = {},
  ): Promise<{ id: string; messages: JSONMessage[] }> {
    const res = await this.stream({
      method: "POST",
      path: "/images/create",
      query: {
        fromSrc: "-",
        repo: opts.repo,
        tag: opts.tag,
        message: opts.message,
        changes: opts.changes && opts.changes.length > 0 ? opts.changes : undefined,
        platform: opts.platform,
      },
      headers: { "Content-Type": "text/plain" },
      body: source,
    });
    const messages: JSONMessage[] = [];
    let id = "";
    for await (const msg of decodeJSONLines<JSONMessage>(res)) {
      messages.push(msg);
      const text = jsonMessageError(msg);
      if (text !== undefined) {
        throw new JSONMessageError({
          ...(msg.errorDetail?.code === undefined ? {} : { code: msg.errorDetail.code }),
          message: text,
        });
      }
      if (typeof msg.status === "string" && /^sha256:[0-9a-f]{64}$/.test(msg.status)) id = msg.status;
    }
    return { id, messages };
  }

  /**
   * request is the escape hatch: any method and path (prefixed with `/v<version>` unless it
   * already has a prefix or is `/_ping`). Throws the errdefs kind on non-2xx unless
   * `throwOnError: false`.
   */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<RawResponse> {
    const versioned = !/^\/v\d+\.\d+\//.test(path) && !path.startsWith("/_ping");
    const res = await this.send({
      method,
      path,
      query: opts.query,
      body: opts.body,
      headers: opts.headers,
      versioned,
      timeout: true,
      throwOnError: opts.throwOnError ?? true,
    });
    return res;
  }

  /**
   * requestStream is like {@link Client.request} but returns the response as a stream after
   * checking its status (for JSON-lines progress, exports, events).
   */
  async requestStream(
    method: string,
    path: string,
    opts: RequestOptions & { signal?: AbortSignal } = {},
  ): Promise<HttpResponse> {
    return this.stream({
      method,
      path,
      query: opts.query,
      body: opts.body,
      headers: opts.headers,
      signal: opts.signal,
    });
  }

  /** close releases the client; in-flight requests finish (there are no idle connections to drop). */
  close(): void {}

  /** Symbol.asyncDispose closes the client (`await using client = new Client()`). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  // ---------- plumbing ----------

  private mapError(err: unknown): Error {
    const name = (err as { name?: unknown } | null)?.name;
    if (name === "AbortError") return new Canceled("request canceled", { cause: err });
    if ((err as { _tag?: unknown } | null)?._tag !== undefined) return err as Error;
    const code = (err as { code?: unknown } | null)?.code;
    // Only a failed connection means "no daemon there": an ENOENT from reading a request body (a
    // build context file) is that error, not the daemon's absence.
    const syscall = (err as { syscall?: unknown } | null)?.syscall;
    const connecting = syscall === undefined || syscall === "connect" || syscall === "getaddrinfo";
    if (typeof code === "string" && CONNECT_ERROR_CODES.has(code) && connecting) {
      return connectError(this.host, err);
    }
    return err instanceof Error ? err : new Internal(String(err));
  }

  private async json<T>(s: Send): Promise<T> {
    const res = await this.send({ ...s, timeout: true });
    const text = res.body.toString("utf8");
    if (text.trim() === "") return null as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new Internal(`invalid json from daemon for ${s.method} ${s.path}: ${text.slice(0, 200)}`);
    }
  }

  /** send performs one buffered request. */
  private async send(s: Send): Promise<RawResponse> {
    const res = await this.open({ ...s, timeout: s.timeout ?? true });
    const body = await readAll(res);
    const raw: RawResponse = { status: res.statusCode ?? 0, headers: res.headers, body };
    // /_ping statuses are judged by the caller (HEAD may be unsupported by old daemons).
    if ((s.throwOnError ?? true) && raw.status >= 400 && s.path !== "/_ping") throw errorFromResponse(raw);
    return raw;
  }

  /** stream opens a request and returns the response once its status is known to be 2xx. */
  private async stream(s: Send): Promise<HttpResponse> {
    const res = await this.open({ ...s, timeout: false });
    const status = res.statusCode ?? 0;
    if (status >= 400) {
      const body = await readAll(res);
      throw errorFromResponse({ status, headers: res.headers, body });
    }
    return res;
  }

  private async open(s: Send): Promise<HttpResponse> {
    let path = s.path;
    if (s.versioned ?? true) path = `/v${await this.apiVersion()}${path}`;
    path += encodeQuery(s.query);
    const headers: Record<string, string> = { "User-Agent": this.userAgent, ...(s.headers ?? {}) };
    let body: Buffer | Readable | undefined;
    if (s.body !== undefined && s.body !== null) {
      if (s.body instanceof Uint8Array) body = Buffer.from(s.body.buffer, s.body.byteOffset, s.body.length);
      else if (isStreamLike(s.body)) body = s.body instanceof Readable ? s.body : Readable.from(s.body);
      else {
        body = Buffer.from(JSON.stringify(s.body));
        headers["Content-Type"] ??= "application/json";
      }
    }
    if (body instanceof Buffer) headers["Content-Length"] = String(body.length);
    else if (body === undefined && s.method !== "GET" && s.method !== "HEAD") headers["Content-Length"] = "0";
    try {
      return await sendRequest({
        target: this.target,
        method: s.method,
        path,
        headers,
        body,
        signal: s.signal,
        timeoutMs: s.timeout ? this.timeoutMs : undefined,
      });
    } catch (err) {
      throw this.mapRequestError(err);
    }
  }

  private mapRequestError(err: unknown): Error {
    if ((err as { code?: unknown }).code === TIMEOUT_CODE) {
      return new Canceled((err as Error).message, { code: "ETIMEDOUT", cause: err });
    }
    return this.mapError(err);
  }
}
