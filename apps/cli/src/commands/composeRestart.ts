/**
 * `berth compose restart`: restart the containers of services.
 *
 * @since 0.1.0
 */
import { int } from "../FlagParser.ts";
import type { ComposeSubcommand } from "./composeContext.ts";

/** subcommand is `berth compose restart`. */
export const subcommand: ComposeSubcommand = {
  spec: {
    name: "compose restart",
    use: "[OPTIONS] [SERVICE...]",
    short: "Restart service containers",
    flags: [{ name: "timeout", short: "t", type: "int", usage: "Specify a shutdown timeout in seconds" }],
    args: { kind: "any" },
  },
  async run(ctx) {
    const p = ctx.parsed;
    const compose = await ctx.compose();
    const t = int(p, "timeout");
    await compose.restart(p.args, t === undefined ? {} : { timeout: t });
    return 0;
  },
};
