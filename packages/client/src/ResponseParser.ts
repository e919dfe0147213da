import type { IncomingHttpHeaders } from "node:http";
import { Internal } from "@berth/errdefs";

/** MAX_HEADER_BYTES is the default limit of a response head (status line plus headers), 64 KiB. */
export const MAX_HEADER_BYTES = 64 * 1024;

/** ResponseHead is a parsed status line and header block, headers lower-cased as node:http does. */
export interface ResponseHead {
  readonly statusCode: number;
  readonly statusMessage: string;
  /** "1.1" or "1.0". */
  readonly httpVersion: string;
  readonly headers: IncomingHttpHeaders;
  /** Header names and values as received, alternating (like IncomingMessage.rawHeaders). */
  readonly rawHeaders: readonly string[];
}

/**
 * ParseEvent is one thing the parser found: the head, a piece of body, the end of the body, or an
 * upgrade (the connection now belongs to another protocol; `rest` is what followed the head).
 */
export type ParseEvent =
  | { readonly type: "head"; readonly head: ResponseHead }
  | { readonly type: "body"; readonly data: Buffer }
  | { readonly type: "end" }
  | { readonly type: "upgrade"; readonly head: ResponseHead; readonly rest: Buffer };

/** ResponseParserOptions configure a {@link ResponseParser}. */
export interface ResponseParserOptions {
  /** The request method: a HEAD answer has no body. */
  readonly method: string;
  /** Limit of the head in bytes (default {@link MAX_HEADER_BYTES}). */
  readonly maxHeaderBytes?: number;
  /**
   * takeOver decides whether a final head hands the connection over (default: status 101).
   * Docker's hijack also accepts a 200 whose body is a raw stream.
   */
  readonly takeOver?: (head: ResponseHead) => boolean;
}

type Framing = { kind: "none" } | { kind: "length"; left: number } | { kind: "chunked" } | { kind: "close" };

type ChunkState = "size" | "data" | "dataEnd" | "trailer" | "done";

/** Headers node:http keeps only once (a duplicate is dropped) instead of joining with ", ". */
const SINGLE = new Set([
  "age",
  "authorization",
  "content-length",
  "content-type",
  "etag",
  "expires",
  "from",
  "host",
  "if-modified-since",
  "if-unmodified-since",
  "last-modified",
  "location",
  "max-forwards",
  "proxy-authorization",
  "referer",
  "retry-after",
  "server",
  "user-agent",
]);

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: ([^\r\n]*))?$/;
/** A chunk-size line (hex size plus extensions) longer than this is malformed. */
const MAX_CHUNK_LINE = 4096;
/** Chunk sizes above 2^52 cannot be counted exactly. */
const MAX_HEX_DIGITS = 13;

/**
 * ResponseParser is an incremental HTTP/1.1 response decoder: feed it socket bytes with
 * {@link ResponseParser.push} (split anywhere) and the end of the connection with
 * {@link ResponseParser.finish}; it returns what it found. It frames bodies by Content-Length,
 * `Transfer-Encoding: chunked` (with chunk extensions and trailers) or until close, knows that
 * HEAD, 1xx, 204 and 304 answers have no body, skips interim 1xx heads, and stops at an upgrade.
 * Malformed input throws Internal (code ERR_HTTP_PARSE); after that the parser is unusable.
 */
export class ResponseParser {
  private readonly method: string;
  private readonly maxHeaderBytes: number;
  private readonly takeOver: (head: ResponseHead) => boolean;
  private phase: "head" | "body" | "done" = "head";
  private pending: Buffer = Buffer.alloc(0);
  private framing: Framing = { kind: "none" };
  private chunkState: ChunkState = "size";
  private chunkLeft = 0;
  private trailerBytes = 0;
  private headScanFrom = 0;

  constructor(opts: ResponseParserOptions) {
    this.method = opts.method.toUpperCase();
    this.maxHeaderBytes = opts.maxHeaderBytes ?? MAX_HEADER_BYTES;
    this.takeOver = opts.takeOver ?? ((h) => h.statusCode === 101);
  }

  /** done tells whether the response is complete (or handed over). */
  get done(): boolean {
    return this.phase === "done";
  }

  /** discarded counts bytes that followed the complete response (ignored: one response per connection). */
  discarded = 0;

  /** push feeds bytes read from the connection; bytes after a complete response are counted in {@link discarded}. */
  push(chunk: Buffer): ParseEvent[] {
    const out: ParseEvent[] = [];
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    while (buf.length > 0) {
      if (this.phase === "head") {
        const used = this.parseHead(buf, out);
        if (used < 0) {
          this.pending = buf;
          return out;
        }
        buf = buf.subarray(used);
        const last = out.at(-1);
        if (last?.type === "upgrade") {
          out[out.length - 1] = { ...last, rest: Buffer.from(buf) };
          return out;
        }
      } else if (this.phase === "body") {
        buf = this.parseBody(buf, out);
      } else {
        // one response per connection: whatever follows it (a sloppy body on HEAD or 204) is dropped
        this.discarded += buf.length;
        break;
      }
    }
    return out;
  }

