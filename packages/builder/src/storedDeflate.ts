import { constants, deflateRawSync } from "node:zlib";

/** Stored-block layouts by input length: each block's 5-byte header and how much input it holds. */
const layouts = new Map<number, ReadonlyArray<{ readonly header: Buffer; readonly len: number }>>();

/**
 * storedDeflate returns, as a list of buffers, exactly what zlib's `deflateRaw` makes of `block`
 * at level 0 with a sync flush (as {@link createParallelGzip} calls it for incompressible blocks),
 * without copying the data: the stored-block headers are taken from zlib itself, once per input
 * length, by deflating zeros of that length. At level 0 zlib's block boundaries depend only on the
 * input length and its buffer sizes, never on the bytes; the tests compare against zlib on random
 * data of many lengths. The returned buffers share memory with `block`.
 */
export function storedDeflate(block: Buffer): Buffer[] {
  const layout = layoutOf(block.length);
  const out: Buffer[] = [];
  let off = 0;
  for (const { header, len } of layout) {
    out.push(header);
    if (len > 0) out.push(block.subarray(off, off + len));
    off += len;
  }
  return out;
}

function layoutOf(length: number): ReadonlyArray<{ readonly header: Buffer; readonly len: number }> {
  const known = layouts.get(length);
  if (known !== undefined) return known;
  const z = deflateRawSync(Buffer.alloc(length), {
    level: constants.Z_NO_COMPRESSION,
    finishFlush: constants.Z_SYNC_FLUSH,
  });
  const layout: Array<{ header: Buffer; len: number }> = [];
  let p = 0;
  let total = 0;
  while (p < z.length) {
    const hdr = z[p] as number;
    const len = z.readUInt16LE(p + 1);
    if ((hdr & 0b110) !== 0 || (len ^ 0xffff) !== z.readUInt16LE(p + 3))
      throw new Error(`unexpected zlib level-0 output at byte ${p}: not a stored block`);
    layout.push({ header: Buffer.from(z.subarray(p, p + 5)), len });
    p += 5 + len;
    total += len;
  }
  if (total !== length) throw new Error(`zlib level-0 layout covers ${total} of ${length} bytes`);
  if (layouts.size > 64) layouts.clear();
  layouts.set(length, layout);
  return layout;
}
