import { readFile } from "node:fs/promises";
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { createTar } from "@berth/archive";
import { commitLayer } from "@berth/builder";
import { Conflict, Internal, InvalidArgument, isBerthError, isKind, NotFound } from "@berth/errdefs";
import type { ImageStore } from "@berth/image";
import {
  type Digest,
  formatReference,
  type ImageConfig,
  type Manifest,
  OCI_CONFIG,
  OCI_MANIFEST,
  Reference,
} from "@berth/oci";
import { type ResourceUpdate, resolveUser } from "@berth/runtime";
import {
  archivePath,
  extractToPath,
  isNotExist,
  type LocatedPath,
  locatePath,
  type PathRoot,
  type PathStat,
  statPath,
} from "./archivePaths.ts";
import type { Containers } from "./Containers.ts";
import { type ConfigChanges, parseChanges } from "./changes.ts";
import { type ContainerChange, containerChanges, isInitPath } from "./containerChanges.ts";
import { CGROUP_PARENT } from "./containerSpec.ts";
import { cgroupPids, runPs, type TopReport } from "./containerTop.ts";
import { blkioWeightSupported, planUpdate, type UpdateConfig } from "./containerUpdate.ts";
import { isValidName } from "./names.ts";
import { collectStats, emptyStats, type StatsJSON, type StatsSource } from "./Stats.ts";
import type { ContainerConfig, ContainerRecord } from "./types.ts";

/** What {@link ContainerOps} drives; `Engine.open` wires the real runtime and snapshotter. */
export interface ContainerOpsDeps {
  containers: Containers;
  runtime: {
    pause(id: string): Promise<void>;
    unpause(id: string): Promise<void>;
    update(id: string, r: ResourceUpdate): Promise<void>;
  };
  /** Mounts and unmounts a stopped container's root file system (for cp, export, commit). */
  rootfs: { mount(id: string): Promise<void>; unmount(id: string): Promise<void> };
  images: ImageStore;
  log?: (msg: string) => void;
}

/** Options of {@link ContainerOps.commit}: docker's `POST /commit` query and body. */
export interface CommitOptions {
  repo?: string;
  tag?: string;
  /** The commit message (`-m`), shown as the history comment. */
  comment?: string;
  author?: string;
  /** Freeze a running container while its layer is read (default true, as docker). */
  pause?: boolean;
  /** Dockerfile instructions (`-c`): CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR, STOPSIGNAL. */
  changes?: string[];
  /** Config fields overriding the container's (the request body). */
  config?: ContainerConfig | null;
}

/** Options of {@link ContainerOps.stats}. */
export interface StatsOptions {
  /** Keep sending a sample a second until the container stops or `signal` aborts. */
  stream: boolean;
  /** With `stream: false`, answer at once, without waiting for a second sample for `precpu_stats`. */
  oneShot?: boolean;
  signal?: AbortSignal;
}

/** Image config fields a commit takes from the container's config. */
const IMAGE_CONFIG_FIELDS = [
  "User",
  "ExposedPorts",
  "Env",
  "Entrypoint",
  "Cmd",
  "Healthcheck",
  "ArgsEscaped",
  "Volumes",
  "WorkingDir",
  "OnBuild",
  "Labels",
  "StopSignal",
  "Shell",
] as const;

/**
 * ContainerOps are the container operations beyond the start/stop state machine: pause and
 * unpause, rename, top, diff, commit, export, update, stats and cp (path stat, archive out,
 * extract in). Each runs under the container's lock in {@link Containers}, so none races a start,
 * a stop or an exit. File-system operations on a running container freeze it first (cp always,
 * commit unless `pause: false`), so the container cannot swap a path for a symlink mid-way.
 */
export class ContainerOps {
  readonly #d: ContainerOpsDeps;

  constructor(deps: ContainerOpsDeps) {
    this.#d = deps;
  }

