import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, hostname, release, totalmem } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { promisify } from "node:util";
import { API_VERSION, MIN_API_VERSION, parseGoDuration } from "@berth/api";
import { InvalidArgument } from "@berth/errdefs";
import { ContentStore, chainIds, ImageStore, type LoadReport, planSave, SnapshotStore } from "@berth/image";
import { formatReference, Reference } from "@berth/oci";
import { Runtime, readLogs, resolveUser } from "@berth/runtime";
import { Builds } from "./Builds.ts";
import type { ImageBackend, RuntimeBackend } from "./backends.ts";
import { ContainerMounts } from "./ContainerMounts.ts";
import { ContainerOps } from "./ContainerOps.ts";
import { ContainerStore } from "./ContainerStore.ts";
import { Containers, RUNTIME_ID_CHARS } from "./Containers.ts";
import { parseChanges } from "./changes.ts";
import { containerSpec } from "./containerSpec.ts";
import { Distribution, type RegistrySettings } from "./Distribution.ts";
import { Events, ImageEvent, VolumeEvent } from "./Events.ts";
import { Execs } from "./Execs.ts";
import type { Filters } from "./filters.ts";
import { matchLabels } from "./filters.ts";
import { ensureDir } from "./fsutil.ts";
import { HealthMonitor } from "./HealthMonitor.ts";
import { type ImageLoadOptions, loadImages, saveImages } from "./imageArchive.ts";
import { imageHistory, imageInspect, imageSummary } from "./imageViews.ts";
import { listContainers } from "./listContainers.ts";
import { Networks, type NetworksOptions } from "./Networks.ts";
import { type ContainerPruneReport, type ImagePruneReport, pruneContainers, pruneImages } from "./Prune.ts";
import { type SystemDfReport, systemDf } from "./systemDf.ts";
import type { ContainerRecord } from "./types.ts";
import { Volumes } from "./Volumes.ts";
import { containerInspect, containerSummary } from "./views.ts";

/** Where an engine keeps its state, and which binaries it drives. */
export interface EngineOptions {
  /** Persistent state (images, containers, logs); e.g. `/var/lib/berth`. */
  root: string;
  /** Runtime state (bundles, runc state, conmon sockets); e.g. `/run/berth`. */
  runRoot: string;
  runc?: string;
  conmon?: string;
  log?: (msg: string) => void;
  /** The default bridge and address pools (dockerd's `--bridge`, `--bip`, `--default-address-pool`). */
  network?: Pick<NetworksOptions, "bridgeName" | "bridgeIp" | "pools">;
  /** Registry settings for pull, push and login (insecure, blocked, certs dir). */
  registries?: RegistrySettings;
}

/** One line of container output, as `logs` yields it. */
export interface LogEntry {
  stream: "stdout" | "stderr";
  /** RFC3339Nano. */
  time: string;
  data: Buffer;
}

/** Options of `logs`, as docker's query (since/until accept unix seconds with fractions). */
export interface LogsOptions {
  follow?: boolean;
  since?: string;
  until?: string;
  tail?: string;
  signal?: AbortSignal;
}

export const ENGINE_VERSION = "0.1.0";

const pexecFile = promisify(execFile);

/**
 * Engine is Berth's service layer: it composes the image store, the snapshotter and the runtime
 * into containers and images with docker's semantics. The daemon's HTTP handlers call it, and so
 * can any Node program (as root) without a daemon.
 */
