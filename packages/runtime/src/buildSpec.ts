import { posix } from "node:path";
import { InvalidArgument } from "@berth/errdefs";
import type { RuntimeSpec, Spec } from "@berth/oci";
import { tweakCapabilities } from "./capabilities.ts";
import {
  DEFAULT_DEVICE_RULES,
  DEFAULT_MASKED_PATHS,
  DEFAULT_PATH,
  DEFAULT_READONLY_PATHS,
  DEFAULT_SHM_SIZE,
  defaultMounts,
} from "./defaults.ts";
import { type HostInfo, hostInfo } from "./HostInfo.ts";
import { DEFAULT_SECCOMP_PROFILE, resolveSeccompProfile, type SeccompProfile } from "./seccomp.ts";
import { validateCwd, validateMountDestination } from "./validatePaths.ts";

/**
 * OCI_VERSION is the runtime-spec version Berth writes into `ociVersion`: what
 * runc 1.1.5 reports (`runc --version`: spec 1.0.2-dev), not `@berth/oci`'s
 * `RuntimeSpec.OCI_RUNTIME_VERSION` (1.2.0), which runc 1.1.5 predates.
 */
export const OCI_VERSION = "1.0.2-dev";

/**
 * NamespaceMode: `"new"` (a private namespace), `"host"` (share the engine's),
 * or an absolute path to join (`/proc/<pid>/ns/net`, a bind-mounted netns).
 * For the network, `"none"` is a new namespace that the engine leaves with only
 * `lo` (docker `--network none`).
 */
export type NamespaceMode = "new" | "host" | "none" | (string & {});

/** Rlimit is one `--ulimit`: docker's short name (`nofile`) or the OCI name (`RLIMIT_NOFILE`). */
export interface Rlimit {
  readonly name: string;
  readonly soft: number;
  readonly hard: number;
}

/** SpecOptions are a container's settings, already resolved by the engine (numeric user, absolute paths). */
export interface SpecOptions {
  /** Absolute path of the root file system (usually `<bundle>/rootfs`). */
  readonly rootfs: string;
  readonly readonlyRootfs?: boolean;
  /** Entrypoint + Cmd, already combined. Must not be empty. */
  readonly args: readonly string[];
  /** `KEY=value` (or `KEY` to unset a default); merged over PATH/HOSTNAME/TERM like docker. */
  readonly env?: readonly string[];
  /** Working directory inside the container; default `/`. */
  readonly cwd?: string;
  /** Numeric identity, see {@link resolveUser}; default root. */
  readonly user?: { readonly uid: number; readonly gid: number; readonly additionalGids?: readonly number[] };
  readonly hostname?: string;
  readonly terminal?: boolean;
  readonly privileged?: boolean;
  readonly capAdd?: readonly string[];
  readonly capDrop?: readonly string[];
  /** Memory limit in bytes. */
  readonly memory?: number;
  /** Memory+swap in bytes; -1 unlimited; unset means twice `memory` (docker). */
  readonly memorySwap?: number;
  readonly memoryReservation?: number;
  readonly oomKillDisable?: boolean;
  /** CPUs in units of 1e-9 (docker `--cpus 1.5` = 1.5e9): quota over a 100000us period. */
  readonly nanoCpus?: number;
  readonly cpuShares?: number;
  readonly cpuQuota?: number;
  readonly cpuPeriod?: number;
  readonly cpusetCpus?: string;
  readonly cpusetMems?: string;
  /** Max processes; <= 0 unlimited. */
  readonly pidsLimit?: number;
  /** Extra mounts (volumes, binds, /etc/hosts...). Override defaults at the same destination. */
  readonly mounts?: readonly RuntimeSpec.Mount[];
  /** Extra devices (`--device`), allowed rwm in the device cgroup. */
  readonly devices?: readonly RuntimeSpec.LinuxDevice[];
  readonly namespaces?: {
    readonly network?: NamespaceMode;
    readonly pid?: NamespaceMode;
    readonly ipc?: NamespaceMode;
    readonly uts?: NamespaceMode;
    /** Default: host on cgroup v1, new on v2 (docker's cgroupns default). */
    readonly cgroup?: NamespaceMode;
  };
  readonly cgroupsPath?: string;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly noNewPrivileges?: boolean;
  readonly oomScoreAdj?: number;
  /** `/dev/shm` size in bytes; default 64 MiB. */
  readonly shmSize?: number;
  /** Replace docker's masked paths (e.g. `[]` for `--security-opt systempaths=unconfined`). */
  readonly maskedPaths?: readonly string[];
  readonly readonlyPaths?: readonly string[];
  readonly sysctls?: Readonly<Record<string, string>>;
  readonly rlimits?: readonly Rlimit[];
  /** `"default"` (docker's profile), `"unconfined"`, or a docker-format profile. Ignored when privileged. */
  readonly seccomp?: "default" | "unconfined" | SeccompProfile;
  readonly apparmorProfile?: string;
}

