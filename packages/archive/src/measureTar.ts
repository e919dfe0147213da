import type { Readable } from "node:stream";
import { InvalidArgument, isBerthError, ResourceExhausted } from "@berth/errdefs";
import * as tar from "tar-stream";
import { DEFAULT_MAX_LAYER_BYTES } from "./applyLayer.ts";
import { decompress } from "./decompress.ts";
import { drainOrClose } from "./drainOrClose.ts";

/** What {@link measureTar} found. */
export interface TarMeasure {
  /** Number of entries. */
  readonly entries: number;
  /** Sum of regular-file content sizes (docker's layer size). */
  readonly bytes: number;
  /** Uncompressed tar stream bytes. */
  readonly tarBytes: number;
}

/**
 * measureTar parses a (possibly compressed) tar stream without touching the
 * file system and reports its entry count and content size. Bounded by
 * `maxBytes` uncompressed bytes like {@link applyLayer}.
 */
export async function measureTar(input: Readable, opts: { maxBytes?: number } = {}): Promise<TarMeasure> {
  const max = opts.maxBytes ?? DEFAULT_MAX_LAYER_BYTES;
  const { stream } = await decompress(input);
  const extract = tar.extract();
  let entries = 0;
  let bytes = 0;
  let tarBytes = 0;
  let feedError: unknown;
  const feed = (async () => {
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        tarBytes += chunk.length;
        if (tarBytes > max) throw new ResourceExhausted(`tar stream exceeds the limit of ${max} bytes`);
        if (!extract.write(chunk)) {
          await drainOrClose(extract);
          if (extract.destroyed) return;
        }
      }
      extract.end(null);
    } catch (err) {
      feedError ??= err;
      extract.destroy(err as Error);
    }
  })();
  try {
    for await (const entry of extract) {
      entries++;
      const t = entry.header.type;
      if (t === null || t === undefined) {
        throw new InvalidArgument(`unsupported tar entry type for ${JSON.stringify(entry.header.name)}`);
      }
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        if (t === "file" || t === "contiguous-file") bytes += chunk.length;
      }
    }
    await feed;
    if (feedError !== undefined) throw feedError;
  } catch (err) {
    stream.destroy();
    extract.destroy();
    await feed;
    const first = feedError ?? err;
    if (isBerthError(first)) throw first;
    throw new InvalidArgument(`invalid tar stream: ${(first as Error)?.message ?? String(first)}`, {
      cause: first,
    });
  }
  return { entries, bytes, tarBytes };
}
