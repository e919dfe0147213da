import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { errnoCode } from "@berth/errdefs";
import { type ContentStore, Mutex, writeFileAtomic } from "@berth/image";
import { sha256 } from "@berth/oci";
import type { ImageState } from "./types.ts";

interface CacheFile {
  readonly version: 1;
  entries: Record<string, { state: ImageState; used: string }>;
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
  readonly #content: ContentStore;
  readonly #lock = new Mutex();
  #file: CacheFile = { version: 1, entries: {} };

  private constructor(path: string, content: ContentStore) {
    this.path = path;
    this.#content = content;
  }

  /** open loads `<root>/build-cache.json` (a missing or unreadable index is an empty cache). */
  static async open(root: string, content: ContentStore): Promise<BuildCache> {
    const c = new BuildCache(join(root, "build-cache.json"), content);
    try {
      const parsed = JSON.parse(await readFile(c.path, "utf8")) as CacheFile;
      if (parsed.version === 1 && typeof parsed.entries === "object") c.#file = parsed;
    } catch (err) {
      if (errnoCode(err) !== "ENOENT" && !(err instanceof SyntaxError)) throw err;
    }
    return c;
  }

  /** get returns the cached result of a step, if present and its layers still exist. */
  async get(key: string): Promise<ImageState | undefined> {
    const e = this.#file.entries[key];
    if (e === undefined) return undefined;
    for (const l of e.state.layers) if (!(await this.#content.has(l.digest))) return undefined;
    return e.state;
  }

  /** put records a step's result and persists the index. */
  async put(key: string, state: ImageState): Promise<void> {
    await this.#lock.run(async () => {
      this.#file.entries[key] = { state, used: new Date().toISOString() };
      await writeFileAtomic(this.path, JSON.stringify(this.#file));
    });
  }

  /** size is the number of entries. */
  get size(): number {
    return Object.keys(this.#file.entries).length;
  }
}
