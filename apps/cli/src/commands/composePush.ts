/**
 * `berth compose push`: push the images of services that are built and named (POST /images/{name}/push).
 *
 * @since 0.1.0
 */
import type { ComposeSubcommand } from "./composeContext.ts";

/** subcommand is `berth compose push`. */
export const subcommand: ComposeSubcommand = {
  spec: {
    name: "compose push",
    use: "[OPTIONS] [SERVICE...]",
    short: "Push service images",
    flags: [{ name: "quiet", short: "q", type: "bool", usage: "Push without printing progress information" }],
    args: { kind: "any" },
  },
  async run(ctx) {
    const p = ctx.parsed;
    const compose = await ctx.compose();
    await compose.push(p.args);
    return 0;
  },
};
