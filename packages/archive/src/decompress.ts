import { spawn } from "node:child_process";
import { PassThrough, Readable, type Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as zlib from "node:zlib";
import { InvalidArgument, NotImplemented } from "@berth/errdefs";

/** GUNZIP_CHUNK is the size of gunzip's output buffers (zlib's default is 16 KiB). */
const GUNZIP_CHUNK = 256 * 1024;

/** Compression is a layer stream's compression, as detected from its magic bytes. */
export type Compression = "none" | "gzip" | "zstd" | "bzip2" | "xz";

/**
 * detectCompression inspects the first bytes of a stream (at least 6 for a
 * definite answer) and names its compression; anything unknown is "none".
 */
export function detectCompression(head: Uint8Array): Compression {
  const b = (i: number) => head[i];
  if (b(0) === 0x1f && b(1) === 0x8b) return "gzip";
  if (b(0) === 0x28 && b(1) === 0xb5 && b(2) === 0x2f && b(3) === 0xfd) return "zstd";
  if (b(0) === 0x42 && b(1) === 0x5a && b(2) === 0x68) return "bzip2";
  if (b(0) === 0xfd && b(1) === 0x37 && b(2) === 0x7a && b(3) === 0x58 && b(4) === 0x5a && b(5) === 0x00) {
    return "xz";
  }
  return "none";
}

/** Result of {@link decompress}. */
export interface Decompressed {
  /** The uncompressed bytes. */
  readonly stream: Readable;
  /** What was detected on the input. */
  readonly compression: Compression;
}

/**
 * peek reads at least `n` bytes (fewer at end of stream) and returns them with
 * a stream that replays them followed by the rest of `input`.
 */
async function peek(input: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const chunks: Buffer[] = [];
  let length = 0;
  let done = false;
  while (length < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    const chunk = typeof r.value === "string" ? Buffer.from(r.value) : r.value;
    chunks.push(chunk);
    length += chunk.length;
  }
  const head = Buffer.concat(chunks);
  async function* replay(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield typeof r.value === "string" ? Buffer.from(r.value) : r.value;
    }
  }
  return { head, stream: Readable.from(replay(), { objectMode: false }) };
}

type ZstdFactory = () => Transform;

function nodeZstd(): ZstdFactory | undefined {
  const f = (zlib as unknown as { createZstdDecompress?: ZstdFactory }).createZstdDecompress;
  return typeof f === "function" ? f : undefined;
}

/**
 * zstdViaBinary pipes `input` through `zstd -d` (Node 20's zlib has no zstd).
 * A missing binary becomes NotImplemented; a non-zero exit becomes
 * InvalidArgument carrying zstd's stderr.
 */
function zstdViaBinary(input: Readable): Readable {
  const out = new PassThrough();
  const child = spawn("zstd", ["-d", "-c", "-q"], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  let exited = false;
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (s: string) => {
    if (stderr.length < 4096) stderr += s;
  });
  child.on("error", (err) => {
    const code = (err as { code?: string }).code;
    out.destroy(
      code === "ENOENT"
        ? new NotImplemented(
            "zstd-compressed layers need the zstd binary (node 20 zlib has no zstd); install zstd",
          )
        : err,
    );
  });
  child.on("close", (code) => {
    exited = true;
    if (code !== 0 && code !== null) {
      out.destroy(
        new InvalidArgument(`invalid zstd stream: zstd exited with code ${code}: ${stderr.trim()}`),
      );
    }
  });
  out.on("close", () => {
    if (!exited) child.kill("SIGKILL");
  });
  child.stdout.pipe(out);
  pipeline(input, child.stdin).catch((err: unknown) => {
    // EPIPE when zstd quits early is reported through its exit code instead.
    if ((err as { code?: string }).code !== "EPIPE") out.destroy(err as Error);
  });
  return out;
}

/**
 * decompress detects gzip or zstd by magic bytes and returns the uncompressed
 * stream; uncompressed input passes through unchanged. bzip2 and xz are
 * recognised and refused with NotImplemented. zstd uses Node's zlib when it
 * has it, else the `zstd` binary when present, else NotImplemented.
 */
export async function decompress(input: Readable): Promise<Decompressed> {
  const { head, stream } = await peek(input, 6);
  const compression = detectCompression(head);
  switch (compression) {
    case "none":
      return { stream, compression };
    case "gzip": {
      // Larger output chunks: a quarter of the callbacks, tar parser writes and file writes.
      const gunzip = zlib.createGunzip({ chunkSize: GUNZIP_CHUNK });
      stream.on("error", (err) => gunzip.destroy(err));
      gunzip.on("close", () => stream.destroy());
      return { stream: stream.pipe(gunzip), compression };
    }
    case "zstd": {
      const factory = nodeZstd();
      if (factory !== undefined) {
        const z = factory();
        stream.on("error", (err) => z.destroy(err));
        z.on("close", () => stream.destroy());
        return { stream: stream.pipe(z), compression };
      }
      return { stream: zstdViaBinary(stream), compression };
    }
    default:
      throw new NotImplemented(`unsupported layer compression ${compression}: expected gzip, zstd or none`);
  }
}
