/**
 * `berth compose pause`: pause the containers of services.
 *
 * @since 0.1.0
 */
import type { ComposeSubcommand } from "./composeContext.ts";

/** subcommand is `berth compose pause`. */
export const subcommand: ComposeSubcommand = {
  spec: {
    name: "compose pause",
    use: "[SERVICE...]",
    short: "Pause services",
    flags: [],
    args: { kind: "any" },
  },
  async run(ctx) {
    const compose = await ctx.compose();
    await compose.pause(ctx.parsed.args, false);
    return 0;
  },
};
