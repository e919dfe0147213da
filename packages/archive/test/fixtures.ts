import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import * as tar from "tar-stream";

/** One declarative tar entry (containerd tartest style). */
export type Fx =
  | { kind: "file"; name: string; content: string; mode: number; uid?: number; gid?: number }
  | { kind: "dir"; name: string; mode: number; uid?: number; gid?: number }
  | { kind: "symlink"; name: string; target: string; mode: number; uid?: number; gid?: number }
  | { kind: "link"; name: string; target: string }
  | { kind: "char"; name: string; major: number; minor: number }
  | { kind: "fifo"; name: string };

export const file = (name: string, content = "", mode = 0o644): Fx => ({ kind: "file", name, content, mode });
export const dir = (name: string, mode = 0o755): Fx => ({ kind: "dir", name, mode });
export const symlink = (name: string, target: string, mode = 0o777): Fx => ({
  kind: "symlink",
  name,
  target,
  mode,
});
export const link = (name: string, target: string): Fx => ({ kind: "link", name, target });
/** whiteout(name) is an empty file with the raw whiteout name, e.g. `etc/.wh.passwd`. */
export const whiteout = (name: string): Fx => ({ kind: "file", name, content: "", mode: 0o644 });
export const opaque = (dirName: string): Fx => file(`${dirName}/.wh..wh..opq`);
export const charDev = (name: string, major: number, minor: number): Fx => ({
  kind: "char",
  name,
  major,
  minor,
});
export const fifo = (name: string): Fx => ({ kind: "fifo", name });

/** buildTar packs the entries, in order, into an in-memory tar. */
export async function buildTar(entries: readonly Fx[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(c);
  })();
  const mtime = new Date(1_600_000_000_000);
  for (const e of entries) {
    await new Promise<void>((res, rej) => {
      const cb = (err?: Error | null) => (err ? rej(err) : res());
      switch (e.kind) {
        case "file":
          pack.entry(
            { name: e.name, mode: e.mode, mtime, type: "file", uid: e.uid ?? 0, gid: e.gid ?? 0 },
            e.content,
            cb,
          );
          break;
        case "dir":
          pack.entry(
            { name: e.name, mode: e.mode, mtime, type: "directory", uid: e.uid ?? 0, gid: e.gid ?? 0 },
            cb,
          );
          break;
        case "symlink":
          pack.entry(
            {
              name: e.name,
              mode: e.mode,
              mtime,
              type: "symlink",
              linkname: e.target,
              uid: e.uid ?? 0,
              gid: e.gid ?? 0,
            },
            cb,
          );
          break;
        case "link":
          pack.entry({ name: e.name, mode: 0o644, mtime, type: "link", linkname: e.target }, cb);
          break;
        case "char":
          pack.entry(
            {
              name: e.name,
              mode: 0o666,
              mtime,
              type: "character-device",
              devmajor: e.major,
              devminor: e.minor,
            },
            cb,
          );
          break;
        case "fifo":
          pack.entry({ name: e.name, mode: 0o644, mtime, type: "fifo" }, cb);
          break;
      }
    });
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

/** tarStream builds a tar and returns it as a stream, optionally gzip-compressed. */
export async function tarStream(entries: readonly Fx[], gzip = false): Promise<Readable> {
  const buf = await buildTar(entries);
  return Readable.from([gzip ? gzipSync(buf) : buf]);
}

/** rawHeaderWithType packs one file and rewrites its type flag byte (and checksum) to `flag`. */
export async function rawHeaderWithType(name: string, flag: string): Promise<Buffer> {
  const buf = await buildTar([file(name, "")]);
  buf[156] = flag.charCodeAt(0);
  buf.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += buf[i]!;
  buf.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
  return buf;
}

/** A temp dir with `victim/hello` beside an empty extraction root `dest/` (moby fixture). */
export interface Sandbox {
  readonly base: string;
  readonly dest: string;
  readonly victim: string;
  cleanup(): Promise<void>;
}

export async function sandbox(): Promise<Sandbox> {
  const base = await mkdtemp(join(tmpdir(), "berth-archive-"));
  const dest = join(base, "dest");
  const victim = join(base, "victim");
  await mkdir(dest);
  await mkdir(victim, { mode: 0o755 });
  await writeFile(join(victim, "hello"), "hello victim\n", { mode: 0o640 });
  await mkdir(join(victim, "sub"), { mode: 0o750 });
  await writeFile(join(victim, "sub", "deep"), "deep\n", { mode: 0o600 });
  return { base, dest, victim, cleanup: () => rm(base, { recursive: true, force: true }) };
}

/** snapshot records everything observable about a tree: names, kinds, modes, owners, inodes, links, sizes, mtimes, contents. */
export async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(p: string, rel: string): Promise<void> {
    const st = await lstat(p);
    let extra = "";
    if (st.isSymbolicLink()) extra = `-> ${await readlink(p)}`;
    else if (st.isFile()) extra = (await readFile(p)).toString("base64");
    out.push(
      `${rel} mode=${st.mode.toString(8)} uid=${st.uid} gid=${st.gid} ino=${st.ino} nlink=${st.nlink} mtime=${st.mtimeMs} ${extra}`,
    );
    if (st.isDirectory()) for (const c of (await readdir(p)).sort()) await walk(join(p, c), `${rel}/${c}`);
  }
  await walk(dir, ".");
  return out;
}
