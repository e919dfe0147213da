/**
 * Compose: brings a loaded {@link Project} onto a Docker Engine API endpoint through
 * @berth/client and manages it there (`up`, `down`, `ps`, `logs`, `start`, `stop`, `restart`,
 * `rm`, `build`, `pull`, `push`, one-off `run` containers). Everything it creates carries
 * docker compose's labels, so the state lives in the engine: a second `up` compares each
 * container's `com.docker.compose.config-hash` with the service's and recreates only what
 * changed.
 *
 * @since 0.1.0
 */
import { availableParallelism } from "node:os";
import type { ContainerSummary } from "@berth/api";
import type { Client, OutputChunk } from "@berth/client";
import { FailedPrecondition, InvalidArgument, isKind, NotFound } from "@berth/errdefs";
import { configHash } from "./configHash.ts";
import { containerName, containerSpec, endpointFor, serviceImage, serviceNetworks } from "./containerSpec.ts";
import { dependencyOrder } from "./dependencyOrder.ts";
import {
  buildImage,
  connectNetwork,
  createNetwork,
  createVolume,
  inspectNetwork,
  inspectVolume,
  listNetworks,
  pullImage,
  pushImage,
  removeNetwork,
  removeVolume,
} from "./EngineObjects.ts";
import { COMPOSE_VERSION, Label } from "./labels.ts";
import type { Project, ServiceConfig } from "./Project.ts";
import { StartQueue } from "./StartQueue.ts";

/** ProgressEvent is one line of compose's progress output (`Container p-web-1  Started`). */
export interface ProgressEvent {
  readonly resource: "Container" | "Network" | "Volume" | "Image" | "Service";
  readonly name: string;
  readonly status: string;
  readonly error?: boolean;
}

/** BuildContextFn packs a build context directory into the tar `POST /build` takes. */
export type BuildContextFn = (
  contextDir: string,
  dockerfile: string,
) => Promise<NodeJS.ReadableStream | AsyncIterable<Uint8Array>>;

/** ComposeOptions wires an executor. */
export interface ComposeOptions {
  readonly client: Client;
  readonly project: Project;
  /** Needed for services with `build:` (the CLI passes its .dockerignore-aware packer). */
  readonly buildContext?: BuildContextFn;
  readonly onProgress?: (e: ProgressEvent) => void;
  /** Poll interval for health and state waits (default 250 ms). */
  readonly pollMs?: number;
  /** Receives warnings (orphan containers). */
  readonly onWarning?: (message: string) => void;
  /**
   * Container starts in flight at once (default: this machine's CPU count, at least 2); waiting
   * starts of services with a healthcheck go first (see {@link StartQueue}).
   */
  readonly startConcurrency?: number;
}

/** UpOptions are `compose up`'s flags. */
export interface UpOptions {
  /** Services to bring up (default all), with their dependencies unless noDeps. */
  readonly services?: readonly string[];
  readonly build?: boolean;
  readonly noBuild?: boolean;
  readonly scale?: Readonly<Record<string, number>>;
  readonly wait?: boolean;
  readonly waitTimeoutMs?: number;
  readonly forceRecreate?: boolean;
  readonly noRecreate?: boolean;
  readonly noDeps?: boolean;
  readonly removeOrphans?: boolean;
  readonly noStart?: boolean;
  readonly pull?: "always" | "missing" | "never";
}

/** UpReport says what `up` did per container. */
export interface UpReport {
  readonly created: string[];
  readonly recreated: string[];
  readonly started: string[];
  readonly unchanged: string[];
  readonly removed: string[];
}

/** DownOptions are `compose down`'s flags. */
export interface DownOptions {
  readonly volumes?: boolean;
  readonly rmi?: "all" | "local";
  readonly removeOrphans?: boolean;
  readonly timeout?: number;
}

/** ComposeContainer is one container of the project as `ps` shows it. */
export interface ComposeContainer {
  readonly id: string;
  readonly name: string;
  readonly service: string;
  readonly number: number;
  readonly oneoff: boolean;
  readonly summary: ContainerSummary;
}

/** LogLine is one line of `compose logs`. */
export interface LogLine {
  readonly container: string;
  readonly service: string;
  readonly stream: "stdout" | "stderr";
  readonly line: string;
}

/** ProjectSummary is one row of `compose ls`. */
export interface ProjectSummary {
  readonly name: string;
  readonly status: string;
  readonly configFiles: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Compose is the executor; see the module comment. */
export class Compose {
  readonly client: Client;
  readonly project: Project;
  private readonly buildContext: BuildContextFn | undefined;
  private readonly emit: (e: ProgressEvent) => void;
  private readonly pollMs: number;
  private readonly warn: (message: string) => void;
  private readonly starts: StartQueue;

