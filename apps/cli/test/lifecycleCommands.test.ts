import { describe, expect, it } from "vitest";
import { splitReference } from "../src/commands/commit.ts";
import { splitCpArg } from "../src/commands/cp.ts";
import { updateBody } from "../src/commands/update.ts";
import { statsRow } from "../src/StatsRow.ts";

describe("statsRow", () => {
  it("computes docker's columns from a cgroup v1 sample (values of the reference trace)", () => {
    const row = statsRow("inspectme", {
      id: "f03c0bf5072111132e62b9b1e1d77b9de769f514ee2583a2e52b037876386085",
      name: "/inspectme",
      cpu_stats: {
        cpu_usage: { total_usage: 66_400_000 },
        system_cpu_usage: 2_219_300_000_000,
        online_cpus: 2,
      },
      precpu_stats: { cpu_usage: { total_usage: 66_388_591 }, system_cpu_usage: 2_217_270_000_000 },
      memory_stats: { usage: 335_872, limit: 52_428_800, stats: { total_inactive_file: 0 } },
      blkio_stats: { io_service_bytes_recursive: [] },
      pids_stats: { current: 1 },
      networks: { eth0: { rx_bytes: 876, tx_bytes: 0 } },
    });
    expect(row).toEqual({
      ID: "f03c0bf50721",
      Container: "inspectme",
      Name: "inspectme",
      CPUPerc: "0.00%",
      MemUsage: "328KiB / 50MiB",
      MemPerc: "0.64%",
      NetIO: "876B / 0B",
      BlockIO: "0B / 0B",
      PIDs: "1",
    });
  });

  it("takes the inactive page cache out of the memory usage and sums block I/O", () => {
    const row = statsRow("c", {
      cpu_stats: { cpu_usage: { total_usage: 2e9 }, system_cpu_usage: 4e9, online_cpus: 2 },
      precpu_stats: { cpu_usage: { total_usage: 1e9 }, system_cpu_usage: 2e9 },
      memory_stats: { usage: 10 << 20, limit: 100 << 20, stats: { total_inactive_file: 5 << 20 } },
      blkio_stats: {
        io_service_bytes_recursive: [
          { op: "Read", value: 2_000_000 },
          { op: "Write", value: 1000 },
          { op: "Total", value: 2_001_000 },
        ],
      },
    });
    expect(row.CPUPerc).toBe("100.00%");
    expect(row.MemUsage).toBe("5MiB / 100MiB");
    expect(row.MemPerc).toBe("5.00%");
    expect(row.BlockIO).toBe("2MB / 1kB");
  });
});

describe("cp, commit and update arguments", () => {
  it("splits CONTAINER:PATH as docker does", () => {
    expect(splitCpArg("web:/etc/hosts")).toEqual({ container: "web", path: "/etc/hosts" });
    expect(splitCpArg("./a:b")).toEqual({ path: "./a:b" });
    expect(splitCpArg("/abs:x")).toEqual({ path: "/abs:x" });
    expect(splitCpArg("-")).toEqual({ path: "-" });
  });

  it("splits REPOSITORY[:TAG] with a default tag", () => {
    expect(splitReference("img")).toEqual({ repo: "img", tag: "latest" });
    expect(splitReference("localhost:5000/img:v1")).toEqual({ repo: "localhost:5000/img", tag: "v1" });
    expect(splitReference("localhost:5000/img")).toEqual({ repo: "localhost:5000/img", tag: "latest" });
  });

  it("sends only the flags that were set", () => {
    const body = updateBody({
      flags: { memory: "64m", "memory-swap": "-1", cpus: "0.5", "pids-limit": 0, restart: "on-failure:3" },
      changed: new Set(["memory", "memory-swap", "cpus", "pids-limit", "restart"]),
      args: ["c"],
    });
    expect(body).toEqual({
      Memory: 64 << 20,
      MemorySwap: -1,
      NanoCpus: 500_000_000,
      PidsLimit: 0,
      RestartPolicy: { Name: "on-failure", MaximumRetryCount: 3 },
    });
  });
});
