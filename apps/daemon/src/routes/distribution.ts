import { type Engine, ImageEvent } from "@berth/engine";
import { FailedPrecondition, Forbidden, Internal, InvalidArgument, isKind, NotFound } from "@berth/errdefs";
import { type Digest, formatReference, Platform, Reference, sha256 } from "@berth/oci";
import {
  type Credential,
  type ProgressEvent,
  parsePullReference,
  pullImage,
  pushImage,
  RegistryClient,
  StaticCredentials,
  type StoredLayer,
} from "@berth/registry";
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

/** Daemon settings for registries (dockerd's --insecure-registry, podman's blocked registries). */
export interface RegistrySettings {
  /** Registries reached over plain HTTP or unverified TLS (loopback ones always may). */
  insecure?: readonly string[];
  /** Registries this daemon never contacts: pulls, pushes and logins fail at once. */
  blocked?: readonly string[];
  /** Per-registry CA and client certificates (`<dir>/<host>/ca.crt`...), default /etc/berth/certs.d. */
  certsDir?: string;
}

let settings: RegistrySettings = {};

/** configureRegistries sets the daemon's registry settings (from its flags, once at start). */
export function configureRegistries(s: RegistrySettings): void {
  settings = s;
}

/**
 * clientFor makes a registry client using the request's credentials for `host` only. A blocked
 * registry is refused before any lookup (docker.io is `docker.io` or `registry-1.docker.io`).
 */
function clientFor(host: string, auth: AuthConfig): RegistryClient {
  const blocked = settings.blocked ?? [];
  if (blocked.includes(host) || (host === "docker.io" && blocked.includes("registry-1.docker.io")))
    throw new Forbidden(
      `registry ${host} is blocked by this daemon (--blocked-registry); use another registry or unblock it`,
    );
  const cred = credentialOf(auth);
  const insecure = [
    ...(settings.insecure ?? []),
    ...(process.env.BERTH_INSECURE_REGISTRIES?.split(",").filter(Boolean) ?? []),
  ];
  const certsDir = settings.certsDir ?? process.env.BERTH_CERTS_DIR;
  return new RegistryClient({
    ...(cred !== undefined ? { credentials: new StaticCredentials({ [host]: cred }) } : {}),
    ...(certsDir ? { certsDir } : {}),
    ...(insecure.length > 0 ? { insecure } : {}),
  });
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
  const auth = decodeRegistryAuth(ctx.req.headers["x-registry-auth"]);
  const client = clientFor(ref.domain, auth);
  const out = new JSONStream(ctx);
  const ac = new AbortController();
  resOf(ctx).on("close", () => {
    if (!resOf(ctx).writableFinished) ac.abort();
  });
  try {
    const refs = allTags
      ? (await client.listTags({ domain: ref.domain, path: ref.path })).map((t) => Reference.withTag(ref, t))
      : [parsePullReference(ref)];
    let newer = false;
    for (const r of refs) {
      newer = (await pullOne(engine, client, r, out, platform, ac.signal, !allTags)) || newer;
    }
    if (allTags) {
      const name = Reference.familiarName(ref);
      out.send({ status: `Status: ${newer ? "Downloaded newer image" : "Image is up to date"} for ${name}` });
    }
    out.end();
  } catch (err) {
    out.fail(asDaemonError(err));
  }
}