export class Engine {
  readonly containers: Containers;
  /** Pause/unpause, rename, top, diff, commit, export, update, stats and cp (`ContainerOps`). */
  readonly ops: ContainerOps;
  /** The exec service (`docker exec`): in-memory sessions next to running containers. */
  readonly execs: Execs;
  /** The build service (`docker build`). */
  readonly builds: Builds;
  readonly images: ImageStore;
  /** The volume service (`docker volume ...`): named and anonymous volumes of the `local` driver. */
  readonly volumes: Volumes;
  /**
   * The event bus (`docker events`): every service publishes docker-shaped events here; other
   * services (networks, pause/rename, pull/push) call `engine.events.emit(...)` with the helpers
   * `ContainerEvent`, `NetworkEvent`, `ImageEvent`, `VolumeEvent`.
   */
  readonly events: Events;
  /** The registry service: pull, push and login checks. */
  readonly distribution: Distribution;
  /** The healthcheck monitors of running containers (`State.Health`). */
  readonly health: HealthMonitor;
  /** The network service (`docker network ...`, endpoints and published ports of containers). */
  readonly networks: Networks;
  readonly snapshots: SnapshotStore;
  readonly runtime: Runtime;
  readonly root: string;
  readonly runRoot: string;
  readonly #log: (msg: string) => void;
  #componentVersions: Promise<[string, string]> | undefined;

  private constructor(
    opts: EngineOptions,
    parts: {
      images: ImageStore;
      snapshots: SnapshotStore;
      runtime: Runtime;
      containers: Containers;
      execs: Execs;
      builds: Builds;
      volumes: Volumes;
      networks: Networks;
      events: Events;
      health: HealthMonitor;
    },
  ) {
    this.root = opts.root;
    this.runRoot = opts.runRoot;
    this.images = parts.images;
    this.snapshots = parts.snapshots;
    this.distribution = new Distribution({
      images: parts.images,
      snapshots: parts.snapshots,
      events: parts.events,
      ...(opts.registries ? { settings: opts.registries } : {}),
    });
    this.runtime = parts.runtime;
    this.containers = parts.containers;
    this.execs = parts.execs;
    this.volumes = parts.volumes;
    this.networks = parts.networks;
    this.events = parts.events;
    this.health = parts.health;
    this.builds = parts.builds;
    this.#log = opts.log ?? (() => {});
    const rid = (id: string) => id.slice(0, RUNTIME_ID_CHARS);
    this.ops = new ContainerOps({
      containers: parts.containers,
      runtime: {
        pause: (id) => parts.runtime.pause(rid(id)),
        unpause: (id) => parts.runtime.unpause(rid(id)),
        update: (id, r) => parts.runtime.update(rid(id), r),
      },
      rootfs: {
        mount: async (id) => {
          await parts.snapshots.mountContainer(id);
        },
        unmount: (id) => parts.snapshots.unmountContainer(id),
      },
      images: parts.images,
      log: this.#log,
    });
  }

