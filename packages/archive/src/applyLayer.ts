import { createHash, type Hash } from "node:crypto";
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  type Stats,
  symlinkSync,
  unlinkSync,
  writeSync,
  writev,
} from "node:fs";
import { lstat, readdir, realpath, rm } from "node:fs/promises";
import { posix } from "node:path";
import type { Readable } from "node:stream";
import { Canceled, InvalidArgument, isBerthError, ResourceExhausted } from "@berth/errdefs";
import * as tar from "tar-stream";
import { cleanName } from "./cleanName.ts";
import { decompress } from "./decompress.ts";
import { drainOrClose } from "./drainOrClose.ts";
import { dropWritten } from "./dropWritten.ts";
import { wrapFsError } from "./fsErrors.ts";
import { canMknod, mknod } from "./mknod.ts";
import type { PackHeader } from "./packEntry.ts";
import { resolveInRoot, resolveInRootSync } from "./resolveInRoot.ts";
import { WHITEOUT_META_PREFIX, WHITEOUT_OPAQUE_DIR, WHITEOUT_PREFIX } from "./whiteout.ts";

/**
 * DEFAULT_MAX_LAYER_BYTES bounds the uncompressed size of one layer unless the
 * caller sets `maxBytes` (decompression bombs, ctrd-TM STORE-002/003).
 */
export const DEFAULT_MAX_LAYER_BYTES = 64 * 1024 ** 3;

/** Options for {@link applyLayer}. */
export interface ApplyLayerOptions {
  /**
   * How `.wh.` whiteouts and opaque markers are handled:
   * - "oci" (default): applied to what is already in root (delete, prune);
   * - "overlay": root is one overlayfs lower layer: a whiteout becomes a 0/0
   *   character device, and an opaque directory gets a whiteout for every
   *   child of that directory in `lowerDirs` that this layer does not
   *   provide (recursively into directories it does provide), so no
   *   `trusted.overlay.opaque` xattr is needed. Needs mknod privileges;
   * - "none": extracted as ordinary files.
   */
  readonly whiteouts?: "oci" | "overlay" | "none";
  /**
   * For "overlay" whiteouts: the directories of the layers below this one, any order. A function
   * is called only once the whole stream is applied and only if the layer has opaque directories,
   * so a layer can be extracted while the layers below it are still being extracted.
   */
  readonly lowerDirs?: readonly string[] | (() => Promise<readonly string[]>);
  /** Keep the archive's uid/gid (lchown). Default: true when running as root. */
  readonly sameOwner?: boolean;
  /** Maximum uncompressed stream bytes; beyond it ResourceExhausted. Default {@link DEFAULT_MAX_LAYER_BYTES}. */
  readonly maxBytes?: number;
  /** Aborts the extraction with Canceled. */
  readonly signal?: AbortSignal;
  /**
   * Refuse to replace an existing directory with a non-directory or the reverse, with docker's
   * messages (`docker cp` sets it; InvalidArgument). Default false: layers replace freely.
   */
  readonly noOverwriteDirNonDir?: boolean;
  /** Own every entry by this uid/gid instead of the archive's (docker cp -a: the container's user). */
  readonly chown?: { readonly uid: number; readonly gid: number };
  /** Called for entries that were skipped (device nodes when unprivileged). */
  readonly onWarning?: (message: string) => void;
  /**
   * Called with every uncompressed byte of the stream, in order, before the parser sees it
   * (including any padding after the end-of-archive blocks): lets a caller hash the tar (its diff
   * ID) in the same pass instead of decompressing it twice. Not called after an error.
   */
  readonly onTarChunk?: (chunk: Buffer) => void;
  /**
   * Called after each regular file is written and closed, with its real path and the sha256
   * digest (`sha256:<hex>`) of the content written: a caller that needs the digests of the files
   * it extracts (a build context's COPY sources) gets them in the same pass instead of reading
   * every file again. Hardlinks are not reported (their target was).
   */
  readonly onFileDigest?: (path: string, digest: string) => void;
}

