/**
 * pullImage copies an image from a registry into an {@link ImageStore}: manifest negotiation,
 * index/manifest-list platform selection, config and layers downloaded in parallel, each
 * verified against its digest and size by `ContentStore.ingest` before it becomes visible,
 * blobs already present skipped, the image recorded last. On failure nothing of the pull stays
 * behind: layer blobs it added are removed again and no image record is written.
 *
 * @since 0.1.0
 */
import { FailedPrecondition, isKind, NotFound, Unavailable } from "@berth/errdefs";
import {
  type ImageRecord,
  type ImageStore,
  ingestLayer,
  type LayerDiffId,
  layerDiffId,
  warmLayerWorkers,
} from "@berth/image";
import {
  type Descriptor,
  type Digest,
  formatReference,
  type Index,
  isIndex,
  type Manifest,
  MediaType,
  Platform,
  Reference as Ref,
  type Reference,
  sha256,
  validateImageConfig,
  validateIndex,
  validateManifest,
} from "@berth/oci";
import type { ProgressHandler } from "./Progress.ts";
import { shortDigest } from "./Progress.ts";
import { isRetryable, type RegistryClient, readLimited } from "./RegistryClient.ts";

/** MAX_CONFIG_BYTES bounds an image config read from a registry (CVE-2023-25153-style OOM). */
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

/** Options for {@link pullImage}. */
export interface PullOptions {
  /** Platform to select from an index; default `linux/amd64`. */
  readonly platform?: Platform;
  /** Progress events per layer (docker's statuses). */
  readonly onProgress?: ProgressHandler;
  /** Parallel layer downloads; default 4 (dockerd: 3; one more keeps a 4-layer pull from ending on one lone download). */
  readonly concurrency?: number;
  /** Attempts per layer on transient errors (whole-layer restarts); default 3. */
  readonly layerAttempts?: number;
  /**
   * Called for each manifest index as soon as its blob is in the content store (verified), with
   * its diff ID: lets a caller unpack layers while later ones are still downloading.
   */
  readonly onLayerStored?: (layer: StoredLayer) => void;
  /**
   * Called as each layer download (each attempt) starts, with the layers up to it (bottom
   * first, this one last): returns a directory to extract the layer into while it downloads
   * (`SnapshotStore.unpackLayerInto`), or undefined for none. `extracted` is then called once
   * with a promise that resolves when the layer is extracted there and its bytes are verified
   * (blob digest, size and diff ID) and stored, or rejects (the directory must be discarded).
   * A blob listed at several indexes is offered once, for its lowest.
   */
  readonly unpackTarget?: (layers: ReadonlyArray<{ digest: Digest; diffId: Digest }>) =>
    | {
        readonly dir: string;
        readonly lowerDirs: () => Promise<readonly string[]>;
        readonly extracted: (done: Promise<unknown>) => void;
      }
    | undefined;
  readonly signal?: AbortSignal;
}

/** StoredLayer describes a layer whose blob is in the content store (see {@link PullOptions.onLayerStored}). */
export interface StoredLayer {
  /** Index in the manifest's layers (bottom first). */
  readonly index: number;
  readonly digest: Digest;
  /** The config's diff ID for this index (verified for downloaded layers). */
  readonly diffId: Digest;
  /** Size of the blob in bytes. */
  readonly size: number;
  /** False when the blob was already in the store. */
  readonly downloaded: boolean;
}

/** PullReport says what was pulled. */
export interface PullReport {
  /** The normalised reference pulled (`127.0.0.1:5000/app:latest`). */
  readonly reference: Reference;
  /** Digest the reference resolved to (an index's digest for multi-platform images): docker's `Digest:` line. */
  readonly digest: Digest;
  /** Digest of the platform's image manifest. */
  readonly manifestDigest: Digest;
  /** The image as recorded in the store. */
  readonly image: ImageRecord;
  /** True when the reference already pointed at this image ("Image is up to date"). */
  readonly upToDate: boolean;
  /** Layer descriptors, bottom first, with whether each was downloaded (false: already present). */
  readonly layers: ReadonlyArray<{ readonly descriptor: Descriptor; readonly downloaded: boolean }>;
}

