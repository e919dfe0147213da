/**
 * `berth compose ps`: the project's containers as docker compose lists them
 * (NAME, IMAGE, COMMAND, SERVICE, CREATED, STATUS, PORTS); `-q` IDs only, `--services` names,
 * `--format json` one JSON object per line.
 *
 * @since 0.1.0
 */
import { containerContext } from "../ContainerRow.ts";
import { bool, list, str } from "../FlagParser.ts";
import { formatTable } from "../TabWriter.ts";
import type { ComposeSubcommand } from "./composeContext.ts";

/** subcommand is `berth compose ps`. */
export const subcommand: ComposeSubcommand = {
  spec: {
    name: "compose ps",
    use: "[OPTIONS] [SERVICE...]",
    short: "List containers",
    flags: [
      {
        name: "all",
        short: "a",
        type: "bool",
        usage: "Show all stopped containers (including those created by the run command)",
      },
      { name: "quiet", short: "q", type: "bool", usage: "Only display IDs" },
      { name: "services", type: "bool", usage: "Display services" },
      {
        name: "format",
        type: "string",
        usage: "Format output using a custom template: 'table' or 'json'",
        defaultText: '"table"',
      },
      { name: "status", type: "list", valueName: "stringArray", usage: "Filter services by status" },
    ],
    args: { kind: "any" },
  },
  async run(ctx) {
    const p = ctx.parsed;
    const compose = await ctx.compose({ quiet: true });
    const all = bool(p, "all");
    const statuses = list(p, "status");
    const cs = (await compose.containers({ services: p.args, ...(all ? {} : { oneoff: false }) })).filter(
      (c) =>
        (all ||
          c.summary.State === "running" ||
          c.summary.State === "restarting" ||
          c.summary.State === "paused") &&
        (statuses.length === 0 || statuses.includes(c.summary.State ?? "")),
    );
    if (bool(p, "quiet")) {
      for (const c of cs) process.stdout.write(`${c.id}\n`);
      return 0;
    }
    if (bool(p, "services")) {
      for (const s of [...new Set(cs.map((c) => c.service))]) process.stdout.write(`${s}\n`);
      return 0;
    }
    if (str(p, "format") === "json") {
      for (const c of cs) {
        const row = containerContext(c.summary, false);
        process.stdout.write(
          `${JSON.stringify({
            ID: c.id,
            Name: c.name,
            Image: c.summary.Image ?? "",
            Command: c.summary.Command ?? "",
            Project: compose.project.name,
            Service: c.service,
            Created: c.summary.Created ?? 0,
            State: c.summary.State ?? "",
            Status: c.summary.Status ?? "",
            Health: /\((healthy|unhealthy|health: starting)\)/.exec(c.summary.Status ?? "")?.[1] ?? "",
            ExitCode: 0,
            Publishers: c.summary.Ports ?? [],
            Ports: row.Ports(),
          })}\n`,
        );
      }
      return 0;
    }
    let text = "NAME\tIMAGE\tCOMMAND\tSERVICE\tCREATED\tSTATUS\tPORTS\n";
    for (const c of cs) {
      const row = containerContext(c.summary, true);
      text += `${c.name}\t${c.summary.Image ?? ""}\t${row.Command()}\t${c.service}\t${row.RunningFor()}\t${c.summary.Status ?? ""}\t${row.Ports()}\n`;
    }
    process.stdout.write(formatTable(text, { padding: 3 }));
    return 0;
  },
};
