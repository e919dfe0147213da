import {
  closeSync,
  constants,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  type Stats,
} from "node:fs";
import { lstat, open, readdir, readlink, realpath } from "node:fs/promises";
import { posix } from "node:path";
import { resolveInRoot } from "@berth/archive";
import type { DockerIgnore } from "@berth/dockerfile";
import { cleanPath } from "@berth/dockerfile";
import { errnoCode, NotFound } from "@berth/errdefs";
import { Digester } from "@berth/oci";
import { type FileDigests, statKey } from "./FileDigests.ts";

/** SourceEntry is one file system object found under a source root (never followed if a link). */
export interface SourceEntry {
  /** Path relative to the source root, `/`-separated, no leading slash (`""` for the root itself). */
  readonly rel: string;
  /** Absolute host path. Its parents are real directories below the root. */
  readonly abs: string;
  readonly stat: Stats;
  /** Link target for symlinks. */
  readonly linkname?: string;
}

/** A matched COPY/ADD source: the object the pattern named, and everything below it. */
export interface MatchedSource {
  readonly top: SourceEntry;
  /** `top` and, for a directory, every entry below it in sorted order (ignored ones left out). */
  readonly entries: readonly SourceEntry[];
}

const GLOB = /[*?[\\]/;

/**
 * SourceTree reads COPY/ADD sources from a root directory -- the build context or a stage's
 * root file system -- treating the root as `/` (threat rows D1, D2, D4): source paths are cleaned
 * with `..` clamped at the root, every directory component is resolved with `resolveInRoot`, so a
 * symlink can never lead out, and the named object itself is not followed (a symlink is copied as
 * a symlink). Directory walks never follow links either. With a `.dockerignore`, ignored paths
 * are invisible: they match no pattern and are left out of directory walks (D5, D7).
 */
export class SourceTree {
  readonly root: string;
  readonly ignore: DockerIgnore | undefined;
  /** Remembered content digests of files under the root (a synced context), if any. */
  readonly digests: FileDigests | undefined;

  private constructor(root: string, ignore: DockerIgnore | undefined, digests: FileDigests | undefined) {
    this.root = root;
    this.ignore = ignore;
    this.digests = digests;
  }

  /** open makes a tree over `root` (made real first), with remembered file digests if given. */
  static async open(root: string, ignore?: DockerIgnore, digests?: FileDigests): Promise<SourceTree> {
    return new SourceTree(await realpath(root), ignore, digests);
  }

  #ignored(rel: string): boolean {
    return rel !== "" && this.ignore?.matches(rel) === true;
  }

  /**
   * match expands one source (a path or a pattern with `*`, `?`, `[...]`) to the objects it
   * names, sorted. Throws NotFound when nothing matches.
   */
  async match(source: string): Promise<MatchedSource[]> {
    const clean = cleanPath(`/${source}`).slice(1);
    const rels = GLOB.test(clean) ? await this.#glob(clean) : [clean];
    const out: MatchedSource[] = [];
    for (const rel of rels) {
      if (this.#ignored(rel)) continue;
      const top = await this.#entry(rel);
      if (top === undefined) continue;
      const entries: SourceEntry[] = [top];
      if (top.stat.isDirectory()) await this.#walk(top, entries);
      out.push({ top, entries });
    }
    if (out.length === 0) {
      throw new NotFound(
        `file not found in build context or excluded by .dockerignore: stat ${source}: file does not exist`,
        { code: "ERR_BUILD_SOURCE_NOT_FOUND" },
      );
    }
    return out;
  }

  /** #entry lstats `rel`: its parent resolved inside the root, its last component not followed. */
  async #entry(rel: string): Promise<SourceEntry | undefined> {
    let abs: string;
    if (rel === "" || rel === ".") {
      abs = this.root;
      rel = "";
    } else {
      const parent = await resolveInRoot(this.root, posix.dirname(rel));
      abs = parent === "/" ? `/${posix.basename(rel)}` : `${parent}/${posix.basename(rel)}`;
    }
    let st: Stats;
    try {
      st = await lstat(abs);
    } catch (err) {
      if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ENOTDIR") return undefined;
      throw err;
    }
    const realRel = abs === this.root ? "" : abs.slice(this.root.length + 1);
    if (this.#ignored(realRel)) return undefined;
    return {
      rel: realRel,
      abs,
      stat: st,
      ...(st.isSymbolicLink() ? { linkname: await readlink(abs) } : {}),
    };
  }

  async #walk(dir: SourceEntry, out: SourceEntry[]): Promise<void> {
    const names = readdirSync(dir.abs).sort();
    // Synchronous metadata calls: microseconds each, where a thread-pool round trip per entry
    // was most of a no-change build's source matching (200 files: 6 ms a COPY).
    const entries = names.map((name): SourceEntry => {
      const abs = `${dir.abs}/${name}`;
      const st = lstatSync(abs);
      return {
        rel: dir.rel === "" ? name : `${dir.rel}/${name}`,
        abs,
        stat: st,
        ...(st.isSymbolicLink() ? { linkname: readlinkSync(abs) } : {}),
      };
    });
    for (const e of entries) {
      const ignored = this.#ignored(e.rel);
      if (ignored && !(e.stat.isDirectory() && this.ignore?.mayContainIncluded(e.rel))) continue;
      if (!ignored) out.push(e);
      if (e.stat.isDirectory()) await this.#walk(e, out);
    }
  }

  /** #glob matches a cleaned pattern segment by segment (Go filepath.Match per segment). */
  async #glob(pattern: string): Promise<string[]> {
    let current = [""];
    for (const seg of pattern.split("/")) {
      const next: string[] = [];
      for (const base of current) {
        if (!GLOB.test(seg)) {
          next.push(base === "" ? seg : `${base}/${seg}`);
          continue;
        }
        const dir = await resolveInRoot(this.root, base === "" ? "/" : base);
        let names: string[];
        try {
          names = await readdir(dir);
        } catch (err) {
          if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ENOTDIR") continue;
          throw err;
        }
        const re = segmentRegex(seg);
        for (const n of names.sort()) if (re.test(n)) next.push(base === "" ? n : `${base}/${n}`);
      }
      current = next;
    }
    return current;
  }
}

