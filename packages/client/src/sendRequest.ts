import { connect, type Socket } from "node:net";
import type { Readable } from "node:stream";
import { InvalidArgument } from "@berth/errdefs";
import type { DockerHost } from "./DockerHost.ts";
import { HttpResponse } from "./HttpResponse.ts";
import { type ResponseHead, ResponseParser } from "./ResponseParser.ts";

/** TIMEOUT_CODE is the `code` of the error a request fails with when its idle timeout fires. */
export const TIMEOUT_CODE = "ETIMEDOUT_BERTH";

/** TransportRequest is one HTTP/1.1 request for {@link sendRequest}. */
export interface TransportRequest {
  readonly target: DockerHost;
  readonly method: string;
  /** Path and query, already encoded. */
  readonly path: string;
  /** Header names as they should appear; Host, Connection and the body framing are added when absent. */
  readonly headers: Readonly<Record<string, string>>;
  /** A Buffer is sent with Content-Length; a stream is sent chunked unless Content-Length is given. */
  readonly body?: Buffer | Readable | undefined;
  /** Aborting destroys the connection; the request (or the body) fails with an AbortError. */
  readonly signal?: AbortSignal | undefined;
  /** Idle timeout in ms over connect, send, wait and body; fails with code {@link TIMEOUT_CODE}. */
  readonly timeoutMs?: number | undefined;
  /** Decides whether a head hands the connection over (see {@link HttpResponse.upgrade}); default 101. */
  readonly takeOver?: (head: ResponseHead) => boolean;
}

/**
 * sendRequest is Berth's HTTP/1.1 transport on `node:net` (node:http costs ~40 ms to load): it
 * opens one connection (UNIX socket or TCP) per request, writes the request with backpressure,
 * and resolves with the response as soon as its head is parsed; the body streams from the
 * resolved {@link HttpResponse}. Connection errors reject with the socket's error (errno in
 * `code`); a malformed answer rejects (or fails the body) with Internal.
 */
export function sendRequest(req: TransportRequest): Promise<HttpResponse> {
  let head: Buffer;
  try {
    head = requestHead(req);
  } catch (err) {
    return Promise.reject(err);
  }
  return new Promise<HttpResponse>((resolve, reject) => {
    const signal = req.signal;
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const target = req.target;
    const socket: Socket =
      target.kind === "unix"
        ? connect({ path: target.socketPath })
        : connect({ host: target.hostname, port: target.port });
    if (target.kind === "tcp") socket.setNoDelay(true);
    const parser = new ResponseParser({
      method: req.method,
      ...(req.takeOver === undefined ? {} : { takeOver: req.takeOver }),
    });
    let res: HttpResponse | undefined;
    const bodyBuffer = Buffer.isBuffer(req.body) ? req.body : undefined;
    const bodyStream = Buffer.isBuffer(req.body) ? undefined : (req.body as Readable | undefined);
    const chunked = bodyStream !== undefined && !hasHeader(req.headers, "content-length");
    // finished: the response is complete, failed, or handed over; the socket is no longer ours.
    let finished = false;

    const onAbort = (): void => fail(abortError(signal));
    const release = (): void => {
      finished = true;
      signal?.removeEventListener("abort", onAbort);
      socket.setTimeout(0);
      socket.removeListener("data", onData);
      socket.removeListener("end", onEnd);
      if (bodyStream) {
        // the daemon answered (or we failed) before the body was sent: stop reading it, like unpipe
        bodyStream.removeListener("data", onBodyData);
        bodyStream.pause();
      }
    };
    function fail(err: Error): void {
      if (finished) return;
      release();
      socket.destroy();
      if (res) res.destroy(err);
      else reject(err);
    }
    const hooks = {
      onRead: (): void => {
        if (!finished) socket.resume();
      },
      onDestroy: (): void => {
        if (finished) return;
        release();
        socket.destroy();
      },
    };
    function onData(chunk: Buffer): void {
      let events: ReturnType<ResponseParser["push"]>;
      try {
        events = parser.push(chunk);
      } catch (err) {
        fail(err as Error);
        return;
      }
      for (const ev of events) {
        if (ev.type === "head") {
          res = new HttpResponse(ev.head, hooks);
          resolve(res);
        } else if (ev.type === "body") {
          if (ev.data.length > 0 && res && !res.push(ev.data)) socket.pause();
        } else if (ev.type === "end") {
          release();
          socket.destroy();
          res?.push(null);
        } else {
          release();
          socket.pause();
          const up = new HttpResponse(
            ev.head,
            { onRead: () => {}, onDestroy: () => {} },
            { socket, head: ev.rest },
          );
          up.push(null);
          resolve(up);
        }
      }
    }
    function onEnd(): void {
      if (finished) return;
      let events: ReturnType<ResponseParser["finish"]>;
      try {
        events = parser.finish();
      } catch (err) {
        fail(err as Error);
        return;
      }
      if (events.length > 0) {
        release();
        socket.destroy();
        res?.push(null);
      }
    }
    function onBodyData(chunk: Buffer | string): void {
      const data = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      if (finished || socket.destroyed || data.length === 0) return;
      const ok = writeBodyChunk(data);
      if (!ok && bodyStream) {
        bodyStream.pause();
        socket.once("drain", () => bodyStream.resume());
      }
    }
    function writeBodyChunk(data: Buffer): boolean {
      if (!chunked) return socket.write(data);
      socket.cork();
      socket.write(`${data.length.toString(16)}\r\n`);
      socket.write(data);
      const ok = socket.write("\r\n");
      socket.uncork();
      return ok;
    }

    socket.on("error", (err) => fail(err));
    socket.on("data", onData);
    socket.on("end", onEnd);
    socket.on("close", () => {
      // closed without an 'end' or 'error' (e.g. destroyed under us)
      if (!finished) fail(Object.assign(new Error("socket closed"), { code: "ECONNRESET" }));
    });
    signal?.addEventListener("abort", onAbort, { once: true });
    if (req.timeoutMs !== undefined) {
      const ms = req.timeoutMs;
      socket.setTimeout(ms, () => {
        fail(Object.assign(new Error(`request timed out after ${ms} ms`), { code: TIMEOUT_CODE }));
      });
    }

    if (bodyBuffer) socket.write(Buffer.concat([head, bodyBuffer]));
    else socket.write(head);
    if (bodyStream) {
      bodyStream.on("data", onBodyData);
      bodyStream.once("end", () => {
        if (!finished && !socket.destroyed && chunked) socket.write("0\r\n\r\n");
      });
      bodyStream.once("error", (err: Error) => fail(err));
    }
  });
}

