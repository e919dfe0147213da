import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, posix } from "node:path";
import { PassThrough, type Readable, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { decompress, onDrainOrClose } from "@berth/archive";
import {
  FailedPrecondition,
  InvalidArgument,
  isBerthError,
  NotFound,
  ResourceExhausted,
} from "@berth/errdefs";
import type { Digest } from "@berth/oci";
import * as tar from "tar-stream";
import { type LayerDiffId, layerDiffId } from "./layerDiffId.ts";
import { BLOB_PATH } from "./ociLayout.ts";

/** A regular file of an archive, stored in the extraction directory under a generated name. */
export interface ArchiveFile {
  /** The member name inside the archive (clean, relative). */
  readonly name: string;
  /** Where its bytes are on disk (a generated name inside the extraction directory). */
  readonly path: string;
  /** Its size in bytes. */
  readonly size: number;
  /** The sha256 of its bytes, computed while it was written. */
  readonly digest: Digest;
  /**
   * For a member that starts like a layer (a tar, or gzip), what {@link layerDiffId} found while
   * it was written (same pass, no second read); undefined when it is not one or could not be read
   * as one (a caller that needs a layer then reads it again and reports the real error).
   */
  readonly layer?: LayerDiffId;
}

/** Limits for {@link ArchiveDir.extract}; every read of the untrusted archive is bounded. */
export interface ExtractLimits {
  /** Most entries accepted (default {@link MAX_ARCHIVE_ENTRIES}). */
  readonly maxEntries?: number;
  /** Most bytes of regular-file content in total (default unlimited). */
  readonly maxBytes?: number;
  /** Aborts the extraction. */
  readonly signal?: AbortSignal;
}

/** MAX_ARCHIVE_ENTRIES bounds the entries of an image archive (a docker save of many images has a few thousand). */
export const MAX_ARCHIVE_ENTRIES = 100_000;
/** WRITE_BUFFER is how many bytes of a member may queue for its file (1 MiB). */
const WRITE_BUFFER = 1 << 20;
/** MAX_SYMLINK_HOPS bounds symlink resolution inside an archive (as the kernel's 40). */
export const MAX_SYMLINK_HOPS = 40;

/**
 * memberName validates an untrusted tar member name and returns it clean and relative
 * (`./a//b/` -> `a/b`, `.` -> ``). Absolute names and names with a `..` component are refused
 * (InvalidArgument): an image archive never needs them, and refusing is safer than clamping.
 */
export function memberName(raw: string): string {
  if (raw.startsWith("/"))
    throw new InvalidArgument(`invalid archive entry ${JSON.stringify(raw)}: absolute path`);
  if (raw.includes("\0")) throw new InvalidArgument(`invalid archive entry ${JSON.stringify(raw)}: NUL byte`);
  const parts = raw.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) {
    throw new InvalidArgument(`invalid archive entry ${JSON.stringify(raw)}: path escapes the archive (..)`);
  }
  return parts.join("/");
}

/**
 * ArchiveDir is an image archive (`docker save` tar, OCI layout tar) unpacked for reading. Only
 * the contents of regular files touch the disk, each under a generated name (`f<n>`) in a
 * directory the caller owns: member names never become file-system paths, so no entry can be
 * written outside it, whatever its name or links (threat rows A1-A3). Directories, symlinks and
 * hard links are kept as a table; {@link ArchiveDir.resolve} follows symlinks inside that table
 * and refuses any that leave the archive root. Every file is hashed while written; a member named
 * `blobs/sha256/<hex>` whose bytes hash to something else fails the extraction at once.
 */
export class ArchiveDir {
  readonly dir: string;
  readonly #files = new Map<string, ArchiveFile>();
  readonly #links = new Map<string, string>();
  readonly #dirs = new Set<string>();

