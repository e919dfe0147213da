/**
 * `berth system df [-v] [--format]`: `GET /system/df` as docker's summary table (TYPE, TOTAL,
 * ACTIVE, SIZE, RECLAIMABLE) or, with `-v`, per-object tables of images, containers, volumes
 * and build cache.
 *
 * @since 0.1.0
 */
import type { ContainerSummary, ImageSummary } from "@berth/api";
import type { CommandModule } from "../Command.ts";
import { containerContext } from "../ContainerRow.ts";
import { bool, str } from "../FlagParser.ts";
import { renderRows } from "../Formatter.ts";
import { IMAGES_HEADER, imageRows } from "../ImageRow.ts";
import { humanSize } from "../units.ts";

interface VolumeUsage {
  Name: string;
  Driver?: string;
  UsageData?: { RefCount: number; Size: number } | null;
}

interface DfReport {
  LayersSize?: number;
  Images?: ImageSummary[] | null;
  Containers?: ContainerSummary[] | null;
  Volumes?: VolumeUsage[] | null;
  BuildCache?: Array<{ Size?: number; InUse?: boolean; Shared?: boolean }> | null;
}

const SUMMARY_FORMAT = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";
const SUMMARY_HEADER = {
  Type: "TYPE",
  TotalCount: "TOTAL",
  Active: "ACTIVE",
  Size: "SIZE",
  Reclaimable: "RECLAIMABLE",
};

function withPercent(reclaimable: number, total: number): string {
  if (total <= 0) return humanSize(reclaimable);
  return `${humanSize(reclaimable)} (${Math.trunc((reclaimable * 100) / total)}%)`;
}

/** summaryRows computes docker's four summary rows (cli/command/formatter/disk_usage.go). */
export function summaryRows(df: DfReport) {
  const images = df.Images ?? [];
  const layers = df.LayersSize ?? 0;
  let usedByActive = 0;
  for (const i of images) {
    if ((i.Containers ?? 0) > 0 && (i.Size ?? -1) !== -1 && (i.SharedSize ?? -1) !== -1)
      usedByActive += (i.Size ?? 0) - (i.SharedSize ?? 0);
  }
  const containers = df.Containers ?? [];
  const isActive = (s: string | undefined) => s === "running" || s === "paused" || s === "restarting";
  const ctrSize = containers.reduce((n, c) => n + (c.SizeRw ?? 0), 0);
  const ctrReclaim = containers.filter((c) => !isActive(c.State)).reduce((n, c) => n + (c.SizeRw ?? 0), 0);
  const volumes = df.Volumes ?? [];
  const volSize = volumes.reduce((n, v) => n + Math.max(0, v.UsageData?.Size ?? 0), 0);
  const volReclaim = volumes
    .filter((v) => (v.UsageData?.RefCount ?? 0) === 0)
    .reduce((n, v) => n + Math.max(0, v.UsageData?.Size ?? 0), 0);
  const cache = df.BuildCache ?? [];
  const cacheSize = cache.filter((c) => !c.Shared).reduce((n, c) => n + (c.Size ?? 0), 0);
  const cacheReclaim = cache.filter((c) => !c.InUse && !c.Shared).reduce((n, c) => n + (c.Size ?? 0), 0);
  return [
    {
      Type: "Images",
      TotalCount: String(images.length),
      Active: String(images.filter((i) => (i.Containers ?? 0) > 0).length),
      Size: humanSize(layers),
      Reclaimable: withPercent(layers - usedByActive, layers),
    },
    {
      Type: "Containers",
      TotalCount: String(containers.length),
      Active: String(containers.filter((c) => isActive(c.State)).length),
      Size: humanSize(ctrSize),
      Reclaimable: withPercent(ctrReclaim, ctrSize),
    },
    {
      Type: "Local Volumes",
      TotalCount: String(volumes.length),
      Active: String(volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length),
      Size: humanSize(volSize),
      Reclaimable: withPercent(volReclaim, volSize),
    },
    {
      Type: "Build Cache",
      TotalCount: String(cache.length),
      Active: String(cache.filter((c) => c.InUse).length),
      Size: humanSize(cacheSize),
      Reclaimable: humanSize(cacheReclaim),
    },
  ];
}

/** verbose renders `system df -v`. */
function verbose(df: DfReport): string {
  let out = "Images space usage:\n\n";
  out += renderRows(
    "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}",
    imageRows(df.Images ?? [], { trunc: true, digests: false }),
    IMAGES_HEADER,
  );
  out += "\nContainers space usage:\n\n";
  out += renderRows(
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}",
    (df.Containers ?? []).map((c) => containerContext({ ...c, SizeRootFs: 0 }, true)),
    {
      ID: "CONTAINER ID",
      Image: "IMAGE",
      Command: "COMMAND",
      LocalVolumes: "LOCAL VOLUMES",
      Size: "SIZE",
      RunningFor: "CREATED",
      Status: "STATUS",
      Names: "NAMES",
    },
  );
  out += "\nLocal Volumes space usage:\n\n";
  out += renderRows(
    "table {{.Name}}\t{{.Links}}\t{{.Size}}",
    (df.Volumes ?? []).map((v) => ({
      Name: v.Name,
      Links: String(v.UsageData?.RefCount ?? 0),
      Size: (v.UsageData?.Size ?? -1) === -1 ? "N/A" : humanSize(v.UsageData?.Size ?? 0),
    })),
    { Name: "VOLUME NAME", Links: "LINKS", Size: "SIZE" },
  );
  const cacheSize = (df.BuildCache ?? []).reduce((n, c) => n + (c.Size ?? 0), 0);
  out += `\nBuild cache usage: ${humanSize(cacheSize)}\n\n`;
  out += renderRows(
    "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}",
    [],
    {
      ID: "CACHE ID",
      CacheType: "CACHE TYPE",
      Size: "SIZE",
      CreatedSince: "CREATED",
      LastUsedSince: "LAST USED",
      UsageCount: "USAGE",
      Shared: "SHARED",
    },
  );
  return out;
}

/** command is `berth system df`. */
export const command: CommandModule = {
  spec: {
    name: "system df",
    use: "[OPTIONS]",
    short: "Show docker disk usage",
    flags: [
      {
        name: "format",
        type: "string",
        usage:
          "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates",
      },
      { name: "verbose", short: "v", type: "bool", usage: "Show detailed information on space usage" },
    ],
    args: { kind: "none" },
  },
  async run(inv) {
    const p = inv.parsed;
    const client = await inv.client();
    const res = await client.request("GET", "/system/df");
    const df = JSON.parse(res.body.toString("utf8")) as DfReport;
    const format = str(p, "format") ?? "";
    if (bool(p, "verbose") && format === "") {
      process.stdout.write(verbose(df));
      return 0;
    }
    const f = format === "" || format === "table" ? SUMMARY_FORMAT : format;
    process.stdout.write(renderRows(f, summaryRows(df), SUMMARY_HEADER));
    return 0;
  },
};
