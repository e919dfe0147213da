import { type ZeroHostConfig, zeroHostConfig } from "@berth/api";
import { DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS } from "@berth/runtime";
import { mountsView } from "./ContainerMounts.ts";
import type { ContainerRecord } from "./types.ts";
import { ZERO_TIME } from "./types.ts";

/** EMPTY_CONFIG is docker's `Config` with every field at its zero value, as inspect shows unset ones. */
export const EMPTY_CONFIG = {
  Hostname: "",
  Domainname: "",
  User: "",
  AttachStdin: false,
  AttachStdout: false,
  AttachStderr: false,
  Tty: false,
  OpenStdin: false,
  StdinOnce: false,
  Env: null,
  Cmd: null,
  Image: "",
  Volumes: null,
  WorkingDir: "",
  Entrypoint: null,
  OnBuild: null,
  Labels: {},
} as const;

/**
 * zeroHostConfigForInspect is docker's zero HostConfig without `AutoRemove`, which inspect shows
 * only when the create request set it.
 */
function zeroHostConfigForInspect(): Omit<ZeroHostConfig, "AutoRemove"> {
  const { AutoRemove: _unset, ...zero } = zeroHostConfig();
  return zero;
}

/** containerInspect renders a record as docker's `GET /containers/{id}/json` answer. */
export function containerInspect(
  rec: ContainerRecord,
  opts: { driver?: string } = {},
): Record<string, unknown> {
  const st = rec.state;
  const privileged = rec.hostConfig.Privileged === true;
  return {
    Id: rec.id,
    Created: rec.created,
    Path: rec.path,
    Args: rec.args,
    State: {
      Status: st.status,
      // docker keeps Running true while a restart policy waits to start the container again.
      Running: st.status === "running" || st.status === "paused" || st.status === "restarting",
      Paused: st.status === "paused",
      Restarting: st.status === "restarting",
      OOMKilled: st.oomKilled,
      Dead: st.status === "dead",
      Pid: st.pid,
      ExitCode: st.exitCode,
      Error: st.error,
      StartedAt: st.startedAt,
      FinishedAt: st.finishedAt,
    },
    Image: rec.image,
    ResolvConfPath: rec.resolvConfPath,
    HostnamePath: rec.hostnamePath,
    HostsPath: rec.hostsPath,
    LogPath: rec.logPath,
    Name: `/${rec.name}`,
    RestartCount: rec.restartCount,
    Driver: opts.driver ?? "overlay",
    Platform: "linux",
    MountLabel: "",
    ProcessLabel: "",
    AppArmorProfile: "",
    ExecIDs: null,
    HostConfig: {
      ...zeroHostConfigForInspect(),
      CgroupnsMode: "host",
      IpcMode: "private",
      ...rec.hostConfig,
      MaskedPaths: privileged ? null : [...DEFAULT_MASKED_PATHS],
      ReadonlyPaths: privileged ? null : [...DEFAULT_READONLY_PATHS],
    },
    GraphDriver: {
      Data: {
        LowerDir: rec.rootfs.lowerdirs.join(":"),
        MergedDir: rec.rootfs.merged,
        UpperDir: rec.rootfs.upperdir,
        WorkDir: rec.rootfs.workdir,
      },
      Name: opts.driver ?? "overlay",
    },
    Mounts: mountsView(rec.mounts),
    Config: {
      ...EMPTY_CONFIG,
      ...rec.config,
    },
    NetworkSettings: networkSettings(rec),
  };
}

/** EMPTY_ENDPOINT is an endpoint as docker shows it while the container does not run. */
const EMPTY_ENDPOINT = {
  IPAMConfig: null,
  Links: null,
  Aliases: null,
  MacAddress: "",
  DriverOpts: null,
  NetworkID: "",
  EndpointID: "",
  Gateway: "",
  IPAddress: "",
  IPPrefixLen: 0,
  IPv6Gateway: "",
  GlobalIPv6Address: "",
  GlobalIPv6PrefixLen: 0,
  DNSNames: null,
};

/** endpointViews renders the container's networks as docker's `NetworkSettings.Networks`. */
function endpointViews(rec: ContainerRecord): Record<string, unknown> {
  const nets = rec.networks;
  if (nets && Object.keys(nets).length > 0) {
    const out: Record<string, unknown> = {};
    for (const [name, ep] of Object.entries(nets)) {
      const { hostIfName: _h, ...view } = ep;
      out[name] = { ...EMPTY_ENDPOINT, ...view };
    }
    return out;
  }
  const mode = rec.hostConfig.NetworkMode ?? "default";
  if (mode.startsWith("container:")) return {};
  return { [mode === "default" ? "none" : mode]: { ...EMPTY_ENDPOINT } };
}

