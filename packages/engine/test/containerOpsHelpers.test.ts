import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { commitConfig } from "../src/ContainerOps.ts";
import { containerChanges, isInitPath } from "../src/containerChanges.ts";
import { parsePsOutput, validatePsArgs } from "../src/containerTop.ts";
import { planUpdate } from "../src/containerUpdate.ts";
import { parseBlkio, parseKeyValues, parseNetDev } from "../src/Stats.ts";

const tmp = mkdtempSync(join(tmpdir(), "berth-ops-unit-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("containerChanges", () => {
  it("reports A, C and D in walk order and leaves out the runtime's mount points", async () => {
    const lower = join(tmp, "lower");
    const upper = join(tmp, "upper");
    for (const d of ["etc", "tmp", "usr/bin"]) mkdirSync(join(lower, d), { recursive: true });
    writeFileSync(join(lower, "etc/passwd"), "root\n");
    writeFileSync(join(lower, "etc/group"), "root\n");
    const old = new Date("2020-01-01T00:00:00Z");
    for (const d of ["etc", "tmp", "usr", "usr/bin"]) utimesSync(join(lower, d), old, old);
    // upper: /tmp changed (new file), /etc copied up for a changed file, /usr copied up only
    // for a mount point (same metadata), /srv new, /proc a runtime mount point.
    for (const d of ["etc", "tmp", "usr/bin", "srv", "proc"]) mkdirSync(join(upper, d), { recursive: true });
    writeFileSync(join(upper, "tmp/new"), "x");
    writeFileSync(join(upper, "etc/passwd"), "root2\n");
    writeFileSync(join(upper, "etc/hostname"), "");
    utimesSync(join(upper, "usr"), old, old);
    utimesSync(join(upper, "usr/bin"), old, old);
    writeFileSync(join(upper, "usr/bin/tool"), "#!/bin/sh\n");
    const changes = await containerChanges(upper, [lower]);
    expect(changes.map((c) => `${"CAD"[c.Kind]} ${c.Path}`)).toEqual([
      "C /etc",
      "C /etc/passwd",
      "A /srv",
      "C /tmp",
      "A /tmp/new",
      "C /usr/bin",
      "A /usr/bin/tool",
    ]);
  });

  it("skips a directory overlay copied up only to hold an init-layer mount point", async () => {
    const lower = join(tmp, "l2");
    const upper = join(tmp, "u2");
    mkdirSync(join(lower, "etc"), { recursive: true });
    mkdirSync(join(upper, "etc"), { recursive: true });
    utimesSync(join(lower, "etc"), new Date(0), new Date(0));
    writeFileSync(join(upper, "etc/resolv.conf"), "");
    expect(await containerChanges(upper, [lower])).toEqual([]);
  });

  it("knows the init layer", () => {
    expect(isInitPath("/etc/hostname")).toBe(true);
    expect(isInitPath("/dev/shm")).toBe(true);
    expect(isInitPath("/devices")).toBe(false);
    expect(isInitPath("/etc/hostname.bak")).toBe(false);
  });
});

describe("top", () => {
  it("keeps the container's lines and joins the command's blanks back", () => {
    const out = [
      "UID          PID    PPID  C STIME TTY          TIME CMD",
      "root           1       0  0 10:00 ?        00:00:01 /sbin/init splash",
      "root         412       1  0 10:01 ?        00:00:00 sleep 300",
      "root         413     412  0 10:01 ?        00:00:00 sh -c echo  hi",
      "",
    ].join("\n");
    expect(parsePsOutput(out, [412, 413])).toEqual({
      Titles: ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
      Processes: [
        ["root", "412", "1", "0", "10:01", "?", "00:00:00", "sleep 300"],
        ["root", "413", "412", "0", "10:01", "?", "00:00:00", "sh -c echo hi"],
      ],
    });
  });

  it("refuses output without a PID column and renamed PID columns", () => {
    expect(() => parsePsOutput("USER COMMAND\nroot sh\n", [1])).toThrow(
      "Couldn't find PID field in ps output",
    );
    expect(() => validatePsArgs("-o pid=PROCESS")).not.toThrow();
    expect(() => validatePsArgs("-o user= PID")).toThrow('specifying "user=PID" is not allowed');
  });
});

