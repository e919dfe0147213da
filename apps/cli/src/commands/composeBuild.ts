/**
 * `berth compose build`: build (or rebuild) the images of services that have a build section.
 *
 * @since 0.1.0
 */
import { bool } from "../FlagParser.ts";
import type { ComposeSubcommand } from "./composeContext.ts";

/** subcommand is `berth compose build`. */
export const subcommand: ComposeSubcommand = {
  spec: {
    name: "compose build",
    use: "[OPTIONS] [SERVICE...]",
    short: "Build or rebuild services",
    flags: [
      { name: "no-cache", type: "bool", usage: "Do not use cache when building the image" },
      { name: "pull", type: "bool", usage: "Always attempt to pull a newer version of the image" },
      { name: "quiet", short: "q", type: "bool", usage: "Don't print anything to STDOUT" },
    ],
    args: { kind: "any" },
  },
  async run(ctx) {
    const p = ctx.parsed;
    const compose = await ctx.compose();
    await compose.build(p.args, {
      ...(bool(p, "no-cache") ? { noCache: true } : {}),
      ...(bool(p, "pull") ? { pull: true } : {}),
    });
    return 0;
  },
};
