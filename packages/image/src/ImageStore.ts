import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough, type Readable } from "node:stream";
import { decompress, measureTar } from "@berth/archive";
import { Conflict, errnoCode, InvalidArgument, isBerthError, NotFound } from "@berth/errdefs";
import {
  currentPlatform,
  type Digest,
  familiarString,
  formatReference,
  type ImageConfig,
  type ImageSpec,
  isIdPrefix,
  type Manifest,
  OCI_CONFIG,
  OCI_LAYER,
  OCI_MANIFEST,
  type Platform,
  Reference,
  shortId,
  validateImageConfig,
  validateManifest,
  withDefaultTag,
} from "@berth/oci";

type ContainerConfig = ImageSpec.ContainerConfig;
const { parseAnyReference, parseNormalizedNamed, parseTagTarget } = Reference;

import { writeFileAtomic } from "./atomicWrite.ts";
import { ContentStore } from "./ContentStore.ts";
import type { ImageRecord, LayerRecord } from "./ImageRecord.ts";
import { Mutex } from "./Mutex.ts";

/** MAX_MANIFEST_BYTES bounds manifest reads (containerd MaxManifestSize; CVE-2020-1702). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** MAX_CONFIG_BYTES bounds config reads (CVE-2023-25153 import OOM). */
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

interface StoredImage {
  manifestDigest: Digest;
  layerSizes: number[];
  parent?: Digest;
  added: string;
}

interface IndexFile {
  version: 1;
  images: Record<string, StoredImage>;
  /** Normalised reference (`docker.io/library/busybox:latest`, `...@sha256:`) -> image ID. */
  refs: Record<string, Digest>;
}

/** A container using an image, as reported by {@link RemoveOptions.isInUse}. */
export interface ImageUser {
  readonly id: string;
  readonly running: boolean;
}

/** Options for {@link ImageStore.remove} (docker rmi). */
export interface RemoveOptions {
  readonly force?: boolean;
  readonly noPrune?: boolean;
  /**
   * Which container uses the image, if any. A plain string is a stopped
   * container's ID; return `{ id, running: true }` for a running one.
   */
  readonly isInUse?: (imageId: string) => string | ImageUser | undefined;
}

/** One line of docker's rmi report. */
export type RemoveReportItem = { Untagged: string } | { Deleted: string };

/** Options for {@link ImageStore.importRootfs} (docker import). */
export interface ImportOptions {
  /** Name to tag the image with (`repo[:tag]`). */
  readonly ref?: string;
  /** Commit message; default `Imported from -`. */
  readonly message?: string;
  /** Config changes (`--change`), already parsed. */
  readonly changes?: Partial<ContainerConfig>;
  /** Platform of the image; default the host's. */
  readonly platform?: Platform;
  /** Creation time; default now. */
  readonly created?: Date;
}

/** Input of {@link ImageStore.addImage}: manifest and config; layer blobs must already be in the content store. */
export interface AddImageInput {
  /** Manifest bytes (stored verbatim) or object (stored as JSON). */
  readonly manifest: Uint8Array | Manifest;
  /** Config bytes or object; its digest must equal manifest.config.digest. */
  readonly config: Uint8Array | ImageConfig;
  /** Names to point at the image (`repo:tag` or `repo@digest`). */
  readonly names?: readonly string[];
  /** Content size of each layer, bottom first; measured from the blobs when absent. */
  readonly layerSizes?: readonly number[];
  /** Parent image ID (local builds). */
  readonly parent?: Digest;
}

const toBytes = (v: Uint8Array | object): Buffer =>
  v instanceof Uint8Array ? Buffer.from(v) : Buffer.from(JSON.stringify(v));

/**
 * ImageStore keeps images (OCI manifest + config + layer blobs in a
 * {@link ContentStore}) and their names. Names live in `<root>/images.json`,
 * written atomically under an in-process lock; image records are loaded into
 * memory at open, so reads are synchronous. The image ID is the config digest.
 * Names are stored normalised (`docker.io/library/busybox:latest`) and shown
 * familiar (`busybox:latest`).
 */
export class ImageStore {
  readonly root: string;
  readonly content: ContentStore;
  readonly #indexPath: string;
  readonly #lock = new Mutex();
  #index: IndexFile = { version: 1, images: {}, refs: {} };
  readonly #records = new Map<Digest, ImageRecord>();

  private constructor(root: string, content: ContentStore) {
    this.root = root;
    this.content = content;
    this.#indexPath = join(root, "images.json");
  }

