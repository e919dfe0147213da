import { closeSync, createReadStream, openSync, readSync, type Stats } from "node:fs";
import { lstat, open } from "node:fs/promises";
import { posix } from "node:path";
import { type ApplyEntry, applyEntries, applyLayer, detectCompression, resolveInRoot } from "@berth/archive";
import { errnoCode, InvalidArgument } from "@berth/errdefs";
import type * as tar from "tar-stream";
import { applyChmod, type Chmod } from "./parseChmod.ts";
import type { MatchedSource, SourceEntry } from "./SourceTree.ts";

/** CopyRequest is one resolved COPY/ADD: matched sources and where they go in `rootfs`. */
export interface CopyRequest {
  /** The mounted root file system of the step (written only through @berth/archive). */
  readonly rootfs: string;
  readonly sources: readonly MatchedSource[];
  /** Destination as written (after expansion); relative paths are taken from `workdir`. */
  readonly dest: string;
  readonly workdir: string;
  /** Whether the sources came from a wildcard (the destination is then a directory). */
  readonly wildcard: boolean;
  /** Owner of every copied entry; default 0:0. */
  readonly owner?: { readonly uid: number; readonly gid: number };
  /** `--chmod` (octal bits or a symbolic change) applied to every copied entry. */
  readonly chmod?: Chmod;
  /**
   * `COPY --parents`: each source keeps its path (relative to its root, after the `/./` pivot
   * when the source has one) below the destination directory. `pivots` holds, per source, the
   * leading part of `top.rel` to drop ("" for none).
   */
  readonly parents?: { readonly pivots: readonly string[] };
  /** ADD: extract local tar archives (plain or compressed) into the destination directory. */
  readonly extractArchives?: boolean | ((src: MatchedSource) => boolean);
  /** The instruction name, for messages. */
  readonly instruction: "COPY" | "ADD";
  /**
   * `rootfs` is a mounted overlay with this upper dir, on the file system of the sources, and the
   * sources' files are never modified in place afterwards (a build context's files are replaced,
   * not rewritten): a file whose inode already has the mode, owner and mtime the copy would give
   * it is hard-linked into the upper dir instead of being created and written.
   */
  readonly linkInto?: { readonly upperdir: string };
}

/** What {@link copyInto} did. */
export interface CopyReport {
  /** Source files offered for hard-linking (see CopyRequest.linkInto); their ctime moved if linked. */
  readonly linkable: readonly SourceEntry[];
  /** How many of them were linked. */
  readonly linked: number;
}

type Header = Partial<tar.Header> & { name: string };
interface Planned {
  readonly header: Header;
  readonly abs?: string;
  /** The source may be hard-linked (see CopyRequest.linkInto). */
  readonly link?: boolean;
}

/**
 * copyInto performs the file part of COPY and ADD with docker's destination rules: a destination
 * ending in `/`, several sources or a wildcard mean "into this directory"; a single file goes to
 * the destination path unless that is an existing directory; a directory source copies its
 * contents, not itself. Everything is written by @berth/archive's `applyEntries` (applyLayer's
 * writer, without a tar in between), so the destination is resolved inside `rootfs` and a
 * symlink in the image cannot redirect a write outside it. Owners default to root, modes are
 * kept unless `chmod` is given.
 */
