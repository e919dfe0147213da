import { createReadStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import type { Compression } from "@berth/archive";
import { FailedPrecondition, InvalidArgument, NotFound, NotImplemented } from "@berth/errdefs";
import {
  currentPlatform,
  type Descriptor,
  type Digest,
  familiarString,
  formatReference,
  type ImageConfig,
  isIndex,
  isManifest,
  type Manifest,
  OCI_CONFIG,
  OCI_LAYER,
  OCI_LAYER_GZIP,
  OCI_LAYER_ZSTD,
  OCI_MANIFEST,
  Platform,
  Reference,
  sha256,
  validateImageConfig,
  validateIndex,
  validateManifest,
} from "@berth/oci";
import { ArchiveDir, type ArchiveFile, type ExtractLimits } from "./ArchiveDir.ts";
import { adoptBlob } from "./adoptBlob.ts";
import { type ImageStore, MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES } from "./ImageStore.ts";
import { layerDiffId } from "./layerDiffId.ts";
import {
  ANNOTATION_IMAGE_NAME,
  ANNOTATION_REF_NAME,
  BLOB_PATH,
  blobPath,
  DOCKER_MANIFEST_FILE,
  type DockerManifestItem,
  OCI_INDEX_FILE,
  OCI_LAYOUT_FILE,
} from "./ociLayout.ts";

/** Options for {@link loadArchive}. */
export interface LoadOptions {
  /** Where the archive is unpacked while it is verified (a fresh directory inside; default the OS temp dir). */
  readonly tmpDir?: string;
  /** Platform chosen from a multi-platform OCI index; default the host's. */
  readonly platform?: Platform;
  /** Called as each layer has been verified and stored. */
  readonly onProgress?: (e: LoadProgress) => void;
  /** Limits on the archive (entries, bytes). */
  readonly limits?: Omit<ExtractLimits, "signal">;
  /** Aborts the load; nothing is recorded. */
  readonly signal?: AbortSignal;
}

/** One progress event of {@link loadArchive}: a layer done (`current === total`). */
export interface LoadProgress {
  /** `Loading layer`. */
  readonly status: string;
  /** The layer's diff ID. */
  readonly diffId: Digest;
  readonly current: number;
  readonly total: number;
}

/** One image a load recorded. */
export interface LoadedImage {
  /** Image ID (config digest). */
  readonly id: Digest;
  /** Familiar `name:tag` names pointed at it, in archive order. */
  readonly tags: string[];
}

/** Result of {@link loadArchive}. */
export interface LoadReport {
  readonly images: LoadedImage[];
  /**
   * docker's lines, in order: `Loaded image: name:tag`, `Loaded image ID: sha256:...` for an
   * untagged image, and `The image name:tag already exists, renaming the old one with ID
   * sha256:... to empty string` when a tag moves.
   */
  readonly messages: string[];
}

/** One layer of a planned image: the archive file, its media type and what verification found. */
interface PlannedLayer {
  readonly file: ArchiveFile;
  readonly mediaType: string;
  readonly diffId: Digest;
  readonly bytes: number;
}

/** One image, verified and ready to store. */
interface PlannedImage {
  readonly id: Digest;
  readonly config: Buffer;
  readonly manifest: Buffer;
  readonly layers: PlannedLayer[];
  readonly refs: Reference[];
}

const LAYER_TYPES: Record<Compression, string | undefined> = {
  none: OCI_LAYER,
  gzip: OCI_LAYER_GZIP,
  zstd: OCI_LAYER_ZSTD,
  bzip2: undefined,
  xz: undefined,
};

/**
 * loadArchive is `docker load`. It reads, in one pass, a tar (plain, gzip or zstd) in any of the
 * formats met in practice: what docker 25+ writes (OCI layout plus `manifest.json` pointing into
 * `blobs/sha256/`), what docker 1.10-24 wrote (`<id>/layer.tar`, `<id>/json`, `VERSION`,
 * `<hex>.json` configs, `manifest.json`, `repositories`, symlinked duplicate layers), and plain
 * OCI image layouts (`oci-layout`, `index.json`, nested indexes resolved for `platform`).
 *
 * The archive is unpacked by {@link ArchiveDir} (member names never become paths; escapes,
 * devices and truncation refused). Then every image is verified before anything is stored:
 * configs parse and their IDs are their digests, blobs match their names and the sizes their
 * descriptors give, and every layer's uncompressed bytes hash to the config's diff ID. Only then
 * are the layer blobs ingested and the images recorded and tagged; if storing fails, blobs this
 * load added and no image uses are removed again.
 */
export async function loadArchive(
  store: ImageStore,
  input: Readable,
  opts: LoadOptions = {},
): Promise<LoadReport> {
  const dir = await mkdtemp(join(opts.tmpDir ?? tmpdir(), "berth-load-"));
  try {
    const archive = await ArchiveDir.extract(input, dir, {
      ...(opts.limits ?? {}),
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    });
    const planned = archive.has(DOCKER_MANIFEST_FILE)
      ? await planDockerArchive(archive)
      : archive.has(OCI_INDEX_FILE)
        ? await planOciLayout(archive, opts.platform ?? currentPlatform())
        : undefined;
    if (planned === undefined) {
      throw new InvalidArgument(
        `invalid archive: it has neither ${DOCKER_MANIFEST_FILE} (docker save) nor ${OCI_INDEX_FILE} (OCI image layout)`,
      );
    }
    if (planned.length === 0) throw new InvalidArgument("invalid archive: it holds no image");
    opts.signal?.throwIfAborted();
    return await storePlanned(store, planned, opts);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** planDockerArchive reads `manifest.json` (docker 1.10+) and verifies each image it lists. */
async function planDockerArchive(archive: ArchiveDir): Promise<PlannedImage[]> {
  const { value } = await archive.readJSON<unknown>(DOCKER_MANIFEST_FILE, MAX_MANIFEST_BYTES);
  if (!Array.isArray(value))
    throw new InvalidArgument(`invalid archive: ${DOCKER_MANIFEST_FILE} is not a JSON array`);
  // Manifests of the OCI part (docker 25+, berth), reused verbatim when they describe the same image.
  const ociManifests = archive.has(OCI_INDEX_FILE) ? await indexManifests(archive) : [];
  const out: PlannedImage[] = [];
  for (const [i, raw] of value.entries()) {
    const item = raw as Partial<DockerManifestItem> | null;
    const where = `${DOCKER_MANIFEST_FILE}[${i}]`;
    if (
      item === null ||
      typeof item !== "object" ||
      typeof item.Config !== "string" ||
      !Array.isArray(item.Layers)
    ) {
      throw new InvalidArgument(`invalid archive: ${where} needs a Config path and a Layers array`);
    }
    const cfgFile = archive.resolve(item.Config);
    const cfgName = /^(?:blobs\/sha256\/)?([0-9a-f]{64})(?:\.json)?$/.exec(item.Config);
    const { config, bytes, id } = await readConfig(archive, item.Config);
    if (cfgName !== null && cfgName[1] !== id.slice(7)) {
      throw new FailedPrecondition(
        `invalid archive: config ${item.Config} does not match its name: content hashes to ${cfgFile.digest}`,
      );
    }
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== item.Layers.length) {
      throw new InvalidArgument(
        `invalid archive: ${where} lists ${item.Layers.length} layers, its config has ${diffIds.length} diff_ids`,
      );
    }
    const layers: PlannedLayer[] = [];
    for (const [j, path] of item.Layers.entries()) {
      if (typeof path !== "string")
        throw new InvalidArgument(`invalid archive: ${where}.Layers[${j}] is not a path`);
      layers.push(await verifyLayer(archive.resolve(path), undefined, diffIds[j]!, j));
    }
    if (item.RepoTags !== undefined && item.RepoTags !== null && !Array.isArray(item.RepoTags)) {
      throw new InvalidArgument(`invalid archive: ${where}.RepoTags is not an array`);
    }
    const refs = (item.RepoTags ?? []).map((t) => {
      if (typeof t !== "string")
        throw new InvalidArgument(`invalid archive: ${where}.RepoTags holds a non-string`);
      const r = Reference.parseNormalizedNamed(t);
      if (r.tag === undefined || r.digest !== undefined)
        throw new InvalidArgument(`invalid tag ${JSON.stringify(t)}`);
      return r;
    });
    const verbatim = ociManifests.find(
      (m) =>
        m.manifest.config.digest === id &&
        m.manifest.config.size === bytes.length &&
        m.manifest.layers.length === layers.length &&
        m.manifest.layers.every(
          (l, k) => l.digest === layers[k]!.file.digest && l.size === layers[k]!.file.size,
        ),
    );
    const manifest =
      verbatim?.bytes ??
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: OCI_CONFIG, digest: id, size: bytes.length },
          layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.file.digest, size: l.file.size })),
        } satisfies Manifest),
      );
    out.push({ id, config: bytes, manifest, layers, refs });
  }
  return out;
}

