import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  ALL_CAPABILITIES,
  buildSpec,
  capabilityMask,
  DEFAULT_CAPABILITIES,
  DEFAULT_MASKED_PATHS,
  type HostInfo,
  hostCapabilities,
  mergeEnv,
  resolveSeccompProfile,
  type SeccompProfile,
} from "../src/index.ts";

const allButSysResource = ALL_CAPABILITIES.filter((c) => c !== "CAP_SYS_RESOURCE");
const host: HostInfo = {
  capabilities: allButSysResource,
  arch: "amd64",
  kernel: "6.1.0-18-amd64",
  cgroupVersion: 1,
  swapLimit: true,
  rlimitHard: { RLIMIT_NOFILE: 20000 },
  thermalThrottlePaths: ["/sys/devices/system/cpu/cpu0/thermal_throttle"],
  devices: [{ path: "/dev/kvm", type: "c", major: 10, minor: 232, fileMode: 0o660, uid: 0, gid: 0 }],
};
const base = { rootfs: "/b/rootfs", args: ["sh"] };

describe("buildSpec defaults", () => {
  const spec = buildSpec(base, host);

  it("grants docker's 14 default capabilities in bounding/permitted/effective only", () => {
    const caps = spec.process!.capabilities!;
    expect(caps.bounding).toEqual([...DEFAULT_CAPABILITIES]);
    expect(caps.bounding).toHaveLength(14);
    expect(caps.permitted).toEqual(caps.bounding);
    expect(caps.effective).toEqual(caps.bounding);
    expect(caps.inheritable).toEqual([]);
    expect(caps.ambient).toEqual([]);
    expect(capabilityMask(caps.effective!)).toBe("00000000a80425fb");
  });

  it("has docker's mounts, namespaces, masked and read-only paths", () => {
    expect(spec.mounts!.map((m) => m.destination)).toEqual([
      "/proc",
      "/dev",
      "/dev/pts",
      "/sys",
      "/sys/fs/cgroup",
      "/dev/mqueue",
      "/dev/shm",
    ]);
    expect(spec.mounts!.find((m) => m.destination === "/sys")!.options).toContain("ro");
    expect(spec.mounts!.find((m) => m.destination === "/dev/shm")!.options).toContain("size=67108864");
    expect(spec.linux!.namespaces!.map((n) => n.type).sort()).toEqual([
      "ipc",
      "mount",
      "network",
      "pid",
      "uts",
    ]);
    expect(spec.linux!.maskedPaths).toEqual([
      ...DEFAULT_MASKED_PATHS,
      "/sys/devices/system/cpu/cpu0/thermal_throttle",
    ]);
    expect(spec.linux!.maskedPaths).toContain("/proc/kcore");
    expect(spec.linux!.readonlyPaths).toEqual([
      "/proc/bus",
      "/proc/fs",
      "/proc/irq",
      "/proc/sys",
      "/proc/sysrq-trigger",
    ]);
    expect(spec.linux!.resources!.devices![0]).toEqual({ allow: false, access: "rwm" });
    expect(spec.linux!.resources!.devices!.at(-1)).toEqual({
      allow: false,
      type: "c",
      major: 10,
      minor: 229,
      access: "rwm",
    });
  });

  it("uses a cgroup namespace only on cgroup v2", () => {
    const v2 = buildSpec(base, { ...host, cgroupVersion: 2 });
    expect(v2.linux!.namespaces!.map((n) => n.type)).toContain("cgroup");
  });

  it("sets the default PATH and lets the image env override it", () => {
    expect(spec.process!.env).toEqual(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]);
    const s = buildSpec({ ...base, env: ["PATH=/x", "A=1"], hostname: "h", terminal: true }, host);
    expect(s.process!.env).toEqual(["PATH=/x", "HOSTNAME=h", "TERM=xterm", "A=1"]);
    expect(s.hostname).toBe("h");
  });

  it("resolves docker's seccomp profile for the default caps", () => {
    const sc = spec.linux!.seccomp!;
    expect(sc.defaultAction).toBe("SCMP_ACT_ERRNO");
    expect(sc.defaultErrnoRet).toBe(1);
    expect(sc.architectures).toEqual(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
    const names = sc.syscalls!.flatMap((s) => s.names);
    expect(names).not.toContain("reboot");
    expect(names).not.toContain("mount");
    expect(names).toContain("arch_prctl");
    expect(names).not.toContain("s390_runtime_instr");
    const clone = sc.syscalls!.filter((s) => s.names.includes("clone"));
    expect(clone).toHaveLength(1);
    expect(clone[0]!.args).toEqual([{ index: 0, value: 2114060288, op: "SCMP_CMP_MASKED_EQ" }]);
    const clone3 = sc.syscalls!.find((s) => s.names.includes("clone3"))!;
    expect(clone3).toMatchObject({ action: "SCMP_ACT_ERRNO", errnoRet: 38 });
    expect(names).toContain("ptrace"); // minKernel 4.8 <= 6.1
    expect(
      resolveSeccompProfile(profile(), {
        capabilities: [],
        arch: "amd64",
        kernel: "4.4.0",
      }).syscalls!.flatMap((s) => s.names),
    ).not.toContain("ptrace");
  });

  it("CAP_SYS_ADMIN unlocks mount and unconditional clone", () => {
    const s = buildSpec({ ...base, capAdd: ["sys_admin"] }, host);
    const calls = s.linux!.seccomp!.syscalls!;
    expect(calls.flatMap((c) => c.names)).toContain("mount");
    expect(calls.filter((c) => c.names.includes("clone")).every((c) => c.args === undefined)).toBe(true);
    expect(s.process!.capabilities!.bounding).toContain("CAP_SYS_ADMIN");
  });
});

