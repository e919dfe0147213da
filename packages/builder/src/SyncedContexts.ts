import {
  lstat,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
  stat,
  utimes,
  writeFile,
} from "node:fs/promises";
import { join, posix } from "node:path";
import type { Readable } from "node:stream";
import { resolveInRoot } from "@berth/archive";
import { Conflict, errnoCode, InvalidArgument } from "@berth/errdefs";
import { spreadSubdirs } from "@berth/image";
import { extractContext } from "./extractContext.ts";
import { FileDigests } from "./FileDigests.ts";

/**
 * ContextEntry is one path of a client's filtered build context: `/`-separated, relative, and its
 * signature, an opaque string from the client that changes whenever the file does (Berth's CLI
 * sends `type:mode:uid:gid:size:mtimeNs:ctimeNs:ino:linkTarget`; the first character is the type, `f`
 * file, `d` directory, `l` symlink, `o` other).
 */
export interface ContextEntry {
  readonly path: string;
  readonly sig: string;
}

/** SyncedContextUsage is one kept context copy, for `system df` and prune. */
export interface SyncedContextUsage {
  readonly key: string;
  readonly size: number;
  readonly lastUsed: Date;
  readonly inUse: boolean;
}

/** Options for {@link SyncedContexts.open}. */
export interface SyncedContextsOptions {
  /** Copies kept; beyond it the least recently used (and not in use) are removed. Default 8. */
  readonly keep?: number;
}

const KEY = /^[a-f0-9]{64}$/;
const MAX_ENTRIES = 1_000_000;
const MAX_SIG = 8192;

/** checkEntries validates a client listing: clean relative paths, no duplicates, short signatures. */
export function checkEntries(entries: readonly ContextEntry[]): Map<string, string> {
  if (entries.length > MAX_ENTRIES)
    throw new InvalidArgument(
      `context listing has ${entries.length} entries, over the limit of ${MAX_ENTRIES}`,
    );
  const out = new Map<string, string>();
  for (const e of entries) {
    if (
      typeof e?.path !== "string" ||
      typeof e.sig !== "string" ||
      e.sig.length === 0 ||
      e.sig.length > MAX_SIG
    )
      throw new InvalidArgument("invalid context listing entry: expected {path, sig} strings");
    const p = e.path;
    if (
      p === "" ||
      p.includes("\0") ||
      p.startsWith("/") ||
      p.endsWith("/") ||
      p.split("/").some((s) => s === "" || s === "." || s === "..")
    )
      throw new InvalidArgument(`invalid context path ${JSON.stringify(p)}: expected a clean relative path`);
    if (out.has(p)) throw new InvalidArgument(`context path ${JSON.stringify(p)} is listed twice`);
    out.set(p, e.sig);
  }
  return out;
}

/** typeChar is the signature's type character for a stat. */
function typeChar(st: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): string {
  return st.isFile() ? "f" : st.isDirectory() ? "d" : st.isSymbolicLink() ? "l" : "o";
}

async function duBytes(path: string): Promise<number> {
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.blocks * 512;
  let total = st.blocks * 512;
  for (const n of await readdir(path)) total += await duBytes(join(path, n));
  return total;
}

/**
 * SyncedContexts keeps build context copies per context key (Berth's incremental context, see
 * the daemon README): a client lists its filtered context with a signature per path, learns with
 * {@link missing} which paths the copy lacks or has stale, and sends a tar of only those;
 * {@link use} then, under a lock per key, deletes what is gone or stale, extracts the tar with
 * `@berth/archive` (the same confinement as any context extraction), checks every listed path is
 * there with the listed type, and runs the build on the copy with its remembered file digests.
 */
export class SyncedContexts {
  readonly dir: string;
  readonly #keep: number;
  readonly #tails = new Map<string, Promise<void>>();
  readonly #active = new Map<string, number>();

  private constructor(dir: string, keep: number) {
    this.dir = dir;
    this.#keep = keep;
  }