/** indexManifests reads the image manifests `index.json` points at directly (for reuse). */
async function indexManifests(archive: ArchiveDir): Promise<Array<{ manifest: Manifest; bytes: Buffer }>> {
  const out: Array<{ manifest: Manifest; bytes: Buffer }> = [];
  try {
    const { value } = await archive.readJSON(OCI_INDEX_FILE, MAX_MANIFEST_BYTES);
    const index = validateIndex(value);
    for (const d of index.manifests) {
      if (!isManifest(d.mediaType)) continue;
      const { manifest, bytes } = await readManifest(archive, d);
      out.push({ manifest, bytes });
    }
  } catch {
    // The docker part is authoritative when manifest.json exists; a bad OCI part is ignored.
    return [];
  }
  return out;
}

/** planOciLayout reads a plain OCI image layout: `oci-layout`, `index.json`, manifests by platform. */
async function planOciLayout(archive: ArchiveDir, platform: Platform): Promise<PlannedImage[]> {
  if (!archive.has(OCI_LAYOUT_FILE)) {
    throw new InvalidArgument(`invalid OCI image layout: ${OCI_LAYOUT_FILE} is missing`);
  }
  const { value: layout } = await archive.readJSON<{ imageLayoutVersion?: unknown }>(OCI_LAYOUT_FILE, 4096);
  if (layout === null || typeof layout !== "object" || layout.imageLayoutVersion !== "1.0.0") {
    throw new InvalidArgument(
      `invalid OCI image layout: unsupported imageLayoutVersion ${JSON.stringify(layout?.imageLayoutVersion)}, expected "1.0.0"`,
    );
  }
  const { value } = await archive.readJSON(OCI_INDEX_FILE, MAX_MANIFEST_BYTES);
  const index = validateIndex(value);
  const byManifest = new Map<Digest, PlannedImage>();
  const order: Digest[] = [];
  for (const top of index.manifests) {
    const desc = await pickManifest(archive, top, platform, 0);
    if (desc === undefined) continue;
    let img = byManifest.get(desc.digest);
    if (img === undefined) {
      img = await planOciManifest(archive, desc);
      byManifest.set(desc.digest, img);
      order.push(desc.digest);
    }
    const ref = refFromAnnotations(top.annotations ?? {});
    if (ref !== undefined && !img.refs.some((r) => formatReference(r) === formatReference(ref)))
      img.refs.push(ref);
  }
  if (order.length === 0) {
    throw new NotFound(
      `no image in the OCI layout matches the platform ${Platform.formatPlatform(platform)}`,
    );
  }
  return order.map((d) => byManifest.get(d)!);
}

