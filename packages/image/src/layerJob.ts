import { createHash } from "node:crypto";
import { closeSync, fchmodSync, fsync, mkdirSync, openSync, writev } from "node:fs";
import { Readable } from "node:stream";
import { createGunzip, createGzip, type Gunzip, type Gzip } from "node:zlib";
import {
  applyLayer,
  DEFAULT_MAX_LAYER_BYTES,
  detectCompression,
  dropWritten,
  onDrainOrClose,
} from "@berth/archive";
import { FailedPrecondition } from "@berth/errdefs";
import type { Digest } from "@berth/oci";
import { layerDiffId } from "./layerDiffId.ts";
import { WRITE_BATCH } from "./writevAll.ts";

/**
 * TAR_CHUNKS is how many chunks the tar side may lag behind the blob side. The tar stream is in
 * object mode: a byte-mode Readable read by an async iterator hands out everything it buffered
 * concatenated into one new Buffer (a copy of every byte); in object mode each chunk passes as is.
 */
const TAR_CHUNKS = 4;

/**
 * GUNZIP_OUT is the size of the job's own gunzip output buffers: one decompression call (a
 * thread-pool round trip) per 1 MiB instead of per 256 KiB.
 */
const GUNZIP_OUT = 1024 * 1024;
/** Compressed bytes the gunzip may hold before the blob side waits for it. */
const GUNZIP_IN = 2 * 1024 * 1024;

/** What one layer job does (see {@link runLayerJob}); plain data, so it can cross to a worker. */
export interface LayerJobParams {
  /** The blob file to create (O_EXCL) and fill with the compressed bytes. */
  readonly dataPath: string;
  /** The blob's expected size: a byte more stops the job (FailedPrecondition). */
  readonly size?: number;
  /** Extract the layer here (created if missing; overlay whiteouts) while it is written. */
  readonly unpackDir?: string;
  /** Uncompressed byte limit (decompression bombs); default DEFAULT_MAX_LAYER_BYTES. */
  readonly maxBytes?: number;
}

/** What {@link runLayerJob} measured. All of it is unverified: the caller compares it with what it expects. */
export interface LayerJobResult {
  /** sha256 of the compressed bytes written to `dataPath`. */
  readonly digest: Digest;
  /** Compressed bytes written. */
  readonly size: number;
  /** sha256 of the uncompressed tar (absent when reading the tar failed: see `tarError`). */
  readonly diffId?: Digest;
  /** Sum of regular-file content sizes (docker's layer size). */
  readonly bytes: number;
  /** True when the layer was extracted into `unpackDir` completely. */
  readonly unpacked: boolean;
  /**
   * Why the tar could not be read or extracted (a bad tar, a failed write). The blob is still
   * written and hashed to its end, so that a blob that is not the one asked for is reported as
   * such first.
   */
  readonly tarError?: unknown;
}

/**
 * runLayerJob reads a layer blob once and does everything a verified pull needs from its bytes:
 * writes them to `dataPath` (fsynced, then closed) while hashing them, and decompresses them to
 * hash the tar (the diff ID) and either extract it into `unpackDir` with `applyLayer` (the only
 * code writing files from a tar) or only measure it. It decides nothing: the caller compares
 * digest, size and diff ID with what it expects before anything becomes visible. It runs on the
 * calling thread or in a layer worker (see `ingestLayer`). `lowerDirs` is asked for only at the
 * end of an extraction with opaque directories.
 *
 * A gzip blob is decompressed here, in 1 MiB output pieces, and its tar handed on uncompressed;
 * other blobs go to the tar side as they are (see `TarFeed`).
 */
