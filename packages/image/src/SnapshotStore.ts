import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmod,
  chown,
  mkdir,
  readdir,
  readFile,
  realpath,
  rename,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join, relative } from "node:path";
import type { Readable } from "node:stream";
import { promisify } from "node:util";
import { applyLayer } from "@berth/archive";
import { errnoCode, Internal, InvalidArgument, NotFound } from "@berth/errdefs";
import type { Digest } from "@berth/oci";
import { fsyncDir, writeFileAtomic } from "./atomicWrite.ts";
import type { ContentStore } from "./ContentStore.ts";
import { chainIds } from "./chainId.ts";
import type { LayerRecord } from "./ImageRecord.ts";
import { Mutex } from "./Mutex.ts";
import { isMountPoint } from "./mountinfo.ts";
import { Semaphore } from "./Semaphore.ts";
import { spreadSubdirs } from "./spreadSubdirs.ts";

const run = promisify(execFile);

/** How long the background sync waits to gather adopted snapshots (see #scheduleSync). */
const SYNC_DELAY_MS = 200;

/**
 * MOUNT_OPTIONS_MAX is the kernel's limit on the mount data string (one page).
 * Longer overlay options are retried with paths relative to the data root.
 */
export const MOUNT_OPTIONS_MAX = 4095;

/** Metadata kept in `snapshots/<n>/meta.json`. */
export interface SnapshotInfo {
  readonly chainId: Digest;
  readonly diffId: Digest;
  readonly parent?: Digest;
  /** Directory holding the unpacked layer (an overlay lowerdir). */
  readonly path: string;
  readonly created: string;
  /**
   * Set while the layer's files may not be on disk yet (adopted from a `volatile` overlay, see
   * {@link SnapshotStore.adoptLayer}): the kernel boot ID it was written under. Cleared once a
   * file system sync has run; a snapshot still marked from another boot is dropped at open.
   */
  readonly unsyncedBoot?: string;
}

/** What {@link SnapshotStore.createContainerLayer} prepared. */
export interface ContainerLayer {
  /** Unpacked image layers, top layer first (overlay `lowerdir` order). */
  readonly lowerdirs: string[];
  readonly upperdir: string;
  readonly workdir: string;
  /** The merged directory: the container's root file system once mounted. */
  readonly rootfs: string;
}

/** Options for {@link SnapshotStore.unpackLayerStream}. */
export interface UnpackStreamOptions {
  /**
   * Settles once the bytes being streamed are known good (blob digest and diff ID checked). The
   * snapshot is committed only after it resolves; if it rejects, the extraction is discarded.
   */
  readonly verified: Promise<unknown>;
  /**
   * The lower layers' directories, top first, once they are unpacked (typically
   * {@link SnapshotStore.prepareImage} of the layers below, called when their blobs are stored).
   * Asked for at the end of the stream, for opaque directories and to commit bottom-up.
   */
  readonly lowers: () => Promise<string[]>;
}

/** An image as far as unpacking is concerned. */
export interface Unpackable {
  readonly layers: readonly Pick<LayerRecord, "digest" | "diffId">[];
}

const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/**
 * SnapshotStore unpacks image layers into overlayfs lower directories and
 * manages per-container upper/work/merged directories and their mounts.
 *
 * Layout under the data root:
 * - `snapshots/<n>/fs` one unpacked layer (whiteouts as overlay 0/0 devices),
 *   `snapshots/<n>/meta.json` mapping the directory to its chain ID. Short
 *   numeric names keep the overlay option string small.
 * - `snapshots/empty` an empty lowerdir for images without layers.
 * - `containers/<id>/{upper,work,merged}` and `containers/<id>/layer.json`
 *   (the lowerdirs), next to whatever else the engine keeps there.
 *
 * A layer is unpacked into `snapshots/tmp-<random>` and renamed to its
 * number only when complete: a crash mid-unpack leaves only a tmp dir, which
 * {@link SnapshotStore.open} removes.
 *
 * Layers are unpacked concurrently (at most `unpackConcurrency` at a time,
 * by default the CPU count): each extracts into its own directory and needs
 * the layers below only for opaque directories, at its very end. A layer is
 * committed (numbered, registered under its chain ID) only after its parent
 * is, so the chain bookkeeping keeps its order; concurrent requests for the
 * same chain ID share one unpack.
 */