  /**
   * open loads state from disk, adopts containers that kept running while no engine was up, and
   * records the exit codes of those that ended meanwhile.
   */
  static async open(opts: EngineOptions): Promise<Engine> {
    await ensureDir(opts.root);
    await ensureDir(opts.runRoot, 0o711);
    const log = opts.log ?? (() => {});
    const content = await ContentStore.open(join(opts.root, "content"));
    const images = await ImageStore.open({ root: opts.root, content });
    const snapshots = await SnapshotStore.open({ root: opts.root, content });
    const runtime = new Runtime({
      stateRoot: join(opts.runRoot, "r"),
      ...(opts.runc ? { runc: opts.runc } : {}),
      ...(opts.conmon ? { conmon: opts.conmon } : {}),
      logger: { warn: (m) => log(`warning: ${m}`) },
    });
    const store = await ContainerStore.open(opts.root);
    const imageBackend: ImageBackend = {
      resolve: async (name) => {
        const img = images.resolve(name);
        return { id: img.id, config: img.config as never };
      },
      createContainerLayer: async (id, imageId) => {
        const layer = await snapshots.createContainerLayer(id, images.resolve(imageId));
        return {
          lowerdirs: layer.lowerdirs,
          upperdir: layer.upperdir,
          workdir: layer.workdir,
          merged: layer.rootfs,
        };
      },
      mountContainer: async (id) => {
        await snapshots.mountContainer(id);
      },
      unmountContainer: (id) => snapshots.unmountContainer(id),
      removeContainerLayer: (id) => snapshots.removeContainerLayer(id),
    };
    // The runtime knows containers by a prefix of their ID: conmon's sockets live in per-container
    // directories and a UNIX socket path must fit in 107 bytes. IDs never share the prefix.
    const rid = (id: string) => id.slice(0, RUNTIME_ID_CHARS);
    const runtimeBackend: RuntimeBackend = {
      create: (id, o) =>
        runtime.create(rid(id), {
          bundle: o.bundle,
          spec: o.spec as never,
          terminal: o.terminal,
          stdin: o.stdin,
          logPath: o.logPath,
        }),
      attach: (id) => runtime.attach(rid(id)),
      start: (id) => runtime.start(rid(id)),
      kill: (id, sig, all) => runtime.kill(rid(id), sig, all),
      pause: (id) => runtime.pause(rid(id)),
      unpause: (id) => runtime.unpause(rid(id)),
      delete: (id, o) => runtime.delete(rid(id), o),
      resize: (id, size) => runtime.resize(rid(id), size),
      exitStatus: (id) => runtime.exitStatus(rid(id)),
      waitExit: (id, signal) => runtime.waitExit(rid(id), signal),
      isConmonAlive: (id) => runtime.isConmonAlive(rid(id)),
      cleanup: (id) => runtime.cleanup(rid(id)),
    };
    const volumes = await Volumes.open(opts.root);
    const events = new Events();
    volumes.onEvent((action, name) => events.emit(VolumeEvent(action, name)));
    // Containers being removed no longer count for the networks (as they do not for the API).
    let visible: () => ContainerRecord[] = () => store.all();
    const networks = await Networks.open({
      root: opts.root,
      runRoot: opts.runRoot,
      ...opts.network,
      containers: () => visible(),
      events,
      log,
    });
    const containers = new Containers({
      mounts: new ContainerMounts(volumes, log),
      networks,
      store,
      images: imageBackend,
      runtime: runtimeBackend,
      runRoot: opts.runRoot,
      buildSpec: containerSpec,
      log,
      events,
    });
    const execs = new Execs({
      containers,
      exec: (id, req) => runtime.exec(rid(id), req),
      resolveUser: (rec, user) => resolveUser(rec.rootfs.merged, user),
      log,
      events,
    });
    const health = new HealthMonitor({
      execs,
      events,
      get: (id) => store.get(id),
      dirOf: (id) => store.dirOf(id),
      log,
    });
    // A port shared by a service's replicas sends connections to healthy ones (or those without a check).
    networks.setReadiness((id) => {
      const h = health.get(id);
      return !h || h.Status === "healthy";
    });
    // Volume mount/unmount events follow the container's start and exit, as dockerd's do.
    events.subscribe((m) => {
      if (m.Type !== "container" || (m.Action !== "start" && m.Action !== "die")) return;
      for (const mp of store.get(m.Actor.ID)?.mounts ?? []) {
        if (mp.type !== "volume" || !mp.name) continue;
        events.emit(
          m.Action === "start"
            ? VolumeEvent("mount", mp.name, {
                container: m.Actor.ID,
                destination: mp.destination,
                propagation: mp.propagation,
                "read/write": String(mp.rw),
              })
            : VolumeEvent("unmount", mp.name, { container: m.Actor.ID }),
        );
      }
    });
    const builds = new Builds({
      images,
      snapshots,
      content,
      runtime,
      root: opts.root,
      runRoot: opts.runRoot,
      log,
      events,
      network: (id) => networks.sandbox(id),
    });
    visible = () => containers.all();
    await builds.cleanup();
    volumes.setUsers((name) => containers.volumeUsers(name));
    const engine = new Engine(opts, {
      images,
      snapshots,
      runtime,
      containers,
      execs,
      builds,
      volumes,
      networks,
      events,
      health,
    });
    void runtime.checkRunc().catch((err: unknown) => log(`runc: ${(err as Error).message}`));
    // A daemon killed during cp or commit leaves the container frozen: thaw it before restoring.
    await engine.ops.thawInterrupted();
    await containers.restore();
    await health.restore(store.all());
    // Namespaces of containers that ended while no daemon ran, rules of bridges that are gone.
    await networks.sweep().catch((err: unknown) => log(`network sweep: ${(err as Error).message}`));
    return engine;
  }