/** pickManifest follows a descriptor to an image manifest, choosing by platform inside indexes. */
async function pickManifest(
  archive: ArchiveDir,
  d: Descriptor,
  platform: Platform,
  depth: number,
): Promise<Descriptor | undefined> {
  if (isManifest(d.mediaType)) return d;
  if (!isIndex(d.mediaType)) return undefined; // attestations, artifacts: not images
  if (depth > 4) throw new InvalidArgument("invalid OCI image layout: indexes nested too deeply");
  const bytes = await readBlob(archive, d, MAX_MANIFEST_BYTES);
  const nested = validateIndex(parseJSON(bytes, blobPath(d.digest)));
  const candidates = nested.manifests.filter((m) => isManifest(m.mediaType) || isIndex(m.mediaType));
  const platforms = candidates.map((m) => m.platform ?? platform);
  const best = Platform.bestPlatformMatch(platform, platforms as Platform[]);
  if (best < 0) return undefined;
  return pickManifest(archive, candidates[best]!, platform, depth + 1);
}

/** planOciManifest verifies one image manifest of a layout with its config and layers. */
async function planOciManifest(archive: ArchiveDir, d: Descriptor): Promise<PlannedImage> {
  const { manifest, bytes } = await readManifest(archive, d);
  const { config, bytes: cbytes, id } = await readConfig(archive, blobPath(manifest.config.digest));
  if (id !== manifest.config.digest || cbytes.length !== manifest.config.size) {
    throw new FailedPrecondition(
      `invalid OCI image layout: config ${manifest.config.digest} (${manifest.config.size} bytes) hashes to ${id} (${cbytes.length} bytes)`,
    );
  }
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) {
    throw new InvalidArgument(
      `invalid OCI image layout: manifest ${d.digest} has ${manifest.layers.length} layers, its config ${diffIds.length} diff_ids`,
    );
  }
  const layers: PlannedLayer[] = [];
  for (const [j, l] of manifest.layers.entries()) {
    const file = archive.resolve(blobPath(l.digest));
    if (file.size !== l.size) {
      throw new FailedPrecondition(
        `invalid OCI image layout: layer ${l.digest} is ${file.size} bytes, its descriptor says ${l.size}`,
      );
    }
    layers.push(await verifyLayer(file, l.mediaType, diffIds[j]!, j));
  }
  return { id, config: cbytes, manifest: bytes, layers, refs: [] };
}

