import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { Conflict, InvalidArgument } from "@berth/errdefs";
import type { HostConfig } from "./types.ts";

/**
 * UpdateConfig is docker's `POST /containers/{id}/update` body: the resource fields of a
 * HostConfig (zero means "leave as is", `PidsLimit: null` too) and an optional restart policy.
 */
export interface UpdateConfig {
  Memory?: number;
  MemorySwap?: number;
  MemoryReservation?: number;
  NanoCpus?: number;
  CpuShares?: number;
  CpuPeriod?: number;
  CpuQuota?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  PidsLimit?: number | null;
  BlkioWeight?: number;
  KernelMemory?: number;
  RestartPolicy?: { Name?: string; MaximumRetryCount?: number };
  [key: string]: unknown;
}

/** UpdatePlan is what an update does: the new HostConfig, what to change live, and docker's warnings. */
export interface UpdatePlan {
  hostConfig: HostConfig;
  /** Changed limits for `runc update` (absent when no resource changed). */
  live?: {
    memory?: number;
    memorySwap?: number;
    memoryReservation?: number;
    cpuShares?: number;
    cpuPeriod?: number;
    cpuQuota?: number;
    pidsLimit?: number;
    cpusetCpus?: string;
    cpusetMems?: string;
  };
  warnings: string[];
}

const MIN_MEMORY = 6 * 1024 * 1024;
const DEFAULT_CFS_PERIOD = 100_000;

/**
 * planUpdate applies an update body to a container's HostConfig with dockerd's rules
 * (`container.UpdateContainer` and the resource checks of `verifyContainerSettings`): a field
 * that is zero stays; NanoCpus and CpuPeriod/CpuQuota exclude each other across updates; a new
 * memory limit above the current swap limit needs a new swap limit; AutoRemove containers keep
 * their "no" restart policy. Errors are thrown as docker words them (the caller prefixes
 * `Cannot update container <id>: ` where dockerd does).
 */
export function planUpdate(
  current: HostConfig,
  u: UpdateConfig,
  opts: { ncpu?: number; blkioWeightSupported?: boolean } = {},
): UpdatePlan {
  const ncpu = opts.ncpu ?? Math.max(1, availableParallelism());
  const warnings: string[] = [];
  const n = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);
  const memory = n(u.Memory);
  const swap = n(u.MemorySwap);
  const reservation = n(u.MemoryReservation);
  const nano = n(u.NanoCpus);
  const shares = n(u.CpuShares);
  const period = n(u.CpuPeriod);
  const quota = n(u.CpuQuota);

  // verifyContainerSettings: the values on their own.
  if (memory !== 0 && memory < MIN_MEMORY) throw new InvalidArgument("Minimum memory limit allowed is 6MB");
  if (memory > 0 && swap > 0 && swap < memory)
    throw new InvalidArgument("Minimum memoryswap limit should be larger than memory limit, see usage");
  if (memory > 0 && reservation > 0 && reservation > memory)
    throw new InvalidArgument(
      "Minimum memory limit can not be less than memory reservation limit, see usage",
    );
  if (nano < 0 || nano > ncpu * 1e9)
    throw new InvalidArgument(
      `Range of CPUs is from 0.01 to ${ncpu}.00, as there are only ${ncpu} CPUs available`,
    );
  if (nano > 0 && (period > 0 || quota > 0))
    throw new InvalidArgument("Conflicting options: Nano CPUs and CPU Period cannot both be set");
  if (period !== 0 && (period < 1000 || period > 1_000_000))
    throw new InvalidArgument(
      "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
    );
  if (quota > 0 && quota < 1000)
    throw new InvalidArgument("CPU cfs quota can not be less than 1ms (i.e. 1000)");
  if (shares < 0) throw new InvalidArgument(`invalid CPU shares ${shares}: expected a positive number`);
  if (n(u.KernelMemory) !== 0)
    warnings.push("Kernel memory limit is not supported by Berth (cgroup v1 kmem is deprecated); discarded.");
  if (n(u.BlkioWeight) !== 0 && opts.blkioWeightSupported === false)
    warnings.push(
      "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.",
    );

  // UpdateContainer: against what the container has.
  const cur = current;
  if (nano > 0 && n(cur.CpuPeriod) > 0)
    throw new Conflict("Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set");
  if (nano > 0 && n(cur.CpuQuota) > 0)
    throw new Conflict("Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set");
  if (period > 0 && n(cur.NanoCpus) > 0)
    throw new Conflict("Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set");
  if (quota > 0 && n(cur.NanoCpus) > 0)
    throw new Conflict("Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set");
  if (memory !== 0 && memory > n(cur.MemorySwap) && swap === 0 && n(cur.MemorySwap) !== -1)
    throw new Conflict(
      "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time",
    );

  const hc: HostConfig = { ...cur };
  const live: NonNullable<UpdatePlan["live"]> = {};
  if (shares !== 0) hc.CpuShares = live.cpuShares = shares;
  if (nano !== 0) {
    hc.NanoCpus = nano;
    live.cpuPeriod = DEFAULT_CFS_PERIOD;
    live.cpuQuota = Math.round((nano * DEFAULT_CFS_PERIOD) / 1e9);
  }
  if (period !== 0) hc.CpuPeriod = live.cpuPeriod = period;
  if (quota !== 0) hc.CpuQuota = live.cpuQuota = quota;
  if (typeof u.CpusetCpus === "string" && u.CpusetCpus !== "") hc.CpusetCpus = live.cpusetCpus = u.CpusetCpus;
  if (typeof u.CpusetMems === "string" && u.CpusetMems !== "") hc.CpusetMems = live.cpusetMems = u.CpusetMems;
  if (memory !== 0) hc.Memory = live.memory = memory;
  if (swap !== 0) hc.MemorySwap = live.memorySwap = swap;
  if (reservation !== 0) hc.MemoryReservation = live.memoryReservation = reservation;
  if (n(u.BlkioWeight) !== 0 && opts.blkioWeightSupported !== false) hc.BlkioWeight = n(u.BlkioWeight);
  if (u.PidsLimit !== undefined && u.PidsLimit !== null) {
    const p = n(u.PidsLimit);
    hc.PidsLimit = p > 0 ? p : null;
    live.pidsLimit = p > 0 ? p : -1;
  }
  const rp = u.RestartPolicy?.Name ?? "";
  if (rp !== "") {
    if (!["no", "always", "unless-stopped", "on-failure"].includes(rp))
      throw new InvalidArgument(`invalid restart policy '${rp}'`);
    if (cur.AutoRemove && rp !== "no")
      throw new Conflict("Restart policy cannot be updated because AutoRemove is enabled for the container");
    const max = n(u.RestartPolicy?.MaximumRetryCount);
    if (max < 0) throw new InvalidArgument("invalid restart policy: maximum retry count can't be negative");
    if (max > 0 && rp !== "on-failure")
      throw new InvalidArgument(
        `invalid restart policy: maximum retry count can only be used with 'on-failure'`,
      );
    hc.RestartPolicy = { Name: rp, MaximumRetryCount: max };
  }
  return Object.keys(live).length > 0 ? { hostConfig: hc, live, warnings } : { hostConfig: hc, warnings };
}

/** blkioWeightSupported tells whether the host's blkio controller has `blkio.weight` (CFQ/BFQ). */
export function blkioWeightSupported(fsRoot = "/sys/fs/cgroup"): boolean {
  return existsSync(`${fsRoot}/blkio/blkio.weight`) || existsSync(`${fsRoot}/blkio/blkio.bfq.weight`);
}
