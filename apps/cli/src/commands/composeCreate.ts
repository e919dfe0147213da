/**
 * `berth compose create`: create the service containers (networks and volumes too) without
 * starting them; `up --no-start`.
 *
 * @since 0.1.0
 */
import { bool, list } from "../FlagParser.ts";
import type { ComposeSubcommand } from "./composeContext.ts";
import { parseScale } from "./composeUp.ts";

/** subcommand is `berth compose create`. */
export const subcommand: ComposeSubcommand = {
  spec: {
    name: "compose create",
    use: "[OPTIONS] [SERVICE...]",
    short: "Creates containers for a service",
    flags: [
      { name: "build", type: "bool", usage: "Build images before starting containers" },
      { name: "no-build", type: "bool", usage: "Don't build an image, even if it's policy" },
      {
        name: "force-recreate",
        type: "bool",
        usage: "Recreate containers even if their configuration and image haven't changed",
      },
      { name: "no-recreate", type: "bool", usage: "If containers already exist, don't recreate them" },
      {
        name: "remove-orphans",
        type: "bool",
        usage: "Remove containers for services not defined in the Compose file",
      },
      { name: "scale", type: "list", valueName: "scale", usage: "Scale SERVICE to NUM instances" },
    ],
    args: { kind: "any" },
  },
  async run(ctx) {
    const p = ctx.parsed;
    const compose = await ctx.compose();
    await compose.up({
      services: p.args,
      noStart: true,
      scale: parseScale(list(p, "scale")),
      ...(bool(p, "build") ? { build: true } : {}),
      ...(bool(p, "no-build") ? { noBuild: true } : {}),
      ...(bool(p, "force-recreate") ? { forceRecreate: true } : {}),
      ...(bool(p, "no-recreate") ? { noRecreate: true } : {}),
      ...(bool(p, "remove-orphans") ? { removeOrphans: true } : {}),
    });
    return 0;
  },
};