export async function copyInto(req: CopyRequest): Promise<CopyReport> {
  const destAbs = posix.isAbsolute(req.dest) ? req.dest : posix.join(req.workdir || "/", req.dest);
  const destClean = posix.normalize(destAbs);
  const destStat = await lstatOrUndefined(await resolveInRoot(req.rootfs, destClean));
  const destIsDir =
    req.dest.endsWith("/") ||
    req.dest.endsWith("/.") ||
    req.wildcard ||
    req.parents !== undefined ||
    destStat?.isDirectory() === true;
  const nSources = req.sources.length;
  if (nSources > 1 && !destIsDir) {
    throw new InvalidArgument(
      `When using ${req.instruction} with more than one source file, the destination must be a directory and end with a /`,
    );
  }
  const uid = req.owner?.uid ?? 0;
  const gid = req.owner?.gid ?? 0;
  const planned: Planned[] = [];
  const archives: SourceEntry[] = [];
  let madeDestDir = destStat !== undefined;
  const destDirEntry = () => {
    if (madeDestDir) return;
    madeDestDir = true;
    planned.push({
      header: {
        name: `${rel(destClean)}/`,
        type: "directory",
        mode: applyChmod(req.chmod, 0o755, true),
        uid,
        gid,
      },
    });
  };
  for (const [i, src] of req.sources.entries()) {
    const top = src.top;
    if (req.parents !== undefined) {
      // --parents: every entry keeps its path from the pivot on; missing parents are made 0755.
      destDirEntry();
      const pivot = req.parents.pivots[i] ?? "";
      const keep = (r: string) => (pivot === "" ? r : r === pivot ? "" : r.slice(pivot.length + 1));
      const made = new Set<string>();
      const parentsOf = (r: string) => {
        const parts = r.split("/").slice(0, -1);
        for (let k = 1; k <= parts.length; k++) {
          const dir = parts.slice(0, k).join("/");
          if (made.has(dir)) continue;
          made.add(dir);
          planned.push({
            header: { name: `${rel(posix.join(destClean, dir))}/`, type: "directory", mode: 0o755, uid, gid },
          });
        }
      };
      for (const e of src.entries) {
        const r = keep(e.rel);
        if (r === "") continue;
        if (e === top) parentsOf(r);
        planned.push(entryFor(e, posix.join(destClean, r), uid, gid, req.chmod));
      }
      continue;
    }
    if (top.stat.isDirectory()) {
      destDirEntry();
      for (const e of src.entries) {
        if (e === top) continue;
        const sub = top.rel === "" ? e.rel : e.rel.slice(top.rel.length + 1);
        planned.push(entryFor(e, posix.join(destClean, sub), uid, gid, req.chmod));
      }
      continue;
    }
    const extract =
      typeof req.extractArchives === "function" ? req.extractArchives(src) : req.extractArchives === true;
    if (extract && top.stat.isFile() && (await isArchive(top.abs))) {
      archives.push(top);
      continue;
    }
    const target = destIsDir ? posix.join(destClean, posix.basename(top.rel)) : destClean;
    if (destIsDir) destDirEntry();
    planned.push(entryFor(top, target, uid, gid, req.chmod));
  }
  if (archives.length > 0) destDirEntry();
  const linkable: SourceEntry[] = [];
  let linked = 0;
  if (planned.length > 0) {
    const final = req.linkInto === undefined ? planned : markLinkable(planned, req, uid, gid, linkable);
    const r = await applyEntries(req.rootfs, entriesOf(final), {
      whiteouts: "none",
      sameOwner: true,
      ...(req.linkInto === undefined ? {} : { upperdir: req.linkInto.upperdir }),
    });
    linked = r.linked;
  }
  for (const a of archives) {
    const into = await resolveInRoot(req.rootfs, destClean);
    await applyLayer(into, createReadStream(a.abs), { whiteouts: "none" });
  }
  return { linkable, linked };
}

/**
 * markLinkable marks the planned files whose source inode already is what the copy makes: a
 * regular file with the target owner, no `--chmod`, an mtime of whole seconds (the copy keeps
 * seconds), each inode at most once (a layer holding one inode twice would record a hard link
 * where the copy made two files). Their sources are pushed to `out`.
 */
