/**
 * StatsRow: one line of `berth stats` computed from a docker stats sample, with the docker CLI's
 * arithmetic (CPU % from the delta to `precpu_stats`, memory without the inactive page cache).
 *
 * @since 0.1.0
 */
import { bytesSize, humanSizeWithPrecision } from "./units.ts";

/** The parts of a stats sample the table uses. */
export interface StatsSample {
  id?: string;
  name?: string;
  read?: string;
  cpu_stats?: {
    cpu_usage?: { total_usage?: number; percpu_usage?: number[] };
    system_cpu_usage?: number;
    online_cpus?: number;
  };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  blkio_stats?: { io_service_bytes_recursive?: Array<{ op: string; value: number }> | null };
  pids_stats?: { current?: number };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number }>;
}

/** StatsRow holds the columns of one container, as docker's stats formatter names them. */
export interface StatsRow {
  ID: string;
  Container: string;
  Name: string;
  CPUPerc: string;
  MemUsage: string;
  MemPerc: string;
  NetIO: string;
  BlockIO: string;
  PIDs: string;
}

/** statsRow computes the columns for `sample` of the container known by `container` on the command line. */
export function statsRow(container: string, s: StatsSample): StatsRow {
  const cpu = s.cpu_stats ?? {};
  const pre = s.precpu_stats ?? {};
  const cpuDelta = (cpu.cpu_usage?.total_usage ?? 0) - (pre.cpu_usage?.total_usage ?? 0);
  const sysDelta = (cpu.system_cpu_usage ?? 0) - (pre.system_cpu_usage ?? 0);
  const online = cpu.online_cpus || cpu.cpu_usage?.percpu_usage?.length || 0;
  const cpuPerc = sysDelta > 0 && cpuDelta > 0 ? (cpuDelta / sysDelta) * online * 100 : 0;
  const mem = s.memory_stats ?? {};
  let usage = mem.usage ?? 0;
  const inactive = mem.stats?.total_inactive_file ?? mem.stats?.inactive_file;
  if (inactive !== undefined && inactive < usage) usage -= inactive;
  const limit = mem.limit ?? 0;
  const memPerc = limit > 0 ? (usage / limit) * 100 : 0;
  let rx = 0;
  let tx = 0;
  for (const n of Object.values(s.networks ?? {})) {
    rx += n.rx_bytes;
    tx += n.tx_bytes;
  }
  let read = 0;
  let write = 0;
  for (const e of s.blkio_stats?.io_service_bytes_recursive ?? []) {
    const op = e.op.toLowerCase();
    if (op === "read") read += e.value;
    else if (op === "write") write += e.value;
  }
  const id = (s.id ?? "").slice(0, 12);
  return {
    ID: id,
    Container: container,
    Name: (s.name ?? "").replace(/^\//, "") || "--",
    CPUPerc: `${cpuPerc.toFixed(2)}%`,
    MemUsage: `${bytesSize(usage)} / ${bytesSize(limit)}`,
    MemPerc: `${memPerc.toFixed(2)}%`,
    NetIO: `${humanSizeWithPrecision(rx, 3)} / ${humanSizeWithPrecision(tx, 3)}`,
    BlockIO: `${humanSizeWithPrecision(read, 3)} / ${humanSizeWithPrecision(write, 3)}`,
    PIDs: String(s.pids_stats?.current ?? 0),
  };
}

/** STATS_TABLE is docker's default `stats` format. */
export const STATS_TABLE =
  "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";
