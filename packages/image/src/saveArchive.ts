import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { PassThrough, type Readable, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { FailedPrecondition, InvalidArgument, NotFound } from "@berth/errdefs";
import {
  type Descriptor,
  type Digest,
  familiarName,
  familiarString,
  formatReference,
  hexOf,
  type Index,
  OCI_INDEX,
  OCI_MANIFEST,
  Reference,
} from "@berth/oci";
import * as tar from "tar-stream";
import type { ImageRecord } from "./ImageRecord.ts";
import type { ImageStore } from "./ImageStore.ts";
import {
  ANNOTATION_IMAGE_NAME,
  ANNOTATION_REF_NAME,
  blobPath,
  DOCKER_MANIFEST_FILE,
  DOCKER_REPOSITORIES_FILE,
  type DockerManifestItem,
  OCI_INDEX_FILE,
  OCI_LAYOUT_CONTENT,
  OCI_LAYOUT_FILE,
} from "./ociLayout.ts";

/** One image a save will write, with the tags it is saved under (familiar `name:tag`). */
export interface SaveItem {
  readonly image: ImageRecord;
  /** Normalised tagged references (`docker.io/library/busybox:latest`); empty when saved by ID or digest. */
  readonly refs: readonly Reference[];
}

/**
 * planSave resolves `names` as `docker save` does (moby tarexport parseNames): `repo:tag` is that
 * tag; a bare `repo` is every tag of that repository (or, when it has none, an image ID prefix);
 * `repo@sha256:...`, a full ID or an ID prefix is the image without a tag. Several names of one
 * image are merged. Throws NotFound (`No such image: x`) before anything is written.
 */
export function planSave(store: ImageStore, names: readonly string[]): SaveItem[] {
  if (names.length === 0) throw new InvalidArgument("no image names given to save");
  const items = new Map<Digest, { image: ImageRecord; refs: Reference[] }>();
  const add = (image: ImageRecord, ref?: Reference) => {
    let item = items.get(image.id);
    if (item === undefined) {
      item = { image, refs: [] };
      items.set(image.id, item);
    }
    if (ref !== undefined && !item.refs.some((r) => formatReference(r) === formatReference(ref)))
      item.refs.push(ref);
  };
  for (const name of names) {
    let parsed: Reference | Digest | undefined;
    try {
      parsed = Reference.parseAnyReference(name);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || typeof parsed === "string") {
      add(store.resolve(name));
      continue;
    }
    if (parsed.digest !== undefined) {
      add(store.resolve(name));
      continue;
    }
    if (parsed.tag === undefined) {
      const repo = `${parsed.domain}/${parsed.path}`;
      let found = false;
      for (const image of store.list()) {
        for (const t of image.repoTags) {
          const r = Reference.parseNormalizedNamed(t);
          if (`${r.domain}/${r.path}` === repo) {
            add(image, r);
            found = true;
          }
        }
      }
      if (!found) add(store.resolve(name));
      continue;
    }
    const image = store.resolve(name);
    add(image, parsed);
  }
  return [...items.values()].map((i) => ({
    image: i.image,
    refs: i.refs.sort((a, b) => formatReference(a).localeCompare(formatReference(b))),
  }));
}

/** What {@link buildSaveMetadata} computes: the small files of the archive and the blobs to copy. */
export interface SaveMetadata {
  /** Blobs to write under `blobs/sha256/`, sorted by digest, each once. */
  readonly blobs: ReadonlyArray<{ digest: Digest; size: number }>;
  /** docker's `manifest.json`. */
  readonly manifest: DockerManifestItem[];
  /** The OCI `index.json`. */
  readonly index: Index;
  /** docker's legacy `repositories`, or undefined when no image is tagged. */
  readonly repositories: Record<string, Record<string, string>> | undefined;
}

/**
 * buildSaveMetadata lays the images out as docker 25+ does: every blob (configs, manifests,
 * layers as stored) under `blobs/sha256/<hex>`, docker's `manifest.json` pointing into it, an
 * OCI `index.json` with one descriptor per tag (annotated with the full name and the tag) or one
 * unannotated descriptor for an untagged image, and `repositories` (name -> tag -> top diff ID).
 * Layers are written as the store holds them (compressed or not): `docker load` and OCI tools
 * decompress them, and the stored manifest stays byte-identical (its digest survives a round trip).
 */
export function buildSaveMetadata(items: readonly SaveItem[]): SaveMetadata {
  const blobs = new Map<Digest, number>();
  const manifest: DockerManifestItem[] = [];
  const descriptors: Descriptor[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  for (const { image, refs } of items) {
    // Sizes of configs and manifests are filled in from the content store by saveArchive.
    blobs.set(image.id, -1);
    blobs.set(image.manifestDigest, -1);
    for (const l of image.layers) blobs.set(l.digest, l.size);
    const platform = {
      architecture: image.config.architecture,
      os: image.config.os,
      ...(image.config.variant === undefined ? {} : { variant: image.config.variant }),
    };
    const base = {
      mediaType: image.manifestMediaType || OCI_MANIFEST,
      digest: image.manifestDigest,
      size: -1,
      platform,
    };
    if (refs.length === 0) descriptors.push({ ...base });
    for (const r of refs) {
      descriptors.push({
        ...base,
        annotations: {
          [ANNOTATION_IMAGE_NAME]: formatReference(r),
          [ANNOTATION_REF_NAME]: r.tag ?? "latest",
        },
      });
      const top = image.layers[image.layers.length - 1];
      if (top !== undefined) {
        const name = familiarName(r);
        repositories[name] = { ...(repositories[name] ?? {}), [r.tag ?? "latest"]: hexOf(top.diffId) };
      }
    }
    manifest.push({
      Config: blobPath(image.id),
      RepoTags: refs.length === 0 ? null : refs.map((r) => familiarString(r)),
      Layers: image.layers.map((l) => blobPath(l.digest)),
      ...(image.parent === undefined ? {} : { Parent: image.parent }),
    });
  }
  return {
    blobs: [...blobs.entries()]
      .map(([digest, size]) => ({ digest, size }))
      .sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0)),
    manifest,
    index: { schemaVersion: 2, mediaType: OCI_INDEX, manifests: descriptors } as Index,
    repositories: Object.keys(repositories).length === 0 ? undefined : repositories,
  };
}

