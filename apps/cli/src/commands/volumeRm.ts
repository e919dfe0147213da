/**
 * `berth volume rm [-f] VOLUME...`: `DELETE /volumes/{name}[?force=1]` per name; prints each
 * removed name, then the errors (docker's `remove x: volume is in use - [...]`), exit 1 on any.
 *
 * @since 0.1.0
 */
import type { CommandModule } from "../Command.ts";
import { bool } from "../FlagParser.ts";
import { forEachName } from "./forEachName.ts";

/** command is `berth volume rm`. */
export const command: CommandModule = {
  spec: {
    name: "volume rm",
    use: "[OPTIONS] VOLUME [VOLUME...]",
    short: "Remove one or more volumes",
    aliases: ["volume rm", "volume remove"],
    flags: [{ name: "force", short: "f", type: "bool", usage: "Force the removal of one or more volumes" }],
    args: { kind: "min", n: 1 },
  },
  async run(inv) {
    const client = await inv.client();
    const force = bool(inv.parsed, "force");
    return forEachName(
      inv.parsed.args,
      (name) =>
        client.request("DELETE", `/volumes/${encodeURIComponent(name)}`, {
          query: force ? { force: true } : {},
        }),
      { sequential: true },
    );
  },
};