/** DEFAULT_PLATFORM is what pull selects from an index unless told otherwise. */
export const DEFAULT_PLATFORM: Platform = { os: "linux", architecture: "amd64" };

/** parsePullReference normalises `name[:tag][@digest]` (docker's rules) and adds `:latest` when neither is given. */
export function parsePullReference(ref: string | Reference): Reference {
  const r = typeof ref === "string" ? Ref.parseNormalizedNamed(ref) : ref;
  return r.tag === undefined && r.digest === undefined ? Ref.withDefaultTag(r) : r;
}

/** selectManifest picks the index entry for `platform` (containerd's platform matching); NotFound if none. */
export function selectManifest(index: Index, platform: Platform, name: string): Descriptor {
  const candidates = index.manifests.filter((m) => MediaType.isManifest(m.mediaType));
  const i = Platform.bestPlatformMatch(
    platform,
    candidates.map((m) => m.platform ?? { os: "", architecture: "" }),
  );
  if (i < 0) {
    throw new NotFound(
      `no matching manifest for ${Platform.formatPlatform(platform)} in the manifest list entries of ${name}`,
    );
  }
  return candidates[i]!;
}

async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (failed === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, worker));
  if (failed !== undefined) throw failed;
}

/** pullImage: see the module comment. */
export async function pullImage(
  client: RegistryClient,
  images: ImageStore,
  ref: string | Reference,
  opts: PullOptions = {},
): Promise<PullReport> {
  const reference = parsePullReference(ref);
  const repo = { domain: reference.domain, path: reference.path };
  const name = Ref.familiarString(reference);
  const emit = opts.onProgress ?? (() => {});
  const signal = opts.signal;
  const tagOrDigest = reference.digest ?? reference.tag ?? "latest";
  const top = await client.getManifest(repo, tagOrDigest, signal).catch((err: unknown) => {
    if (isKind(err, "NotFound")) {
      throw new NotFound(
        `manifest for ${formatPull(reference)} not found: ${(err as Error).message.replace(/^[A-Z]+ \S+: /, "")}`,
        {
          cause: err,
        },
      );
    }
    throw err;
  });
  let manifestBytes = top.bytes;
  let manifestDigest = top.digest;
  let manifestType = top.mediaType;
  const doc = JSON.parse(top.bytes.toString("utf8")) as { manifests?: unknown };
  if (isIndex(top.mediaType) || (top.mediaType === "" && doc.manifests !== undefined)) {
    const index = validateIndex(doc, top.mediaType === "" ? {} : { mediaType: top.mediaType });
    const chosen = selectManifest(index, opts.platform ?? DEFAULT_PLATFORM, name);
    const m = await client.getManifest(repo, chosen.digest, signal);
    if (m.bytes.length !== chosen.size) {
      throw new Unavailable(
        `manifest ${chosen.digest} is ${m.bytes.length} bytes, the index says ${chosen.size}`,
      );
    }
    manifestBytes = m.bytes;
    manifestDigest = m.digest;
    manifestType = m.mediaType || chosen.mediaType;
  }
  const manifest: Manifest = validateManifest(
    JSON.parse(manifestBytes.toString("utf8")),
    manifestType === "" ? {} : { mediaType: manifestType },
  );

  // The config: small, bounded, verified in memory.
  const configStream = await client.fetchBlob(repo, manifest.config.digest, manifest.config.size, signal);
  const configBytes = await readLimited(
    configStream,
    MAX_CONFIG_BYTES,
    `image config ${manifest.config.digest}`,
  );
  if (sha256(configBytes) !== manifest.config.digest || configBytes.length !== manifest.config.size) {
    throw new Unavailable(
      `image config verification failed: content hashes to ${sha256(configBytes)} (${configBytes.length} bytes), expected ${manifest.config.digest} (${manifest.config.size} bytes)`,
    );
  }
  const config = validateImageConfig(JSON.parse(configBytes.toString("utf8")));
  if (config.rootfs.diff_ids.length !== manifest.layers.length) {
    throw new Unavailable(
      `image config has ${config.rootfs.diff_ids.length} diff_ids but the manifest has ${manifest.layers.length} layers`,
    );
  }

  // One blob has one uncompressed content: a config giving it two diff IDs is lying.
  const diffIdByBlob = new Map<Digest, Digest>();
  manifest.layers.forEach((l, i) => {
    const want = config.rootfs.diff_ids[i]!;
    const seen = diffIdByBlob.get(l.digest);
    if (seen !== undefined && seen !== want) {
      throw new FailedPrecondition(
        `layer ${l.digest} appears with two diff IDs in the image config: ${seen} and ${want}`,
      );
    }
    diffIdByBlob.set(l.digest, want);
  });

  const content = images.content;
  const present = new Set<Digest>();
  for (const l of manifest.layers) if (await content.has(l.digest)) present.add(l.digest);
  // A blob already here must have the diff ID this config claims, or a lying config could key
  // another layer's unpacked snapshot under its chain ID (cache poisoning).
  const known = new Map<Digest, Digest>();
  for (const img of images.list()) for (const l of img.layers) known.set(l.digest, l.diffId);
  for (const d of present) {
    const want = diffIdByBlob.get(d)!;
    const have = known.get(d) ?? (await layerDiffIdOf(images, d)).diffId;
    if (have !== want) {
      throw new FailedPrecondition(
        `layer diff ID mismatch: ${d} is stored with diff ID ${have}, the image config says ${want}`,
      );
    }
  }
  const missing = [
    ...new Map(manifest.layers.filter((l) => !present.has(l.digest)).map((l) => [l.digest, l])).values(),
  ];
  // Layer workers start while the checks and requests below run.
  warmLayerWorkers(Math.min(missing.length, opts.concurrency ?? 4));
  // As dockerd: when the image itself is already here, there is nothing to report per layer.
  const imageKnown = images.get(manifest.config.digest) !== undefined && missing.length === 0;
  for (const l of imageKnown ? [] : manifest.layers) {
    emit({
      id: shortDigest(l.digest),
      status: present.has(l.digest) ? "Already exists" : "Pulling fs layer",
    });
  }
  const added: Digest[] = [];
  /** Content sizes measured while downloading (addImage measures the others). */
  const sizes = new Map<Digest, number>();
  try {
    const diffIdOf = (d: Digest) => config.rootfs.diff_ids[manifest.layers.findIndex((l) => l.digest === d)]!;
    const stored = (d: Digest, downloaded: boolean) => {
      manifest.layers.forEach((l, index) => {
        if (l.digest === d)
          opts.onLayerStored?.({
            index,
            digest: d,
            size: l.size,
            diffId: config.rootfs.diff_ids[index]!,
            downloaded,
          });
      });
    };
    for (const d of present) stored(d, false);
    // As dockerd: layers beyond the parallel downloads wait for a slot.
    const slots = opts.concurrency ?? 4;
    missing.slice(slots).forEach((l) => {
      emit({ id: shortDigest(l.digest), status: "Waiting" });
    });
    const layersUpTo = (d: Digest) => {
      const index = manifest.layers.findIndex((l) => l.digest === d);
      return manifest.layers
        .slice(0, index + 1)
        .map((l, i) => ({ digest: l.digest, diffId: config.rootfs.diff_ids[i]! }));
    };
    await pool(missing, slots, async (layer) => {
      const layers = layersUpTo(layer.digest);
      sizes.set(
        layer.digest,
        await downloadLayer(client, images, repo, layer, diffIdOf(layer.digest), opts, () =>
          opts.unpackTarget?.(layers),
        ),
      );
      added.push(layer.digest);
      stored(layer.digest, true);
    });
    const before = tryResolve(images, formatReference(reference));
    const names = [formatReference({ domain: reference.domain, path: reference.path, digest: top.digest })];
    if (reference.digest === undefined && reference.tag !== undefined)
      names.unshift(formatReference(reference));
    const layerSizes = manifest.layers.map((l) => sizes.get(l.digest));
    const image = await images.addImage({
      manifest: manifestBytes,
      config: configBytes,
      names,
      // addImage measures the entries left undefined (layers that were already here).
      layerSizes: layerSizes as number[],
    });
    return {
      reference,
      digest: top.digest,
      manifestDigest,
      image,
      upToDate: before === image.id,
      layers: manifest.layers.map((descriptor) => ({
        descriptor,
        downloaded: !present.has(descriptor.digest),
      })),
    };
  } catch (err) {
    // Nothing half-stored: remove the layer blobs this pull added that no image uses.
    const used = new Set(images.list().flatMap((img) => img.layers.map((l) => l.digest)));
    for (const d of added) if (!used.has(d)) await content.delete(d).catch(() => {});
    throw err;
  }
}

