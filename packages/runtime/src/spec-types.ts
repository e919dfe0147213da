/**
 * OCI runtime-spec types (the subset Berth writes), defined locally until
 * `@berth/oci` exports `RuntimeSpec` types from `packages/oci/src/RuntimeSpec.ts`.
 * Field names follow runtime-spec v1.0.2 `config.json` exactly, so a value of
 * {@link Spec} serialises to a valid bundle config.
 *
 * @since 0.1.0
 */

/** Spec is the whole `config.json` of an OCI bundle. */
export interface Spec {
  ociVersion: string;
  process?: Process;
  root?: Root;
  hostname?: string;
  mounts?: Mount[];
  annotations?: Record<string, string>;
  linux?: Linux;
}

/** Root is the container's root file system. */
export interface Root {
  path: string;
  readonly?: boolean;
}

/** Process is the container's init process. */
export interface Process {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user: User;
  args?: string[];
  env?: string[];
  cwd: string;
  capabilities?: LinuxCapabilities;
  rlimits?: POSIXRlimit[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  selinuxLabel?: string;
}

/** User is the numeric identity the process runs as. */
export interface User {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
}

/** LinuxCapabilities are the five capability sets, as `CAP_*` names. */
export interface LinuxCapabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

/** POSIXRlimit is one `setrlimit` entry, e.g. `RLIMIT_NOFILE`. */
export interface POSIXRlimit {
  type: string;
  hard: number;
  soft: number;
}

/** Mount is one entry of `mounts`. */
export interface Mount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

/** Linux holds the Linux-specific settings. */
export interface Linux {
  uidMappings?: IDMapping[];
  gidMappings?: IDMapping[];
  sysctl?: Record<string, string>;
  resources?: LinuxResources;
  cgroupsPath?: string;
  namespaces?: LinuxNamespace[];
  devices?: LinuxDevice[];
  seccomp?: LinuxSeccomp;
  rootfsPropagation?: string;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  mountLabel?: string;
}

/** IDMapping maps a range of ids for user namespaces. */
export interface IDMapping {
  containerID: number;
  hostID: number;
  size: number;
}

/** LinuxNamespaceType names a namespace kind. */
export type LinuxNamespaceType = "pid" | "network" | "mount" | "ipc" | "uts" | "user" | "cgroup" | "time";

/** LinuxNamespace asks for a new namespace, or to join the one at `path`. */
export interface LinuxNamespace {
  type: LinuxNamespaceType;
  path?: string;
}

/** LinuxDevice is a device node the runtime creates in the container. */
export interface LinuxDevice {
  path: string;
  type: string;
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

/** LinuxDeviceCgroup is one device cgroup rule. */
export interface LinuxDeviceCgroup {
  allow: boolean;
  type?: string;
  major?: number;
  minor?: number;
  access?: string;
}

/** LinuxResources are cgroup limits. */
export interface LinuxResources {
  devices?: LinuxDeviceCgroup[];
  memory?: {
    limit?: number;
    reservation?: number;
    swap?: number;
    kernel?: number;
    swappiness?: number;
    disableOOMKiller?: boolean;
  };
  cpu?: {
    shares?: number;
    quota?: number;
    period?: number;
    realtimeRuntime?: number;
    realtimePeriod?: number;
    cpus?: string;
    mems?: string;
  };
  pids?: { limit: number };
  blockIO?: { weight?: number };
}

/** LinuxSeccompAction is a libseccomp action name, e.g. `SCMP_ACT_ERRNO`. */
export type LinuxSeccompAction = string;

/** LinuxSeccomp is the OCI (runtime-level) seccomp filter. */
export interface LinuxSeccomp {
  defaultAction: LinuxSeccompAction;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  syscalls?: LinuxSyscall[];
}

/** LinuxSyscall is one rule: these names get this action when the args match. */
export interface LinuxSyscall {
  names: string[];
  action: LinuxSeccompAction;
  errnoRet?: number;
  args?: LinuxSeccompArg[];
}

/** LinuxSeccompArg compares one syscall argument. */
export interface LinuxSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}
