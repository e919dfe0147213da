import { InvalidArgument } from "@berth/errdefs";
import { FRAME_HEADER_SIZE, type Frame, type StreamType } from "./Frame.ts";

/**
 * FrameDecoder is a pure incremental decoder of the multiplexed stream format. Feed it chunks
 * as they arrive with {@link FrameDecoder.push}; it returns every frame completed by that chunk
 * and keeps partial headers and payloads for the next call, so a frame may be split at any
 * byte. Call {@link FrameDecoder.end} when the input ends to detect a truncated frame.
 *
 * Zero-length frames are returned (docker sends them rarely, but they are valid).
 *
 * @since 0.1.0
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** push consumes a chunk and returns the frames it completes, in order. */
  push(chunk: Uint8Array): Frame[] {
    if (chunk.length > 0) {
      this.chunks.push(
        Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length),
      );
      this.buffered += chunk.length;
    }
    const frames: Frame[] = [];
    for (;;) {
      if (this.buffered < FRAME_HEADER_SIZE) break;
      const header = this.peek(FRAME_HEADER_SIZE);
      const stream = header[0]!;
      if (stream > 3) {
        throw new InvalidArgument(
          `invalid multiplexed stream header: stream byte ${stream}, expected 0, 1, 2 or 3 (is the stream raw, from a tty?)`,
          { code: "ERR_BAD_FRAME" },
        );
      }
      const size = header.readUInt32BE(4);
      if (this.buffered < FRAME_HEADER_SIZE + size) break;
      this.take(FRAME_HEADER_SIZE);
      frames.push({ stream: stream as StreamType, payload: this.take(size) });
    }
    return frames;
  }

  /** pending is the number of bytes held for an incomplete frame. */
  get pending(): number {
    return this.buffered;
  }

  /** end throws InvalidArgument when the input stopped in the middle of a frame. */
  end(): void {
    if (this.buffered > 0) {
      throw new InvalidArgument(`multiplexed stream ended inside a frame: ${this.buffered} bytes left over`, {
        code: "ERR_TRUNCATED_FRAME",
      });
    }
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    const joined = Buffer.concat(this.chunks);
    this.chunks = [joined];
    return joined.subarray(0, n);
  }

  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      const parts: Buffer[] = [];
      let need = n;
      while (need > 0) {
        const c = this.chunks[0]!;
        if (c.length <= need) {
          parts.push(c);
          this.chunks.shift();
          need -= c.length;
        } else {
          parts.push(c.subarray(0, need));
          this.chunks[0] = c.subarray(need);
          need = 0;
        }
      }
      out = Buffer.concat(parts, n);
    }
    this.buffered -= n;
    return out;
  }
}
