import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { isSeccompAction, SECCOMP_ACTIONS, type Spec } from "../src/RuntimeSpec.ts";

/**
 * The runtime-spec's own `schema/test/config/good/spec-example.json`, written out as a typed
 * literal: if a field name or type in RuntimeSpec.ts drifts from the spec, this stops compiling
 * (tsc checks test/), and the round trip below stops matching the upstream file.
 */
const specExample: Spec = {
  ociVersion: "0.5.0-dev",
  process: {
    terminal: true,
    user: { uid: 1, gid: 1, additionalGids: [5, 6] },
    args: ["sh"],
    env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    cwd: "/",
    capabilities: {
      bounding: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      permitted: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      inheritable: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      effective: ["CAP_AUDIT_WRITE", "CAP_KILL"],
      ambient: ["CAP_NET_BIND_SERVICE"],
    },
    rlimits: [
      { type: "RLIMIT_CORE", hard: 1024, soft: 1024 },
      { type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 },
    ],
    apparmorProfile: "acme_secure_profile",
    selinuxLabel: "system_u:system_r:svirt_lxc_net_t:s0:c124,c675",
    noNewPrivileges: true,
  },
  root: { path: "rootfs", readonly: true },
  hostname: "slartibartfast",
  domainname: "foobarbaz.test",
  mounts: [
    { destination: "/proc", type: "proc", source: "proc" },
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
    {
      destination: "/dev/shm",
      type: "tmpfs",
      source: "shm",
      options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
    },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev"] },
    {
      destination: "/sys/fs/cgroup",
      type: "cgroup",
      source: "cgroup",
      options: ["nosuid", "noexec", "nodev", "relatime", "ro"],
    },
  ],
  hooks: {
    prestart: [
      { path: "/usr/bin/fix-mounts", args: ["fix-mounts", "arg1", "arg2"], env: ["key1=value1"] },
      { path: "/usr/bin/setup-network" },
    ],
    createRuntime: [
      { path: "/usr/bin/fix-mounts", args: ["fix-mounts", "arg1", "arg2"], env: ["key1=value1"] },
      { path: "/usr/bin/setup-network" },
    ],
    createContainer: [
      { path: "/usr/bin/mount-hook", args: ["-mount", "arg1", "arg2"], env: ["key1=value1"] },
    ],
    startContainer: [{ path: "/usr/bin/refresh-ldcache" }],
    poststart: [{ path: "/usr/bin/notify-start", timeout: 5 }],
    poststop: [{ path: "/usr/sbin/cleanup.sh", args: ["cleanup.sh", "-f"] }],
  },
  linux: {
    devices: [
      { path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 438, uid: 0, gid: 0 },
      { path: "/dev/sda", type: "b", major: 8, minor: 0, fileMode: 432, uid: 0, gid: 0 },
    ],
    uidMappings: [{ containerID: 0, hostID: 1000, size: 32000 }],
    gidMappings: [{ containerID: 0, hostID: 1000, size: 32000 }],
    sysctl: { "net.ipv4.ip_forward": "1", "net.core.somaxconn": "256" },
    cgroupsPath: "/myRuntime/myContainer",
    resources: {
      network: {
        classID: 1048577,
        priorities: [
          { name: "eth0", priority: 500 },
          { name: "eth1", priority: 1000 },
        ],
      },
      pids: { limit: 32771 },
      hugepageLimits: [
        // The upstream file has 9223372036854772000, which a double cannot hold exactly.
        { pageSize: "2MB", limit: 9223372036854772000 },
        { pageSize: "64KB", limit: 1000000 },
      ],
      oomScoreAdj: 100,
      memory: {
        limit: 536870912,
        reservation: 536870912,
        swap: 536870912,
        kernel: -1,
        kernelTCP: -1,
        swappiness: 0,
        disableOOMKiller: false,
        useHierarchy: false,
        checkBeforeUpdate: false,
      },
      cpu: {
        shares: 1024,
        quota: 1000000,
        burst: 1000000,
        period: 500000,
        realtimeRuntime: 950000,
        realtimePeriod: 1000000,
        cpus: "2-3",
        mems: "0-7",
      },
      devices: [
        { allow: false, access: "rwm" },
        { allow: true, type: "c", major: 10, minor: 229, access: "rw" },
        { allow: true, type: "b", major: 8, minor: 0, access: "r" },
      ],
      blockIO: {
        weight: 10,
        leafWeight: 10,
        weightDevice: [
          { major: 8, minor: 0, weight: 500, leafWeight: 300 },
          { major: 8, minor: 16, weight: 500 },
        ],
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 600 }],
        throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 300 }],
      },
    },
    rootfsPropagation: "slave",
    seccomp: {
      defaultAction: "SCMP_ACT_ALLOW",
      architectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      syscalls: [{ names: ["getcwd", "chmod"], action: "SCMP_ACT_ERRNO" }],
    },
    timeOffsets: { monotonic: { secs: 172800, nanosecs: 0 }, boottime: { secs: 604800, nanosecs: 0 } },
    namespaces: [
      { type: "pid" },
      { type: "network" },
      { type: "ipc" },
      { type: "uts" },
      { type: "mount" },
      { type: "user" },
      { type: "cgroup" },
      { type: "time" },
    ],
    maskedPaths: ["/proc/kcore", "/proc/latency_stats", "/proc/timer_stats", "/proc/sched_debug"],
    readonlyPaths: ["/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    mountLabel: "system_u:object_r:svirt_sandbox_file_t:s0:c715,c811",
  },
  annotations: { "com.example.key1": "value1", "com.example.key2": "value2" },
};

