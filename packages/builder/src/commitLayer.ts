import {
  closeSync,
  constants,
  lstatSync,
  openSync,
  read,
  readdirSync,
  readlinkSync,
  readSync,
  type Stats,
} from "node:fs";
import {
  encodeTarHeader,
  type PackHeader,
  TAR_END,
  tarPadding,
  WHITEOUT_OPAQUE_DIR,
  WHITEOUT_PREFIX,
} from "@berth/archive";
import { errnoCode, Internal } from "@berth/errdefs";
import type { ContentStore } from "@berth/image";
import { Digester } from "@berth/oci";
import { LayerSink, type LayerSinkResult } from "./LayerSink.ts";
import { GZIP_BLOCK_BYTES } from "./parallelGzip.ts";
import { storeInWorker, storeWorkerUrl } from "./storeWorkers.ts";
import type { LayerCompression, LayerState } from "./types.ts";

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
  /** Layer compression (default gzip); see {@link LayerSink}. */
  readonly compression?: LayerCompression;
}

/** Files up to this size are read with one synchronous read (cheaper than a thread-pool hop). */
const SYNC_READ_MAX = 256 * 1024;

const isWhiteout = (st: Stats) => st.isCharacterDevice() && st.rdev === 0;

const readAsync = (fd: number, buf: Buffer, length: number) =>
  new Promise<number>((res, rej) => read(fd, buf, 0, length, null, (err, n) => (err ? rej(err) : res(n))));

/**
 * commitLayer turns an overlay upper directory into an OCI layer and stores it: a tar in sorted
 * (deterministic) order where overlay whiteouts (0/0 character devices) become `.wh.<name>` and
 * a directory that hides its lower contents becomes `<dir>/.wh..wh..opq`, compressed and stored
 * by a {@link LayerSink} (gzip blocks deflated on the libuv thread pool, or zstd), hashed on the
 * way (diff ID of the tar, digest of the blob).
 *
 * One pass, few copies: tar headers are encoded directly ({@link encodeTarHeader}, the bytes
 * tar-stream wrote before), file contents are read straight into the sink's 1 MiB blocks (small
 * files with one synchronous read, large ones asynchronously), and the metadata walk uses
 * synchronous calls, which take microseconds each against a thread-pool hop per call. The layer
 * is byte for byte what the earlier tar-stream + stream pipeline produced for the same tree.
 *
 * Opaque directories are found without reading `trusted.overlay.opaque` (Node has no getxattr):
 * overlay marks an upper directory opaque when it was removed and made again, and then hides
 * every lower child. So a directory is opaque exactly when a child visible in the lowers is not
 * in the upper dir (no copy, no whiteout) and yet is absent from the mounted `merged` view.
 * The merged mount must therefore still be mounted, with nothing running in it.
 */
export async function commitLayer(
  dirs: OverlayDirs & { readonly merged: string },
  content: ContentStore,
  opts: CommitLayerOptions = {},
): Promise<LayerDiff> {
  const sink = await LayerSink.open(
    content,
    opts.compression === undefined ? {} : { compression: opts.compression },
  );
  const { stored, walked } = await storeInto(sink, dirs.upperdir, (rel) => isOpaque(dirs, rel), opts.exclude);
  return layerDiffOf(stored, walked.unpackedSize, walked.entries === 0);
}

/** layerDiffOf is the LayerDiff of a stored layer. */
function layerDiffOf(stored: LayerSinkResult, unpackedSize: number, empty: boolean): LayerDiff {
  const { digest, diffId, size, mediaType } = stored;
  return { layer: { digest, diffId, size, mediaType, unpackedSize }, empty };
}

/** What {@link diffLayer} measured: enough to name the layer, not yet stored. */
export interface MeasuredDiff {
  /** Digest of the layer's tar. */
  readonly diffId: `sha256:${string}`;
  readonly empty: boolean;
  readonly unpackedSize: number;
  /** The upper-dir directories (relative paths) that hide their lower contents. */
  readonly opaque: readonly string[];
}

/**
 * diffLayer is the first half of a commit split in two: it walks the upper dir exactly as
 * {@link commitLayer} does and only hashes the tar (no compression, no blob written), so the
 * next step can have the layer's diff ID (its snapshot's chain ID) at the cost of one read and
 * one sha256 of the tar. The opaque directories are found here, while `merged` is still mounted;
 * {@link storeLayer} later makes the identical tar from the upper dir alone (moved or not).
 */
