/**
 * pushImage copies an image from an {@link ImageStore} to a registry: for each layer a blob
 * existence check, then a cross-repository mount from another repository of the same registry
 * that is known to hold it, else an upload (monolithic, or chunked with `chunkSize`); then the
 * config; the manifest last, byte for byte as stored, so its digest does not change.
 *
 * @since 0.1.0
 */
import { InvalidArgument, NotFound } from "@berth/errdefs";
import type { ImageRecord, ImageStore } from "@berth/image";
import { type Digest, formatReference, Reference as Ref, type Reference, validateManifest } from "@berth/oci";
import type { ProgressHandler } from "./Progress.ts";
import { shortDigest } from "./Progress.ts";
import type { RegistryClient } from "./RegistryClient.ts";
import { MAX_MANIFEST_BYTES } from "./RegistryClient.ts";

/** Options for {@link pushImage}. */
export interface PushOptions {
  /** Progress events per layer (docker's statuses). */
  readonly onProgress?: ProgressHandler;
  /** Upload blobs larger than this in PATCH chunks of this size; default monolithic. */
  readonly chunkSize?: number;
  /** Parallel layer uploads; default 5 (docker's max-concurrent-uploads). */
  readonly concurrency?: number;
  /**
   * Repositories (paths on the same registry) to try a cross-repository mount from, per blob.
   * Default: the other repositories of that registry that images in the store are named in and
   * that contain the blob.
   */
  readonly mountCandidates?: (digest: Digest) => string[];
  readonly signal?: AbortSignal;
}

/** PushReport is docker's push result (`aux`: Tag, Digest, Size). */
export interface PushReport {
  readonly reference: Reference;
  readonly tag: string;
  /** Manifest digest. */
  readonly digest: Digest;
  /** Manifest size in bytes. */
  readonly size: number;
}

/** defaultMountCandidates lists repositories of `domain` (other than `path`) whose images hold `digest`. */
export function defaultMountCandidates(
  images: ImageStore,
  domain: string,
  path: string,
  digest: Digest,
): string[] {
  const out = new Set<string>();
  for (const img of images.list()) {
    if (!img.layers.some((l) => l.digest === digest)) continue;
    for (const name of [...img.repoTags, ...img.repoDigests]) {
      try {
        const r = Ref.parseNormalizedNamed(name);
        if (r.domain === domain && r.path !== path) out.add(r.path);
      } catch {
        // a name that does not parse cannot be a mount source
      }
    }
  }
  return [...out];
}

/**
 * pushImage pushes the local image `name` (`host/repo[:tag]`, default tag `latest`) to its
 * registry and returns the manifest's digest and size.
 */
export async function pushImage(
  client: RegistryClient,
  images: ImageStore,
  name: string | Reference,
  opts: PushOptions = {},
): Promise<PushReport> {
  let reference = typeof name === "string" ? Ref.parseNormalizedNamed(name) : name;
  if (reference.digest !== undefined) {
    throw new InvalidArgument(`cannot push a digest reference ${Ref.familiarString(reference)}: push a tag`);
  }
  if (reference.tag === undefined) reference = Ref.withDefaultTag(reference);
  const tag = reference.tag!;
  let image: ImageRecord;
  try {
    image = images.resolve(formatReference(reference));
  } catch (err) {
    throw new NotFound(`An image does not exist locally with the tag: ${Ref.familiarName(reference)}`, {
      cause: err,
    });
  }
  const repo = { domain: reference.domain, path: reference.path };
  const emit = opts.onProgress ?? (() => {});
  const manifestBytes = await images.content.readBytes(image.manifestDigest, MAX_MANIFEST_BYTES);
  const manifest = validateManifest(JSON.parse(manifestBytes.toString("utf8")));
  const mediaType =
    image.manifestMediaType || manifest.mediaType || "application/vnd.oci.image.manifest.v1+json";
  const layers = [...new Map(manifest.layers.map((l) => [l.digest, l])).values()];
  for (const l of [...layers].reverse()) emit({ id: shortDigest(l.digest), status: "Preparing" });

  const candidates =
    opts.mountCandidates ?? ((d: Digest) => defaultMountCandidates(images, repo.domain, repo.path, d));
  const pushBlob = async (d: Digest, size: number, progress: boolean) => {
    const id = shortDigest(d);
    if ((await client.headBlob(repo, d, true)) !== undefined) {
      if (progress) emit({ id, status: "Layer already exists" });
      return;
    }
    for (const from of candidates(d)) {
      if (await client.mountBlob(repo, d, from)) {
        if (progress) emit({ id, status: `Mounted from ${from}` });
        return;
      }
    }
    let last = 0;
    await client.uploadBlob(repo, d, size, () => images.content.readStream(d), {
      ...(opts.chunkSize !== undefined ? { chunkSize: opts.chunkSize } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      onProgress: (sent) => {
        const now = Date.now();
        if (progress && (now - last >= 100 || sent === size)) {
          last = now;
          emit({ id, status: "Pushing", current: sent, total: size });
        }
      },
    });
    if (progress) emit({ id, status: "Pushed" });
  };

  const queue = [...layers];
  const workers = Array.from(
    { length: Math.max(1, Math.min(opts.concurrency ?? 5, queue.length)) },
    async () => {
      for (let l = queue.shift(); l !== undefined; l = queue.shift()) await pushBlob(l.digest, l.size, true);
    },
  );
  await Promise.all(workers);
  await pushBlob(manifest.config.digest, manifest.config.size, false);
  const digest = await client.putManifest(repo, tag, manifestBytes, mediaType);
  return { reference, tag, digest, size: manifestBytes.length };
}
