import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import {
  BuildCache,
  type BuildOptions,
  type BuildProgress,
  type BuildResult,
  build,
  CacheMounts,
  type CacheRecord,
  type ContextEntry,
  type RunSandbox,
  SyncedContexts,
} from "@berth/builder";
import { type ContentStore, chainIds, type ImageStore, type SnapshotStore } from "@berth/image";
import { type Digest, Reference } from "@berth/oci";
import type { Runtime } from "@berth/runtime";
import { diskUsage } from "./diskUsage.ts";
import { type Events, ImageEvent } from "./Events.ts";

/** Prefix of the IDs the builder gives its RUN containers and scratch snapshots. */
const BUILD_ID_PREFIX = "berth-build-";

/** BuildPruneOptions are docker's `POST /build/prune` parameters, decoded. */
export interface BuildPruneOptions {
  /** Remove every entry, not only those whose layer no image uses. */
  readonly all?: boolean;
  /** Milliseconds since the epoch: remove only entries last used before (filter `until`). */
  readonly until?: number;
  /** Bytes of cache to keep (`keep-storage`). */
  readonly keepStorage?: number;
}

/** BuildPruneReport is docker's `POST /build/prune` answer. */
export interface BuildPruneReport {
  CachesDeleted: string[];
  SpaceReclaimed: number;
}

/** BuildCacheUsage is one `BuildCache` entry of docker's `GET /system/df`. */
export interface BuildCacheUsage {
  ID: string;
  Parent: string;
  Parents: string[] | null;
  Type: string;
  Description: string;
  InUse: boolean;
  Shared: boolean;
  Size: number;
  CreatedAt: string;
  LastUsedAt: string;
  UsageCount: number;
}

/** What the build service runs against: the engine's own stores and runtime. */
export interface BuildsDeps {
  images: ImageStore;
  snapshots: SnapshotStore;
  content: ContentStore;
  runtime: Runtime;
  /** Data root (the build cache index lives here). */
  root: string;
  /** Runtime root; RUN bundles go to `<runRoot>/bd` (short: conmon's socket path limit). */
  runRoot: string;
  log: (msg: string) => void;
  /** The engine's event bus: a build's tags are announced as image `tag` events, as dockerd's. */
  events?: Events;
  /** Gives RUN steps a network namespace on the default bridge (see Networks.sandbox). */
  network?: (id: string) => Promise<RunSandbox>;
}

/**
 * Builds runs `docker build` (`@berth/builder`) against the engine's stores, with one build cache
 * shared by every build of this engine, and cleans up what a build cut short by a crash left.
 */
export class Builds {
  readonly #d: BuildsDeps;
  #cache: Promise<BuildCache> | undefined;
  #contexts: Promise<SyncedContexts> | undefined;
  /** Builds in progress; a prune waits for them (it may delete blobs a build is about to reuse). */
  readonly #active = new Set<Promise<unknown>>();
  /** A prune in progress; builds wait for it. */
  #pruning: Promise<unknown> | undefined;

  constructor(deps: BuildsDeps) {
    this.#d = deps;
  }

  /**
   * build runs a Dockerfile. Tags are validated before anything runs and applied as docker names
   * them (`friendlyhello` becomes `friendlyhello:latest`).
   */
  async build(opts: BuildOptions, onProgress?: (e: BuildProgress) => void): Promise<BuildResult> {
    const tags = (opts.tags ?? []).map((t) => Reference.familiarString(Reference.parseTagTarget(t)));
    const cache = await this.#openCache();
    while (this.#pruning !== undefined) await this.#pruning.catch(() => {});
    const { images, snapshots, content, runtime, root } = this.#d;
    const running = build(
      { ...opts, tags },
      {
        images,
        snapshots,
        content,
        runtime,
        root,
        workDir: join(this.#d.runRoot, "bd"),
        cache,
        ...(this.#d.network === undefined ? {} : { network: this.#d.network }),
      },
      onProgress,
    );
    this.#active.add(running);
    let result: BuildResult;
    try {
      result = await running;
    } finally {
      this.#active.delete(running);
    }
    for (const t of tags) this.#d.events?.emit(ImageEvent(result.imageId, "tag", t));
    return result;
  }

  /**
   * contextMissing is step one of Berth's incremental context: the paths of a client's listing
   * that the kept copy of `key` lacks or holds in another version.
   */
  async contextMissing(key: string, entries: readonly ContextEntry[]): Promise<string[]> {
    return (await this.#openContexts()).missing(key, entries);
  }

  /**
   * buildSynced is step two: brings the kept copy of `key` to `entries` with `tar` (the paths
   * contextMissing named), then builds from it with its remembered file digests, holding the
   * key's lock. Throws Conflict (before any progress) when the copy is incomplete afterwards.
   */
  async buildSynced(
    sync: { key: string; entries: readonly ContextEntry[]; tar: Readable },
    opts: Omit<BuildOptions, "contextDir" | "contextTar" | "fileDigests" | "ownContext">,
    onProgress?: (e: BuildProgress) => void,
  ): Promise<BuildResult> {
    const contexts = await this.#openContexts();
    while (this.#pruning !== undefined) await this.#pruning.catch(() => {});
    return contexts.use(
      sync.key,
      sync.entries,
      sync.tar,
      (dir, fileDigests) =>
        this.build({ ...opts, contextDir: dir, fileDigests, ownContext: true }, onProgress),
      opts.signal,
    );
  }

  #openContexts(): Promise<SyncedContexts> {
    this.#contexts ??= SyncedContexts.open(join(this.#d.root, "build-contexts"));
    return this.#contexts;
  }

  #openCache(): Promise<BuildCache> {
    this.#cache ??= BuildCache.open(this.#d.root, this.#d.content);
    return this.#cache;
  }

  /** #inUse is every blob an image references: never deleted by a prune. */
  #inUse(): Set<string> {
    const s = new Set<string>();
    for (const img of this.#d.images.list()) for (const l of img.layers) s.add(l.digest);
    return s;
  }

  /**
   * records lists the build cache as docker's `GET /system/df` shows it (`BuildCache` entries:
   * one per cached step, sized by the layer blob it alone holds).
   */
  async records(): Promise<BuildCacheUsage[]> {
    const cache = await this.#openCache();
    const contexts = (await (await this.#openContexts()).usage()).map((u) => ({
      ID: u.key.slice(0, 25),
      Parent: "",
      Parents: null,
      Type: "source.local",
      Description: "local source for context (berth incremental context)",
      InUse: u.inUse,
      Shared: false,
      Size: u.size,
      CreatedAt: u.lastUsed.toISOString(),
      LastUsedAt: u.lastUsed.toISOString(),
      UsageCount: 1,
    }));
    const steps = cache.records(this.#inUse()).map((r: CacheRecord) => ({
      ID: r.id.replace(/^sha256:/, "").slice(0, 25),
      Parent: "",
      Parents: null,
      Type: "regular",
      Description: r.layer === undefined ? "config step" : `layer ${r.layer}`,
      InUse: false,
      Shared: r.shared,
      Size: r.size,
      CreatedAt: r.createdAt,
      LastUsedAt: r.lastUsedAt,
      UsageCount: r.usageCount,
    }));
    return [...steps, ...contexts];
  }