/** readManifest reads a manifest blob, checking digest (by name, at extraction) and size. */
async function readManifest(
  archive: ArchiveDir,
  d: Descriptor,
): Promise<{ manifest: Manifest; bytes: Buffer }> {
  const bytes = await readBlob(archive, d, MAX_MANIFEST_BYTES);
  return { manifest: validateManifest(parseJSON(bytes, blobPath(d.digest))), bytes };
}

/** readBlob reads a small blob named by a descriptor and checks its size and digest. */
async function readBlob(archive: ArchiveDir, d: Descriptor, max: number): Promise<Buffer> {
  const name = blobPath(d.digest);
  if (!BLOB_PATH.test(name)) throw new NotImplemented(`unsupported digest algorithm in ${d.digest}`);
  const bytes = await archive.readBytes(name, max);
  if (bytes.length !== d.size) {
    throw new FailedPrecondition(
      `invalid OCI image layout: blob ${d.digest} is ${bytes.length} bytes, its descriptor says ${d.size}`,
    );
  }
  if (sha256(bytes) !== d.digest) {
    throw new FailedPrecondition(`invalid OCI image layout: blob ${d.digest} hashes to ${sha256(bytes)}`);
  }
  return bytes;
}

/** readConfig reads an image config; its ID is the digest of its bytes. Only linux images load here. */
async function readConfig(
  archive: ArchiveDir,
  name: string,
): Promise<{ config: ImageConfig; bytes: Buffer; id: Digest }> {
  const bytes = await archive.readBytes(name, MAX_CONFIG_BYTES);
  let config: ImageConfig;
  try {
    config = validateImageConfig(parseJSON(bytes, name));
  } catch (err) {
    throw new InvalidArgument(`invalid archive: config ${name}: ${(err as Error).message}`, { cause: err });
  }
  if (config.os !== "linux") {
    throw new InvalidArgument(
      `image operating system ${JSON.stringify(config.os)} cannot be used on this platform`,
    );
  }
  return { config, bytes, id: sha256(bytes) };
}