  /** finish reports the end of the connection: ends a close-delimited body, else throws if incomplete. */
  finish(): ParseEvent[] {
    if (this.phase === "done") return [];
    if (this.phase === "head") {
      throw parseError(
        this.pending.length === 0
          ? "the daemon closed the connection without a response"
          : `the daemon closed the connection inside the response headers (after ${this.pending.length} bytes)`,
      );
    }
    const f = this.framing;
    if (f.kind === "close") {
      this.phase = "done";
      return [{ type: "end" }];
    }
    if (f.kind === "length") {
      throw parseError(`response body ended early: ${f.left} of its Content-Length bytes are missing`);
    }
    throw parseError("chunked response body ended before its last chunk");
  }

  /** parseHead consumes one head from buf; returns the bytes used, or -1 if more are needed. */
  private parseHead(buf: Buffer, out: ParseEvent[]): number {
    const end = findHeadEnd(buf, this.headScanFrom);
    if (end < 0) {
      if (buf.length > this.maxHeaderBytes) {
        throw parseError(`response headers exceed ${this.maxHeaderBytes} bytes`);
      }
      // the next search starts just before the bytes seen so far (the end marker is 2-3 bytes)
      this.headScanFrom = Math.max(0, buf.length - 3);
      return -1;
    }
    this.headScanFrom = 0;
    if (end > this.maxHeaderBytes) throw parseError(`response headers exceed ${this.maxHeaderBytes} bytes`);
    const head = parseHeadText(buf.subarray(0, end).toString("latin1"));
    const used = end + (buf[end] === 0x0d ? 2 : 1);
    const code = head.statusCode;
    if (code >= 100 && code < 200 && code !== 101) return used; // interim answer: the real one follows
    if (this.takeOver(head)) {
      this.phase = "done";
      out.push({ type: "upgrade", head, rest: Buffer.alloc(0) });
      return used;
    }
    this.framing = this.framingOf(head);
    out.push({ type: "head", head });
    if (this.framing.kind === "none" || (this.framing.kind === "length" && this.framing.left === 0)) {
      this.phase = "done";
      out.push({ type: "end" });
    } else {
      this.phase = "body";
    }
    return used;
  }

  private framingOf(head: ResponseHead): Framing {
    const code = head.statusCode;
    if (this.method === "HEAD" || code < 200 || code === 204 || code === 304) return { kind: "none" };
    const te = head.headers["transfer-encoding"];
    if (te !== undefined) {
      const codings = te
        .split(",")
        .map((s) => s.trim().toLowerCase())
        .filter((s) => s !== "");
      return codings.at(-1) === "chunked" ? { kind: "chunked" } : { kind: "close" };
    }
    const values: string[] = [];
    for (let i = 0; i < head.rawHeaders.length; i += 2) {
      if (head.rawHeaders[i]!.toLowerCase() === "content-length") {
        for (const v of head.rawHeaders[i + 1]!.split(",")) values.push(v.trim());
      }
    }
    if (values.length === 0) return { kind: "close" };
    const first = values[0]!;
    if (!/^\d{1,15}$/.test(first) || values.some((v) => v !== first)) {
      throw parseError(
        `invalid Content-Length ${JSON.stringify(values.join(", "))}, expected one decimal number`,
      );
    }
    return { kind: "length", left: Number.parseInt(first, 10) };
  }

  /** parseBody consumes body bytes; returns what is left (only after the end: extra bytes). */
  private parseBody(buf: Buffer, out: ParseEvent[]): Buffer {
    const f = this.framing;
    if (f.kind === "close") {
      out.push({ type: "body", data: buf });
      return Buffer.alloc(0);
    }
    if (f.kind === "length") {
      const n = Math.min(f.left, buf.length);
      out.push({ type: "body", data: buf.subarray(0, n) });
      f.left -= n;
      if (f.left === 0) {
        this.phase = "done";
        out.push({ type: "end" });
      }
      return buf.subarray(n);
    }
    return this.parseChunked(buf, out);
  }

