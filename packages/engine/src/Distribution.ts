import { FailedPrecondition, Forbidden, NotFound } from "@berth/errdefs";
import type { ImageStore, SnapshotStore } from "@berth/image";
import { type Digest, formatReference, type Platform, Reference, sha256 } from "@berth/oci";
import {
  type Credential,
  MAX_CONFIG_BYTES,
  type ProgressEvent,
  parsePullReference,
  pullImage,
  pushImage,
  RegistryClient,
  readLimited,
  StaticCredentials,
  type StoredLayer,
} from "@berth/registry";
import { type Events, ImageEvent } from "./Events.ts";

/** Registry settings of an engine (dockerd's --insecure-registry, podman's blocked registries). */
export interface RegistrySettings {
  /** Registries reached over plain HTTP or unverified TLS (loopback ones always may). */
  insecure?: readonly string[];
  /** Registries this engine never contacts: pulls, pushes and logins fail at once. */
  blocked?: readonly string[];
  /** Per-registry CA and client certificates (`<dir>/<host>/ca.crt`...), default /etc/berth/certs.d. */
  certsDir?: string;
}

/**
 * One line of a pull or push as docker's progress stream shows it: a status (with the layer or
 * tag it is about), a per-layer progress event, or push's closing aux record.
 */
export type DistributionMessage =
  | { status: string; id?: string | undefined }
  | { event: ProgressEvent }
  | { aux: { Tag: string; Digest: string; Size: number } };

/** What {@link Distribution.inspect} found (docker's `/distribution/{name}/json`). */
export interface DistributionInspectReport {
  /** The manifest (or index) the reference resolves to. */
  readonly descriptor: { readonly mediaType: string; readonly digest: Digest; readonly size: number };
  /** The platforms it offers: an index's entries, or a single image's config platform. */
  readonly platforms: Platform[];
}

/** Options of {@link Distribution.pull}. */
export interface PullRefOptions {
  credential?: Credential;
  platform?: Platform;
  signal?: AbortSignal;
  /** Every tag of the repository (docker pull --all-tags) when the reference names none. */
  allTags?: boolean;
  emit: (m: DistributionMessage) => void;
}

/**
 * Distribution is the engine's registry service: pull (layers unpacked while later ones
 * download, committed bottom-up), push, login checks, with the engine's registry settings and
 * docker's image events. The daemon only encodes its messages as docker's JSON progress.
 */
export class Distribution {
  readonly #d: { images: ImageStore; snapshots: SnapshotStore; events: Events; settings: RegistrySettings };

  constructor(deps: {
    images: ImageStore;
    snapshots: SnapshotStore;
    events: Events;
    settings?: RegistrySettings;
  }) {
    this.#d = { ...deps, settings: deps.settings ?? {} };
  }

  /**
   * client makes a registry client using `credential` for `host` only. A blocked registry is
   * refused before any lookup (docker.io is `docker.io` or `registry-1.docker.io`).
   */
  client(host: string, credential?: Credential): RegistryClient {
    const s = this.#d.settings;
    const blocked = s.blocked ?? [];
    if (blocked.includes(host) || (host === "docker.io" && blocked.includes("registry-1.docker.io")))
      throw new Forbidden(
        `registry ${host} is blocked by this daemon (--blocked-registry); use another registry or unblock it`,
      );
    const insecure = [
      ...(s.insecure ?? []),
      ...(process.env.BERTH_INSECURE_REGISTRIES?.split(",").filter(Boolean) ?? []),
    ];
    const certsDir = s.certsDir ?? process.env.BERTH_CERTS_DIR;
    return new RegistryClient({
      ...(credential !== undefined ? { credentials: new StaticCredentials({ [host]: credential }) } : {}),
      ...(certsDir ? { certsDir } : {}),
      ...(insecure.length > 0 ? { insecure } : {}),
    });
  }

  /**
   * inspect asks the registry what `name` resolves to, without pulling it: the manifest's
   * descriptor and its platforms (an index's entries, or the config's platform, read bounded
   * by MAX_CONFIG_BYTES and checked against its digest).
   */
  async inspect(name: string, o: { credential?: Credential } = {}): Promise<DistributionInspectReport> {
    const ref = parsePullReference(name);
    const client = this.client(ref.domain, o.credential);
    const repo = { domain: ref.domain, path: ref.path };
    const m = await client.getManifest(repo, ref.digest ?? ref.tag ?? "latest");
    const doc = JSON.parse(m.bytes.toString("utf8")) as {
      manifests?: Array<{ platform?: Platform }>;
      config?: { digest: Digest; size?: number };
    };
    let platforms: Platform[] = [];
    if (Array.isArray(doc.manifests)) {
      platforms = doc.manifests.flatMap((d) => (d.platform ? [d.platform] : []));
    } else if (doc.config !== undefined) {
      const stream = await client.fetchBlob(repo, doc.config.digest, Number(doc.config.size ?? 0));
      const bytes = await readLimited(stream, MAX_CONFIG_BYTES, `image config ${doc.config.digest}`);
      if (sha256(bytes) !== doc.config.digest) {
        throw new FailedPrecondition(
          `image config of ${name} does not match its digest ${doc.config.digest}`,
        );
      }
      const cfg = JSON.parse(bytes.toString("utf8")) as Platform & { variant?: string };
      platforms = [
        { architecture: cfg.architecture, os: cfg.os, ...(cfg.variant ? { variant: cfg.variant } : {}) },
      ];
    }
    return { descriptor: { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length }, platforms };
  }

