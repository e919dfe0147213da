import { InvalidArgument } from "@berth/errdefs";
import { buildSpec, resolveUser, type SpecOptions } from "@berth/runtime";
import { specMounts } from "./ContainerMounts.ts";
import type { ContainerRecord } from "./types.ts";

/** The cgroup parent every Berth container lives under (`/sys/fs/cgroup/<controller>/berth/<id>`). */
export const CGROUP_PARENT = "/berth";

/**
 * containerSpec turns a container record into an OCI runtime spec: the merged command, env, user
 * (resolved inside the container's own /etc/passwd, never the host's), working dir, hostname and
 * limits, plus docker's generated /etc/hostname, /etc/hosts and /etc/resolv.conf bind mounts,
 * then the container's volumes, binds and tmpfs mounts.
 */
export async function containerSpec(rec: ContainerRecord): Promise<unknown> {
  const c = rec.config;
  const hc = rec.hostConfig;
  const rootfs = rec.rootfs.merged;
  const user = await resolveUser(rootfs, c.User ?? "");
  const cwd = c.WorkingDir && c.WorkingDir !== "" ? c.WorkingDir : "/";
  if (!cwd.startsWith("/"))
    throw new InvalidArgument(`the working directory '${cwd}' is invalid, it needs to be an absolute path`);
  // A network namespace made by the network service (bridge networks, `container:`), the host's,
  // or a new one with only `lo` (`none`, and engines without a network service).
  const network = rec.sandboxKey ?? (hc.NetworkMode === "host" ? "host" : "new");
  const opts: SpecOptions = {
    rootfs,
    readonlyRootfs: hc.ReadonlyRootfs === true,
    args: [rec.path, ...rec.args],
    env: c.Env ?? [],
    cwd,
    user,
    hostname: c.Hostname ?? rec.id.slice(0, 12),
    terminal: c.Tty === true,
    privileged: hc.Privileged === true,
    capAdd: hc.CapAdd ?? [],
    capDrop: hc.CapDrop ?? [],
    ...(hc.Memory ? { memory: hc.Memory } : {}),
    ...(hc.MemorySwap ? { memorySwap: hc.MemorySwap } : {}),
    ...(hc.MemoryReservation ? { memoryReservation: hc.MemoryReservation } : {}),
    ...(hc.NanoCpus ? { nanoCpus: hc.NanoCpus } : {}),
    ...(hc.CpuShares ? { cpuShares: hc.CpuShares } : {}),
    ...(hc.CpuQuota ? { cpuQuota: hc.CpuQuota } : {}),
    ...(hc.CpuPeriod ? { cpuPeriod: hc.CpuPeriod } : {}),
    ...(hc.PidsLimit && hc.PidsLimit > 0 ? { pidsLimit: hc.PidsLimit } : {}),
    ...(hc.ShmSize ? { shmSize: hc.ShmSize } : {}),
    ...(hc.OomScoreAdj ? { oomScoreAdj: hc.OomScoreAdj } : {}),
    ...(hc.Sysctls ? { sysctls: hc.Sysctls } : {}),
    namespaces: { network },
    cgroupsPath: `${CGROUP_PARENT}/${rec.id}`,
    mounts: [
      {
        destination: "/etc/resolv.conf",
        type: "bind",
        source: rec.resolvConfPath,
        options: ["rbind", "rprivate"],
      },
      {
        destination: "/etc/hostname",
        type: "bind",
        source: rec.hostnamePath,
        options: ["rbind", "rprivate"],
      },
      { destination: "/etc/hosts", type: "bind", source: rec.hostsPath, options: ["rbind", "rprivate"] },
      // Volumes, binds and tmpfs after docker's /etc files (buildSpec orders parents first).
      ...specMounts(rec.mounts ?? []),
    ],
    annotations: { "org.berth.container.name": rec.name },
  };
  return buildSpec(opts);
}
