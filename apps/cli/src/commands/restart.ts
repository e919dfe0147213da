/**
 * `berth restart`: `POST /containers/{name}/restart[?t=&signal=]` for each name.
 *
 * @since 0.1.0
 */
import type { CommandModule } from "../Command.ts";
import { forEachName } from "./forEachName.ts";
import { STOP_FLAGS, stopOptions } from "./stopOptions.ts";

/** command is `berth restart`. */
export const command: CommandModule = {
  spec: {
    name: "restart",
    use: "[OPTIONS] CONTAINER [CONTAINER...]",
    short: "Restart one or more containers",
    aliases: ["container restart", "restart"],
    flags: STOP_FLAGS,
    args: { kind: "min", n: 1 },
  },
  async run(inv) {
    const client = await inv.client();
    const opts = stopOptions(inv.parsed);
    return forEachName(inv.parsed.args, (name) => client.containerRestart(name, opts), {
      sequential: true,
    });
  },
};
