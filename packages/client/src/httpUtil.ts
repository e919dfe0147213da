import type { IncomingHttpHeaders } from "node:http";
import { compareVersions, MULTIPLEXED_STREAM, RAW_STREAM } from "@berth/api";

/** isMultiplexed decides the framing: the Content-Type on API >= 1.42, else the TTY flag (never sniffed). */
export function isMultiplexed(headers: IncomingHttpHeaders, version: string, tty: boolean): boolean {
  const type = headerString(headers, "content-type") ?? "";
  if (type.startsWith(MULTIPLEXED_STREAM)) return true;
  if (type.startsWith(RAW_STREAM) && compareVersions(version, "1.42") >= 0) return false;
  return !tty;
}

/** headerString reads one header as a string. */
export function headerString(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** isStreamLike tells a request body stream from a JSON value. */
export function isStreamLike(v: unknown): v is AsyncIterable<Uint8Array> | NodeJS.ReadableStream {
  return (
    typeof v === "object" &&
    v !== null &&
    (typeof (v as { pipe?: unknown }).pipe === "function" ||
      typeof (v as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === "function")
  );
}

/** readAll buffers a response body. */
export async function readAll(res: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of res) parts.push(c);
  return Buffer.concat(parts);
}

/** enc escapes a container or exec id for a path segment. */
export function enc(id: string): string {
  return encodeURIComponent(id);
}

/** encName keeps "/" and ":" readable in image names (docker sends them unescaped). */
export function encName(name: string): string {
  return encodeURI(name).replaceAll("?", "%3F").replaceAll("#", "%23");
}
