import { EventEmitter } from "node:events";
import { mkdir, rm } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { Conflict, InvalidArgument, isKind, NotFound } from "@berth/errdefs";
import { type AttachOptions, AttachSession } from "./AttachSession.ts";
import type { ExitStatus, ImageBackend, RuntimeBackend } from "./backends.ts";
import type { ContainerMounts } from "./ContainerMounts.ts";
import type { ContainerStore } from "./ContainerStore.ts";
import { ContainerEvent, type Events } from "./Events.ts";
import { writeEtcFiles } from "./etcFiles.ts";
import { type HealthConfig, validateHealthConfig } from "./HealthMonitor.ts";
import { newContainerId, nowRFC3339Nano } from "./ids.ts";
import { KeyedLock } from "./KeyedLock.ts";
import { commandOf, mergeImageConfig } from "./merge.ts";
import type { Networks } from "./Networks.ts";
import { isValidName, randomName } from "./names.ts";
import { PhaseTimer } from "./PhaseTimer.ts";
import { type RestartClock, RestartManager } from "./RestartManager.ts";
import { signalNumber } from "./signals.ts";
import {
  type ContainerConfig,
  type ContainerRecord,
  type EndpointSettings,
  type HostConfig,
  type MountPoint,
  ZERO_TIME,
} from "./types.ts";

/** Options to create a container: docker's create body, split as the Engine API splits it. */
export interface CreateOptions {
  name?: string;
  config: ContainerConfig;
  hostConfig?: HostConfig;
  /** Docker's `NetworkingConfig`: per-network endpoint settings (aliases, static address). */
  networkingConfig?: { EndpointsConfig?: Record<string, EndpointSettings | null> | null } | null;
}

/** CreateReport is what docker answers to a create. */
export interface CreateReport {
  Id: string;
  Warnings: string[];
}

/** Conditions `wait` understands, as docker's `condition` query. */
export type WaitCondition = "not-running" | "next-exit" | "removed";

/** WaitReport is docker's wait answer. */
export interface WaitReport {
  StatusCode: number;
  Error: { Message: string } | null;
}

/** Builds the OCI spec for a container about to start; injected so the engine stays testable. */
export type SpecFactory = (rec: ContainerRecord) => Promise<unknown>;

/** Everything `Containers` needs, passed in by `Engine.open`. */
export interface ContainersDeps {
  store: ContainerStore;
  images: ImageBackend;
  runtime: RuntimeBackend;
  /** Directory under which runtime bundles live (`<runRoot>/b/<id prefix>`). */
  runRoot: string;
  buildSpec: SpecFactory;
  /** Volumes, binds and tmpfs; without it a create asking for mounts is refused. */
  mounts?: ContainerMounts;
  /** Networks; without it containers get a namespace of their own with only `lo`. */
  networks?: Networks;
  log?: (msg: string) => void;
  /** Timers for restart back-off (tests pass a fake one); the real clock by default. */
  restartClock?: RestartClock;
  /** The engine's event bus: lifecycle events are published there in docker's shapes. */
  events?: Events;
}

const DEFAULT_STOP_TIMEOUT_S = 10;

/**
 * Bundles and runtime state are named by an ID prefix: conmon puts sockets in them and a UNIX
 * socket path must fit in 107 bytes. IDs are chosen so that no two containers share the prefix.
 */
export const RUNTIME_ID_CHARS = 20;

/**
 * Containers is the container service: create, start, stop, kill, restart, wait, remove, attach,
 * resize, and the state machine between them, with state on disk. The daemon's handlers and
 * embedded callers use the same methods.
 */
export class Containers {
  readonly #d: ContainersDeps;
  readonly #lock = new KeyedLock();
  readonly #events = new EventEmitter();
  /** Attach sessions waiting for the container's next start, per container. */
  readonly #pending = new Map<string, AttachSession[]>();
  /** Exit watchers per running container, so each exit is handled once. */
  readonly #watching = new Map<string, AbortController>();
  /** Containers being removed: already gone for API callers, still being released underneath. */
  readonly #hidden = new Set<string>();
  /** `<id>\0<name>` of creates in flight, so two creates cannot take the same name. */
  readonly #creating = new Set<string>();
  /** Restart bookkeeping per container, from its last start through the API. */
  readonly #restarts = new Map<string, RestartManager>();

  constructor(deps: ContainersDeps) {
    this.#d = deps;
    this.#events.setMaxListeners(0);
  }

