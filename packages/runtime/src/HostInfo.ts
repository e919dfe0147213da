import { type BigIntStats, existsSync, lstatSync, readdirSync, readFileSync, statfsSync } from "node:fs";
import { release } from "node:os";
import type { RuntimeSpec } from "@berth/oci";
import { hostCapabilities } from "./capabilities.ts";
import { nodeArchToNative } from "./seccomp.ts";

/**
 * HostInfo is what {@link buildSpec} needs to know about the machine, passed
 * in so that buildSpec stays pure. {@link hostInfo} reads the real values.
 */
export interface HostInfo {
  /** Capabilities the engine holds (bounding ∩ effective). */
  readonly capabilities: readonly string[];
  /** Native arch as in seccomp profiles: `amd64`, `arm64`, ... */
  readonly arch: string;
  /** Kernel release (`uname -r`). */
  readonly kernel: string;
  /** 1 for cgroup v1 or hybrid, 2 for unified. */
  readonly cgroupVersion: 1 | 2;
  /** Whether swap limits work (`memory.memsw.limit_in_bytes` exists on v1). */
  readonly swapLimit: boolean;
  /** Current hard rlimits by OCI name (`RLIMIT_NOFILE`); absent means unlimited. */
  readonly rlimitHard: Readonly<Record<string, number>>;
  /** `/sys/devices/system/cpu/cpu<N>/thermal_throttle` paths that exist (docker masks them). */
  readonly thermalThrottlePaths: readonly string[];
  /** Host device nodes, given to privileged containers. */
  readonly devices: readonly RuntimeSpec.LinuxDevice[];
}

const LIMIT_NAMES: Readonly<Record<string, string>> = {
  "Max cpu time": "RLIMIT_CPU",
  "Max file size": "RLIMIT_FSIZE",
  "Max data size": "RLIMIT_DATA",
  "Max stack size": "RLIMIT_STACK",
  "Max core file size": "RLIMIT_CORE",
  "Max resident set": "RLIMIT_RSS",
  "Max processes": "RLIMIT_NPROC",
  "Max open files": "RLIMIT_NOFILE",
  "Max locked memory": "RLIMIT_MEMLOCK",
  "Max address space": "RLIMIT_AS",
  "Max file locks": "RLIMIT_LOCKS",
  "Max pending signals": "RLIMIT_SIGPENDING",
  "Max msgqueue size": "RLIMIT_MSGQUEUE",
  "Max nice priority": "RLIMIT_NICE",
  "Max realtime priority": "RLIMIT_RTPRIO",
  "Max realtime timeout": "RLIMIT_RTTIME",
};

/** parseProcLimits reads `/proc/<pid>/limits` text into hard limits by OCI name (unlimited ones omitted). */
export function parseProcLimits(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m = /^(Max [a-z ]+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
    if (!m) continue;
    const name = LIMIT_NAMES[m[1]!];
    if (name === undefined || m[3] === "unlimited") continue;
    const hard = Number(m[3]);
    if (Number.isFinite(hard)) out[name] = hard;
  }
  return out;
}

const SKIP_DEV_DIRS = new Set(["pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"]);

/** hostDevices lists the char and block devices under /dev as docker's `HostDevices` does (skipping pts, shm, mqueue, console). */
export function hostDevices(dir = "/dev"): RuntimeSpec.LinuxDevice[] {
  const out: RuntimeSpec.LinuxDevice[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    const path = `${dir}/${name}`;
    let st: BigIntStats;
    try {
      st = lstatSync(path, { bigint: true });
    } catch {
      continue;
    }
    if (st.isDirectory()) {
      if (!SKIP_DEV_DIRS.has(name)) out.push(...hostDevices(path));
      continue;
    }
    if (name === "console" || !(st.isCharacterDevice() || st.isBlockDevice())) continue;
    const rdev = st.rdev;
    const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
    const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
    out.push({
      path,
      type: st.isCharacterDevice() ? "c" : "b",
      major,
      minor,
      fileMode: Number(st.mode & 0o7777n),
      uid: Number(st.uid),
      gid: Number(st.gid),
    });
  }
  return out;
}

let cached: HostInfo | undefined;

/** hostInfo reads the engine's capabilities, kernel, arch, cgroup version, rlimits and devices (cached after the first call). */
export function hostInfo(): HostInfo {
  if (cached) return cached;
  const cgroupVersion: 1 | 2 = statfsSync("/sys/fs/cgroup").type === 0x63677270 ? 2 : 1;
  const swapLimit =
    cgroupVersion === 2 ? true : existsSync("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes");
  const thermal: string[] = [];
  try {
    for (const name of readdirSync("/sys/devices/system/cpu")) {
      if (!/^cpu\d+$/.test(name)) continue;
      const p = `/sys/devices/system/cpu/${name}/thermal_throttle`;
      if (existsSync(p)) thermal.push(p);
    }
  } catch {
    // no sysfs: nothing to mask
  }
  cached = {
    capabilities: hostCapabilities(),
    arch: nodeArchToNative(process.arch),
    kernel: release(),
    cgroupVersion,
    swapLimit,
    rlimitHard: parseProcLimits(readFileSync("/proc/self/limits", "utf8")),
    thermalThrottlePaths: thermal,
    devices: hostDevices(),
  };
  return cached;
}
