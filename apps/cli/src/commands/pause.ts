/**
 * `berth pause`: `POST /containers/{name}/pause` for each name.
 *
 * @since 0.1.0
 */
import type { CommandModule } from "../Command.ts";
import { forEachName } from "./forEachName.ts";

/** command is `berth pause`. */
export const command: CommandModule = {
  spec: {
    name: "pause",
    use: "CONTAINER [CONTAINER...]",
    short: "Pause all processes within one or more containers",
    aliases: ["container pause", "pause"],
    flags: [],
    args: { kind: "min", n: 1 },
  },
  async run(inv) {
    const client = await inv.client();
    return forEachName(inv.parsed.args, (name) =>
      client.request("POST", `/containers/${encodeURIComponent(name)}/pause`),
    );
  },
};