  constructor(o: ComposeOptions) {
    this.client = o.client;
    this.project = o.project;
    this.buildContext = o.buildContext;
    this.emit = o.onProgress ?? (() => {});
    this.pollMs = o.pollMs ?? 250;
    this.warn = o.onWarning ?? (() => {});
    this.starts = new StartQueue(o.startConcurrency ?? Math.max(2, availableParallelism()));
  }

  private service(name: string): ServiceConfig {
    const s = this.project.services[name];
    if (!s) {
      if (this.project.disabledServices[name]) {
        throw new InvalidArgument(`service ${JSON.stringify(name)} is disabled by its profiles`);
      }
      throw new NotFound(`no such service: ${name}`);
    }
    return s;
  }

  /** containers lists the project's containers (all states), optionally of some services. */
  async containers(
    o: { services?: readonly string[]; oneoff?: boolean; all?: boolean } = {},
  ): Promise<ComposeContainer[]> {
    const labels = [`${Label.project}=${this.project.name}`];
    if (o.oneoff !== undefined) labels.push(`${Label.oneoff}=${o.oneoff ? "True" : "False"}`);
    const list = await this.client.containerList({ all: o.all ?? true, filters: { label: labels } });
    const wanted = o.services && o.services.length > 0 ? new Set(o.services) : undefined;
    return list
      .map((c) => ({
        id: c.Id ?? "",
        name: (c.Names?.[0] ?? "").replace(/^\//, ""),
        service: c.Labels?.[Label.service] ?? "",
        number: Number(c.Labels?.[Label.number] ?? 0),
        oneoff: c.Labels?.[Label.oneoff] === "True",
        summary: c,
      }))
      .filter((c) => !wanted || wanted.has(c.service))
      .sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : a.number - b.number));
  }

  // ---------- networks and volumes ----------

  private async ensureNetworks(keys: Iterable<string>): Promise<void> {
    for (const key of keys) {
      const n = this.project.networks[key];
      if (!n) continue;
      const found = await inspectNetwork(this.client, n.name).catch((err) => {
        if (isKind(err, "NotImplemented")) return undefined;
        throw err;
      });
      if (found) continue;
      if (n.external) {
        throw new NotFound(`network ${n.name} declared as external, but could not be found`);
      }
      this.emit({ resource: "Network", name: n.name, status: "Creating" });
      const labels: Record<string, string> = {
        ...(n.labels ?? {}),
        [Label.network]: key,
        [Label.project]: this.project.name,
        [Label.version]: COMPOSE_VERSION,
      };
      const ipam = n.ipam as Record<string, unknown> | undefined;
      try {
        await createNetwork(this.client, {
          Name: n.name,
          CheckDuplicate: true,
          Driver: n.driver ?? "bridge",
          Labels: labels,
          ...(n.internal ? { Internal: true } : {}),
          ...(n.attachable ? { Attachable: true } : {}),
          ...(n.enable_ipv6 ? { EnableIPv6: true } : {}),
          ...(n.driver_opts ? { Options: n.driver_opts } : {}),
          ...(ipam
            ? {
                IPAM: {
                  Driver: ipam.driver ?? "default",
                  Config: ((ipam.config as Array<Record<string, unknown>> | undefined) ?? []).map((c) => ({
                    ...(c.subnet ? { Subnet: c.subnet } : {}),
                    ...(c.gateway ? { Gateway: c.gateway } : {}),
                    ...(c.ip_range ? { IPRange: c.ip_range } : {}),
                  })),
                },
              }
            : {}),
        });
      } catch (err) {
        if (!isKind(err, "Conflict") && !isKind(err, "AlreadyExists")) throw err;
      }
      this.emit({ resource: "Network", name: n.name, status: "Created" });
    }
  }

  private async ensureVolumes(keys: Iterable<string>): Promise<void> {
    for (const key of keys) {
      const v = this.project.volumes[key];
      if (!v) continue;
      if (await inspectVolume(this.client, v.name)) continue;
      if (v.external) throw new NotFound(`external volume "${v.name}" not found`);
      this.emit({ resource: "Volume", name: v.name, status: "Creating" });
      await createVolume(this.client, {
        Name: v.name,
        Driver: v.driver ?? "local",
        DriverOpts: v.driver_opts ?? {},
        Labels: {
          ...(v.labels ?? {}),
          [Label.volume]: key,
          [Label.project]: this.project.name,
          [Label.version]: COMPOSE_VERSION,
        },
      });
      this.emit({ resource: "Volume", name: v.name, status: "Created" });
    }
  }

  // ---------- images ----------

  private async imageId(ref: string): Promise<string | undefined> {
    try {
      return (await this.client.imageInspect(ref)).Id;
    } catch (err) {
      if (isKind(err, "NotFound")) return undefined;
      throw err;
    }
  }

