/**
 * containerSpec: one service replica as an Engine API `POST /containers/create` body, with
 * docker compose's labels, ports, mounts, resources, healthcheck and the primary network's
 * endpoint (service name as alias).
 *
 * @since 0.1.0
 */
import type { ContainerCreateRequest, EndpointSettings, HostConfig } from "@berth/api";
import { NotImplemented } from "@berth/errdefs";
import { parseDuration } from "./duration.ts";
import { COMPOSE_VERSION, Label } from "./labels.ts";
import type { Project, ServiceConfig } from "./Project.ts";

type Raw = Record<string, unknown>;

/** ContainerSpecOptions says which replica is being made. */
export interface ContainerSpecOptions {
  readonly number: number;
  readonly configHash: string;
  readonly oneoff?: boolean;
  /** The image ID the container is created from (for com.docker.compose.image). */
  readonly imageId?: string;
}

/** serviceImage is the image a service runs: `image:`, else `<project>-<service>` (what build tags). */
export function serviceImage(project: Project, svc: ServiceConfig): string {
  return svc.image ?? `${project.name}-${svc.name}`;
}

/** containerName is `container_name:` or `<project>-<service>-<n>`. */
export function containerName(project: Project, svc: ServiceConfig, n: number): string {
  return svc.container_name ?? `${project.name}-${svc.name}-${n}`;
}

/** serviceNetworks lists the service's networks, primary (highest priority, then name) first. */
export function serviceNetworks(svc: ServiceConfig): string[] {
  const nets = svc.networks ?? {};
  return Object.keys(nets).sort((a, b) => {
    const pa = nets[a]?.priority ?? 0;
    const pb = nets[b]?.priority ?? 0;
    return pb - pa || (a < b ? -1 : a > b ? 1 : 0);
  });
}

/** endpointFor is the EndpointSettings of one service network. */
export function endpointFor(svc: ServiceConfig, key: string): EndpointSettings {
  const n = svc.networks?.[key] ?? null;
  const ep: EndpointSettings = { Aliases: [svc.name, ...(n?.aliases ?? [])] };
  if (n?.ipv4_address || n?.ipv6_address) {
    ep.IPAMConfig = {
      ...(n.ipv4_address ? { IPv4Address: n.ipv4_address } : {}),
      ...(n.ipv6_address ? { IPv6Address: n.ipv6_address } : {}),
    };
  }
  return ep;
}

function restartPolicy(svc: ServiceConfig): HostConfig["RestartPolicy"] | undefined {
  const rp = (svc.deploy as Raw | undefined)?.restart_policy as Raw | undefined;
  if (rp) {
    const cond = String(rp.condition ?? "any");
    if (cond === "none") return { Name: "no" };
    if (cond === "on-failure") {
      return {
        Name: "on-failure",
        ...(typeof rp.max_attempts === "number" ? { MaximumRetryCount: rp.max_attempts } : {}),
      };
    }
    return { Name: "always" };
  }
  if (!svc.restart) return undefined;
  const [name, max] = svc.restart.split(":");
  if (name === "on-failure") {
    return { Name: "on-failure", ...(max ? { MaximumRetryCount: Number(max) } : {}) };
  }
  return { Name: (name === "no" ? "no" : name) as "always" | "unless-stopped" | "no" };
}