/** What {@link applyLayer} did. */
export interface ApplyLayerReport {
  /** Tar entries processed (including whiteouts and skipped entries). */
  readonly entries: number;
  /** Bytes of regular-file content written (docker's layer "size"). */
  readonly bytes: number;
  /** Uncompressed tar stream bytes read. */
  readonly tarBytes: number;
  /** Entries skipped with a warning. */
  readonly skipped: number;
}

/** A parsed entry; `type` is null at runtime for unknown type flags despite the declared type. */
interface Entry extends AsyncIterable<Buffer> {
  readonly header: Omit<tar.Header, "type"> & { type: tar.Header["type"] | string | null };
  readonly destroyed: boolean;
  /** applyEntries' `linkSource` (see ApplyEntry). */
  readonly linkSource?: string;
}

const O_NOFOLLOW = constants.O_NOFOLLOW;
const O_DIRECTORY = constants.O_DIRECTORY;

/**
 * applyLayer extracts a tar stream (plain, gzip or zstd; auto-detected) into
 * `root`, treating `root` as `/`. It is the only place Berth writes files named
 * by untrusted archives, and it guarantees that nothing outside `root` is
 * created, modified, chmod'ed, chown'ed or deleted:
 *
 * - names are cleaned lexically (`..` clamped at `/`), then every parent is
 *   resolved with {@link resolveInRoot}; the last component is never followed:
 *   an existing entry of another kind is removed (unlinked, not followed) and
 *   recreated;
 * - files are opened `O_CREAT|O_EXCL|O_NOFOLLOW` and chown/chmod/utimes go
 *   through the file descriptor; symlinks get lchown/lutimes and never chmod;
 * - hardlink targets are resolved inside `root` (parent through symlinks, the
 *   last component not), so a hardlink to a symlink links the symlink (A9);
 * - OCI whiteouts delete inside `root` only; `.wh..`, `.wh...` are rejected;
 * - device nodes and FIFOs are made with mknod only when privileged, else skipped;
 * - directory mtimes are fixed up at the end.
 *
 * Entries are applied strictly one after the other (A22). Metadata system
 * calls (lstat, mkdir, open, chown, chmod, utimes) are made synchronously:
 * each takes microseconds, far less than a hand-off to the libuv thread pool;
 * file content is written asynchronously in batches of up to 1 MiB. Parent
 * directories resolved once are remembered for the rest of the layer, and
 * forgotten whenever the layer removes anything. On error the root
 * may hold a partial extraction: callers extract into a temporary directory
 * and discard it (A20).
 */
export async function applyLayer(
  root: string,
  input: Readable,
  opts: ApplyLayerOptions = {},
): Promise<ApplyLayerReport> {
  const realRoot = await realpath(root).catch((err: unknown) => {
    throw wrapFsError(err, `extraction root ${JSON.stringify(root)}`);
  });
  const rootStat = await lstat(realRoot);
  if (!rootStat.isDirectory()) throw new InvalidArgument(`extraction root ${root} is not a directory`);
  const applier = new Applier(realRoot, opts);
  return applier.run(input);
}

/**
 * ApplyEntry is one entry for {@link applyEntries}: a tar header (as {@link encodeTarHeader}
 * takes it) and, for a regular file, exactly `header.size` bytes of content.
 */
export interface ApplyEntry {
  readonly header: PackHeader;
  readonly content?: Buffer | AsyncIterable<Buffer>;
  /**
   * For a regular file, with {@link ApplyEntriesOptions.upperdir}: a file whose inode already has
   * exactly this entry's content, mode, owner and mtime, to hard-link into the upper dir instead
   * of writing `content` (which is then only read if the link cannot be made). The caller
   * guarantees the inode is never modified afterwards.
   */
  readonly linkSource?: string;
}

/** Options of {@link applyEntries}. */
export interface ApplyEntriesOptions extends Omit<ApplyLayerOptions, "onTarChunk" | "maxBytes"> {
  /**
   * `root` is a mounted overlay and this its upper dir (same file system as the link sources):
   * entries with a `linkSource` are hard-linked straight into it, their parent directories first
   * copied up through the overlay. A link saves creating an inode and writing its bytes.
   */
  readonly upperdir?: string;
}

