/**
 * `berth create`: `POST /containers/create` with the same body as `run` (pulling a missing
 * image), printing the new container's ID.
 *
 * @since 0.1.0
 */

import type { CommandModule } from "../Command.ts";
import { bool, str } from "../FlagParser.ts";
import { CREATE_FLAGS } from "../RunConfig.ts";
import { createContainer, parseCreateRequest } from "./createContainer.ts";

/** command is `berth create`. */
export const command: CommandModule = {
  spec: {
    name: "create",
    use: "[OPTIONS] IMAGE [COMMAND] [ARG...]",
    short: "Create a new container",
    aliases: ["container create", "create"],
    flags: CREATE_FLAGS,
    args: { kind: "min", n: 1 },
    interspersed: false,
    ownsShortH: true,
  },
  async run(inv) {
    const req = parseCreateRequest(inv.parsed, false, "create");
    const client = await inv.client();
    const pull = str(inv.parsed, "pull") ?? "missing";
    const id = await createContainer(client, req, pull, bool(inv.parsed, "quiet"), "create");
    process.stdout.write(`${id}\n`);
    return 0;
  },
};