describe("planUpdate", () => {
  const base = {
    Memory: 32 << 20,
    MemorySwap: 64 << 20,
    RestartPolicy: { Name: "no", MaximumRetryCount: 0 },
  };

  it("keeps zero fields, converts --cpus to a CFS quota and pids to runc's -1", () => {
    const p = planUpdate(
      base,
      { Memory: 48 << 20, NanoCpus: 1_500_000_000, PidsLimit: 0, CpuShares: 0 },
      { ncpu: 2 },
    );
    expect(p.hostConfig).toMatchObject({
      Memory: 48 << 20,
      MemorySwap: 64 << 20,
      NanoCpus: 1_500_000_000,
      PidsLimit: null,
    });
    expect(p.live).toEqual({ memory: 48 << 20, cpuPeriod: 100_000, cpuQuota: 150_000, pidsLimit: -1 });
    expect(p.warnings).toEqual([]);
  });

  it("applies dockerd's cross-update rules", () => {
    expect(() => planUpdate(base, { Memory: 128 << 20 })).toThrow(
      "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time",
    );
    expect(planUpdate(base, { Memory: 128 << 20, MemorySwap: -1 }).hostConfig.MemorySwap).toBe(-1);
    expect(() => planUpdate({ NanoCpus: 1e9 }, { CpuQuota: 50_000 })).toThrow(
      "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set",
    );
    expect(() => planUpdate({ CpuQuota: 50_000 }, { NanoCpus: 1e9 })).toThrow(
      "Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set",
    );
    expect(() => planUpdate(base, { Memory: 1024 })).toThrow("Minimum memory limit allowed is 6MB");
    expect(() => planUpdate(base, { NanoCpus: 9e9 }, { ncpu: 2 })).toThrow(
      "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available",
    );
    expect(() => planUpdate({ AutoRemove: true }, { RestartPolicy: { Name: "always" } })).toThrow(
      "Restart policy cannot be updated because AutoRemove is enabled for the container",
    );
  });

  it("changes the restart policy without touching limits", () => {
    const p = planUpdate(base, { RestartPolicy: { Name: "on-failure", MaximumRetryCount: 3 } });
    expect(p.hostConfig.RestartPolicy).toEqual({ Name: "on-failure", MaximumRetryCount: 3 });
    expect(p.live).toBeUndefined();
  });
});

describe("stats parsers", () => {
  it("reads memory.stat, blkio and net/dev files", () => {
    expect(parseKeyValues("cache 4096\nrss 8192\ntotal_inactive_file 0\n")).toEqual({
      cache: 4096,
      rss: 8192,
      total_inactive_file: 0,
    });
    expect(parseBlkio("8:0 Read 4096\n8:0 Write 512\n8:0 Total 4608\nTotal 4608\n")).toEqual([
      { major: 8, minor: 0, op: "Read", value: 4096 },
      { major: 8, minor: 0, op: "Write", value: 512 },
      { major: 8, minor: 0, op: "Total", value: 4608 },
    ]);
    const dev = [
      "Inter-|   Receive                                                |  Transmit",
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed",
      "    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0",
      "  eth0:     876      10    0    1    0     0          0         0       70       1    0    0    0     0       0          0",
    ].join("\n");
    expect(parseNetDev(dev)).toEqual({
      eth0: {
        rx_bytes: 876,
        rx_packets: 10,
        rx_errors: 0,
        rx_dropped: 1,
        tx_bytes: 70,
        tx_packets: 1,
        tx_errors: 0,
        tx_dropped: 0,
      },
    });
  });
});

describe("commitConfig", () => {
  it("takes the container's image fields, the body's, then the changes on top of both", () => {
    const cfg = commitConfig(
      {
        Hostname: "abc",
        Env: ["PATH=/bin", "A=1"],
        Cmd: ["sh"],
        Labels: { keep: "1" },
        Tty: true,
        WorkingDir: "",
      },
      { Cmd: ["top"], Env: [] },
      ["ENV B=2 A=3", "LABEL extra=yes", "EXPOSE 80"],
    );
    expect(cfg).toEqual({
      Env: ["PATH=/bin", "A=3", "B=2"],
      Cmd: ["top"],
      Labels: { keep: "1", extra: "yes" },
      ExposedPorts: { "80/tcp": {} },
    });
  });
});