/**
 * applyEntries writes entries into `root` exactly as {@link applyLayer} writes the same entries
 * read from a tar (every guarantee of applyLayer holds: names cleaned, parents resolved inside
 * the root, nothing followed, O_EXCL creates), without making and parsing a tar in between: for
 * a producer in the same process (COPY), the tar was pure overhead. A file whose content is not
 * `header.size` bytes long is InvalidArgument.
 */
export async function applyEntries(
  root: string,
  entries: Iterable<ApplyEntry> | AsyncIterable<ApplyEntry>,
  opts: ApplyEntriesOptions = {},
): Promise<ApplyLayerReport & { linked: number }> {
  const realRoot = await realpath(root).catch((err: unknown) => {
    throw wrapFsError(err, `extraction root ${JSON.stringify(root)}`);
  });
  if (!(await lstat(realRoot)).isDirectory())
    throw new InvalidArgument(`extraction root ${root} is not a directory`);
  const applier = new Applier(realRoot, opts);
  if (opts.upperdir !== undefined) applier.upper = await realpath(opts.upperdir);
  for await (const e of entries) {
    applier.checkSignal();
    applier.entries++;
    await applier.apply(entryOf(e));
  }
  await applier.finish();
  return { ...applier.report(), linked: applier.linked };
}

/** entryOf presents an {@link ApplyEntry} as a parsed tar entry (its content read once). */
function entryOf(e: ApplyEntry): Entry {
  const size = e.header.type === "file" || e.header.type === undefined ? (e.header.size ?? 0) : 0;
  const content = e.content;
  async function* bytes(): AsyncGenerator<Buffer> {
    let n = 0;
    if (content !== undefined) {
      for await (const chunk of Buffer.isBuffer(content) ? [content] : content) {
        n += chunk.length;
        yield chunk;
      }
    }
    if (n !== size)
      throw new InvalidArgument(
        `entry ${JSON.stringify(e.header.name)}: ${n} bytes of content, its header says ${size}`,
      );
  }
  const it = bytes();
  return {
    header: { size, mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), ...e.header } as Entry["header"],
    destroyed: false,
    ...(e.linkSource === undefined ? {} : { linkSource: e.linkSource }),
    [Symbol.asyncIterator]: () => it,
  };
}

class Applier {
  readonly root: string;
  readonly whiteouts: boolean;
  readonly overlay: boolean;
  readonly lowerDirsOption: readonly string[] | (() => Promise<readonly string[]>);
  lowerDirs: readonly string[] = [];
  /** Opaque directories seen in "overlay" mode, emulated once the whole layer is applied. */
  readonly opaques: string[] = [];
  readonly sameOwner: boolean;
  readonly noOverwriteDirNonDir: boolean;
  readonly chown: { readonly uid: number; readonly gid: number } | undefined;
  readonly maxBytes: number;
  readonly signal: AbortSignal | undefined;
  readonly warn: (message: string) => void;
  readonly onTarChunk: ((chunk: Buffer) => void) | undefined;
  readonly onFileDigest: ((path: string, digest: string) => void) | undefined;
  /** Paths created by this layer (and their ancestors, in `keep`), for opaque directories. */
  readonly unpacked = new Set<string>();
  readonly keep = new Set<string>();
  readonly dirs: Array<{ path: string; mtime: Date }> = [];
  /**
   * Parent directories this layer already resolved (and created): cleaned
   * in-archive name -> real directory. Entries only ever add directories, so
   * the cache stays true until something is removed; every removal clears it.
   */
  readonly parents = new Map<string, string>();
  entries = 0;
  bytes = 0;
  tarBytes = 0;
  skipped = 0;
  /** applyEntries' overlay upper dir (real path), and the files hard-linked into it. */
  upper: string | undefined;
  linked = 0;
  /** Upper-dir directories known to exist (relative to the root, leading slash). */
  readonly upperDirs = new Set<string>(["/"]);

