/**
 * `berth builder prune [-a] [-f] [--filter until=...] [--keep-storage SIZE]`: docker's
 * `POST /build/prune`; prints the deleted cache records and the space reclaimed.
 *
 * @since 0.1.0
 */
import type { CommandModule } from "../Command.ts";
import { StatusError } from "../Command.ts";
import { confirm } from "../confirm.ts";
import { bool, list, str } from "../FlagParser.ts";
import { humanSize, ramInBytes } from "../units.ts";
import { FORCE_FLAG, PRUNE_FILTER_FLAG } from "./commonFlags.ts";
import { parseFilters } from "./filters.ts";

/** command is `berth builder prune`. */
export const command: CommandModule = {
  spec: {
    name: "builder prune",
    use: "[OPTIONS]",
    short: "Remove build cache",
    flags: [
      {
        name: "all",
        short: "a",
        type: "bool",
        usage: "Remove all unused build cache, not just dangling ones",
      },
      { ...PRUNE_FILTER_FLAG, usage: 'Provide filter values (e.g. "until=24h")' },
      FORCE_FLAG,
      {
        name: "keep-storage",
        type: "string",
        valueName: "bytes",
        usage: "Amount of disk space to keep for cache",
      },
    ],
    args: { kind: "none" },
  },
  async run(inv) {
    const p = inv.parsed;
    const all = bool(p, "all");
    const filters = parseFilters(list(p, "filter")) ?? {};
    const keepRaw = str(p, "keep-storage");
    let keep: number | undefined;
    if (keepRaw !== undefined && keepRaw !== "") {
      try {
        keep = ramInBytes(keepRaw);
      } catch (err) {
        throw new StatusError(
          `invalid argument "${keepRaw}" for "--keep-storage" flag: ${(err as Error).message}`,
          125,
        );
      }
    }
    const warning = all
      ? "WARNING! This will remove all build cache."
      : "WARNING! This will remove all dangling build cache.";
    if (!bool(p, "force") && !(await confirm(`${warning} Are you sure you want to continue?`))) return 0;
    const client = await inv.client();
    const res = await client.request("POST", "/build/prune", {
      query: {
        ...(all ? { all: "1" } : {}),
        ...(Object.keys(filters).length > 0 ? { filters: JSON.stringify(filters) } : {}),
        ...(keep === undefined ? {} : { "keep-storage": String(keep) }),
      },
    });
    const report = JSON.parse(res.body.toString("utf8")) as {
      CachesDeleted: string[] | null;
      SpaceReclaimed: number;
    };
    const deleted = report.CachesDeleted ?? [];
    if (deleted.length > 0) process.stdout.write(`Deleted build cache objects:\n${deleted.join("\n")}\n\n`);
    process.stdout.write(`Total reclaimed space: ${humanSize(report.SpaceReclaimed)}\n`);
    return 0;
  },
};
