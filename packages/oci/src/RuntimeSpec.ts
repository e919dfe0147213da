/**
 * Types for the OCI runtime-spec `config.json` (runtime-spec config.md, config-linux.md),
 * as runc reads it. Field names and optionality follow the JSON schema in runtime-spec
 * `schema/`; Linux is the only platform section typed in depth.
 *
 * @since 0.1.0
 */

/** OCI_RUNTIME_VERSION is the runtime-spec version Berth writes into `ociVersion`. */
export const OCI_RUNTIME_VERSION = "1.2.0";

/** Spec is the whole `config.json` of an OCI bundle. */
export interface Spec {
  ociVersion: string;
  process?: Process;
  root?: Root;
  hostname?: string;
  domainname?: string;
  mounts?: Mount[];
  hooks?: Hooks;
  annotations?: Record<string, string>;
  linux?: Linux;
}

/** Root is the container's root file system. */
export interface Root {
  /** Path to the rootfs, absolute or relative to the bundle. */
  path: string;
  readonly?: boolean;
}

/** Process is the container's init process (and, for `runc exec`, an exec'd process). */
export interface Process {
  terminal?: boolean;
  consoleSize?: Box;
  user?: User;
  args?: string[];
  commandLine?: string;
  env?: string[];
  cwd: string;
  capabilities?: LinuxCapabilities;
  rlimits?: POSIXRlimit[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  selinuxLabel?: string;
  ioPriority?: LinuxIOPriority;
  scheduler?: Scheduler;
  execCPUAffinity?: { initial?: string; final?: string };
}

/** Box is a terminal size. */
export interface Box {
  height: number;
  width: number;
}

/** User is the uid/gid the process runs as (numeric on Linux). */
export interface User {
  uid?: number;
  gid?: number;
  umask?: number;
  additionalGids?: number[];
  username?: string;
}

/** LinuxCapabilities are the capability sets, names like `CAP_CHOWN`. */
export interface LinuxCapabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

/** POSIXRlimit is one resource limit, `type` like `RLIMIT_NOFILE`. */
export interface POSIXRlimit {
  type: string;
  hard: number;
  soft: number;
}

/** LinuxIOPriority is the process's I/O scheduling class and priority. */
export interface LinuxIOPriority {
  class: "IOPRIO_CLASS_RT" | "IOPRIO_CLASS_BE" | "IOPRIO_CLASS_IDLE";
  priority?: number;
}

/** Scheduler is the process's CPU scheduling policy. */
export interface Scheduler {
  policy:
    | "SCHED_OTHER"
    | "SCHED_FIFO"
    | "SCHED_RR"
    | "SCHED_BATCH"
    | "SCHED_ISO"
    | "SCHED_IDLE"
    | "SCHED_DEADLINE";
  nice?: number;
  priority?: number;
  flags?: string[];
  runtime?: number;
  deadline?: number;
  period?: number;
}

/** Mount is one mount, applied in order after the rootfs. */
export interface Mount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
  uidMappings?: LinuxIDMapping[];
  gidMappings?: LinuxIDMapping[];
}

/** Hook is one lifecycle hook program. */
export interface Hook {
  path: string;
  args?: string[];
  env?: string[];
  /** Seconds; at least 1. */
  timeout?: number;
}

/** Hooks are the lifecycle hooks (`prestart` is deprecated in favour of `createRuntime`). */
export interface Hooks {
  /** @deprecated use createRuntime, createContainer or startContainer. */
  prestart?: Hook[];
  createRuntime?: Hook[];
  createContainer?: Hook[];
  startContainer?: Hook[];
  poststart?: Hook[];
  poststop?: Hook[];
}

/** LinuxNamespaceType names a Linux namespace kind. */
export type LinuxNamespaceType = "mount" | "pid" | "network" | "uts" | "ipc" | "user" | "cgroup" | "time";

/** LinuxNamespace asks for a new namespace, or (with `path`) to join an existing one. */
export interface LinuxNamespace {
  type: LinuxNamespaceType;
  path?: string;
}

/** LinuxIDMapping maps a range of container IDs to host IDs (user namespaces, idmapped mounts). */
export interface LinuxIDMapping {
  containerID: number;
  hostID: number;
  size: number;
}