  constructor(root: string, opts: ApplyLayerOptions) {
    this.root = root;
    this.whiteouts = (opts.whiteouts ?? "oci") !== "none";
    this.overlay = opts.whiteouts === "overlay";
    this.lowerDirsOption = opts.lowerDirs ?? [];
    this.sameOwner = opts.sameOwner ?? process.getuid?.() === 0;
    this.noOverwriteDirNonDir = opts.noOverwriteDirNonDir === true;
    this.chown = opts.chown;
    this.maxBytes = opts.maxBytes ?? DEFAULT_MAX_LAYER_BYTES;
    this.signal = opts.signal;
    this.warn = opts.onWarning ?? (() => {});
    this.onTarChunk = opts.onTarChunk;
    this.onFileDigest = opts.onFileDigest;
  }

  async run(input: Readable): Promise<ApplyLayerReport> {
    this.checkSignal();
    const { stream } = await decompress(input);
    const extract = tar.extract();
    let feedError: unknown;
    let parseError: unknown;
    extract.on("error", (err: unknown) => {
      parseError ??= err;
    });
    let stopped = false;
    const onAbort = () => {
      stopped = true;
      const err = new Canceled("layer extraction canceled");
      feedError ??= err;
      stream.destroy(err);
      extract.destroy(err);
    };
    this.signal?.addEventListener("abort", onAbort, { once: true });

    // Feed the parser from a separate task so the byte limit is enforced on
    // the decompressed stream itself, before the parser buffers anything.
    const feed = (async () => {
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          if (stopped) return;
          this.tarBytes += chunk.length;
          if (this.tarBytes > this.maxBytes) {
            throw new ResourceExhausted(
              `layer exceeds the limit of ${this.maxBytes} uncompressed bytes (possible decompression bomb)`,
            );
          }
          this.onTarChunk?.(chunk);
          // A parser that has closed needs no more bytes; a caller hashing the tar still does.
          if (extract.destroyed) {
            if (this.onTarChunk === undefined) return;
            continue;
          }
          if (!extract.write(chunk)) {
            await drainOrClose(extract);
            if (extract.destroyed && this.onTarChunk === undefined) return;
          }
        }
        if (!extract.destroyed) extract.end(null);
      } catch (err) {
        feedError ??= err;
        extract.destroy(err as Error);
      }
    })();

    try {
      for await (const entry of extract as unknown as AsyncIterable<Entry>) {
        this.checkSignal();
        this.entries++;
        try {
          await this.apply(entry);
        } finally {
          await drain(entry);
        }
      }
      await feed;
      if (feedError !== undefined) throw feedError;
      await this.finish();
    } catch (err) {
      // What failed first wins: a feed error from before we stopped, else this one (destroying the
      // input below makes the feed fail too, with a "Premature close" that is only a consequence).
      const earlier = feedError;
      stopped = true;
      stream.destroy();
      extract.destroy();
      await feed;
      const first = earlier ?? parseError ?? err;
      if (isBerthError(first)) throw first;
      throw new InvalidArgument(`invalid tar stream: ${(first as Error)?.message ?? String(first)}`, {
        cause: first,
      });
    } finally {
      this.signal?.removeEventListener("abort", onAbort);
    }
    return this.report();
  }

  /** finish runs what waits for the whole layer: opaque directories, then directory mtimes. */
  async finish(): Promise<void> {
    if (this.opaques.length > 0) {
      const lower = this.lowerDirsOption;
      this.lowerDirs = typeof lower === "function" ? await lower() : lower;
      this.checkSignal();
    }
    for (const dir of this.opaques) await this.emulateOpaque(dir);
    await this.fixDirTimes();
  }

  /** report is what the extraction did so far. */
  report(): ApplyLayerReport {
    return { entries: this.entries, bytes: this.bytes, tarBytes: this.tarBytes, skipped: this.skipped };
  }

  checkSignal(): void {
    if (this.signal?.aborted) throw new Canceled("layer extraction canceled");
  }

  async apply(entry: Entry): Promise<void> {
    const h = entry.header;
    switch (h.type) {
      case "pax-global-header":
      case "pax-header":
      case "gnu-long-path":
      case "gnu-long-link-path":
        return;
      case null:
      case undefined:
        throw new InvalidArgument(`unsupported tar entry type for ${JSON.stringify(h.name)}`);
      default:
    }
    if ((h.size ?? 0) > this.maxBytes) {
      throw new ResourceExhausted(
        `entry ${JSON.stringify(h.name)} declares ${h.size} bytes, over the limit of ${this.maxBytes}`,
      );
    }
    const name = cleanName(h.name);
    // A name that cleans to the root (".", "/", "..", "sub/..") must never
    // replace or redirect the extraction root (A11, CVE-2021-29136).
    if (name === "/") return;
    const base = posix.basename(name);
    const parentName = posix.dirname(name);

    if (this.whiteouts && base.startsWith(WHITEOUT_PREFIX)) {
      await this.whiteout(h.name, parentName, base);
      return;
    }

    const parent = this.ensureParent(parentName, h.name);
    const path = parent === "/" ? `/${base}` : `${parent}/${base}`;

    let target: string | undefined;
    if (h.type === "link") {
      target = this.hardlinkTarget(h.linkname ?? "", h.name);
      if (target === path) return;
    }

    const existing = lstatOrUndefinedSync(path);
    if (this.noOverwriteDirNonDir && existing !== undefined) {
      const inRoot = path.slice(this.root === "/" ? 0 : this.root.length) || "/";
      if (existing.isDirectory() && h.type !== "directory")
        throw new InvalidArgument(`cannot overwrite directory "${inRoot}" with non-directory "${h.name}"`);
      if (!existing.isDirectory() && h.type === "directory")
        throw new InvalidArgument(`cannot overwrite non-directory "${inRoot}" with directory "${h.name}"`);
    }
    if (existing !== undefined && !(existing.isDirectory() && h.type === "directory")) {
      this.parents.clear();
      await rm(path, { recursive: true, force: true });
    }

    const mode = (h.mode ?? 0o644) & 0o7777;
    const mtime = h.mtime ?? new Date(0);
    const uid = this.chown?.uid ?? h.uid ?? 0;
    const gid = this.chown?.gid ?? h.gid ?? 0;
    try {
      switch (h.type) {
        case "directory": {
          if (existing === undefined || !existing.isDirectory()) mkdirSync(path, { mode: 0o700 });
          const fd = openSync(path, constants.O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
          try {
            this.fdMeta(fd, uid, gid, mode);
          } finally {
            closeSync(fd);
          }
          this.dirs.push({ path, mtime });
          break;
        }
        case "file":
        case "contiguous-file": {
          if (entry.linkSource !== undefined && this.linkIntoUpper(path, entry.linkSource)) {
            this.bytes += h.size ?? 0;
            break;
          }
          const fd = openSync(
            path,
            constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW,
            0o600,
          );
          const hash = this.onFileDigest === undefined ? undefined : createHash("sha256");
          try {
            this.bytes += await writeEntry(fd, entry, hash);
            this.fdMeta(fd, uid, gid, mode);
            futimesSync(fd, mtime, mtime);
          } finally {
            closeSync(fd);
          }
          if (hash !== undefined) this.onFileDigest?.(path, `sha256:${hash.digest("hex")}`);
          break;
        }
        case "symlink": {
          // The link target is data: stored verbatim, never resolved here (A3).
          symlinkSync(h.linkname ?? "", path);
          if (this.sameOwner) lchownSync(path, uid, gid);
          lutimesSync(path, mtime, mtime);
          break;
        }
        case "link": {
          // link(2) does not follow a symlink target, so this links the symlink itself (A9).
          linkSync(target!, path);
          break;
        }
        case "character-device":
        case "block-device":
        case "fifo": {
          if (!canMknod()) {
            this.skipped++;
            this.warn(
              `skipping ${h.type} ${JSON.stringify(h.name)}: creating device nodes needs root outside a user namespace`,
            );
            return;
          }
          await mknod(path, h.type, mode, h.devmajor ?? 0, h.devminor ?? 0);
          // We just created this node under a resolved parent, so it is not a symlink.
          if (this.sameOwner) lchownSync(path, uid, gid);
          chmodSync(path, mode);
          lutimesSync(path, mtime, mtime);
          break;
        }
        default:
          throw new InvalidArgument(`unsupported tar entry type ${h.type} for ${JSON.stringify(h.name)}`);
      }
    } catch (err) {
      throw wrapFsError(err, `cannot apply ${JSON.stringify(h.name)}`);
    }
    this.markUnpacked(path);
  }

  /**
   * linkIntoUpper hard-links `source` at `path`'s place in the overlay's upper dir (applyEntries
   * with `upperdir`): `path` is already resolved inside the merged root, so its relative path is
   * the upper dir's too. Missing parents are copied up through the overlay first (a chown to the
   * same owner makes overlayfs copy a directory up with its metadata), and whatever the upper dir
   * holds at that name (a whiteout left by the replacement of a lower file, or an earlier entry
   * of the same name) is unlinked. False when anything does not work out: the caller writes the
   * file instead.
   */
  linkIntoUpper(path: string, source: string): boolean {
    if (this.upper === undefined) return false;
    const rel = path.slice(this.root.length);
    const upperPath = this.upper + rel;
    try {
      const parts = posix
        .dirname(rel)
        .split("/")
        .filter((p) => p !== "");
      let cur = "";
      for (const part of parts) {
        cur = `${cur}/${part}`;
        if (this.upperDirs.has(cur)) continue;
        if (lstatOrUndefinedSync(this.upper + cur)?.isDirectory() !== true) {
          const merged = lstatSync(this.root + cur);
          if (!merged.isDirectory()) return false;
          lchownSync(this.root + cur, merged.uid, merged.gid);
          if (lstatOrUndefinedSync(this.upper + cur)?.isDirectory() !== true) return false;
        }
        this.upperDirs.add(cur);
      }
      const there = lstatOrUndefinedSync(upperPath);
      if (there?.isDirectory()) return false;
      if (there !== undefined) unlinkSync(upperPath);
      linkSync(source, upperPath);
    } catch {
      return false;
    }
    this.linked++;
    return true;
  }

  /** fdMeta sets owner then mode through an fd (chown clears setuid bits, so it goes first). */
  fdMeta(fd: number, uid: number, gid: number, mode: number): void {
    if (this.sameOwner) fchownSync(fd, uid, gid);
    fchmodSync(fd, mode);
  }

  markUnpacked(path: string): void {
    this.unpacked.add(path);
    let p = posix.dirname(path);
    while (p.length > this.root.length && !this.keep.has(p)) {
      this.keep.add(p);
      p = posix.dirname(p);
    }
  }

  /**
   * ensureParent resolves `parentName` inside the root and creates missing
   * directories (0755) below the last existing one. Components are created
   * one by one with lstat checks, never through a symlink. The answer is
   * remembered in {@link parents} until the layer removes something.
   */
  ensureParent(parentName: string, entryName: string): string {
    const cached = this.parents.get(parentName);
    if (cached !== undefined) return cached;
    const parent = resolveInRootSync(this.root, parentName);
    const st = lstatOrUndefinedSync(parent);
    if (st?.isDirectory()) {
      this.parents.set(parentName, parent);
      return parent;
    }
    if (st !== undefined) {
      throw new InvalidArgument(`cannot apply ${JSON.stringify(entryName)}: parent is not a directory`);
    }
    const rel = parent
      .slice(this.root.length)
      .split("/")
      .filter((p) => p !== "");
    let cur = this.root;
    for (const part of rel) {
      cur = cur === "/" ? `/${part}` : `${cur}/${part}`;
      const s = lstatOrUndefinedSync(cur);
      if (s === undefined) {
        try {
          mkdirSync(cur, { mode: 0o755 });
        } catch (err) {
          throw wrapFsError(err, `cannot create parent of ${JSON.stringify(entryName)}`);
        }
        this.markUnpacked(cur);
      } else if (!s.isDirectory()) {
        throw new InvalidArgument(`cannot apply ${JSON.stringify(entryName)}: parent is not a directory`);
      }
    }
    this.parents.set(parentName, parent);
    return parent;
  }

  /**
   * hardlinkTarget resolves a hardlink's linkname inside the root: the parent
   * through symlinks (clamped), the last component as is (containerd
   * hardlinkRootPath). Linking the root itself is refused.
   */
  hardlinkTarget(linkname: string, entryName: string): string {
    const clean = cleanName(linkname);
    if (clean === "/") {
      throw new InvalidArgument(
        `invalid hardlink ${JSON.stringify(entryName)}: target ${JSON.stringify(linkname)} is the root`,
      );
    }
    const parent = resolveInRootSync(this.root, posix.dirname(clean));
    const target = parent === "/" ? `/${posix.basename(clean)}` : `${parent}/${posix.basename(clean)}`;
    const st = lstatOrUndefinedSync(target);
    if (st === undefined) {
      throw new InvalidArgument(
        `invalid hardlink ${JSON.stringify(entryName)}: target ${JSON.stringify(linkname)} not found`,
      );
    }
    if (st.isDirectory()) {
      throw new InvalidArgument(
        `invalid hardlink ${JSON.stringify(entryName)}: target ${JSON.stringify(linkname)} is a directory`,
      );
    }
    return target;
  }

  async whiteout(rawName: string, parentName: string, base: string): Promise<void> {
    if (base === WHITEOUT_OPAQUE_DIR) {
      const dir = await resolveInRoot(this.root, parentName);
      const st = await lstatOrUndefined(dir);
      if (st?.isDirectory()) {
        if (this.overlay) this.opaques.push(dir);
        else await this.prune(dir);
      }
      return;
    }
    // Other whiteout metadata (.wh..wh.plnk etc.) is never materialised (A18).
    if (base.startsWith(WHITEOUT_META_PREFIX)) return;
    const victim = base.slice(WHITEOUT_PREFIX.length);
    if (victim === "" || victim === "." || victim === ".." || victim.includes("/")) {
      throw new InvalidArgument(`invalid whiteout ${JSON.stringify(rawName)}: it names no entry`);
    }
    const dir = await resolveInRoot(this.root, parentName);
    const path = dir === "/" ? `/${victim}` : `${dir}/${victim}`;
    if (path === this.root || !path.startsWith(`${this.root}/`)) {
      throw new InvalidArgument(`invalid whiteout ${JSON.stringify(rawName)}: it resolves to the root`);
    }
    // rm never follows the last component: a whiteout of a symlink removes the link (A14).
    this.parents.clear();
    await rm(path, { recursive: true, force: true });
    if (this.overlay) {
      const st = await lstatOrUndefined(dir);
      if (st === undefined) this.ensureParent(parentName, rawName);
      await this.overlayWhiteout(path);
    }
  }

  async overlayWhiteout(path: string): Promise<void> {
    if (!canMknod()) {
      this.skipped++;
      this.warn(`skipping whiteout ${path}: overlay whiteouts need mknod privileges`);
      return;
    }
    await mknod(path, "character-device", 0, 0, 0);
  }

  /**
   * emulateOpaque hides, inside `dir` of this layer, every name that a lower
   * layer has at the same relative path: a 0/0 whiteout where this layer has
   * nothing, a recursive pass where this layer has a directory. Lower paths
   * are walked with lstat and never through a symlink.
   */
  async emulateOpaque(dir: string): Promise<void> {
    const st = await lstatOrUndefined(dir);
    if (!st?.isDirectory()) return;
    const rel = dir.slice(this.root.length);
    const names = new Set<string>();
    for (const lower of this.lowerDirs) {
      const ld = await realDirUnder(lower, rel);
      if (ld === undefined) continue;
      for (const n of await readdir(ld)) names.add(n);
    }
    for (const n of [...names].sort()) {
      const p = `${dir}/${n}`;
      const s = await lstatOrUndefined(p);
      if (s === undefined) await this.overlayWhiteout(p);
      else if (s.isDirectory()) await this.emulateOpaque(p);
    }
  }

  /** prune removes lower-layer children of an opaque directory, keeping this layer's entries. */
  async prune(dir: string): Promise<void> {
    for (const name of await readdir(dir)) {
      const p = `${dir}/${name}`;
      if (this.unpacked.has(p) || this.keep.has(p)) {
        const st = await lstatOrUndefined(p);
        if (st?.isDirectory()) await this.prune(p);
        continue;
      }
      this.parents.clear();
      await rm(p, { recursive: true, force: true });
    }
  }

  async fixDirTimes(): Promise<void> {
    for (let i = this.dirs.length - 1; i >= 0; i--) {
      const d = this.dirs[i]!;
      const st = lstatOrUndefinedSync(d.path);
      if (st?.isDirectory()) lutimesSync(d.path, d.mtime, d.mtime);
    }
  }
}