/** shared/ sits beside the repository checkout (locally /work/shared; in CI a copy next to the clone). */
function conformanceDir(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    process.env.BERTH_SHARED_DIR &&
      join(process.env.BERTH_SHARED_DIR, "conformance/oci-runtime-config/config/good"),
    resolve(here, "../../../../shared/conformance/oci-runtime-config/config/good"),
    "/work/shared/conformance/oci-runtime-config/config/good",
  ];
  return candidates.find((c): c is string => typeof c === "string" && existsSync(c));
}

const dir = conformanceDir();

describe("RuntimeSpec types", () => {
  it("round-trip the typed spec example through JSON unchanged", () => {
    const text = JSON.stringify(specExample);
    const back = JSON.parse(text) as Spec;
    expect(back).toEqual(specExample);
    expect(JSON.stringify(back)).toBe(text);
  });

  it.skipIf(dir === undefined)("match the runtime-spec's spec-example.json exactly", () => {
    const upstream = JSON.parse(readFileSync(join(dir!, "spec-example.json"), "utf8")) as unknown;
    expect(upstream).toEqual(specExample);
  });

  it.skipIf(dir === undefined)("cover every top-level and linux key used by the good Linux configs", () => {
    const topKeys = new Set<keyof Spec>([
      "ociVersion",
      "process",
      "root",
      "hostname",
      "domainname",
      "mounts",
      "hooks",
      "annotations",
      "linux",
    ]);
    const linuxKeys = new Set([
      "uidMappings",
      "gidMappings",
      "sysctl",
      "resources",
      "cgroupsPath",
      "namespaces",
      "devices",
      "netDevices",
      "seccomp",
      "rootfsPropagation",
      "maskedPaths",
      "readonlyPaths",
      "mountLabel",
      "intelRdt",
      "personality",
      "timeOffsets",
      "memoryPolicy",
    ]);
    const files = readdirSync(dir!).filter((f) => f.endsWith(".json") && !/freebsd|zos/.test(f));
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const f of files) {
      const doc = JSON.parse(readFileSync(join(dir!, f), "utf8")) as Record<string, unknown>;
      for (const k of Object.keys(doc)) expect(topKeys.has(k as keyof Spec), `${f}: ${k}`).toBe(true);
      const linux = (doc.linux ?? {}) as Record<string, unknown>;
      for (const k of Object.keys(linux)) expect(linuxKeys.has(k), `${f}: linux.${k}`).toBe(true);
    }
  });
});

describe("isSeccompAction", () => {
  it("accepts every spec action and rejects anything else", () => {
    expect(SECCOMP_ACTIONS).toHaveLength(9);
    for (const a of SECCOMP_ACTIONS) expect(isSeccompAction(a)).toBe(true);
    expect(isSeccompAction("SCMP_ACT_ALLOWED")).toBe(false);
    expect(isSeccompAction("scmp_act_allow")).toBe(false);
    expect(isSeccompAction("")).toBe(false);
  });
});
