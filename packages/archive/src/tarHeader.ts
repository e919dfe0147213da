import type { PackHeader } from "./packEntry.ts";

/** TAR_BLOCK is the tar record size: headers and padded contents are multiples of it. */
export const TAR_BLOCK = 512;

/** TAR_END is the end-of-archive marker: two zero blocks, as tar-stream's `finalize` writes. */
export const TAR_END: Buffer = Buffer.alloc(2 * TAR_BLOCK);

const TYPEFLAG: Record<string, number> = {
  file: 0,
  link: 1,
  symlink: 2,
  "character-device": 3,
  "block-device": 4,
  directory: 5,
  fifo: 6,
  "contiguous-file": 7,
  "pax-header": 72,
};

const ZEROS = "0000000000000000000";
const SEVENS = "7777777777777777777";

/**
 * tarPadding is how many zero bytes follow `size` bytes of content so that the next header
 * starts on a 512-byte boundary.
 */
export function tarPadding(size: number): number {
  const r = size & 511;
  return r === 0 ? 0 : TAR_BLOCK - r;
}

/**
 * encodeTarHeader returns the header block(s) of one entry, byte for byte what tar-stream's
 * `pack.entry` writes for the same header (so layers keep their digests): ustar with the name
 * split into prefix and name when longer than 100 bytes, and a PAX header (`path=`, `linkpath=`)
 * named `PaxHeader` when the name is not ASCII or does not fit, or the link name is longer than
 * 100 bytes. tar-stream's defaults apply: a missing or zero mode is 0755 for directories and
 * 0644 otherwise, missing ids are 0, a missing mtime is now, a symlink's size is 0.
 * The content (for files) and its {@link tarPadding} are the caller's to write.
 */
export function encodeTarHeader(header: PackHeader): Buffer {
  const type = header.type ?? "file";
  const h = {
    name: header.name,
    type,
    size: header.size === undefined || header.size === 0 || type === "symlink" ? 0 : header.size,
    mode:
      header.mode === undefined || header.mode === 0 ? (type === "directory" ? 0o755 : 0o644) : header.mode,
    uid: header.uid || 0,
    gid: header.gid || 0,
    mtime: header.mtime ?? new Date(),
    linkname: header.linkname ?? undefined,
    uname: header.uname,
    gname: header.gname,
    devmajor: header.devmajor,
    devminor: header.devminor,
  };
  const plain = encodeBlock(h);
  if (plain !== undefined) return plain;
  // tar-stream's _encodePax: a pax header block, the records padded to a block, then the entry
  // itself again under the name `PaxHeader`.
  let records = "";
  if (h.name) records += paxRecord(` path=${h.name}\n`);
  if (h.linkname) records += paxRecord(` linkpath=${h.linkname}\n`);
  const pax = Buffer.from(records);
  const linkname = h.linkname ? "PaxHeader" : undefined;
  const first = encodeBlock({ ...h, name: "PaxHeader", size: pax.length, type: "pax-header", linkname });
  const second = encodeBlock({ ...h, name: "PaxHeader", linkname });
  if (first === undefined || second === undefined)
    throw new Error("unreachable: PaxHeader fits a ustar header");
  return Buffer.concat([first, pax, Buffer.alloc(tarPadding(pax.length)), second]);
}

interface Fields {
  name: string;
  type: string;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
  linkname: string | undefined;
  uname: string | undefined;
  gname: string | undefined;
  devmajor: number | undefined;
  devminor: number | undefined;
}

/** encodeBlock is tar-stream's headers.encode: undefined where it returns null (a PAX header is needed). */
function encodeBlock(o: Fields): Buffer | undefined {
  let name = o.name;
  let prefix = "";
  if (Buffer.byteLength(name) !== name.length) return undefined;
  while (name.length > 100) {
    const i = name.indexOf("/");
    if (i === -1) return undefined;
    prefix += prefix ? `/${name.slice(0, i)}` : name.slice(0, i);
    name = name.slice(i + 1);
  }
  if (name.length > 100 || prefix.length > 155) return undefined;
  if (o.linkname && Buffer.byteLength(o.linkname) > 100) return undefined;
  const buf = Buffer.alloc(TAR_BLOCK);
  buf.write(name, 0, "utf8");
  buf.write(oct(o.mode & 0o7777, 6), 100, "latin1");
  buf.write(oct(o.uid, 6), 108, "latin1");
  buf.write(oct(o.gid, 6), 116, "latin1");
  encodeSize(o.size, buf, 124);
  buf.write(oct((o.mtime.getTime() / 1000) | 0, 11), 136, "latin1");
  buf[156] = 48 + (TYPEFLAG[o.type] ?? 0);
  if (o.linkname) buf.write(o.linkname, 157, "utf8");
  buf.write("ustar\x0000", 257, "latin1");
  if (o.uname) buf.write(o.uname, 265, "utf8");
  if (o.gname) buf.write(o.gname, 297, "utf8");
  buf.write(oct(o.devmajor || 0, 6), 329, "latin1");
  buf.write(oct(o.devminor || 0, 6), 337, "latin1");
  if (prefix) buf.write(prefix, 345, "utf8");
  buf.write(oct(checksum(buf), 6), 148, "latin1");
  return buf;
}

function oct(val: number, n: number): string {
  const s = val.toString(8);
  if (s.length > n) return `${SEVENS.slice(0, n)} `;
  return `${ZEROS.slice(0, n - s.length)}${s} `;
}

function encodeSize(num: number, buf: Buffer, off: number): void {
  if (num.toString(8).length > 11) {
    // base-256 for sizes of 8 GiB and more
    buf[off] = 0x80;
    let n = num;
    for (let i = 11; i > 0; i--) {
      buf[off + i] = n & 0xff;
      n = Math.floor(n / 0x100);
    }
  } else buf.write(oct(num, 11), off, "latin1");
}

function checksum(block: Buffer): number {
  let sum = 8 * 32;
  for (let i = 0; i < 148; i++) sum += block[i] as number;
  for (let j = 156; j < TAR_BLOCK; j++) sum += block[j] as number;
  return sum;
}

/** paxRecord prefixes a PAX record with its own length, as tar-stream's addLength does. */
function paxRecord(str: string): string {
  const len = Buffer.byteLength(str);
  let digits = Math.floor(Math.log(len) / Math.log(10)) + 1;
  if (len + digits >= 10 ** digits) digits++;
  return `${len + digits}${str}`;
}
