/**
 * `berth volume prune [-a] [-f] [--filter]`: `POST /volumes/prune`. Without `-a` only anonymous
 * volumes go (docker's default from API 1.42 on). Asks first unless `-f`.
 *
 * @since 0.1.0
 */
import type { CommandModule } from "../Command.ts";
import { confirm } from "../confirm.ts";
import { bool, list } from "../FlagParser.ts";
import { humanSize } from "../units.ts";
import { FORCE_FLAG, PRUNE_FILTER_FLAG } from "./commonFlags.ts";
import { parseFilters } from "./filters.ts";

/** command is `berth volume prune`. */
export const command: CommandModule = {
  spec: {
    name: "volume prune",
    use: "[OPTIONS]",
    short: "Remove unused local volumes",
    flags: [
      { name: "all", short: "a", type: "bool", usage: "Remove all unused volumes, not just anonymous ones" },
      { ...PRUNE_FILTER_FLAG, usage: 'Provide filter values (e.g. "label=<label>")' },
      FORCE_FLAG,
    ],
    args: { kind: "none" },
  },
  async run(inv) {
    const p = inv.parsed;
    const all = bool(p, "all");
    const filters = parseFilters(list(p, "filter")) ?? {};
    if (all) filters.all = ["true"];
    if (!bool(p, "force")) {
      const warning = all
        ? "WARNING! This will remove all local volumes not used by at least one container."
        : "WARNING! This will remove anonymous local volumes not used by at least one container.";
      if (!(await confirm(`${warning}\nAre you sure you want to continue?`))) return 0;
    }
    const client = await inv.client();
    const res = await client.request("POST", "/volumes/prune", {
      query: Object.keys(filters).length > 0 ? { filters: JSON.stringify(filters) } : {},
    });
    const report = JSON.parse(res.body.toString("utf8")) as {
      VolumesDeleted: string[] | null;
      SpaceReclaimed: number;
    };
    let out = "";
    const deleted = report.VolumesDeleted ?? [];
    if (deleted.length > 0) out += `Deleted Volumes:\n${deleted.map((n) => `${n}\n`).join("")}\n`;
    out += `Total reclaimed space: ${humanSize(deleted.length > 0 ? report.SpaceReclaimed : 0)}\n`;
    process.stdout.write(out);
    return 0;
  },
};