/** containerSpec builds the create body of replica `o.number` of `svc`. */
export function containerSpec(
  project: Project,
  svc: ServiceConfig,
  o: ContainerSpecOptions,
): ContainerCreateRequest {
  const labels: Record<string, string> = {
    ...(svc.labels ?? {}),
    [Label.project]: project.name,
    [Label.service]: svc.name,
    [Label.number]: String(o.number),
    [Label.oneoff]: o.oneoff ? "True" : "False",
    [Label.configHash]: o.configHash,
    [Label.workingDir]: project.workingDir,
    [Label.configFiles]: project.configFiles.join(","),
    [Label.version]: COMPOSE_VERSION,
    [Label.dependsOn]: Object.entries(svc.depends_on ?? {})
      .map(([k, d]) => `${k}:${d.condition}:${d.restart === true}`)
      .join(","),
  };
  if (o.imageId) labels[Label.image] = o.imageId;
  const env = Object.entries(svc.environment ?? {})
    .filter((e): e is [string, string] => e[1] !== null)
    .map(([k, v]) => `${k}=${v}`);
  const exposed: Record<string, Record<string, never>> = {};
  const bindings: Record<string, Array<{ HostIp?: string; HostPort?: string }>> = {};
  for (const p of svc.ports ?? []) {
    const key = `${p.target}/${p.protocol}`;
    exposed[key] = {};
    const list = bindings[key] ?? [];
    list.push({ ...(p.host_ip ? { HostIp: p.host_ip } : {}), HostPort: p.published ?? "" });
    bindings[key] = list;
  }
  for (const e of svc.expose ?? []) exposed[e.includes("/") ? e : `${e}/tcp`] = {};
  const binds: string[] = [];
  const mounts: NonNullable<HostConfig["Mounts"]> = [];
  for (const v of svc.volumes ?? []) {
    if (v.type === "bind" && v.bind?.create_host_path !== false) {
      binds.push(`${v.source}:${v.target}${v.read_only ? ":ro" : ""}`);
    } else if (v.type === "bind") {
      mounts.push({ Type: "bind", Source: v.source ?? "", Target: v.target, ReadOnly: v.read_only === true });
    } else if (v.type === "volume") {
      const source = v.source === undefined ? undefined : (project.volumes[v.source]?.name ?? v.source);
      mounts.push({
        Type: "volume",
        ...(source === undefined ? {} : { Source: source }),
        Target: v.target,
        ReadOnly: v.read_only === true,
        ...(v.volume?.nocopy ? { VolumeOptions: { NoCopy: true } } : {}),
      });
    } else if (v.type === "tmpfs") {
      mounts.push({
        Type: "tmpfs",
        Target: v.target,
        ...(v.tmpfs?.size ? { TmpfsOptions: { SizeBytes: v.tmpfs.size } } : {}),
      });
    }
  }
  for (const [kind, root] of [
    ["secrets", "/run/secrets/"],
    ["configs", "/"],
  ] as const) {
    for (const ref of svc[kind] ?? []) {
      const obj = project[kind][ref.source];
      if (!obj?.file) {
        throw new NotImplemented(
          `${kind.slice(0, -1)} ${JSON.stringify(ref.source)} of service ${JSON.stringify(svc.name)}: only file-based ${kind} are supported, found ${obj?.external ? "external" : obj?.environment !== undefined ? "environment" : "content"}`,
        );
      }
      const target = ref.target ?? ref.source;
      binds.push(`${obj.file}:${target.startsWith("/") ? target : root + target}:ro`);
    }
  }
  const deploy = (svc.deploy ?? {}) as Raw;
  const limits = ((deploy.resources as Raw | undefined)?.limits ?? {}) as Raw;
  const reservations = ((deploy.resources as Raw | undefined)?.reservations ?? {}) as Raw;
  const memory = (svc.mem_limit as number | undefined) ?? (limits.memory as number | undefined);
  const cpus = (svc.cpus as number | undefined) ?? (limits.cpus as number | undefined);
  const nets = serviceNetworks(svc);
  const primary = nets[0];
  const host: HostConfig = {
    ...(binds.length ? { Binds: binds } : {}),
    ...(mounts.length ? { Mounts: mounts } : {}),
    ...(Object.keys(bindings).length ? { PortBindings: bindings } : {}),
    ...(memory ? { Memory: memory } : {}),
    ...(reservations.memory ? { MemoryReservation: reservations.memory as number } : {}),
    ...(svc.memswap_limit ? { MemorySwap: svc.memswap_limit as number } : {}),
    ...(cpus ? { NanoCpus: Math.round(cpus * 1e9) } : {}),
    ...(typeof limits.pids === "number" ? { PidsLimit: limits.pids } : {}),
    ...(svc.shm_size ? { ShmSize: svc.shm_size as number } : {}),
    ...(svc.init !== undefined ? { Init: svc.init } : {}),
    ...(svc.privileged ? { Privileged: true } : {}),
    ...(svc.read_only ? { ReadonlyRootfs: true } : {}),
    ...(svc.cap_add ? { CapAdd: svc.cap_add as string[] } : {}),
    ...(svc.cap_drop ? { CapDrop: svc.cap_drop as string[] } : {}),
    ...(svc.dns ? { Dns: svc.dns as string[] } : {}),
    ...(svc.extra_hosts
      ? {
          ExtraHosts: Object.entries(svc.extra_hosts as Record<string, string>).map(
            ([h, ip]) => `${h}:${ip}`,
          ),
        }
      : {}),
    ...(svc.sysctls ? { Sysctls: svc.sysctls as Record<string, string> } : {}),
    ...(svc.tmpfs
      ? { Tmpfs: Object.fromEntries(svc.tmpfs.map((t) => [t.split(":")[0], t.split(":")[1] ?? ""])) }
      : {}),
    ...(svc.ulimits
      ? {
          Ulimits: Object.entries(svc.ulimits).map(([Name, u]) =>
            typeof u === "number" ? { Name, Soft: u, Hard: u } : { Name, Soft: u.soft, Hard: u.hard },
          ),
        }
      : {}),
  };
  const rp = restartPolicy(svc);
  if (rp) host.RestartPolicy = rp;
  if (typeof svc.network_mode === "string") {
    const m = svc.network_mode;
    host.NetworkMode = m.startsWith("service:") ? `container:${project.name}-${m.slice(8)}-1` : m;
  } else if (primary) host.NetworkMode = project.networks[primary]?.name ?? primary;
  const hc = svc.healthcheck;
  const body: ContainerCreateRequest = {
    Image: serviceImage(project, svc),
    Labels: labels,
    ...(env.length ? { Env: env } : {}),
    ...(svc.command ? { Cmd: svc.command } : {}),
    ...(svc.entrypoint ? { Entrypoint: svc.entrypoint } : {}),
    ...(Object.keys(exposed).length ? { ExposedPorts: exposed } : {}),
    ...(svc.hostname ? { Hostname: svc.hostname } : {}),
    ...(svc.domainname ? { Domainname: svc.domainname as string } : {}),
    ...(svc.user ? { User: svc.user } : {}),
    ...(svc.working_dir ? { WorkingDir: svc.working_dir } : {}),
    ...(svc.tty ? { Tty: true } : {}),
    ...(svc.stdin_open ? { OpenStdin: true } : {}),
    ...(svc.stop_signal ? { StopSignal: svc.stop_signal } : {}),
    ...(svc.stop_grace_period ? { StopTimeout: Math.round(parseDuration(svc.stop_grace_period) / 1e9) } : {}),
    HostConfig: host,
  };
  if (hc) {
    body.Healthcheck = hc.disable
      ? { Test: ["NONE"] }
      : {
          ...(hc.test ? { Test: hc.test } : {}),
          ...(hc.interval ? { Interval: parseDuration(hc.interval) } : {}),
          ...(hc.timeout ? { Timeout: parseDuration(hc.timeout) } : {}),
          ...(hc.start_period ? { StartPeriod: parseDuration(hc.start_period) } : {}),
          ...(hc.start_interval ? { StartInterval: parseDuration(hc.start_interval) } : {}),
          ...(hc.retries !== undefined ? { Retries: hc.retries } : {}),
        };
  }
  if (primary && typeof svc.network_mode !== "string") {
    body.NetworkingConfig = {
      EndpointsConfig: { [project.networks[primary]?.name ?? primary]: endpointFor(svc, primary) },
    };
  }
  return body;
}
