/**
 * `berth network rm NETWORK...`: `DELETE /networks/{id}` per name, docker's output and exit codes.
 *
 * @since 0.2.0
 */
import type { CommandModule } from "../Command.ts";
import { isNotFound } from "../daemonError.ts";
import { bool } from "../FlagParser.ts";
import { forEachName } from "./forEachName.ts";

/** command is `berth network rm`. */
export const command: CommandModule = {
  spec: {
    name: "network rm",
    use: "NETWORK [NETWORK...]",
    short: "Remove one or more networks",
    aliases: ["network rm", "network remove"],
    flags: [{ name: "force", short: "f", type: "bool", usage: "Do not error if the network does not exist" }],
    args: { kind: "min", n: 1 },
  },
  async run(inv) {
    const client = await inv.client();
    const force = bool(inv.parsed, "force");
    return forEachName(
      inv.parsed.args,
      (name) => client.request("DELETE", `/networks/${encodeURIComponent(name)}`),
      { sequential: true, ...(force ? { tolerate: isNotFound } : {}) },
    );
  },
};