/** realDirUnder returns `base + rel` if every component is a real directory (no symlinks), else undefined. */
async function realDirUnder(base: string, rel: string): Promise<string | undefined> {
  let cur = base;
  for (const part of rel.split("/").filter((p) => p !== "")) {
    cur = `${cur}/${part}`;
    const st = await lstatOrUndefined(cur);
    if (!st?.isDirectory()) return undefined;
  }
  const st = await lstatOrUndefined(cur);
  return st?.isDirectory() ? cur : undefined;
}

/** Files up to this size are written with synchronous writes (see writeEntry). */
const SYNC_WRITE_MAX = 64 * 1024;

/** WRITE_BATCH is how many bytes of one file's content are gathered into one writev. */
const WRITE_BATCH = 1024 * 1024;

/**
 * writeEntry copies a file entry's content into `fh`: chunks are gathered into
 * writes of about {@link WRITE_BATCH} bytes, and one write is in flight while
 * the next batch is parsed. With `hash`, every chunk is hashed on the way.
 * Returns the bytes written.
 */
async function writeEntry(fd: number, entry: Entry, hash?: Hash): Promise<number> {
  if ((entry.header.size ?? 0) <= SYNC_WRITE_MAX) {
    // A small file: its bytes come in one or two chunks; one synchronous write beats a
    // thread-pool round trip per file (a COPY of 200 small files: most of its time).
    let written = 0;
    for await (const chunk of entry) {
      hash?.update(chunk);
      for (let off = 0; off < chunk.length; )
        off += writeSync(fd, chunk, off, chunk.length - off, written + off);
      written += chunk.length;
    }
    return written;
  }
  let batch: Buffer[] = [];
  let batched = 0;
  let written = 0;
  let position = 0;
  let inFlight: Promise<void> | undefined;
  const flush = async (): Promise<void> => {
    const bufs = batch;
    const at = position;
    position += batched;
    batch = [];
    batched = 0;
    if (inFlight !== undefined) await inFlight;
    inFlight = writeAll(fd, bufs, at);
  };
  try {
    for await (const chunk of entry) {
      hash?.update(chunk);
      batch.push(chunk);
      batched += chunk.length;
      written += chunk.length;
      if (batched >= WRITE_BATCH) await flush();
    }
    if (batched > 0) await flush();
  } finally {
    // Never leave a write running on a handle the caller is about to close.
    if (inFlight !== undefined) await inFlight.catch(() => {});
  }
  await inFlight;
  return written;
}

/** writeAll writes every byte of `bufs` at `position`, retrying short writes. */
async function writeAll(fd: number, bufs: Buffer[], position: number): Promise<void> {
  let rest = bufs;
  let at = position;
  while (rest.length > 0) {
    const bytesWritten = await new Promise<number>((res, rej) => {
      writev(fd, rest, at, (err, n) => (err ? rej(err) : res(n)));
    });
    at += bytesWritten;
    const next = dropWritten(rest, bytesWritten);
    if (bytesWritten === 0 && next.length > 0) throw new Error("short write: no bytes written");
    rest = next;
  }
}

function lstatOrUndefinedSync(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw err;
  }
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw err;
  }
}

async function drain(entry: Entry): Promise<void> {
  if (entry.destroyed) return;
  try {
    for await (const _ of entry) {
      // discard
    }
  } catch {
    // the parser reports stream errors itself
  }
}