export class SnapshotStore {
  readonly root: string;
  readonly content: ContentStore;
  readonly snapshotsDir: string;
  readonly containersDir: string;
  readonly #byChain = new Map<string, SnapshotInfo>();
  readonly #lock = new Mutex();
  readonly #unpacking = new Map<string, Promise<SnapshotInfo>>();
  /** Unpacks fed from a download ({@link unpackLayerStream}), by chain ID. */
  readonly #streaming = new Map<string, Promise<SnapshotInfo>>();
  readonly #slots: Semaphore;
  #next = 1;
  /** This boot's ID (see SnapshotInfo.unsyncedBoot). */
  readonly #bootId: string;
  /** Chain IDs of snapshots waiting for a file system sync, and the sync loop while it runs. */
  readonly #unsynced = new Set<string>();
  #syncing: Promise<void> | undefined;

  private constructor(root: string, content: ContentStore, unpackConcurrency: number, bootId: string) {
    this.root = root;
    this.content = content;
    this.#bootId = bootId;
    this.#slots = new Semaphore(unpackConcurrency);
    this.snapshotsDir = join(root, "snapshots");
    this.containersDir = join(root, "containers");
  }

  /**
   * open scans `snapshots/`, drops incomplete unpacks, and creates the layout (0700/0710).
   * `unpackConcurrency` bounds how many layers are extracted at once (default: the CPU count).
   */
  static async open(opts: {
    root: string;
    content: ContentStore;
    unpackConcurrency?: number;
    /** The kernel boot ID (tests); default /proc/sys/kernel/random/boot_id. */
    bootId?: string;
  }): Promise<SnapshotStore> {
    await mkdir(opts.root, { recursive: true, mode: 0o711 });
    const root = await realpath(opts.root);
    const bootId = opts.bootId ?? (await readFile("/proc/sys/kernel/random/boot_id", "utf8")).trim();
    const s = new SnapshotStore(root, opts.content, opts.unpackConcurrency ?? availableParallelism(), bootId);
    await mkdir(s.snapshotsDir, { recursive: true, mode: 0o700 });
    await mkdir(s.containersDir, { recursive: true, mode: 0o710 });
    await mkdir(join(s.snapshotsDir, "empty"), { recursive: true, mode: 0o755 });
    await Promise.all([spreadSubdirs(s.snapshotsDir), spreadSubdirs(s.containersDir)]);
    for (const name of await readdir(s.snapshotsDir)) {
      const dir = join(s.snapshotsDir, name);
      if (name === "empty") continue;
      if (!/^[0-9]+$/.test(name)) {
        await rm(dir, { recursive: true, force: true });
        continue;
      }
      s.#next = Math.max(s.#next, Number(name) + 1);
      try {
        const meta = JSON.parse(await readFile(join(dir, "meta.json"), "utf8")) as Omit<SnapshotInfo, "path">;
        if (meta.unsyncedBoot !== undefined && meta.unsyncedBoot !== bootId) {
          // Written under another boot and never synced: a power loss may have torn it. The
          // layer is unpacked again from its blob when needed.
          await rm(dir, { recursive: true, force: true });
          continue;
        }
        s.#byChain.set(meta.chainId, { ...meta, path: join(dir, "fs") });
        if (meta.unsyncedBoot !== undefined) s.#scheduleSync(meta.chainId);
      } catch {
        await rm(dir, { recursive: true, force: true });
      }
    }
    return s;
  }

