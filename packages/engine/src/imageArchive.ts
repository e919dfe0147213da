import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import {
  type ImageStore,
  type LoadProgress,
  type LoadReport,
  loadArchive,
  type SaveOptions,
  saveArchive,
} from "@berth/image";
import { ensureDir } from "./fsutil.ts";

/** Options of {@link loadImages} (docker's `POST /images/load`). */
export interface ImageLoadOptions {
  /** Called as each layer is stored (docker's `Loading layer` progress when not quiet). */
  readonly onProgress?: (p: LoadProgress) => void;
  /** Aborts the load (client gone); nothing is recorded. */
  readonly signal?: AbortSignal;
}

/** What {@link saveImages} and {@link loadImages} need of the engine. */
export interface ImageArchiveHost {
  readonly images: ImageStore;
  /** The engine's persistent root; loads unpack under `<root>/tmp/load/`. */
  readonly root: string;
}

/** One cleanup of crash leftovers per engine, awaited by every load (so none removes another's dir). */
const cleanups = new WeakMap<ImageArchiveHost, Promise<void>>();

/**
 * saveImages is docker's `GET /images/get?names=...` and `GET /images/{name}/get`: it resolves
 * every name first (NotFound before any byte) and returns the archive as a tar stream in the
 * format docker 25+ writes (see `saveArchive` in @berth/image).
 */
export function saveImages(
  host: ImageArchiveHost,
  names: readonly string[],
  opts: SaveOptions = {},
): Promise<Readable> {
  return saveArchive(host.images, names, opts);
}

/**
 * loadImages is docker's `POST /images/load`: images from a `docker save` archive (any docker
 * version) or an OCI image layout tar, each verified whole before it is stored. The archive is
 * unpacked under `<root>/tmp/load/` (same file system as the content store); what a crashed
 * daemon left there is removed on the first load after a start.
 */
export async function loadImages(
  host: ImageArchiveHost,
  input: Readable,
  opts: ImageLoadOptions = {},
): Promise<LoadReport> {
  const tmpDir = join(host.root, "tmp", "load");
  let cleanup = cleanups.get(host);
  if (cleanup === undefined) {
    cleanup = (async () => {
      await ensureDir(join(host.root, "tmp"), 0o700);
      await ensureDir(tmpDir, 0o700);
      for (const name of await readdir(tmpDir)) {
        await rm(join(tmpDir, name), { recursive: true, force: true }).catch(() => {});
      }
    })().catch(() => {});
    cleanups.set(host, cleanup);
  }
  await cleanup;
  return loadArchive(host.images, input, {
    tmpDir,
    ...(opts.onProgress === undefined ? {} : { onProgress: opts.onProgress }),
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  });
}
