/**
 * `berth restart`: `POST /containers/{name}/restart[?t=&signal=]` for each name.
 *
 * @since 0.1.0
 */
import type { CommandModule } from "../Command.ts";
import { int, str } from "../FlagParser.ts";
import { forEachName } from "./forEachName.ts";

/** command is `berth restart`. */
export const command: CommandModule = {
  spec: {
    name: "restart",
    use: "[OPTIONS] CONTAINER [CONTAINER...]",
    short: "Restart one or more containers",
    aliases: ["container restart", "restart"],
    flags: [
      { name: "signal", short: "s", type: "string", usage: "Signal to send to the container" },
      { name: "timeout", short: "t", type: "int", usage: "Seconds to wait before killing the container" },
      { name: "time", type: "int", usage: "Seconds to wait before killing the container", hidden: true },
    ],
    args: { kind: "min", n: 1 },
  },
  async run(inv) {
    const client = await inv.client();
    const t = int(inv.parsed, "timeout") ?? int(inv.parsed, "time");
    const signal = str(inv.parsed, "signal");
    return forEachName(
      inv.parsed.args,
      (name) =>
        client.containerRestart(name, { ...(t === undefined ? {} : { t }), ...(signal ? { signal } : {}) }),
      { sequential: true },
    );
  },
};