/**
 * portsView renders docker's `NetworkSettings.Ports`: every exposed or published port, with its
 * host bindings while the container runs and null when it is not published.
 */
function portsView(rec: ContainerRecord): Record<string, unknown> {
  if (!rec.sandboxKey || rec.sandboxOwner) return {};
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(rec.config.ExposedPorts ?? {})) out[k.includes("/") ? k : `${k}/tcp`] = null;
  for (const [k, v] of Object.entries(rec.ports ?? {})) out[k] = v;
  return out;
}

function networkSettings(rec: ContainerRecord): Record<string, unknown> {
  const bridge = rec.networks?.bridge;
  return {
    Bridge: "",
    SandboxID: rec.sandboxKey && !rec.sandboxOwner ? rec.id.slice(0, 64) : "",
    HairpinMode: false,
    LinkLocalIPv6Address: "",
    LinkLocalIPv6PrefixLen: 0,
    Ports: portsView(rec),
    SandboxKey: rec.sandboxKey ?? "",
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: bridge?.EndpointID ?? "",
    Gateway: bridge?.Gateway ?? "",
    GlobalIPv6Address: "",
    GlobalIPv6PrefixLen: 0,
    IPAddress: bridge?.IPAddress ?? "",
    IPPrefixLen: bridge?.IPPrefixLen ?? 0,
    IPv6Gateway: "",
    MacAddress: bridge?.MacAddress ?? "",
    Networks: endpointViews(rec),
  };
}

/** summaryPorts renders docker's `Ports` of a list entry (published first, then only exposed). */
function summaryPorts(rec: ContainerRecord): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const ports = portsView(rec);
  for (const [k, v] of Object.entries(ports)) {
    const [p, type = "tcp"] = k.split("/");
    const bindings = v as { HostIp: string; HostPort: string }[] | null;
    if (!bindings || bindings.length === 0) out.push({ PrivatePort: Number(p), Type: type });
    else
      for (const b of bindings)
        out.push({ IP: b.HostIp, PrivatePort: Number(p), PublicPort: Number(b.HostPort), Type: type });
  }
  return out;
}

/** quoteArg quotes one argument as docker's `Command` column does (shell-style single quotes). */
function quoteArg(a: string): string {
  if (a !== "" && /^[A-Za-z0-9_@%+=:,./-]+$/.test(a)) return a;
  return `'${a.replace(/'/g, `'"'"'`)}'`;
}

/** humanDuration renders docker's `units.HumanDuration` ("Less than a second", "5 seconds", "About a minute"). */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 1) return "Less than a second";
  if (s === 1) return "1 second";
  if (s < 60) return `${s} seconds`;
  const m = Math.floor(s / 60);
  if (m === 1) return "About a minute";
  if (m < 60) return `${m} minutes`;
  const h = Math.round(s / 3600);
  if (h === 1) return "About an hour";
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}

/** statusText renders docker's `Status` column ("Up 5 seconds", "Exited (0) 3 minutes ago", "Created"). */
export function statusText(rec: ContainerRecord, now = Date.now()): string {
  const st = rec.state;
  switch (st.status) {
    case "running":
      return `Up ${humanDuration(now - Date.parse(st.startedAt))}`;
    case "paused":
      return `Up ${humanDuration(now - Date.parse(st.startedAt))} (Paused)`;
    case "restarting":
      return `Restarting (${st.exitCode}) ${humanDuration(now - Date.parse(st.finishedAt))} ago`;
    case "exited":
      if (st.finishedAt === ZERO_TIME) return "Created";
      return `Exited (${st.exitCode}) ${humanDuration(now - Date.parse(st.finishedAt))} ago`;
    case "removing":
      return "Removal In Progress";
    case "dead":
      return "Dead";
    default:
      return "Created";
  }
}

/** containerSummary renders a record as one element of docker's `GET /containers/json`. */
export function containerSummary(rec: ContainerRecord): Record<string, unknown> {
  const mode = rec.hostConfig.NetworkMode ?? "default";
  return {
    Id: rec.id,
    Names: [`/${rec.name}`],
    Image: rec.config.Image ?? rec.image,
    ImageID: rec.image,
    Command: [rec.path, ...rec.args].map(quoteArg).join(" "),
    Created: Math.floor(Date.parse(rec.created) / 1000),
    Ports: summaryPorts(rec),
    Labels: rec.config.Labels ?? {},
    State: rec.state.status,
    Status: statusText(rec),
    HostConfig: { NetworkMode: mode },
    NetworkSettings: { Networks: endpointViews(rec) },
    Mounts: mountsView(rec.mounts),
  };
}