/** LinuxDevice is a device node to create in the container. */
export interface LinuxDevice {
  /** `c`, `b`, `u` or `p`. */
  type: string;
  path: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

/** LinuxDeviceCgroup is one device cgroup rule (`allow` false with no type means deny all). */
export interface LinuxDeviceCgroup {
  allow: boolean;
  /** `a`, `c` or `b`. */
  type?: string;
  major?: number | null;
  minor?: number | null;
  /** Any of `r`, `w`, `m`. */
  access?: string;
}

/** LinuxMemory are memory cgroup limits (bytes; -1 for unlimited). */
export interface LinuxMemory {
  limit?: number;
  reservation?: number;
  swap?: number;
  /** @deprecated kernel memory limits are not supported by recent kernels. */
  kernel?: number;
  kernelTCP?: number;
  swappiness?: number;
  disableOOMKiller?: boolean;
  useHierarchy?: boolean;
  checkBeforeUpdate?: boolean;
}

/** LinuxCPU are CPU cgroup settings. */
export interface LinuxCPU {
  shares?: number;
  quota?: number;
  burst?: number;
  period?: number;
  realtimeRuntime?: number;
  realtimePeriod?: number;
  cpus?: string;
  mems?: string;
  idle?: number;
}

/** LinuxPids limits the number of tasks (-1 or 0 for unlimited, as runc treats them). */
export interface LinuxPids {
  limit: number;
}

/** LinuxBlockIODevice identifies a block device by major:minor. */
export interface LinuxBlockIODevice {
  major: number;
  minor: number;
}

/** LinuxWeightDevice is a per-device blkio weight. */
export interface LinuxWeightDevice extends LinuxBlockIODevice {
  weight?: number;
  leafWeight?: number;
}

/** LinuxThrottleDevice is a per-device blkio rate limit. */
export interface LinuxThrottleDevice extends LinuxBlockIODevice {
  rate: number;
}

/** LinuxBlockIO are blkio cgroup settings. */
export interface LinuxBlockIO {
  weight?: number;
  leafWeight?: number;
  weightDevice?: LinuxWeightDevice[];
  throttleReadBpsDevice?: LinuxThrottleDevice[];
  throttleWriteBpsDevice?: LinuxThrottleDevice[];
  throttleReadIOPSDevice?: LinuxThrottleDevice[];
  throttleWriteIOPSDevice?: LinuxThrottleDevice[];
}

/** LinuxHugepageLimit limits one huge page size (`2MB`). */
export interface LinuxHugepageLimit {
  pageSize: string;
  limit: number;
}

/** LinuxNetwork are net_cls/net_prio settings. */
export interface LinuxNetwork {
  classID?: number;
  priorities?: { name: string; priority: number }[];
}

/** LinuxResources are the container's cgroup limits. */
export interface LinuxResources {
  devices?: LinuxDeviceCgroup[];
  memory?: LinuxMemory;
  cpu?: LinuxCPU;
  pids?: LinuxPids;
  blockIO?: LinuxBlockIO;
  hugepageLimits?: LinuxHugepageLimit[];
  network?: LinuxNetwork;
  rdma?: Record<string, { hcaHandles?: number; hcaObjects?: number }>;
  /** cgroup v2 unified key/values. */
  unified?: Record<string, string>;
  /** @deprecated removed from the spec; use process.oomScoreAdj. Still present in old examples. */
  oomScoreAdj?: number;
}

/** SECCOMP_ACTIONS are the seccomp actions the runtime-spec defines (config-linux.md "seccomp"). */
export const SECCOMP_ACTIONS = [
  "SCMP_ACT_KILL",
  "SCMP_ACT_KILL_PROCESS",
  "SCMP_ACT_KILL_THREAD",
  "SCMP_ACT_TRAP",
  "SCMP_ACT_ERRNO",
  "SCMP_ACT_TRACE",
  "SCMP_ACT_ALLOW",
  "SCMP_ACT_LOG",
  "SCMP_ACT_NOTIFY",
] as const;

/** LinuxSeccompAction is what a seccomp rule does. */
export type LinuxSeccompAction = (typeof SECCOMP_ACTIONS)[number];

/** isSeccompAction tells whether `s` is one of {@link SECCOMP_ACTIONS}, e.g. when reading a profile from JSON. */
export function isSeccompAction(s: string): s is LinuxSeccompAction {
  return (SECCOMP_ACTIONS as readonly string[]).includes(s);
}

/** LinuxSeccompOperator compares a syscall argument. */
export type LinuxSeccompOperator =
  | "SCMP_CMP_NE"
  | "SCMP_CMP_LT"
  | "SCMP_CMP_LE"
  | "SCMP_CMP_EQ"
  | "SCMP_CMP_GE"
  | "SCMP_CMP_GT"
  | "SCMP_CMP_MASKED_EQ";

/** LinuxSeccompArg is a condition on one syscall argument. */
export interface LinuxSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: LinuxSeccompOperator;
}

/** LinuxSyscall is one seccomp rule. */
export interface LinuxSyscall {
  names: string[];
  action: LinuxSeccompAction;
  errnoRet?: number;
  args?: LinuxSeccompArg[];
}

/** LinuxSeccomp is a seccomp filter (`architectures` like `SCMP_ARCH_X86_64`). */
export interface LinuxSeccomp {
  defaultAction: LinuxSeccompAction;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: LinuxSyscall[];
}

/** LinuxTimeOffset shifts a clock inside a time namespace. */
export interface LinuxTimeOffset {
  secs?: number;
  nanosecs?: number;
}

/** Linux is the Linux-specific section of the spec. */
export interface Linux {
  uidMappings?: LinuxIDMapping[];
  gidMappings?: LinuxIDMapping[];
  sysctl?: Record<string, string>;
  resources?: LinuxResources;
  cgroupsPath?: string;
  namespaces?: LinuxNamespace[];
  devices?: LinuxDevice[];
  netDevices?: Record<string, { name?: string }>;
  seccomp?: LinuxSeccomp;
  rootfsPropagation?: "private" | "shared" | "slave" | "unbindable";
  maskedPaths?: string[];
  readonlyPaths?: string[];
  mountLabel?: string;
  intelRdt?: {
    closID?: string;
    schemata?: string[];
    l3CacheSchema?: string;
    memBwSchema?: string;
    enableMonitoring?: boolean;
  };
  personality?: { domain?: "LINUX" | "LINUX32"; flags?: string[] };
  timeOffsets?: { boottime?: LinuxTimeOffset; monotonic?: LinuxTimeOffset };
  memoryPolicy?: { mode?: string; nodes?: string; flags?: string[] };
}

/** State is what `runc state` prints (runtime.md "State"); status is creating, created, running or stopped (runc adds paused). */
export interface State {
  ociVersion: string;
  id: string;
  status: string;
  pid?: number;
  bundle: string;
  annotations?: Record<string, string>;
}
