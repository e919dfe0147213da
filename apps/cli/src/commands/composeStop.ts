/**
 * `berth compose stop`: stop the running containers of services, dependants first.
 *
 * @since 0.1.0
 */
import { int } from "../FlagParser.ts";
import type { ComposeSubcommand } from "./composeContext.ts";

/** subcommand is `berth compose stop`. */
export const subcommand: ComposeSubcommand = {
  spec: {
    name: "compose stop",
    use: "[OPTIONS] [SERVICE...]",
    short: "Stop services",
    flags: [{ name: "timeout", short: "t", type: "int", usage: "Specify a shutdown timeout in seconds" }],
    args: { kind: "any" },
  },
  async run(ctx) {
    const p = ctx.parsed;
    const compose = await ctx.compose();
    const t = int(p, "timeout");
    await compose.stop(p.args, t === undefined ? {} : { timeout: t });
    return 0;
  },
};
