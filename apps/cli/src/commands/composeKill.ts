/**
 * `berth compose kill`: send a signal (default SIGKILL) to service containers.
 *
 * @since 0.1.0
 */
import { str } from "../FlagParser.ts";
import type { ComposeSubcommand } from "./composeContext.ts";

/** subcommand is `berth compose kill`. */
export const subcommand: ComposeSubcommand = {
  spec: {
    name: "compose kill",
    use: "[OPTIONS] [SERVICE...]",
    short: "Force stop service containers",
    flags: [
      {
        name: "signal",
        short: "s",
        type: "string",
        usage: "SIGNAL to send to the container",
        defaultText: '"SIGKILL"',
      },
    ],
    args: { kind: "any" },
  },
  async run(ctx) {
    const compose = await ctx.compose();
    const signal = str(ctx.parsed, "signal");
    await compose.kill(ctx.parsed.args, signal === undefined ? {} : { signal });
    return 0;
  },
};