/**
 * buildSpec turns container settings into an OCI runtime spec with Docker's
 * defaults: the 14 default capabilities (bounding, permitted, effective;
 * inheritable and ambient empty), the default mounts, namespaces (pid, mount,
 * uts, ipc, network; cgroup only on v2; never time: runc 1.1.5 does not know
 * it), masked and read-only paths, device rules, default PATH, and docker's
 * seccomp profile resolved for the container's capabilities.
 *
 * `privileged` is docker's: all capabilities, every host device, no seccomp,
 * no masked/read-only paths, `/sys` read-write -- except that "all" means all
 * the engine holds (`host.capabilities`). Requested rlimits are clamped to the
 * engine's hard limits. Pure: the machine facts come from `host`.
 */
export function buildSpec(opts: SpecOptions, host: HostInfo = hostInfo()): Spec {
  if (opts.args.length === 0)
    throw new InvalidArgument("no command specified: expected at least one argument");
  if (!posix.isAbsolute(opts.rootfs)) {
    throw new InvalidArgument(`rootfs must be an absolute path, found ${JSON.stringify(opts.rootfs)}`);
  }
  const privileged = opts.privileged === true;
  const cwd = validateCwd(opts.cwd ?? "/");
  const caps = tweakCapabilities({
    capAdd: opts.capAdd ?? [],
    capDrop: opts.capDrop ?? [],
    privileged,
    host: host.capabilities,
  });

  const env = mergeEnv(
    [
      `PATH=${DEFAULT_PATH}`,
      ...(opts.hostname !== undefined ? [`HOSTNAME=${opts.hostname}`] : []),
      ...(opts.terminal ? ["TERM=xterm"] : []),
    ],
    opts.env ?? [],
  );

  const spec: Spec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: opts.terminal === true,
      user: {
        uid: opts.user?.uid ?? 0,
        gid: opts.user?.gid ?? 0,
        ...(opts.user?.additionalGids && opts.user.additionalGids.length > 0
          ? { additionalGids: [...opts.user.additionalGids] }
          : {}),
      },
      args: [...opts.args],
      env,
      cwd,
      capabilities: {
        bounding: [...caps],
        effective: [...caps],
        permitted: [...caps],
        inheritable: [],
        ambient: [],
      },
      noNewPrivileges: opts.noNewPrivileges === true,
    },
    root: { path: opts.rootfs, readonly: opts.readonlyRootfs === true },
    mounts: mergeMounts(
      defaultMounts({ shmSize: opts.shmSize ?? DEFAULT_SHM_SIZE, privileged }),
      opts.mounts ?? [],
    ),
    linux: {},
  };
  const proc = spec.process!;
  const linux = spec.linux!;
  if (opts.oomScoreAdj !== undefined) proc.oomScoreAdj = opts.oomScoreAdj;
  if (opts.apparmorProfile !== undefined && !privileged) proc.apparmorProfile = opts.apparmorProfile;
  if (opts.rlimits && opts.rlimits.length > 0) proc.rlimits = clampRlimits(opts.rlimits, host.rlimitHard);

  const namespaces = buildNamespaces(opts, host);
  linux.namespaces = namespaces;
  const utsShared = !namespaces.some((n) => n.type === "uts");
  if (opts.hostname !== undefined && !utsShared) spec.hostname = opts.hostname;

  if (opts.annotations && Object.keys(opts.annotations).length > 0)
    spec.annotations = { ...opts.annotations };
  if (opts.cgroupsPath !== undefined) linux.cgroupsPath = opts.cgroupsPath;
  if (opts.sysctls && Object.keys(opts.sysctls).length > 0) linux.sysctl = { ...opts.sysctls };

  linux.resources = buildResources(opts, host, privileged);
  const devices = privileged ? [...host.devices] : [];
  for (const d of opts.devices ?? []) {
    deviceNumbers(d);
    if (!devices.some((x) => x.path === d.path)) devices.push({ ...d });
  }
  if (devices.length > 0) linux.devices = devices;

  if (privileged) {
    linux.maskedPaths = [];
    linux.readonlyPaths = [];
  } else {
    linux.maskedPaths = opts.maskedPaths
      ? [...opts.maskedPaths]
      : [...DEFAULT_MASKED_PATHS, ...host.thermalThrottlePaths];
    linux.readonlyPaths = opts.readonlyPaths ? [...opts.readonlyPaths] : [...DEFAULT_READONLY_PATHS];
    const seccomp = opts.seccomp ?? "default";
    if (seccomp !== "unconfined") {
      linux.seccomp = resolveSeccompProfile(seccomp === "default" ? DEFAULT_SECCOMP_PROFILE : seccomp, {
        capabilities: caps,
        arch: host.arch,
        kernel: host.kernel,
      });
    }
  }
  return spec;
}

