/**
 * `berth image prune [-a] [-f] [--filter]`: `POST /images/prune` with `dangling=true` (only
 * untagged images) or, with `-a`, `dangling=false` (every image no container uses).
 *
 * @since 0.1.0
 */
import type { Client } from "@berth/client";
import type { CommandModule } from "../Command.ts";
import { confirm } from "../confirm.ts";
import { bool, list } from "../FlagParser.ts";
import { humanSize } from "../units.ts";
import { FORCE_FLAG, PRUNE_FILTER_FLAG } from "./commonFlags.ts";
import type { PruneResult } from "./containerPrune.ts";
import { parseFilters } from "./filters.ts";

/** runImagePrune is docker's image.RunPrune (also used by `system prune`). */
export async function runImagePrune(
  client: Client,
  all: boolean,
  filters: Record<string, string[]> = {},
): Promise<PruneResult> {
  const f = { ...filters, dangling: [String(!all)] };
  const res = await client.request("POST", "/images/prune", { query: { filters: JSON.stringify(f) } });
  const report = JSON.parse(res.body.toString("utf8")) as {
    ImagesDeleted: Array<{ Untagged?: string; Deleted?: string }> | null;
    SpaceReclaimed: number;
  };
  const items = report.ImagesDeleted ?? [];
  if (items.length === 0) return { space: 0, output: "" };
  let output = "Deleted Images:\n";
  for (const item of items) {
    if (item.Untagged) output += `untagged: ${item.Untagged}\n`;
    if (item.Deleted) output += `deleted: ${item.Deleted}\n`;
  }
  return { space: report.SpaceReclaimed, output };
}

/** command is `berth image prune`. */
export const command: CommandModule = {
  spec: {
    name: "image prune",
    use: "[OPTIONS]",
    short: "Remove unused images",
    flags: [
      { name: "all", short: "a", type: "bool", usage: "Remove all unused images, not just dangling ones" },
      PRUNE_FILTER_FLAG,
      FORCE_FLAG,
    ],
    args: { kind: "none" },
  },
  async run(inv) {
    const p = inv.parsed;
    const all = bool(p, "all");
    const filters = parseFilters(list(p, "filter")) ?? {};
    const warning = all
      ? "WARNING! This will remove all images without at least one container associated to them."
      : "WARNING! This will remove all dangling images.";
    if (!bool(p, "force") && !(await confirm(`${warning}\nAre you sure you want to continue?`))) return 0;
    const r = await runImagePrune(await inv.client(), all, filters);
    if (r.output !== "") process.stdout.write(`${r.output}\n`);
    process.stdout.write(`Total reclaimed space: ${humanSize(r.space)}\n`);
    return 0;
  },
};
