import { PassThrough, type Readable, Writable } from "node:stream";
import { Internal, NotFound } from "@berth/errdefs";
import { SeqpacketSocket } from "node-unix-socket";

/** Stream markers conmon puts in the first byte of each attach packet (conmon `stdpipe_t`). */
export const ATTACH_STDOUT = 2;
/** See {@link ATTACH_STDOUT}. */
export const ATTACH_STDERR = 3;

/**
 * conmon reads at most 32 KiB - 1 per packet from an attach client and a
 * SOCK_SEQPACKET read truncates the rest, so stdin is sent in smaller packets.
 */
const STDIN_PACKET = 8192;

/**
 * Attachment is a live connection to a container's stdio through conmon.
 * With a terminal, all output arrives on `stdout`. Ending `stdin` (or
 * {@link Attachment.closeStdin}) half-closes the socket, which makes conmon
 * close the container's stdin unless the container was created with
 * `leaveStdinOpen`. Both readables end when conmon closes the socket (the
 * container exited) or on {@link Attachment.close}.
 */
export interface Attachment {
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly stdin: Writable;
  /** Half-close: no more input; output keeps flowing. */
  closeStdin(): void;
  /** Drop the connection (the container keeps running). */
  close(): void;
  /** Settles when the socket is closed, by either side. */
  readonly closed: Promise<void>;
  [Symbol.dispose](): void;
}

/**
 * connectAttach connects to conmon's SOCK_SEQPACKET attach socket at `path`
 * (`<bundle>/attach` with `--full-attach`) and demultiplexes its packets.
 */
export async function connectAttach(path: string): Promise<Attachment> {
  const sock = new SeqpacketSocket();
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    sock.once("error", onError);
    try {
      sock.connect(path, () => {
        sock.off("error", onError);
        resolve();
      });
    } catch (err) {
      reject(err);
    }
  }).catch((err: unknown) => {
    sock.destroy();
    const code = (err as { code?: string }).code ?? String((err as Error).message);
    if (/ENOENT|ECONNREFUSED/.test(code)) {
      throw new NotFound(`no attach socket at ${path}: the container's monitor is not running`, {
        cause: err,
      });
    }
    throw new Internal(`cannot connect to attach socket ${path}: ${(err as Error).message}`, { cause: err });
  });

  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => {
    resolveClosed = r;
  });
  let ended = false;
  // The socket's fd is not close-on-exec (node-unix-socket cannot ask for it), so it must be
  // closed as soon as the stream ends: left open, each exec and health probe kept one fd, and
  // every later runc/conmon spawn had to go through the fd-closing wrapper.
  const finish = () => {
    if (ended) return;
    ended = true;
    stdout.end();
    stderr.end();
    try {
      sock.destroy();
    } catch {
      // closed already
    }
    resolveClosed();
  };
  sock.on("data", (buf: Buffer) => {
    if (buf.length === 0) return;
    const kind = buf[0];
    const payload = buf.subarray(1);
    if (kind === ATTACH_STDERR) stderr.write(payload);
    else stdout.write(payload);
  });
  sock.on("end", finish);
  sock.on("close", finish);
  sock.on("error", (err: Error) => {
    stdout.destroy(err);
    stderr.destroy(err);
    finish();
  });

  let stdinClosed = false;
  const stdin = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (ended) {
        cb();
        return;
      }
      let off = 0;
      const next = () => {
        if (off >= chunk.length) {
          cb();
          return;
        }
        const len = Math.min(STDIN_PACKET, chunk.length - off);
        const start = off;
        off += len;
        try {
          sock.write(chunk, start, len, next);
        } catch (err) {
          cb(err as Error);
        }
      };
      next();
    },
    final(cb) {
      if (!stdinClosed && !ended) {
        stdinClosed = true;
        try {
          sock.end();
        } catch {
          // already closed
        }
      }
      cb();
    },
  });

  const close = () => finish();
  return {
    stdout,
    stderr,
    stdin,
    closeStdin: () => {
      stdin.end();
    },
    close,
    closed,
    [Symbol.dispose]: close,
  };
}
