/**
 * `berth compose pull`: pull the images of services (POST /images/create).
 *
 * @since 0.1.0
 */
import { bool } from "../FlagParser.ts";
import type { ComposeSubcommand } from "./composeContext.ts";

/** subcommand is `berth compose pull`. */
export const subcommand: ComposeSubcommand = {
  spec: {
    name: "compose pull",
    use: "[OPTIONS] [SERVICE...]",
    short: "Pull service images",
    flags: [
      { name: "ignore-buildable", type: "bool", usage: "Ignore images that can be built" },
      { name: "quiet", short: "q", type: "bool", usage: "Pull without printing progress information" },
    ],
    args: { kind: "any" },
  },
  async run(ctx) {
    const p = ctx.parsed;
    const compose = await ctx.compose();
    await compose.pull(p.args, bool(p, "ignore-buildable") ? { ignoreBuildable: true } : {});
    return 0;
  },
};