  /**
   * prune is docker's `POST /build/prune`: removes cache entries (all with `all`, else those whose
   * layer is in no image), last used before `until`, down to `keepStorage` bytes, and deletes the
   * blobs no image and no remaining entry uses. It waits for running builds and holds new ones.
   */
  async prune(opts: BuildPruneOptions = {}): Promise<BuildPruneReport> {
    const cache = await this.#openCache();
    while (this.#pruning !== undefined) await this.#pruning.catch(() => {});
    const run = (async () => {
      await Promise.allSettled([...this.#active]);
      return cache.prune({
        inUse: this.#inUse(),
        ...(opts.all === undefined ? {} : { all: opts.all }),
        ...(opts.until === undefined ? {} : { before: new Date(opts.until) }),
        ...(opts.keepStorage === undefined ? {} : { keepStorage: opts.keepStorage }),
      });
    })();
    this.#pruning = run;
    try {
      const r = await run;
      const snapshotBytes = r.cachesDeleted.length > 0 ? await this.#collectSnapshots(cache) : 0;
      // Kept context copies and RUN --mount=type=cache directories are build cache too
      // (BuildKit's `source.local` and `exec.cachemount` records).
      const mounts =
        opts.until === undefined && opts.keepStorage === undefined
          ? await CacheMounts.forRoot(this.#d.root).prune()
          : { removed: [], reclaimed: 0 };
      const ctx =
        opts.until === undefined && opts.keepStorage === undefined
          ? await (await this.#openContexts()).prune()
          : { keys: [], bytes: 0 };
      return {
        CachesDeleted: [
          ...r.cachesDeleted.map((k) => k.replace(/^sha256:/, "").slice(0, 25)),
          ...ctx.keys.map((k) => k.slice(0, 25)),
          ...mounts.removed.map((k) => k.slice(0, 25)),
        ],
        SpaceReclaimed: r.spaceReclaimed + snapshotBytes + ctx.bytes + mounts.reclaimed,
      };
    } finally {
      this.#pruning = undefined;
    }
  }

  /**
   * #collectSnapshots removes the unpacked layers (snapshots) that no image, no remaining cache
   * entry and no container layer needs any more, after a prune; returns the bytes freed.
   */
  async #collectSnapshots(cache: BuildCache): Promise<number> {
    const { snapshots, images } = this.#d;
    let freed = 0;
    try {
      const inUse = await snapshots.lowerdirsInUse();
      const needed = new Set<string>();
      for (const img of images.list())
        for (const c of chainIds(img.layers.map((l) => l.diffId))) needed.add(c);
      for (const stack of cache.layerStacks()) for (const c of chainIds(stack as Digest[])) needed.add(c);
      for (const s of snapshots.list()) {
        if (needed.has(s.chainId) || inUse.has(s.path)) continue;
        freed += await diskUsage(s.path);
        await snapshots.removeSnapshot(s.chainId);
      }
    } catch (err) {
      this.#d.log(`build prune: snapshot gc: ${(err as Error).message}`);
    }
    return freed;
  }

  /** cleanup releases RUN containers and scratch layers of builds a crash interrupted. */
  async cleanup(): Promise<void> {
    // Bundles, step scratch (secret files among them) and extracted contexts of cut-short builds.
    await rm(join(this.#d.runRoot, "bd"), { recursive: true, force: true }).catch((err: unknown) =>
      this.#d.log(`build cleanup: ${(err as Error).message}`),
    );
    let names: string[] = [];
    try {
      names = await readdir(join(this.#d.root, "containers"));
    } catch {
      return;
    }
    for (const id of names.filter((n) => n.startsWith(BUILD_ID_PREFIX))) {
      await this.#d.runtime.delete(id, { force: true }).catch(() => {});
      await this.#d.runtime.cleanup(id).catch(() => {});
      await this.#d.snapshots.unmountContainer(id).catch(() => {});
      await this.#d.snapshots
        .removeContainerLayer(id)
        .catch((err: unknown) => this.#d.log(`build cleanup ${id}: ${(err as Error).message}`));
    }
  }
}