  private parseChunked(buf: Buffer, out: ParseEvent[]): Buffer {
    let pos = 0;
    while (pos < buf.length) {
      switch (this.chunkState) {
        case "size": {
          const nl = buf.indexOf(0x0a, pos);
          if (nl < 0) {
            if (buf.length - pos > MAX_CHUNK_LINE) throw parseError("chunk size line is too long");
            this.pending = Buffer.from(buf.subarray(pos));
            return Buffer.alloc(0);
          }
          if (nl - pos > MAX_CHUNK_LINE) throw parseError("chunk size line is too long");
          const line = stripCR(buf.subarray(pos, nl).toString("latin1"));
          pos = nl + 1;
          const m = /^([0-9A-Fa-f]+)[ \t]*(;.*)?$/.exec(line);
          if (!m || m[1]!.length > MAX_HEX_DIGITS) {
            throw parseError(
              `invalid chunk size line ${JSON.stringify(line.slice(0, 64))}, expected hex digits`,
            );
          }
          this.chunkLeft = Number.parseInt(m[1]!, 16);
          this.chunkState = this.chunkLeft === 0 ? "trailer" : "data";
          this.trailerBytes = 0;
          break;
        }
        case "data": {
          const n = Math.min(this.chunkLeft, buf.length - pos);
          out.push({ type: "body", data: buf.subarray(pos, pos + n) });
          this.chunkLeft -= n;
          pos += n;
          if (this.chunkLeft === 0) this.chunkState = "dataEnd";
          break;
        }
        case "dataEnd": {
          // CRLF (or a bare LF) after the chunk data
          const b = buf[pos]!;
          if (b === 0x0a) {
            pos++;
            this.chunkState = "size";
          } else if (b === 0x0d) {
            if (pos + 1 >= buf.length) {
              this.pending = Buffer.from(buf.subarray(pos));
              return Buffer.alloc(0);
            }
            if (buf[pos + 1] !== 0x0a) throw parseError("missing CRLF after chunk data");
            pos += 2;
            this.chunkState = "size";
          } else {
            throw parseError("missing CRLF after chunk data");
          }
          break;
        }
        case "trailer": {
          // trailer fields (ignored) up to an empty line
          const nl = buf.indexOf(0x0a, pos);
          if (nl < 0) {
            // the partial line is kept and counted once it is complete
            if (this.trailerBytes + buf.length - pos > this.maxHeaderBytes) {
              throw parseError(`response trailers exceed ${this.maxHeaderBytes} bytes`);
            }
            this.pending = Buffer.from(buf.subarray(pos));
            return Buffer.alloc(0);
          }
          const line = stripCR(buf.subarray(pos, nl).toString("latin1"));
          this.trailerBytes += nl + 1 - pos;
          if (this.trailerBytes > this.maxHeaderBytes) {
            throw parseError(`response trailers exceed ${this.maxHeaderBytes} bytes`);
          }
          pos = nl + 1;
          if (line === "") {
            this.chunkState = "done";
            this.phase = "done";
            out.push({ type: "end" });
            return buf.subarray(pos);
          }
          if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:/.test(line)) {
            throw parseError(`invalid trailer line ${JSON.stringify(line.slice(0, 64))}`);
          }
          break;
        }
        case "done":
          return buf.subarray(pos);
      }
    }
    return Buffer.alloc(0);
  }
}

function parseError(message: string): Internal {
  return new Internal(`malformed http response from the daemon: ${message}`, { code: "ERR_HTTP_PARSE" });
}

function stripCR(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}

/** findHeadEnd returns the index of the empty line ending the head (its CR or LF), or -1. */
function findHeadEnd(buf: Buffer, start: number): number {
  let from = start;
  for (;;) {
    const nl = buf.indexOf(0x0a, from);
    if (nl < 0 || nl + 1 >= buf.length) return -1;
    const next = buf[nl + 1];
    if (next === 0x0a) return nl + 1;
    if (next === 0x0d) {
      if (nl + 2 >= buf.length) return -1;
      if (buf[nl + 2] === 0x0a) return nl + 1;
    }
    from = nl + 1;
  }
}

/** parseHeadText parses the status line and header fields (without the final empty line). */
function parseHeadText(text: string): ResponseHead {
  const lines = text.split("\n").map(stripCR);
  if (lines.at(-1) === "") lines.pop();
  const statusLine = lines[0] ?? "";
  const m = STATUS_LINE.exec(statusLine);
  if (!m) {
    throw parseError(
      `invalid status line ${JSON.stringify(statusLine.slice(0, 100))}, expected "HTTP/1.1 <code> <reason>"`,
    );
  }
  const rawHeaders: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith(" ") || line.startsWith("\t")) {
      // obsolete line folding: continues the previous value
      if (rawHeaders.length === 0) throw parseError("header continuation line before any header");
      rawHeaders[rawHeaders.length - 1] = `${rawHeaders.at(-1)} ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(":");
    const name = colon < 0 ? "" : line.slice(0, colon);
    if (!TOKEN.test(name)) throw parseError(`invalid header line ${JSON.stringify(line.slice(0, 100))}`);
    rawHeaders.push(name, line.slice(colon + 1).trim());
  }
  const headers: IncomingHttpHeaders = {};
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const key = rawHeaders[i]!.toLowerCase();
    const value = rawHeaders[i + 1]!;
    const prev = headers[key];
    if (key === "set-cookie") headers[key] = [...((prev as string[] | undefined) ?? []), value];
    else if (prev === undefined) headers[key] = value;
    else if (!SINGLE.has(key)) headers[key] = `${prev}, ${value}`;
  }
  return {
    statusCode: Number.parseInt(m[2]!, 10),
    statusMessage: m[3] ?? "",
    httpVersion: `1.${m[1]}`,
    headers,
    rawHeaders,
  };
}
