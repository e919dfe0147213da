/**
 * `berth unpause`: `POST /containers/{name}/unpause` for each name.
 *
 * @since 0.1.0
 */
import type { CommandModule } from "../Command.ts";
import { forEachName } from "./forEachName.ts";

/** command is `berth unpause`. */
export const command: CommandModule = {
  spec: {
    name: "unpause",
    use: "CONTAINER [CONTAINER...]",
    short: "Unpause all processes within one or more containers",
    aliases: ["container unpause", "unpause"],
    flags: [],
    args: { kind: "min", n: 1 },
  },
  async run(inv) {
    const client = await inv.client();
    return forEachName(inv.parsed.args, (name) =>
      client.request("POST", `/containers/${encodeURIComponent(name)}/unpause`),
    );
  },
};
