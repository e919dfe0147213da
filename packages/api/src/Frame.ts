/**
 * The multiplexed stream framing used by attach, logs and exec when the container has no TTY:
 * each frame is an 8-byte header `[stream, 0, 0, 0, size(uint32 big-endian)]` followed by
 * `size` bytes of payload. Stream 0 is stdin, 1 stdout, 2 stderr (and 3 is the systemerr
 * stream newer daemons use to report an error in the middle of a stream).
 *
 * @since 0.1.0
 */

/** StreamType is the first header byte: 0 stdin, 1 stdout, 2 stderr, 3 systemerr. */
export type StreamType = 0 | 1 | 2 | 3;

/** FRAME_HEADER_SIZE is the length of a multiplexed frame header in bytes. */
export const FRAME_HEADER_SIZE = 8;

/** MAX_FRAME_PAYLOAD is the largest payload a 32-bit size field can announce. */
export const MAX_FRAME_PAYLOAD = 0xffff_ffff;

/** Frame is one decoded frame: which stream it belongs to and its payload. */
export interface Frame {
  readonly stream: StreamType;
  readonly payload: Buffer;
}

/**
 * encodeFrame builds one frame: header plus a copy of `payload`. Throws RangeError when the
 * payload is longer than {@link MAX_FRAME_PAYLOAD} or the stream byte is not 0..3.
 */
export function encodeFrame(stream: StreamType, payload: Uint8Array): Buffer {
  if (stream !== 0 && stream !== 1 && stream !== 2 && stream !== 3) {
    throw new RangeError(`invalid stream type ${String(stream)}, expected 0, 1, 2 or 3`);
  }
  if (payload.length > MAX_FRAME_PAYLOAD) {
    throw new RangeError(`frame payload of ${payload.length} bytes exceeds ${MAX_FRAME_PAYLOAD}`);
  }
  const out = Buffer.allocUnsafe(FRAME_HEADER_SIZE + payload.length);
  out[0] = stream;
  out[1] = 0;
  out[2] = 0;
  out[3] = 0;
  out.writeUInt32BE(payload.length, 4);
  out.set(payload, FRAME_HEADER_SIZE);
  return out;
}

/** streamName maps a frame's stream byte to the name the client exposes ("stdout" for 0 and 1). */
export function streamName(stream: StreamType): "stdin" | "stdout" | "stderr" | "systemerr" {
  switch (stream) {
    case 0:
      return "stdin";
    case 1:
      return "stdout";
    case 2:
      return "stderr";
    default:
      return "systemerr";
  }
}