  /** list returns all unpacked snapshots. */
  list(): SnapshotInfo[] {
    return [...this.#byChain.values()];
  }

  /** get returns the snapshot for a chain ID, if unpacked. */
  get(chainId: string): SnapshotInfo | undefined {
    return this.#byChain.get(chainId);
  }

  /**
   * prepareImage makes sure every layer of `image` is unpacked (keyed by chain
   * ID; existing snapshots are reused) and returns the lowerdirs, top first.
   * Missing layers are unpacked concurrently. An image without layers gets
   * the empty lowerdir.
   */
  async prepareImage(image: Unpackable): Promise<string[]> {
    const chains = chainIds(image.layers.map((l) => l.diffId));
    const snaps: Promise<SnapshotInfo>[] = [];
    for (const [i, layer] of image.layers.entries()) {
      snaps.push(this.#snapshot(layer, chains[i]!, i === 0 ? undefined : chains[i - 1], snaps.slice()));
    }
    // Wait for every unpack (none is left running behind an error), then report the first error.
    const settled = await Promise.allSettled(snaps);
    const dirs: string[] = [];
    for (const r of settled) {
      if (r.status === "rejected") throw r.reason;
      dirs.push(r.value.path);
    }
    if (dirs.length === 0) return [join(this.snapshotsDir, "empty")];
    return dirs.reverse();
  }

  /** #snapshot returns the chain's snapshot: the existing one, the unpack under way, or a new unpack. */
  #snapshot(
    layer: Pick<LayerRecord, "digest" | "diffId">,
    chainId: Digest,
    parent: Digest | undefined,
    lowers: Promise<SnapshotInfo>[],
  ): Promise<SnapshotInfo> {
    const existing = this.#byChain.get(chainId);
    if (existing !== undefined) return Promise.resolve(existing);
    const streaming = this.#streaming.get(chainId);
    if (streaming !== undefined) {
      // An unpack straight from a download is only a head start: if it fails, unpack the stored blob.
      return streaming.catch(() => this.#snapshot(layer, chainId, parent, lowers));
    }
    let running = this.#unpacking.get(chainId);
    if (running === undefined) {
      running = this.#unpack(layer, chainId, parent, lowers).finally(() => this.#unpacking.delete(chainId));
      this.#unpacking.set(chainId, running);
    }
    return running;
  }

  /**
   * unpackLayerStream extracts the top layer of `image` from `tar` (its bytes as they are being
   * downloaded, compressed or not) into a private directory, and commits it under its chain ID
   * once `opts.verified` resolves and the layers below are committed; it resolves with the
   * snapshot. If the chain is already unpacked or being unpacked, the stream is drained and that
   * snapshot returned. A failed streamed unpack is never fatal to {@link prepareImage}: it
   * unpacks the stored blob instead.
   */
  unpackLayerStream(image: Unpackable, tar: Readable, opts: UnpackStreamOptions): Promise<SnapshotInfo> {
    const layer = image.layers.at(-1);
    if (layer === undefined) {
      tar.resume();
      return Promise.reject(new InvalidArgument("unpacking a layer stream needs at least one layer"));
    }
    const chains = chainIds(image.layers.map((l) => l.diffId));
    const chainId = chains.at(-1)!;
    const parent = chains.at(-2);
    const known = this.#byChain.get(chainId) ?? this.#unpacking.get(chainId) ?? this.#streaming.get(chainId);
    if (known !== undefined) {
      tar.resume();
      return Promise.resolve(known);
    }
    // Rejected before the stream ends: reported through `committed`, never unhandled.
    opts.verified.catch(() => {});
    const committed = (async (): Promise<SnapshotInfo> => {
      const tmp = join(this.snapshotsDir, `tmp-${randomBytes(6).toString("hex")}`);
      try {
        await mkdir(join(tmp, "fs"), { recursive: true, mode: 0o755 });
        await applyLayer(join(tmp, "fs"), tar, { whiteouts: "overlay", lowerDirs: () => opts.lowers() });
        await opts.verified;
        // Bottom-up: registered only once every layer below is.
        await opts.lowers();
        return await this.#commit(tmp, layer, chainId, parent);
      } catch (err) {
        tar.resume();
        await rm(tmp, { recursive: true, force: true });
        throw err;
      }
    })().finally(() => this.#streaming.delete(chainId));
    this.#streaming.set(chainId, committed);
    return committed;
  }

  /**
   * unpackLayerInto reserves a private directory for the top layer of `image`, for an extraction
   * done elsewhere (`ingestLayer`, in a worker): it returns the directory to extract into, and
   * `extracted`, which the caller must call once with the promise of that extraction (resolving
   * only after the bytes are verified). The snapshot is committed under its chain ID once that
   * promise resolves and `opts.lowers()` (the layers below) resolves; on rejection the directory
   * is removed. Until then {@link prepareImage} waits for this unpack, and unpacks the stored
   * blob itself if it fails. Returns undefined when the chain is unpacked or being unpacked.
   */
  unpackLayerInto(
    image: Unpackable,
    opts: Pick<UnpackStreamOptions, "lowers">,
  ): { dir: string; extracted: (done: Promise<unknown>) => Promise<SnapshotInfo> } | undefined {
    const layer = image.layers.at(-1);
    if (layer === undefined) return undefined;
    const chains = chainIds(image.layers.map((l) => l.diffId));
    const chainId = chains.at(-1)!;
    const parent = chains.at(-2);
    if (this.#byChain.has(chainId) || this.#unpacking.has(chainId) || this.#streaming.has(chainId))
      return undefined;
    const tmp = join(this.snapshotsDir, `tmp-${randomBytes(6).toString("hex")}`);
    let settle: { resolve: (v: unknown) => void; reject: (err: unknown) => void } | undefined;
    const done = new Promise<unknown>((resolve, reject) => {
      settle = { resolve, reject };
    });
    const committed = (async (): Promise<SnapshotInfo> => {
      try {
        await done;
        // Bottom-up: registered only once every layer below is.
        await opts.lowers();
        return await this.#commit(tmp, layer, chainId, parent);
      } catch (err) {
        await rm(tmp, { recursive: true, force: true });
        throw err;
      }
    })().finally(() => this.#streaming.delete(chainId));
    committed.catch(() => {});
    this.#streaming.set(chainId, committed);
    return {
      dir: join(tmp, "fs"),
      extracted: (p) => {
        p.then(settle!.resolve, settle!.reject);
        return committed;
      },
    };
  }

  async #unpack(
    layer: Pick<LayerRecord, "digest" | "diffId">,
    chainId: Digest,
    parent: Digest | undefined,
    lowers: Promise<SnapshotInfo>[],
  ): Promise<SnapshotInfo> {
    // A failed lower layer fails this one too (reported once, by whoever awaits it first).
    for (const l of lowers) l.catch(() => {});
    const tmp = join(this.snapshotsDir, `tmp-${randomBytes(6).toString("hex")}`);
    try {
      // Slots are granted first come first served and lower layers always ask first, so a
      // layer waiting for its lower dirs never holds the slot a lower layer needs.
      await this.#slots.run(async () => {
        await mkdir(join(tmp, "fs"), { recursive: true, mode: 0o755 });
        await applyLayer(join(tmp, "fs"), await this.content.readStream(layer.digest), {
          whiteouts: "overlay",
          // Only opaque directories need the layers below, once this layer's stream is applied.
          lowerDirs: async () => (await Promise.all(lowers)).map((s) => s.path).reverse(),
        });
      });
      // The chain is committed bottom-up: a snapshot is only ever registered above its parent.
      await Promise.all(lowers);
      return await this.#commit(tmp, layer, chainId, parent);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * #scheduleSync queues a snapshot for the background sync: shortly after, one `sync -f` (a
   * syncfs of the store's file system) writes every queued snapshot's files out, and their
   * marks are cleared. Best effort: a failed sync leaves the marks (see SnapshotInfo.unsyncedBoot).
   */
  #scheduleSync(chainId: string): void {
    this.#unsynced.add(chainId);
    this.#syncing ??= (async () => {
      while (this.#unsynced.size > 0) {
        // A short pause gathers the adoptions of the next few build steps into one sync.
        await new Promise((r) => setTimeout(r, SYNC_DELAY_MS).unref());
        const batch = [...this.#unsynced];
        this.#unsynced.clear();
        await run("sync", ["-f", this.snapshotsDir]);
        for (const c of batch) {
          await this.#lock.run(async () => {
            const info = this.#byChain.get(c);
            if (info?.unsyncedBoot === undefined) return;
            const { path, unsyncedBoot: _, ...meta } = info;
            await writeFileAtomic(join(path, "..", "meta.json"), JSON.stringify(meta)).catch(() => {});
            this.#byChain.set(c, { ...meta, path });
          });
        }
      }
    })()
      .catch(() => {})
      .finally(() => {
        this.#syncing = undefined;
      });
  }

