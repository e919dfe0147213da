import { createHash } from "node:crypto";
import { closeSync, fchmodSync, fsync, mkdirSync, openSync, writev } from "node:fs";
import { Readable } from "node:stream";
import { applyLayer, DEFAULT_MAX_LAYER_BYTES, dropWritten } from "@berth/archive";
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
      const w = wake;
      wake = undefined;
      w?.();
    },
  });
  tar.on("error", () => {});
  let tarError: unknown;
  let tarFailed = false;
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
        if (!tarFailed && !tar.push(chunk)) {
          await new Promise<void>((res) => {
            wake = res;
          });
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
    tar.destroy();
    await reading;
    throw err;
  }
  if (!tarFailed) tar.push(null);
  const read = await reading;
  const digest = `sha256:${blobHash.digest("hex")}` as Digest;
  if (read === undefined) return { digest, size, bytes: 0, unpacked: false, tarError };
  return { digest, size, diffId: read.diffId, bytes: read.bytes, unpacked: read.unpacked };
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
