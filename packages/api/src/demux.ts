import { Transform, type TransformCallback } from "node:stream";
import type { Frame } from "./Frame.ts";
import { FrameDecoder } from "./FrameDecoder.ts";

/**
 * demux decodes a multiplexed stream (any async iterable of byte chunks, such as a Node
 * Readable or a socket) into frames, as an async iterator. A stream that ends inside a frame
 * rejects with InvalidArgument (ERR_TRUNCATED_FRAME).
 *
 * @example
 * for await (const { stream, payload } of demux(res)) process.stdout.write(payload);
 * @since 0.1.0
 */
export async function* demux(
  source: AsyncIterable<Uint8Array | string>,
): AsyncGenerator<Frame, void, undefined> {
  const decoder = new FrameDecoder();
  for await (const chunk of source) {
    const frames = decoder.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
    for (const f of frames) yield f;
  }
  decoder.end();
}

/**
 * FrameDecoderStream is the same decoder as a Node Transform: bytes in, {@link Frame} objects
 * out (object mode on the readable side).
 *
 * @since 0.1.0
 */
export class FrameDecoderStream extends Transform {
  private readonly decoder = new FrameDecoder();

  constructor() {
    super({ readableObjectMode: true });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      for (const f of this.decoder.push(chunk)) this.push(f);
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    try {
      this.decoder.end();
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }
}
