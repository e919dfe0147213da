import { randomBytes } from "node:crypto";
import { chmod, chown, lstat, mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ShareMode } from "@berth/dockerfile";
import { sha256 } from "@berth/oci";

/** CacheMountRequest is one `RUN --mount=type=cache` after defaults (id defaults to the target). */
export interface CacheMountRequest {
  readonly id: string;
  readonly sharing: ShareMode;
  /** Owner and mode of the cache directory when it is first made (default 0:0, 0755). */
  readonly uid?: number;
  readonly gid?: number;
  readonly mode?: number;
  /** Fills a new cache directory (`from=` a stage or image); runs once, before first use. */
  readonly seed?: (dir: string) => Promise<void>;
}

/** A cache directory lent to one RUN; `release` hands it back. */
export interface CacheMountLease {
  readonly dir: string;
  release(): Promise<void>;
}

interface Slot {
  users: number;
  /** Tail of the `locked` queue. */
  tail: Promise<void>;
  /** The first creation of the shared directory (concurrent acquires wait for it). */
  init?: Promise<void> | undefined;
}

const stores = new Map<string, CacheMounts>();

/**
 * CacheMounts keeps the persistent directories of `RUN --mount=type=cache`, one per cache id, under
 * `<root>/build-cache-mounts/<sha256(id)>/data`: they outlive builds and daemon restarts and are
 * never part of a layer. Sharing as BuildKit: `shared` lets concurrent RUNs use the directory
 * together, `locked` makes them wait for each other, `private` gives a RUN that finds the
 * directory in use a fresh empty one (removed after that RUN).
 */
export class CacheMounts {
  readonly root: string;
  readonly #slots = new Map<string, Slot>();
  #swept: Promise<void> | undefined;

  private constructor(root: string) {
    this.root = root;
  }

  /** forRoot returns the one store of a builder root (shared by every build of this process). */
  static forRoot(builderRoot: string): CacheMounts {
    const dir = join(builderRoot, "build-cache-mounts");
    let s = stores.get(dir);
    if (s === undefined) {
      s = new CacheMounts(dir);
      stores.set(dir, s);
    }
    return s;
  }

  /** acquire lends the cache directory of `req.id`, creating (and seeding) it the first time. */
  async acquire(req: CacheMountRequest): Promise<CacheMountLease> {
    this.#swept ??= this.#sweep();
    await this.#swept;
    const hex = sha256(req.id).slice(7);
    let slot = this.#slots.get(hex);
    if (slot === undefined) {
      slot = { users: 0, tail: Promise.resolve() };
      this.#slots.set(hex, slot);
    }
    const s = slot;
    let unlock = () => {};
    if (req.sharing === "locked") {
      const prev = s.tail;
      s.tail = new Promise<void>((res) => {
        unlock = res;
      });
      await prev;
    }
    if (req.sharing === "private" && s.users > 0) {
      const dir = join(this.root, `${hex}-private-${randomBytes(4).toString("hex")}`);
      await this.#make(dir, req);
      return { dir: join(dir, "data"), release: () => rm(dir, { recursive: true, force: true }) };
    }
    s.users++;
    try {
      const base = join(this.root, hex);
      s.init ??= this.#make(base, req).catch((err: unknown) => {
        s.init = undefined;
        throw err;
      });
      await s.init;
      let released = false;
      return {
        dir: join(base, "data"),
        release: async () => {
          if (released) return;
          released = true;
          s.users--;
          unlock();
        },
      };
    } catch (err) {
      s.users--;
      unlock();
      throw err;
    }
  }

  /**
   * prune removes every cache directory no RUN is using (`docker builder prune` drops cache
   * mounts too) and reports their ids' hashes and the bytes they held.
   */
  async prune(): Promise<{ readonly removed: string[]; readonly reclaimed: number }> {
    const removed: string[] = [];
    let reclaimed = 0;
    for (const n of await readdir(this.root).catch(() => [] as string[])) {
      const hex = n.split("-")[0] as string;
      const slot = this.#slots.get(hex);
      if (slot !== undefined && slot.users > 0) continue;
      if (n.includes("-private-")) continue;
      reclaimed += await du(join(this.root, n));
      await rm(join(this.root, n), { recursive: true, force: true });
      this.#slots.delete(hex);
      removed.push(n);
    }
    return { removed, reclaimed };
  }

  /** #sweep removes private copies a crash left (none can be in use before the first acquire). */
  async #sweep(): Promise<void> {
    const names = await readdir(this.root).catch(() => [] as string[]);
    for (const n of names)
      if (n.includes("-private-")) await rm(join(this.root, n), { recursive: true, force: true });
  }

  async #make(base: string, req: CacheMountRequest): Promise<void> {
    const ready = join(base, "ready");
    if (
      await stat(ready).then(
        () => true,
        () => false,
      )
    )
      return;
    const data = join(base, "data");
    // A half-made directory from a crash is made again from scratch.
    await rm(data, { recursive: true, force: true });
    await mkdir(data, { recursive: true, mode: 0o700 });
    await chmod(base, 0o700);
    await req.seed?.(data);
    await chown(data, req.uid ?? 0, req.gid ?? 0);
    await chmod(data, req.mode ?? 0o755);
    await writeFile(ready, `${req.id}\n`);
  }
}

/** du is the bytes of regular files below `dir` (links not followed). */
async function du(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await du(p);
    else if (e.isFile()) total += (await lstat(p)).size;
  }
  return total;
}