/** verifyLayer hashes a layer's uncompressed bytes and checks them against the config's diff ID. */
async function verifyLayer(
  file: ArchiveFile,
  mediaType: string | undefined,
  expected: Digest,
  index: number,
): Promise<PlannedLayer> {
  // Usually measured while the archive was unpacked; otherwise (zstd, odd chunking) read again.
  const found =
    file.layer ??
    (await layerDiffId(createReadStream(file.path)).catch((err: unknown) => {
      throw new InvalidArgument(`invalid archive: layer ${index} (${file.name}): ${(err as Error).message}`, {
        cause: err,
      });
    }));
  if (found.diffId !== expected) {
    throw new FailedPrecondition(
      `invalid diffID for layer ${index}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(found.diffId)}`,
    );
  }
  const type = mediaType ?? LAYER_TYPES[found.compression];
  if (type === undefined)
    throw new NotImplemented(`layer ${index} is ${found.compression}-compressed, which berth cannot store`);
  return { file, mediaType: type, diffId: found.diffId, bytes: found.bytes };
}

/** refFromAnnotations names an image from its index descriptor: the full name, else a full ref.name. */
function refFromAnnotations(a: Record<string, string>): Reference | undefined {
  for (const v of [a[ANNOTATION_IMAGE_NAME], a[ANNOTATION_REF_NAME]]) {
    if (v === undefined || v === "") continue;
    // A bare ref.name ("latest", "1.0") is a tag without a repository: it cannot name an image.
    if (v === a[ANNOTATION_REF_NAME] && !v.includes("/") && !v.includes(":")) continue;
    try {
      const r = Reference.parseNormalizedNamed(v);
      if (r.digest === undefined) return Reference.withDefaultTag(r);
    } catch {
      // not a reference: unnamed
    }
  }
  return undefined;
}

function parseJSON(bytes: Buffer, name: string): unknown {
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    throw new InvalidArgument(`invalid archive: ${name} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * storePlanned ingests the verified layers (each once, skipping blobs already stored), records the
 * images and moves their tags, writing docker's messages. On failure it removes the blobs it
 * added that no image uses.
 */
async function storePlanned(
  store: ImageStore,
  planned: PlannedImage[],
  opts: LoadOptions,
): Promise<LoadReport> {
  const added: Digest[] = [];
  const messages: string[] = [];
  const images: LoadedImage[] = [];
  try {
    const seen = new Set<Digest>();
    for (const img of planned) {
      // An image already in the store keeps its own blobs (maybe compressed differently): only
      // its names move, and no unreferenced copy of its layers is left behind.
      const present = store.get(img.id) !== undefined;
      for (const l of img.layers) {
        if (seen.has(l.file.digest)) continue;
        if (!present) seen.add(l.file.digest);
        opts.signal?.throwIfAborted();
        if (!present && !(await store.content.has(l.file.digest))) {
          // The file was hashed as it was unpacked into our private dir: renamed, not copied.
          await adoptBlob(store.content, l.file.path, { digest: l.file.digest, size: l.file.size }, () =>
            createReadStream(l.file.path),
          );
          added.push(l.file.digest);
        }
        opts.onProgress?.({
          status: "Loading layer",
          diffId: l.diffId,
          current: l.file.size,
          total: l.file.size,
        });
      }
    }
    for (const img of planned) {
      const before = img.refs.map((r) => {
        try {
          return store.resolve(formatReference(r)).id;
        } catch {
          return undefined;
        }
      });
      if (store.get(img.id) === undefined) {
        await store.addImage({
          manifest: img.manifest,
          config: img.config,
          layerSizes: img.layers.map((l) => l.bytes),
          names: img.refs.map((r) => formatReference(r)),
        });
      } else {
        for (const r of img.refs) await store.tag(img.id, formatReference(r));
      }
      const tags = img.refs.map((r) => familiarString(r));
      for (const [k, tag] of tags.entries()) {
        const old = before[k];
        if (old !== undefined && old !== img.id) {
          messages.push(
            `The image ${tag} already exists, renaming the old one with ID ${old} to empty string`,
          );
        }
        messages.push(`Loaded image: ${tag}`);
      }
      if (tags.length === 0) messages.push(`Loaded image ID: ${img.id}`);
      images.push({ id: img.id, tags });
    }
  } catch (err) {
    const used = new Set<string>();
    for (const r of store.list()) for (const l of r.layers) used.add(l.digest);
    for (const d of added) if (!used.has(d)) await store.content.delete(d).catch(() => {});
    throw err;
  }
  return { images, messages };
}
