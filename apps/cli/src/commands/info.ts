/**
 * `berth info` (`system info`): the Client section and the Server section from `GET /info`, in
 * docker v28's layout; `--format` runs a template over the info (`json` for all of it).
 *
 * @since 0.1.0
 */
import type { SystemInfo } from "@berth/api";
import { type CommandModule, StatusError } from "../Command.ts";
import { describeError } from "../daemonError.ts";
import { str } from "../FlagParser.ts";
import { renderObject } from "../Formatter.ts";
import { bytesSize } from "../units.ts";
import { OBJECT_FORMAT_FLAG } from "./commonFlags.ts";
import { CLI_VERSION } from "./version.ts";

/** formatInfo renders docker's Server section of `docker info`. */
export function formatInfo(i: SystemInfo): string {
  // biome-ignore lint/suspicious/noExplicitAny: the generated type is wider than what we read
  const info = i as any;
  const lines: string[] = ["Server:"];
  const add = (s: string) => lines.push(s);
  add(` Containers: ${info.Containers ?? 0}`);
  add(`  Running: ${info.ContainersRunning ?? 0}`);
  add(`  Paused: ${info.ContainersPaused ?? 0}`);
  add(`  Stopped: ${info.ContainersStopped ?? 0}`);
  add(` Images: ${info.Images ?? 0}`);
  add(` Server Version: ${info.ServerVersion ?? ""}`);
  add(` Storage Driver: ${info.Driver ?? ""}`);
  for (const pair of (info.DriverStatus ?? []) as Array<[string, string]>) add(`  ${pair[0]}: ${pair[1]}`);
  add(` Logging Driver: ${info.LoggingDriver ?? ""}`);
  add(` Cgroup Driver: ${info.CgroupDriver ?? ""}`);
  add(` Cgroup Version: ${info.CgroupVersion ?? ""}`);
  if (info.Plugins) {
    add(" Plugins:");
    add(`  Volume: ${(info.Plugins.Volume ?? []).join(" ")}`);
    add(`  Network: ${(info.Plugins.Network ?? []).join(" ")}`);
    if (info.Plugins.Log) add(`  Log: ${(info.Plugins.Log ?? []).join(" ")}`);
  }
  add(` Swarm: ${info.Swarm?.LocalNodeState || "inactive"}`);
  if (info.Runtimes) add(` Runtimes: ${Object.keys(info.Runtimes).sort().join(" ")}`);
  add(` Default Runtime: ${info.DefaultRuntime ?? ""}`);
  if (info.InitBinary !== undefined) add(` Init Binary: ${info.InitBinary}`);
  if (info.ContainerdCommit) add(` containerd version: ${info.ContainerdCommit.ID ?? ""}`);
  if (info.RuncCommit) add(` runc version: ${info.RuncCommit.ID ?? ""}`);
  if (info.InitCommit) add(` init version: ${info.InitCommit.ID ?? ""}`);
  const secopts = (info.SecurityOptions ?? []) as string[];
  if (secopts.length > 0) {
    add(" Security Options:");
    for (const o of secopts) {
      const kv = Object.fromEntries(
        o.split(",").map((part) => {
          const eq = part.indexOf("=");
          return [part.slice(0, eq), part.slice(eq + 1)];
        }),
      ) as Record<string, string>;
      add(`  ${kv.name ?? o}`);
      for (const [k, v] of Object.entries(kv)) {
        if (k === "name") continue;
        add(`   ${k === "profile" ? "Profile" : k}: ${v}`);
      }
    }
  }
  add(` Kernel Version: ${info.KernelVersion ?? ""}`);
  add(` Operating System: ${info.OperatingSystem ?? ""}`);
  add(` OSType: ${info.OSType ?? ""}`);
  add(` Architecture: ${info.Architecture ?? ""}`);
  add(` CPUs: ${info.NCPU ?? 0}`);
  add(` Total Memory: ${bytesSize(info.MemTotal ?? 0)}`);
  add(` Name: ${info.Name ?? ""}`);
  add(` ID: ${info.ID ?? ""}`);
  add(` Docker Root Dir: ${info.DockerRootDir ?? ""}`);
  add(` Debug Mode: ${info.Debug ?? false}`);
  if (info.Labels && info.Labels.length > 0) {
    add(" Labels:");
    for (const l of info.Labels as string[]) add(`  ${l}`);
  }
  add(` Experimental: ${info.ExperimentalBuild ?? false}`);
  const cidrs = (info.RegistryConfig?.InsecureRegistryCIDRs ?? []) as string[];
  if (cidrs.length > 0) {
    add(" Insecure Registries:");
    for (const c of cidrs) add(`  ${c}`);
  }
  add(` Live Restore Enabled: ${info.LiveRestoreEnabled ?? false}`);
  return `${lines.join("\n")}\n\n`;
}

/** command is `berth info`. */
export const command: CommandModule = {
  spec: {
    name: "info",
    use: "[OPTIONS]",
    short: "Display system-wide information",
    aliases: ["system info", "info"],
    flags: [OBJECT_FORMAT_FLAG],
    args: { kind: "none" },
  },
  async run(inv) {
    const format = str(inv.parsed, "format");
    const client = await inv.client();
    if (format !== undefined && format !== "") {
      process.stdout.write(renderObject(format, await client.info()));
      return 0;
    }
    process.stdout.write(
      `Client:\n Version:    ${CLI_VERSION}\n Context:    default\n Debug Mode: false\n\n`,
    );
    let info: SystemInfo;
    try {
      info = await client.info();
    } catch (err) {
      throw new StatusError(describeError(err), 1);
    }
    process.stdout.write(formatInfo(info));
    return 0;
  },
};
