/**
 * `berth network connect [--alias A] [--ip IP] NETWORK CONTAINER`: `POST /networks/{id}/connect`.
 *
 * @since 0.2.0
 */
import type { CommandModule } from "../Command.ts";
import { list, str } from "../FlagParser.ts";

/** command is `berth network connect`. */
export const command: CommandModule = {
  spec: {
    name: "network connect",
    use: "[OPTIONS] NETWORK CONTAINER",
    short: "Connect a container to a network",
    flags: [
      { name: "alias", type: "list", usage: "Add network-scoped alias for the container" },
      { name: "ip", type: "string", usage: 'IPv4 address (e.g., "172.30.100.104")' },
      { name: "link", type: "list", usage: "Add link to another container", hidden: true },
    ],
    args: { kind: "exact", n: 2 },
  },
  async run(inv) {
    const p = inv.parsed;
    const [network, container] = p.args as [string, string];
    const ip = str(p, "ip");
    const client = await inv.client();
    await client.request("POST", `/networks/${encodeURIComponent(network)}/connect`, {
      body: {
        Container: container,
        EndpointConfig: {
          ...(ip ? { IPAMConfig: { IPv4Address: ip } } : {}),
          Aliases: list(p, "alias"),
        },
      },
    });
    return 0;
  },
};
