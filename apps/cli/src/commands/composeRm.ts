/**
 * `berth compose rm`: remove stopped service containers (`-s` stops them first, `-f` without
 * asking; Berth never prompts, so without `-f` it removes what is stopped).
 *
 * @since 0.1.0
 */
import { bool } from "../FlagParser.ts";
import type { ComposeSubcommand } from "./composeContext.ts";

/** subcommand is `berth compose rm`. */
export const subcommand: ComposeSubcommand = {
  spec: {
    name: "compose rm",
    use: "[OPTIONS] [SERVICE...]",
    short: "Removes stopped service containers",
    flags: [
      { name: "force", short: "f", type: "bool", usage: "Don't ask to confirm removal" },
      { name: "stop", short: "s", type: "bool", usage: "Stop the containers, if required, before removing" },
      {
        name: "volumes",
        short: "v",
        type: "bool",
        usage: "Remove any anonymous volumes attached to containers",
      },
    ],
    args: { kind: "any" },
  },
  async run(ctx) {
    const p = ctx.parsed;
    const compose = await ctx.compose();
    if (bool(p, "stop")) await compose.stop(p.args);
    const removed = await compose.rm(p.args, { ...(bool(p, "volumes") ? { volumes: true } : {}) });
    if (removed.length === 0) process.stderr.write("No stopped containers\n");
    return 0;
  },
};