  /** open loads `<root>/images.json` and every image's manifest and config. Images whose blobs vanished are dropped. */
  static async open(opts: { root: string; content?: ContentStore }): Promise<ImageStore> {
    const content = opts.content ?? (await ContentStore.open(opts.root));
    const s = new ImageStore(opts.root, content);
    try {
      const parsed = JSON.parse(await readFile(s.#indexPath, "utf8")) as IndexFile;
      if (parsed.version === 1 && typeof parsed.images === "object" && typeof parsed.refs === "object")
        s.#index = parsed;
    } catch (err) {
      if (errnoCode(err) !== "ENOENT") throw err;
    }
    for (const [id, img] of Object.entries(s.#index.images)) {
      try {
        s.#records.set(id as Digest, await s.#load(id as Digest, img));
      } catch {
        delete s.#index.images[id];
      }
    }
    for (const [ref, id] of Object.entries(s.#index.refs)) if (!s.#records.has(id)) delete s.#index.refs[ref];
    s.#refreshNames();
    return s;
  }

  async #load(id: Digest, img: StoredImage): Promise<ImageRecord> {
    const mbytes = await this.content.readBytes(img.manifestDigest, MAX_MANIFEST_BYTES);
    const manifest = validateManifest(JSON.parse(mbytes.toString("utf8")));
    if (manifest.config.digest !== id) {
      throw new InvalidArgument(
        `manifest ${img.manifestDigest} has config ${manifest.config.digest}, expected ${id}`,
      );
    }
    const config = validateImageConfig(await this.content.readJSON(id, MAX_CONFIG_BYTES));
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== manifest.layers.length) {
      throw new InvalidArgument(
        `config has ${diffIds.length} diff_ids, manifest has ${manifest.layers.length} layers`,
      );
    }
    const layers: LayerRecord[] = manifest.layers.map((l, i) => ({
      digest: l.digest,
      size: l.size,
      mediaType: l.mediaType,
      diffId: diffIds[i]!,
    }));
    const rec: ImageRecord = {
      id,
      repoTags: [],
      repoDigests: [],
      created: config.created ?? img.added,
      size: img.layerSizes.reduce((a, b) => a + b, 0),
      config,
      manifestDigest: img.manifestDigest,
      manifestMediaType: manifest.mediaType ?? OCI_MANIFEST,
      layers,
      ...(img.parent === undefined ? {} : { parent: img.parent }),
    };
    return rec;
  }

  /** Recompute every record's repoTags/repoDigests from the refs map. */
  #refreshNames(): void {
    const tags = new Map<string, string[]>();
    const digests = new Map<string, string[]>();
    for (const [ref, id] of Object.entries(this.#index.refs)) {
      const r = parseNormalizedNamed(ref);
      const m = r.digest === undefined ? tags : digests;
      m.set(id, [...(m.get(id) ?? []), familiarString(r)]);
    }
    for (const [id, rec] of this.#records) {
      this.#records.set(id, {
        ...rec,
        repoTags: (tags.get(id) ?? []).sort(),
        repoDigests: (digests.get(id) ?? []).sort(),
      });
    }
  }

  async #save(): Promise<void> {
    await writeFileAtomic(this.#indexPath, `${JSON.stringify(this.#index, null, 2)}\n`);
    this.#refreshNames();
  }

  /** list returns every image, newest first. */
  list(): ImageRecord[] {
    return [...this.#records.values()].sort((a, b) =>
      a.created < b.created ? 1 : a.created > b.created ? -1 : 0,
    );
  }

  /** get returns an image by full ID or undefined. */
  get(id: string): ImageRecord | undefined {
    return this.#records.get(id as Digest);
  }

  /**
   * resolve finds an image like docker's GetImage: a full ID (with or without
   * `sha256:`), then a name (`busybox`, `busybox:latest`,
   * `docker.io/library/busybox:latest`, `busybox@sha256:<repo digest>`), then
   * a unique ID prefix of any length. Otherwise NotFound `No such image: x`.
   */
  resolve(nameOrId: string): ImageRecord {
    let parsed: Reference | Digest;
    try {
      parsed = parseAnyReference(nameOrId);
    } catch (err) {
      const byId = this.#searchId(nameOrId);
      if (byId !== undefined) return byId;
      throw err;
    }
    if (typeof parsed === "string") {
      const rec = this.#records.get(parsed);
      if (rec !== undefined) return rec;
      throw new NotFound(`No such image: ${parsed}`);
    }
    const ref = withDefaultTag(parsed);
    const id = this.#index.refs[formatReference(ref)];
    if (id !== undefined) {
      const rec = this.#records.get(id);
      if (rec !== undefined) return rec;
    }
    const byId = this.#searchId(nameOrId);
    if (byId !== undefined) return byId;
    throw new NotFound(`No such image: ${familiarString(ref)}`);
  }

  #searchId(prefix: string): ImageRecord | undefined {
    if (!isIdPrefix(prefix)) return undefined;
    const hex = prefix.startsWith("sha256:") ? prefix.slice(7) : prefix;
    let found: ImageRecord | undefined;
    for (const [id, rec] of this.#records) {
      if (id.slice(7).startsWith(hex)) {
        if (found !== undefined) return undefined; // ambiguous: docker reports no such image
        found = rec;
      }
    }
    return found;
  }