  private constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * extract reads a tar stream (plain, gzip or zstd) into `dir`, which must exist and be empty.
   * Refused with InvalidArgument: absolute or `..` names, symlinks with absolute or escaping
   * targets, hard links to anything but an earlier regular file, devices, FIFOs, a truncated or
   * malformed tar; FailedPrecondition: a blob that does not match its name.
   */
  static async extract(input: Readable, dir: string, limits: ExtractLimits = {}): Promise<ArchiveDir> {
    const a = new ArchiveDir(dir);
    const maxEntries = limits.maxEntries ?? MAX_ARCHIVE_ENTRIES;
    const maxBytes = limits.maxBytes ?? Number.POSITIVE_INFINITY;
    input.on("error", () => {});
    const { stream } = await decompress(input);
    const extract = tar.extract();
    let feedError: unknown;
    const feeding = pipeline(stream, extract).catch((err: unknown) => {
      feedError ??= err;
    });
    const onAbort = () => extract.destroy(limits.signal?.reason ?? new Error("aborted"));
    limits.signal?.addEventListener("abort", onAbort, { once: true });
    let entries = 0;
    let total = 0;
    try {
      for await (const entry of extract) {
        if (++entries > maxEntries) {
          throw new ResourceExhausted(`archive has more than ${maxEntries} entries`);
        }
        const h = entry.header;
        const name = memberName(h.name);
        switch (h.type) {
          case "directory":
            if (name !== "") a.#dirs.add(name);
            entry.resume();
            break;
          case "file":
          case "contiguous-file": {
            if (name === "") throw new InvalidArgument("invalid archive entry: a file named after the root");
            const path = join(dir, `f${entries}`);
            const hash = createHash("sha256");
            let size = 0;
            // Layers are inspected (decompressed, hashed, measured) in the same pass.
            let inspector: Inspector | undefined;
            let sniffed = false;
            const counting = new Transform({
              highWaterMark: WRITE_BUFFER,
              transform(chunk: Buffer, _enc, cb: TransformCallback) {
                size += chunk.length;
                total += chunk.length;
                if (total > maxBytes) {
                  cb(new ResourceExhausted(`archive content exceeds the limit of ${maxBytes} bytes`));
                  return;
                }
                hash.update(chunk);
                if (!sniffed) {
                  sniffed = true;
                  if (looksLikeLayer(chunk)) inspector = startInspector();
                }
                if (inspector === undefined) cb(null, chunk);
                else inspector.write(chunk, () => cb(null, chunk));
              },
            });
            try {
              // A deep write buffer: chunks queue while one write is out and go in one writev.
              await pipeline(
                entry,
                counting,
                createWriteStream(path, { flags: "wx", mode: 0o600, highWaterMark: WRITE_BUFFER }),
              );
            } catch (err) {
              inspector?.abort();
              throw err;
            }
            const digest = `sha256:${hash.digest("hex")}` as Digest;
            const layer = inspector === undefined ? undefined : await inspector.finish(digest);
            const blob = BLOB_PATH.exec(name);
            if (blob !== null && blob[2] !== digest.slice(7)) {
              throw new FailedPrecondition(
                `invalid archive: blob ${name} does not match its digest: content hashes to ${digest}`,
              );
            }
            a.#links.delete(name);
            a.#files.set(name, { name, path, size, digest, ...(layer === undefined ? {} : { layer }) });
            break;
          }
          case "symlink": {
            const target = h.linkname ?? "";
            if (name === "")
              throw new InvalidArgument("invalid archive entry: a symlink named after the root");
            if (target === "" || target.startsWith("/")) {
              throw new InvalidArgument(
                `invalid archive entry ${JSON.stringify(h.name)}: symlink to ${JSON.stringify(target)} points outside the archive`,
              );
            }
            const joined = posix.normalize(posix.join(posix.dirname(name), target));
            if (joined === ".." || joined.startsWith("../")) {
              throw new InvalidArgument(
                `invalid archive entry ${JSON.stringify(h.name)}: symlink to ${JSON.stringify(target)} points outside the archive`,
              );
            }
            a.#files.delete(name);
            a.#links.set(name, target);
            entry.resume();
            break;
          }
          case "link": {
            const target = memberName(h.linkname ?? "");
            const file = a.#files.get(target);
            if (file === undefined) {
              throw new InvalidArgument(
                `invalid archive entry ${JSON.stringify(h.name)}: hard link to ${JSON.stringify(h.linkname)}, which is not an earlier regular file`,
              );
            }
            a.#links.delete(name);
            a.#files.set(name, { ...file, name });
            entry.resume();
            break;
          }
          default:
            throw new InvalidArgument(
              `invalid archive entry ${JSON.stringify(h.name)}: unsupported type ${String(h.type)} in an image archive`,
            );
        }
      }
      await feeding;
      if (feedError !== undefined) throw feedError;
    } catch (err) {
      stream.destroy();
      extract.destroy();
      await feeding;
      const first = isBerthError(err) ? err : (feedError ?? err);
      if (isBerthError(first)) throw first;
      throw new InvalidArgument(`invalid archive: ${(first as Error)?.message ?? String(first)}`, {
        cause: first,
      });
    } finally {
      limits.signal?.removeEventListener("abort", onAbort);
    }
    return a;
  }