  /** pull pulls a reference (or, with allTags, every tag of its repository) and unpacks it. */
  async pull(ref: Reference, o: PullRefOptions): Promise<void> {
    const client = this.client(ref.domain, o.credential);
    const refs = o.allTags
      ? (await client.listTags({ domain: ref.domain, path: ref.path })).map((t) => Reference.withTag(ref, t))
      : [parsePullReference(ref)];
    let newer = false;
    for (const r of refs) {
      newer = (await this.#pullOne(client, r, o.emit, o.platform, o.signal, !o.allTags)) || newer;
    }
    if (o.allTags) {
      const name = Reference.familiarName(ref);
      o.emit({ status: `Status: ${newer ? "Downloaded newer image" : "Image is up to date"} for ${name}` });
    }
  }

  /** #pullOne pulls one reference and unpacks it, emitting its lines; returns whether it was new. */
  async #pullOne(
    client: RegistryClient,
    ref: Reference,
    emit: (m: DistributionMessage) => void,
    platform: Platform | undefined,
    signal: AbortSignal | undefined,
    finalStatus: boolean,
  ): Promise<boolean> {
    const familiar = Reference.familiarString(ref);
    let headerSent = false;
    const header = () => {
      if (headerSent) return;
      headerSent = true;
      emit({ status: `Pulling from ${ref.path}`, id: ref.digest !== undefined ? familiar : ref.tag });
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
                emit({ event: { id, status: "Extracting", current: layer.size, total: layer.size } });
              await this.#d.snapshots.prepareImage({ layers });
              if (report) {
                completed.add(id);
                emit({ event: { id, status: "Pull complete" } });
              }
            } catch (err) {
              unpackError ??= err;
            }
          })(),
        );
        unpacking = Promise.all(unpacks).then(() => {});
      }
    };
    const report = await pullImage(client, this.#d.images, ref, {
      ...(platform ? { platform } : {}),
      ...(signal ? { signal } : {}),
      onProgress: (e) => {
        header();
        emit({ event: e });
      },
      onLayerStored: (layer) => {
        header();
        ready.set(layer.index, layer);
        pump();
      },
      unpackTarget: (layers) => {
        const below = layers.slice(0, -1);
        const lowers = async () => {
          await whenStored(below.length);
          return this.#d.snapshots.prepareImage({ layers: below });
        };
        const t = this.#d.snapshots.unpackLayerInto({ layers }, { lowers });
        if (t === undefined) return undefined;
        return {
          dir: t.dir,
          lowerDirs: lowers,
          extracted: (done) => {
            // A failed unpack is not the pull's failure: prepareImage unpacks the stored blob instead.
            t.extracted(done).catch(() => {});
          },
        };
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
    await this.#d.snapshots.prepareImage(report.image);
    for (const l of report.layers) {
      const id = l.descriptor.digest.slice(7, 19);
      if (l.downloaded && !completed.has(id)) {
        completed.add(id);
        emit({ event: { id, status: "Pull complete" } });
      }
    }
    emit({ status: `Digest: ${report.digest}` });
    // dockerd's event: ID is the reference pulled, `name` its repository.
    const labels = report.image.config.config?.Labels ?? null;
    this.#d.events.emit(ImageEvent(familiar, "pull", Reference.familiarName(ref), labels));
    if (finalStatus) {
      emit({
        status: `Status: ${report.upToDate ? "Image is up to date" : "Downloaded newer image"} for ${familiar}`,
      });
    }
    return !report.upToDate;
  }

  /**
   * pushTags resolves the tags of `name` to push (the one named, else every local tag of the
   * repository), failing with docker's 404 before anything is sent; `push` then pushes them.
   */
  pushTags(name: string, tag: string): { repo: Reference; tags: string[] } {
    const parsed = Reference.parseNormalizedNamed(name);
    const repo = Reference.trimNamed(parsed);
    const tags: string[] = [];
    if (tag !== "") tags.push(tag);
    else if (parsed.tag !== undefined) tags.push(parsed.tag);
    else {
      const prefix = `${Reference.familiarName(repo)}:`;
      for (const img of this.#d.images.list())
        for (const t of img.repoTags) if (t.startsWith(prefix)) tags.push(t.slice(prefix.length));
      tags.sort();
    }
    const missing = () =>
      new NotFound(`An image does not exist locally with the tag: ${Reference.familiarName(repo)}`);
    if (tags.length === 0) throw missing();
    for (const t of tags) {
      try {
        this.#d.images.resolve(formatReference(Reference.withTag(repo, t)));
      } catch {
        throw missing();
      }
    }
    return { repo, tags };
  }

  /** push pushes each tag, emitting docker's lines (`TAG: digest: ... size: N`, then the aux record). */
  async push(
    repo: Reference,
    tags: readonly string[],
    o: { credential?: Credential; emit: (m: DistributionMessage) => void },
  ): Promise<void> {
    const client = this.client(repo.domain, o.credential);
    o.emit({ status: `The push refers to repository [${Reference.familiarName(repo)}]` });
    for (const t of tags) {
      const pushed = Reference.withTag(repo, t);
      const report = await pushImage(client, this.#d.images, pushed, {
        onProgress: (e) => o.emit({ event: e }),
      });
      o.emit({ status: `${t}: digest: ${report.digest} size: ${report.size}` });
      const image = this.#d.images.resolve(formatReference(pushed));
      this.#d.events.emit(
        ImageEvent(
          Reference.familiarString(pushed),
          "push",
          Reference.familiarName(repo),
          image.config.config?.Labels ?? null,
        ),
      );
      o.emit({ aux: { Tag: t, Digest: report.digest, Size: report.size } });
    }
  }
}