  /** build builds the services that have `build:` (default all of them). */
  async build(services?: readonly string[], o: { noCache?: boolean; pull?: boolean } = {}): Promise<void> {
    const names = services && services.length > 0 ? services : Object.keys(this.project.services);
    for (const name of names) {
      const svc = this.service(name);
      if (svc.build) await this.buildService(svc, o);
    }
  }

  private async buildService(
    svc: ServiceConfig,
    o: { noCache?: boolean; pull?: boolean } = {},
  ): Promise<void> {
    const b = svc.build;
    if (!b) return;
    if (!this.buildContext) {
      throw new FailedPrecondition(
        `service ${JSON.stringify(svc.name)} needs a build but no build context packer was given`,
      );
    }
    const tag = serviceImage(this.project, svc);
    this.emit({ resource: "Service", name: svc.name, status: "Building" });
    const dockerfile = b.dockerfile ?? "Dockerfile";
    const args: Record<string, string> = {};
    for (const [k, v] of Object.entries(b.args ?? {})) {
      const value = v ?? this.project.environment[k];
      if (value !== undefined) args[k] = value;
    }
    await buildImage(this.client, {
      context: await this.buildContext(b.context, dockerfile),
      tag,
      dockerfile,
      buildArgs: args,
      labels: { ...(b.labels ?? {}), [Label.project]: this.project.name, [Label.service]: svc.name },
      ...(b.target ? { target: b.target } : {}),
      ...(o.noCache ? { noCache: true } : {}),
      ...(o.pull ? { pull: true } : {}),
    });
    this.emit({ resource: "Service", name: svc.name, status: "Built" });
  }

  /** pull pulls the images of services that name one (default all). */
  async pull(services?: readonly string[], o: { ignoreBuildable?: boolean } = {}): Promise<void> {
    const names = services && services.length > 0 ? services : Object.keys(this.project.services);
    await Promise.all(
      names.map(async (name) => {
        const svc = this.service(name);
        if (!svc.image || (o.ignoreBuildable && svc.build)) return;
        this.emit({ resource: "Image", name: svc.image, status: "Pulling" });
        await pullImage(this.client, svc.image);
        this.emit({ resource: "Image", name: svc.image, status: "Pulled" });
      }),
    );
  }

  /** push pushes the images of services that have both `build:` and `image:`. */
  async push(services?: readonly string[]): Promise<void> {
    const names = services && services.length > 0 ? services : Object.keys(this.project.services);
    for (const name of names) {
      const svc = this.service(name);
      if (!svc.image || !svc.build) continue;
      this.emit({ resource: "Image", name: svc.image, status: "Pushing" });
      await pushImage(this.client, svc.image);
      this.emit({ resource: "Image", name: svc.image, status: "Pushed" });
    }
  }

  private async ensureImage(svc: ServiceConfig, o: UpOptions): Promise<string | undefined> {
    const ref = serviceImage(this.project, svc);
    if (svc.build && o.build && !o.noBuild) {
      await this.buildService(svc);
      return this.imageId(ref);
    }
    const policy = o.pull ?? (svc.pull_policy as string | undefined) ?? "missing";
    let id = policy === "always" ? undefined : await this.imageId(ref);
    if (id === undefined) {
      if (svc.build && !o.noBuild) await this.buildService(svc);
      else if (policy !== "never") {
        this.emit({ resource: "Image", name: ref, status: "Pulling" });
        await pullImage(this.client, ref);
        this.emit({ resource: "Image", name: ref, status: "Pulled" });
      }
      id = await this.imageId(ref);
    }
    if (id === undefined) throw new NotFound(`no such image: ${ref}`);
    return id;
  }

  // ---------- up ----------