function profile(): SeccompProfile {
  return JSON.parse(readFileSync(new URL("../src/profiles/seccomp-default.json", import.meta.url), "utf8"));
}

describe("buildSpec privileged", () => {
  const spec = buildSpec({ ...base, privileged: true }, host);
  it("grants every capability the engine holds, and no more", () => {
    const bnd = spec.process!.capabilities!.bounding!;
    expect(bnd).not.toContain("CAP_SYS_RESOURCE");
    expect(bnd).toContain("CAP_SYS_ADMIN");
    expect(bnd).toHaveLength(ALL_CAPABILITIES.length - 1);
  });
  it("has no seccomp, masked or read-only paths, rw /sys, all devices", () => {
    expect(spec.linux!.seccomp).toBeUndefined();
    expect(spec.linux!.maskedPaths).toEqual([]);
    expect(spec.linux!.readonlyPaths).toEqual([]);
    expect(spec.mounts!.find((m) => m.destination === "/sys")!.options).not.toContain("ro");
    expect(spec.linux!.resources!.devices).toEqual([{ allow: true, access: "rwm" }]);
    expect(spec.linux!.devices!.map((d) => d.path)).toContain("/dev/kvm");
  });
  it("cap-add ALL also stops at the host's set", () => {
    const s = buildSpec({ ...base, capAdd: ["ALL"], capDrop: ["NET_RAW"] }, host);
    expect(s.process!.capabilities!.bounding).not.toContain("CAP_SYS_RESOURCE");
    expect(s.process!.capabilities!.bounding).not.toContain("CAP_NET_RAW");
    expect(() => buildSpec({ ...base, capAdd: ["SYS_RESOURCE"] }, host)).toThrow(/does not hold/);
    expect(() => buildSpec({ ...base, capAdd: ["FOO"] }, host)).toThrow('unknown capability: "CAP_FOO"');
    expect(
      buildSpec({ ...base, capDrop: ["ALL"], capAdd: ["chown"] }, host).process!.capabilities!.bounding,
    ).toEqual(["CAP_CHOWN"]);
  });
});

