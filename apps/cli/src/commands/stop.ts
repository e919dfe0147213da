/**
 * `berth stop`: `POST /containers/{name}/stop[?t=&signal=]` for each name.
 *
 * @since 0.1.0
 */
import type { CommandModule } from "../Command.ts";
import { forEachName } from "./forEachName.ts";
import { STOP_FLAGS, stopOptions } from "./stopOptions.ts";

/** command is `berth stop`. */
export const command: CommandModule = {
  spec: {
    name: "stop",
    use: "[OPTIONS] CONTAINER [CONTAINER...]",
    short: "Stop one or more running containers",
    aliases: ["container stop", "stop"],
    flags: STOP_FLAGS,
    args: { kind: "min", n: 1 },
  },
  async run(inv) {
    const client = await inv.client();
    const opts = stopOptions(inv.parsed);
    return forEachName(inv.parsed.args, (name) => client.containerStop(name, opts));
  },
};