  /** up converges the project: networks, volumes, then services in dependency order. */
  async up(o: UpOptions = {}): Promise<UpReport> {
    const report: UpReport = { created: [], recreated: [], started: [], unchanged: [], removed: [] };
    for (const [name, n] of Object.entries(o.scale ?? {})) {
      this.service(name);
      if (!Number.isInteger(n) || n < 0) throw new InvalidArgument(`invalid scale ${n} for service ${name}`);
    }
    const targets =
      o.services && o.services.length > 0
        ? o.noDeps
          ? [...o.services]
          : dependencyOrder(this.project, o.services)
        : dependencyOrder(this.project);
    for (const t of targets) this.service(t);
    const nets = new Set<string>();
    const vols = new Set<string>();
    for (const t of targets) {
      const s = this.service(t);
      for (const n of serviceNetworks(s)) if (typeof s.network_mode !== "string") nets.add(n);
      for (const v of s.volumes ?? []) if (v.type === "volume" && v.source) vols.add(v.source);
    }
    // Images are resolved (built, pulled) for every service up front, as docker compose does,
    // concurrently with the networks and volumes; one inspect per distinct image.
    const byRef = new Map<string, Promise<string | undefined>>();
    const images = new Map<string, Promise<string | undefined>>();
    for (const t of targets) {
      const s = this.service(t);
      const ref = serviceImage(this.project, s);
      let p = s.build ? undefined : byRef.get(ref);
      if (!p) {
        p = this.ensureImage(s, o);
        if (!s.build) byRef.set(ref, p);
      }
      p.catch(() => {});
      images.set(t, p);
    }
    const [, , existing] = await Promise.all([
      this.ensureNetworks(nets),
      this.ensureVolumes(vols),
      this.containers({ oneoff: false }),
      ...images.values(),
    ]);
    const known = new Set([
      ...Object.keys(this.project.services),
      ...Object.keys(this.project.disabledServices),
    ]);
    const orphans = existing.filter((c) => !known.has(c.service));
    if (o.removeOrphans) {
      for (const c of orphans) {
        await this.removeContainer(c, true);
        report.removed.push(c.name);
      }
    } else if (orphans.length > 0) {
      this.warn(
        `Found orphan containers ([${orphans.map((c) => c.name).join(" ")}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.`,
      );
    }
    const tasks = new Map<string, Promise<void>>();
    const targetSet = new Set(targets);
    const run = (name: string): Promise<void> => {
      let t = tasks.get(name);
      if (t) return t;
      t = (async () => {
        const svc = this.service(name);
        const deps = Object.entries(svc.depends_on ?? {}).filter(
          ([d]) => targetSet.has(d) || this.project.services[d],
        );
        await Promise.all(deps.filter(([d]) => targetSet.has(d)).map(([d]) => run(d)));
        if (!o.noStart) {
          for (const [d, dep] of deps) {
            if (!this.project.services[d]) continue;
            await this.waitCondition(d, dep.condition, dep.required);
          }
        }
        await this.convergeService(
          svc,
          o,
          report,
          await images.get(name),
          existing.filter((c) => c.service === name),
        );
      })();
      tasks.set(name, t);
      return t;
    };
    await Promise.all(targets.map(run));
    if (o.wait) await this.waitHealthy(targets, o.waitTimeoutMs);
    return report;
  }

  private async convergeService(
    svc: ServiceConfig,
    o: UpOptions,
    report: UpReport,
    imageId: string | undefined,
    current: readonly ComposeContainer[],
  ): Promise<void> {
    const hash = configHash(svc);
    const want = o.scale?.[svc.name] ?? svc.scale ?? 1;
    if (svc.container_name && want > 1) {
      throw new InvalidArgument(`service ${svc.name} has a container_name and cannot be scaled to ${want}`);
    }
    const existing = [...current].sort((a, b) => a.number - b.number);
    const keep = existing.slice(0, want);
    const extra = existing.slice(want);
    await Promise.all(
      extra.map(async (c) => {
        await this.removeContainer(c, true);
        report.removed.push(c.name);
      }),
    );
    const work: Array<Promise<void>> = [];
    const used = new Set(keep.map((c) => c.number));
    for (const c of keep) {
      const outdated =
        c.summary.Labels?.[Label.configHash] !== hash ||
        (imageId !== undefined && c.summary.ImageID !== undefined && c.summary.ImageID !== imageId);
      if (o.forceRecreate || (outdated && !o.noRecreate)) {
        work.push(
          (async () => {
            this.emit({ resource: "Container", name: c.name, status: "Recreate" });
            await this.removeContainer(c, true, false);
            await this.createContainer(svc, c.number, hash, imageId, !o.noStart);
            this.emit({ resource: "Container", name: c.name, status: "Recreated" });
            report.recreated.push(c.name);
          })(),
        );
      } else if (c.summary.State !== "running" && !o.noStart) {
        work.push(
          (async () => {
            await this.startContainer(svc, c.name, c.id);
            report.started.push(c.name);
          })(),
        );
      } else {
        this.emit({ resource: "Container", name: c.name, status: "Running" });
        report.unchanged.push(c.name);
      }
    }
    let next = 1;
    for (let i = keep.length; i < want; i++) {
      while (used.has(next)) next++;
      used.add(next);
      const n = next;
      work.push(
        (async () => {
          const name = await this.createContainer(svc, n, hash, imageId, !o.noStart);
          report.created.push(name);
        })(),
      );
    }
    await Promise.all(work);
  }

  private async createContainer(
    svc: ServiceConfig,
    n: number,
    hash: string,
    imageId: string | undefined,
    start: boolean,
  ): Promise<string> {
    const name = containerName(this.project, svc, n);
    this.emit({ resource: "Container", name, status: "Creating" });
    const body = containerSpec(this.project, svc, {
      number: n,
      configHash: hash,
      ...(imageId ? { imageId } : {}),
    });
    const { Id } = await this.client.containerCreate(body, { name });
    // API < 1.44 takes one endpoint at create; the others are connected afterwards.
    if (typeof svc.network_mode !== "string") {
      for (const key of serviceNetworks(svc).slice(1)) {
        await connectNetwork(this.client, this.project.networks[key]?.name ?? key, Id, {
          ...endpointFor(svc, key),
        });
      }
    }
    this.emit({ resource: "Container", name, status: "Created" });
    if (start) await this.startContainer(svc, name, Id);
    return name;
  }

