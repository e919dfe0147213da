/**
 * `berth volume ls`: `GET /volumes` with docker's columns (`DRIVER`, `VOLUME NAME`), `-q`,
 * `--filter` (dangling, driver, label, name) and `--format`.
 *
 * @since 0.1.0
 */
import type { CommandModule } from "../Command.ts";
import { bool, list, str } from "../FlagParser.ts";
import { renderRows } from "../Formatter.ts";
import { FILTER_FLAG, LIST_FORMAT_FLAG } from "./commonFlags.ts";
import { parseFilters } from "./filters.ts";

/** The default table of `docker volume ls`. */
export const DEFAULT_VOLUMES_FORMAT = "table {{.Driver}}\t{{.Name}}";

/** Column titles for table formats. */
export const VOLUMES_HEADER: Readonly<Record<string, string>> = {
  Name: "VOLUME NAME",
  Driver: "DRIVER",
  Scope: "SCOPE",
  Mountpoint: "MOUNTPOINT",
  Labels: "LABELS",
  Links: "LINKS",
  Size: "SIZE",
  CreatedAt: "CREATED",
};

interface ApiVolume {
  Name: string;
  Driver: string;
  Scope: string;
  Mountpoint: string;
  CreatedAt?: string;
  Labels: Record<string, string> | null;
}

/** volumeRow is the template context of one volume, as docker's volume formatter exposes it. */
export function volumeRow(v: ApiVolume): Record<string, unknown> {
  const labels = Object.entries(v.Labels ?? {})
    .map(([k, val]) => `${k}=${val}`)
    .sort()
    .join(",");
  return {
    Name: v.Name,
    Driver: v.Driver,
    Scope: v.Scope,
    Mountpoint: v.Mountpoint,
    CreatedAt: v.CreatedAt ?? "",
    Labels: labels,
    Links: "N/A",
    Size: "N/A",
    Label: (key: string) => v.Labels?.[key] ?? "",
  };
}

/** command is `berth volume ls`. */
export const command: CommandModule = {
  spec: {
    name: "volume ls",
    use: "[OPTIONS]",
    short: "List volumes",
    aliases: ["volume ls", "volume list"],
    flags: [
      {
        name: "cluster",
        type: "bool",
        usage: "Display only cluster volumes, and use cluster volume list formatting",
        hidden: true,
      },
      FILTER_FLAG,
      LIST_FORMAT_FLAG,
      { name: "quiet", short: "q", type: "bool", usage: "Only display volume names" },
    ],
    args: { kind: "none" },
  },
  async run(inv) {
    const p = inv.parsed;
    const user = str(p, "format") ?? "";
    const format = bool(p, "quiet")
      ? "{{.Name}}"
      : user === "" || user === "table"
        ? DEFAULT_VOLUMES_FORMAT
        : user;
    const filters = parseFilters(list(p, "filter"));
    const client = await inv.client();
    const res = await client.request("GET", "/volumes", {
      query: filters ? { filters: JSON.stringify(filters) } : {},
    });
    const { Volumes } = JSON.parse(res.body.toString("utf8")) as { Volumes: ApiVolume[] | null };
    const rows = (Volumes ?? [])
      .sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0))
      .map(volumeRow);
    process.stdout.write(renderRows(format, rows, VOLUMES_HEADER));
    return 0;
  },
};
