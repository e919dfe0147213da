/**
 * decodeSource turns Dockerfile bytes into a string without losing anything: valid UTF-8 is
 * decoded, and every byte that is not part of a valid sequence becomes the lone surrogate
 * U+DC00+byte (Python's "surrogateescape"), so the dump can print it as `\xNN` like Go does.
 */
export function decodeSource(source: string | Uint8Array): string {
  if (typeof source === "string") return source;
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(source);
  } catch {
    return decodeLossless(source);
  }
}

function decodeLossless(b: Uint8Array): string {
  let out = "";
  let i = 0;
  while (i < b.length) {
    const c = b[i] ?? 0;
    const n = sequenceLength(b, i);
    if (n === 0) {
      out += String.fromCharCode(0xdc00 + c);
      i++;
      continue;
    }
    out += new TextDecoder().decode(b.subarray(i, i + n));
    i += n;
  }
  return out;
}

/** sequenceLength is the length of the valid UTF-8 sequence at i, or 0 if there is none. */
function sequenceLength(b: Uint8Array, i: number): number {
  const c = b[i] ?? 0;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => {
    const x = b[i + k];
    return x !== undefined && x >= lo && x <= hi;
  };
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c >= 0xe1 && c <= 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/** byteLength is the UTF-8 length of a decoded line, counting escaped bytes as one. */
export function byteLength(s: string): number {
  let n = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp >= 0xdc80 && cp <= 0xdcff) n += 1;
    else if (cp < 0x80) n += 1;
    else if (cp < 0x800) n += 2;
    else if (cp < 0x10000) n += 3;
    else n += 4;
  }
  return n;
}
