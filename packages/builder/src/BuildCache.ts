import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { errnoCode } from "@berth/errdefs";
import { type ContentStore, Mutex, writeFileAtomic } from "@berth/image";
import { sha256 } from "@berth/oci";
import type { ImageState } from "./types.ts";

interface CacheEntry {
  state: ImageState;
  /** Last use (ISO time). */
  used: string;
  /** First record (ISO time); absent in indexes written before prune existed. */
  created?: string;
  /** Lookups that hit, plus the put. */
  usage?: number;
}

interface CacheFile {
  readonly version: 1;
  entries: Record<string, CacheEntry>;
  /** Content bytes (docker's layer size) of layer blobs measured once, by blob digest. */
  sizes?: Record<string, number>;
}

/** Shared is the one index and lock behind a cache and its scoped views. */
interface Shared {
  readonly path: string;
  readonly content: ContentStore;
  readonly lock: Mutex;
  file: CacheFile;
}

/** CacheRecord is one build cache entry as `GET /system/df` lists it (`BuildCache`). */
export interface CacheRecord {
  /** The step's cache key. */
  readonly id: string;
  /** Bytes of the layer blob the step made (0 for config-only steps, or when another record claims the blob). */
  readonly size: number;
  readonly createdAt: string;
  readonly lastUsedAt: string;
  readonly usageCount: number;
  /** Digest of the step's top layer, if it has one. */
  readonly layer?: string;
  /** The layer is part of an image (docker's `Shared`/`InUse`: pruning the record frees nothing). */
  readonly shared: boolean;
}

/** PruneCacheOptions selects the entries {@link BuildCache.prune} removes. */
export interface PruneCacheOptions {
  /** Remove every entry, not only those whose layer is in no image (`docker builder prune -a`). */
  readonly all?: boolean;
  /** Remove only entries last used before this time (`--filter until=`). */
  readonly before?: Date;
  /** Keep the most recently used entries that fit in this many bytes (`--keep-storage`). */
  readonly keepStorage?: number;
  /** Blob digests images use: never deleted, and entries whose layer is one are "shared". */
  readonly inUse: ReadonlySet<string>;
}

/** PruneCacheReport is docker's `POST /build/prune` answer. */
export interface PruneCacheReport {
  readonly cachesDeleted: string[];
  readonly spaceReclaimed: number;
}

/** CacheKeyInput is everything a step's result depends on (CVE-2024-24557: the parent's identity is part of it). */
export interface CacheKeyInput {
  /** {@link stateId} of the image the step starts from. */
  readonly parent: string;
  /** The instruction after expansion, as recorded in history (covers every field of the instruction). */
  readonly instruction: string;
  /** Build args in effect for the step, `K=V`, sorted. */
  readonly args: readonly string[];
  /** Digest of the content and metadata of COPY/ADD sources. */
  readonly sources?: string;
}

/** stateId identifies an image state: its config (which holds the diff IDs) and its layer blobs. */
export function stateId(state: ImageState): string {
  return sha256(JSON.stringify({ config: state.config, layers: state.layers.map((l) => l.digest) }));
}

/** cacheKey hashes a {@link CacheKeyInput}. */
export function cacheKey(input: CacheKeyInput): string {
  return sha256(
    JSON.stringify([input.parent, input.instruction, [...input.args].sort(), input.sources ?? ""]),
  );
}

/**
 * BuildCache maps step cache keys to the image state each step produced. It lives in one small
 * JSON file written atomically (temp, fsync, rename), so it survives restarts and a crash leaves
 * either the old or the new index. A hit is only returned while every layer blob it names is still
 * in the content store (an image removal may have deleted it).
 */
export class BuildCache {
  readonly path: string;
  readonly #s: Shared;
  /** Key prefix of a scoped view ("" for the cache itself). */
  readonly #scope: string;

  private constructor(shared: Shared, scope: string) {
    this.path = shared.path;
    this.#s = shared;
    this.#scope = scope;
  }

  /** open loads `<root>/build-cache.json` (a missing or unreadable index is an empty cache). */
  static async open(root: string, content: ContentStore): Promise<BuildCache> {
    const shared: Shared = {
      path: join(root, "build-cache.json"),
      content,
      lock: new Mutex(),
      file: { version: 1, entries: {} },
    };
    try {
      const parsed = JSON.parse(await readFile(shared.path, "utf8")) as CacheFile;
      if (parsed.version === 1 && typeof parsed.entries === "object") shared.file = parsed;
    } catch (err) {
      if (errnoCode(err) !== "ENOENT" && !(err instanceof SyntaxError)) throw err;
    }
    return new BuildCache(shared, "");
  }

  /**
   * scoped is a view of the same index whose keys are kept apart under `scope` (builds with zstd
   * layers must not reuse gzip steps, and the reverse). Prune and records see every scope.
   */
  scoped(scope: string): BuildCache {
    return new BuildCache(this.#s, this.#scope === "" ? scope : `${this.#scope}/${scope}`);
  }

  #key(key: string): string {
    return this.#scope === "" ? key : sha256(`${this.#scope}\n${key}`);
  }

