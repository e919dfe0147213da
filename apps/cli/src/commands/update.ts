/**
 * `berth update`: `POST /containers/{name}/update` for each name with the resource flags that were
 * set and `--restart`; prints each name, then the daemon's warnings.
 *
 * @since 0.1.0
 */
import { type CommandModule, StatusError } from "../Command.ts";
import { describeError } from "../daemonError.ts";
import { FlagError, int, type ParsedArgs, str } from "../FlagParser.ts";
import { parseRestartPolicy } from "../RunConfig.ts";
import { parseNanoCpus, ramInBytes } from "../units.ts";

const bytes = (v: string): number => (v === "-1" ? -1 : ramInBytes(v));

/** updateBody builds docker's UpdateConfig from the flags the user set. */
export function updateBody(p: ParsedArgs): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const s = (name: string) => (p.changed.has(name) ? str(p, name) : undefined);
  const n = (name: string) => (p.changed.has(name) ? int(p, name) : undefined);
  const size = (flag: string, field: string) => {
    const v = s(flag);
    if (v === undefined) return;
    try {
      body[field] = bytes(v);
    } catch (err) {
      throw new FlagError(`invalid argument "${v}" for "--${flag}" flag: ${(err as Error).message}`);
    }
  };
  size("memory", "Memory");
  size("memory-swap", "MemorySwap");
  size("memory-reservation", "MemoryReservation");
  size("kernel-memory", "KernelMemory");
  const cpus = s("cpus");
  if (cpus !== undefined) {
    try {
      body.NanoCpus = parseNanoCpus(cpus);
    } catch (err) {
      throw new FlagError(`invalid argument "${cpus}" for "--cpus" flag: ${(err as Error).message}`);
    }
  }
  const num: Array<[string, string]> = [
    ["cpu-shares", "CpuShares"],
    ["cpu-period", "CpuPeriod"],
    ["cpu-quota", "CpuQuota"],
    ["cpu-rt-period", "CpuRealtimePeriod"],
    ["cpu-rt-runtime", "CpuRealtimeRuntime"],
    ["blkio-weight", "BlkioWeight"],
  ];
  for (const [flag, field] of num) {
    const v = n(flag);
    if (v !== undefined) body[field] = v;
  }
  const pids = n("pids-limit");
  if (pids !== undefined) body.PidsLimit = pids;
  const cpusetCpus = s("cpuset-cpus");
  if (cpusetCpus !== undefined) body.CpusetCpus = cpusetCpus;
  const cpusetMems = s("cpuset-mems");
  if (cpusetMems !== undefined) body.CpusetMems = cpusetMems;
  const restart = s("restart");
  if (restart !== undefined) body.RestartPolicy = parseRestartPolicy(restart);
  return body;
}

/** command is `berth update`. */
export const command: CommandModule = {
  spec: {
    name: "update",
    use: "[OPTIONS] CONTAINER [CONTAINER...]",
    short: "Update configuration of one or more containers",
    aliases: ["container update", "update"],
    flags: [
      {
        name: "blkio-weight",
        type: "int",
        usage: "Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)",
        valueName: "uint16",
      },
      { name: "cpu-period", type: "int", usage: "Limit CPU CFS (Completely Fair Scheduler) period" },
      { name: "cpu-quota", type: "int", usage: "Limit CPU CFS (Completely Fair Scheduler) quota" },
      { name: "cpu-rt-period", type: "int", usage: "Limit the CPU real-time period in microseconds" },
      { name: "cpu-rt-runtime", type: "int", usage: "Limit the CPU real-time runtime in microseconds" },
      { name: "cpu-shares", short: "c", type: "int", usage: "CPU shares (relative weight)" },
      { name: "cpus", type: "string", usage: "Number of CPUs", valueName: "decimal" },
      { name: "cpuset-cpus", type: "string", usage: "CPUs in which to allow execution (0-3, 0,1)" },
      { name: "cpuset-mems", type: "string", usage: "MEMs in which to allow execution (0-3, 0,1)" },
      {
        name: "kernel-memory",
        type: "string",
        usage: "Kernel memory limit (deprecated)",
        valueName: "bytes",
        hidden: true,
      },
      { name: "memory", short: "m", type: "string", usage: "Memory limit", valueName: "bytes" },
      { name: "memory-reservation", type: "string", usage: "Memory soft limit", valueName: "bytes" },
      {
        name: "memory-swap",
        type: "string",
        usage: "Swap limit equal to memory plus swap: -1 to enable unlimited swap",
        valueName: "bytes",
      },
      { name: "pids-limit", type: "int", usage: "Tune container pids limit (set -1 for unlimited)" },
      { name: "restart", type: "string", usage: "Restart policy to apply when a container exits" },
    ],
    args: { kind: "min", n: 1 },
  },
  async run(inv) {
    if (inv.parsed.changed.size === 0)
      throw new StatusError("you must provide one or more flags when using this command", 1);
    const body = updateBody(inv.parsed);
    const client = await inv.client();
    const warnings: string[] = [];
    const errors: string[] = [];
    for (const name of inv.parsed.args) {
      try {
        const res = await client.request("POST", `/containers/${encodeURIComponent(name)}/update`, { body });
        const r = JSON.parse(res.body.toString("utf8")) as { Warnings?: string[] | null };
        process.stdout.write(`${name}\n`);
        warnings.push(...(r.Warnings ?? []));
      } catch (err) {
        errors.push(describeError(err));
      }
    }
    if (warnings.length > 0) process.stdout.write(`${warnings.join("\n")}\n`);
    if (errors.length > 0) throw new StatusError(errors.join("\n"), 1);
    return 0;
  },
};