  /** startContainer starts one container through the project's {@link StartQueue}. */
  private async startContainer(svc: ServiceConfig, name: string, id: string): Promise<void> {
    const hc = svc.healthcheck;
    const checked = hc !== undefined && !hc.disable && hc.test?.[0] !== "NONE";
    await this.starts.run(checked ? 0 : 1, async () => {
      this.emit({ resource: "Container", name, status: "Starting" });
      await this.client.containerStart(id);
      this.emit({ resource: "Container", name, status: "Started" });
    });
  }

  private async removeContainer(
    c: ComposeContainer,
    stop: boolean,
    events = true,
    timeout?: number,
  ): Promise<void> {
    if (
      stop &&
      (c.summary.State === "running" || c.summary.State === "restarting" || c.summary.State === "paused")
    ) {
      if (events) this.emit({ resource: "Container", name: c.name, status: "Stopping" });
      try {
        await this.client.containerStop(c.id, timeout === undefined ? {} : { t: timeout });
      } catch (err) {
        if (!isKind(err, "NotFound")) throw err;
      }
      if (events) this.emit({ resource: "Container", name: c.name, status: "Stopped" });
    }
    if (events) this.emit({ resource: "Container", name: c.name, status: "Removing" });
    try {
      await this.client.containerRemove(c.id, { force: true });
    } catch (err) {
      if (!isKind(err, "NotFound")) throw err;
    }
    if (events) this.emit({ resource: "Container", name: c.name, status: "Removed" });
  }

  /** waitCondition blocks until a dependency meets its depends_on condition. */
  private async waitCondition(service: string, condition: string, required: boolean): Promise<void> {
    const cs = await this.containers({ services: [service], oneoff: false });
    if (cs.length === 0) {
      if (required) throw new FailedPrecondition(`dependency ${service} has no container`);
      return;
    }
    for (const c of cs) {
      if (condition === "service_healthy") {
        this.emit({ resource: "Container", name: c.name, status: "Waiting" });
        for (;;) {
          const info = await this.client.containerInspect(c.id);
          const health = info.State?.Health?.Status;
          if (health === undefined || health === "none") {
            throw new FailedPrecondition(
              `dependency failed to start: container ${c.name} has no healthcheck configured`,
            );
          }
          if (health === "healthy") break;
          if (health === "unhealthy")
            throw new FailedPrecondition(`dependency failed to start: container ${c.name} is unhealthy`);
          if (info.State?.Running === false && info.State?.Restarting !== true) {
            throw new FailedPrecondition(
              `dependency failed to start: container ${c.name} exited (${info.State?.ExitCode ?? 0})`,
            );
          }
          await sleep(this.pollMs);
        }
        this.emit({ resource: "Container", name: c.name, status: "Healthy" });
      } else if (condition === "service_completed_successfully") {
        this.emit({ resource: "Container", name: c.name, status: "Waiting" });
        const { StatusCode } = await this.client.containerWait(c.id, { condition: "not-running" });
        if (StatusCode !== 0) {
          throw new FailedPrecondition(
            `service ${JSON.stringify(service)} didn't complete successfully: exit ${StatusCode}`,
          );
        }
        this.emit({ resource: "Container", name: c.name, status: "Exited" });
      }
    }
  }

  /** waitHealthy implements `up --wait`: every container running, and healthy when it has a check. */
  async waitHealthy(services?: readonly string[], timeoutMs?: number): Promise<void> {
    const deadline = timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeoutMs;
    const cs = await this.containers({
      services: services ?? Object.keys(this.project.services),
      oneoff: false,
    });
    await Promise.all(
      cs.map(async (c) => {
        this.emit({ resource: "Container", name: c.name, status: "Waiting" });
        for (;;) {
          const info = await this.client.containerInspect(c.id);
          const st = info.State;
          const health = st?.Health?.Status;
          if (st?.Running && (health === undefined || health === "none" || health === "healthy")) break;
          if (health === "unhealthy") throw new FailedPrecondition(`container ${c.name} is unhealthy`);
          if (st && !st.Running && !st.Restarting && st.Status !== "created") {
            if (st.ExitCode === 0 && this.exitedOk(c.service)) break;
            throw new FailedPrecondition(`container ${c.name} exited (${st.ExitCode ?? 0})`);
          }
          if (Date.now() > deadline)
            throw new FailedPrecondition(`timeout waiting for ${c.name} to be healthy`);
          await sleep(this.pollMs);
        }
        this.emit({ resource: "Container", name: c.name, status: "Healthy" });
      }),
    );
  }

