/**
 * `berth diff`: `GET /containers/{name}/changes`, one `C|A|D path` line per change.
 *
 * @since 0.1.0
 */
import type { CommandModule } from "../Command.ts";

const KIND = ["C", "A", "D"];

/** command is `berth diff`. */
export const command: CommandModule = {
  spec: {
    name: "diff",
    use: "CONTAINER",
    short: "Inspect changes to files or directories on a container's filesystem",
    aliases: ["container diff", "diff"],
    flags: [],
    args: { kind: "exact", n: 1 },
  },
  async run(inv) {
    const client = await inv.client();
    const res = await client.request(
      "GET",
      `/containers/${encodeURIComponent(inv.parsed.args[0] ?? "")}/changes`,
    );
    const changes = JSON.parse(res.body.toString("utf8")) as Array<{ Path: string; Kind: number }> | null;
    let out = "";
    for (const c of changes ?? []) out += `${KIND[c.Kind] ?? "?"} ${c.Path}\n`;
    process.stdout.write(out);
    return 0;
  },
};