/** pullOne pulls one reference and unpacks it, streaming its lines; returns whether it was new. */
async function pullOne(
  engine: Engine,
  client: RegistryClient,
  ref: Reference,
  out: JSONStream,
  platform: Platform | undefined,
  signal: AbortSignal,
  finalStatus: boolean,
): Promise<boolean> {
  const familiar = Reference.familiarString(ref);
  let headerSent = false;
  const header = () => {
    if (headerSent) return;
    headerSent = true;
    out.send({ status: `Pulling from ${ref.path}`, id: ref.digest !== undefined ? familiar : ref.tag });
  };
  // Unpack layers as soon as each is stored (with every layer below it), while later ones still
  // download; the snapshot store unpacks them concurrently and commits them bottom-up.
  const ready = new Map<number, StoredLayer>();
  const prefix: StoredLayer[] = [];
  const completed = new Set<string>();
  const unpacks: Promise<void>[] = [];
  let unpacking: Promise<void> = Promise.resolve();
  let unpackError: unknown;
  // Layers downloading now are unpacked from their bytes as they arrive; they need the layers
  // below only at their end, once those are stored (or the pull has failed).
  let pullError: unknown;
  const waiters: Array<{ n: number; resolve: () => void; reject: (err: unknown) => void }> = [];
  const whenStored = (n: number): Promise<void> => {
    if (n <= prefix.length) return Promise.resolve();
    if (pullError !== undefined) return Promise.reject(pullError);
    return new Promise((resolve, reject) => waiters.push({ n, resolve, reject }));
  };
  const pump = () => {
    while (ready.has(prefix.length)) {
      const layer = ready.get(prefix.length)!;
      prefix.push(layer);
      for (const w of waiters.filter((w) => w.n <= prefix.length)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      const layers = [...prefix];
      unpacks.push(
        (async () => {
          if (unpackError !== undefined) return;
          const id = layer.digest.slice(7, 19);
          const report = layer.downloaded && !completed.has(id);
          try {
            if (report)
              out.send(progressLine({ id, status: "Extracting", current: layer.size, total: layer.size }));
            await engine.snapshots.prepareImage({ layers });
            if (report) {
              completed.add(id);
              out.send(progressLine({ id, status: "Pull complete" }));
            }
          } catch (err) {
            unpackError ??= err;
          }
        })(),
      );
      unpacking = Promise.all(unpacks).then(() => {});
    }
  };
  const report = await pullImage(client, engine.images, ref, {
    ...(platform ? { platform } : {}),
    signal,
    onProgress: (e) => {
      header();
      out.send(progressLine(e));
    },
    onLayerStored: (layer) => {
      header();
      ready.set(layer.index, layer);
      pump();
    },
    unpackLayer: (layers, blob, verified) => {
      const below = layers.slice(0, -1);
      engine.snapshots
        .unpackLayerStream({ layers }, blob, {
          verified,
          lowers: async () => {
            await whenStored(below.length);
            return engine.snapshots.prepareImage({ layers: below });
          },
        })
        .catch(() => {
          // prepareImage unpacks the stored blob instead
        });
    },
  })
    .catch((err: unknown) => {
      pullError = err;
      for (const w of waiters.splice(0)) w.reject(err);
      throw err;
    })
    .finally(() => unpacking);
  header();
  await unpacking;
  if (unpackError !== undefined) throw unpackError;
  await engine.snapshots.prepareImage(report.image);
  for (const l of report.layers) {
    const id = l.descriptor.digest.slice(7, 19);
    if (l.downloaded && !completed.has(id)) {
      completed.add(id);
      out.send(progressLine({ id, status: "Pull complete" }));
    }
  }
  out.send({ status: `Digest: ${report.digest}` });
  // dockerd's event: ID is the reference pulled, `name` its repository.
  const labels = report.image.config.config?.Labels ?? null;
  engine.events.emit(ImageEvent(familiar, "pull", Reference.familiarName(ref), labels));
  if (finalStatus) {
    out.send({
      status: `Status: ${report.upToDate ? "Image is up to date" : "Downloaded newer image"} for ${familiar}`,
    });
  }
  return !report.upToDate;
}

/**
 * pushRoute is `POST /images/{name}/push?tag=`: docker's JSON progress (`The push refers to
 * repository [...]`, per-layer statuses), then `TAG: digest: sha256:... size: N` and the aux
 * line `{Tag, Digest, Size}`. Without a tag every tag of the repository is pushed.
 */
async function pushRoute(ctx: Ctx, engine: Engine): Promise<void> {
  const name = ctx.params.name!;
  const tag = ctx.query.get("tag") ?? "";
  let repo = Reference.trimNamed(Reference.parseNormalizedNamed(name));
  const parsed = Reference.parseNormalizedNamed(name);
  const tags: string[] = [];
  if (tag !== "") tags.push(tag);
  else if (parsed.tag !== undefined) tags.push(parsed.tag);
  else {
    const prefix = `${Reference.familiarName(repo)}:`;
    for (const img of engine.images.list())
      for (const t of img.repoTags) if (t.startsWith(prefix)) tags.push(t.slice(prefix.length));
    tags.sort();
  }
  repo = Reference.trimNamed(repo);
  if (tags.length === 0) {
    throw new NotFound(`An image does not exist locally with the tag: ${Reference.familiarName(repo)}`);
  }
  // Resolve before streaming, so a missing image is a 404 as dockerd answers it.
  for (const t of tags) {
    try {
      engine.images.resolve(formatReference(Reference.withTag(repo, t)));
    } catch {
      throw new NotFound(`An image does not exist locally with the tag: ${Reference.familiarName(repo)}`);
    }
  }
  const auth = decodeRegistryAuth(ctx.req.headers["x-registry-auth"]);
  const client = clientFor(repo.domain, auth);
  const out = new JSONStream(ctx);
  out.send({ status: `The push refers to repository [${Reference.familiarName(repo)}]` });
  try {
    for (const t of tags) {
      const report = await pushImage(client, engine.images, Reference.withTag(repo, t), {
        onProgress: (e) => out.send(progressLine(e)),
      });
      out.send({ status: `${t}: digest: ${report.digest} size: ${report.size}` });
      const pushed = Reference.withTag(repo, t);
      const image = engine.images.resolve(formatReference(pushed));
      engine.events.emit(
        ImageEvent(
          Reference.familiarString(pushed),
          "push",
          Reference.familiarName(repo),
          image.config.config?.Labels ?? null,
        ),
      );
      out.send({ progressDetail: {}, aux: { Tag: t, Digest: report.digest, Size: report.size } });
    }
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
      await clientFor(host, {}).checkLogin(host, cred);
    } catch (err) {
      throw asDaemonError(err);
    }
    sendJSON(ctx, 200, { IdentityToken: "", Status: "Login Succeeded" });
  });

  router.add("GET", "/distribution/{name*}/json", async (ctx) => {
    const ref = parsePullReference(ctx.params.name!);
    const client = clientFor(ref.domain, decodeRegistryAuth(ctx.req.headers["x-registry-auth"]));
    const repo = { domain: ref.domain, path: ref.path };
    let m: Awaited<ReturnType<RegistryClient["getManifest"]>>;
    try {
      m = await client.getManifest(repo, ref.digest ?? ref.tag ?? "latest");
    } catch (err) {
      throw asDaemonError(err);
    }
    const doc = JSON.parse(m.bytes.toString("utf8")) as {
      manifests?: Array<{ platform?: Platform }>;
      config?: { digest: Digest };
    };
    let platforms: Platform[] = [];
    if (Array.isArray(doc.manifests)) {
      platforms = doc.manifests.flatMap((d) => (d.platform ? [d.platform] : []));
    } else if (doc.config !== undefined) {
      const stream = await client.fetchBlob(
        repo,
        doc.config.digest,
        Number((doc.config as { size?: number }).size ?? 0),
      );
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of stream as AsyncIterable<Buffer>) {
        size += c.length;
        if (size > 8 * 1024 * 1024) throw new InvalidArgument("image config is larger than 8 MiB");
        chunks.push(c);
      }
      const bytes = Buffer.concat(chunks);
      if (sha256(bytes) !== doc.config.digest) {
        throw new FailedPrecondition(
          `image config of ${ctx.params.name} does not match its digest ${doc.config.digest}`,
        );
      }
      const cfg = JSON.parse(bytes.toString("utf8")) as Platform & { variant?: string };
      platforms = [
        {
          architecture: cfg.architecture,
          os: cfg.os,
          ...(cfg.variant ? { variant: cfg.variant } : {}),
        },
      ];
    }
    sendJSON(ctx, 200, {
      Descriptor: { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length },
      Platforms: platforms,
    });
  });
}