  private exitedOk(service: string): boolean {
    return Object.values(this.project.services).some(
      (s) => s.depends_on?.[service]?.condition === "service_completed_successfully",
    );
  }

  // ---------- lifecycle ----------

  /** start starts the existing containers of some services (default all), in dependency order. */
  async start(services?: readonly string[]): Promise<void> {
    const order = dependencyOrder(this.project, services && services.length > 0 ? services : undefined);
    const cs = await this.containers({ oneoff: false });
    for (const s of order) {
      await Promise.all(
        cs
          .filter((c) => c.service === s && c.summary.State !== "running")
          .map(async (c) => {
            this.emit({ resource: "Container", name: c.name, status: "Starting" });
            await this.client.containerStart(c.id);
            this.emit({ resource: "Container", name: c.name, status: "Started" });
          }),
      );
    }
  }

  /** stop stops running containers in reverse dependency order (independent services concurrently). */
  async stop(services?: readonly string[], o: { timeout?: number } = {}): Promise<void> {
    const cs = (await this.containers({ services: services ?? [], oneoff: false })).filter(
      (c) => c.summary.State === "running" || c.summary.State === "restarting",
    );
    await this.inReverseOrder(cs, async (c) => {
      this.emit({ resource: "Container", name: c.name, status: "Stopping" });
      await this.client.containerStop(c.id, o.timeout === undefined ? {} : { t: o.timeout });
      this.emit({ resource: "Container", name: c.name, status: "Stopped" });
    });
  }

  /** restart restarts containers of some services (default all). */
  async restart(services?: readonly string[], o: { timeout?: number } = {}): Promise<void> {
    const cs = await this.containers({ services: services ?? [], oneoff: false });
    await Promise.all(
      cs.map(async (c) => {
        this.emit({ resource: "Container", name: c.name, status: "Restarting" });
        await this.client.containerRestart(c.id, o.timeout === undefined ? {} : { t: o.timeout });
        this.emit({ resource: "Container", name: c.name, status: "Started" });
      }),
    );
  }

  /** kill sends a signal (default SIGKILL) to the running containers of some services (default all). */
  async kill(services?: readonly string[], o: { signal?: string } = {}): Promise<void> {
    const cs = (await this.containers({ services: services ?? [], oneoff: false })).filter(
      (c) => c.summary.State === "running",
    );
    await Promise.all(
      cs.map(async (c) => {
        this.emit({ resource: "Container", name: c.name, status: "Killing" });
        await this.client.containerKill(c.id, o.signal === undefined ? {} : { signal: o.signal });
        this.emit({ resource: "Container", name: c.name, status: "Killed" });
      }),
    );
  }

  /** pause pauses (or with `resume` unpauses) the containers of some services (default all). */
  async pause(services?: readonly string[], resume = false): Promise<void> {
    const cs = (await this.containers({ services: services ?? [], oneoff: false })).filter(
      (c) => c.summary.State === (resume ? "paused" : "running"),
    );
    await Promise.all(
      cs.map(async (c) => {
        await this.client.request(
          "POST",
          `/containers/${encodeURIComponent(c.id)}/${resume ? "unpause" : "pause"}`,
        );
        this.emit({ resource: "Container", name: c.name, status: resume ? "Unpaused" : "Paused" });
      }),
    );
  }

  /**
   * port returns the published `host:port` of a service container's private port
   * (`compose port web 80`), or undefined when it is not published.
   */
  async port(
    service: string,
    privatePort: string,
    o: { index?: number; protocol?: string } = {},
  ): Promise<string | undefined> {
    const c = (await this.containers({ services: [service], oneoff: false })).find(
      (x) => x.number === (o.index ?? 1),
    );
    if (!c) throw new NotFound(`service "${service}" is not running`);
    const info = await this.client.containerInspect(c.id);
    const key = `${privatePort}/${o.protocol ?? "tcp"}`;
    const b = info.NetworkSettings?.Ports?.[key]?.[0];
    return b ? `${b.HostIp || "0.0.0.0"}:${b.HostPort}` : undefined;
  }

  /** rm removes stopped containers (with `force`, running ones too, after stopping them). */
  async rm(services?: readonly string[], o: { force?: boolean; volumes?: boolean } = {}): Promise<string[]> {
    const cs = await this.containers({ services: services ?? [], oneoff: false });
    const victims = cs.filter((c) => o.force || c.summary.State !== "running");
    await Promise.all(
      victims.map(async (c) => {
        this.emit({ resource: "Container", name: c.name, status: "Removing" });
        await this.client.containerRemove(c.id, { force: o.force === true, v: o.volumes === true });
        this.emit({ resource: "Container", name: c.name, status: "Removed" });
      }),
    );
    return victims.map((c) => c.name);
  }