/** requestHead renders the request line and headers (throws InvalidArgument on CR/LF injection). */
function requestHead(req: TransportRequest): Buffer {
  if (!/^[A-Z]+$/.test(req.method)) {
    throw new InvalidArgument(
      `invalid http method ${JSON.stringify(req.method)}, expected upper-case letters`,
    );
  }
  if (!/^\/[\x21-\x7e]*$/.test(req.path)) {
    throw new InvalidArgument(
      `invalid request path ${JSON.stringify(req.path)}, expected an encoded absolute path`,
    );
  }
  const lines = [`${req.method} ${req.path} HTTP/1.1`];
  const target = req.target;
  if (!hasHeader(req.headers, "host")) {
    if (target.kind === "unix") lines.push("Host: api.moby.localhost");
    else {
      const host = target.hostname.includes(":") ? `[${target.hostname}]` : target.hostname;
      lines.push(`Host: ${host}:${target.port}`);
    }
  }
  for (const [name, value] of Object.entries(req.headers)) {
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name) || /[\r\n\0]/.test(value)) {
      throw new InvalidArgument(
        `invalid request header ${JSON.stringify(name)}, expected a token and a single-line value`,
      );
    }
    lines.push(`${name}: ${value}`);
  }
  if (!hasHeader(req.headers, "connection")) lines.push("Connection: close");
  const body = req.body;
  if (body !== undefined && !hasHeader(req.headers, "content-length")) {
    lines.push(Buffer.isBuffer(body) ? `Content-Length: ${body.length}` : "Transfer-Encoding: chunked");
  }
  return Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
}

function hasHeader(headers: Readonly<Record<string, string>>, name: string): boolean {
  for (const k of Object.keys(headers)) if (k.toLowerCase() === name) return true;
  return false;
}

function abortError(signal: AbortSignal | undefined): Error {
  return Object.assign(new Error("the operation was aborted", { cause: signal?.reason }), {
    name: "AbortError",
    code: "ABORT_ERR",
  });
}