/** mergeEnv is docker's `ReplaceOrAppendEnvValues`: overrides replace same-named defaults; a bare `KEY` unsets. */
export function mergeEnv(defaults: readonly string[], overrides: readonly string[]): string[] {
  const out: (string | undefined)[] = [...defaults];
  const index = new Map<string, number>();
  out.forEach((e, i) => {
    index.set(e!.split("=", 1)[0]!, i);
  });
  for (const kv of overrides) {
    const eq = kv.indexOf("=");
    const key = eq < 0 ? kv : kv.slice(0, eq);
    const i = index.get(key);
    if (eq < 0) {
      if (i !== undefined) out[i] = undefined;
      continue;
    }
    if (i !== undefined && out[i] !== undefined) {
      out[i] = kv;
    } else {
      index.set(key, out.length);
      out.push(kv);
    }
  }
  return out.filter((e): e is string => e !== undefined);
}

/**
 * mergeMounts applies docker's rule: a user mount replaces the default at the
 * same destination, and a user mount on `/dev` drops every default under
 * `/dev/`. User mounts follow, parents before children.
 */
function mergeMounts(
  defaults: readonly RuntimeSpec.Mount[],
  user: readonly RuntimeSpec.Mount[],
): RuntimeSpec.Mount[] {
  const cleaned = user.map((m) => ({ ...m, destination: validateMountDestination(m.destination) }));
  const dests = new Set(cleaned.map((m) => m.destination));
  const mountsDev = dests.has("/dev");
  const kept = defaults.filter(
    (m) => !dests.has(m.destination) && !(mountsDev && m.destination.startsWith("/dev/")),
  );
  const depth = (p: string) => (p === "/" ? 0 : p.split("/").length - 1);
  const sorted = cleaned
    .map((m, i) => ({ m, i }))
    .sort((a, b) => depth(a.m.destination) - depth(b.m.destination) || a.i - b.i)
    .map((x) => x.m);
  return [...kept, ...sorted];
}

function buildNamespaces(opts: SpecOptions, host: HostInfo): RuntimeSpec.LinuxNamespace[] {
  const ns: RuntimeSpec.LinuxNamespace[] = [{ type: "mount" }];
  const add = (
    type: RuntimeSpec.LinuxNamespaceType,
    mode: NamespaceMode | undefined,
    dflt: "new" | "host",
  ) => {
    const m = mode ?? dflt;
    if (m === "host") return;
    if (m === "new" || (m === "none" && type === "network")) {
      ns.push({ type });
      return;
    }
    if (!posix.isAbsolute(m)) {
      throw new InvalidArgument(
        `invalid ${type} namespace mode ${JSON.stringify(m)}: expected "new", "host" or an absolute path`,
      );
    }
    ns.push({ type, path: m });
  };
  add("network", opts.namespaces?.network, "new");
  add("uts", opts.namespaces?.uts, "new");
  add("pid", opts.namespaces?.pid, "new");
  add("ipc", opts.namespaces?.ipc, "new");
  add("cgroup", opts.namespaces?.cgroup, host.cgroupVersion === 2 ? "new" : "host");
  return ns;
}

