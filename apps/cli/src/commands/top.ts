/**
 * `berth top`: `GET /containers/{name}/top?ps_args=...`, printed as docker's table.
 *
 * @since 0.1.0
 */
import type { CommandModule } from "../Command.ts";
import { formatTable } from "../TabWriter.ts";

/** command is `berth top`. */
export const command: CommandModule = {
  spec: {
    name: "top",
    use: "CONTAINER [ps OPTIONS]",
    short: "Display the running processes of a container",
    aliases: ["container top", "top"],
    flags: [],
    args: { kind: "min", n: 1 },
    interspersed: false,
  },
  async run(inv) {
    const [name = "", ...ps] = inv.parsed.args;
    const client = await inv.client();
    const res = await client.request("GET", `/containers/${encodeURIComponent(name)}/top`, {
      query: ps.length > 0 ? { ps_args: ps.join(" ") } : {},
    });
    const top = JSON.parse(res.body.toString("utf8")) as { Titles: string[]; Processes: string[][] | null };
    const lines = [top.Titles.join("\t"), ...(top.Processes ?? []).map((p) => p.join("\t"))];
    process.stdout.write(formatTable(`${lines.join("\n")}\n`, { minWidth: 20, padding: 3 }));
    return 0;
  },
};
