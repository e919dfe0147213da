/**
 * The layer commit as it was before the single-pass writer (tar-stream, Transform streams,
 * createParallelGzip, ContentStore.ingest), kept only as the reference the new one must match
 * byte for byte.
 */
import type { Stats } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import { Readable, Transform } from "node:stream";
import { packEntry, packFile, WHITEOUT_OPAQUE_DIR, WHITEOUT_PREFIX } from "@berth/archive";
import { errnoCode } from "@berth/errdefs";
import type { ContentStore } from "@berth/image";
import { Digester } from "@berth/oci";
import * as tar from "tar-stream";
import { compressLayer } from "../src/compressLayer.ts";
import type { LayerCompression, LayerState } from "../src/types.ts";

/** The directories of one overlay mount, as SnapshotStore's ContainerLayer has them. */
export interface OverlayDirs {
  readonly upperdir: string;
  /** Lower layers, top first. */
  readonly lowerdirs: readonly string[];
}

/** LayerDiff is what {@link commitLayer} stored, plus whether the diff had any entry at all. */
export interface LayerDiff {
  readonly layer: LayerState;
  readonly empty: boolean;
}

/** Options of {@link commitLayer}. */
export interface CommitLayerOptions {
  /**
   * Leave out an upper-dir entry (and, for a directory, everything below it): `rel` is its path
   * relative to the upper dir without a leading slash (`etc/hostname`). A container commit uses it
   * to drop the mount points the runtime created (docker's init layer).
   */
  readonly exclude?: (rel: string) => boolean;
  /** Layer compression (default gzip); see {@link compressLayer}. */
  readonly compression?: LayerCompression;
}

type Header = Partial<tar.Header> & { name: string };

const isWhiteout = (st: Stats) => st.isCharacterDevice() && st.rdev === 0;

/**
 * commitLayer turns an overlay upper directory into an OCI layer and stores it: a tar in sorted
 * (deterministic) order where overlay whiteouts (0/0 character devices) become `.wh.<name>` and
 * a directory that hides its lower contents becomes `<dir>/.wh..wh..opq`, compressed by
 * {@link compressLayer} (gzip on the libuv thread pool, or zstd), hashed on the way
 * (diff ID of the tar, digest of the gzip) and ingested into the content store.
 *
 * Opaque directories are found without reading `trusted.overlay.opaque` (Node has no getxattr):
 * overlay marks an upper directory opaque when it was removed and made again, and then hides
 * every lower child. So a directory is opaque exactly when a child visible in the lowers is not
 * in the upper dir (no copy, no whiteout) and yet is absent from the mounted `merged` view.
 * The merged mount must therefore still be mounted, with nothing running in it.
 */