describe("buildSpec resources and options", () => {
  it("puts memory, cpu and pids limits in linux.resources", () => {
    const s = buildSpec({ ...base, memory: 32 << 20, nanoCpus: 1.5e9, cpuShares: 512, pidsLimit: 100 }, host);
    const r = s.linux!.resources!;
    expect(r.memory).toEqual({ limit: 32 << 20, swap: 64 << 20 });
    expect(r.cpu).toEqual({ period: 100000, quota: 150000, shares: 512 });
    expect(r.pids).toEqual({ limit: 100 });
    expect(buildSpec({ ...base, memory: 1 << 20, memorySwap: -1 }, host).linux!.resources!.memory!.swap).toBe(
      -1,
    );
    expect(
      buildSpec({ ...base, memory: 1 << 20 }, { ...host, swapLimit: false }).linux!.resources!.memory,
    ).toEqual({ limit: 1 << 20 });
  });
  it("clamps rlimits to the engine's hard limits", () => {
    const s = buildSpec({ ...base, rlimits: [{ name: "nofile", soft: 1048576, hard: 1048576 }] }, host);
    expect(s.process!.rlimits).toEqual([{ type: "RLIMIT_NOFILE", soft: 20000, hard: 20000 }]);
  });
  it("handles namespace modes, user, cwd, readonly rootfs, mounts", () => {
    const s = buildSpec(
      {
        ...base,
        namespaces: { network: "host", pid: "/proc/1/ns/pid" },
        user: { uid: 1000, gid: 1000, additionalGids: [10] },
        cwd: "/work/",
        readonlyRootfs: true,
        mounts: [
          { destination: "/data/sub", type: "bind", source: "/x", options: ["rbind"] },
          { destination: "/data", type: "tmpfs", source: "tmpfs" },
          { destination: "/dev/shm", type: "bind", source: "/y", options: ["rbind"] },
        ],
        cgroupsPath: "/berth/abc",
        sysctls: { "net.ipv4.ip_forward": "1" },
        annotations: { a: "b" },
        oomScoreAdj: 100,
      },
      host,
    );
    expect(s.linux!.namespaces!.find((n) => n.type === "network")).toBeUndefined();
    expect(s.linux!.namespaces!.find((n) => n.type === "pid")).toEqual({
      type: "pid",
      path: "/proc/1/ns/pid",
    });
    expect(s.process!.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [10] });
    expect(s.process!.cwd).toBe("/work/");
    expect(s.root).toEqual({ path: "/b/rootfs", readonly: true });
    const dests = s.mounts!.map((m) => m.destination);
    expect(dests.filter((d) => d === "/dev/shm")).toHaveLength(1);
    expect(dests.slice(-3)).toEqual(["/data", "/data/sub", "/dev/shm"]);
    expect(s.linux!.cgroupsPath).toBe("/berth/abc");
    expect(s.linux!.sysctl).toEqual({ "net.ipv4.ip_forward": "1" });
    expect(s.annotations).toEqual({ a: "b" });
    expect(s.process!.oomScoreAdj).toBe(100);
  });
  it("rejects cwd under /proc/self/fd (T2) and bad mount destinations (T4)", () => {
    expect(() => buildSpec({ ...base, cwd: "/proc/self/fd/7" }, host)).toThrow(/not allowed/);
    expect(() => buildSpec({ ...base, cwd: "/proc/./thread-self/fd/" }, host)).toThrow(/not allowed/);
    expect(() => buildSpec({ ...base, cwd: "/proc/123/fd/4" }, host)).toThrow(/not allowed/);
    expect(() => buildSpec({ ...base, cwd: "rel" }, host)).toThrow(/absolute/);
    expect(() => buildSpec({ ...base, mounts: [{ destination: "/a/../../etc" }] }, host)).toThrow(/'\.\.'/);
    expect(() => buildSpec({ ...base, mounts: [{ destination: "etc" }] }, host)).toThrow(/absolute/);
    expect(() => buildSpec({ ...base, args: [] }, host)).toThrow(/no command/);
  });
  it("allows a --device in the device cgroup, and refuses one without major:minor (no wildcard rule)", () => {
    const tun = { path: "/dev/net/tun", type: "c", major: 10, minor: 200 };
    const s = buildSpec({ ...base, devices: [tun] }, host);
    expect(s.linux!.devices).toEqual([tun]);
    expect(s.linux!.resources!.devices!.at(-1)).toEqual({
      allow: true,
      type: "c",
      major: 10,
      minor: 200,
      access: "rwm",
    });
    const noMinor = { path: "/dev/x", type: "c", major: 10 };
    expect(() => buildSpec({ ...base, devices: [noMinor] }, host)).toThrow(
      /device "\/dev\/x" needs major and minor numbers, found 10:none/,
    );
    expect(() => buildSpec({ ...base, privileged: true, devices: [noMinor] }, host)).toThrow(
      /major and minor/,
    );
  });
});

describe("helpers", () => {
  it("mergeEnv replaces, appends and unsets like docker", () => {
    expect(mergeEnv(["PATH=/a", "HOSTNAME=h"], ["HOSTNAME", "X=1", "PATH=/b"])).toEqual(["PATH=/b", "X=1"]);
  });
  it("hostCapabilities intersects CapBnd and CapEff", () => {
    const caps = hostCapabilities(
      "CapInh:\t0\nCapPrm:\t000001fffeffffff\nCapEff:\t000001fffeffffff\nCapBnd:\t000001ffffffffff\n",
    );
    expect(caps).toHaveLength(40);
    expect(caps).not.toContain("CAP_SYS_RESOURCE");
  });
});
