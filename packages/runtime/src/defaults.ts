import type { RuntimeSpec } from "@berth/oci";

/** DEFAULT_PATH is docker's PATH for Linux containers whose config sets none. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** DEFAULT_SHM_SIZE is docker's `/dev/shm` size (64 MiB). */
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

/** DEFAULT_MASKED_PATHS are bind-mounted over with /dev/null (files) or an empty read-only tmpfs (dirs). */
export const DEFAULT_MASKED_PATHS: readonly string[] = [
  "/proc/acpi",
  "/proc/asound",
  "/proc/interrupts",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/sys/devices/virtual/powercap",
  "/sys/firmware",
];

/** DEFAULT_READONLY_PATHS are remounted read-only inside the container. */
export const DEFAULT_READONLY_PATHS: readonly string[] = [
  "/proc/bus",
  "/proc/fs",
  "/proc/irq",
  "/proc/sys",
  "/proc/sysrq-trigger",
];

/**
 * defaultMounts returns docker's default mounts (moby `oci.DefaultLinuxSpec`),
 * with `/dev/shm` sized `shmSize` bytes. Privileged containers get `/sys` and
 * `/sys/fs/cgroup` read-write.
 */
export function defaultMounts(opts: { shmSize: number; privileged: boolean }): RuntimeSpec.Mount[] {
  const sysRo = opts.privileged ? [] : ["ro"];
  return [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    {
      destination: "/dev",
      type: "tmpfs",
      source: "tmpfs",
      options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
    },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", ...sysRo] },
    {
      destination: "/sys/fs/cgroup",
      type: "cgroup",
      source: "cgroup",
      options: [opts.privileged ? "rw" : "ro", "nosuid", "noexec", "nodev"],
    },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    {
      destination: "/dev/shm",
      type: "tmpfs",
      source: "shm",
      options: ["nosuid", "noexec", "nodev", "mode=1777", `size=${opts.shmSize}`],
    },
  ];
}

/**
 * DEFAULT_DEVICE_RULES are docker's device cgroup rules: deny all, allow the
 * basic character devices, deny fuse. The runtime itself creates the OCI
 * default device nodes (null, zero, full, random, urandom, tty, console, ptmx).
 */
export const DEFAULT_DEVICE_RULES: readonly RuntimeSpec.LinuxDeviceCgroup[] = [
  { allow: false, access: "rwm" },
  { allow: true, type: "c", major: 1, minor: 5, access: "rwm" },
  { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
  { allow: true, type: "c", major: 1, minor: 9, access: "rwm" },
  { allow: true, type: "c", major: 1, minor: 8, access: "rwm" },
  { allow: true, type: "c", major: 5, minor: 0, access: "rwm" },
  { allow: true, type: "c", major: 5, minor: 1, access: "rwm" },
  { allow: false, type: "c", major: 10, minor: 229, access: "rwm" },
];