/** Options for {@link saveArchive}. */
export interface SaveOptions {
  /** Aborts the stream (it is destroyed with the reason). */
  readonly signal?: AbortSignal;
}

/**
 * saveArchive is `docker save`: it resolves `names` first (NotFound before any byte), then
 * returns an uncompressed tar stream in the layout of docker 25+ (see {@link buildSaveMetadata}).
 * Blobs are streamed from the content store, never held whole in memory, and re-hashed on the
 * way out: a blob that no longer matches its digest fails the stream rather than ship corrupt.
 * Entries are in name order with fixed modes and times, so the same images give the same bytes.
 */
export async function saveArchive(
  store: ImageStore,
  names: readonly string[],
  opts: SaveOptions = {},
): Promise<Readable> {
  const items = planSave(store, names);
  const meta = buildSaveMetadata(items);
  // Sizes of configs and manifests come from the store (layers' are in the records).
  const blobs: Array<{ digest: Digest; size: number }> = [];
  for (const b of meta.blobs) {
    const info = await store.content.info(b.digest).catch((err: unknown) => {
      throw new NotFound(`blob ${b.digest} of the image is missing from the content store`, {
        cause: err,
      });
    });
    blobs.push({ digest: b.digest, size: info.size });
  }
  const sizes = new Map(blobs.map((b) => [b.digest, b.size]));
  const index: Index = {
    ...meta.index,
    manifests: meta.index.manifests.map((d) => ({ ...d, size: sizes.get(d.digest) ?? d.size })),
  };
  const created = new Map<Digest, Date>();
  for (const { image } of items) {
    const t = Date.parse(image.created);
    const when = Number.isNaN(t) ? new Date(0) : new Date(t);
    created.set(image.id, when);
    created.set(image.manifestDigest, when);
    for (const l of image.layers) if (!created.has(l.digest)) created.set(l.digest, when);
  }
  const pack = tar.pack();
  const out = new PassThrough();
  const epoch = new Date(0);
  const writeEntry = (name: string, data: string | Buffer, mtime = epoch) =>
    new Promise<void>((resolve, reject) => {
      pack.entry({ name, mode: 0o644, mtime, uid: 0, gid: 0, uname: "root", gname: "root" }, data, (err) =>
        err ? reject(err) : resolve(),
      );
    });
  const produce = async () => {
    pack.entry({
      name: "blobs/",
      type: "directory",
      mode: 0o755,
      mtime: epoch,
      uname: "root",
      gname: "root",
    });
    pack.entry({
      name: "blobs/sha256/",
      type: "directory",
      mode: 0o755,
      mtime: epoch,
      uname: "root",
      gname: "root",
    });
    for (const b of blobs) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error("aborted");
      await store.content.info(b.digest);
      const src = createReadStream(store.content.blobPath(b.digest), { highWaterMark: 1 << 20 });
      const entry = pack.entry({
        name: blobPath(b.digest),
        size: b.size,
        mode: 0o644,
        mtime: created.get(b.digest) ?? epoch,
        uid: 0,
        gid: 0,
        uname: "root",
        gname: "root",
      });
      await pipeline(src, verifying(b.digest), entry);
    }
    await writeEntry(OCI_INDEX_FILE, JSON.stringify(index));
    await writeEntry(DOCKER_MANIFEST_FILE, `${JSON.stringify(meta.manifest)}\n`);
    await writeEntry(OCI_LAYOUT_FILE, OCI_LAYOUT_CONTENT);
    if (meta.repositories !== undefined)
      await writeEntry(DOCKER_REPOSITORIES_FILE, `${JSON.stringify(meta.repositories)}\n`);
    pack.finalize();
  };
  // Errors reach the reader through `out`; the pack's own are only its echo.
  pack.on("error", () => {});
  pack.pipe(out);
  const onAbort = () => out.destroy(opts.signal?.reason ?? new Error("aborted"));
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  out.on("close", () => {
    opts.signal?.removeEventListener("abort", onAbort);
    if (!pack.destroyed) pack.destroy();
  });
  produce().catch((err: unknown) => {
    out.destroy(err as Error);
    pack.destroy(err as Error);
  });
  return out;
}

/** verifying passes bytes through and fails at the end when they do not hash to `digest`. */
function verifying(digest: Digest): Transform {
  const hash = createHash("sha256");
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      hash.update(chunk);
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      const got = `sha256:${hash.digest("hex")}`;
      cb(
        got === digest ? null : new FailedPrecondition(`blob ${digest} is corrupt: content hashes to ${got}`),
      );
    },
  });
}