export async function legacyCommitLayer(
  dirs: OverlayDirs & { readonly merged: string },
  content: ContentStore,
  opts: CommitLayerOptions = {},
): Promise<LayerDiff> {
  const pack = tar.pack();
  let entries = 0;
  let unpackedSize = 0;
  const producing = (async () => {
    const seen = new Map<string, string>();
    const walkDir = async (rel: string): Promise<void> => {
      const names = (await readdir(join(dirs.upperdir, rel))).sort();
      for (const name of names) {
        const childRel = rel === "" ? name : `${rel}/${name}`;
        if (opts.exclude?.(childRel) === true) continue;
        const abs = join(dirs.upperdir, childRel);
        const st = await lstat(abs);
        if (isWhiteout(st)) {
          await packEntry(pack, {
            name: rel === "" ? `${WHITEOUT_PREFIX}${name}` : `${rel}/${WHITEOUT_PREFIX}${name}`,
            type: "file",
            size: 0,
            mode: 0o644,
            mtime: new Date(0),
          });
          entries++;
          continue;
        }
        const base: Header = {
          name: childRel,
          mode: st.mode & 0o7777,
          uid: st.uid,
          gid: st.gid,
          mtime: new Date(Math.floor(st.mtimeMs / 1000) * 1000),
        };
        entries++;
        if (st.isDirectory()) {
          await packEntry(pack, { ...base, name: `${childRel}/`, type: "directory" });
          if (await isOpaque(dirs, childRel)) {
            await packEntry(pack, {
              name: `${childRel}/${WHITEOUT_OPAQUE_DIR}`,
              type: "file",
              size: 0,
              mode: 0o644,
              mtime: new Date(0),
            });
          }
          await walkDir(childRel);
          continue;
        }
        if (st.nlink > 1 && !st.isDirectory()) {
          const key = `${st.dev}:${st.ino}`;
          const first = seen.get(key);
          if (first !== undefined) {
            await packEntry(pack, { ...base, type: "link", linkname: first, size: 0 });
            continue;
          }
          seen.set(key, childRel);
        }
        if (st.isSymbolicLink()) {
          await packEntry(pack, { ...base, type: "symlink", linkname: await readlink(abs) });
        } else if (st.isFile()) {
          unpackedSize += st.size;
          await packFile(pack, abs, { ...base, type: "file", size: st.size });
        } else if (st.isFIFO()) {
          await packEntry(pack, { ...base, type: "fifo" });
        } else if (st.isCharacterDevice() || st.isBlockDevice()) {
          await packEntry(pack, {
            ...base,
            type: st.isCharacterDevice() ? "character-device" : "block-device",
            devmajor: Number((BigInt(st.rdev) >> 8n) & 0xfffn),
            devminor: Number((BigInt(st.rdev) & 0xffn) | ((BigInt(st.rdev) >> 12n) & ~0xffn)),
          });
        }
        // sockets are not archived, as tar does not
      }
    };
    await walkDir("");
  })().then(
    () => pack.finalize(),
    (err: unknown) => pack.destroy(err as Error),
  );

  const tarStream = Readable.from(pack as unknown as AsyncIterable<Buffer>, { objectMode: false });
  const diff = new Digester();
  const hashed = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      diff.update(chunk);
      cb(null, chunk);
    },
  });
  const { stream: gz, mediaType } = compressLayer(opts.compression);
  tarStream.on("error", (err) => hashed.destroy(err));
  hashed.on("error", (err) => gz.destroy(err));
  tarStream.pipe(hashed).pipe(gz);
  const blob = await content.ingest(gz, { ifExists: "ok" });
  await producing;
  return {
    layer: {
      digest: blob.digest as `sha256:${string}`,
      diffId: diff.digest() as `sha256:${string}`,
      size: blob.size,
      mediaType,
      unpackedSize,
    },
    empty: entries === 0,
  };
}

function join(dir: string, rel: string): string {
  return rel === "" ? dir : `${dir}/${rel}`;
}

/**
 * isOpaque tells whether the upper directory `rel` hides lower children: some name visible in
 * the lowers (the topmost lower entry for it is not a whiteout) is neither in the upper dir nor
 * visible in the merged view.
 */
async function isOpaque(dirs: OverlayDirs & { readonly merged: string }, rel: string): Promise<boolean> {
  const upperNames = new Set(await readdir(join(dirs.upperdir, rel)));
  const first = new Map<string, boolean>();
  for (const lower of dirs.lowerdirs) {
    let st: Stats;
    try {
      st = await lstat(join(lower, rel));
    } catch (err) {
      if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ENOTDIR") continue;
      throw err;
    }
    if (!st.isDirectory()) break;
    for (const name of await readdir(join(lower, rel))) {
      if (first.has(name)) continue;
      first.set(name, !isWhiteout(await lstat(join(lower, `${rel}/${name}`))));
    }
  }
  for (const [name, visible] of first) {
    if (!visible || upperNames.has(name)) continue;
    try {
      await lstat(join(dirs.merged, `${rel}/${name}`));
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return true;
      throw err;
    }
  }
  return false;
}
