/**
 * `berth volume create [OPTIONS] [VOLUME]`: `POST /volumes/create` and print the volume's name.
 *
 * @since 0.1.0
 */
import { type CommandModule, StatusError } from "../Command.ts";
import { list, str } from "../FlagParser.ts";
import { keyValues } from "../keyValues.ts";

/** command is `berth volume create`. */
export const command: CommandModule = {
  spec: {
    name: "volume create",
    use: "[OPTIONS] [VOLUME]",
    short: "Create a volume",
    flags: [
      {
        name: "driver",
        short: "d",
        type: "string",
        usage: "Specify volume driver name",
        defaultText: '"local"',
      },
      { name: "label", type: "list", usage: "Set metadata for a volume" },
      { name: "name", type: "string", usage: "Specify volume name", hidden: true },
      { name: "opt", short: "o", type: "list", usage: "Set driver specific options" },
    ],
    args: { kind: "range", min: 0, max: 1 },
  },
  async run(inv) {
    const p = inv.parsed;
    const flagName = str(p, "name");
    const argName = p.args[0];
    if (flagName !== undefined && argName !== undefined && flagName !== argName) {
      throw new StatusError(
        `conflicting options: cannot specify a volume-name through both --name and as a positional arg`,
        1,
      );
    }
    const body = {
      Driver: str(p, "driver") ?? "local",
      DriverOpts: keyValues(list(p, "opt")),
      Labels: keyValues(list(p, "label")),
      Name: argName ?? flagName ?? "",
    };
    const client = await inv.client();
    const res = await client.request("POST", "/volumes/create", { body });
    const vol = JSON.parse(res.body.toString("utf8")) as { Name: string };
    process.stdout.write(`${vol.Name}\n`);
    return 0;
  },
};
