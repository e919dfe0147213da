/**
 * The container record the engine keeps on disk (`containers/<id>/container.json`) and the docker
 * shapes it is built from. `config` and `hostConfig` are stored as docker's `Config` and
 * `HostConfig` objects after the engine merged the image's defaults into them, so inspect shows
 * exactly what docker shows.
 */

/** Docker's container `Config` (the fields the engine reads; others are kept verbatim). */
export interface ContainerConfig {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  ExposedPorts?: Record<string, object> | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | null;
  Healthcheck?: unknown;
  ArgsEscaped?: boolean | null;
  Image?: string;
  Volumes?: Record<string, object> | null;
  WorkingDir?: string;
  Entrypoint?: string[] | null;
  NetworkDisabled?: boolean;
  OnBuild?: string[] | null;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  StopTimeout?: number | null;
  Shell?: string[] | null;
  [key: string]: unknown;
}

/** Docker's `HostConfig` (the fields the engine reads; others are kept verbatim). */
export interface HostConfig {
  AutoRemove?: boolean;
  Privileged?: boolean;
  ReadonlyRootfs?: boolean;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  Memory?: number;
  MemorySwap?: number;
  MemoryReservation?: number;
  NanoCpus?: number;
  CpuShares?: number;
  CpuQuota?: number;
  CpuPeriod?: number;
  PidsLimit?: number | null;
  NetworkMode?: string;
  RestartPolicy?: { Name?: string; MaximumRetryCount?: number };
  LogConfig?: { Type?: string; Config?: Record<string, string> };
  ShmSize?: number;
  Runtime?: string;
  ConsoleSize?: [number, number] | number[] | null;
  OomScoreAdj?: number;
  SecurityOpt?: string[] | null;
  Sysctls?: Record<string, string> | null;
  Init?: boolean | null;
  PortBindings?: Record<string, PortBinding[] | null> | null;
  PublishAllPorts?: boolean;
  Dns?: string[] | null;
  DnsSearch?: string[] | null;
  DnsOptions?: string[] | null;
  ExtraHosts?: string[] | null;
  [key: string]: unknown;
}

/** Docker's status words. */
export type ContainerStatus =
  | "created"
  | "running"
  | "paused"
  | "restarting"
  | "removing"
  | "exited"
  | "dead";

/** ContainerState is the mutable part of a record, shown as `State` by inspect. */
export interface ContainerState {
  status: ContainerStatus;
  pid: number;
  exitCode: number;
  error: string;
  oomKilled: boolean;
  startedAt: string;
  finishedAt: string;
  /** conmon's PID while the container runs, so a restarted daemon can tell whether it is alive. */
  conmonPid?: number;
}

/** ContainerRecord is everything the engine persists about one container. */
export interface ContainerRecord {
  id: string;
  /** Name without the leading slash. */
  name: string;
  created: string;
  path: string;
  args: string[];
  config: ContainerConfig;
  hostConfig: HostConfig;
  /** The image ID (`sha256:...`). */
  image: string;
  state: ContainerState;
  /** Restarts the restart policy made since the last start through the API (docker's `RestartCount`). */
  restartCount: number;
  /**
   * Set when the API stopped or killed the container, cleared by a start through the API: an
   * `unless-stopped` container so marked stays down, also across a daemon restart.
   */
  manuallyStopped?: boolean;
  logPath: string;
  hostnamePath: string;
  hostsPath: string;
  resolvConfPath: string;
  rootfs: { lowerdirs: string[]; upperdir: string; workdir: string; merged: string };
  /** Bind mounts, volumes and tmpfs mounts, resolved at create (absent on records from before volumes). */
  mounts?: MountPoint[];
  /**
   * The networks the container is attached to, by network name (docker's
   * `NetworkSettings.Networks`). Addresses are filled while it runs and cleared when it stops.
   */
  networks?: Record<string, EndpointSettings>;
  /** The bind-mounted network namespace while the container runs (docker's `SandboxKey`). */
  sandboxKey?: string;
  /** Set when `sandboxKey` belongs to another container (`--network container:ID`). */
  sandboxOwner?: string;
  /** Published ports as bound while the container runs (docker's `NetworkSettings.Ports`). */
  ports?: Record<string, PortBinding[]>;
}

/** One published port as docker shows it (`HostPort` is a decimal string). */
export interface PortBinding {
  HostIp: string;
  HostPort: string;
}

/** Docker's `EndpointSettings`: one container's attachment to one network. */
export interface EndpointSettings {
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] } | null;
  Links?: string[] | null;
  Aliases?: string[] | null;
  MacAddress?: string;
  DriverOpts?: Record<string, string> | null;
  NetworkID?: string;
  EndpointID?: string;
  Gateway?: string;
  IPAddress?: string;
  IPPrefixLen?: number;
  IPv6Gateway?: string;
  GlobalIPv6Address?: string;
  GlobalIPv6PrefixLen?: number;
  DNSNames?: string[] | null;
  /** The host side of the veth while attached (not shown by inspect). */
  hostIfName?: string;
}

/**
 * MountPoint is one resolved mount of a container. Volume and bind sources are host paths the
 * daemon chose or the API caller named; destinations are clean absolute container paths.
 */
export interface MountPoint {
  type: "bind" | "volume" | "tmpfs";
  /** Volume name (volumes only). */
  name?: string;
  /** Host path: the bind source or the volume's `_data`; "" for tmpfs. */
  source: string;
  destination: string;
  driver?: string;
  rw: boolean;
  /** Docker's `Mode` column. */
  mode: string;
  propagation: string;
  /** Copy the image's content into the volume at the next start if the volume is empty. */
  copyData?: boolean;
  /** An anonymous volume made for this container (removed with `rm -v` and `--rm`). */
  anonymous?: boolean;
  tmpfsOptions?: string[];
  /** Not listed in inspect's `Mounts` (`HostConfig.Tmpfs`, as docker). */
  hidden?: boolean;
}

/** ZERO_TIME is Go's zero time as docker prints it for "never". */
export const ZERO_TIME = "0001-01-01T00:00:00Z";
