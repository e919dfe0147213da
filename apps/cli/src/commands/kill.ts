/**
 * `berth kill`: `POST /containers/{name}/kill[?signal=]` for each name.
 *
 * @since 0.1.0
 */
import type { CommandModule } from "../Command.ts";
import { str } from "../FlagParser.ts";
import { forEachName } from "./forEachName.ts";

/** command is `berth kill`. */
export const command: CommandModule = {
  spec: {
    name: "kill",
    use: "[OPTIONS] CONTAINER [CONTAINER...]",
    short: "Kill one or more running containers",
    aliases: ["container kill", "kill"],
    flags: [{ name: "signal", short: "s", type: "string", usage: "Signal to send to the container" }],
    args: { kind: "min", n: 1 },
  },
  async run(inv) {
    const client = await inv.client();
    const signal = str(inv.parsed, "signal");
    return forEachName(inv.parsed.args, (name) => client.containerKill(name, signal ? { signal } : {}));
  },
};