export async function runLayerJob(
  input: AsyncIterable<Buffer> | Readable,
  params: LayerJobParams,
  lowerDirs: () => Promise<readonly string[]>,
): Promise<LayerJobResult> {
  const maxBytes = params.maxBytes ?? DEFAULT_MAX_LAYER_BYTES;
  const fd = openSync(params.dataPath, "wx", 0o600);
  const blobHash = createHash("sha256");
  let size = 0;
  // The tar side: a stream the decompressor and the extraction (or the measuring) read.
  let wake: (() => void) | undefined;
  // A deep buffer lets the blob side run ahead of decompression and extraction (each waits on
  // the thread pool) instead of the two taking turns chunk by chunk.
  const tar = new Readable({
    objectMode: true,
    highWaterMark: TAR_CHUNKS,
    read() {
      feed.read();
    },
  });
  tar.on("error", () => {});
  let tarError: unknown;
  let tarFailed = false;
  const feed = new TarFeed(tar);
  const reading = (async (): Promise<{ diffId: Digest; bytes: number; unpacked: boolean }> => {
    if (params.unpackDir !== undefined) {
      mkdirSync(params.unpackDir, { recursive: true, mode: 0o755 });
      const tarHash = createHash("sha256");
      const report = await applyLayer(params.unpackDir, tar, {
        whiteouts: "overlay",
        lowerDirs,
        maxBytes,
        onTarChunk: (c) => tarHash.update(c),
      });
      return { diffId: `sha256:${tarHash.digest("hex")}` as Digest, bytes: report.bytes, unpacked: true };
    }
    const m = await layerDiffId(tar, { maxBytes });
    return { diffId: m.diffId, bytes: m.bytes, unpacked: false };
  })().catch((err: unknown) => {
    tarError = err;
    tarFailed = true;
    feed.abort();
    const w = wake;
    wake = undefined;
    w?.();
    return undefined;
  });

  // The blob side: chunks gathered into writes of about 1 MiB, one in flight while the next fills.
  let batch: Buffer[] = [];
  let batched = 0;
  let position = 0;
  let inFlight: Promise<void> | undefined;
  const flush = async () => {
    const bufs = batch;
    const at = position;
    position += batched;
    batch = [];
    batched = 0;
    if (inFlight !== undefined) await inFlight;
    inFlight = writeAllAt(fd, bufs, at);
  };
  try {
    try {
      for await (const chunk of input instanceof Readable ? chunksOf(input) : input) {
        size += chunk.length;
        if (params.size !== undefined && size > params.size) {
          throw new FailedPrecondition(`unexpected commit size: more than the expected ${params.size} bytes`);
        }
        blobHash.update(chunk);
        batch.push(chunk);
        batched += chunk.length;
        if (batched >= WRITE_BATCH) await flush();
        if (!tarFailed) {
          const waitFor = feed.write(chunk);
          if (waitFor !== undefined) {
            await new Promise<void>((res) => {
              wake = res;
              waitFor(() => {
                if (wake === res) wake = undefined;
                res();
              });
            });
          }
        }
      }
      if (batched > 0) await flush();
      await inFlight;
      await new Promise<void>((res, rej) => fsync(fd, (err) => (err ? rej(err) : res())));
      fchmodSync(fd, 0o444);
    } finally {
      await inFlight?.catch(() => {});
      closeSync(fd);
    }
  } catch (err) {
    feed.abort();
    tar.destroy();
    await reading;
    throw err;
  }
  if (!tarFailed) feed.end();
  const read = await reading;
  const digest = `sha256:${blobHash.digest("hex")}` as Digest;
  if (read === undefined) return { digest, size, bytes: 0, unpacked: false, tarError };
  return { digest, size, diffId: read.diffId, bytes: read.bytes, unpacked: read.unpacked };
}

/**
 * TarFeed hands the blob's chunks to the tar side (`tar`, an object-mode stream that applyLayer
 * or layerDiffId reads and decompresses as it needs): a gzip blob is decompressed here (one zlib
 * call per 1 MiB of output instead of per 256 KiB, and one stream hop less) and its tar pushed on;
 * anything else is pushed as it is. After `abort` nothing more is read.
 *
 * The tar is handed on exactly as the blob's own decompression would give it, so a tar whose
 * first bytes look like a compression's magic (a first entry named "BZh...") would be
 * decompressed a second time by the reader: that tar is passed on wrapped in a stored gzip
 * instead, which the reader unwraps to the same bytes.
 */
class TarFeed {
  readonly #tar: Readable;
  #mode: "undecided" | "raw" | "gunzip" = "undecided";
  #gunzip: Gunzip | undefined;
  /** The stream whose output is pushed into `tar` (the gunzip, or the stored-gzip wrapper). */
  #source: Gunzip | Gzip | undefined;
  #head: Buffer[] = [];
  #headBytes = 0;
  #wrap: Gzip | undefined;
  #aborted = false;
  #rawWake: (() => void) | undefined;

  constructor(tar: Readable) {
    this.#tar = tar;
  }

