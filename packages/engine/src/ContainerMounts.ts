import { chmod, chown, lstat, mkdir, readdir, stat } from "node:fs/promises";
import { applyLayer, createTar, resolveInRoot } from "@berth/archive";
import { errnoCode, InvalidArgument } from "@berth/errdefs";
import { type MountRequest, mountRequests } from "./mountSpecs.ts";
import type { ContainerConfig, ContainerRecord, HostConfig, MountPoint } from "./types.ts";
import { ANONYMOUS_LABEL, LOCAL_DRIVER, type Volumes } from "./Volumes.ts";

/** One OCI runtime-spec mount, as `@berth/runtime`'s `buildSpec` takes it. */
export interface SpecMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

/**
 * ContainerMounts turns a create body's mounts into the container's mount points (creating named
 * and anonymous volumes, checking bind sources), fills new volumes from the image at first start,
 * renders them for the OCI spec and for inspect, and releases anonymous volumes on removal.
 */
export class ContainerMounts {
  readonly #volumes: Volumes;
  readonly #log: (msg: string) => void;

  constructor(volumes: Volumes, log: (msg: string) => void = () => {}) {
    this.#volumes = volumes;
    this.#log = log;
  }

  /**
   * prepare validates and resolves a container's mounts. Volumes are created as needed (named ones
   * kept on failure, as docker does; anonymous ones removed again). Bind sources must exist.
   */
  async prepare(config: ContainerConfig, hc: HostConfig): Promise<MountPoint[]> {
    const requests = mountRequests(config, hc);
    const points: MountPoint[] = [];
    try {
      for (const r of requests) points.push(await this.#resolve(r));
    } catch (err) {
      await this.release(points);
      throw err;
    }
    return points;
  }

  async #resolve(r: MountRequest): Promise<MountPoint> {
    const base = {
      destination: r.destination,
      rw: !r.readOnly,
      mode: r.mode,
      propagation: r.propagation,
    };
    if (r.type === "bind") {
      await this.#checkBindSource(r);
      return { type: "bind", source: r.source, ...base };
    }
    if (r.type === "tmpfs") {
      return {
        type: "tmpfs",
        source: "",
        ...base,
        tmpfsOptions: r.tmpfsOptions ?? [],
        ...(r.hidden ? { hidden: true } : {}),
      };
    }
    const anonymous = r.source === "";
    const labels = anonymous ? { ...(r.labels ?? {}), [ANONYMOUS_LABEL]: "" } : (r.labels ?? null);
    const vol = await this.#volumes.create({ ...(anonymous ? {} : { name: r.source }), labels });
    return {
      type: "volume",
      name: vol.name,
      source: this.#volumes.mountpoint(vol.name),
      driver: LOCAL_DRIVER,
      ...base,
      ...(r.copyData ? { copyData: true } : {}),
      ...(anonymous ? { anonymous: true } : {}),
    };
  }

  async #checkBindSource(r: MountRequest): Promise<void> {
    try {
      await stat(r.source);
    } catch (err) {
      if (errnoCode(err) !== "ENOENT") throw err;
      // As dockerd: a missing `Binds` source (`-v /host:/ctr`) is created as a directory (compose
      // relies on it); a missing `Mounts` bind source is an error.
      if (r.createSource) {
        await mkdir(r.source, { recursive: true, mode: 0o755 });
        return;
      }
      throw new InvalidArgument(
        `invalid mount config for type "bind": bind source path does not exist: ${r.source}`,
      );
    }
  }

  /** release removes the anonymous volumes among `points` (not in use elsewhere); errors are logged. */
  async release(points: readonly MountPoint[]): Promise<void> {
    for (const p of points) {
      if (p.type !== "volume" || !p.anonymous || !p.name) continue;
      await this.#volumes
        .remove(p.name)
        .catch((err: unknown) => this.#log(`remove volume ${p.name}: ${(err as Error).message}`));
    }
  }

  /**
   * populate copies the image's content at each new volume's destination into the volume, once,
   * when the volume is still empty (docker's copy-up). The container's root file system must be
   * mounted. The source is resolved inside the rootfs (symlinks never lead out), and the copy is a
   * tar stream through `@berth/archive`, which never writes outside the volume. Returns whether a
   * mount point changed (the caller saves the record).
   */
  async populate(rec: ContainerRecord): Promise<boolean> {
    let changed = false;
    for (const p of rec.mounts ?? []) {
      if (p.type !== "volume" || !p.copyData) continue;
      const data = p.source;
      if ((await readdir(data)).length === 0) {
        const src = await resolveInRoot(rec.rootfs.merged, p.destination);
        const st = await lstat(src).catch(() => undefined);
        if (st?.isDirectory()) {
          await applyLayer(data, createTar(src), { whiteouts: "none" });
          await chown(data, st.uid, st.gid);
          await chmod(data, st.mode & 0o7777);
        }
      }
      delete p.copyData;
      changed = true;
    }
    return changed;
  }
}

/** specMounts renders mount points as OCI mounts (binds `rbind` + propagation, `ro` when asked). */
export function specMounts(points: readonly MountPoint[]): SpecMount[] {
  return points.map((p) => {
    if (p.type === "tmpfs") {
      const opts = ["noexec", "nosuid", "nodev", ...(p.tmpfsOptions ?? [])];
      if (!p.rw) opts.push("ro");
      return { destination: p.destination, type: "tmpfs", source: "tmpfs", options: dedupe(opts) };
    }
    const opts = ["rbind", p.propagation || "rprivate"];
    if (!p.rw) opts.push("ro");
    return { destination: p.destination, type: "bind", source: p.source, options: opts };
  });
}

function dedupe(opts: string[]): string[] {
  // A later exec/suid/dev flag cancels the default no* flag.
  const out: string[] = [];
  for (const o of opts) {
    const opposite = o.startsWith("no") ? o.slice(2) : `no${o}`;
    const i = out.indexOf(opposite);
    if (i >= 0) out.splice(i, 1);
    if (!out.includes(o)) out.push(o);
  }
  return out;
}

/** mountsView renders mount points as inspect's and the container list's `Mounts`. */
export function mountsView(points: readonly MountPoint[] | undefined): Array<Record<string, unknown>> {
  return (points ?? [])
    .filter((p) => !p.hidden)
    .map((p) =>
      p.type === "volume"
        ? {
            Type: "volume",
            Name: p.name ?? "",
            Source: p.source,
            Destination: p.destination,
            Driver: p.driver ?? LOCAL_DRIVER,
            Mode: p.mode,
            RW: p.rw,
            Propagation: p.propagation,
          }
        : {
            Type: p.type,
            Source: p.source,
            Destination: p.destination,
            Mode: p.mode,
            RW: p.rw,
            Propagation: p.propagation,
          },
    );
}
