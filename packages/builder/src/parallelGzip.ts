import { availableParallelism } from "node:os";
import { Transform, type TransformCallback } from "node:stream";
import { promisify } from "node:util";
import { constants, crc32, deflateRaw } from "node:zlib";

const deflateRawAsync = promisify(deflateRaw) as (buf: Buffer, opts: object) => Promise<Buffer>;

/** Input is cut into blocks of this size, each deflated on its own (as pigz does). */
export const GZIP_BLOCK_BYTES = 1024 * 1024;

/** Bytes per entropy sample (three per block: start, middle, end). */
const SAMPLE_BYTES = 4096;

/** Above this entropy (bits per byte; 8 is random) a block is stored, not deflated. */
export const INCOMPRESSIBLE_BITS = 7.8;

/** The gzip header: deflate, no name, mtime 0, OS unix: constant, so layer digests are reproducible. */
export const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03]);

/** An empty final deflate block (fixed Huffman, BFINAL set), ending the stream. */
export const FINAL_BLOCK = Buffer.from([0x03, 0x00]);

/**
 * sampleEntropy estimates a block's Shannon entropy in bits per byte from three 4 KiB samples.
 * Random and already-compressed data (archives, media) measure about 7.98; text and binaries
 * well below 7.
 */
export function sampleEntropy(block: Uint8Array): number {
  const counts = new Uint32Array(256);
  let n = 0;
  const take = (start: number) => {
    const s = Math.max(0, start);
    const end = Math.min(block.length, s + SAMPLE_BYTES);
    for (let i = s; i < end; i++) counts[block[i] as number] = (counts[block[i] as number] as number) + 1;
    n += Math.max(0, end - s);
  };
  if (block.length <= 3 * SAMPLE_BYTES) take(0);
  else {
    take(0);
    take(Math.floor(block.length / 2) - SAMPLE_BYTES / 2);
    take(block.length - SAMPLE_BYTES);
  }
  if (n === 0) return 0;
  let h = 0;
  for (const c of counts) {
    if (c === 0) continue;
    const p = c / n;
    h -= p * Math.log2(p);
  }
  return h;
}

/** Options of {@link createParallelGzip}. */
export interface ParallelGzipOptions {
  /** zlib level for compressible blocks (default zlib's default, 6). */
  readonly level?: number;
  /** Blocks deflated at once on the libuv thread pool (default: the CPU count). */
  readonly concurrency?: number;
}

/**
 * createParallelGzip is a gzip compressor that works like pigz: the input is cut into 1 MiB
 * blocks, each deflated independently with zlib's async API (on the libuv thread pool, off the
 * main thread, several blocks at once), each ending with a sync flush so the pieces concatenate
 * into one valid deflate stream; one gzip member with the CRC-32 and size of the whole input.
 * Blocks whose sampled entropy says they are incompressible (random data, compressed files) are
 * stored at level 0: zlib deflates those at ~40 MB/s for no gain, level 0 copies them at memory
 * speed. The output depends only on the input bytes (block boundaries are fixed offsets), so a
 * layer's digest is reproducible. Any gunzip reads it.
 */
export function createParallelGzip(opts: ParallelGzipOptions = {}): Transform {
  const level = opts.level ?? constants.Z_DEFAULT_COMPRESSION;
  const concurrency = Math.max(1, opts.concurrency ?? availableParallelism());
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let crc = 0;
  let total = 0;
  const inflight: Array<Promise<Buffer>> = [];
  let headerSent = false;

  const start = (block: Buffer) => {
    crc = crc32(block, crc);
    total += block.length;
    const lvl = sampleEntropy(block) > INCOMPRESSIBLE_BITS ? constants.Z_NO_COMPRESSION : level;
    const p = deflateRawAsync(block, { level: lvl, finishFlush: constants.Z_SYNC_FLUSH });
    p.catch(() => {}); // observed when awaited in order
    inflight.push(p);
  };
  const pushHeader = (t: Transform) => {
    if (!headerSent) {
      headerSent = true;
      t.push(GZIP_HEADER);
    }
  };

  return new Transform({
    async transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      try {
        pushHeader(this);
        pending.push(chunk);
        pendingBytes += chunk.length;
        while (pendingBytes >= GZIP_BLOCK_BYTES) {
          const all = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes);
          start(all.subarray(0, GZIP_BLOCK_BYTES));
          const rest = all.subarray(GZIP_BLOCK_BYTES);
          pending = rest.length > 0 ? [rest] : [];
          pendingBytes = rest.length;
          // Bounded memory: wait for the oldest block once `concurrency` are in flight.
          while (inflight.length >= concurrency) this.push(await (inflight.shift() as Promise<Buffer>));
        }
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
    async flush(cb: TransformCallback) {
      try {
        pushHeader(this);
        if (pendingBytes > 0) start(Buffer.concat(pending, pendingBytes));
        pending = [];
        while (inflight.length > 0) this.push(await (inflight.shift() as Promise<Buffer>));
        const trailer = Buffer.alloc(8);
        trailer.writeUInt32LE(crc >>> 0, 0);
        trailer.writeUInt32LE(total % 2 ** 32, 4);
        this.push(Buffer.concat([FINAL_BLOCK, trailer]));
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
  });
}
