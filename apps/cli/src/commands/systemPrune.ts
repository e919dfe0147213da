/**
 * `berth system prune [-a] [--volumes] [-f] [--filter]`: container prune, network prune, volume
 * prune (with `--volumes`: anonymous volumes) and image prune (dangling, or all unused with `-a`)
 * in docker's order, then build cache prune; prints each step and the total reclaimed space.
 *
 * @since 0.1.0
 */
import type { Client } from "@berth/client";
import { isKind } from "@berth/errdefs";
import type { CommandModule } from "../Command.ts";
import { confirm } from "../confirm.ts";
import { bool, list } from "../FlagParser.ts";
import { humanSize } from "../units.ts";
import { FORCE_FLAG, PRUNE_FILTER_FLAG } from "./commonFlags.ts";
import { type PruneResult, runContainerPrune } from "./containerPrune.ts";
import { parseFilters } from "./filters.ts";
import { runImagePrune } from "./imagePrune.ts";

/** optional runs a prune endpoint another part of the daemon may not serve yet (404/501: skipped). */
async function optional(step: () => Promise<PruneResult>): Promise<PruneResult> {
  try {
    return await step();
  } catch (err) {
    if (isKind(err, "NotFound") || isKind(err, "NotImplemented")) return { space: 0, output: "" };
    throw err;
  }
}

async function networkPrune(client: Client, filters: Record<string, string[]>): Promise<PruneResult> {
  const res = await client.request("POST", "/networks/prune", {
    query: Object.keys(filters).length > 0 ? { filters: JSON.stringify(filters) } : {},
  });
  const report = JSON.parse(res.body.toString("utf8")) as { NetworksDeleted: string[] | null };
  const names = report.NetworksDeleted ?? [];
  return {
    space: 0,
    output: names.length > 0 ? `Deleted Networks:\n${names.map((n) => `${n}\n`).join("")}` : "",
  };
}

async function volumePrune(client: Client, filters: Record<string, string[]>): Promise<PruneResult> {
  const res = await client.request("POST", "/volumes/prune", {
    query: Object.keys(filters).length > 0 ? { filters: JSON.stringify(filters) } : {},
  });
  const report = JSON.parse(res.body.toString("utf8")) as {
    VolumesDeleted: string[] | null;
    SpaceReclaimed: number;
  };
  const names = report.VolumesDeleted ?? [];
  if (names.length === 0) return { space: 0, output: "" };
  return { space: report.SpaceReclaimed, output: `Deleted Volumes:\n${names.map((n) => `${n}\n`).join("")}` };
}

async function buildCachePrune(client: Client, all: boolean): Promise<PruneResult> {
  const res = await client.request("POST", "/build/prune", { query: all ? { all: "1" } : {} });
  const report = JSON.parse(res.body.toString("utf8")) as {
    CachesDeleted: string[] | null;
    SpaceReclaimed: number;
  };
  const ids = report.CachesDeleted ?? [];
  if (ids.length === 0) return { space: report.SpaceReclaimed ?? 0, output: "" };
  return {
    space: report.SpaceReclaimed,
    output: `Deleted build cache objects:\n${ids.map((n) => `${n}\n`).join("")}`,
  };
}

/** warnings lists what a system prune removes, as docker's confirmation does. */
function warnings(all: boolean, volumes: boolean): string[] {
  return [
    "all stopped containers",
    "all networks not used by at least one container",
    ...(volumes ? ["all anonymous volumes not used by at least one container"] : []),
    all ? "all images without at least one container associated to them" : "all dangling images",
    all ? "all build cache" : "unused build cache",
  ];
}

/** command is `berth system prune`. */
export const command: CommandModule = {
  spec: {
    name: "system prune",
    use: "[OPTIONS]",
    short: "Remove unused data",
    flags: [
      { name: "all", short: "a", type: "bool", usage: "Remove all unused images not just dangling ones" },
      { ...PRUNE_FILTER_FLAG, usage: 'Provide filter values (e.g. "label=<key>=<value>")' },
      FORCE_FLAG,
      { name: "volumes", type: "bool", usage: "Prune anonymous volumes" },
    ],
    args: { kind: "none" },
  },
  async run(inv) {
    const p = inv.parsed;
    const all = bool(p, "all");
    const volumes = bool(p, "volumes");
    const filters = parseFilters(list(p, "filter")) ?? {};
    if (!bool(p, "force")) {
      let q = `WARNING! This will remove:\n${warnings(all, volumes)
        .map((w) => `  - ${w}\n`)
        .join("")}`;
      const shown = Object.entries(filters).flatMap(([k, vs]) => vs.map((v) => `${k}=${v}`));
      if (shown.length > 0)
        q += `\n  Items to be pruned will be filtered with:\n${shown.map((f) => `  - ${f}\n`).join("")}`;
      if (!(await confirm(`${q}\nAre you sure you want to continue?`))) return 0;
    }
    const client = await inv.client();
    const steps: Array<() => Promise<PruneResult>> = [
      () => runContainerPrune(client, filters),
      () => optional(() => networkPrune(client, filters)),
      ...(volumes ? [() => volumePrune(client, filters)] : []),
      () => runImagePrune(client, all, filters),
    ];
    let space = 0;
    for (const step of steps) {
      const r = await step();
      space += r.space;
      if (r.output !== "") process.stdout.write(`${r.output}\n`);
    }
    const cache = await optional(() => buildCachePrune(client, all));
    space += cache.space;
    if (cache.output !== "") process.stdout.write(`${cache.output}\n`);
    process.stdout.write(`Total reclaimed space: ${humanSize(space)}\n`);
    return 0;
  },
};
