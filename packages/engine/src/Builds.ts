import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { BuildCache, type BuildOptions, type BuildProgress, type BuildResult, build } from "@berth/builder";
import type { ContentStore, ImageStore, SnapshotStore } from "@berth/image";
import { Reference } from "@berth/oci";
import type { Runtime } from "@berth/runtime";
import { type Events, ImageEvent } from "./Events.ts";

/** Prefix of the IDs the builder gives its RUN containers and scratch snapshots. */
const BUILD_ID_PREFIX = "berth-build-";

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
}

/**
 * Builds runs `docker build` (`@berth/builder`) against the engine's stores, with one build cache
 * shared by every build of this engine, and cleans up what a build cut short by a crash left.
 */
export class Builds {
  readonly #d: BuildsDeps;
  #cache: Promise<BuildCache> | undefined;

  constructor(deps: BuildsDeps) {
    this.#d = deps;
  }

  /**
   * build runs a Dockerfile. Tags are validated before anything runs and applied as docker names
   * them (`friendlyhello` becomes `friendlyhello:latest`).
   */
  async build(opts: BuildOptions, onProgress?: (e: BuildProgress) => void): Promise<BuildResult> {
    const tags = (opts.tags ?? []).map((t) => Reference.familiarString(Reference.parseTagTarget(t)));
    this.#cache ??= BuildCache.open(this.#d.root, this.#d.content);
    const { images, snapshots, content, runtime, root } = this.#d;
    const result = await build(
      { ...opts, tags },
      {
        images,
        snapshots,
        content,
        runtime,
        root,
        workDir: join(this.#d.runRoot, "bd"),
        cache: await this.#cache,
      },
      onProgress,
    );
    for (const t of tags) this.#d.events?.emit(ImageEvent(result.imageId, "tag", t));
    return result;
  }

  /** cleanup releases RUN containers and scratch layers of builds a crash interrupted. */
  async cleanup(): Promise<void> {
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
