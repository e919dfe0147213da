import type { DistributionMessage, Engine } from "@berth/engine";
import { Internal, InvalidArgument, isKind } from "@berth/errdefs";
import { Platform, Reference } from "@berth/oci";
import type { Credential, ProgressEvent } from "@berth/registry";
import { readJSON, resOf, sendJSON } from "../http.ts";
import type { Ctx, Router } from "../Router.ts";

/** The fields of docker's `X-Registry-Auth` / `POST /auth` body this daemon uses. */
interface AuthConfig {
  username?: string;
  password?: string;
  auth?: string;
  serveraddress?: string;
  identitytoken?: string;
  registrytoken?: string;
}

/** decodeRegistryAuth reads `X-Registry-Auth` (base64url JSON; `{}` or absent: anonymous). */
export function decodeRegistryAuth(header: string | string[] | undefined): AuthConfig {
  const raw = Array.isArray(header) ? header[0] : header;
  if (raw === undefined || raw === "") return {};
  try {
    const text = Buffer.from(raw.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString("utf8");
    const v = JSON.parse(text) as unknown;
    return typeof v === "object" && v !== null ? (v as AuthConfig) : {};
  } catch {
    throw new InvalidArgument("invalid X-Registry-Auth header: expected base64url-encoded JSON");
  }
}

function credentialOf(a: AuthConfig): Credential | undefined {
  let username = a.username ?? "";
  let password = a.password ?? "";
  if ((username === "" || password === "") && a.auth) {
    const text = Buffer.from(a.auth, "base64").toString("utf8");
    const i = text.indexOf(":");
    if (i >= 0) {
      username = text.slice(0, i);
      password = text.slice(i + 1);
    }
  }
  if (username === "" && password === "" && !a.identitytoken) return undefined;
  return { username, password, ...(a.identitytoken ? { identityToken: a.identitytoken } : {}) };
}

/** humanSize is go-units' HumanSize (decimal units, 4 significant digits), as in docker's progress bars. */
function humanSize(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB"];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(4))}${units[i]}`;
}

/** progressBar renders docker's `[=====>    ]  1.2MB/3.4MB`. */
function progressBar(current: number, total: number): string {
  if (total <= 0) return ` ${humanSize(current)}`.padStart(9);
  const pct = Math.min(50, Math.floor((Math.floor((current / total) * 100) / 2) | 0));
  const bar = current <= total ? `[${"=".repeat(pct)}>${" ".repeat(50 - pct)}] ` : "";
  const nums =
    current <= total
      ? `${humanSize(current).padStart(8)}/${humanSize(total)}`
      : humanSize(current).padStart(8);
  return `${bar}${nums}`;
}

/** progressLine turns a registry progress event into docker's JSON message. */
function progressLine(e: ProgressEvent): object {
  if (e.current !== undefined) {
    return {
      status: e.status,
      progressDetail: { current: e.current, ...(e.total !== undefined ? { total: e.total } : {}) },
      progress: progressBar(e.current, e.total ?? 0),
      id: e.id,
    };
  }
  return { status: e.status, progressDetail: {}, id: e.id };
}

/** JSONStream writes docker's JSON lines, sending headers with the first line. */
class JSONStream {
  started = false;
  constructor(private readonly ctx: Ctx) {}
  send(msg: object): void {
    const res = resOf(this.ctx);
    if (!this.started) {
      res.writeHead(200, { "Content-Type": "application/json" });
      this.started = true;
    }
    res.write(`${JSON.stringify(msg)}\r\n`);
  }
  /** fail reports an error: an error status before any output, an errorDetail line after. */
  fail(err: unknown): void {
    if (!this.started) throw err;
    const message = (err as Error).message;
    this.send({ errorDetail: { message }, error: message });
    resOf(this.ctx).end();
  }
  end(): void {
    if (!this.started) this.send({});
    resOf(this.ctx).end();
  }
}

/**
 * asDaemonError keeps docker CLI behaviour: dockerd answers registry auth failures with 500
 * (a 401 would make the docker CLI prompt for credentials).
 */
function asDaemonError(err: unknown): unknown {
  if (isKind(err, "Unauthorized") || isKind(err, "Forbidden")) {
    return new Internal((err as Error).message, { cause: err });
  }
  return err;
}

/**
 * pullRoute is `POST /images/create?fromImage=&tag=&platform=`: pull into the engine's store and
 * unpack, streaming docker's JSON progress (`Pulling from`, per-layer statuses, `Digest:`,
 * `Status: Downloaded newer image for ...`).
 */
export async function pullRoute(ctx: Ctx, engine: Engine): Promise<void> {
  const q = ctx.query;
  const from = q.get("fromImage") ?? "";
  const tag = q.get("tag") ?? "";
  if (from === "")
    throw new InvalidArgument("invalid reference format: repository name must have at least one component");
  let ref = Reference.parseNormalizedNamed(from);
  // docker pull --all-tags sends no tag: every tag of the repository is pulled.
  const allTags = tag === "" && ref.tag === undefined && ref.digest === undefined;
  if (tag !== "") ref = Reference.withTagOrDigest(ref, tag);
  const platformText = q.get("platform") ?? "";
  const platform = platformText === "" ? undefined : Platform.parsePlatform(platformText);
  const credential = credentialOf(decodeRegistryAuth(ctx.req.headers["x-registry-auth"]));
  const out = new JSONStream(ctx);
  const ac = new AbortController();
  resOf(ctx).on("close", () => {
    if (!resOf(ctx).writableFinished) ac.abort();
  });
  try {
    await engine.distribution.pull(ref, {
      ...(credential ? { credential } : {}),
      ...(platform ? { platform } : {}),
      signal: ac.signal,
      allTags,
      emit: (m) => out.send(encodeMessage(m)),
    });
    out.end();
  } catch (err) {
    out.fail(asDaemonError(err));
  }
}

/** encodeMessage renders one of the engine's pull/push messages as docker's JSON progress line. */
function encodeMessage(m: DistributionMessage): object {
  if ("event" in m) return progressLine(m.event);
  if ("aux" in m) return { progressDetail: {}, aux: m.aux };
  return m.id === undefined ? { status: m.status } : { status: m.status, id: m.id };
}

/**
 * pushRoute is `POST /images/{name}/push?tag=`: docker's JSON progress (`The push refers to
 * repository [...]`, per-layer statuses), then `TAG: digest: sha256:... size: N` and the aux
 * line `{Tag, Digest, Size}`. Without a tag every tag of the repository is pushed.
 */
async function pushRoute(ctx: Ctx, engine: Engine): Promise<void> {
  // Resolved before streaming, so a missing image is a 404 as dockerd answers it.
  const { repo, tags } = engine.distribution.pushTags(ctx.params.name!, ctx.query.get("tag") ?? "");
  const credential = credentialOf(decodeRegistryAuth(ctx.req.headers["x-registry-auth"]));
  const out = new JSONStream(ctx);
  try {
    await engine.distribution.push(repo, tags, {
      ...(credential ? { credential } : {}),
      emit: (m) => out.send(encodeMessage(m)),
    });
    out.end();
  } catch (err) {
    out.fail(asDaemonError(err));
  }
}

/** distributionRoutes: push, `/auth` (docker login) and `/distribution/{name}/json`. */
export function distributionRoutes(router: Router, engine: Engine): void {
  router.add("POST", "/images/{name*}/push", (ctx) => pushRoute(ctx, engine));

  router.add("POST", "/auth", async (ctx) => {
    const body = (await readJSON<AuthConfig>(ctx.req)) ?? {};
    let host = (body.serveraddress ?? "").replace(/^https?:\/\//, "").replace(/\/.*$/, "");
    if (host === "" || host === "index.docker.io") host = "docker.io";
    const cred = credentialOf(body);
    if (cred === undefined) throw new InvalidArgument("login needs a username and a password");
    try {
      await engine.distribution.client(host).checkLogin(host, cred);
    } catch (err) {
      throw asDaemonError(err);
    }
    sendJSON(ctx, 200, { IdentityToken: "", Status: "Login Succeeded" });
  });

  router.add("GET", "/distribution/{name*}/json", async (ctx) => {
    const credential = credentialOf(decodeRegistryAuth(ctx.req.headers["x-registry-auth"]));
    let report: Awaited<ReturnType<Engine["distribution"]["inspect"]>>;
    try {
      report = await engine.distribution.inspect(ctx.params.name!, credential ? { credential } : {});
    } catch (err) {
      throw asDaemonError(err);
    }
    sendJSON(ctx, 200, { Descriptor: report.descriptor, Platforms: report.platforms });
  });
}
