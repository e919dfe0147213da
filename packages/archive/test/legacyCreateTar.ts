// The tar-stream implementation createTar had before 2026-11-28, kept to check that the direct
// encoder writes the same bytes.
import { lstat, readdir, readlink, realpath } from "node:fs/promises";
import { posix } from "node:path";
import { Readable } from "node:stream";
import { createGzip } from "node:zlib";
import * as tar from "tar-stream";
import { cleanName } from "../src/cleanName.ts";
import { packEntry, packFile } from "../src/packEntry.ts";
import { resolveInRoot } from "../src/resolveInRoot.ts";

type Header = Partial<tar.Header> & { name: string };

/** Options for {@link createTar}. */
export interface CreateTarOptions {
  /**
   * Paths (inside root, resolved as if root were `/`) to include, each
   * recursively. Default: everything under root. The last component of each
   * path is not followed: a symlink is archived as a symlink.
   */
  readonly paths?: readonly string[];
  /** Output compression; default "none". gzip output is deterministic (mtime 0 in the gzip header). */
  readonly compression?: "none" | "gzip";
  /**
   * Renames every entry (and hardlink target) on its way into the archive, e.g. docker's cp
   * rebase of `etc/...` to `./...`; receives the name without a trailing slash.
   */
  readonly rename?: (name: string) => string;
}

/**
 * createTar archives `root` (or `paths` under it) as a tar stream with names
 * relative to root. Output is deterministic for a given tree: entries are
 * sorted, and uid/gid/mode/mtime come from lstat. Symlinks are stored as
 * symlinks and never followed; files sharing an inode after the first are
 * stored as hardlinks to it; sockets are skipped. Errors (including a path
 * that does not exist) destroy the returned stream.
 */
export function legacyCreateTar(root: string, opts: CreateTarOptions = {}): Readable {
  const pack = tar.pack();
  const out = Readable.from(pack as unknown as AsyncIterable<Buffer>, { objectMode: false });
  produce(root, opts, pack).then(
    () => pack.finalize(),
    (err: unknown) => pack.destroy(err as Error),
  );
  if (opts.compression === "gzip") {
    const gz = createGzip();
    out.on("error", (err) => gz.destroy(err));
    return out.pipe(gz);
  }
  return out;
}

async function produce(root: string, opts: CreateTarOptions, pack: tar.Pack): Promise<void> {
  const realRoot = await realpath(root);
  const seen = new Map<string, string>();
  const starts: Array<{ abs: string; name: string }> = [];
  if (opts.paths === undefined) {
    for (const child of (await readdir(realRoot)).sort())
      starts.push({ abs: join(realRoot, child), name: child });
  } else {
    const names = new Set<string>();
    for (const p of opts.paths) {
      const clean = cleanName(p);
      if (clean === "/") {
        for (const child of await readdir(realRoot)) names.add(`/${child}`);
        continue;
      }
      const parent = await resolveInRoot(realRoot, posix.dirname(clean));
      const abs = join(parent, posix.basename(clean));
      names.add(abs.slice(realRoot === "/" ? 0 : realRoot.length));
    }
    for (const n of [...names].sort()) starts.push({ abs: join(realRoot, n.slice(1)), name: n.slice(1) });
  }
  const rename = opts.rename ?? ((n: string) => n);
  for (const s of starts) await walk(pack, s.abs, s.name, seen, rename);
}

function join(dir: string, name: string): string {
  return dir === "/" ? `/${name}` : `${dir}/${name}`;
}

async function walk(
  pack: tar.Pack,
  abs: string,
  name: string,
  seen: Map<string, string>,
  rename: (name: string) => string,
): Promise<void> {
  const st = await lstat(abs);
  const entryName = rename(name);
  const base: Header = {
    name: entryName,
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    mtime: new Date(Math.floor(st.mtimeMs / 1000) * 1000),
  };
  if (st.isDirectory()) {
    await packEntry(pack, { ...base, name: `${entryName}/`, type: "directory" });
    for (const child of (await readdir(abs)).sort())
      await walk(pack, join(abs, child), `${name}/${child}`, seen, rename);
    return;
  }
  if (st.nlink > 1) {
    const key = `${st.dev}:${st.ino}`;
    const first = seen.get(key);
    if (first !== undefined) {
      await packEntry(pack, { ...base, type: "link", linkname: first, size: 0 });
      return;
    }
    seen.set(key, entryName);
  }
  if (st.isSymbolicLink()) {
    await packEntry(pack, { ...base, type: "symlink", linkname: await readlink(abs) });
  } else if (st.isFile()) {
    await packFile(pack, abs, { ...base, type: "file", size: st.size });
  } else if (st.isCharacterDevice() || st.isBlockDevice()) {
    const { major, minor } = splitDev(st.rdev);
    await packEntry(pack, {
      ...base,
      type: st.isCharacterDevice() ? "character-device" : "block-device",
      devmajor: major,
      devminor: minor,
    });
  } else if (st.isFIFO()) {
    await packEntry(pack, { ...base, type: "fifo" });
  }
  // Sockets cannot be archived; skipped like tar does.
}

/** splitDev decodes Linux's dev_t encoding. */
function splitDev(dev: number): { major: number; minor: number } {
  const d = BigInt(dev);
  const major = Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn));
  const minor = Number((d & 0xffn) | ((d >> 12n) & ~0xffn));
  return { major, minor };
}
