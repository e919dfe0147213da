/**
 * `berth network prune [-f] [--filter]`: `POST /networks/prune`, asks first unless `-f`.
 *
 * @since 0.2.0
 */
import type { CommandModule } from "../Command.ts";
import { confirm } from "../confirm.ts";
import { bool, list } from "../FlagParser.ts";
import { FORCE_FLAG, PRUNE_FILTER_FLAG } from "./commonFlags.ts";
import { parseFilters } from "./filters.ts";

/** command is `berth network prune`. */
export const command: CommandModule = {
  spec: {
    name: "network prune",
    use: "[OPTIONS]",
    short: "Remove all unused networks",
    flags: [PRUNE_FILTER_FLAG, FORCE_FLAG],
    args: { kind: "none" },
  },
  async run(inv) {
    const p = inv.parsed;
    if (!bool(p, "force")) {
      const q = "WARNING! This will remove all custom networks not used by at least one container.";
      if (!(await confirm(`${q}\nAre you sure you want to continue?`))) return 0;
    }
    const filters = parseFilters(list(p, "filter"));
    const client = await inv.client();
    const res = await client.request("POST", "/networks/prune", {
      query: filters ? { filters: JSON.stringify(filters) } : {},
    });
    const { NetworksDeleted } = JSON.parse(res.body.toString("utf8")) as { NetworksDeleted: string[] | null };
    const deleted = NetworksDeleted ?? [];
    if (deleted.length > 0)
      process.stdout.write(`Deleted Networks:\n${deleted.map((n) => `${n}\n`).join("")}`);
    return 0;
  },
};