  /** open keeps context copies under `dir` (made if missing). */
  static async open(dir: string, opts: SyncedContextsOptions = {}): Promise<SyncedContexts> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // Each copy is a tree made and removed as a whole: spread them over the file system.
    await spreadSubdirs(dir);
    return new SyncedContexts(dir, opts.keep ?? 8);
  }

  #keyDir(key: string): string {
    if (!KEY.test(key))
      throw new InvalidArgument(`invalid context key ${JSON.stringify(key)}: expected 64 hex digits`);
    return join(this.dir, key);
  }

  async #manifest(keyDir: string): Promise<Map<string, string> | undefined> {
    try {
      const raw = JSON.parse(await readFile(join(keyDir, "manifest.json"), "utf8")) as Record<string, string>;
      return new Map(Object.entries(raw));
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return undefined;
      return undefined; // torn: treated as no copy
    }
  }

  /** missing lists the paths of `entries` the copy of `key` lacks or holds in another version. */
  async missing(key: string, entries: readonly ContextEntry[]): Promise<string[]> {
    const listed = checkEntries(entries);
    const manifest = (await this.#manifest(this.#keyDir(key))) ?? new Map<string, string>();
    const out: string[] = [];
    for (const [p, sig] of listed) if (manifest.get(p) !== sig) out.push(p);
    return out;
  }

  async #locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const tail = prev.then(() => mine);
    this.#tails.set(key, tail);
    this.#active.set(key, (this.#active.get(key) ?? 0) + 1);
    try {
      await prev;
      return await fn();
    } finally {
      const n = (this.#active.get(key) ?? 1) - 1;
      if (n === 0) this.#active.delete(key);
      else this.#active.set(key, n);
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /**
   * use brings the copy of `key` to `entries` with `tar` (the paths {@link missing} named) and runs
   * `fn` on it, holding the key's lock (builds of one key take turns; the copy does not change
   * under a build). Throws Conflict, before `fn`, when a listed path is still missing or of
   * another type afterwards (another build of the key changed it in between: list again).
   */
  async use<T>(
    key: string,
    entries: readonly ContextEntry[],
    tar: Readable,
    fn: (dir: string, digests: FileDigests) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const keyDir = this.#keyDir(key);
    const listed = checkEntries(entries);
    const result = await this.#locked(key, async () => {
      const fsDir = join(keyDir, "fs");
      let manifest = await this.#manifest(keyDir);
      if (manifest === undefined) {
        // No copy, or one a crash left half-applied: start from nothing.
        await rm(keyDir, { recursive: true, force: true });
        manifest = new Map();
      }
      await mkdir(fsDir, { recursive: true, mode: 0o700 });
      const digests = await FileDigests.open(fsDir, join(keyDir, "digests.json"));
      // Half-applied from here on: a crash leaves no manifest, so the next use starts over.
      await rm(join(keyDir, "manifest.json"), { force: true });
      const removed: string[] = [];
      for (const [p, sig] of manifest) {
        if (listed.get(p) === sig) continue;
        await this.#remove(fsDir, p);
        digests.forget(p);
        manifest.delete(p);
        removed.push(p);
      }
      // New or changed paths: whatever is there (left by a crash, or a parent's old content) goes.
      for (const p of listed.keys())
        if (!manifest.has(p)) {
          await this.#remove(fsDir, p);
          digests.forget(p);
        }
      await this.#pruneParents(fsDir, removed, listed);
      // The sent files are hashed as they are written (see extractContext).
      await extractContext(fsDir, tar, digests, signal);
      let stale: string | undefined;
      for (const [p, sig] of listed) {
        if (manifest.get(p) === sig) continue;
        const st = await this.#lstatIn(fsDir, p);
        if (st === undefined || typeChar(st) !== sig[0]) {
          stale ??= `${p} is ${st === undefined ? "missing" : "of another type"}`;
          continue;
        }
        manifest.set(p, sig);
      }
      await writeFile(join(keyDir, "manifest.json.tmp"), JSON.stringify(Object.fromEntries(manifest)));
      await rename(join(keyDir, "manifest.json.tmp"), join(keyDir, "manifest.json"));
      if (stale !== undefined) {
        await digests.save().catch(() => {});
        throw new Conflict(
          `synced context ${key.slice(0, 12)} is not complete after applying the sent files (${stale}): list the context again`,
        );
      }
      try {
        return await fn(fsDir, digests);
      } finally {
        await digests.save().catch(() => {});
        const now = new Date();
        await utimes(join(keyDir, "manifest.json"), now, now).catch(() => {});
      }
    });
    await this.#evict().catch(() => {});
    return result;
  }

  async #lstatIn(fsDir: string, p: string): Promise<Awaited<ReturnType<typeof lstat>> | undefined> {
    try {
      const parent = await resolveInRoot(fsDir, posix.dirname(p));
      return await lstat(join(parent, posix.basename(p)));
    } catch (err) {
      if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ENOTDIR") return undefined;
      throw err;
    }
  }

  /** #remove deletes `p` in the copy: its parent resolved inside the copy, the path itself not followed. */
  async #remove(fsDir: string, p: string): Promise<void> {
    let parent: string;
    try {
      parent = await resolveInRoot(fsDir, posix.dirname(p));
    } catch (err) {
      if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ENOTDIR") return;
      throw err;
    }
    await rm(join(parent, posix.basename(p)), { recursive: true, force: true });
  }

  /** #pruneParents removes directories left empty by deletions that the listing does not name. */
  async #pruneParents(fsDir: string, removed: readonly string[], listed: Map<string, string>): Promise<void> {
    const dirs = new Set<string>();
    for (const p of removed) for (let d = posix.dirname(p); d !== "."; d = posix.dirname(d)) dirs.add(d);
    // Deepest first, so a chain of emptied directories goes in one pass.
    for (const d of [...dirs].sort((a, b) => b.length - a.length)) {
      if (listed.has(d)) continue;
      try {
        const parent = await resolveInRoot(fsDir, posix.dirname(d));
        const abs = join(parent, posix.basename(d));
        if ((await lstat(abs)).isDirectory()) await rmdir(abs);
      } catch {
        // not empty, or already gone
      }
    }
  }

  /** usage lists the kept copies with their disk use. */
  async usage(): Promise<SyncedContextUsage[]> {
    const out: SyncedContextUsage[] = [];
    for (const key of await readdir(this.dir)) {
      if (!KEY.test(key)) continue;
      const keyDir = join(this.dir, key);
      let lastUsed: Date;
      try {
        lastUsed = (await stat(join(keyDir, "manifest.json"))).mtime;
      } catch {
        lastUsed = (await stat(keyDir)).mtime;
      }
      out.push({ key, size: await duBytes(keyDir), lastUsed, inUse: this.#active.has(key) });
    }
    return out.sort((a, b) => b.lastUsed.getTime() - a.lastUsed.getTime());
  }

  /** prune removes every copy not in use; returns the keys removed and the bytes freed. */
  async prune(): Promise<{ keys: string[]; bytes: number }> {
    const keys: string[] = [];
    let bytes = 0;
    for (const u of await this.usage()) {
      if (this.#active.has(u.key)) continue;
      await this.#drop(u.key);
      keys.push(u.key);
      bytes += u.size;
    }
    return { keys, bytes };
  }

  async #drop(key: string): Promise<void> {
    await this.#locked(key, () => rm(join(this.dir, key), { recursive: true, force: true }));
  }

  /** #evict removes the least recently used copies beyond the cap (never one in use). */
  async #evict(): Promise<void> {
    const all = await readdir(this.dir);
    if (all.filter((k) => KEY.test(k)).length <= this.#keep) return;
    const usage = await this.usage();
    for (const u of usage.slice(this.#keep)) if (!this.#active.has(u.key)) await this.#drop(u.key);
  }
}
