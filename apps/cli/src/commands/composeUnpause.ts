/**
 * `berth compose unpause`: unpause the containers of services.
 *
 * @since 0.1.0
 */
import type { ComposeSubcommand } from "./composeContext.ts";

/** subcommand is `berth compose unpause`. */
export const subcommand: ComposeSubcommand = {
  spec: {
    name: "compose unpause",
    use: "[SERVICE...]",
    short: "Unpause services",
    flags: [],
    args: { kind: "any" },
  },
  async run(ctx) {
    const compose = await ctx.compose();
    await compose.pause(ctx.parsed.args, true);
    return 0;
  },
};