/** segmentRegex compiles one path segment of a Go `filepath.Match` pattern. */
export function segmentRegex(seg: string): RegExp {
  let re = "^";
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i] as string;
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "\\" && i + 1 < seg.length) re += `\\${seg[++i]}`;
    else if (c === "[") {
      const end = seg.indexOf("]", i + 1);
      if (end < 0) {
        re += "\\[";
        continue;
      }
      let cls = seg.slice(i + 1, end);
      if (cls.startsWith("^") || cls.startsWith("!")) cls = `^${cls.slice(1)}`;
      re += `[${cls.replace(/\\/g, "\\\\")}]`;
      i = end;
    } else re += c.replace(/[.+(){}|$^]/g, "\\$&");
  }
  return new RegExp(`${re}$`);
}

/**
 * hashSources digests what a COPY/ADD would copy: per entry its path relative to its source,
 * type, mode, link target and the digest of its content. Owners and mtimes are left out (docker's
 * classic builder also ignored them: `--chown` decides the owner and is part of the instruction
 * text). With `digests`, a file whose stat still matches a remembered digest is not read again.
 */
export async function hashSources(sources: readonly MatchedSource[], digests?: FileDigests): Promise<string> {
  const d = new Digester();
  for (const s of sources) {
    d.update(`source ${s.top.rel}\0`);
    for (const e of s.entries) {
      const st = e.stat;
      const kind = st.isDirectory() ? "d" : st.isSymbolicLink() ? "l" : st.isFile() ? "f" : "o";
      d.update(`${kind} ${e.rel} ${(st.mode & 0o7777).toString(8)} ${e.linkname ?? ""} ${st.size}\0`);
      if (st.isFile()) d.update(`${digests?.get(e.abs, st) ?? (await hashFile(e.abs, st, digests))}\0`);
    }
  }
  return d.digest();
}

/** Files up to this size are hashed with synchronous reads (no thread-pool round trip per read). */
const SMALL_FILE = 1024 * 1024;

/** One read buffer for the small files (hashing is synchronous, so it is never shared). */
let scratch: Buffer | undefined;

/**
 * hashSmallFile reads a small file (never through a link) in one synchronous pass: a COPY of a
 * directory of small files was one open, one 64 KiB stream read, one close and one lstat per file,
 * each a libuv thread-pool round trip (200 files: 120-156 ms).
 */
function hashSmallFile(abs: string): string {
  const fd = openSync(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    scratch ??= Buffer.allocUnsafe(SMALL_FILE);
    const d = new Digester();
    for (
      let n = readSync(fd, scratch, 0, scratch.length, null);
      n > 0;
      n = readSync(fd, scratch, 0, scratch.length, null)
    )
      d.update(scratch.subarray(0, n));
    return d.digest();
  } finally {
    closeSync(fd);
  }
}

/** hashFile reads one file (never through a link) and remembers its digest in `digests`. */
async function hashFile(abs: string, st: Stats, digests: FileDigests | undefined): Promise<string> {
  let digest: string;
  if (st.size <= SMALL_FILE) digest = hashSmallFile(abs);
  else {
    const fd = new Digester();
    const fh = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const stream = fh.createReadStream({ autoClose: false, highWaterMark: SMALL_FILE });
      for await (const chunk of stream as AsyncIterable<Buffer>) fd.update(chunk);
    } finally {
      await fh.close();
    }
    digest = fd.digest();
  }
  // Remember it only if the file did not change while it was read (its stat is the key).
  if (digests !== undefined) {
    const after = lstatSync(abs);
    if (statKey(after) === statKey(st)) digests.set(abs, st, digest);
  }
  return digest;
}
