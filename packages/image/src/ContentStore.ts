import { createHash, randomBytes } from "node:crypto";
import { createReadStream, statSync } from "node:fs";
import { chmod, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import {
  AlreadyExists,
  errnoCode,
  FailedPrecondition,
  InvalidArgument,
  NotFound,
  ResourceExhausted,
  Unavailable,
} from "@berth/errdefs";
import { type Digest, hexOf, parseDigest, sha256 } from "@berth/oci";
import { fsyncDir } from "./atomicWrite.ts";
import { BlobWriter } from "./BlobWriter.ts";
import { WRITE_BATCH, writevAll } from "./writevAll.ts";

/** A committed blob: its digest and size in bytes. */
export interface BlobInfo {
  readonly digest: Digest;
  readonly size: number;
}

/** Options for {@link ContentStore.ingest}. */
export interface IngestOptions {
  /** The digest the bytes must hash to; mismatch -> FailedPrecondition, nothing visible. */
  readonly expected?: Digest;
  /** The exact size; more or fewer bytes -> FailedPrecondition. Reading stops at size + 1. */
  readonly size?: number;
  /** Ingest reference (e.g. `layer-sha256:...`); a second writer on the same ref gets Unavailable. */
  readonly ref?: string;
  /** When the blob already exists: "error" (default, AlreadyExists, containerd's Commit) or "ok" (return it). */
  readonly ifExists?: "error" | "ok";
  /** Reject streams longer than this (no expected size known). */
  readonly maxBytes?: number;
}

/**
 * ContentStore is a content-addressable blob store on disk:
 * `<root>/content/blobs/sha256/<hex>` (read-only files) and
 * `<root>/content/ingest/<sha256(ref)>/` for writes in progress.
 *
 * Invariant: a blob is visible only once its bytes were hashed, checked
 * against the expected digest and size, fsynced, renamed into place and its
 * directory fsynced (containerd `writer.Commit`). A crash leaves at worst an
 * ingest directory, which {@link ContentStore.open} removes.
 */
export class ContentStore {
  readonly root: string;
  readonly blobsDir: string;
  readonly ingestDir: string;
  readonly #locks = new Map<string, number>();

  private constructor(root: string) {
    this.root = root;
    this.blobsDir = join(root, "content", "blobs", "sha256");
    this.ingestDir = join(root, "content", "ingest");
  }

  /** open creates the layout under `root` if needed (0700) and drops stale ingests. */
  static async open(root: string): Promise<ContentStore> {
    const s = new ContentStore(root);
    await mkdir(root, { recursive: true, mode: 0o711 });
    await mkdir(join(root, "content"), { recursive: true, mode: 0o700 });
    await mkdir(s.blobsDir, { recursive: true, mode: 0o700 });
    await mkdir(s.ingestDir, { recursive: true, mode: 0o700 });
    await s.cleanIngest();
    return s;
  }

  /** blobPath returns where a digest's blob lives; the digest is validated first (R8). */
  blobPath(digest: string): string {
    const d = parseDigest(digest);
    if (!d.startsWith("sha256:")) throw new InvalidArgument(`unsupported digest ${d}: expected sha256`);
    return join(this.blobsDir, hexOf(d));
  }

  /** cleanIngest removes every ingest not held by a writer of this process (crash leftovers, I7). */
  async cleanIngest(): Promise<number> {
    let removed = 0;
    for (const name of await readdir(this.ingestDir)) {
      if (this.#locks.has(name)) continue;
      await rm(join(this.ingestDir, name), { recursive: true, force: true });
      removed++;
    }
    return removed;
  }

  /**
   * ingest writes `input` into a new blob: to `ingest/<ref>/data` while
   * hashing, then verifies digest and size, fsyncs, makes it read-only,
   * renames into `blobs/` and fsyncs the directory. On any failure the ingest
   * is removed and nothing is visible. Rows I1-I5, I7 of threat-cases.md.
   */
  async ingest(input: Readable, opts: IngestOptions = {}): Promise<BlobInfo> {
    // Until the copy loop below attaches, an early stream error would be
    // uncaught; the loop still sees it through the stream's errored state.
    input.on("error", () => {});
    let slot: Awaited<ReturnType<ContentStore["openIngest"]>>;
    try {
      slot = await this.openIngest(opts);
    } catch (err) {
      input.destroy();
      throw err;
    }
    const { expected, dataPath: data } = slot;
    try {
      const hash = createHash("sha256");
      let size = 0;
      const limit = opts.size ?? opts.maxBytes;
      const fh = await open(data, "wx", 0o600);
      // Chunks are gathered into writes of about 1 MiB, one in flight while the next fills.
      let batch: Buffer[] = [];
      let batched = 0;
      let inFlight: Promise<unknown> | undefined;
      const flush = async () => {
        const bufs = batch;
        batch = [];
        batched = 0;
        if (inFlight !== undefined) await inFlight;
        inFlight = writevAll(fh, bufs);
      };
      try {
        for await (const piece of input as AsyncIterable<Buffer | string>) {
          const chunk = typeof piece === "string" ? Buffer.from(piece) : piece;
          size += chunk.length;
          if (limit !== undefined && size > limit) {
            input.destroy();
            if (opts.size !== undefined) {
              throw new FailedPrecondition(
                `unexpected commit size: more than the expected ${opts.size} bytes`,
              );
            }
            throw new ResourceExhausted(`blob exceeds the limit of ${limit} bytes`);
          }
          hash.update(chunk);
          batch.push(chunk);
          batched += chunk.length;
          if (batched >= WRITE_BATCH) await flush();
        }
        if (batched > 0) await flush();
        await inFlight;
        if (opts.size !== undefined && size !== opts.size) {
          throw new FailedPrecondition(`unexpected commit size ${size}, expected ${opts.size}`);
        }
        const digest = `sha256:${hash.digest("hex")}` as Digest;
        if (expected !== undefined && digest !== expected) {
          throw new FailedPrecondition(`unexpected commit digest ${digest}, expected ${expected}`);
        }
        await fh.chmod(0o444);
        await fh.sync();
        await fh.close();
        return await this.place(data, digest, size, opts);
      } finally {
        await inFlight?.catch(() => {});
        await fh.close().catch(() => {});
      }
    } finally {
      await slot.release();
    }
  }

  /**
   * openIngest checks `expected`, takes the ref's lock and makes its fresh ingest directory (with
   * the `ref` file): what {@link ingest}, {@link ingestWith} and {@link writer} share. `release`
   * removes the directory and drops the lock.
   */
  private async openIngest(opts: IngestOptions): Promise<{
    expected: Digest | undefined;
    dataPath: string;
    release: () => Promise<void>;
  }> {
    const expected = opts.expected === undefined ? undefined : parseDigest(opts.expected);
    if (expected !== undefined && !expected.startsWith("sha256:")) {
      throw new InvalidArgument(`unsupported digest ${expected}: expected sha256`);
    }
    const ref = opts.ref ?? `anon-${randomBytes(8).toString("hex")}`;
    const key = createHash("sha256").update(ref).digest("hex");
    const since = this.#locks.get(key);
    if (since !== undefined)
      throw new Unavailable(`ref ${ref} locked since ${new Date(since).toISOString()}`);
    this.#locks.set(key, Date.now());
    const dir = join(this.ingestDir, key);
    const release = async () => {
      await rm(dir, { recursive: true, force: true }).catch(() => {});
      this.#locks.delete(key);
    };
    try {
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { mode: 0o700 });
      await writeFile(join(dir, "ref"), ref);
    } catch (err) {
      await release();
      throw err;
    }
    return { expected, dataPath: join(dir, "data"), release };
  }

  /**
   * place renames a verified, synced ingest file to its blob path (an existing blob is fine with
   * `ifExists: "ok"`, else AlreadyExists) and syncs the blobs directory.
   */
  private async place(data: string, digest: Digest, size: number, opts: IngestOptions): Promise<BlobInfo> {
    const target = this.blobPath(digest);
    if (await exists(target)) {
      if (opts.ifExists === "ok") return { digest, size };
      throw new AlreadyExists(`content ${digest}: already exists`);
    }
    await rename(data, target);
    await fsyncDir(this.blobsDir);
    return { digest, size };
  }

  /**
   * ingestWith commits a blob that `write` produces itself (for writers that hash and write off the
   * main thread, see `ingestLayer`): under the same ref lock and ingest directory as
   * {@link ingest}, `write(dataPath)` must create `dataPath`, write every byte, fsync it and
   * return the digest and size it hashed. The blob is renamed into place only when they match
   * `expected` and `size`; otherwise, or when `write` throws, the ingest is removed and nothing
   * is visible.
   */
  async ingestWith(
    opts: IngestOptions,
    write: (dataPath: string) => Promise<{ digest: Digest; size: number }>,
  ): Promise<BlobInfo> {
    const { expected, dataPath: data, release } = await this.openIngest(opts);
    try {
      const { digest, size } = await write(data);
      if (opts.size !== undefined && size !== opts.size) {
        throw new FailedPrecondition(`unexpected commit size ${size}, expected ${opts.size}`);
      }
      if (expected !== undefined && digest !== expected) {
        throw new FailedPrecondition(`unexpected commit digest ${digest}, expected ${expected}`);
      }
      await chmod(data, 0o444);
      return await this.place(data, digest, size, opts);
    } finally {
      await release();
    }
  }

  /**
   * writer starts a blob fed chunk by chunk, for producers that are not streams (see
   * {@link BlobWriter}; the layer commit writes its gzip blocks through it): same ref lock and
   * ingest directory as {@link ingest}, and the same checks at `commit`. The caller must end it
   * with `commit` or `abort`.
   */
  async writer(opts: IngestOptions = {}): Promise<BlobWriter> {
    const { expected, dataPath, release } = await this.openIngest(opts);
    try {
      const fh = await open(dataPath, "wx", 0o600);
      return new BlobWriter({
        fh,
        dataPath,
        blobsDir: this.blobsDir,
        blobPath: (d) => this.blobPath(d),
        ...(expected === undefined ? {} : { expected }),
        ...(opts.size === undefined ? {} : { size: opts.size }),
        ...(opts.maxBytes === undefined ? {} : { maxBytes: opts.maxBytes }),
        ...(opts.ifExists === undefined ? {} : { ifExists: opts.ifExists }),
        release,
      });
    } catch (err) {
      await release();
      throw err;
    }
  }

  /** put stores bytes already in memory (manifests, configs); an existing identical blob is fine. */
  async put(data: Uint8Array | string, expected?: Digest): Promise<BlobInfo> {
    const bytes = typeof data === "string" ? Buffer.from(data) : Buffer.from(data);
    const digest = sha256(bytes);
    if (expected !== undefined && digest !== expected) {
      throw new FailedPrecondition(`unexpected commit digest ${digest}, expected ${expected}`);
    }
    if (await this.has(digest)) return { digest, size: bytes.length };
    const { Readable } = await import("node:stream");
    return this.ingest(Readable.from([bytes]), { expected: digest, size: bytes.length, ifExists: "ok" });
  }

  /** has tells whether a committed blob exists. */
  async has(digest: string): Promise<boolean> {
    return exists(this.blobPath(digest));
  }

  /**
   * hasSync is {@link has} as one synchronous stat (microseconds, where the thread-pool round
   * trip of `has` dominates): for callers that check many blobs in a row, such as a build's
   * cache lookups.
   */
  hasSync(digest: string): boolean {
    try {
      statSync(this.blobPath(digest));
      return true;
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return false;
      throw err;
    }
  }

  /** info returns a blob's digest and size; NotFound if absent. */
  async info(digest: string): Promise<BlobInfo> {
    const path = this.blobPath(digest);
    try {
      const st = await stat(path);
      return { digest: parseDigest(digest), size: st.size };
    } catch (err) {
      if (errnoCode(err) === "ENOENT") throw new NotFound(`content ${digest}: not found`);
      throw err;
    }
  }

  /** readStream streams a blob's bytes; NotFound if absent. */
  async readStream(digest: string): Promise<Readable> {
    await this.info(digest);
    return createReadStream(this.blobPath(digest));
  }

  /** readBytes reads a whole blob of at most `maxBytes` bytes (ResourceExhausted beyond; I11, R5). */
  async readBytes(digest: string, maxBytes: number): Promise<Buffer> {
    const { size } = await this.info(digest);
    if (size > maxBytes) {
      throw new ResourceExhausted(`blob ${digest} is ${size} bytes, over the limit of ${maxBytes}`);
    }
    const buf = await readFile(this.blobPath(digest));
    if (sha256(buf) !== digest)
      throw new FailedPrecondition(`blob ${digest} is corrupt: content hashes to ${sha256(buf)}`);
    return buf;
  }

  /** readJSON reads and parses a bounded JSON blob, verifying its digest (I8). */
  async readJSON<T = unknown>(digest: string, maxBytes: number): Promise<T> {
    const buf = await this.readBytes(digest, maxBytes);
    try {
      return JSON.parse(buf.toString("utf8")) as T;
    } catch (err) {
      throw new InvalidArgument(`blob ${digest} is not valid JSON: ${(err as Error).message}`);
    }
  }

  /** delete removes a blob; NotFound if absent. */
  async delete(digest: string): Promise<void> {
    try {
      await rm(this.blobPath(digest));
    } catch (err) {
      if (errnoCode(err) === "ENOENT") throw new NotFound(`content ${digest}: not found`);
      throw err;
    }
  }

  /** list returns the digests of all committed blobs. */
  async list(): Promise<Digest[]> {
    return (await readdir(this.blobsDir))
      .filter((n) => /^[0-9a-f]{64}$/.test(n))
      .map((n) => `sha256:${n}` as Digest);
  }

  /** verify re-hashes a blob and throws FailedPrecondition if it no longer matches its digest (I8). */
  async verify(digest: string): Promise<void> {
    const stream = await this.readStream(digest);
    const hash = createHash("sha256");
    for await (const chunk of stream as AsyncIterable<Buffer>) hash.update(chunk);
    const got = `sha256:${hash.digest("hex")}`;
    if (got !== digest) throw new FailedPrecondition(`blob ${digest} is corrupt: content hashes to ${got}`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return false;
    throw err;
  }
}
