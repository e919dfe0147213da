import { Internal, InvalidArgument, ResourceExhausted } from "@berth/errdefs";

/**
 * JSON-lines progress messages, as streamed by pull, push, build, import and load. Each line
 * is one JSON object; a line with `error`/`errorDetail` is a terminal failure.
 *
 * @since 0.1.0
 */

/** JSONProgressDetail is the byte counter of a progress line (`{"current":..,"total":..}`); the swagger's ProgressDetail plus fields dockerd sends. */
export interface JSONProgressDetail {
  current?: number;
  total?: number;
  start?: number;
  /** Set by some daemons when the counter is not bytes. */
  units?: string;
  hidecounts?: boolean;
}

/** JSONErrorDetail is the structured error of a failed stream (`{"errorDetail":{"message":..}}`). */
export interface JSONErrorDetail {
  code?: number;
  message: string;
}

/** JSONMessage is one line of a JSON-lines progress stream (docker's `jsonmessage.JSONMessage`). */
export interface JSONMessage {
  /** Build output text (`docker build` classic). */
  stream?: string;
  status?: string;
  progressDetail?: JSONProgressDetail;
  /** Pre-rendered progress bar, kept for old clients. */
  progress?: string;
  id?: string;
  from?: string;
  time?: number;
  timeNano?: number;
  errorDetail?: JSONErrorDetail;
  /** Deprecated copy of errorDetail.message, still sent by dockerd. */
  error?: string;
  /** Auxiliary payload, e.g. `{"ID":"sha256:..."}` after a build or `{"Tag":..,"Digest":..}` after a push. */
  aux?: unknown;
}

/** MAX_JSON_LINE_BYTES bounds one buffered line so a daemon that never sends "\n" cannot exhaust memory. */
export const MAX_JSON_LINE_BYTES = 16 * 1024 * 1024;

/** encodeJSONMessage renders one message as a line (JSON plus "\n"), as dockerd writes it. */
export function encodeJSONMessage(msg: JSONMessage): Buffer {
  return Buffer.from(`${JSON.stringify(msg)}\n`);
}

/** errorMessage builds the line a daemon writes when a stream fails: both `errorDetail` and `error`. */
export function errorMessage(message: string, code?: number): JSONMessage {
  return { errorDetail: code === undefined ? { message } : { code, message }, error: message };
}

/** jsonMessageError returns the error text carried by a message, or undefined when it is not an error line. */
export function jsonMessageError(msg: JSONMessage): string | undefined {
  if (msg.errorDetail && typeof msg.errorDetail.message === "string") return msg.errorDetail.message;
  if (typeof msg.error === "string" && msg.error !== "") return msg.error;
  return undefined;
}

/** JSONMessageError is the Error thrown for an error line; `detail` keeps the daemon's code if any. */
export class JSONMessageError extends Internal {
  readonly detail: JSONErrorDetail;
  constructor(detail: JSONErrorDetail) {
    super(detail.message, { code: "ERR_STREAM" });
    this.detail = detail;
  }
}

/** throwIfError throws {@link JSONMessageError} when `msg` is an error line, else returns it. */
export function throwIfError(msg: JSONMessage): JSONMessage {
  const text = jsonMessageError(msg);
  if (text !== undefined) {
    throw new JSONMessageError({
      ...(msg.errorDetail?.code !== undefined ? { code: msg.errorDetail.code } : {}),
      message: text,
    });
  }
  return msg;
}

/**
 * JSONLinesDecoder is a pure incremental decoder of newline-delimited JSON. Lines may be split
 * at any byte (including inside a multi-byte UTF-8 character); blank lines and "\r" are ignored.
 * Throws InvalidArgument on a line that is not JSON and ResourceExhausted on a line longer than the limit.
 */
export class JSONLinesDecoder<T = JSONMessage> {
  private parts: Buffer[] = [];
  private size = 0;

  constructor(private readonly maxLineBytes: number = MAX_JSON_LINE_BYTES) {}

  /** push consumes a chunk and returns every complete value it finishes. */
  push(chunk: Uint8Array): T[] {
    const out: T[] = [];
    let buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    for (;;) {
      const nl = buf.indexOf(0x0a);
      if (nl < 0) break;
      const line =
        this.parts.length === 0 ? buf.subarray(0, nl) : Buffer.concat([...this.parts, buf.subarray(0, nl)]);
      this.parts = [];
      this.size = 0;
      this.check(line.length);
      const v = parseLine<T>(line);
      if (v !== undefined) out.push(v);
      buf = buf.subarray(nl + 1);
    }
    if (buf.length > 0) {
      this.size += buf.length;
      this.check(this.size);
      this.parts.push(buf);
    }
    return out;
  }

  /** end returns the last value when the stream did not end with "\n". */
  end(): T[] {
    if (this.size === 0) return [];
    const line = Buffer.concat(this.parts);
    this.parts = [];
    this.size = 0;
    const v = parseLine<T>(line);
    return v === undefined ? [] : [v];
  }

  private check(n: number): void {
    if (n > this.maxLineBytes) {
      throw new ResourceExhausted(
        `json line of more than ${this.maxLineBytes} bytes, expected at most that`,
        {
          code: "ERR_JSON_LINE_TOO_LONG",
        },
      );
    }
  }
}

function parseLine<T>(line: Buffer): T | undefined {
  const text = line.toString("utf8").trim();
  if (text === "") return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new InvalidArgument(
      `invalid json line: expected a json value, found ${JSON.stringify(text.slice(0, 200))}`,
      { code: "ERR_BAD_JSON_LINE" },
    );
  }
}

/**
 * decodeJSONLines turns a byte stream into its JSON values, as an async iterator. It does not
 * throw on error lines: callers decide (see {@link throwIfError}).
 */
export async function* decodeJSONLines<T = JSONMessage>(
  source: AsyncIterable<Uint8Array | string>,
): AsyncGenerator<T, void, undefined> {
  const d = new JSONLinesDecoder<T>();
  for await (const chunk of source) {
    for (const v of d.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk)) yield v;
  }
  for (const v of d.end()) yield v;
}
