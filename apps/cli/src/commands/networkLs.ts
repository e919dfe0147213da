/**
 * `berth network ls`: `GET /networks` with docker's columns (`NETWORK ID`, `NAME`, `DRIVER`,
 * `SCOPE`), `-q`, `--no-trunc`, `--filter` and `--format`.
 *
 * @since 0.2.0
 */
import type { CommandModule } from "../Command.ts";
import { bool, list, str } from "../FlagParser.ts";
import { renderRows } from "../Formatter.ts";
import { FILTER_FLAG, LIST_FORMAT_FLAG } from "./commonFlags.ts";
import { parseFilters } from "./filters.ts";

/** The default table of `docker network ls`. */
export const DEFAULT_NETWORKS_FORMAT = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";

const HEADER: Readonly<Record<string, string>> = {
  ID: "NETWORK ID",
  Name: "NAME",
  Driver: "DRIVER",
  Scope: "SCOPE",
  IPv6: "IPV6",
  Internal: "INTERNAL",
  Labels: "LABELS",
  CreatedAt: "CREATED AT",
};

interface ApiNetwork {
  Name: string;
  Id: string;
  Created: string;
  Driver: string;
  Scope: string;
  EnableIPv6: boolean;
  Internal: boolean;
  Labels: Record<string, string> | null;
}

/** command is `berth network ls`. */
export const command: CommandModule = {
  spec: {
    name: "network ls",
    use: "[OPTIONS]",
    short: "List networks",
    aliases: ["network ls", "network list"],
    flags: [
      FILTER_FLAG,
      LIST_FORMAT_FLAG,
      { name: "no-trunc", type: "bool", usage: "Do not truncate the output" },
      { name: "quiet", short: "q", type: "bool", usage: "Only display network IDs" },
    ],
    args: { kind: "none" },
  },
  async run(inv) {
    const p = inv.parsed;
    const user = str(p, "format") ?? "";
    const format = bool(p, "quiet")
      ? "{{.ID}}"
      : user === "" || user === "table"
        ? DEFAULT_NETWORKS_FORMAT
        : user;
    const trunc = !bool(p, "no-trunc");
    const filters = parseFilters(list(p, "filter"));
    const client = await inv.client();
    const res = await client.request("GET", "/networks", {
      query: filters ? { filters: JSON.stringify(filters) } : {},
    });
    const nets = JSON.parse(res.body.toString("utf8")) as ApiNetwork[];
    const rows = nets
      .sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0))
      .map((n) => ({
        ID: trunc ? n.Id.slice(0, 12) : n.Id,
        Name: n.Name,
        Driver: n.Driver,
        Scope: n.Scope,
        IPv6: String(n.EnableIPv6),
        Internal: String(n.Internal),
        CreatedAt: n.Created,
        Labels: Object.entries(n.Labels ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .sort()
          .join(","),
        Label: (key: string) => n.Labels?.[key] ?? "",
      }));
    process.stdout.write(renderRows(format, rows, HEADER));
    return 0;
  },
};
