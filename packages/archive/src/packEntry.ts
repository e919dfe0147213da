import { constants } from "node:fs";
import { open } from "node:fs/promises";
import type * as tar from "tar-stream";

/** A tar header as tar-stream takes it; only the name is required. */
export type PackHeader = Partial<tar.Header> & { name: string };

/**
 * packEntry adds a body-less entry (directory, link, symlink, device, fifo, or an empty file such as
 * a whiteout) to a tar-stream pack and resolves once it is written.
 */
export function packEntry(pack: tar.Pack, header: PackHeader): Promise<void> {
  return new Promise((res, rej) => {
    // A "file" entry without a body would wait for its body stream: give it an empty one.
    if (header.type === "file" || header.type === undefined)
      pack.entry(header, Buffer.alloc(0), (err) => (err ? rej(err) : res()));
    else pack.entry(header, (err) => (err ? rej(err) : res()));
  });
}

/**
 * packFile adds a regular file's content, opened without following links. A file that shrank while
 * being read is padded with zeros so that the header's size stays true.
 */
export async function packFile(
  pack: tar.Pack,
  abs: string,
  header: PackHeader & { size: number },
): Promise<void> {
  const fh = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    let finish: (err?: Error | null) => void = () => {};
    const done = new Promise<void>((res, rej) => {
      finish = (err) => (err ? rej(err) : res());
    });
    const w = pack.entry(header, finish);
    let remaining = header.size;
    const buf = Buffer.allocUnsafe(256 * 1024);
    while (remaining > 0) {
      const want = Math.min(buf.length, remaining);
      const { bytesRead } = await fh.read(buf, 0, want, null);
      const chunk = bytesRead === 0 ? Buffer.alloc(want) : Buffer.from(buf.subarray(0, bytesRead));
      remaining -= chunk.length;
      if (!w.write(chunk)) await new Promise<void>((res) => w.once("drain", () => res()));
    }
    w.end(null);
    await done;
  } finally {
    await fh.close();
  }
}