function tryResolve(images: ImageStore, name: string): Digest | undefined {
  try {
    return images.resolve(name).id;
  } catch {
    return undefined;
  }
}

/** formatPull renders a reference as dockerd does in "manifest for X not found". */
function formatPull(ref: Reference): string {
  return Ref.familiarString(ref);
}

/** downloadLayer streams one layer into the content store, verified, with retries on transient errors. */
async function downloadLayer(
  client: RegistryClient,
  images: ImageStore,
  repo: { domain: string; path: string },
  layer: Descriptor,
  diffId: Digest,
  opts: PullOptions,
  unpackTarget: () => ReturnType<NonNullable<PullOptions["unpackTarget"]>>,
): Promise<number> {
  const emit = opts.onProgress ?? (() => {});
  const id = shortDigest(layer.digest);
  const attempts = opts.layerAttempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    try {
      const body = await client.fetchBlob(repo, layer.digest, layer.size, opts.signal);
      let last = 0;
      const onBytes = (current: number) => {
        const now = Date.now();
        if (now - last >= 100 || current === layer.size) {
          last = now;
          emit({ id, status: "Downloading", current, total: layer.size });
        }
      };
      // One pass over the bytes stores the blob (visible only once size and digest match),
      // checks the config's diff ID and, when the caller asks, extracts the layer.
      const target = unpackTarget();
      const ingesting = ingestLayer(images.content, body, {
        expected: layer.digest,
        size: layer.size,
        diffId,
        ref: `layer-${layer.digest}`,
        ifExists: "ok",
        ...(target !== undefined ? { unpack: { dir: target.dir, lowerDirs: target.lowerDirs } } : {}),
        ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
        onBytes,
      });
      target?.extracted(ingesting);
      let measured: number;
      try {
        measured = (await ingesting).bytes;
      } catch (err) {
        // Another pull is downloading the same layer: wait for it to land instead.
        if (!isKind(err, "Unavailable") || !/locked since/.test((err as Error).message)) throw err;
        body.destroy();
        for (let i = 0; ; i++) {
          if (await images.content.has(layer.digest)) break;
          if (i >= 120) throw err;
          await new Promise((r) => setTimeout(r, 500));
        }
        measured = (await layerDiffIdOf(images, layer.digest)).bytes;
      }
      emit({ id, status: "Verifying Checksum" });
      emit({ id, status: "Download complete" });
      return measured;
    } catch (err) {
      if (opts.signal?.aborted || attempt >= attempts || !isRetryable(err)) {
        if (isKind(err, "FailedPrecondition")) {
          throw new FailedPrecondition(`failed to verify layer ${layer.digest}: ${(err as Error).message}`, {
            cause: err,
          });
        }
        const what = (err as Error).message;
        throw new Unavailable(
          `failed to download layer ${layer.digest} after ${attempt} attempt${attempt === 1 ? "" : "s"}: ${what}`,
          { cause: err },
        );
      }
      emit({ id, status: `Retrying in ${attempt} second${attempt === 1 ? "" : "s"}` });
      await new Promise((r) => setTimeout(r, 250 * attempt));
    }
  }
}

/** layerDiffIdOf measures a stored layer blob (diff ID and content bytes). */
async function layerDiffIdOf(images: ImageStore, digest: Digest): Promise<LayerDiffId> {
  return layerDiffId(await images.content.readStream(digest));
}