  /** tag points `target` (`repo[:tag]`, default tag latest) at the image `source` resolves to. */
  async tag(source: string, target: string): Promise<void> {
    const ref = parseTagTarget(target);
    await this.#lock.run(async () => {
      const img = this.resolve(source);
      this.#index.refs[formatReference(ref)] = img.id;
      await this.#save();
    });
  }

  /** untag removes one name; the image stays (possibly dangling). Returns the familiar name removed. */
  async untag(name: string): Promise<string> {
    const ref = withDefaultTag(parseNormalizedNamed(name));
    const key = formatReference(ref);
    return this.#lock.run(async () => {
      if (this.#index.refs[key] === undefined) throw new NotFound(`No such image: ${familiarString(ref)}`);
      delete this.#index.refs[key];
      await this.#save();
      return familiarString(ref);
    });
  }

  #refsOf(id: Digest): Reference[] {
    return Object.entries(this.#index.refs)
      .filter(([, v]) => v === id)
      .map(([k]) => parseNormalizedNamed(k));
  }

  /**
   * remove implements `docker rmi` with docker's semantics (moby
   * daemon/images/image_delete.go): by name it untags (and deletes the image
   * when that was the last name); by ID it deletes, needing `force` when the
   * image is tagged in several repositories or used by a stopped container;
   * a running container's image cannot be deleted at all. Layer blobs no
   * other image shares are deleted and reported by chain position as
   * `Deleted: <diffId>`; unpacked snapshots are left to snapshot GC.
   */
  async remove(nameOrId: string, opts: RemoveOptions = {}): Promise<RemoveReportItem[]> {
    return this.#lock.run(async () => {
      const records: RemoveReportItem[] = [];
      const img = this.resolve(nameOrId);
      const force = opts.force === true;
      const prune = opts.noPrune !== true;
      const user = normaliseUser(opts.isInUse?.(img.id));
      let repoRefs = this.#refsOf(img.id);
      let quiet = false;
      if (!isImageIdPrefix(img.id, nameOrId)) {
        if (!force && isSingleReference(repoRefs) && user !== undefined) {
          throw new Conflict(
            `conflict: unable to remove repository reference ${JSON.stringify(nameOrId)} (must force) - container ${shortId(user.id)} is using its referenced image ${shortId(img.id)}`,
          );
        }
        const parsed = withDefaultTag(parseNormalizedNamed(nameOrId));
        delete this.#index.refs[formatReference(parsed)];
        records.push({ Untagged: familiarString(parsed) });
        repoRefs = this.#refsOf(img.id);
        if (parsed.digest === undefined) {
          const name = `${parsed.domain}/${parsed.path}`;
          const sameRepoTag = repoRefs.some(
            (r) => r.digest === undefined && `${r.domain}/${r.path}` === name,
          );
          if (!sameRepoTag) {
            const remaining: Reference[] = [];
            for (const r of repoRefs) {
              if (r.digest !== undefined && `${r.domain}/${r.path}` === name) {
                delete this.#index.refs[formatReference(r)];
                records.push({ Untagged: familiarString(r) });
              } else remaining.push(r);
            }
            repoRefs = remaining;
          }
        }
        if (repoRefs.length > 0) {
          await this.#save();
          return records;
        }
        quiet = true;
      } else if (isSingleReference(repoRefs)) {
        const c = this.#conflict(img.id, { hard: true, stopped: !force, references: false }, user);
        if (c !== undefined) throw new Conflict(c.message);
        for (const r of repoRefs) {
          delete this.#index.refs[formatReference(r)];
          records.push({ Untagged: familiarString(r) });
        }
      }
      try {
        await this.#deleteHelper(img.id, records, force, prune, quiet, user);
      } finally {
        await this.#save();
      }
      return records;
    });
  }

  #conflict(
    id: Digest,
    mask: { hard: boolean; stopped: boolean; references: boolean },
    user: ImageUser | undefined,
  ): { message: string; used: boolean } | undefined {
    const msg = (hard: boolean, m: string) =>
      `conflict: unable to delete ${shortId(id)} (${hard ? "cannot be forced" : "must be forced"}) - ${m}`;
    if (mask.hard && [...this.#records.values()].some((r) => r.parent === id)) {
      return { message: msg(true, "image has dependent child images"), used: false };
    }
    if (mask.hard && user?.running) {
      return {
        message: msg(true, `image is being used by running container ${shortId(user.id)}`),
        used: true,
      };
    }
    if (mask.references && this.#refsOf(id).length > 0) {
      return { message: msg(false, "image is referenced in multiple repositories"), used: false };
    }
    if (mask.stopped && user !== undefined && !user.running) {
      return {
        message: msg(false, `image is being used by stopped container ${shortId(user.id)}`),
        used: true,
      };
    }
    return undefined;
  }

  async #deleteHelper(
    id: Digest,
    records: RemoveReportItem[],
    force: boolean,
    prune: boolean,
    quiet: boolean,
    user: ImageUser | undefined,
  ): Promise<void> {
    const c = this.#conflict(id, { hard: true, stopped: !force, references: !force }, user);
    if (c !== undefined) {
      const dangling =
        this.#refsOf(id).length === 0 && ![...this.#records.values()].some((r) => r.parent === id);
      if (quiet && (!dangling || c.used)) return;
      throw new Conflict(c.message);
    }
    const img = this.#records.get(id)!;
    for (const r of this.#refsOf(id)) {
      delete this.#index.refs[formatReference(r)];
      records.push({ Untagged: familiarString(r) });
    }
    this.#records.delete(id);
    delete this.#index.images[id];
    records.push({ Deleted: id });
    // Blobs no remaining image references are deleted.
    const used = new Set<string>();
    for (const r of this.#records.values()) {
      used.add(r.id);
      used.add(r.manifestDigest);
      for (const l of r.layers) used.add(l.digest);
    }
    for (const d of [img.manifestDigest, img.id]) {
      if (!used.has(d)) await this.content.delete(d).catch(() => {});
    }
    for (const l of img.layers) {
      if (used.has(l.digest)) continue;
      used.add(l.digest);
      await this.content.delete(l.digest).catch(() => {});
      records.push({ Deleted: l.diffId });
    }
    if (prune && img.parent !== undefined && this.#records.has(img.parent)) {
      await this.#deleteHelper(img.parent, records, false, true, true, undefined);
    }
  }

  /**
   * addImage records an image whose layer blobs are already in the content
   * store (pull, build, load): stores manifest and config blobs, checks they
   * agree, measures layer sizes if not given, and points `names` at it.
   */
  async addImage(input: AddImageInput): Promise<ImageRecord> {
    const mbytes = toBytes(input.manifest);
    const cbytes = toBytes(input.config);
    const manifest = validateManifest(JSON.parse(mbytes.toString("utf8")));
    const config = validateImageConfig(JSON.parse(cbytes.toString("utf8")));
    const cinfo = await this.content.put(cbytes);
    if (cinfo.digest !== manifest.config.digest) {
      throw new InvalidArgument(
        `config digest ${cinfo.digest} does not match the manifest's ${manifest.config.digest}`,
      );
    }
    if (config.rootfs.diff_ids.length !== manifest.layers.length) {
      throw new InvalidArgument(
        `config has ${config.rootfs.diff_ids.length} diff_ids, manifest has ${manifest.layers.length} layers`,
      );
    }
    const sizes: number[] = [];
    for (const [i, l] of manifest.layers.entries()) {
      const info = await this.content.info(l.digest);
      if (info.size !== l.size)
        throw new InvalidArgument(`layer ${l.digest} is ${info.size} bytes, manifest says ${l.size}`);
      sizes.push(input.layerSizes?.[i] ?? (await measureTar(await this.content.readStream(l.digest))).bytes);
    }
    const minfo = await this.content.put(mbytes);
    const names = (input.names ?? []).map((n) => {
      const r = parseNormalizedNamed(n);
      return r.digest === undefined ? parseTagTarget(n) : r;
    });
    return this.#lock.run(async () => {
      // The same image under the same names (a rebuild that reused every step): nothing to write.
      const known = this.#index.images[cinfo.digest];
      const same = this.#records.get(cinfo.digest);
      if (
        known?.manifestDigest === minfo.digest &&
        same !== undefined &&
        names.every((r) => this.#index.refs[formatReference(r)] === cinfo.digest)
      )
        return same;
      const stored: StoredImage = {
        manifestDigest: minfo.digest,
        layerSizes: sizes,
        added: new Date().toISOString(),
        ...(input.parent === undefined ? {} : { parent: input.parent }),
      };
      const id = cinfo.digest;
      this.#index.images[id] = this.#index.images[id] ?? stored;
      this.#records.set(id, await this.#load(id, this.#index.images[id]));
      for (const r of names) this.#index.refs[formatReference(r)] = id;
      await this.#save();
      return this.#records.get(id)!;
    });
  }

  /**
   * importRootfs is `docker import`: a tar (plain, gzip or zstd) becomes a
   * one-layer image. The layer is stored uncompressed
   * (`application/vnd.oci.image.layer.v1.tar`), so its digest is its diff ID.
   * The config has rootfs diff_ids, the host platform, `changes` as its
   * container config, and the history entry docker writes
   * (`{created, created_by: "", comment: "Imported from -"}`).
   */
  async importRootfs(input: Readable, opts: ImportOptions = {}): Promise<ImageRecord> {
    const ref = opts.ref === undefined || opts.ref === "" ? undefined : parseTagTarget(opts.ref);
    const { stream } = await decompress(input);
    const toStore = new PassThrough();
    const toMeasure = new PassThrough();
    // Errors reach the caller through the two promises below.
    toStore.on("error", () => {});
    toMeasure.on("error", () => {});
    stream.pipe(toStore);
    stream.pipe(toMeasure);
    stream.on("error", (err) => {
      toStore.destroy(err);
      toMeasure.destroy(err);
    });
    const measuring = measureTar(toMeasure).catch((err: unknown) => {
      toStore.destroy(err as Error);
      stream.destroy();
      throw err;
    });
    const storing = this.content.ingest(toStore, { ifExists: "ok" });
    const [blob, measure] = await Promise.all([storing, measuring]).catch(async (err: unknown) => {
      await Promise.allSettled([storing, measuring]);
      if (isBerthError(err)) throw err;
      throw new InvalidArgument(`invalid rootfs tar: ${(err as Error).message}`, { cause: err });
    });
    const created = (opts.created ?? new Date()).toISOString();
    const platform = opts.platform ?? currentPlatform();
    const message = opts.message ?? "Imported from -";
    const config = {
      architecture: platform.architecture,
      ...(platform.variant === undefined ? {} : { variant: platform.variant }),
      os: platform.os,
      created,
      comment: message,
      config: { ...(opts.changes ?? {}) },
      rootfs: { type: "layers" as const, diff_ids: [blob.digest] },
      history: [{ created, created_by: "", comment: message }],
    };
    const cbytes = Buffer.from(JSON.stringify(config));
    const cinfo = await this.content.put(cbytes);
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: cinfo.digest, size: cinfo.size },
      layers: [{ mediaType: OCI_LAYER, digest: blob.digest, size: blob.size }],
    };
    return this.addImage({
      manifest,
      config: cbytes,
      layerSizes: [measure.bytes],
      names: ref === undefined ? [] : [formatReference(ref)],
    });
  }
}

function normaliseUser(u: string | ImageUser | undefined): ImageUser | undefined {
  if (u === undefined || u === "") return undefined;
  return typeof u === "string" ? { id: u, running: false } : u;
}

/** isImageIdPrefix: whether `s` is a prefix of the ID, with or without `sha256:` (moby isImageIDPrefix). */
function isImageIdPrefix(id: string, s: string): boolean {
  return id.startsWith(s) || id.slice(id.indexOf(":") + 1).startsWith(s);
}

/** isSingleReference: all references in one repository with at most one tag (moby isSingleReference). */
function isSingleReference(refs: Reference[]): boolean {
  if (refs.length <= 1) return refs.length === 1;
  let single: Reference | undefined;
  const canonical = new Set<string>();
  for (const r of refs) {
    if (r.digest !== undefined) canonical.add(`${r.domain}/${r.path}`);
    else if (single === undefined) single = r;
    else return false;
  }
  single ??= refs[0]!;
  return canonical.size === 1 && canonical.has(`${single.domain}/${single.path}`);
}