  /** close stops watching containers; they keep running under conmon. */
  close(): void {
    this.health.close();
    this.containers.shutdown();
    void this.networks.close();
  }

  // ---- containers (docker shapes) ----

  /** listContainers is docker's `GET /containers/json`. */
  listContainers(
    opts: { all?: boolean; limit?: number; filters?: Filters } = {},
  ): Array<Record<string, unknown>> {
    const recs = listContainers(this.containers.all(), {
      ...opts,
      resolveImage: (ref) => {
        try {
          return this.images.resolve(ref).id;
        } catch {
          return undefined;
        }
      },
      healthOf: (id) => this.health.statusOf(id),
    });
    return recs.map((rec) => {
      const summary = containerSummary(rec);
      const h = this.health.statusOf(rec.id);
      // As docker: "Up 3 seconds (healthy)", "(health: starting)", "(unhealthy)" while it runs.
      if (h !== "none" && rec.state.status === "running")
        summary.Status = `${summary.Status} (${h === "starting" ? "health: starting" : h})`;
      return summary;
    });
  }

  /** inspectContainer is docker's `GET /containers/{id}/json`. */
  inspectContainer(idOrName: string): Record<string, unknown> {
    const rec = this.containers.find(idOrName);
    const view = containerInspect(rec);
    const execIds = this.execs.idsOf(rec.id);
    const health = this.health.get(rec.id);
    const state = health ? { ...(view.State as object), Health: health } : view.State;
    return { ...view, State: state, ExecIDs: execIds.length > 0 ? execIds : null };
  }

