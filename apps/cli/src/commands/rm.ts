/**
 * `berth rm`: `DELETE /containers/{name}[?force=1&v=1]` for each name; with `-f` a missing
 * container is reported but does not fail the command (docker v28).
 *
 * @since 0.1.0
 */
import { type CommandModule, StatusError } from "../Command.ts";
import { isNotFound } from "../daemonError.ts";
import { bool } from "../FlagParser.ts";
import { forEachName } from "./forEachName.ts";

/** command is `berth rm`. */
export const command: CommandModule = {
  spec: {
    name: "rm",
    use: "[OPTIONS] CONTAINER [CONTAINER...]",
    short: "Remove one or more containers",
    aliases: ["container rm", "container remove", "rm"],
    flags: [
      {
        name: "force",
        short: "f",
        type: "bool",
        usage: "Force the removal of a running container (uses SIGKILL)",
      },
      { name: "link", short: "l", type: "bool", usage: "Remove the specified link" },
      {
        name: "volumes",
        short: "v",
        type: "bool",
        usage: "Remove anonymous volumes associated with the container",
      },
    ],
    args: { kind: "min", n: 1 },
  },
  async run(inv) {
    const client = await inv.client();
    const force = bool(inv.parsed, "force");
    const v = bool(inv.parsed, "volumes");
    return forEachName(
      inv.parsed.args,
      async (raw) => {
        const name = raw.replace(/^\/+|\/+$/g, "");
        if (name === "") throw new StatusError("container name cannot be empty", 1);
        await client.containerRemove(name, { ...(force ? { force } : {}), ...(v ? { v } : {}) });
      },
      { tolerate: (err) => force && isNotFound(err) },
    );
  },
};
