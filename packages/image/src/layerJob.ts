import { createHash } from "node:crypto";
import { closeSync, fchmodSync, fsyncSync, mkdirSync, openSync, writev } from "node:fs";
import { Readable } from "node:stream";
import { applyLayer, DEFAULT_MAX_LAYER_BYTES, dropWritten } from "@berth/archive";
import { FailedPrecondition } from "@berth/errdefs";
import type { Digest } from "@berth/oci";
import { layerDiffId } from "./layerDiffId.ts";
import { WRITE_BATCH } from "./writevAll.ts";

/** TAR_BUFFER is how many bytes the tar side may lag behind the blob side. */
const TAR_BUFFER = 8 * 1024 * 1024;

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
  input: AsyncIterable<Buffer>,
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
    highWaterMark: TAR_BUFFER,
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
      for await (const chunk of input) {
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
      fsyncSync(fd);
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
