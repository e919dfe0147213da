/**
 * `berth compose ls`: projects with containers on the daemon (NAME, STATUS, CONFIG FILES).
 *
 * @since 0.1.0
 */
import { Compose } from "@berth/compose";
import { bool, str } from "../FlagParser.ts";
import { formatTable } from "../TabWriter.ts";
import type { ComposeSubcommand } from "./composeContext.ts";

/** subcommand is `berth compose ls`. */
export const subcommand: ComposeSubcommand = {
  spec: {
    name: "compose ls",
    use: "[OPTIONS]",
    short: "List running compose projects",
    flags: [
      { name: "all", short: "a", type: "bool", usage: "Show all stopped Compose projects" },
      { name: "quiet", short: "q", type: "bool", usage: "Only display project names" },
      {
        name: "format",
        type: "string",
        usage: "Format the output. Values: [table | json]",
        defaultText: '"table"',
      },
    ],
    args: { kind: "none" },
  },
  async run(ctx) {
    const p = ctx.parsed;
    const projects = await Compose.listProjects(await ctx.inv.client(), { all: bool(p, "all") });
    if (bool(p, "quiet")) {
      for (const x of projects) process.stdout.write(`${x.name}\n`);
      return 0;
    }
    if (str(p, "format") === "json") {
      process.stdout.write(
        `${JSON.stringify(projects.map((x) => ({ Name: x.name, Status: x.status, ConfigFiles: x.configFiles })))}\n`,
      );
      return 0;
    }
    let text = "NAME\tSTATUS\tCONFIG FILES\n";
    for (const x of projects) text += `${x.name}\t${x.status}\t${x.configFiles}\n`;
    process.stdout.write(formatTable(text, { padding: 3 }));
    return 0;
  },
};
