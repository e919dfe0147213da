/**
 * `berth wait`: `POST /containers/{name}/wait` for each name, one after the other, printing
 * each exit code.
 *
 * @since 0.1.0
 */
import type { CommandModule } from "../Command.ts";
import { forEachName } from "./forEachName.ts";

/** command is `berth wait`. */
export const command: CommandModule = {
  spec: {
    name: "wait",
    use: "CONTAINER [CONTAINER...]",
    short: "Block until one or more containers stop, then print their exit codes",
    aliases: ["container wait", "wait"],
    flags: [],
    args: { kind: "min", n: 1 },
  },
  async run(inv) {
    const client = await inv.client();
    return forEachName(inv.parsed.args, (name) => client.containerWait(name), {
      sequential: true,
      output: (_name, result) => String((result as { StatusCode: number }).StatusCode),
    });
  },
};