function markLinkable(
  planned: readonly Planned[],
  req: CopyRequest,
  uid: number,
  gid: number,
  out: SourceEntry[],
): Planned[] {
  const byAbs = new Map<string, SourceEntry>();
  for (const src of req.sources) for (const e of src.entries) byAbs.set(e.abs, e);
  const seen = new Set<number>();
  return planned.map((p) => {
    const e = p.abs === undefined ? undefined : byAbs.get(p.abs);
    const st = e?.stat;
    if (e === undefined || st === undefined || req.chmod !== undefined || !st.isFile()) return p;
    if (st.uid !== uid || st.gid !== gid || st.mtimeMs % 1000 !== 0 || seen.has(st.ino)) return p;
    seen.add(st.ino);
    out.push(e);
    return { ...p, link: true };
  });
}

function rel(abs: string): string {
  return abs.replace(/^\/+/, "");
}

function entryFor(
  e: SourceEntry,
  target: string,
  uid: number,
  gid: number,
  chmod: Chmod | undefined,
): Planned {
  const st = e.stat;
  const base = {
    name: rel(target),
    mode: applyChmod(chmod, st.mode, st.isDirectory()),
    uid,
    gid,
    mtime: new Date(Math.floor(st.mtimeMs / 1000) * 1000),
  };
  if (st.isDirectory()) return { header: { ...base, name: `${base.name}/`, type: "directory" } };
  if (st.isSymbolicLink())
    return { header: { ...base, mode: 0o777, type: "symlink", linkname: e.linkname ?? "" } };
  if (st.isFile()) return { header: { ...base, type: "file", size: st.size }, abs: e.abs };
  if (st.isFIFO()) return { header: { ...base, type: "fifo" } };
  throw new InvalidArgument(`cannot copy ${e.rel}: unsupported file type`);
}

/** Files up to this size are read with one synchronous read (cheaper than a thread-pool hop). */
const SYNC_READ_MAX = 256 * 1024;
/** Larger files go out in chunks of this size. */
const READ_CHUNK = 1024 * 1024;

/**
 * entriesOf hands the planned entries to applyEntries (no tar in between): small files are read
 * with one synchronous read, large ones in 1 MiB chunks. Exactly the planned size is passed on:
 * a file that shrank is padded with zeros, bytes beyond the planned size are not read.
 */
async function* entriesOf(planned: readonly Planned[]): AsyncGenerator<ApplyEntry> {
  for (const p of planned) {
    if (p.abs === undefined) {
      yield { header: p.header };
      continue;
    }
    const size = p.header.size ?? 0;
    const header = { ...p.header, size };
    if (p.link === true) {
      // Read only if the link cannot be made (the generator starts on first use).
      yield { header, content: fileChunks(p.abs, size), linkSource: p.abs };
      continue;
    }
    if (size <= SYNC_READ_MAX) {
      const content = Buffer.alloc(size);
      const fd = openSync(p.abs, "r");
      try {
        let off = 0;
        while (off < size) {
          const n = readSync(fd, content, off, size - off, null);
          if (n === 0) break; // shrank: the rest stays zero
          off += n;
        }
      } finally {
        closeSync(fd);
      }
      yield { header, content };
      continue;
    }
    yield { header, content: fileChunks(p.abs, size) };
  }
}

/** fileChunks reads exactly `size` bytes of a file in 1 MiB chunks (zeros if it shrank). */
async function* fileChunks(abs: string, size: number): AsyncGenerator<Buffer> {
  const fh = await open(abs, "r");
  try {
    let remaining = size;
    while (remaining > 0) {
      const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, remaining));
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) {
        yield Buffer.alloc(remaining);
        break;
      }
      remaining -= bytesRead;
      yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/** isArchive tells whether a file starts like a compressed stream or a tar (ustar magic at 257). */
async function isArchive(path: string): Promise<boolean> {
  const fh = await open(path, "r");
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await fh.read(head, 0, 512, 0);
    const h = head.subarray(0, bytesRead);
    if (detectCompression(h) !== "none") return true;
    return bytesRead >= 262 && h.subarray(257, 262).toString("latin1") === "ustar";
  } finally {
    await fh.close();
  }
}

async function lstatOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await lstat(p);
  } catch (err) {
    if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ENOTDIR") return undefined;
    throw err;
  }
}