  /** read is the tar stream's read(): more output is wanted. */
  read(): void {
    if (this.#source?.isPaused()) this.#source.resume();
    const w = this.#rawWake;
    this.#rawWake = undefined;
    w?.();
  }

  /**
   * write hands one blob chunk to the tar side. It returns undefined when the writer may go on,
   * or a function taking the callback to call once it may.
   */
  write(chunk: Buffer): ((go: () => void) => void) | undefined {
    if (this.#aborted) return undefined;
    if (this.#mode === "undecided") {
      this.#mode = chunk.length >= 2 && chunk[0] === 0x1f && chunk[1] === 0x8b ? "gunzip" : "raw";
      if (this.#mode === "gunzip") this.#startGunzip();
    }
    if (this.#mode === "raw") {
      if (this.#tar.push(chunk)) return undefined;
      return (go) => {
        this.#rawWake = go;
      };
    }
    const gz = this.#gunzip!;
    if (gz.write(chunk)) return undefined;
    return (go) => onDrainOrClose(gz, go);
  }

  /** end: the blob is complete. */
  end(): void {
    if (this.#aborted) return;
    if (this.#mode === "gunzip") this.#gunzip!.end();
    else this.#tar.push(null);
  }

  /** abort: the tar side failed or the job stopped; nothing more is read. */
  abort(): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#gunzip?.destroy();
    this.#wrap?.destroy();
    const w = this.#rawWake;
    this.#rawWake = undefined;
    w?.();
  }

  #startGunzip(): void {
    // zlib streams take the stream options too (their types do not say so).
    const opts = { chunkSize: GUNZIP_OUT, writableHighWaterMark: GUNZIP_IN };
    const gz = createGunzip(opts);
    this.#gunzip = gz;
    this.#source = gz;
    gz.on("error", (err) => this.#fail(err));
    gz.on("data", (out: Buffer) => this.#fromGunzip(out));
    gz.on("end", () => this.#gunzipEnded());
  }

  #fail(err: unknown): void {
    if (this.#aborted) return;
    this.#tar.destroy(err as Error);
  }

  /** #push pushes into `tar`, pausing `from` while the tar side is full. */
  #push(from: Gunzip | Gzip, out: Buffer): void {
    if (!this.#tar.push(out)) from.pause();
  }

  #fromGunzip(out: Buffer): void {
    if (this.#aborted) return;
    if (this.#wrap !== undefined) {
      if (!this.#wrap.write(out)) this.#gunzip!.pause();
      return;
    }
    if (this.#head.length === 0 && this.#headBytes >= 6) {
      this.#push(this.#gunzip!, out);
      return;
    }
    // The first bytes decide how the tar side would see this tar (see the class doc).
    this.#head.push(out);
    this.#headBytes += out.length;
    if (this.#headBytes >= 6) this.#decideHead();
  }

  #gunzipEnded(): void {
    if (this.#aborted) return;
    if (this.#head.length > 0 || this.#headBytes === 0) this.#decideHead();
    if (this.#wrap !== undefined) this.#wrap.end();
    else this.#tar.push(null);
  }

  #decideHead(): void {
    const head = this.#head;
    this.#head = [];
    const first = head.length === 1 ? head[0]! : Buffer.concat(head);
    if (detectCompression(first.subarray(0, 6)) !== "none") {
      const wrap = createGzip({ level: 0, chunkSize: GUNZIP_OUT });
      this.#wrap = wrap;
      this.#source = wrap;
      const gz = this.#gunzip!;
      wrap.on("error", (err) => this.#fail(err));
      wrap.on("data", (out: Buffer) => {
        if (!this.#aborted) this.#push(wrap, out);
      });
      wrap.on("drain", () => gz.resume());
      wrap.on("end", () => {
        if (!this.#aborted) this.#tar.push(null);
      });
      this.#headBytes = 6;
      for (const out of head) if (!wrap.write(out)) gz.pause();
      return;
    }
    this.#headBytes = Math.max(6, this.#headBytes);
    for (const out of head) this.#push(this.#gunzip!, out);
  }
}

/** writeAllAt writes every byte of `bufs` at `position`, continuing after short writes. */
async function writeAllAt(fd: number, bufs: Buffer[], position: number): Promise<void> {
  let rest = bufs;
  let at = position;
  while (rest.length > 0) {
    const n = await new Promise<number>((res, rej) => {
      writev(fd, rest, at, (err, written) => (err ? rej(err) : res(written)));
    });
    if (n === 0) throw new Error("short write: no bytes written");
    at += n;
    rest = dropWritten(rest, n);
  }
}

/**
 * chunksOf iterates a byte stream chunk by chunk as it emits them ('data' events, paused while
 * a few wait), never through `read()`, which concatenates whatever was buffered into a copy.
 */
export async function* chunksOf(input: Readable, queueMax = 16): AsyncGenerator<Buffer> {
  const queue: Buffer[] = [];
  let ended = false;
  let error: unknown;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onData = (c: Buffer | string) => {
    queue.push(typeof c === "string" ? Buffer.from(c) : c);
    if (queue.length >= queueMax) input.pause();
    notify();
  };
  const onEnd = () => {
    ended = true;
    notify();
  };
  const onError = (err: unknown) => {
    error ??= err;
    notify();
  };
  const onClose = () => {
    // Closed without 'end' (destroyed): a truncated stream, never a complete one.
    if (!ended) error ??= Object.assign(new Error("premature close"), { code: "ERR_STREAM_PREMATURE_CLOSE" });
    notify();
  };
  if (input.readableEnded) return;
  if (input.destroyed) throw input.errored ?? new Error("premature close");
  input.on("data", onData);
  input.on("end", onEnd);
  input.on("error", onError);
  input.on("close", onClose);
  try {
    for (;;) {
      const c = queue.shift();
      if (c !== undefined) {
        if (queue.length < queueMax / 2 && input.isPaused()) input.resume();
        yield c;
        continue;
      }
      if (error !== undefined) throw error;
      if (ended) return;
      input.resume();
      await new Promise<void>((res) => {
        wake = res;
      });
    }
  } finally {
    input.off("data", onData);
    input.off("end", onEnd);
    input.off("error", onError);
    input.off("close", onClose);
    if (!ended) input.destroy();
  }
}
