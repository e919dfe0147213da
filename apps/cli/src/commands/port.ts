/**
 * `berth port CONTAINER [PRIVATE_PORT[/PROTO]]`: the container's published ports from inspect's
 * `NetworkSettings.Ports`, as docker prints them (`80/tcp -> 0.0.0.0:4000`).
 *
 * @since 0.2.0
 */
import { type CommandModule, StatusError } from "../Command.ts";

/** command is `berth port`. */
export const command: CommandModule = {
  spec: {
    name: "port",
    use: "CONTAINER [PRIVATE_PORT[/PROTO]]",
    short: "List port mappings or a specific mapping for the container",
    flags: [],
    args: { kind: "range", min: 1, max: 2 },
  },
  async run(inv) {
    const [name, wanted] = inv.parsed.args as [string, string | undefined];
    const client = await inv.client();
    const info = (await client.containerInspect(name)) as {
      NetworkSettings?: { Ports?: Record<string, { HostIp: string; HostPort: string }[] | null> };
    };
    const ports = info.NetworkSettings?.Ports ?? {};
    const hostAddr = (b: { HostIp: string; HostPort: string }) =>
      `${b.HostIp.includes(":") ? `[${b.HostIp}]` : b.HostIp}:${b.HostPort}`;
    if (wanted) {
      const key = wanted.includes("/") ? wanted : `${wanted}/tcp`;
      const bindings = ports[key];
      if (!bindings || bindings.length === 0)
        throw new StatusError(`Error: No public port '${key}' published for ${name}`, 1);
      process.stdout.write(bindings.map((b) => `${hostAddr(b)}\n`).join(""));
      return 0;
    }
    const keys = Object.keys(ports).sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10));
    let out = "";
    for (const k of keys) for (const b of ports[k] ?? []) out += `${k} -> ${hostAddr(b)}\n`;
    process.stdout.write(out);
    return 0;
  },
};
