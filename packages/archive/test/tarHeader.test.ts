import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as tar from "tar-stream";
import { describe, expect, it } from "vitest";
import { encodeTarHeader, type PackHeader, TAR_END, tarPadding } from "../src/index.ts";

/** What tar-stream's pack writes for one body-less entry (or an entry with `body`), end marker dropped. */
async function viaTarStream(header: PackHeader, body?: Buffer): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on("data", (c: unknown) => chunks.push(c as Buffer));
  const ended = new Promise<void>((res) => pack.on("end", () => res()));
  await new Promise<void>((res, rej) => {
    const cb = (err?: Error | null) => (err ? rej(err) : res());
    if (body !== undefined) pack.entry({ ...header }, body, cb);
    else if (header.type === "file" || header.type === undefined)
      pack.entry({ ...header }, Buffer.alloc(0), cb);
    else pack.entry({ ...header }, cb);
  });
  pack.finalize();
  await ended;
  const all = Buffer.concat(chunks);
  return all.subarray(0, all.length - TAR_END.length);
}

function viaEncoder(header: PackHeader, body?: Buffer): Buffer {
  const size = body?.length ?? 0;
  const parts = [encodeTarHeader({ ...header, ...(body === undefined ? {} : { size }) })];
  if (body !== undefined && header.type !== "symlink") parts.push(body, Buffer.alloc(tarPadding(size)));
  return Buffer.concat(parts);
}

const mtime = new Date(1_600_000_000_000);
const cases: Array<[string, PackHeader, Buffer?]> = [
  [
    "plain file",
    { name: "etc/hosts", type: "file", mode: 0o644, uid: 0, gid: 0, mtime },
    Buffer.from("127.0.0.1\n"),
  ],
  [
    "file of 512 bytes",
    { name: "a", type: "file", mode: 0o600, uid: 1000, gid: 1000, mtime },
    Buffer.alloc(512, 7),
  ],
  ["empty whiteout", { name: "dir/.wh.gone", type: "file", size: 0, mode: 0o644, mtime: new Date(0) }],
  ["opaque marker", { name: "dir/.wh..wh..opq", type: "file", size: 0, mode: 0o644, mtime: new Date(0) }],
  ["directory", { name: "usr/local/", type: "directory", mode: 0o755, uid: 0, gid: 0, mtime }],
  ["mode 0 directory gets 0755", { name: "locked/", type: "directory", mode: 0, mtime }],
  ["mode 0 file gets 0644", { name: "locked", type: "file", mode: 0, mtime }],
  ["setuid bits", { name: "bin/su", type: "file", mode: 0o4755, mtime }, Buffer.from("x")],
  ["symlink", { name: "bin/sh", type: "symlink", linkname: "busybox", mode: 0o777, mtime }],
  ["hard link", { name: "bin/hard", type: "link", linkname: "bin/busybox", size: 0, mode: 0o755, mtime }],
  ["fifo", { name: "run/pipe", type: "fifo", mode: 0o600, mtime }],
  [
    "char device",
    { name: "dev/null", type: "character-device", devmajor: 1, devminor: 3, mode: 0o666, mtime },
  ],
  ["block device", { name: "dev/sda", type: "block-device", devmajor: 8, devminor: 0, mode: 0o660, mtime }],
  ["name of 100 bytes", { name: "n".repeat(100), type: "file", mode: 0o644, mtime }, Buffer.from("x")],
  [
    "long name split into prefix",
    { name: `${"d".repeat(120)}/${"f".repeat(90)}`, type: "file", mode: 0o644, mtime },
    Buffer.from("long"),
  ],
  ["long dir name", { name: `${"a/".repeat(70)}`, type: "directory", mode: 0o755, mtime }],
  [
    "long name without slash (pax)",
    { name: "x".repeat(150), type: "file", mode: 0o644, mtime },
    Buffer.from("p"),
  ],
  [
    "prefix over 155 bytes (pax)",
    { name: `${"p".repeat(160)}/${"q".repeat(50)}`, type: "file", mode: 0o644, mtime },
    Buffer.from("p"),
  ],
  ["utf-8 name (pax)", { name: "café/naïve.txt", type: "file", mode: 0o644, mtime }, Buffer.from("u")],
  [
    "long symlink target (pax)",
    { name: "l", type: "symlink", linkname: "t".repeat(130), mode: 0o777, mtime },
  ],
  [
    "long name and long hard link (pax)",
    { name: "h".repeat(140), type: "link", linkname: "g".repeat(140), size: 0, mode: 0o644, mtime },
  ],
  [
    "huge ids",
    { name: "ids", type: "file", mode: 0o644, uid: 2 ** 24, gid: 4_000_000, mtime },
    Buffer.from("i"),
  ],
  ["mtime in the far past", { name: "old", type: "file", mode: 0o644, mtime: new Date(-86_400_000) }],
  ["pax record length crossing a power of ten", { name: "é".repeat(40), type: "file", mode: 0o644, mtime }],
];

describe("encodeTarHeader", () => {
  for (const [what, header, body] of cases) {
    it(`writes what tar-stream writes: ${what}`, async () => {
      const want = await viaTarStream(header, body);
      expect(viaEncoder(header, body).equals(want)).toBe(true);
    });
  }

  it("encodes sizes of 8 GiB and more in base-256 as tar-stream does", async () => {
    const header: PackHeader = { name: "big", type: "file", size: 9 * 1024 ** 3, mode: 0o644, mtime };
    // tar-stream only writes the header once the body arrives; compare against its encoder directly.
    const require = createRequire(import.meta.url);
    const { encode } = require(join(dirname(require.resolve("tar-stream")), "headers.js")) as {
      encode(h: object): Buffer;
    };
    const want = encode({ ...header, uid: 0, gid: 0 });
    expect(encodeTarHeader(header).equals(want)).toBe(true);
    expect(encodeTarHeader(header)[124]).toBe(0x80);
  });

  it("pads contents to the next 512-byte boundary", () => {
    expect([0, 1, 511, 512, 513, 1024].map(tarPadding)).toEqual([0, 511, 1, 0, 511, 0]);
  });
});
