import type { Socket } from "node:net";
import { PassThrough } from "node:stream";
import { FrameDecoder } from "@berth/api";
import { Internal } from "@berth/errdefs";

/** OutputChunk is one piece of container output, tagged with the stream it came from. */
export interface OutputChunk {
  readonly stream: "stdout" | "stderr";
  readonly data: Buffer;
}

/**
 * AttachStream is a hijacked attach (or exec) connection: an explicit duplex.
 *
 * - `stdin` writes to the container; `closeWrite()` (or `stdin.end()`) half-closes the
 *   connection (TCP/UNIX FIN) so the container sees EOF while its output keeps flowing.
 * - `output` yields stdout/stderr chunks (raw when the container has a TTY: all "stdout");
 *   iterate it to the end, or the socket stays paused and `done` never settles.
 * - `done` resolves when the daemon closes the stream, rejects on a socket error.
 * - `close()` (or `await using`) destroys the connection.
 */
export interface AttachStream {
  readonly stdin: NodeJS.WritableStream;
  readonly output: AsyncIterable<OutputChunk>;
  closeWrite(): void;
  close(): void;
  readonly done: Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * createAttachStream wraps an upgraded socket. `head` is what Node read past the 101 headers;
 * `multiplexed` selects the 8-byte frame decoder (no TTY) or raw output (TTY), decided by the
 * caller from the Content-Type and TTY flag, never by sniffing bytes.
 */
export function createAttachStream(socket: Socket, head: Buffer, multiplexed: boolean): AttachStream {
  const stdin = new PassThrough();
  stdin.pipe(socket, { end: false });
  let writeClosed = false;
  const closeWrite = (): void => {
    if (writeClosed) return;
    writeClosed = true;
    stdin.unpipe(socket);
    // Flush whatever stdin already buffered, then send FIN.
    const rest = stdin.read() as Buffer | null;
    if (rest && !socket.destroyed) socket.write(rest);
    if (!socket.destroyed) socket.end();
  };
  stdin.on("finish", () => {
    // stdin.end(): wait until the piped data has been handed to the socket.
    setImmediate(closeWrite);
  });

  let failure: Error | undefined;
  socket.on("error", (err) => {
    failure = err;
  });
  const done = new Promise<void>((resolve, reject) => {
    socket.once("close", () => {
      stdin.destroy();
      if (failure && !isBenign(failure)) reject(failure);
      else resolve();
    });
  });
  done.catch(() => {});

  async function* output(): AsyncGenerator<OutputChunk, void, undefined> {
    const decoder = multiplexed ? new FrameDecoder() : undefined;
    function* convert(chunk: Buffer): Generator<OutputChunk> {
      if (!decoder) {
        if (chunk.length > 0) yield { stream: "stdout", data: chunk };
        return;
      }
      for (const f of decoder.push(chunk)) {
        if (f.stream === 2) yield { stream: "stderr", data: f.payload };
        else if (f.stream === 3)
          throw new Internal(f.payload.toString("utf8").trim(), { code: "ERR_SYSTEMERR" });
        else yield { stream: "stdout", data: f.payload };
      }
    }
    yield* convert(head);
    try {
      for await (const chunk of socket as AsyncIterable<Buffer>) yield* convert(chunk);
    } catch (err) {
      if (!isBenign(err)) throw err;
    }
  }

  const close = (): void => {
    stdin.destroy();
    socket.destroy();
  };
  return {
    stdin,
    output: output(),
    closeWrite,
    close,
    done,
    async [Symbol.asyncDispose]() {
      close();
      await done.catch(() => {});
    },
  };
}

function isBenign(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "ECONNRESET" || code === "EPIPE" || code === "ERR_STREAM_PREMATURE_CLOSE";
}
