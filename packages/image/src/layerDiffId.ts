import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { type Compression, DEFAULT_MAX_LAYER_BYTES, decompress, drainOrClose } from "@berth/archive";
import { InvalidArgument, isBerthError, ResourceExhausted } from "@berth/errdefs";
import type { Digest } from "@berth/oci";
import * as tar from "tar-stream";

/** What {@link layerDiffId} found about a layer blob. */
export interface LayerDiffId {
  /** The blob's compression, from its magic bytes. */
  readonly compression: Compression;
  /** sha256 of the uncompressed tar stream: the layer's diff ID. */
  readonly diffId: Digest;
  /** Sum of regular-file content sizes (docker's layer size). */
  readonly bytes: number;
  /** Uncompressed tar stream bytes. */
  readonly tarBytes: number;
}

/**
 * layerDiffId reads a layer blob once: it decompresses it (gzip, zstd or none), hashes every
 * uncompressed byte (the diff ID, including any padding after the end-of-archive blocks) and
 * parses the tar headers to measure its content, without touching the file system. A stream that
 * is not a tar is InvalidArgument; more than `maxBytes` uncompressed bytes is ResourceExhausted.
 * `plainDigest` gives the blob's own digest (read once the input has ended) when the caller
 * hashes the blob anyway: an uncompressed blob then takes it as its diff ID instead of hashing
 * the same bytes twice.
 */
export async function layerDiffId(
  input: Readable,
  opts: { maxBytes?: number; plainDigest?: () => Digest } = {},
): Promise<LayerDiffId> {
  const max = opts.maxBytes ?? DEFAULT_MAX_LAYER_BYTES;
  const { stream, compression } = await decompress(input);
  const hash = createHash("sha256");
  // An uncompressed blob's diff ID is its own digest: no need to hash the same bytes twice.
  const plainKnown = compression === "none" && opts.plainDigest !== undefined;
  const extract = tar.extract();
  let bytes = 0;
  let tarBytes = 0;
  let parsed = false;
  const consuming = (async () => {
    for await (const entry of extract) {
      const t = entry.header.type;
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        if (t === "file" || t === "contiguous-file") bytes += chunk.length;
      }
    }
    parsed = true;
  })();
  consuming.catch(() => {});
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      tarBytes += chunk.length;
      if (tarBytes > max) throw new ResourceExhausted(`layer exceeds the limit of ${max} bytes`);
      if (!plainKnown) hash.update(chunk);
      if (extract.destroyed || parsed) continue;
      if (!extract.write(chunk)) {
        await drainOrClose(extract);
      }
    }
    if (!extract.destroyed) extract.end(null);
    await consuming;
  } catch (err) {
    stream.destroy();
    extract.destroy();
    await consuming.catch(() => {});
    if (isBerthError(err)) throw err;
    throw new InvalidArgument(`invalid layer tar: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
  const diffId = plainKnown ? opts.plainDigest!() : (`sha256:${hash.digest("hex")}` as Digest);
  return { compression, diffId, bytes, tarBytes };
}