  /**
   * inReverseOrder runs `fn` on every container, a service's containers only after those of
   * every service that depends on it (as compose stops: dependants first), all else concurrently.
   */
  private async inReverseOrder(
    cs: readonly ComposeContainer[],
    fn: (c: ComposeContainer) => Promise<void>,
  ): Promise<void> {
    const services = [...new Set(cs.map((c) => c.service))];
    const dependants = new Map<string, string[]>();
    for (const s of services) {
      for (const dep of Object.keys(this.project.services[s]?.depends_on ?? {})) {
        dependants.set(dep, [...(dependants.get(dep) ?? []), s]);
      }
    }
    const tasks = new Map<string, Promise<void>>();
    const run = (s: string, stack: readonly string[]): Promise<void> => {
      let t = tasks.get(s);
      if (t) return t;
      const after = (dependants.get(s) ?? []).filter((x) => !stack.includes(x));
      t = (async () => {
        await Promise.all(after.map((x) => run(x, [...stack, s])));
        await Promise.all(cs.filter((c) => c.service === s).map(fn));
      })();
      tasks.set(s, t);
      return t;
    };
    await Promise.all(services.map((s) => run(s, [])));
  }

  /** down removes the project's containers and networks (and with options volumes and images). */
  async down(o: DownOptions = {}): Promise<void> {
    const known = new Set([
      ...Object.keys(this.project.services),
      ...Object.keys(this.project.disabledServices),
    ]);
    const all = await this.containers();
    const cs = all.filter((c) => o.removeOrphans || known.size === 0 || known.has(c.service) || c.oneoff);
    await this.inReverseOrder(cs, (c) => this.removeContainer(c, true, true, o.timeout));
    const netNames = new Set<string>();
    for (const n of Object.values(this.project.networks)) if (!n.external) netNames.add(n.name);
    try {
      for (const n of await listNetworks(this.client, [`${Label.project}=${this.project.name}`])) {
        if (typeof n.Name === "string") netNames.add(n.Name);
      }
    } catch (err) {
      if (!isKind(err, "NotFound") && !isKind(err, "NotImplemented")) throw err;
    }
    for (const name of netNames) {
      this.emit({ resource: "Network", name, status: "Removing" });
      try {
        if (await removeNetwork(this.client, name))
          this.emit({ resource: "Network", name, status: "Removed" });
      } catch (err) {
        // Still used (orphans, or containers of other projects): docker compose warns and goes on.
        if (isKind(err, "Conflict") || isKind(err, "FailedPrecondition") || isKind(err, "Forbidden")) {
          this.emit({ resource: "Network", name, status: "Resource is still in use", error: true });
          continue;
        }
        if (!isKind(err, "NotImplemented")) throw err;
      }
    }
    if (o.volumes) {
      for (const v of Object.values(this.project.volumes)) {
        if (v.external) continue;
        this.emit({ resource: "Volume", name: v.name, status: "Removing" });
        try {
          if (await removeVolume(this.client, v.name))
            this.emit({ resource: "Volume", name: v.name, status: "Removed" });
        } catch (err) {
          if (!isKind(err, "Conflict") && !isKind(err, "FailedPrecondition")) throw err;
          this.emit({ resource: "Volume", name: v.name, status: "Resource is still in use", error: true });
        }
      }
    }
    if (o.rmi) {
      for (const svc of Object.values(this.project.services)) {
        if (o.rmi === "local" && svc.image) continue;
        const ref = serviceImage(this.project, svc);
        try {
          await this.client.imageRemove(ref);
          this.emit({ resource: "Image", name: ref, status: "Removed" });
        } catch (err) {
          if (!isKind(err, "NotFound") && !isKind(err, "Conflict")) throw err;
        }
      }
    }
  }

  // ---------- logs, run ----------