  /** names lists the regular files (and hard links) of the archive. */
  names(): string[] {
    return [...this.#files.keys()].sort();
  }

  /** has tells whether `name` resolves to a regular file. */
  has(name: string): boolean {
    try {
      this.resolve(name);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * resolve finds the regular file `name` refers to, following symlinks of the archive (each
   * relative to its own directory, at most {@link MAX_SYMLINK_HOPS}); a path or link that leaves
   * the archive root is refused (InvalidArgument), a missing one is NotFound.
   */
  resolve(name: string): ArchiveFile {
    let pending = memberNameOrThrow(name).split("/").filter(Boolean);
    const done: string[] = [];
    let hops = 0;
    while (pending.length > 0) {
      const part = pending.shift()!;
      if (part === ".") continue;
      if (part === "..") {
        if (done.length === 0) {
          throw new InvalidArgument(`invalid archive path ${JSON.stringify(name)}: it leaves the archive`);
        }
        done.pop();
        continue;
      }
      done.push(part);
      const link = this.#links.get(done.join("/"));
      if (link !== undefined) {
        if (++hops > MAX_SYMLINK_HOPS) {
          throw new InvalidArgument(
            `invalid archive path ${JSON.stringify(name)}: too many levels of symbolic links`,
          );
        }
        if (link.startsWith("/")) {
          throw new InvalidArgument(
            `invalid archive path ${JSON.stringify(name)}: symlink points outside the archive`,
          );
        }
        done.pop();
        pending = [...link.split("/").filter(Boolean), ...pending];
      }
    }
    const key = done.join("/");
    const file = this.#files.get(key);
    if (file === undefined) {
      throw new NotFound(`invalid archive: ${JSON.stringify(name)} is not a file in the archive`);
    }
    return file;
  }

  /** readBytes reads a small member (JSON) of at most `maxBytes` bytes; larger is ResourceExhausted. */
  async readBytes(name: string, maxBytes: number): Promise<Buffer> {
    const f = this.resolve(name);
    if (f.size > maxBytes) {
      throw new ResourceExhausted(`archive member ${name} is ${f.size} bytes, over the limit of ${maxBytes}`);
    }
    return readFile(f.path);
  }

  /** readJSON reads and parses a small JSON member; malformed JSON is InvalidArgument. */
  async readJSON<T = unknown>(name: string, maxBytes: number): Promise<{ value: T; bytes: Buffer }> {
    const bytes = await this.readBytes(name, maxBytes);
    try {
      return { value: JSON.parse(bytes.toString("utf8")) as T, bytes };
    } catch (err) {
      throw new InvalidArgument(`invalid archive: ${name} is not valid JSON: ${(err as Error).message}`);
    }
  }
}

function memberNameOrThrow(name: string): string {
  if (name.startsWith("/")) {
    throw new InvalidArgument(`invalid archive path ${JSON.stringify(name)}: absolute path`);
  }
  return name;
}

/** looksLikeLayer: gzip magic, or a ustar header (magic at offset 257) in the first chunk. */
function looksLikeLayer(head: Buffer): boolean {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return true;
  return head.length >= 262 && head.toString("latin1", 257, 262) === "ustar";
}

/** Inspector feeds a member's bytes to {@link layerDiffId} as they are written. */
interface Inspector {
  /** write passes a chunk on and calls `done` once it may take more (or has given up). */
  write(chunk: Buffer, done: () => void): void;
  /** finish ends the input and returns what was found (given the member's digest), or undefined. */
  finish(digest: Digest): Promise<LayerDiffId | undefined>;
  /** abort stops the inspection (the member could not be written). */
  abort(): void;
}

function startInspector(): Inspector {
  const tee = new PassThrough({ highWaterMark: 1 << 20 });
  let failed = false;
  // An uncompressed layer's diff ID is the member's digest, known by the time finish is called.
  let digest: Digest | undefined;
  const result = layerDiffId(tee, { plainDigest: () => digest! }).catch(() => {
    failed = true;
    tee.destroy();
    return undefined;
  });
  return {
    write(chunk, done) {
      if (failed || tee.destroyed) {
        done();
        return;
      }
      if (tee.write(chunk)) {
        done();
        return;
      }
      onDrainOrClose(tee, done);
    },
    async finish(d) {
      digest = d;
      if (!tee.destroyed) tee.end();
      return result;
    },
    abort() {
      tee.destroy();
    },
  };
}
