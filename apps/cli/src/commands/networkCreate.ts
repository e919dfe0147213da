/**
 * `berth network create [OPTIONS] NETWORK`: `POST /networks/create`, prints the new network's ID.
 *
 * @since 0.2.0
 */
import type { CommandModule } from "../Command.ts";
import { bool, list, str } from "../FlagParser.ts";
import { keyValues } from "../keyValues.ts";

/** command is `berth network create`. */
export const command: CommandModule = {
  spec: {
    name: "network create",
    use: "[OPTIONS] NETWORK",
    short: "Create a network",
    flags: [
      { name: "attachable", type: "bool", usage: "Enable manual container attachment" },
      {
        name: "driver",
        short: "d",
        type: "string",
        usage: "Driver to manage the Network",
        defaultText: '"bridge"',
      },
      { name: "gateway", type: "list", usage: "IPv4 or IPv6 Gateway for the master subnet" },
      { name: "internal", type: "bool", usage: "Restrict external access to the network" },
      { name: "ip-range", type: "list", usage: "Allocate container ip from a sub-range" },
      {
        name: "ipam-driver",
        type: "string",
        usage: "IP Address Management Driver",
        defaultText: '"default"',
      },
      { name: "ipam-opt", type: "list", usage: "Set IPAM driver specific options" },
      { name: "ipv6", type: "bool", usage: "Enable or disable IPv6 networking" },
      { name: "label", type: "list", usage: "Set metadata on a network" },
      { name: "opt", short: "o", type: "list", usage: "Set driver specific options" },
      { name: "subnet", type: "list", usage: "Subnet in CIDR format that represents a network segment" },
    ],
    args: { kind: "exact", n: 1 },
  },
  async run(inv) {
    const p = inv.parsed;
    const subnets = list(p, "subnet");
    const gateways = list(p, "gateway");
    const ranges = list(p, "ip-range");
    if (gateways.length > subnets.length || ranges.length > subnets.length) {
      throw new Error("every ip-range or gateway must have a corresponding subnet");
    }
    const body = {
      Name: p.args[0],
      Driver: str(p, "driver") ?? "bridge",
      Internal: bool(p, "internal"),
      Attachable: bool(p, "attachable"),
      EnableIPv6: bool(p, "ipv6"),
      IPAM: {
        Driver: str(p, "ipam-driver") ?? "default",
        Options: keyValues(list(p, "ipam-opt")),
        Config: subnets.map((s, i) => ({
          Subnet: s,
          ...(gateways[i] ? { Gateway: gateways[i] } : {}),
          ...(ranges[i] ? { IPRange: ranges[i] } : {}),
        })),
      },
      Options: keyValues(list(p, "opt")),
      Labels: keyValues(list(p, "label")),
    };
    const client = await inv.client();
    const res = await client.request("POST", "/networks/create", { body });
    const { Id } = JSON.parse(res.body.toString("utf8")) as { Id: string };
    process.stdout.write(`${Id}\n`);
    return 0;
  },
};
