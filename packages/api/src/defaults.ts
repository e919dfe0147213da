/**
 * Docker's zero values for Engine API objects, as docker marshals them: the values a field has
 * when nobody set it, in docker's field order, so that a create body or an inspect answer built on
 * them has docker's shape byte for byte.
 *
 * @since 0.1.0
 */
import type { HostConfig } from "./generated/types.ts";

/**
 * GoZero widens a swagger type to what Go puts on the wire for an unset field: `null` for a nil
 * slice, map or pointer, and `""` for an unset string enum (the swagger lists neither).
 */
export type GoZero<T> =
  | (T extends string
      ? T | ""
      : T extends readonly unknown[]
        ? T
        : T extends object
          ? { [P in keyof T]-?: GoZero<Exclude<T[P], undefined>> }
          : T)
  | null;

/** The HostConfig fields docker leaves out of the JSON when they are unset (`omitempty`). */
type OmittedWhenUnset = "Mounts" | "Annotations" | "StorageOpt" | "Tmpfs" | "Sysctls" | "Runtime" | "Init";

/** ZeroHostConfig is every HostConfig field docker always marshals, each at its zero value. */
export type ZeroHostConfig = {
  [K in Exclude<keyof HostConfig, OmittedWhenUnset>]-?: GoZero<Exclude<HostConfig[K], undefined>>;
};

/**
 * zeroHostConfig returns docker's HostConfig with every field at its zero value, in the field order
 * the docker v28 CLI sends it (engine-api-traces/02-run-rm-echo.txt): nil slices, maps and pointers
 * are `null`, the lists docker always fills (`Dns*`, `Blkio*`, `Devices`, `Ulimits`) are `[]`, and
 * `ConsoleSize` is `[0, 0]`. Callers spread it first and override what they know; a fresh object
 * each call, so it is safe to mutate.
 */
export function zeroHostConfig(): ZeroHostConfig {
  return {
    Binds: null,
    ContainerIDFile: "",
    LogConfig: { Type: "", Config: {} },
    NetworkMode: "",
    PortBindings: {},
    RestartPolicy: { Name: "", MaximumRetryCount: 0 },
    AutoRemove: false,
    VolumeDriver: "",
    VolumesFrom: null,
    ConsoleSize: [0, 0],
    CapAdd: null,
    CapDrop: null,
    CgroupnsMode: "",
    Dns: [],
    DnsOptions: [],
    DnsSearch: [],
    ExtraHosts: null,
    GroupAdd: null,
    IpcMode: "",
    Cgroup: "",
    Links: null,
    OomScoreAdj: 0,
    PidMode: "",
    Privileged: false,
    PublishAllPorts: false,
    ReadonlyRootfs: false,
    SecurityOpt: null,
    UTSMode: "",
    UsernsMode: "",
    ShmSize: 0,
    Isolation: "",
    CpuShares: 0,
    Memory: 0,
    NanoCpus: 0,
    CgroupParent: "",
    BlkioWeight: 0,
    BlkioWeightDevice: [],
    BlkioDeviceReadBps: [],
    BlkioDeviceWriteBps: [],
    BlkioDeviceReadIOps: [],
    BlkioDeviceWriteIOps: [],
    CpuPeriod: 0,
    CpuQuota: 0,
    CpuRealtimePeriod: 0,
    CpuRealtimeRuntime: 0,
    CpusetCpus: "",
    CpusetMems: "",
    Devices: [],
    DeviceCgroupRules: null,
    DeviceRequests: null,
    MemoryReservation: 0,
    MemorySwap: 0,
    MemorySwappiness: null,
    OomKillDisable: false,
    PidsLimit: null,
    Ulimits: [],
    CpuCount: 0,
    CpuPercent: 0,
    IOMaximumIOps: 0,
    IOMaximumBandwidth: 0,
    MaskedPaths: null,
    ReadonlyPaths: null,
  };
}