  /** get returns the cached result of a step, if present and its layers still exist. */
  async get(key: string): Promise<ImageState | undefined> {
    const e = this.#s.file.entries[this.#key(key)];
    if (e === undefined) return undefined;
    for (const l of e.state.layers) if (!this.#s.content.hasSync(l.digest)) return undefined;
    // Use bookkeeping is persisted with the next put or prune, not on every hit.
    e.used = new Date().toISOString();
    e.usage = (e.usage ?? 1) + 1;
    return e.state;
  }

  /** put records a step's result and persists the index. */
  async put(key: string, state: ImageState): Promise<void> {
    await this.#s.lock.run(async () => {
      const now = new Date().toISOString();
      const k = this.#key(key);
      const old = this.#s.file.entries[k];
      this.#s.file.entries[k] = {
        state,
        used: now,
        created: old?.created ?? now,
        usage: (old?.usage ?? 0) + 1,
      };
      await writeFileAtomic(this.#s.path, JSON.stringify(this.#s.file));
    });
  }

  /**
   * layerSize returns a layer blob's content size (regular-file bytes), measuring it with
   * `measure` only the first time: base image layers come without it, and measuring means
   * decompressing the whole blob. Remembered in the index.
   */
  async layerSize(digest: string, measure: () => Promise<number>): Promise<number> {
    const known = this.#s.file.sizes?.[digest];
    if (known !== undefined) return known;
    const size = await measure();
    await this.#s.lock.run(async () => {
      this.#s.file.sizes = { ...this.#s.file.sizes, [digest]: size };
      await writeFileAtomic(this.#s.path, JSON.stringify(this.#s.file));
    });
    return size;
  }

  /** layerStacks lists the diff IDs (bottom first) of every entry's image state, to keep their snapshots. */
  layerStacks(): string[][] {
    return Object.values(this.#s.file.entries).map((e) => e.state.layers.map((l) => l.diffId));
  }

  /** size is the number of entries (of every scope). */
  get size(): number {
    return Object.keys(this.#s.file.entries).length;
  }

  /**
   * records lists every entry, oldest first. A layer blob is counted once, by the oldest entry
   * whose top layer it is, so the sizes add up to the cache's footprint.
   */
  records(inUse: ReadonlySet<string> = new Set()): CacheRecord[] {
    const claimed = new Set<string>();
    return Object.entries(this.#s.file.entries)
      .sort(([, a], [, b]) => ((a.created ?? a.used) < (b.created ?? b.used) ? -1 : 1))
      .map(([id, e]) => {
        const top = e.state.layers[e.state.layers.length - 1];
        const own = top !== undefined && !claimed.has(top.digest) && !inUse.has(top.digest);
        if (top !== undefined) claimed.add(top.digest);
        return {
          id,
          size: own ? top.size : 0,
          createdAt: e.created ?? e.used,
          lastUsedAt: e.used,
          usageCount: e.usage ?? 1,
          ...(top === undefined ? {} : { layer: top.digest }),
          shared: top !== undefined && inUse.has(top.digest),
        };
      });
  }

  /**
   * prune removes entries (docker's `builder prune`) and deletes the layer blobs that no remaining
   * entry and no image (`inUse`) references. Without `all`, only entries whose layer is in no image
   * go. `before` keeps entries used since then; `keepStorage` keeps the most recently used entries
   * whose blobs fit in that many bytes. Callers make sure no build runs meanwhile.
   */
  async prune(opts: PruneCacheOptions): Promise<PruneCacheReport> {
    return this.#s.lock.run(async () => {
      const entries = this.#s.file.entries;
      const candidates = Object.entries(entries)
        .filter(([, e]) => {
          if (opts.before !== undefined && Date.parse(e.used) >= opts.before.getTime()) return false;
          const top = e.state.layers[e.state.layers.length - 1];
          if (opts.all !== true && top !== undefined && opts.inUse.has(top.digest)) return false;
          return true;
        })
        // least recently used first
        .sort(([, a], [, b]) => (a.used < b.used ? -1 : a.used > b.used ? 1 : 0));
      let victims = candidates.map(([k]) => k);
      if (opts.keepStorage !== undefined && opts.keepStorage > 0) {
        const bytes = new Map<string, number>();
        for (const e of Object.values(entries)) for (const l of e.state.layers) bytes.set(l.digest, l.size);
        let total = 0;
        for (const d of bytes.keys()) if (!opts.inUse.has(d)) total += bytes.get(d) ?? 0;
        const keep = opts.keepStorage;
        const chosen: string[] = [];
        const remaining = new Map(Object.entries(entries));
        for (const k of victims) {
          if (total <= keep) break;
          chosen.push(k);
          remaining.delete(k);
          const still = new Set<string>();
          for (const e of remaining.values()) for (const l of e.state.layers) still.add(l.digest);
          total = 0;
          for (const d of still) if (!opts.inUse.has(d)) total += bytes.get(d) ?? 0;
        }
        victims = chosen;
      }
      if (victims.length === 0) return { cachesDeleted: [], spaceReclaimed: 0 };
      const removed = victims.map((k) => entries[k] as CacheEntry);
      for (const k of victims) delete entries[k];
      await writeFileAtomic(this.#s.path, JSON.stringify(this.#s.file));
      const still = new Set<string>(opts.inUse);
      for (const e of Object.values(entries)) for (const l of e.state.layers) still.add(l.digest);
      let reclaimed = 0;
      const gone = new Set<string>();
      for (const e of removed) {
        for (const l of e.state.layers) {
          if (still.has(l.digest) || gone.has(l.digest)) continue;
          gone.add(l.digest);
          if (!(await this.#s.content.has(l.digest))) continue;
          await this.#s.content.delete(l.digest);
          reclaimed += l.size;
        }
      }
      return { cachesDeleted: victims, spaceReclaimed: reclaimed };
    });
  }
}