  /** synced settles once no snapshot waits for the background sync (tests, shutdown). */
  async synced(): Promise<void> {
    while (this.#syncing !== undefined) await this.#syncing;
  }

  /**
   * adoptLayer registers `dir`, the upper dir of an overlay that is no longer mounted, as the
   * unpacked top layer of `image`, moving it into the store. An upper dir is already in the
   * snapshot format (whiteouts as 0/0 devices, opaque dirs marked by overlay), and with the
   * options this store mounts with (no redirect_dir, metacopy or index) it holds plain copies. The
   * builder commits each step's upper dir as a layer and the next step needs exactly that layer
   * as a lower dir: adopting it saves decompressing and writing the blob again. The caller must
   * have stored a layer with the same content. Returns undefined (and leaves `dir` alone) when
   * the chain is already unpacked or being unpacked, its parent chain is not unpacked, or `dir`
   * is on another file system. With `unsynced` (the overlay was mounted `volatile`, so its
   * unmount wrote nothing out), the snapshot is marked with this boot's ID and synced in the
   * background; if the machine goes down before that, the next open drops it (a daemon that
   * only crashed keeps it: the page cache survived).
   */
  async adoptLayer(
    image: Unpackable,
    dir: string,
    opts: { unsynced?: boolean } = {},
  ): Promise<SnapshotInfo | undefined> {
    const layer = image.layers.at(-1);
    if (layer === undefined) return undefined;
    const chains = chainIds(image.layers.map((l) => l.diffId));
    const chainId = chains.at(-1)!;
    const parent = chains.at(-2);
    if (this.#byChain.has(chainId) || this.#unpacking.has(chainId) || this.#streaming.has(chainId))
      return undefined;
    if (parent !== undefined && !this.#byChain.has(parent)) return undefined;
    const tmp = join(this.snapshotsDir, `tmp-${randomBytes(6).toString("hex")}`);
    await mkdir(tmp, { recursive: true, mode: 0o755 });
    try {
      await rename(dir, join(tmp, "fs"));
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      if (errnoCode(err) === "EXDEV") return undefined;
      throw err;
    }
    try {
      // The root of an unpacked layer is a fresh 0755 root-owned directory; so is this one.
      await chown(join(tmp, "fs"), 0, 0);
      await chmod(join(tmp, "fs"), 0o755);
      const info = await this.#commit(tmp, layer, chainId, parent, opts.unsynced === true);
      if (info.unsyncedBoot !== undefined) this.#scheduleSync(chainId);
      return info;
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  /** #commit numbers an unpacked tmp dir and registers it under its chain ID (or drops it if raced). */
  #commit(
    tmp: string,
    layer: Pick<LayerRecord, "diffId">,
    chainId: Digest,
    parent: Digest | undefined,
    unsynced = false,
  ): Promise<SnapshotInfo> {
    return this.#lock.run(async () => {
      const raced = this.#byChain.get(chainId);
      if (raced !== undefined) {
        await rm(tmp, { recursive: true, force: true });
        return raced;
      }
      const n = this.#next++;
      const final = join(this.snapshotsDir, String(n));
      const meta = {
        chainId,
        diffId: layer.diffId,
        ...(parent === undefined ? {} : { parent }),
        created: new Date().toISOString(),
        ...(unsynced ? { unsyncedBoot: this.#bootId } : {}),
      };
      if (unsynced) {
        // Nothing of an unsynced snapshot is forced out (an fsync here would flush every dirty
        // byte ext4 orders before it): a torn meta.json is dropped at open like the mark says.
        await writeFile(join(tmp, "meta.json"), JSON.stringify(meta));
        await rename(tmp, final);
      } else {
        await writeFileAtomic(join(tmp, "meta.json"), JSON.stringify(meta));
        await rename(tmp, final);
        await fsyncDir(this.snapshotsDir);
      }
      const info: SnapshotInfo = { ...meta, path: join(final, "fs") };
      this.#byChain.set(chainId, info);
      return info;
    });
  }

  /** removeSnapshot deletes an unpacked layer (callers make sure no container or child uses it). */
  async removeSnapshot(chainId: string): Promise<void> {
    await this.#lock.run(async () => {
      const snap = this.#byChain.get(chainId);
      if (snap === undefined) throw new NotFound(`snapshot ${chainId}: not found`);
      this.#byChain.delete(chainId);
      this.#unsynced.delete(chainId);
      await rm(join(snap.path, ".."), { recursive: true, force: true });
    });
  }

  #containerDir(containerId: string): string {
    if (!CONTAINER_ID.test(containerId))
      throw new InvalidArgument(`invalid container id ${JSON.stringify(containerId)}`);
    return join(this.containersDir, containerId);
  }

  /** createContainerLayer unpacks the image and creates the container's upper, work and merged dirs. */
  async createContainerLayer(containerId: string, image: Unpackable): Promise<ContainerLayer> {
    const dir = this.#containerDir(containerId);
    const lowerdirs = await this.prepareImage(image);
    await mkdir(dir, { recursive: true, mode: 0o710 });
    const layer: ContainerLayer = {
      lowerdirs,
      upperdir: join(dir, "upper"),
      workdir: join(dir, "work"),
      rootfs: join(dir, "merged"),
    };
    await mkdir(layer.upperdir, { recursive: true, mode: 0o755 });
    await mkdir(layer.workdir, { recursive: true, mode: 0o700 });
    await mkdir(layer.rootfs, { recursive: true, mode: 0o755 });
    await writeFileAtomic(join(dir, "layer.json"), JSON.stringify(layer));
    return layer;
  }

  /** containerLayer reads back what {@link createContainerLayer} made; NotFound if absent. */
  async containerLayer(containerId: string): Promise<ContainerLayer> {
    const dir = this.#containerDir(containerId);
    try {
      return JSON.parse(await readFile(join(dir, "layer.json"), "utf8")) as ContainerLayer;
    } catch (err) {
      if (errnoCode(err) === "ENOENT") throw new NotFound(`no container layer for ${containerId}`);
      throw err;
    }
  }

  /** isMounted tells whether the container's merged dir is a mount point. */
  async isMounted(containerId: string): Promise<boolean> {
    const layer = await this.containerLayer(containerId);
    return isMountPoint(layer.rootfs);
  }

  /**
   * mountContainer mounts the overlay at the merged dir (idempotent). When the
   * options would exceed one page, lowerdir/upperdir/workdir are passed
   * relative to the data root and `mount` runs with that as its cwd.
   */
  async mountContainer(containerId: string, mountOpts: { volatile?: boolean } = {}): Promise<string> {
    const layer = await this.containerLayer(containerId);
    if (await isMountPoint(layer.rootfs)) return layer.rootfs;
    for (const d of layer.lowerdirs) await stat(d);
    // volatile: no syncs to the upper file system, not even at unmount (see adoptLayer's unsynced).
    const extra = mountOpts.volatile === true ? ",volatile" : "";
    let opts = `lowerdir=${layer.lowerdirs.join(":")},upperdir=${layer.upperdir},workdir=${layer.workdir}${extra}`;
    let cwd: string | undefined;
    if (opts.length > MOUNT_OPTIONS_MAX) {
      const rel = (p: string) => relative(this.root, p);
      opts = `lowerdir=${layer.lowerdirs.map(rel).join(":")},upperdir=${rel(layer.upperdir)},workdir=${rel(layer.workdir)}${extra}`;
      cwd = this.root;
      if (opts.length > MOUNT_OPTIONS_MAX) {
        throw new InvalidArgument(
          `too many layers to mount: overlay options are ${opts.length} bytes, max ${MOUNT_OPTIONS_MAX}`,
        );
      }
    }
    try {
      await run(
        "mount",
        ["-t", "overlay", "overlay", "-o", opts, layer.rootfs],
        cwd === undefined ? {} : { cwd },
      );
    } catch (err) {
      // A kernel before 5.10 has no volatile overlays: mount the ordinary way.
      if (extra !== "") return this.mountContainer(containerId);
      const stderr = (err as { stderr?: string }).stderr ?? String(err);
      throw new Internal(`mounting overlay for ${containerId}: ${stderr.trim()}`, { cause: err });
    }
    return layer.rootfs;
  }

  /** unmountContainer unmounts the merged dir; not being mounted is fine. */
  async unmountContainer(containerId: string): Promise<void> {
    const layer = await this.containerLayer(containerId);
    if (!(await isMountPoint(layer.rootfs))) return;
    try {
      await run("umount", [layer.rootfs]);
    } catch (err) {
      if (!(await isMountPoint(layer.rootfs))) return;
      // Busy: detach it lazily, as docker's overlay2 driver does (MNT_DETACH).
      try {
        await run("umount", ["-l", layer.rootfs]);
      } catch {
        const stderr = (err as { stderr?: string }).stderr ?? String(err);
        throw new Internal(`unmounting ${layer.rootfs}: ${stderr.trim()}`, { cause: err });
      }
    }
  }

  /** removeContainerLayer unmounts and deletes the container's upper, work and merged dirs and layer.json. */
  async removeContainerLayer(containerId: string): Promise<void> {
    const dir = this.#containerDir(containerId);
    try {
      await this.unmountContainer(containerId);
    } catch (err) {
      if (!(err instanceof Error && (err as { _tag?: string })._tag === "NotFound")) throw err;
    }
    for (const sub of ["merged", "upper", "work", "layer.json"]) {
      await rm(join(dir, sub), { recursive: true, force: true });
    }
    const left = await readdir(dir).catch(() => undefined);
    if (left !== undefined && left.length === 0) await rm(dir, { recursive: true, force: true });
  }

  /** lowerdirsInUse lists the snapshot dirs existing container layers use (for snapshot GC). */
  async lowerdirsInUse(): Promise<Set<string>> {
    const used = new Set<string>();
    for (const id of await readdir(this.containersDir)) {
      try {
        for (const d of (await this.containerLayer(id)).lowerdirs) used.add(d);
      } catch {
        // not a container layer
      }
    }
    return used;
  }
}