  /**
   * logs streams the project's container logs line by line, interleaved as they arrive.
   * With `follow` it ends when `signal` aborts or every stream has ended.
   */
  async *logs(o: {
    services?: readonly string[];
    follow?: boolean;
    tail?: string;
    timestamps?: boolean;
    signal?: AbortSignal;
    /** Called when a container's stream ends (with follow: the container stopped). */
    onEnd?: (c: ComposeContainer) => void;
  }): AsyncGenerator<LogLine, void, undefined> {
    const cs = (await this.containers({ services: o.services ?? [], oneoff: false })).filter(
      (c) => c.id !== "",
    );
    const queue: LogLine[] = [];
    let wake: (() => void) | undefined;
    let pending = cs.length;
    let failure: unknown;
    const push = (l: LogLine) => {
      queue.push(l);
      wake?.();
    };
    for (const c of cs) {
      void (async () => {
        const buf: Record<string, string> = { stdout: "", stderr: "" };
        try {
          const tty = (await this.client.containerInspect(c.id)).Config?.Tty === true;
          const iter: AsyncIterable<OutputChunk> = this.client.containerLogs(c.id, {
            stdout: true,
            stderr: true,
            tail: o.tail ?? "all",
            tty,
            ...(o.follow ? { follow: true } : {}),
            ...(o.timestamps ? { timestamps: true } : {}),
            ...(o.signal ? { signal: o.signal } : {}),
          });
          for await (const chunk of iter) {
            const text = (buf[chunk.stream] ?? "") + chunk.data.toString("utf8");
            const lines = text.split("\n");
            buf[chunk.stream] = lines.pop() ?? "";
            for (const line of lines)
              push({ container: c.name, service: c.service, stream: chunk.stream, line });
          }
          for (const [stream, rest] of Object.entries(buf)) {
            if (rest !== "")
              push({ container: c.name, service: c.service, stream: stream as "stdout", line: rest });
          }
        } catch (err) {
          if (!o.signal?.aborted) failure = err;
        } finally {
          pending--;
          if (!o.signal?.aborted) o.onEnd?.(c);
          wake?.();
        }
      })();
    }
    while (pending > 0 || queue.length > 0) {
      if (queue.length === 0) {
        await new Promise<void>((r) => {
          wake = r;
        });
        wake = undefined;
        continue;
      }
      yield queue.shift() as LogLine;
    }
    if (failure) throw failure;
  }

  /**
   * createOneOff creates (but does not start) a one-off container for `compose run`:
   * `<project>-<service>-run-<id>`, labelled oneoff, with the command replaced when given.
   */
  async createOneOff(
    service: string,
    o: {
      command?: string[];
      entrypoint?: string[];
      env?: Record<string, string>;
      name?: string;
      tty?: boolean;
      interactive?: boolean;
      servicePorts?: boolean;
      user?: string;
      workdir?: string;
      noDeps?: boolean;
      rm?: boolean;
    } = {},
  ): Promise<{ id: string; name: string }> {
    const svc = { ...this.service(service) };
    if (!o.noDeps) {
      const deps = dependencyOrder(this.project, Object.keys(svc.depends_on ?? {}));
      if (deps.length > 0) await this.up({ services: deps });
    } else {
      await this.ensureNetworks(serviceNetworks(svc));
    }
    const vols = (svc.volumes ?? [])
      .filter((v) => v.type === "volume" && v.source)
      .map((v) => v.source as string);
    await this.ensureVolumes(vols);
    const imageId = await this.ensureImage(svc, {});
    if (o.command) svc.command = o.command;
    if (o.entrypoint) svc.entrypoint = o.entrypoint;
    if (o.env) svc.environment = { ...(svc.environment ?? {}), ...o.env };
    if (o.user) svc.user = o.user;
    if (o.workdir) svc.working_dir = o.workdir;
    if (!o.servicePorts) delete svc.ports;
    delete svc.container_name;
    if (o.tty !== undefined) svc.tty = o.tty;
    if (o.interactive !== undefined) svc.stdin_open = o.interactive;
    const suffix = Math.random().toString(16).slice(2, 14).padEnd(12, "0");
    const name = o.name ?? `${this.project.name}-${service}-run-${suffix}`;
    const body = containerSpec(this.project, svc, {
      number: 1,
      configHash: configHash(svc),
      oneoff: true,
      ...(imageId ? { imageId } : {}),
    });
    if (o.interactive) {
      body.AttachStdin = true;
      body.StdinOnce = true;
    }
    body.AttachStdout = true;
    body.AttachStderr = true;
    if (o.rm) body.HostConfig = { ...(body.HostConfig ?? {}), AutoRemove: true };
    const { Id } = await this.client.containerCreate(body, { name });
    return { id: Id, name };
  }

  /** listProjects is `compose ls`: every project with containers on the endpoint. */
  static async listProjects(client: Client, o: { all?: boolean } = {}): Promise<ProjectSummary[]> {
    const list = await client.containerList({ all: true, filters: { label: [Label.project] } });
    const by = new Map<string, { states: Map<string, number>; files: string }>();
    for (const c of list) {
      const p = c.Labels?.[Label.project];
      if (!p) continue;
      const e = by.get(p) ?? { states: new Map(), files: c.Labels?.[Label.configFiles] ?? "" };
      const st = c.State ?? "unknown";
      e.states.set(st, (e.states.get(st) ?? 0) + 1);
      by.set(p, e);
    }
    const out: ProjectSummary[] = [];
    for (const [name, e] of [...by.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (!o.all && !e.states.has("running")) continue;
      const status = [...e.states.entries()]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([s, n]) => `${s}(${n})`)
        .join(", ");
      out.push({ name, status, configFiles: e.files });
    }
    return out;
  }
}