export async function diffLayer(
  dirs: OverlayDirs & { readonly merged: string },
  opts: Pick<CommitLayerOptions, "exclude"> = {},
): Promise<MeasuredDiff> {
  const sink = new DiffSink();
  const opaque: string[] = [];
  const walked = await walkLayer(
    dirs.upperdir,
    sink,
    (rel) => {
      const o = isOpaque(dirs, rel);
      if (o) opaque.push(rel);
      return o;
    },
    opts.exclude,
  );
  return { diffId: sink.digest(), empty: walked.entries === 0, unpackedSize: walked.unpackedSize, opaque };
}

/**
 * storeLayer is the second half: it makes the tar of `upperdir` again (the directory must not
 * have changed since {@link diffLayer}; a snapshot's directory never does), compresses and stores
 * it, and checks that it hashes to `measured.diffId` (Internal if not: the directory changed).
 * With berthd's `build-worker.js` beside the code (see storeWorkerUrl) the work runs on a worker
 * thread, so the steps that go on meanwhile keep the main thread; else on this one.
 */
export async function storeLayer(
  upperdir: string,
  measured: MeasuredDiff,
  content: ContentStore,
  opts: Pick<CommitLayerOptions, "compression"> = {},
): Promise<LayerDiff> {
  const url = storeWorkerUrl();
  let stored: LayerSinkResult;
  if (url === undefined) {
    const marked = new Set(measured.opaque);
    const sink = await LayerSink.open(content, opts);
    stored = (await storeInto(sink, upperdir, (rel) => marked.has(rel))).stored;
  } else {
    let r: LayerSinkResult | undefined;
    const blob = await content.ingestWith({ ifExists: "ok" }, async (dataPath) => {
      r = await storeInWorker(url, { upperdir, opaque: measured.opaque, dataPath, ...opts });
      return { digest: r.digest, size: r.size };
    });
    stored = { ...(r as LayerSinkResult), digest: blob.digest as `sha256:${string}`, size: blob.size };
  }
  if (stored.diffId !== measured.diffId)
    throw new Internal(
      `layer of ${upperdir} changed while it was stored: its tar hashes to ${stored.diffId}, measured ${measured.diffId}`,
    );
  return layerDiffOf(stored, measured.unpackedSize, measured.empty);
}

/**
 * storeInto writes the tar of `upperdir` into `sink` (`opaque` says which directories hide
 * their lower contents, `exclude` drops entries) and finishes it; on any failure the sink is
 * aborted. commitLayer, storeLayer and the store worker all end here.
 */
export async function storeInto(
  sink: LayerSink,
  upperdir: string,
  opaque: (rel: string) => boolean,
  exclude?: (rel: string) => boolean,
): Promise<{ stored: LayerSinkResult; walked: { entries: number; unpackedSize: number } }> {
  try {
    const walked = await walkLayer(upperdir, sink, opaque, exclude);
    return { stored: await sink.finish(), walked };
  } catch (err) {
    await sink.abort();
    throw err;
  }
}

/** TarSink is where {@link walkLayer} puts the tar: LayerSink (stored) or DiffSink (hashed only). */
interface TarSink {
  room(): Buffer;
  advance(n: number): Promise<void> | undefined;
  write(buf: Buffer): Promise<void>;
  writeZeros(n: number): Promise<void>;
}

/** DiffSink hashes tar bytes in LayerSink's 1 MiB blocks (files are read straight into them). */
class DiffSink implements TarSink {
  readonly #d = new Digester();
  readonly #block = Buffer.allocUnsafe(GZIP_BLOCK_BYTES);
  #fill = 0;

  room(): Buffer {
    return this.#block.subarray(this.#fill);
  }