  #log(msg: string): void {
    this.#d.log?.(msg);
  }

  /** pause freezes a running container (`runc pause`); docker's status becomes "paused". */
  async pause(idOrName: string): Promise<void> {
    await this.#d.containers.locked(idOrName, async (rec) => {
      if (rec.state.status === "paused") throw new Conflict(`Container ${rec.id} is already paused`);
      if (rec.state.status === "restarting")
        throw new Conflict(`Container ${rec.id} is restarting, wait until the container is running`);
      if (rec.state.status !== "running") throw new Conflict(`Container ${rec.id} is not running`);
      await this.#d.runtime.pause(rec.id);
      rec.state = { ...rec.state, status: "paused" };
      await this.#d.containers.save(rec);
      this.#d.containers.emitEvent(rec.id, "pause");
    });
  }

  /** unpause thaws a paused container. */
  async unpause(idOrName: string): Promise<void> {
    await this.#d.containers.locked(idOrName, async (rec) => {
      if (rec.state.status !== "paused") throw new Conflict(`Container ${rec.id} is not paused`);
      await this.#d.runtime.unpause(rec.id);
      rec.state = { ...rec.state, status: "running" };
      await this.#d.containers.save(rec);
      this.#d.containers.emitEvent(rec.id, "unpause");
    });
  }

  /**
   * thawInterrupted runs once at daemon start, before containers are restored: a container the
   * records show as running whose cgroup is frozen was paused by a cp or commit that the daemon's
   * death cut short (a user's pause is recorded as "paused"), so it is resumed.
   */
  async thawInterrupted(fsRoot = "/sys/fs/cgroup"): Promise<void> {
    for (const rec of this.#d.containers.all()) {
      if (rec.state.status !== "running") continue;
      let state: string;
      try {
        state = (await readFile(`${fsRoot}/freezer${CGROUP_PARENT}/${rec.id}/freezer.state`, "utf8")).trim();
      } catch {
        continue;
      }
      if (state !== "FROZEN" && state !== "FREEZING") continue;
      this.#log(`container ${rec.id} was left frozen by an interrupted copy: resuming it`);
      await this.#d.runtime
        .unpause(rec.id)
        .catch((err: unknown) => this.#log(`resume ${rec.id}: ${(err as Error).message}`));
    }
  }

  /** rename gives a container a new name, with docker's checks and messages. */
  async rename(idOrName: string, newName: string): Promise<void> {
    if (idOrName === "" || newName === "")
      throw new InvalidArgument("Neither old nor new names may be empty");
    if (!isValidName(newName))
      throw new InvalidArgument(
        `Invalid container name (${newName}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
      );
    const name = newName.replace(/^\//, "");
    await this.#d.containers.locked(idOrName, async (rec) => {
      if (rec.name === name)
        throw new InvalidArgument("Renaming a container with the same name as its current name");
      const holder = this.#d.containers.all().find((c) => c.name === name);
      if (holder || this.#d.containers.isNameReserved(name)) {
        throw new Conflict(
          `Conflict. The container name "/${name}" is already in use by container "${holder?.id ?? ""}". You have to remove (or rename) that container to be able to reuse that name.`,
        );
      }
      const oldName = `/${rec.name}`;
      rec.name = name;
      await this.#d.containers.save(rec);
      this.#d.containers.emitEvent(rec.id, "rename", { oldName });
    });
  }

  /** top runs `ps` on the host over the container's processes (docker's `ps_args`, default `-ef`). */
  async top(idOrName: string, psArgs = ""): Promise<TopReport> {
    const rec = this.#d.containers.find(idOrName);
    if (rec.state.status === "restarting")
      throw new Conflict(`Container ${rec.id} is restarting, wait until the container is running`);
    if (rec.state.status !== "running" && rec.state.status !== "paused")
      throw new Conflict(`Container ${rec.id} is not running`);
    const pids = await cgroupPids(`${CGROUP_PARENT}/${rec.id}`);
    const report = await runPs(psArgs, pids);
    this.#d.containers.emitEvent(rec.id, "top");
    return report;
  }

  /** changes is docker's `diff`: what the container added, changed and deleted in its root file system. */
  async changes(idOrName: string): Promise<ContainerChange[]> {
    const rec = this.#d.containers.find(idOrName);
    return containerChanges(rec.rootfs.upperdir, rec.rootfs.lowerdirs);
  }

  /**
   * export hands `consume` the container's merged root file system as a tar stream and resolves
   * when it finished; a stopped container's file system is mounted for that time.
   */
  async export(idOrName: string, consume: (tar: Readable) => Promise<void>): Promise<void> {
    await this.#withRootfs(idOrName, false, async (rec, rootfs) => {
      await consume(createTar(rootfs));
      this.#d.containers.emitEvent(rec.id, "export");
    });
  }

  /**
   * commit makes an image from the container: its image's layers plus the upper dir as a new
   * layer (runtime mount points left out), and its config with the body's fields and `changes`
   * on top; history gets the container's command, the author and the message. Returns the ID.
   */
  async commit(idOrName: string, opts: CommitOptions = {}): Promise<{ Id: string }> {
    const ref = opts.repo ? normaliseRef(opts.repo, opts.tag) : undefined;
    const changes = opts.changes ?? [];
    parseChanges(changes, {}); // refuse a bad instruction before touching the container
    return this.#withRootfs(idOrName, opts.pause !== false, async (rec, rootfs) => {
      const base = this.#d.images.resolve(rec.image);
      const diff = await commitLayer(
        { upperdir: rec.rootfs.upperdir, lowerdirs: rec.rootfs.lowerdirs, merged: rootfs },
        this.#d.images.content,
        { exclude: (rel) => isInitPath(`/${rel}`) },
      );
      const created = new Date().toISOString();
      const cfg = commitConfig(rec.config, opts.config ?? undefined, changes);
      const baseConfig = base.config as ImageConfig;
      const history = [
        ...(baseConfig.history ?? []),
        {
          created,
          created_by: (rec.config.Cmd ?? []).join(" "),
          ...(opts.author ? { author: opts.author } : {}),
          ...(opts.comment ? { comment: opts.comment } : {}),
        },
      ];
      const config = {
        ...baseConfig,
        created,
        ...(opts.author ? { author: opts.author } : {}),
        config: cfg,
        rootfs: { type: "layers", diff_ids: [...baseConfig.rootfs.diff_ids, diff.layer.diffId] },
        history,
      } as ImageConfig;
      if (!opts.author) delete (config as { author?: string }).author;
      const configBytes = Buffer.from(JSON.stringify(config));
      const cinfo = await this.#d.images.content.put(configBytes);
      const manifest: Manifest = {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: OCI_CONFIG, digest: cinfo.digest, size: cinfo.size },
        layers: [
          ...base.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
          { mediaType: diff.layer.mediaType, digest: diff.layer.digest, size: diff.layer.size },
        ],
      };
      const img = await this.#d.images.addImage({
        manifest,
        config: configBytes,
        names: ref ? [ref] : [],
        parent: base.id as Digest,
      });
      this.#d.containers.emitEvent(rec.id, "commit", {
        comment: opts.comment ?? "",
        imageID: img.id,
        imageRef: ref ?? "",
      });
      return { Id: img.id };
    });
  }

  /**
   * update changes resource limits and the restart policy: live through the runtime when the
   * container runs, and in its HostConfig for the next start. Returns docker's warnings.
   */
  async update(idOrName: string, body: UpdateConfig): Promise<{ Warnings: string[] | null }> {
    return this.#d.containers.locked(idOrName, async (rec) => {
      if (rec.state.status === "removing" || rec.state.status === "dead")
        throw new Conflict(`Container ${rec.id} is marked for removal and cannot be "update".`);
      let plan: ReturnType<typeof planUpdate>;
      try {
        plan = planUpdate(rec.hostConfig, body, { blkioWeightSupported: blkioWeightSupported() });
      } catch (err) {
        if (isKind(err, "Conflict"))
          throw new Conflict(`Cannot update container ${rec.id}: ${(err as Error).message}`);
        throw err;
      }
      if (plan.live && (rec.state.status === "running" || rec.state.status === "paused")) {
        try {
          await this.#d.runtime.update(rec.id, plan.live);
        } catch (err) {
          throw new Internal(`Cannot update container ${rec.id}: ${(err as Error).message}`, { cause: err });
        }
      }
      const policyChanged =
        JSON.stringify(plan.hostConfig.RestartPolicy) !== JSON.stringify(rec.hostConfig.RestartPolicy);
      rec.hostConfig = plan.hostConfig;
      await this.#d.containers.save(rec);
      if (policyChanged) this.#d.containers.restartPolicyChanged(rec.id);
      this.#d.containers.emitEvent(rec.id, "update");
      return { Warnings: plan.warnings.length > 0 ? plan.warnings : null };
    });
  }

  /**
   * stats yields docker's stats samples from the container's cgroup v1 files: with `stream`, one
   * a second (the first without `precpu_stats`) until the container stops or `signal` aborts;
   * without, one sample taken a second after a first one (so CPU % can be computed), or at once
   * with `oneShot`. A container that is not running gives one empty sample.
   */
  async *stats(idOrName: string, opts: StatsOptions): AsyncGenerator<StatsJSON, void, undefined> {
    const first = this.#d.containers.find(idOrName);
    const source = (): StatsSource | undefined => {
      let rec: ContainerRecord;
      try {
        rec = this.#d.containers.find(first.id);
      } catch {
        return undefined;
      }
      if (rec.state.status !== "running" && rec.state.status !== "paused") return undefined;
      return {
        id: rec.id,
        name: rec.name,
        cgroupsPath: `${CGROUP_PARENT}/${rec.id}`,
        pid: rec.state.pid,
        network: rec.hostConfig.NetworkMode !== "host",
      };
    };
    let src = source();
    if (!src) {
      yield emptyStats({ id: first.id, name: first.name });
      return;
    }
    let prev = await collectStats(src);
    if (!opts.stream && opts.oneShot) {
      yield prev;
      return;
    }
    if (opts.stream) yield prev;
    for (;;) {
      try {
        await sleep(1000, undefined, opts.signal ? { signal: opts.signal } : {});
      } catch {
        return;
      }
      src = source();
      if (!src) return;
      const cur = await collectStats(src, prev);
      yield cur;
      if (!opts.stream) return;
      prev = cur;
    }
  }

  /** statPath is docker's `HEAD /containers/{id}/archive`: the stat of a path in the container. */
  async statPath(idOrName: string, path: string): Promise<PathStat> {
    return this.#withPath(idOrName, path, false, async (loc) => statPath(loc));
  }

  /**
   * getArchive is docker's `GET /containers/{id}/archive`: `consume` gets the path's stat and a
   * tar of it (entries named as docker's rebase does), while the container stays frozen.
   */
  async getArchive(
    idOrName: string,
    path: string,
    consume: (stat: PathStat, tar: Readable) => Promise<void>,
  ): Promise<void> {
    await this.#withPath(idOrName, path, false, async (loc, rec) => {
      const stat = await statPath(loc);
      await consume(stat, archivePath(loc));
      this.#d.containers.emitEvent(rec.id, "archive-path");
    });
  }

  /**
   * putArchive is docker's `PUT /containers/{id}/archive`: extracts a tar into a directory of the
   * container (which must exist), confined to that directory, while the container stays frozen.
   * With `copyUIDGID` (docker cp -a) everything is owned by the container's user, resolved in the
   * container's own /etc/passwd and /etc/group; otherwise the archive's owners are kept.
   */
  async putArchive(
    idOrName: string,
    path: string,
    input: Readable,
    opts: { noOverwriteDirNonDir?: boolean; copyUIDGID?: boolean } = {},
  ): Promise<void> {
    await this.#withPath(idOrName, path, true, async (loc, rec) => {
      if (rec.hostConfig.ReadonlyRootfs && loc.root === rec.rootfs.merged)
        throw new Conflict("container rootfs is marked read-only");
      let chown: { uid: number; gid: number } | undefined;
      if (opts.copyUIDGID) {
        const u = await resolveUser(rec.rootfs.merged, rec.config.User ?? "");
        chown = { uid: u.uid, gid: u.gid };
      }
      await extractToPath(loc, input, {
        ...(opts.noOverwriteDirNonDir !== undefined
          ? { noOverwriteDirNonDir: opts.noOverwriteDirNonDir }
          : {}),
        ...(chown ? { chown } : {}),
      });
      this.#d.containers.emitEvent(rec.id, "extract-to-dir");
    });
  }

  /** #withPath locates a container path (rootfs or mount) with the file system ready and frozen. */
  async #withPath<T>(
    idOrName: string,
    path: string,
    followLast: boolean,
    fn: (loc: LocatedPath, rec: ContainerRecord) => Promise<T>,
  ): Promise<T> {
    return this.#withRootfs(idOrName, true, async (rec, rootfs) => {
      const roots: PathRoot[] = [
        { destination: "/", source: rootfs },
        { destination: "/etc/hostname", source: rec.hostnamePath },
        { destination: "/etc/hosts", source: rec.hostsPath },
        { destination: "/etc/resolv.conf", source: rec.resolvConfPath },
        ...(rec.mounts ?? [])
          .filter((m) => m.type !== "tmpfs" && m.source !== "")
          .map((m) => ({ destination: m.destination, source: m.source })),
      ];
      try {
        const loc = await locatePath(roots, path, { followLast });
        return await fn(loc, rec);
      } catch (err) {
        if (isNotExist(err) || isKind(err, "NotFound")) {
          throw new NotFound(`Could not find the file ${path} in container ${idOrName}`);
        }
        if (!isBerthError(err)) throw new Internal((err as Error).message, { cause: err });
        throw err;
      }
    });
  }

  /**
   * #withRootfs runs `fn` under the container's lock with its merged root file system available:
   * mounted for the call when the container is stopped, frozen for the call when it runs and
   * `pause` is asked.
   */
  async #withRootfs<T>(
    idOrName: string,
    pause: boolean,
    fn: (rec: ContainerRecord, rootfs: string) => Promise<T>,
  ): Promise<T> {
    return this.#d.containers.locked(idOrName, async (rec) => {
      const st = rec.state.status;
      if (st === "running" || st === "paused") {
        const freeze = pause && st === "running";
        if (freeze) await this.#d.runtime.pause(rec.id);
        try {
          return await fn(rec, rec.rootfs.merged);
        } finally {
          if (freeze)
            await this.#d.runtime
              .unpause(rec.id)
              .catch((err: unknown) => this.#log(`unpause ${rec.id}: ${(err as Error).message}`));
        }
      }
      await this.#d.rootfs.mount(rec.id);
      try {
        return await fn(rec, rec.rootfs.merged);
      } finally {
        await this.#d.rootfs
          .unmount(rec.id)
          .catch((err: unknown) => this.#log(`unmount ${rec.id}: ${(err as Error).message}`));
      }
    });
  }
}

/** normaliseRef turns commit's `repo` and `tag` into a stored reference (`docker.io/library/x:latest`). */
function normaliseRef(repo: string, tag: string | undefined): string {
  try {
    return formatReference(Reference.parseTagTarget(tag ? `${repo}:${tag}` : repo));
  } catch (err) {
    throw new InvalidArgument(`invalid reference format: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * commitConfig is the new image's config: the image fields of the container's config, then the
 * non-empty fields of the request body, then the `--change` instructions applied on top of both
 * (dockerd's precedence): `ENV`, `LABEL`, `EXPOSE` and `VOLUME` add to what is there.
 */
export function commitConfig(
  container: ContainerConfig,
  body: ContainerConfig | undefined,
  changes: readonly string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of IMAGE_CONFIG_FIELDS) {
    const v = container[k];
    if (v !== undefined && v !== null && v !== "") out[k] = v;
  }
  for (const k of IMAGE_CONFIG_FIELDS) {
    const v = body?.[k];
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v) && v.length === 0) continue;
    out[k] = v;
  }
  return { ...out, ...parseChanges([...changes], out as ConfigChanges) };
}
