import { readFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { errnoCode } from "@berth/errdefs";
import { nowRFC3339Nano } from "./ids.ts";
import { ZERO_TIME } from "./types.ts";

/** CPU figures of one sample, as docker's `cpu_stats` / `precpu_stats`. */
export interface CpuStats {
  cpu_usage: {
    total_usage: number;
    percpu_usage?: number[];
    usage_in_kernelmode: number;
    usage_in_usermode: number;
  };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: { periods: number; throttled_periods: number; throttled_time: number };
}

/** One blkio entry (`8:0 Read 4096`). */
export interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

/** Traffic of one network interface. */
export interface NetworkStats {
  rx_bytes: number;
  rx_packets: number;
  rx_errors: number;
  rx_dropped: number;
  tx_bytes: number;
  tx_packets: number;
  tx_errors: number;
  tx_dropped: number;
}

/** StatsJSON is one element of docker's `GET /containers/{id}/stats` answer (API 1.41 shape). */
export interface StatsJSON {
  read: string;
  preread: string;
  pids_stats: { current?: number; limit?: number };
  blkio_stats: {
    io_service_bytes_recursive: BlkioEntry[] | null;
    io_serviced_recursive: BlkioEntry[] | null;
    io_queue_recursive: BlkioEntry[] | null;
    io_service_time_recursive: BlkioEntry[] | null;
    io_wait_time_recursive: BlkioEntry[] | null;
    io_merged_recursive: BlkioEntry[] | null;
    io_time_recursive: BlkioEntry[] | null;
    sectors_recursive: BlkioEntry[] | null;
  };
  num_procs: number;
  storage_stats: Record<string, never>;
  cpu_stats: CpuStats;
  precpu_stats: CpuStats;
  memory_stats: {
    usage?: number;
    max_usage?: number;
    stats?: Record<string, number>;
    failcnt?: number;
    limit?: number;
  };
  name: string;
  id: string;
  networks?: Record<string, NetworkStats>;
}

/** Where a sample is read from: the container's cgroup (`/berth/<id>`) and its init PID for /proc. */
export interface StatsSource {
  id: string;
  name: string;
  cgroupsPath: string;
  /** Host PID of the container's init; 0 when not running. */
  pid: number;
  /** Read network counters from the init's namespace (false for `--network host`). */
  network: boolean;
}

/** Nanoseconds per USER_HZ tick (Linux exports 100 ticks a second on every architecture). */
const NS_PER_TICK = 1e9 / 100;

const EMPTY_CPU: CpuStats = {
  cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
  throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
};

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    const code = errnoCode(err);
    if (code === "ENOENT" || code === "ENOTDIR" || code === "ESRCH" || code === "ENODEV") return undefined;
    throw err;
  }
}

/** firstFile returns the content of the first file of `paths` that exists. */
async function firstFile(paths: string[]): Promise<string | undefined> {
  for (const p of paths) {
    const t = await readText(p);
    if (t !== undefined) return t;
  }
  return undefined;
}

/** parseKeyValues reads `key value` lines (memory.stat, cpuacct.stat, cpu.stat). */
export function parseKeyValues(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

/** parseBlkio reads a cgroup v1 `blkio.*_recursive` file (`8:0 Read 4096`; the `Total` line is dropped). */
export function parseBlkio(text: string): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of text.split("\n")) {
    const m = /^(\d+):(\d+)\s+(\S+)\s+(\d+)$/.exec(line.trim());
    if (m) out.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3]!, value: Number(m[4]) });
  }
  return out;
}

/** parseNetDev reads /proc/<pid>/net/dev, without the loopback interface. */
export function parseNetDev(text: string): Record<string, NetworkStats> {
  const out: Record<string, NetworkStats> = {};
  for (const line of text.split("\n").slice(2)) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (name === "lo" || name === "") continue;
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    out[name] = {
      rx_bytes: f[0] ?? 0,
      rx_packets: f[1] ?? 0,
      rx_errors: f[2] ?? 0,
      rx_dropped: f[3] ?? 0,
      tx_bytes: f[8] ?? 0,
      tx_packets: f[9] ?? 0,
      tx_errors: f[10] ?? 0,
      tx_dropped: f[11] ?? 0,
    };
  }
  return out;
}

/** systemCpuUsage is the host's total CPU time in nanoseconds, from the `cpu` line of /proc/stat. */
export async function systemCpuUsage(): Promise<number> {
  const text = (await readText("/proc/stat")) ?? "";
  const line = text.split("\n").find((l) => l.startsWith("cpu "));
  if (!line) return 0;
  const ticks = line
    .trim()
    .split(/\s+/)
    .slice(1, 8)
    .reduce((a, b) => a + Number(b), 0);
  return ticks * NS_PER_TICK;
}

