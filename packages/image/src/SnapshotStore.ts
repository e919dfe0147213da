import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, realpath, rename, rm, stat } from "node:fs/promises";
import { join, relative } from "node:path";
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

const run = promisify(execFile);

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
 */
export class SnapshotStore {
  readonly root: string;
  readonly content: ContentStore;
  readonly snapshotsDir: string;
  readonly containersDir: string;
  readonly #byChain = new Map<string, SnapshotInfo>();
  readonly #lock = new Mutex();
  #next = 1;

  private constructor(root: string, content: ContentStore) {
    this.root = root;
    this.content = content;
    this.snapshotsDir = join(root, "snapshots");
    this.containersDir = join(root, "containers");
  }

  /** open scans `snapshots/`, drops incomplete unpacks, and creates the layout (0700/0710). */
  static async open(opts: { root: string; content: ContentStore }): Promise<SnapshotStore> {
    await mkdir(opts.root, { recursive: true, mode: 0o711 });
    const root = await realpath(opts.root);
    const s = new SnapshotStore(root, opts.content);
    await mkdir(s.snapshotsDir, { recursive: true, mode: 0o700 });
    await mkdir(s.containersDir, { recursive: true, mode: 0o710 });
    await mkdir(join(s.snapshotsDir, "empty"), { recursive: true, mode: 0o755 });
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
        s.#byChain.set(meta.chainId, { ...meta, path: join(dir, "fs") });
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
   * An image without layers gets the empty lowerdir.
   */
  async prepareImage(image: Unpackable): Promise<string[]> {
    const chains = chainIds(image.layers.map((l) => l.diffId));
    return this.#lock.run(async () => {
      const dirs: string[] = [];
      for (const [i, layer] of image.layers.entries()) {
        const chainId = chains[i]!;
        let snap = this.#byChain.get(chainId);
        if (snap === undefined) {
          snap = await this.#unpack(layer, chainId, i === 0 ? undefined : chains[i - 1], [...dirs].reverse());
        }
        dirs.push(snap.path);
      }
      if (dirs.length === 0) return [join(this.snapshotsDir, "empty")];
      return dirs.reverse();
    });
  }

  async #unpack(
    layer: Pick<LayerRecord, "digest" | "diffId">,
    chainId: Digest,
    parent: Digest | undefined,
    lowerTopFirst: string[],
  ): Promise<SnapshotInfo> {
    const tmp = join(this.snapshotsDir, `tmp-${randomBytes(6).toString("hex")}`);
    await mkdir(join(tmp, "fs"), { recursive: true, mode: 0o755 });
    try {
      await applyLayer(join(tmp, "fs"), await this.content.readStream(layer.digest), {
        whiteouts: "overlay",
        lowerDirs: lowerTopFirst,
      });
      const n = this.#next++;
      const final = join(this.snapshotsDir, String(n));
      const meta = {
        chainId,
        diffId: layer.diffId,
        ...(parent === undefined ? {} : { parent }),
        created: new Date().toISOString(),
      };
      await writeFileAtomic(join(tmp, "meta.json"), JSON.stringify(meta));
      await rename(tmp, final);
      await fsyncDir(this.snapshotsDir);
      const info: SnapshotInfo = { ...meta, path: join(final, "fs") };
      this.#byChain.set(chainId, info);
      return info;
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  /** removeSnapshot deletes an unpacked layer (callers make sure no container or child uses it). */
  async removeSnapshot(chainId: string): Promise<void> {
    await this.#lock.run(async () => {
      const snap = this.#byChain.get(chainId);
      if (snap === undefined) throw new NotFound(`snapshot ${chainId}: not found`);
      this.#byChain.delete(chainId);
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
  async mountContainer(containerId: string): Promise<string> {
    const layer = await this.containerLayer(containerId);
    if (await isMountPoint(layer.rootfs)) return layer.rootfs;
    for (const d of layer.lowerdirs) await stat(d);
    let opts = `lowerdir=${layer.lowerdirs.join(":")},upperdir=${layer.upperdir},workdir=${layer.workdir}`;
    let cwd: string | undefined;
    if (opts.length > MOUNT_OPTIONS_MAX) {
      const rel = (p: string) => relative(this.root, p);
      opts = `lowerdir=${layer.lowerdirs.map(rel).join(":")},upperdir=${rel(layer.upperdir)},workdir=${rel(layer.workdir)}`;
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
