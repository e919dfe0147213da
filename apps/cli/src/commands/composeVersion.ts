/**
 * `berth compose version`: the Compose implementation's version.
 *
 * @since 0.1.0
 */
import { COMPOSE_VERSION } from "@berth/compose";
import { bool, str } from "../FlagParser.ts";
import type { ComposeSubcommand } from "./composeContext.ts";

/** subcommand is `berth compose version`. */
export const subcommand: ComposeSubcommand = {
  spec: {
    name: "compose version",
    use: "[OPTIONS]",
    short: "Show the Berth Compose version information",
    flags: [
      { name: "format", short: "f", type: "string", usage: "Format the output. Values: [pretty | json]" },
      { name: "short", type: "bool", usage: "Shows only Compose's version number" },
    ],
    args: { kind: "none" },
  },
  async run(ctx) {
    const v = `v${COMPOSE_VERSION}`;
    if (bool(ctx.parsed, "short")) process.stdout.write(`${COMPOSE_VERSION}\n`);
    else if (str(ctx.parsed, "format") === "json")
      process.stdout.write(`${JSON.stringify({ version: v })}\n`);
    else process.stdout.write(`Berth Compose version ${v}\n`);
    return 0;
  },
};
