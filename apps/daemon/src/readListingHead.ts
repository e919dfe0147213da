import { Readable } from "node:stream";
import { InvalidArgument } from "@berth/errdefs";

/** ContextEntry is one listed context path and its signature (see @berth/builder SyncedContexts). */
export interface ContextEntry {
  readonly path: string;
  readonly sig: string;
}

/** MAX_LISTING_BYTES bounds the JSON listing that heads an incremental context body. */
export const MAX_LISTING_BYTES = 64 * 1024 * 1024;

/** entriesOf decodes a listing's `[[path, sig], ...]` pairs. */
export function entriesOf(raw: unknown): ContextEntry[] {
  if (!Array.isArray(raw))
    throw new InvalidArgument("invalid context listing: expected an array of [path, sig]");
  return raw.map((e: unknown) => {
    if (!Array.isArray(e) || typeof e[0] !== "string" || typeof e[1] !== "string")
      throw new InvalidArgument("invalid context listing entry: expected [path, sig] strings");
    return { path: e[0], sig: e[1] };
  });
}

/**
 * readListingHead splits Berth's incremental context body (`POST /build?berthcontext=KEY`): one
 * line of JSON (`[[path, sig], ...]`, the whole filtered listing), a newline, then the tar of the
 * paths the daemon said it lacks. Returns the listing and the rest of the body as a stream.
 */
export async function readListingHead(
  body: AsyncIterable<Buffer>,
): Promise<{ entries: ContextEntry[]; tar: Readable }> {
  const it = body[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let size = 0;
  let rest: Buffer | undefined;
  for (;;) {
    const r = await it.next();
    if (r.done) break;
    const c = r.value;
    const nl = c.indexOf(0x0a);
    if (nl >= 0) {
      chunks.push(c.subarray(0, nl));
      rest = c.subarray(nl + 1);
      break;
    }
    size += c.length;
    if (size > MAX_LISTING_BYTES)
      throw new InvalidArgument(`context listing is larger than ${MAX_LISTING_BYTES} bytes`);
    chunks.push(c);
  }
  if (rest === undefined)
    throw new InvalidArgument("incremental context body ended before the listing's newline");
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch (err) {
    throw new InvalidArgument(`invalid context listing JSON: ${(err as Error).message}`);
  }
  const first = rest;
  async function* tail(): AsyncGenerator<Buffer> {
    if (first.length > 0) yield first;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  return { entries: entriesOf(raw), tar: Readable.from(tail(), { objectMode: false }) };
}