  /**
   * logs reads a container's log: `since`/`until` are unix seconds (fractions allowed), `tail` a
   * count or `all`; with `follow` it streams until the container stops or `signal` aborts.
   */
  logs(idOrName: string, opts: LogsOptions = {}): { tty: boolean; entries: AsyncIterable<LogEntry> } {
    const info = this.containers.logPath(idOrName);
    let tail: number | undefined;
    if (opts.tail !== undefined && opts.tail !== "" && opts.tail !== "all") {
      const n = Number(opts.tail);
      if (!Number.isInteger(n))
        throw new InvalidArgument(`invalid value for "tail": ${JSON.stringify(opts.tail)}`);
      if (n >= 0) tail = n; // docker reads a negative tail as "all"
    }
    const since = parseUnixTime(opts.since, "since");
    const until = parseUnixTime(opts.until, "until");
    const stop = opts.follow ? this.containers.onceStopped(info.id) : undefined;
    const entries = readLogs(info.path, {
      follow: opts.follow === true,
      ...(since !== undefined && since > 0n ? { since } : {}),
      ...(until !== undefined && until > 0n ? { until } : {}),
      ...(tail !== undefined ? { tail } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(stop ? { stop } : {}),
    });
    return { tty: info.tty, entries };
  }

  // ---- images (docker shapes) ----

  /** listImages is docker's `GET /images/json`. */
  async listImages(
    opts: { all?: boolean; digests?: boolean; filters?: Filters } = {},
  ): Promise<Array<Record<string, unknown>>> {
    const f = opts.filters ?? {};
    for (const k of Object.keys(f)) {
      if (!["dangling", "label", "reference", "before", "since", "until"].includes(k))
        throw new InvalidArgument(`invalid filter '${k}'`);
    }
    let list = this.images.list();
    if (f.dangling?.[0] !== undefined) {
      const want = f.dangling[0] === "true" || f.dangling[0] === "1";
      list = list.filter((i) => (i.repoTags.length === 0) === want);
    }
    if (f.label)
      list = list.filter((i) =>
        matchLabels(f.label, (i.config.config?.Labels as Record<string, string>) ?? null),
      );
    if (f.reference) {
      list = list.filter((i) =>
        i.repoTags.some((t) =>
          f.reference!.some((p) => {
            try {
              return Reference.familiarMatch(p, Reference.parseNormalizedNamed(t));
            } catch {
              return false;
            }
          }),
        ),
      );
    }
    for (const key of ["before", "since"] as const) {
      const ref = f[key]?.[0];
      if (ref === undefined) continue;
      const pivot = this.images.resolve(ref);
      list = list.filter((i) => (key === "before" ? i.created < pivot.created : i.created > pivot.created));
    }
    const until = f.until?.[0];
    if (until !== undefined) {
      const limit = parseTimeFilter(until);
      list = list.filter((i) => Date.parse(i.created) <= limit);
    }
    return list
      .sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0))
      .map((i) => imageSummary(i, -1));
  }

  /** inspectImage is docker's `GET /images/{name}/json`. */
  async inspectImage(name: string): Promise<Record<string, unknown>> {
    const img = this.images.resolve(name);
    let lowerdirs: string[] = [];
    try {
      lowerdirs = await this.snapshots.prepareImage(img);
    } catch {
      lowerdirs = [];
    }
    return imageInspect(img, { lowerdirs });
  }

  /** imageHistory is docker's `GET /images/{name}/history`. */
  async imageHistory(name: string): Promise<Array<Record<string, unknown>>> {
    const img = this.images.resolve(name);
    return imageHistory({ ...img, layers: img.layers.map((l) => ({ size: l.size })) });
  }

  /** tagImage is docker's `POST /images/{name}/tag`. */
  async tagImage(source: string, repo: string, tag: string): Promise<void> {
    const target = Reference.parseTagTarget(tag ? `${repo}:${tag}` : repo);
    await this.images.tag(source, formatReference(target));
    const img = this.images.resolve(formatReference(target));
    this.events.emit(ImageEvent(img.id, "tag", Reference.familiarString(target), imageLabels(img)));
  }

  /** removeImage is docker's `DELETE /images/{name}`: refused while a container uses it, unless forced. */
  async removeImage(
    name: string,
    opts: { force?: boolean; noPrune?: boolean } = {},
  ): Promise<Array<{ Untagged: string } | { Deleted: string }>> {
    let imageId: string | undefined;
    let labels: Record<string, string> | null = null;
    try {
      const img = this.images.resolve(name);
      imageId = img.id;
      labels = imageLabels(img);
    } catch {
      // the store reports the missing image below
    }
    // `docker run --rm x && docker rmi x`: the --rm removal may still be releasing the layer.
    await this.containers.removalsSettled();
    const report = await this.images.remove(name, {
      force: opts.force === true,
      noPrune: opts.noPrune === true,
      isInUse: (imageId) => {
        const users = this.containers.imageUsers(imageId);
        const running = users.find((c) => c.state.status === "running" || c.state.status === "paused");
        if (running) return { id: running.id, running: true };
        return users[0]?.id;
      },
    });
    await this.#collectSnapshots();
    for (const item of report) {
      const id = "Deleted" in item ? item.Deleted : imageId;
      if (id) this.events.emit(ImageEvent(id, "Deleted" in item ? "delete" : "untag", id, labels));
    }
    return report;
  }

  /** #collectSnapshots removes unpacked layers no image and no container needs any more. */
  async #collectSnapshots(): Promise<void> {
    try {
      const inUse = await this.snapshots.lowerdirsInUse();
      const needed = new Set<string>();
      for (const img of this.images.list())
        for (const c of chainIds(img.layers.map((l) => l.diffId))) needed.add(c);
      for (const s of this.snapshots.list()) {
        if (!needed.has(s.chainId) && !inUse.has(s.path)) await this.snapshots.removeSnapshot(s.chainId);
      }
    } catch (err) {
      this.#log(`snapshot gc: ${(err as Error).message}`);
    }
  }

  /** saveImages is docker's `GET /images/get` (`docker save`): see {@link saveImages}. */
  async saveImages(names: readonly string[], opts: { signal?: AbortSignal } = {}): Promise<Readable> {
    // As dockerd: one `save` event per image once the archive is written. The images are the ones
    // save resolves (a bare repository name is all its tags), found before the stream starts.
    const ids = [...new Set(planSave(this.images, names).map((i) => i.image.id))];
    const tar = await saveImages(this, names, opts);
    tar.once("end", () => {
      for (const id of ids) this.events.emit(ImageEvent(id, "save", id));
    });
    return tar;
  }

  /** loadImages is docker's `POST /images/load` (`docker load`): see {@link loadImages}. */
  async loadImages(input: Readable, opts: ImageLoadOptions = {}): Promise<LoadReport> {
    const report = await loadImages(this, input, opts);
    for (const img of report.images) this.events.emit(ImageEvent(img.id, "load", img.id));
    return report;
  }

  /** importImage is docker's `POST /images/create?fromSrc=-`: one layer from a root file system tar. */
  async importImage(
    input: Readable,
    opts: { ref?: string; message?: string; changes?: string[] } = {},
  ): Promise<string> {
    const changes = parseChanges(opts.changes ?? []);
    const ref = opts.ref ? formatReference(Reference.parseTagTarget(opts.ref)) : undefined;
    const img = await this.images.importRootfs(input, {
      ...(ref ? { ref } : {}),
      ...(opts.message ? { message: opts.message } : {}),
      changes: changes as never,
    });
    this.events.emit(ImageEvent(img.id, "import", img.id, imageLabels(img)));
    return img.id;
  }

  // ---- prune and disk usage ----

  /** pruneContainers is docker's `POST /containers/prune` (see {@link pruneContainers}). */
  pruneContainers(filters: Filters = {}): Promise<ContainerPruneReport> {
    return pruneContainers(this, filters);
  }

  /** pruneImages is docker's `POST /images/prune` (see {@link pruneImages}). */
  pruneImages(filters: Filters = {}): Promise<ImagePruneReport> {
    return pruneImages(this, filters);
  }

  /** systemDf is docker's `GET /system/df` (see {@link systemDf}). */
  systemDf(types: string[] = []): Promise<SystemDfReport> {
    return systemDf(this, types);
  }

  // ---- system ----

  /** version is docker's `GET /version`. */
  async version(): Promise<Record<string, unknown>> {
    // The binaries do not change under a running engine: ask them once.
    this.#componentVersions ??= Promise.all([
      pexecFile("runc", ["--version"]).then(
        (r) => /runc version (\S+)/.exec(r.stdout)?.[1] ?? "",
        () => "",
      ),
      pexecFile("conmon", ["--version"]).then(
        (r) => /conmon version (\S+)/.exec(r.stdout)?.[1] ?? "",
        () => "",
      ),
    ]);
    const [runc, conmon] = await this.#componentVersions;
    const details = {
      ApiVersion: API_VERSION,
      Arch: "amd64",
      BuildTime: "",
      Experimental: "false",
      GitCommit: "",
      GoVersion: `node${process.versions.node}`,
      KernelVersion: release(),
      MinAPIVersion: MIN_API_VERSION,
      Os: "linux",
    };
    return {
      Platform: { Name: "Berth Engine" },
      Components: [
        { Name: "Engine", Version: ENGINE_VERSION, Details: details },
        { Name: "runc", Version: runc, Details: { GitCommit: "" } },
        { Name: "conmon", Version: conmon, Details: { GitCommit: "" } },
      ],
      Version: ENGINE_VERSION,
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: "",
      GoVersion: details.GoVersion,
      Os: "linux",
      Arch: process.arch === "x64" ? "amd64" : process.arch,
      KernelVersion: release(),
      BuildTime: "",
    };
  }

  /** info is docker's `GET /info`. */
  async info(): Promise<Record<string, unknown>> {
    const all = this.containers.all();
    const running = all.filter((c) => c.state.status === "running").length;
    const paused = all.filter((c) => c.state.status === "paused").length;
    return {
      ID: "",
      Containers: all.length,
      ContainersRunning: running,
      ContainersPaused: paused,
      ContainersStopped: all.length - running - paused,
      Images: this.images.list().length,
      Driver: "overlay",
      DriverStatus: [
        ["Backing Filesystem", "extfs"],
        ["Supports d_type", "true"],
      ],
      Plugins: { Volume: [], Network: ["host", "null"], Authorization: null, Log: ["k8s-file"] },
      MemoryLimit: true,
      SwapLimit: true,
      CpuCfsPeriod: true,
      CpuCfsQuota: true,
      CPUShares: true,
      CPUSet: true,
      PidsLimit: true,
      IPv4Forwarding: true,
      Debug: false,
      NFd: 0,
      OomKillDisable: true,
      NGoroutines: 0,
      SystemTime: new Date().toISOString(),
      LoggingDriver: "k8s-file",
      CgroupDriver: "cgroupfs",
      CgroupVersion: "1",
      NEventsListener: this.events.listeners,
      KernelVersion: release(),
      OperatingSystem: osPrettyName(),
      OSVersion: "",
      OSType: "linux",
      Architecture: process.arch === "x64" ? "x86_64" : process.arch,
      IndexServerAddress: "https://index.docker.io/v1/",
      RegistryConfig: { InsecureRegistryCIDRs: ["127.0.0.0/8"], IndexConfigs: {}, Mirrors: [] },
      NCPU: availableParallelism(),
      MemTotal: totalmem(),
      DockerRootDir: this.root,
      HttpProxy: "",
      HttpsProxy: "",
      NoProxy: "",
      Name: hostname(),
      Labels: [],
      ExperimentalBuild: false,
      ServerVersion: ENGINE_VERSION,
      Runtimes: { runc: { path: "runc" } },
      DefaultRuntime: "runc",
      Swarm: {
        NodeID: "",
        NodeAddr: "",
        LocalNodeState: "inactive",
        ControlAvailable: false,
        Error: "",
        RemoteManagers: null,
      },
      LiveRestoreEnabled: true,
      Isolation: "",
      InitBinary: "",
      ContainerdCommit: { ID: "", Expected: "" },
      RuncCommit: { ID: "", Expected: "" },
      InitCommit: { ID: "", Expected: "" },
      SecurityOptions: ["name=seccomp,profile=builtin"],
      Warnings: null,
    };
  }
}

