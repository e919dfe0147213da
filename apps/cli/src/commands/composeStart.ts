/**
 * `berth compose start`: start the existing containers of services, in depends_on order.
 *
 * @since 0.1.0
 */
import type { ComposeSubcommand } from "./composeContext.ts";

/** subcommand is `berth compose start`. */
export const subcommand: ComposeSubcommand = {
  spec: {
    name: "compose start",
    use: "[OPTIONS] [SERVICE...]",
    short: "Start services",
    flags: [],
    args: { kind: "any" },
  },
  async run(ctx) {
    const p = ctx.parsed;
    const compose = await ctx.compose();
    await compose.start(p.args);
    return 0;
  },
};
