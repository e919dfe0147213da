/**
 * `berth compose down`: stop and remove the project's containers and networks; `-v` also its
 * named volumes, `--rmi all|local` its images. With `-p NAME` and no compose file it works
 * from the engine's labels alone.
 *
 * @since 0.1.0
 */
import { isKind } from "@berth/errdefs";
import { StatusError } from "../Command.ts";
import { bool, int, str } from "../FlagParser.ts";
import { type ComposeSubcommand, emptyProject, progressPrinter } from "./composeContext.ts";

/** subcommand is `berth compose down`. */
export const subcommand: ComposeSubcommand = {
  spec: {
    name: "compose down",
    use: "[OPTIONS] [SERVICES]",
    short: "Stop and remove containers, networks",
    flags: [
      {
        name: "volumes",
        short: "v",
        type: "bool",
        usage:
          'Remove named volumes declared in the "volumes" section of the Compose file and anonymous volumes attached to containers',
      },
      {
        name: "rmi",
        type: "string",
        usage:
          'Remove images used by services. "local" remove only images that don\'t have a custom tag ("local"|"all")',
      },
      {
        name: "remove-orphans",
        type: "bool",
        usage: "Remove containers for services not defined in the Compose file",
      },
      { name: "timeout", short: "t", type: "int", usage: "Specify a shutdown timeout in seconds" },
    ],
    args: { kind: "any" },
  },
  async run(ctx) {
    const p = ctx.parsed;
    const rmi = str(p, "rmi");
    if (rmi !== undefined && rmi !== "all" && rmi !== "local") {
      throw new StatusError(`invalid value for --rmi: ${rmi}`, 1);
    }
    let compose: Awaited<ReturnType<typeof ctx.compose>>;
    try {
      compose = await ctx.compose();
    } catch (err) {
      if (!(isKind(err, "NotFound") && ctx.flags.projectName !== undefined)) throw err;
      const { Compose } = await import("@berth/compose");
      compose = new Compose({
        client: await ctx.inv.client(),
        project: emptyProject(ctx.flags.projectName),
        onProgress: progressPrinter(),
      });
    }
    const t = int(p, "timeout");
    await compose.down({
      ...(bool(p, "volumes") ? { volumes: true } : {}),
      ...(rmi ? { rmi } : {}),
      ...(bool(p, "remove-orphans") ? { removeOrphans: true } : {}),
      ...(t === undefined ? {} : { timeout: t }),
    });
    return 0;
  },
};
