/**
 * `berth logout [SERVER]`: removes the stored credentials of a registry from docker's
 * config.json (or its credential helper). Purely client side, as docker's.
 *
 * @since 0.1.0
 */
import { DockerConfig } from "@berth/registry";
import type { CommandModule } from "../Command.ts";
import { normaliseServer } from "./login.ts";

/** command is `berth logout`. */
export const command: CommandModule = {
  spec: {
    name: "logout",
    use: "[SERVER]",
    short: "Log out from a registry",
    aliases: ["logout"],
    flags: [],
    args: { kind: "range", min: 0, max: 1 },
  },
  async run(inv) {
    const host = normaliseServer(inv.parsed.args[0]);
    const shown = inv.parsed.args[0] ?? host;
    const removed = await new DockerConfig().erase(host);
    if (!removed) {
      process.stdout.write(`Not logged in to ${shown}\n`);
      return 0;
    }
    process.stdout.write(`Removing login credentials for ${shown}\n`);
    return 0;
  },
};