  advance(n: number): undefined {
    this.#fill += n;
    if (this.#fill === this.#block.length) this.#flush();
    return undefined;
  }

  async write(buf: Buffer): Promise<void> {
    for (let off = 0; off < buf.length; ) {
      const n = Math.min(this.#block.length - this.#fill, buf.length - off);
      buf.copy(this.#block, this.#fill, off, off + n);
      off += n;
      this.advance(n);
    }
  }

  async writeZeros(n: number): Promise<void> {
    for (let left = n; left > 0; ) {
      const k = Math.min(this.#block.length - this.#fill, left);
      this.#block.fill(0, this.#fill, this.#fill + k);
      left -= k;
      this.advance(k);
    }
  }

  #flush(): void {
    this.#d.update(this.#block.subarray(0, this.#fill));
    this.#fill = 0;
  }

  digest(): `sha256:${string}` {
    this.#flush();
    return this.#d.digest() as `sha256:${string}`;
  }
}

/**
 * walkLayer writes the tar of `upperdir` into `sink`: entries in sorted order, overlay whiteouts
 * (0/0 character devices) as `.wh.<name>`, `<dir>/.wh..wh..opq` after each directory `opaque`
 * names, hardlinked files as links to their first path, the end-of-archive blocks last.
 */
async function walkLayer(
  upperdir: string,
  sink: TarSink,
  opaque: (rel: string) => boolean,
  exclude: ((rel: string) => boolean) | undefined,
): Promise<{ entries: number; unpackedSize: number }> {
  let entries = 0;
  let unpackedSize = 0;
  const seen = new Map<string, string>();
  const entry = (h: PackHeader) => sink.write(encodeTarHeader(h));
  const packFile = async (abs: string, h: PackHeader & { size: number }) => {
    const fd = openSync(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      await entry(h);
      let remaining = h.size;
      const sync = h.size <= SYNC_READ_MAX;
      while (remaining > 0) {
        const room = sink.room();
        const want = Math.min(room.length, remaining);
        const n = sync ? readSync(fd, room, 0, want, null) : await readAsync(fd, room, want);
        if (n === 0) {
          // The file shrank while being read: pad with zeros so the header's size stays true.
          await sink.writeZeros(remaining);
          break;
        }
        remaining -= n;
        const p = sink.advance(n);
        if (p !== undefined) await p;
      }
      const pad = tarPadding(h.size);
      if (pad > 0) await sink.writeZeros(pad);
    } finally {
      closeSync(fd);
    }
  };

  const walkDir = async (rel: string): Promise<void> => {
    const names = readdirSync(join(upperdir, rel)).sort();
    for (const name of names) {
      const childRel = rel === "" ? name : `${rel}/${name}`;
      if (exclude?.(childRel) === true) continue;
      const abs = join(upperdir, childRel);
      const st = lstatSync(abs);
      if (isWhiteout(st)) {
        await entry({
          name: rel === "" ? `${WHITEOUT_PREFIX}${name}` : `${rel}/${WHITEOUT_PREFIX}${name}`,
          type: "file",
          size: 0,
          mode: 0o644,
          mtime: new Date(0),
        });
        entries++;
        continue;
      }
      const base: PackHeader = {
        name: childRel,
        mode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
        mtime: new Date(Math.floor(st.mtimeMs / 1000) * 1000),
      };
      entries++;
      if (st.isDirectory()) {
        await entry({ ...base, name: `${childRel}/`, type: "directory" });
        if (opaque(childRel)) {
          await entry({
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
      if (st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        const first = seen.get(key);
        if (first !== undefined) {
          await entry({ ...base, type: "link", linkname: first, size: 0 });
          continue;
        }
        seen.set(key, childRel);
      }
      if (st.isSymbolicLink()) {
        await entry({ ...base, type: "symlink", linkname: readlinkSync(abs) });
      } else if (st.isFile()) {
        unpackedSize += st.size;
        await packFile(abs, { ...base, type: "file", size: st.size });
      } else if (st.isFIFO()) {
        await entry({ ...base, type: "fifo" });
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        await entry({
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
  await sink.write(TAR_END);
  return { entries, unpackedSize };
}

function join(dir: string, rel: string): string {
  return rel === "" ? dir : `${dir}/${rel}`;
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ENOTDIR") return undefined;
    throw err;
  }
}

/**
 * isOpaque tells whether the upper directory `rel` hides lower children: some name visible in
 * the lowers (the topmost lower entry for it is not a whiteout) is neither in the upper dir nor
 * visible in the merged view.
 */
function isOpaque(dirs: OverlayDirs & { readonly merged: string }, rel: string): boolean {
  const upperNames = new Set(readdirSync(join(dirs.upperdir, rel)));
  const first = new Map<string, boolean>();
  for (const lower of dirs.lowerdirs) {
    const st = lstatOrUndefined(join(lower, rel));
    if (st === undefined) continue;
    if (!st.isDirectory()) break;
    for (const name of readdirSync(join(lower, rel))) {
      if (first.has(name)) continue;
      first.set(name, !isWhiteout(lstatSync(join(lower, `${rel}/${name}`))));
    }
  }
  for (const [name, visible] of first) {
    if (!visible || upperNames.has(name)) continue;
    try {
      lstatSync(join(dirs.merged, `${rel}/${name}`));
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return true;
      throw err;
    }
  }
  return false;
}
