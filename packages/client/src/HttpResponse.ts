import type { IncomingHttpHeaders } from "node:http";
import type { Socket } from "node:net";
import { Readable } from "node:stream";
import type { ResponseHead } from "./ResponseParser.ts";

/** Upgraded is a connection handed over after the head: the socket and the bytes read past the head. */
export interface Upgraded {
  readonly socket: Socket;
  readonly head: Buffer;
}

/**
 * HttpResponse is an Engine API answer, shaped like node's IncomingMessage: `statusCode`,
 * `statusMessage`, lower-cased `headers`, and the body as a Readable (async-iterable Buffers).
 * `destroy()` closes the connection. After an upgrade (attach, exec start) the body is empty and
 * `upgrade` holds the connection.
 */
export class HttpResponse extends Readable {
  /** statusCode is the HTTP status, e.g. 200. */
  readonly statusCode: number;
  /** statusMessage is the reason phrase, e.g. "OK" (docker sends "UPGRADED" with 101). */
  readonly statusMessage: string;
  /** httpVersion is "1.1" or "1.0". */
  readonly httpVersion: string;
  /** headers are the response headers, names lower-cased, duplicates combined as node:http does. */
  readonly headers: IncomingHttpHeaders;
  /** rawHeaders are names and values as received, alternating. */
  readonly rawHeaders: readonly string[];
  /** upgrade is the handed-over connection of a 101 (or hijacked 200) answer. */
  readonly upgrade: Upgraded | undefined;
  private readonly onRead: () => void;
  private readonly onDestroy: (err: Error | null) => void;

  /** @internal created by the transport; `onRead` resumes the socket, `onDestroy` closes it. */
  constructor(
    head: ResponseHead,
    hooks: { onRead: () => void; onDestroy: (err: Error | null) => void },
    upgrade?: Upgraded,
  ) {
    super();
    this.statusCode = head.statusCode;
    this.statusMessage = head.statusMessage;
    this.httpVersion = head.httpVersion;
    this.headers = head.headers;
    this.rawHeaders = head.rawHeaders;
    this.upgrade = upgrade;
    this.onRead = hooks.onRead;
    this.onDestroy = hooks.onDestroy;
  }

  override _read(): void {
    this.onRead();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.onDestroy(err);
    cb(err);
  }
}
