/**
 * `berth rename`: `POST /containers/{name}/rename?name=NEW`.
 *
 * @since 0.1.0
 */
import { type CommandModule, StatusError } from "../Command.ts";
import { describeError } from "../daemonError.ts";

/** command is `berth rename`. */
export const command: CommandModule = {
  spec: {
    name: "rename",
    use: "CONTAINER NEW_NAME",
    short: "Rename a container",
    aliases: ["container rename", "rename"],
    flags: [],
    args: { kind: "exact", n: 2 },
  },
  async run(inv) {
    const [oldName = "", newName = ""] = inv.parsed.args;
    if (oldName.trim() === "" || newName.trim() === "")
      throw new StatusError("Error: Neither old nor new names may be empty", 1);
    const client = await inv.client();
    try {
      await client.request("POST", `/containers/${encodeURIComponent(oldName)}/rename`, {
        query: { name: newName },
      });
    } catch (err) {
      process.stderr.write(`${describeError(err)}\n`);
      throw new StatusError(`Error: failed to rename container named ${oldName}`, 1);
    }
    return 0;
  },
};