  #log(msg: string): void {
    this.#d.log?.(msg);
  }

  /** list returns every record (the daemon filters and shapes them). */
  all(): ContainerRecord[] {
    return this.#d.store.all().filter((c) => !this.#hidden.has(c.id));
  }

  /**
   * find resolves docker's container lookup order: full ID, then exact name (with or without the
   * leading slash), then a unique ID prefix.
   */
  find(idOrName: string): ContainerRecord {
    const exact = this.#d.store.get(idOrName);
    if (exact && !this.#hidden.has(exact.id)) return exact;
    const name = idOrName.startsWith("/") ? idOrName.slice(1) : idOrName;
    const all = this.all();
    const byName = all.find((c) => c.name === name);
    if (byName) return byName;
    if (/^[0-9a-f]+$/.test(idOrName)) {
      const matches = all.filter((c) => c.id.startsWith(idOrName));
      if (matches.length === 1) return matches[0]!;
      if (matches.length > 1)
        throw new InvalidArgument(`multiple IDs found with provided prefix: ${idOrName}`);
    }
    throw new NotFound(`No such container: ${idOrName}`);
  }

  /** create resolves the image, merges its config, reserves the name and prepares the root file system. */
  async create(opts: CreateOptions): Promise<CreateReport> {
    const userConfig = opts.config;
    const hostConfig: HostConfig = { ...(opts.hostConfig ?? {}) };
    if (!userConfig.Image)
      throw new InvalidArgument("config.Image is required: the image to create the container from");
    let name = opts.name;
    if (name !== undefined && name !== "") {
      if (!isValidName(name)) {
        throw new InvalidArgument(
          `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
        );
      }
      name = name.replace(/^\//, "");
    }
    validateHostConfig(hostConfig, this.#d.networks !== undefined);
    const networks = this.#networksFor(hostConfig, opts.networkingConfig?.EndpointsConfig ?? {});
    const timer = new PhaseTimer();
    const image = await this.#d.images.resolve(userConfig.Image);
    timer.mark("image");
    const config = mergeImageConfig(userConfig, image);
    validateHealthConfig(config.Healthcheck as HealthConfig | null | undefined);
    const { path, args } = commandOf(config);

    const id = newContainerId((x) =>
      this.#d.store.all().some((c) => c.id.slice(0, RUNTIME_ID_CHARS) === x.slice(0, RUNTIME_ID_CHARS)),
    );
    if (!config.Hostname) config.Hostname = id.slice(0, 12);
    normaliseHostConfig(hostConfig);

    // Reserve the name synchronously, before the first await that could let another create in.
    const finalName = name && name !== "" ? name : this.#uniqueRandomName();
    const holder =
      this.all().find((c) => c.name === finalName) ?? [...this.#creatingNames()].find((n) => n === finalName);
    if (holder) {
      const holderId = typeof holder === "string" ? "" : holder.id;
      throw new Conflict(
        `Conflict. The container name "/${finalName}" is already in use by container "${holderId}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
    this.#creating.add(`${id}\0${finalName}`);
    let mounts: MountPoint[] = [];
    try {
      mounts = await this.#prepareMounts(config, hostConfig);
      timer.mark("volumes");
      const dir = this.#d.store.dirOf(id);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const rootfs = await this.#d.images.createContainerLayer(id, image.id);
      timer.mark("layer");
      const rec: ContainerRecord = {
        id,
        name: finalName,
        created: nowRFC3339Nano(),
        path,
        args,
        config,
        hostConfig,
        image: image.id,
        state: {
          status: "created",
          pid: 0,
          exitCode: 0,
          error: "",
          oomKilled: false,
          startedAt: ZERO_TIME,
          finishedAt: ZERO_TIME,
        },
        restartCount: 0,
        logPath: join(dir, `${id}-json.log`),
        hostnamePath: join(dir, "hostname"),
        hostsPath: join(dir, "hosts"),
        resolvConfPath: join(dir, "resolv.conf"),
        rootfs,
        ...(mounts.length > 0 ? { mounts } : {}),
        ...(networks ? { networks } : {}),
      };
      await writeEtcFiles(rec);
      timer.mark("etc");
      await this.#d.store.save(rec);
      timer.mark("save");
      timer.report(`create ${id.slice(0, 12)}`, (m) => this.#log(m));
      this.#emit(id, "create");
      return { Id: id, Warnings: [] };
    } catch (err) {
      await this.#d.images.removeContainerLayer(id).catch(() => {});
      await rm(this.#d.store.dirOf(id), { recursive: true, force: true });
      await this.#d.mounts?.release(mounts);
      throw err;
    } finally {
      this.#creating.delete(`${id}\0${finalName}`);
    }
  }

  /** #networksFor checks the network mode and endpoint configs of a create and resolves them. */
  #networksFor(
    hc: HostConfig,
    endpoints: Record<string, EndpointSettings | null>,
  ): Record<string, EndpointSettings> | undefined {
    const mode = hc.NetworkMode || "default";
    if (mode.startsWith("container:")) {
      const ref = mode.slice("container:".length);
      if (!ref) throw new InvalidArgument("--network container: needs a container name or ID");
      hc.NetworkMode = `container:${this.find(ref).id}`;
      return undefined;
    }
    return this.#d.networks?.endpointsFor(mode, endpoints);
  }

  async #prepareMounts(config: ContainerConfig, hc: HostConfig): Promise<MountPoint[]> {
    if (this.#d.mounts) return this.#d.mounts.prepare(config, hc);
    const asks = (v: unknown) => v !== undefined && v !== null && Object.keys(v as object).length > 0;
    if (asks(hc.Binds) || asks(hc.Mounts) || asks(hc.Tmpfs) || asks(config.Volumes))
      throw new InvalidArgument("this engine has no volume service: mounts are not supported");
    return [];
  }

  /** volumeUsers lists the IDs of the containers whose mounts use a volume (not those being removed). */
  volumeUsers(name: string): string[] {
    return this.#d.store
      .all()
      .filter((c) => !this.#hidden.has(c.id))
      .filter((c) => c.mounts?.some((m) => m.type === "volume" && m.name === name))
      .map((c) => c.id);
  }

  *#creatingNames(): Iterable<string> {
    for (const k of this.#creating) yield k.slice(k.indexOf("\0") + 1);
  }

  #uniqueRandomName(): string {
    const taken = new Set([...this.all().map((c) => c.name), ...this.#creatingNames()]);
    for (let i = 0; i < 20; i++) {
      const n = randomName(i > 5 ? i : 0);
      if (!taken.has(n)) return n;
    }
    return `berth_${Date.now().toString(36)}`;
  }

  /**
   * start runs a created or exited container: mount its root file system, have the runtime create
   * it under conmon, connect waiting attach sessions, then let the process run. A start failure
   * (e.g. the command does not exist) leaves the container exited with docker's 126/127 code.
   */
  async start(idOrName: string): Promise<{ notModified: boolean }> {
    const id = this.find(idOrName).id;
    return this.#lock.run(id, async () => {
      const rec = this.find(id);
      const st = rec.state.status;
      if (st === "paused") throw new Conflict("cannot start a paused container, try unpause instead");
      if (st === "running" || st === "restarting") return { notModified: true };
      if (st === "removing")
        throw new Conflict(`container ${id} is marked for removal and cannot be started`);
      this.#resetRestarts(rec);
      await this.#startLocked(rec);
      return { notModified: false };
    });
  }

  async #startLocked(rec: ContainerRecord): Promise<void> {
    const { runtime, images } = this.#d;
    const bundle = this.#bundleDir(rec.id);
    const timer = new PhaseTimer();
    await rm(bundle, { recursive: true, force: true });
    await mkdir(bundle, { recursive: true, mode: 0o700 });
    if (rec.state.startedAt !== ZERO_TIME) {
      // A restart: drop whatever runtime state the previous run left.
      await runtime.delete(rec.id, { force: true }).catch(() => {});
      await runtime.cleanup(rec.id).catch(() => {});
    }
    timer.mark("bundle");
    // The network (namespace, veth pair, /etc files, published ports) does not need the root file
    // system: it is plugged in while the overlay is mounted and volumes are filled. Settled (and
    // undone) before anything else touches it on every path.
    const attaching = (async () => {
      await this.#d.networks?.attach(rec, (x) => this.find(x));
      timer.mark("network");
    })();
    attaching.catch(() => {});
    try {
      await images.mountContainer(rec.id);
    } catch (err) {
      await attaching.then(
        () => this.#d.networks?.detach(rec),
        () => {},
      );
      throw err;
    }
    timer.mark("mount");
    let created = false;
    try {
      if (this.#d.mounts && (await this.#d.mounts.populate(rec))) await this.#d.store.save(rec);
      timer.mark("volumes");
      await attaching;
      const spec = await this.#d.buildSpec(rec);
      timer.mark("spec");
      const { pid, conmonPid } = await runtime.create(rec.id, {
        bundle,
        spec,
        terminal: rec.config.Tty === true,
        stdin: rec.config.OpenStdin === true,
        logPath: rec.logPath,
      });
      created = true;
      timer.mark("create");
      const sessions = this.#pending.get(rec.id) ?? [];
      this.#pending.delete(rec.id);
      await Promise.all(
        sessions.map(async (s) => {
          try {
            s.connect(await runtime.attach(rec.id));
          } catch (err) {
            this.#log(`attach ${rec.id}: ${(err as Error).message}`);
            s.endOutput();
          }
        }),
      );
      await runtime.start(rec.id);
      timer.mark("runc-start");
      rec.state = {
        status: "running",
        pid,
        conmonPid,
        exitCode: 0,
        error: "",
        oomKilled: false,
        startedAt: nowRFC3339Nano(),
        finishedAt: rec.state.finishedAt,
      };
      await this.#d.store.save(rec);
      this.#emit(rec.id, "start");
      this.#watch(rec.id);
      timer.mark("save");
      timer.report(`start ${rec.id.slice(0, 12)}`, (m) => this.#log(m));
    } catch (err) {
      const message = (err as Error).message;
      const exitCode = /executable file not found|no such file or directory/.test(message)
        ? 127
        : /permission denied|is a directory|not a directory/.test(message)
          ? 126
          : 128;
      await attaching.catch(() => {});
      if (created) await runtime.delete(rec.id, { force: true }).catch(() => {});
      await runtime.cleanup(rec.id).catch(() => {});
      await this.#d.networks?.detach(rec);
      await images.unmountContainer(rec.id).catch(() => {});
      rec.state = {
        ...rec.state,
        status: rec.state.startedAt === ZERO_TIME ? "created" : "exited",
        pid: 0,
        exitCode,
        error: message,
      };
      delete rec.state.conmonPid;
      await this.#d.store.save(rec);
      for (const s of this.#pending.get(rec.id) ?? []) s.endOutput();
      this.#pending.delete(rec.id);
      this.#announceExit(rec.id, { StatusCode: exitCode, Error: { Message: message } }, true);
      if (rec.hostConfig.AutoRemove) void this.#autoRemove(rec.id);
      if (isKind(err, "InvalidArgument") || exitCode !== 128)
        throw new InvalidArgument(message, { cause: err });
      throw err;
    }
  }

  /** #watch handles the container's exit once, whenever it happens. */
  #watch(id: string): void {
    if (this.#watching.has(id)) return;
    const ac = new AbortController();
    this.#watching.set(id, ac);
    this.#d.runtime.waitExit(id, ac.signal).then(
      (status) => {
        this.#watching.delete(id);
        void this.#lock
          .run(id, () => this.#onExit(id, status))
          .catch((err) => this.#log(`exit ${id}: ${(err as Error).message}`));
      },
      (err) => {
        this.#watching.delete(id);
        if (!ac.signal.aborted) this.#log(`wait ${id}: ${(err as Error).message}`);
      },
    );
  }

  /** #onExit records an exit, releases the runtime and the mount, and runs --rm. Call under the lock. */
  async #onExit(id: string, status: ExitStatus): Promise<void> {
    const rec = this.#d.store.get(id);
    if (!rec || (rec.state.status !== "running" && rec.state.status !== "paused")) return;
    const exited = {
      status: "exited" as const,
      pid: 0,
      exitCode: status.exitCode,
      error: "",
      oomKilled: status.oomKilled,
      startedAt: rec.state.startedAt,
      finishedAt: toRFC3339Nano(status.finishedAt),
    };
    if (rec.hostConfig.AutoRemove) {
      // --rm: once "removing" is on disk (a restart finishes the job), the clients get their answer
      // and the runtime state, mount and layer are released after it.
      rec.state = { ...exited, status: "removing" };
      await this.#d.store.save(rec);
      this.#emit(id, "die", { exitCode: String(status.exitCode) });
      this.#announceExit(id, { StatusCode: status.exitCode, Error: null }, true);
      await this.#removeLocked(rec, true);
      return;
    }
    await this.#d.runtime.delete(id, { force: true }).catch(() => {});
    await this.#d.runtime.cleanup(id).catch(() => {});
    await this.#d.networks?.detach(rec);
    await this.#d.images
      .unmountContainer(id)
      .catch((err) => this.#log(`unmount ${id}: ${(err as Error).message}`));
    const runMs = status.finishedAt.getTime() - Date.parse(rec.state.startedAt);
    const decision = this.#restartManager(rec).decide(
      status.exitCode,
      rec.manuallyStopped === true,
      Number.isFinite(runMs) ? runMs : 0,
    );
    rec.state = decision.restart ? { ...exited, status: "restarting" } : exited;
    if (decision.restart) rec.restartCount = this.#restartManager(rec).restartCount;
    await this.#d.store.save(rec);
    this.#emit(id, "die", { exitCode: String(status.exitCode) });
    this.#announceExit(id, { StatusCode: status.exitCode, Error: null }, !decision.restart);
    if (decision.restart) this.#scheduleRestart(id, decision.delayMs);
  }

  /** #announceExit answers `next-exit` waiters, and `not-running` ones when no restart follows. */
  #announceExit(id: string, report: WaitReport, final: boolean): void {
    this.#events.emit(`exit:${id}`, report);
    if (final) this.#events.emit(`stopped:${id}`, report);
  }

  #restartManager(rec: ContainerRecord): RestartManager {
    let m = this.#restarts.get(rec.id);
    if (!m) {
      m = new RestartManager({
        policy: rec.hostConfig.RestartPolicy,
        restartCount: rec.restartCount,
        ...(this.#d.restartClock ? { clock: this.#d.restartClock } : {}),
      });
      this.#restarts.set(rec.id, m);
    }
    return m;
  }

  /** #resetRestarts is docker's reset on a start through the API: new count, no manual stop. */
  #resetRestarts(rec: ContainerRecord): void {
    this.#restarts.get(rec.id)?.cancel();
    this.#restarts.delete(rec.id);
    rec.restartCount = 0;
    delete rec.manuallyStopped;
  }

  /** #scheduleRestart starts a `restarting` container again after the back-off delay. */
  #scheduleRestart(id: string, delayMs: number): void {
    const m = this.#restarts.get(id);
    if (!m) return;
    void m.wait(delayMs).then((ok) => {
      if (!ok) return;
      return this.#lock
        .run(id, async () => {
          const rec = this.#d.store.get(id);
          if (!rec || rec.state.status !== "restarting" || this.#hidden.has(id)) return;
          if (this.#restarts.get(id) !== m || m.cancelled) return;
          await this.#startLocked(rec);
        })
        .catch((err) => this.#log(`restart ${id}: ${(err as Error).message}`));
    });
  }

  /**
   * #cancelRestart is a manual stop's effect on the policy: no restart until the next start through
   * the API; a container waiting for its restart is exited at once. Call under the lock.
   */
  async #cancelRestart(rec: ContainerRecord): Promise<void> {
    this.#restartManager(rec).cancel();
    if (rec.state.status !== "restarting") return;
    rec.state = { ...rec.state, status: "exited", pid: 0 };
    await this.#d.store.save(rec);
    this.#events.emit(`stopped:${rec.id}`, {
      StatusCode: rec.state.exitCode,
      Error: null,
    } satisfies WaitReport);
  }

  /** #markStopped records a stop or kill through the API (docker's HasBeenManuallyStopped). */
  async #markStopped(id: string, cancel: boolean): Promise<ContainerRecord | undefined> {
    return this.#lock.run(id, async () => {
      const rec = this.#d.store.get(id);
      if (!rec || (rec.state.status !== "running" && rec.state.status !== "restarting")) return rec;
      rec.manuallyStopped = true;
      if (cancel) await this.#cancelRestart(rec);
      await this.#d.store.save(rec);
      return rec;
    });
  }

  async #autoRemove(id: string): Promise<void> {
    await this.#lock.run(id, async () => {
      const rec = this.#d.store.get(id);
      if (rec && rec.state.status !== "running") await this.#removeLocked(rec, true);
    });
  }

  /**
   * stop sends the stop signal (the container's StopSignal, else SIGTERM), waits `timeout` seconds
   * (the container's StopTimeout, else 10; -1 waits forever), then SIGKILL, then waits for the exit.
   */
  async stop(
    idOrName: string,
    opts: { timeout?: number; signal?: string } = {},
  ): Promise<{ notModified: boolean }> {
    const found = await this.#thawIfPaused(this.find(idOrName));
    if (found.state.status !== "running" && found.state.status !== "restarting") return { notModified: true };
    // A stop cancels the restart policy until the next start, and a pending restart at once.
    const rec = (await this.#markStopped(found.id, true)) ?? found;
    if (rec.state.status !== "running") return { notModified: rec.state.status !== "exited" };
    const signal = opts.signal ?? rec.config.StopSignal ?? "SIGTERM";
    const timeout =
      opts.timeout ??
      (typeof rec.config.StopTimeout === "number" ? rec.config.StopTimeout : DEFAULT_STOP_TIMEOUT_S);
    const exited = this.#nextExit(rec.id);
    this.#emit(rec.id, "kill", { signal: String(signalNumber(signal)) });
    await this.#d.runtime.kill(rec.id, signalNumber(signal)).catch(() => {});
    if (timeout < 0) {
      await exited;
      this.#emit(rec.id, "stop");
      return { notModified: false };
    }
    const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), timeout * 1000).unref());
    if ((await Promise.race([exited, timer])) === "timeout") {
      this.#emit(rec.id, "kill", { signal: "9" });
      await this.#d.runtime.kill(rec.id, "SIGKILL", true).catch(() => {});
      await exited;
    }
    this.#emit(rec.id, "stop");
    return { notModified: false };
  }

  /** #nextExit resolves when the container's current run has been recorded as ended. */
  #nextExit(id: string): Promise<WaitReport> {
    return new Promise((resolve) => {
      const rec = this.#d.store.get(id);
      if (!rec || (rec.state.status !== "running" && rec.state.status !== "paused")) {
        resolve({ StatusCode: rec?.state.exitCode ?? 0, Error: null });
        return;
      }
      this.#events.once(`exit:${id}`, resolve);
    });
  }

  /**
   * #thawIfPaused resumes a paused container before a stop, kill or forced removal: a frozen
   * process (cgroup v1 freezer) cannot act on a signal, not even SIGKILL, until it is thawed.
   * Returns the current record.
   */
  async #thawIfPaused(found: ContainerRecord): Promise<ContainerRecord> {
    if (found.state.status !== "paused") return found;
    return this.#lock.run(found.id, async () => {
      const rec = this.#d.store.get(found.id) ?? found;
      if (rec.state.status !== "paused") return rec;
      await this.#d.runtime.unpause(rec.id);
      rec.state = { ...rec.state, status: "running" };
      await this.#d.store.save(rec);
      this.#emit(rec.id, "unpause");
      return rec;
    });
  }

  /**
   * locked runs `fn` with the container's current record under its lock, so operations built on
   * this service (pause, rename, update, commit, cp in ContainerOps) exclude start, stop and exit
   * handling. `fn` may change the record and persist it with {@link Containers.save}.
   */
  async locked<T>(idOrName: string, fn: (rec: ContainerRecord) => Promise<T>): Promise<T> {
    const id = this.find(idOrName).id;
    return this.#lock.run(id, async () => {
      const rec = this.#d.store.get(id);
      if (!rec || this.#hidden.has(id)) throw new NotFound(`No such container: ${idOrName}`);
      return fn(rec);
    });
  }

  /** save persists a changed record (call inside {@link Containers.locked}). */
  async save(rec: ContainerRecord): Promise<void> {
    await this.#d.store.save(rec);
  }

  /**
   * emitEvent publishes a lifecycle event (`pause`, `unpause`, `rename`, `update`, `commit`, `top`,
   * `export`, `archive-path`, `extract-to-dir`) with docker's extra attributes (`oldName`, ...).
   */
  emitEvent(id: string, action: string, extra: Record<string, string> = {}): void {
    this.#emit(id, action, extra);
  }

  /**
   * restartPolicyChanged drops the cached restart bookkeeping after an `update` changed the policy,
   * so the next exit is judged by the new one (the restart count is kept in the record).
   */
  restartPolicyChanged(id: string): void {
    const rec = this.#d.store.get(id);
    if (rec && rec.state.status !== "restarting") this.#restarts.delete(id);
  }

  /** isNameReserved tells whether a create in flight reserved `name`. */
  isNameReserved(name: string): boolean {
    return [...this.#creatingNames()].includes(name);
  }

  /** kill sends a signal (name or number, default SIGKILL) to a running container. */
  async kill(idOrName: string, signal = "SIGKILL"): Promise<void> {
    const found = await this.#thawIfPaused(this.find(idOrName));
    const sig = signalNumber(signal);
    // As dockerd's killWithSignal: every kill marks the container manually stopped; SIGKILL, the
    // configured StopSignal, or any signal when none is configured also disables the restart
    // policy until the next start. A restarting container only has its pending restart cancelled.
    const configured = found.config.StopSignal;
    const cancel = sig === 9 || !configured || sig === signalNumber(configured);
    const rec = (await this.#markStopped(found.id, cancel)) ?? found;
    if (found.state.status === "restarting" || rec.state.status === "restarting") return;
    if (rec.state.status !== "running") {
      throw new Conflict(`Cannot kill container: ${idOrName}: Container ${rec.id} is not running`);
    }
    const exited = sig === 9 ? this.#nextExit(rec.id) : undefined;
    this.#emit(rec.id, "kill", { signal: String(sig) });
    try {
      await this.#d.runtime.kill(rec.id, sig, sig === 9);
    } catch (err) {
      // The process may have ended between our check and the signal: report it as docker does.
      if (await this.#d.runtime.exitStatus(rec.id)) {
        throw new Conflict(`Cannot kill container: ${idOrName}: Container ${rec.id} is not running`);
      }
      throw err;
    }
    // Like dockerd, a SIGKILL returns once the exit is recorded, so the next command sees it.
    if (exited) {
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000).unref())]);
    }
  }

  /** restart stops (if running) and starts again. */
  async restart(idOrName: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    const rec = this.find(idOrName);
    await this.stop(rec.id, opts);
    await this.start(rec.id);
    this.#emit(rec.id, "restart");
  }

  /**
   * wait resolves docker's wait conditions: `not-running` (now if not running), `next-exit`,
   * `removed`. The returned promise is created synchronously, so a wait issued before start sees the
   * exit of that start.
   */
  wait(idOrName: string, condition: WaitCondition = "not-running"): Promise<WaitReport> {
    const rec = this.find(idOrName);
    const id = rec.id;
    if (condition === "removed") {
      return new Promise((resolve) => {
        let last: WaitReport = { StatusCode: rec.state.exitCode, Error: null };
        const onExit = (r: WaitReport) => {
          last = r;
        };
        this.#events.on(`exit:${id}`, onExit);
        this.#events.once(`removed:${id}`, () => {
          this.#events.off(`exit:${id}`, onExit);
          resolve(last);
        });
      });
    }
    if (condition === "not-running") {
      if (rec.state.status !== "running" && rec.state.status !== "restarting")
        return Promise.resolve({ StatusCode: rec.state.exitCode, Error: null });
      // Exits followed by a restart do not count: the container is still up as docker sees it.
      return new Promise((resolve) => this.#events.once(`stopped:${id}`, resolve));
    }
    return new Promise((resolve) => this.#events.once(`exit:${id}`, resolve));
  }

  /** remove deletes a container; a running one needs `force` (then it is killed first). */
  async remove(idOrName: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    let rec = this.find(idOrName);
    if (rec.state.status === "paused" && opts.force) rec = await this.#thawIfPaused(rec);
    if (rec.state.status === "restarting") {
      if (!opts.force) {
        throw new Conflict(
          `You cannot remove a restarting container ${rec.id}. Stop the container before attempting removal or force remove`,
        );
      }
      await this.#lock.run(rec.id, async () => {
        const cur = this.#d.store.get(rec.id);
        if (cur) await this.#cancelRestart(cur);
      });
    }
    if (rec.state.status === "paused" && !opts.force) {
      throw new Conflict(
        `You cannot remove a paused container ${rec.id}. Unpause and then stop the container before attempting removal or force remove`,
      );
    }
    if (rec.state.status === "running" || rec.state.status === "paused") {
      if (!opts.force) {
        throw new Conflict(
          `You cannot remove a running container ${rec.id}. Stop the container before attempting removal or force remove`,
        );
      }
      // No restart for a container on its way out.
      this.#restartManager(rec).cancel();
      const exited = this.#nextExit(rec.id);
      this.#emit(rec.id, "kill", { signal: "9" });
      await this.#d.runtime.kill(rec.id, "SIGKILL", true).catch(() => {});
      await exited;
    }
    await this.#lock.run(rec.id, async () => {
      const cur = this.#d.store.get(rec.id);
      if (!cur) return;
      if (cur.state.status === "running") {
        throw new Conflict(
          `You cannot remove a running container ${rec.id}. Stop the container before attempting removal or force remove`,
        );
      }
      await this.#removeLocked(cur, false, opts.volumes === true);
    });
  }

  /**
   * #removeLocked deletes a container. It vanishes from the API first (waiters on `removed` are
   * answered), then its runtime state, mount, layer, bundle and record are released; if that fails
   * the record reappears so the removal can be retried. Call under the lock.
   */
  async #removeLocked(rec: ContainerRecord, auto: boolean, volumes = auto): Promise<void> {
    if (!this.#d.store.get(rec.id)) return;
    this.#restarts.get(rec.id)?.cancel();
    this.#restarts.delete(rec.id);
    this.#watching.get(rec.id)?.abort();
    this.#watching.delete(rec.id);
    this.#hidden.add(rec.id);
    for (const s of this.#pending.get(rec.id) ?? []) s.endOutput();
    this.#pending.delete(rec.id);
    // `rm -v` and `--rm` take the container's anonymous volumes along (named ones stay), before
    // the removal is announced, so the client sees them gone when its command returns.
    if (volumes && rec.mounts) await this.#d.mounts?.release(rec.mounts);
    // The network clean-up runs after the answer; its disconnect events belong before destroy.
    this.#d.networks?.announceDetach(rec);
    this.#emit(rec.id, "destroy");
    this.#events.emit(`removed:${rec.id}`);
    try {
      await this.#d.runtime.delete(rec.id, { force: true }).catch(() => {});
      await this.#d.runtime.cleanup(rec.id).catch(() => {});
      await this.#d.networks?.detach(rec);
      await this.#d.images.unmountContainer(rec.id).catch(() => {});
      await this.#d.images.removeContainerLayer(rec.id);
      await rm(this.#bundleDir(rec.id), { recursive: true, force: true });
      await this.#d.store.delete(rec.id);
    } catch (err) {
      this.#log(`remove ${rec.id}${auto ? " (--rm)" : ""}: ${(err as Error).message}`);
      throw err;
    } finally {
      this.#hidden.delete(rec.id);
      this.#events.emit("released");
    }
  }

  /**
   * attach opens a session on the container's stdio. Before the container runs, the session waits
   * for the next start; on a running container it connects at once.
   */
  async attach(idOrName: string, opts: AttachOptions): Promise<AttachSession> {
    const rec = this.find(idOrName);
    const session = new AttachSession(opts, rec.config.StdinOnce === true);
    this.#emit(rec.id, "attach");
    if (rec.state.status === "running") {
      session.connect(await this.#d.runtime.attach(rec.id));
    } else if (opts.stream === false) {
      session.endOutput();
    } else {
      const list = this.#pending.get(rec.id) ?? [];
      list.push(session);
      this.#pending.set(rec.id, list);
      const forget = () => {
        const l = this.#pending.get(rec.id);
        if (l)
          this.#pending.set(
            rec.id,
            l.filter((s) => s !== session),
          );
      };
      session.stdout.once("close", forget);
    }
    return session;
  }

  #bundleDir(id: string): string {
    return join(this.#d.runRoot, "b", id.slice(0, RUNTIME_ID_CHARS));
  }

  /** resize changes the terminal size of a TTY container. */
  async resize(idOrName: string, size: { height: number; width: number }): Promise<void> {
    const rec = this.find(idOrName);
    if (rec.state.status !== "running") {
      throw new Conflict(`Container ${rec.id} is not running`);
    }
    if (!rec.config.Tty) return;
    await this.#d.runtime.resize(rec.id, size);
  }

  /**
   * restore runs once at daemon start: containers recorded as running are adopted if their conmon
   * is alive, or get the exit code conmon recorded while the daemon was down (and their restart
   * policy applied). Then, as dockerd does, stopped containers that ran before and whose policy
   * asks for it (`always`; `unless-stopped` not stopped through the API; `on-failure` after a
   * failure with retries left) are started again, with a fresh restart count.
   */
  async restore(): Promise<void> {
    for (const rec of this.#d.store.all()) {
      if (rec.state.status === "restarting") {
        // The daemon died during a back-off: decide again below, as for any stopped container.
        rec.state = { ...rec.state, status: "exited", pid: 0 };
        await this.#d.store.save(rec);
        continue;
      }
      if (rec.state.status === "removing") {
        // A removal that a crash interrupted: finish it.
        await this.#lock.run(rec.id, () => this.#removeLocked(rec, true)).catch(() => {});
        continue;
      }
      if (rec.state.status !== "running" && rec.state.status !== "paused") continue;
      const status = await this.#d.runtime.exitStatus(rec.id);
      if (status) {
        await this.#lock.run(rec.id, () => this.#onExit(rec.id, status));
        continue;
      }
      if (await this.#d.runtime.isConmonAlive(rec.id)) {
        await this.#d.networks?.adopt(rec);
        this.#watch(rec.id);
        continue;
      }
      // Neither alive nor an exit record: the monitor died with the machine or was killed.
      await this.#lock.run(rec.id, () =>
        this.#onExit(rec.id, { exitCode: 255, oomKilled: false, finishedAt: new Date() }),
      );
    }
    // Records that never started and were left by --rm runs cut short stay as docker keeps them.
    for (const rec of this.#d.store.all()) {
      if (rec.state.status !== "exited" || rec.state.startedAt === ZERO_TIME || rec.hostConfig.AutoRemove)
        continue;
      const runMs = Date.parse(rec.state.finishedAt) - Date.parse(rec.state.startedAt);
      const decision = new RestartManager({
        policy: rec.hostConfig.RestartPolicy,
        restartCount: rec.restartCount,
      }).decide(rec.state.exitCode, rec.manuallyStopped === true, Number.isFinite(runMs) ? runMs : 0);
      if (!decision.restart) continue;
      await this.#lock
        .run(rec.id, async () => {
          const cur = this.#d.store.get(rec.id);
          if (!cur || cur.state.status !== "exited") return;
          this.#resetRestarts(cur);
          await this.#startLocked(cur);
        })
        .catch((err) => this.#log(`restart ${rec.id} at daemon start: ${(err as Error).message}`));
    }
  }

  /** connectNetwork attaches a container to one more network (docker's `network connect`). */
  async connectNetwork(idOrName: string, network: string, cfg: EndpointSettings = {}): Promise<void> {
    const nets = this.#d.networks;
    if (!nets) throw new InvalidArgument("this engine has no network service");
    const id = this.find(idOrName).id;
    await this.#lock.run(id, async () => {
      const rec = this.find(id);
      await nets.connect(rec, network, cfg);
      await this.#d.store.save(rec);
    });
  }

  /** disconnectNetwork detaches a container from a network (docker's `network disconnect`). */
  async disconnectNetwork(idOrName: string, network: string, force = false): Promise<void> {
    const nets = this.#d.networks;
    if (!nets) throw new InvalidArgument("this engine has no network service");
    const id = this.find(idOrName).id;
    await this.#lock.run(id, async () => {
      const rec = this.find(id);
      await nets.disconnect(rec, network, force);
      await this.#d.store.save(rec);
    });
  }

  /** readLogPath gives the engine's log file for `logs`. */
  logPath(idOrName: string): { path: string; tty: boolean; running: () => boolean; id: string } {
    const rec = this.find(idOrName);
    return {
      path: rec.logPath,
      tty: rec.config.Tty === true,
      id: rec.id,
      running: () => this.#d.store.get(rec.id)?.state.status === "running",
    };
  }

  /** onceExit resolves when the container next exits or is removed (used by `logs -f`). */
  onceStopped(id: string): Promise<void> {
    const rec = this.#d.store.get(id);
    if (!rec || rec.state.status !== "running") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.#events.off(`exit:${id}`, done);
        this.#events.off(`removed:${id}`, done);
        resolve();
      };
      this.#events.once(`exit:${id}`, done);
      this.#events.once(`removed:${id}`, done);
    });
  }

  /** subscribe to lifecycle events (`create`, `start`, `die`, `destroy`) of all containers. */
  onEvent(fn: (ev: { id: string; action: string; time: number }) => void): () => void {
    this.#events.on("event", fn);
    return () => this.#events.off("event", fn);
  }

  #emit(id: string, action: string, extra: Record<string, string> = {}): void {
    this.#events.emit("event", { id, action, time: Date.now() });
    const rec = this.#d.events ? this.#d.store.get(id) : undefined;
    if (rec) this.#d.events?.emit(containerEventOf(rec, action, extra));
  }

  /** shutdown stops watching exits (the containers keep running under conmon). */
  shutdown(): void {
    for (const ac of this.#watching.values()) ac.abort();
    this.#watching.clear();
  }

  /**
   * removalsSettled resolves once no container removal is releasing its layer any more: a removal
   * is answered before its layer is gone, and image removal must not find it half released.
   */
  async removalsSettled(): Promise<void> {
    while (this.#hidden.size > 0) await new Promise((r) => this.#events.once("released", r));
  }

  /** imageInUse tells which container (if any) uses an image, and whether it runs. */
  imageUsers(imageId: string): ContainerRecord[] {
    return this.#d.store.all().filter((c) => c.image === imageId);
  }
}

/** containerEventOf builds docker's event for a container record (labels, `image` as given, `name`). */
export function containerEventOf(
  rec: ContainerRecord,
  action: string,
  extra: Record<string, string> = {},
): ReturnType<typeof ContainerEvent> {
  return ContainerEvent(
    { id: rec.id, name: rec.name, image: rec.config.Image ?? rec.image, labels: rec.config.Labels ?? null },
    action,
    extra,
  );
}

function toRFC3339Nano(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000000Z");
}

function validateHostConfig(hc: HostConfig, hasNetworks: boolean): void {
  if (hc.Memory !== undefined && hc.Memory !== 0 && hc.Memory < 6 * 1024 * 1024) {
    throw new InvalidArgument("Minimum memory limit allowed is 6MB");
  }
  if (hc.NanoCpus !== undefined && hc.NanoCpus < 0) {
    throw new InvalidArgument(
      `Range of CPUs is from 0.01 to ${navigatorCpus()}.00, as there are only ${navigatorCpus()} CPUs available`,
    );
  }
  if (hc.NanoCpus && hc.NanoCpus > navigatorCpus() * 1e9) {
    throw new InvalidArgument(
      `Range of CPUs is from 0.01 to ${navigatorCpus()}.00, as there are only ${navigatorCpus()} CPUs available`,
    );
  }
  if (hc.NanoCpus && (hc.CpuQuota || hc.CpuPeriod)) {
    throw new InvalidArgument("Conflicting options: Nano CPUs and CPU Period cannot both be set");
  }
  const rp = hc.RestartPolicy?.Name ?? "";
  if (!["", "no", "always", "unless-stopped", "on-failure"].includes(rp)) {
    throw new InvalidArgument(`invalid restart policy '${rp}'`);
  }
  if (rp && rp !== "no" && hc.AutoRemove) {
    throw new InvalidArgument("can't create 'AutoRemove' container with restart policy");
  }
  const nm = hc.NetworkMode ?? "default";
  if (!hasNetworks && !["", "default", "bridge", "none", "host"].includes(nm)) {
    throw new NotFound(`network ${nm} not found`);
  }
}

/** The CPU count docker compares `--cpus` against. */
function navigatorCpus(): number {
  return Math.max(1, availableParallelism());
}

/** normaliseHostConfig fills the defaults docker shows in inspect. */
function normaliseHostConfig(hc: HostConfig): void {
  hc.NetworkMode = !hc.NetworkMode || hc.NetworkMode === "default" ? "default" : hc.NetworkMode;
  hc.RestartPolicy = {
    Name: hc.RestartPolicy?.Name || "no",
    MaximumRetryCount: hc.RestartPolicy?.MaximumRetryCount ?? 0,
  };
  hc.LogConfig = { Type: "k8s-file", Config: hc.LogConfig?.Config ?? {} };
  hc.ShmSize = hc.ShmSize && hc.ShmSize > 0 ? hc.ShmSize : 64 * 1024 * 1024;
  hc.Runtime = hc.Runtime || "runc";
  if (hc.MemorySwap === undefined || hc.MemorySwap === 0) {
    if (hc.Memory && hc.Memory > 0) hc.MemorySwap = hc.Memory * 2;
  }
  if (hc.PidsLimit === 0) hc.PidsLimit = null;
}
