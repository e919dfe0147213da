import { lstatSync, type Stats } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";

/**
 * statKey is what a remembered digest is valid for: size, mtime and ctime (ms with sub-ms
 * fraction), mode, inode, uid and gid. Any write, chmod, chown, utimes or replacement of the file
 * changes the ctime or inode, so a changed file never matches an old key, even when its size and
 * mtime were put back.
 */
export function statKey(st: Stats): string {
  return `${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.mode}:${st.ino}:${st.uid}:${st.gid}`;
}

/**
 * FileDigests remembers the content digests of files under one root (a synced build context),
 * keyed by path and {@link statKey}, so COPY/ADD source hashing reads only files that changed.
 * It is persisted as JSON next to the root (survives a daemon restart); entries of files that
 * were rewritten or deleted are dropped with {@link FileDigests.forget} or by a stat mismatch.
 */
export class FileDigests {
  readonly root: string;
  readonly #file: string | undefined;
  readonly #map: Map<string, { key: string; digest: string }>;
  #dirty = false;

  private constructor(
    root: string,
    file: string | undefined,
    map: Map<string, { key: string; digest: string }>,
  ) {
    this.root = root;
    this.#file = file;
    this.#map = map;
  }

  /** open loads the digests of `root` from `file` (absent or unreadable: empty). */
  static async open(root: string, file?: string): Promise<FileDigests> {
    const map = new Map<string, { key: string; digest: string }>();
    if (file !== undefined) {
      try {
        const raw = JSON.parse(await readFile(file, "utf8")) as unknown;
        if (typeof raw === "object" && raw !== null)
          for (const [p, v] of Object.entries(raw as Record<string, unknown>)) {
            const e = v as { key?: unknown; digest?: unknown };
            if (typeof e?.key === "string" && typeof e.digest === "string")
              map.set(p, { key: e.key, digest: e.digest });
          }
      } catch {
        // first use, or a torn write: start empty (digests are only a cache)
      }
    }
    return new FileDigests(root, file, map);
  }

  #rel(abs: string): string | undefined {
    return abs.startsWith(`${this.root}/`) ? abs.slice(this.root.length + 1) : undefined;
  }

  /** get is the remembered digest of the file at `abs` if its stat still matches, else undefined. */
  get(abs: string, st: Stats): string | undefined {
    const rel = this.#rel(abs);
    if (rel === undefined) return undefined;
    const e = this.#map.get(rel);
    return e !== undefined && e.key === statKey(st) ? e.digest : undefined;
  }

  /** set remembers `digest` for the file at `abs` as it was when `st` was taken (files under root only). */
  set(abs: string, st: Stats, digest: string): void {
    const rel = this.#rel(abs);
    if (rel === undefined) return;
    this.#map.set(rel, { key: statKey(st), digest });
    this.#dirty = true;
  }

  /**
   * renew keeps the digest remembered for `abs` as it was at `before` under its current stat: for
   * a file that was only hard-linked (its ctime moved, its content did not). Nothing happens if
   * no digest matched `before` or the file is gone.
   */
  renew(abs: string, before: Stats): void {
    const digest = this.get(abs, before);
    if (digest === undefined) return;
    try {
      const now = lstatSync(abs);
      if (now.ino === before.ino && now.size === before.size && now.mtimeMs === before.mtimeMs)
        this.set(abs, now, digest);
    } catch {
      // gone: nothing to keep
    }
  }

  /** forget drops the digest of `rel` and of everything below it. */
  forget(rel: string): void {
    for (const k of this.#map.keys()) {
      if (k === rel || k.startsWith(`${rel}/`)) {
        this.#map.delete(k);
        this.#dirty = true;
      }
    }
  }

  /** size is the number of remembered digests. */
  get size(): number {
    return this.#map.size;
  }

  /** save writes the digests to their file (atomically) if anything changed. */
  async save(): Promise<void> {
    if (this.#file === undefined || !this.#dirty) return;
    const tmp = `${this.#file}.tmp`;
    await writeFile(tmp, JSON.stringify(Object.fromEntries(this.#map)));
    await rename(tmp, this.#file);
    this.#dirty = false;
  }
}
