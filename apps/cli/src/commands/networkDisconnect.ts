/**
 * `berth network disconnect [-f] NETWORK CONTAINER`: `POST /networks/{id}/disconnect`.
 *
 * @since 0.2.0
 */
import type { CommandModule } from "../Command.ts";
import { bool } from "../FlagParser.ts";

/** command is `berth network disconnect`. */
export const command: CommandModule = {
  spec: {
    name: "network disconnect",
    use: "[OPTIONS] NETWORK CONTAINER",
    short: "Disconnect a container from a network",
    flags: [
      { name: "force", short: "f", type: "bool", usage: "Force the container to disconnect from a network" },
    ],
    args: { kind: "exact", n: 2 },
  },
  async run(inv) {
    const [network, container] = inv.parsed.args as [string, string];
    const client = await inv.client();
    await client.request("POST", `/networks/${encodeURIComponent(network)}/disconnect`, {
      body: { Container: container, Force: bool(inv.parsed, "force") },
    });
    return 0;
  },
};
