/**
 * `berth ps` (`container ls|list|ps`): `GET /containers/json` with docker's columns, `-q`,
 * `--no-trunc`, `-s`, `-n`/`-l`, `--filter` and `--format` (Go templates, `table`, `json`).
 *
 * @since 0.1.0
 */
import type { CommandModule } from "../Command.ts";
import { containerContext, DEFAULT_PS_FORMAT, PS_HEADER } from "../ContainerRow.ts";
import { bool, int, list, str } from "../FlagParser.ts";
import { listFormat, renderRows } from "../Formatter.ts";
import { FILTER_FLAG, LIST_FORMAT_FLAG, NO_TRUNC_FLAG } from "./commonFlags.ts";
import { parseFilters } from "./filters.ts";

/** command is `berth ps`. */
export const command: CommandModule = {
  spec: {
    name: "ps",
    use: "[OPTIONS]",
    short: "List containers",
    aliases: ["container ls", "container list", "container ps", "ps"],
    flags: [
      { name: "all", short: "a", type: "bool", usage: "Show all containers (default shows just running)" },
      FILTER_FLAG,
      LIST_FORMAT_FLAG,
      {
        name: "last",
        short: "n",
        type: "int",
        usage: "Show n last created containers (includes all states)",
        defaultText: "-1",
      },
      {
        name: "latest",
        short: "l",
        type: "bool",
        usage: "Show the latest created container (includes all states)",
      },
      NO_TRUNC_FLAG,
      { name: "quiet", short: "q", type: "bool", usage: "Only display container IDs" },
      { name: "size", short: "s", type: "bool", usage: "Display total file sizes" },
    ],
    args: { kind: "none" },
  },
  async run(inv) {
    const p = inv.parsed;
    const quiet = bool(p, "quiet");
    const size = bool(p, "size");
    const format = listFormat(
      str(p, "format") ?? "",
      quiet,
      size ? `${DEFAULT_PS_FORMAT}\t{{.Size}}` : DEFAULT_PS_FORMAT,
    );
    const filters = parseFilters(list(p, "filter"));
    let limit = int(p, "last") ?? -1;
    if (bool(p, "latest")) limit = 1;
    const client = await inv.client();
    const containers = await client.containerList({
      ...(bool(p, "all") ? { all: true } : {}),
      ...(limit > 0 ? { limit } : {}),
      ...(size || format.includes(".Size") ? { size: true } : {}),
      ...(filters ? { filters } : {}),
    });
    const trunc = !bool(p, "no-trunc");
    const now = Date.now();
    process.stdout.write(
      renderRows(
        format,
        containers.map((c) => containerContext(c, trunc, now)),
        PS_HEADER,
      ),
    );
    return 0;
  },
};