/**
 * collectStats reads one sample of a container's cgroup v1 files (memory, cpuacct, cpu, pids,
 * blkio) and its network counters, in docker's shape; `prev` fills `precpu_stats` and `preread`.
 * The memory limit of an unlimited container is the host's memory, as dockerd reports it.
 */
export async function collectStats(
  src: StatsSource,
  prev?: StatsJSON,
  fsRoot = "/sys/fs/cgroup",
): Promise<StatsJSON> {
  const cg = (ctrl: string, file: string) => `${fsRoot}/${ctrl}${src.cgroupsPath}/${file}`;
  const read = nowRFC3339Nano();
  const machine = totalmem();

  const memStat = await readText(cg("memory", "memory.stat"));
  const memory: StatsJSON["memory_stats"] = {};
  if (memStat !== undefined) {
    const usage = Number((await readText(cg("memory", "memory.usage_in_bytes"))) ?? 0);
    const max = Number((await readText(cg("memory", "memory.max_usage_in_bytes"))) ?? 0);
    const failcnt = Number((await readText(cg("memory", "memory.failcnt"))) ?? 0);
    const limit = Number((await readText(cg("memory", "memory.limit_in_bytes"))) ?? 0);
    memory.usage = usage;
    memory.max_usage = max;
    memory.stats = parseKeyValues(memStat);
    memory.failcnt = failcnt;
    memory.limit = limit > machine && machine > 0 ? machine : limit;
  }

  const acct = (file: string) => firstFile([cg("cpuacct", file), cg("cpu,cpuacct", file)]);
  const total = await acct("cpuacct.usage");
  let cpu: CpuStats = { ...EMPTY_CPU };
  if (total !== undefined) {
    const percpu = ((await acct("cpuacct.usage_percpu")) ?? "")
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
    const st = parseKeyValues((await acct("cpuacct.stat")) ?? "");
    const thr = parseKeyValues(
      (await firstFile([cg("cpu", "cpu.stat"), cg("cpu,cpuacct", "cpu.stat")])) ?? "",
    );
    cpu = {
      cpu_usage: {
        total_usage: Number(total.trim()),
        ...(percpu.length > 0 ? { percpu_usage: percpu } : {}),
        usage_in_kernelmode: (st.system ?? 0) * NS_PER_TICK,
        usage_in_usermode: (st.user ?? 0) * NS_PER_TICK,
      },
      system_cpu_usage: await systemCpuUsage(),
      online_cpus: cpus().length,
      throttling_data: {
        periods: thr.nr_periods ?? 0,
        throttled_periods: thr.nr_throttled ?? 0,
        throttled_time: thr.throttled_time ?? 0,
      },
    };
  }

  const pids: StatsJSON["pids_stats"] = {};
  const current = await readText(cg("pids", "pids.current"));
  if (current !== undefined) {
    pids.current = Number(current.trim());
    const max = ((await readText(cg("pids", "pids.max"))) ?? "max").trim();
    if (/^\d+$/.test(max)) pids.limit = Number(max);
  }

  const blk = async (file: string) => {
    const t = await readText(cg("blkio", file));
    return t === undefined ? [] : parseBlkio(t);
  };
  const stats: StatsJSON = {
    read,
    preread: prev?.read ?? ZERO_TIME,
    pids_stats: pids,
    blkio_stats: {
      io_service_bytes_recursive: await blk("blkio.throttle.io_service_bytes_recursive"),
      io_serviced_recursive: await blk("blkio.throttle.io_serviced_recursive"),
      io_queue_recursive: [],
      io_service_time_recursive: [],
      io_wait_time_recursive: [],
      io_merged_recursive: [],
      io_time_recursive: [],
      sectors_recursive: [],
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpu,
    precpu_stats: prev?.cpu_stats ?? EMPTY_CPU,
    memory_stats: memory,
    name: `/${src.name}`,
    id: src.id,
  };
  if (src.network && src.pid > 0) {
    const dev = await readText(`/proc/${src.pid}/net/dev`);
    if (dev !== undefined) {
      const nets = parseNetDev(dev);
      if (Object.keys(nets).length > 0) stats.networks = nets;
    }
  }
  return stats;
}

/** emptyStats is what dockerd answers for a container that is not running. */
export function emptyStats(src: Pick<StatsSource, "id" | "name">): StatsJSON {
  return {
    read: ZERO_TIME,
    preread: ZERO_TIME,
    pids_stats: {},
    blkio_stats: {
      io_service_bytes_recursive: null,
      io_serviced_recursive: null,
      io_queue_recursive: null,
      io_service_time_recursive: null,
      io_wait_time_recursive: null,
      io_merged_recursive: null,
      io_time_recursive: null,
      sectors_recursive: null,
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: EMPTY_CPU,
    precpu_stats: EMPTY_CPU,
    memory_stats: {},
    name: `/${src.name}`,
    id: src.id,
  };
}