/** imageLabels are an image's config labels (docker copies them into image events). */
function imageLabels(img: { config: { config?: object } }): Record<string, string> | null {
  return (img.config.config as { Labels?: Record<string, string> } | undefined)?.Labels ?? null;
}

function osPrettyName(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? "linux";
  } catch {
    return "linux";
  }
}

/** parseUnixTime reads docker's `since`/`until` query values (`1700000000.123456789`) as nanoseconds. */
function parseUnixTime(v: string | undefined, what: string): bigint | undefined {
  if (v === undefined || v === "") return undefined;
  const m = /^(\d+)(?:\.(\d{1,9}))?$/.exec(v);
  if (!m)
    throw new InvalidArgument(`invalid value for "${what}": ${JSON.stringify(v)} is not a unix timestamp`);
  return BigInt(m[1]!) * 1_000_000_000n + BigInt((m[2] ?? "").padEnd(9, "0") || "0");
}

/**
 * parseTimeFilter reads docker's `until` filter value: a unix timestamp (fractions allowed), an
 * RFC 3339 date or date-time, or a Go duration before now (`10m`, `1h30m`, `24h`); milliseconds.
 */
export function parseTimeFilter(v: string, now = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const ns = parseGoDuration(v);
  if (ns !== undefined) return now - ns / 1e6;
  const t = Date.parse(v);
  if (Number.isNaN(t))
    throw new InvalidArgument(
      `invalid filter 'until=${v}': expected a timestamp, a date or a duration such as 10m`,
    );
  return t;
}
