/**
 * `berth container prune [-f] [--filter]`: `POST /containers/prune`, removing every stopped
 * container. Asks first unless `-f`.
 *
 * @since 0.1.0
 */
import type { Client } from "@berth/client";
import type { CommandModule } from "../Command.ts";
import { confirm } from "../confirm.ts";
import { bool, list } from "../FlagParser.ts";
import { humanSize } from "../units.ts";
import { FORCE_FLAG, PRUNE_FILTER_FLAG } from "./commonFlags.ts";
import { parseFilters } from "./filters.ts";

/** PruneResult is one prune step's reclaimed bytes and its text (empty when nothing went). */
export interface PruneResult {
  space: number;
  output: string;
}

/** runContainerPrune is docker's container.RunPrune (also used by `system prune`). */
export async function runContainerPrune(
  client: Client,
  filters: Record<string, string[]> = {},
): Promise<PruneResult> {
  const res = await client.request("POST", "/containers/prune", {
    query: Object.keys(filters).length > 0 ? { filters: JSON.stringify(filters) } : {},
  });
  const report = JSON.parse(res.body.toString("utf8")) as {
    ContainersDeleted: string[] | null;
    SpaceReclaimed: number;
  };
  const deleted = report.ContainersDeleted ?? [];
  if (deleted.length === 0) return { space: 0, output: "" };
  return {
    space: report.SpaceReclaimed,
    output: `Deleted Containers:\n${deleted.map((id) => `${id}\n`).join("")}`,
  };
}

/** command is `berth container prune`. */
export const command: CommandModule = {
  spec: {
    name: "container prune",
    use: "[OPTIONS]",
    short: "Remove all stopped containers",
    flags: [PRUNE_FILTER_FLAG, FORCE_FLAG],
    args: { kind: "none" },
  },
  async run(inv) {
    const p = inv.parsed;
    const filters = parseFilters(list(p, "filter")) ?? {};
    if (
      !bool(p, "force") &&
      !(await confirm(
        "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?",
      ))
    )
      return 0;
    const r = await runContainerPrune(await inv.client(), filters);
    if (r.output !== "") process.stdout.write(`${r.output}\n`);
    process.stdout.write(`Total reclaimed space: ${humanSize(r.space)}\n`);
    return 0;
  },
};