function buildResources(opts: SpecOptions, host: HostInfo, privileged: boolean): RuntimeSpec.LinuxResources {
  const devices: RuntimeSpec.LinuxDeviceCgroup[] = privileged
    ? [{ allow: true, access: "rwm" }]
    : [...DEFAULT_DEVICE_RULES];
  if (!privileged) {
    for (const d of opts.devices ?? []) {
      const { major, minor } = deviceNumbers(d);
      devices.push({ allow: true, type: d.type, major, minor, access: "rwm" });
    }
  }
  const res: RuntimeSpec.LinuxResources = { devices };
  const memory: NonNullable<RuntimeSpec.LinuxResources["memory"]> = {};
  if (opts.memory !== undefined && opts.memory > 0) {
    memory.limit = opts.memory;
    if (host.swapLimit) {
      const swap = opts.memorySwap ?? 0;
      if (swap === 0) memory.swap = opts.memory * 2;
      else if (swap === -1) memory.swap = -1;
      else if (swap < opts.memory) {
        throw new InvalidArgument("minimum memoryswap limit should be larger than memory limit, see usage");
      } else memory.swap = swap;
    }
  }
  if (opts.memoryReservation !== undefined && opts.memoryReservation > 0) {
    memory.reservation = opts.memoryReservation;
  }
  if (opts.oomKillDisable) memory.disableOOMKiller = true;
  if (Object.keys(memory).length > 0) res.memory = memory;

  const cpu: NonNullable<RuntimeSpec.LinuxResources["cpu"]> = {};
  if (opts.nanoCpus !== undefined && opts.nanoCpus > 0) {
    if (opts.cpuQuota !== undefined || opts.cpuPeriod !== undefined) {
      throw new InvalidArgument("conflicting options: Nano CPUs and CPU Period cannot both be set");
    }
    cpu.period = 100000;
    cpu.quota = Math.round((opts.nanoCpus * 100000) / 1e9);
  }
  if (opts.cpuQuota !== undefined && opts.cpuQuota !== 0) cpu.quota = opts.cpuQuota;
  if (opts.cpuPeriod !== undefined && opts.cpuPeriod !== 0) cpu.period = opts.cpuPeriod;
  if (opts.cpuShares !== undefined && opts.cpuShares > 0) cpu.shares = opts.cpuShares;
  if (opts.cpusetCpus) cpu.cpus = opts.cpusetCpus;
  if (opts.cpusetMems) cpu.mems = opts.cpusetMems;
  if (Object.keys(cpu).length > 0) res.cpu = cpu;

  if (opts.pidsLimit !== undefined && opts.pidsLimit !== 0) {
    res.pids = { limit: opts.pidsLimit > 0 ? opts.pidsLimit : -1 };
  }
  return res;
}

/**
 * deviceNumbers returns a `--device`'s major:minor. The spec lets them be
 * absent, but a device cgroup rule without them is a wildcard that would allow
 * every device of the type, so a device must carry both.
 */
function deviceNumbers(d: RuntimeSpec.LinuxDevice): { major: number; minor: number } {
  if (d.major === undefined || d.minor === undefined) {
    throw new InvalidArgument(
      `device ${JSON.stringify(d.path)} needs major and minor numbers, found ${d.major ?? "none"}:${d.minor ?? "none"}`,
    );
  }
  return { major: d.major, minor: d.minor };
}

function clampRlimits(
  limits: readonly Rlimit[],
  hostHard: Readonly<Record<string, number>>,
): RuntimeSpec.POSIXRlimit[] {
  return limits.map((l) => {
    const type = l.name.toUpperCase().startsWith("RLIMIT_")
      ? l.name.toUpperCase()
      : `RLIMIT_${l.name.toUpperCase()}`;
    if (l.soft > l.hard) {
      throw new InvalidArgument(
        `ulimit soft limit must be less than or equal to hard limit: ${l.soft} > ${l.hard}`,
      );
    }
    const max = hostHard[type];
    const hard = max !== undefined && l.hard > max ? max : l.hard;
    return { type, hard, soft: Math.min(l.soft, hard) };
  });
}
