import { createHash, type Hash } from "node:crypto";
import { type FileHandle, open, rename, rm, stat } from "node:fs/promises";
import { AlreadyExists, errnoCode, FailedPrecondition, ResourceExhausted } from "@berth/errdefs";
import type { Digest } from "@berth/oci";
import { fsyncDir } from "./atomicWrite.ts";
import type { BlobInfo } from "./ContentStore.ts";
import { WRITE_BATCH, writevAll } from "./writevAll.ts";

/** What a {@link BlobWriter} checks at commit, and where it puts the blob (ContentStore fills it in). */
export interface BlobWriterTarget {
  /** The ingest file, opened for writing (`wx`); the writer owns and closes it. */
  readonly fh: FileHandle;
  /** Path of the ingest file. */
  readonly dataPath: string;
  /** The blob directory, fsynced after the rename. */
  readonly blobsDir?: string;
  /**
   * Where a digest's blob lives. Without it, commit leaves the synced, read-only file at
   * `dataPath` for the caller to place (see {@link BlobWriter.toFile}).
   */
  readonly blobPath?: (digest: Digest) => string;
  readonly expected?: Digest;
  readonly size?: number;
  readonly maxBytes?: number;
  readonly ifExists?: "error" | "ok";
  /** Called exactly once when the writer is done (committed or aborted): drops the ingest. */
  readonly release: () => Promise<void>;
}

/**
 * BlobWriter is one blob being written into the content store, fed chunk by chunk (containerd's
 * `content.Writer`): each chunk is hashed as it arrives and gathered into writes of about 1 MiB,
 * one write in flight on the libuv thread pool while the caller produces the next chunks.
 * {@link BlobWriter.commit} checks size and digest, fsyncs, makes the file read-only, renames it
 * into `blobs/` and fsyncs the directory; until then nothing is visible, and
 * {@link BlobWriter.abort} (or any failure) removes the ingest.
 *
 * Why the fsync stays before the rename: the store's invariant is that a listed blob is whole.
 * Without it, a power loss after the rename can leave a named blob with missing data (ext4
 * only forces data out before a rename that replaces an existing file). A daemon `kill -9`
 * alone would not need it (the page cache survives), but the store promises both.
 *
 * Create one with `ContentStore.writer`.
 */
export class BlobWriter {
  readonly #t: BlobWriterTarget;
  readonly #hash: Hash = createHash("sha256");
  #size = 0;
  #batch: Buffer[] = [];
  #batched = 0;
  #inFlight: Promise<void> | undefined;
  #done = false;
  #committed = false;

  /** @internal use `ContentStore.writer` (or {@link BlobWriter.toFile}). */
  constructor(target: BlobWriterTarget) {
    this.#t = target;
  }

  /**
   * toFile is a writer of a new file `dataPath` (created exclusively) whose commit hashes,
   * fsyncs and closes it and leaves it there, read-only: for a worker thread that writes an
   * ingest file the content store then places (`ContentStore.ingestWith` checks and renames it).
   * Abort removes the file.
   */
  static async toFile(dataPath: string): Promise<BlobWriter> {
    const fh = await open(dataPath, "wx", 0o600);
    return new BlobWriter({ fh, dataPath, release: async () => {} });
  }

  /** Bytes written so far. */
  get size(): number {
    return this.#size;
  }

  /**
   * write hashes `chunk` and queues it. It returns a promise only when a batch went out: it
   * resolves when the previous batch is written (back pressure; writes stay in order either way).
   * Over the expected size or `maxBytes`: FailedPrecondition or ResourceExhausted (the writer is
   * then aborted). The chunk must not be modified afterwards.
   */
  write(chunk: Buffer): Promise<void> | undefined {
    if (this.#done) throw new FailedPrecondition("blob writer is already closed");
    this.#size += chunk.length;
    const limit = this.#t.size ?? this.#t.maxBytes;
    if (limit !== undefined && this.#size > limit) {
      const err =
        this.#t.size !== undefined
          ? new FailedPrecondition(`unexpected commit size: more than the expected ${this.#t.size} bytes`)
          : new ResourceExhausted(`blob exceeds the limit of ${limit} bytes`);
      return this.abort().then(() => {
        throw err;
      });
    }
    this.#hash.update(chunk);
    this.#batch.push(chunk);
    this.#batched += chunk.length;
    if (this.#batched >= WRITE_BATCH) return this.#flush();
    return undefined;
  }

  /** #flush starts writing the batch after the write in flight; resolves when that one is done. */
  #flush(): Promise<void> {
    const bufs = this.#batch;
    this.#batch = [];
    this.#batched = 0;
    const prev = this.#inFlight;
    const next = (prev ?? Promise.resolve()).then(() => writevAll(this.#t.fh, bufs));
    next.catch(() => {}); // observed by the next flush or by commit
    this.#inFlight = next;
    return prev ?? Promise.resolve();
  }

  /**
   * commit verifies size and digest and makes the blob visible (see the class comment). An
   * existing blob with the same digest is AlreadyExists, or returned with `ifExists: "ok"`.
   */
  async commit(): Promise<BlobInfo> {
    if (this.#done) throw new FailedPrecondition("blob writer is already closed");
    const t = this.#t;
    try {
      if (this.#batched > 0) await this.#flush();
      await this.#inFlight;
      if (t.size !== undefined && this.#size !== t.size) {
        throw new FailedPrecondition(`unexpected commit size ${this.#size}, expected ${t.size}`);
      }
      const digest = `sha256:${this.#hash.digest("hex")}` as Digest;
      if (t.expected !== undefined && digest !== t.expected) {
        throw new FailedPrecondition(`unexpected commit digest ${digest}, expected ${t.expected}`);
      }
      await t.fh.chmod(0o444);
      await t.fh.sync();
      await t.fh.close();
      if (t.blobPath === undefined) {
        this.#committed = true;
        return { digest, size: this.#size };
      }
      const target = t.blobPath(digest);
      if (await exists(target)) {
        if (t.ifExists === "ok") return { digest, size: this.#size };
        throw new AlreadyExists(`content ${digest}: already exists`);
      }
      await rename(t.dataPath, target);
      if (t.blobsDir !== undefined) await fsyncDir(t.blobsDir);
      return { digest, size: this.#size };
    } finally {
      await this.#close();
    }
  }

  /** abort drops everything written; nothing becomes visible. Idempotent. */
  async abort(): Promise<void> {
    await this.#close();
  }

  async #close(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    await this.#inFlight?.catch(() => {});
    await this.#t.fh.close().catch(() => {});
    if (!this.#committed) await rm(this.#t.dataPath, { force: true }).catch(() => {});
    await this.#t.release();
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
