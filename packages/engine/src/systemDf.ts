import { InvalidArgument } from "@berth/errdefs";
import type { BuildCacheUsage } from "./Builds.ts";
import { diskUsage } from "./diskUsage.ts";
import type { Engine } from "./Engine.ts";
import { imageSummary } from "./imageViews.ts";
import { containerSummary } from "./views.ts";

/** DiskUsageType is one section docker's `GET /system/df?type=` can ask for. */
export type DiskUsageType = "container" | "image" | "volume" | "build-cache";

/** SystemDfReport is docker's `GET /system/df` answer. */
export interface SystemDfReport {
  LayersSize?: number;
  Images?: Array<Record<string, unknown>>;
  Containers?: Array<Record<string, unknown>>;
  Volumes?: Array<Record<string, unknown>>;
  BuildCache?: BuildCacheUsage[];
}

/**
 * systemDf is docker's `GET /system/df`: images with their shared and unique sizes and container
 * counts (`LayersSize` counts each layer once), containers with the size of their writable layer
 * (`SizeRw`) and of their whole root file system (`SizeRootFs`), volumes with their size and
 * reference count, and the build cache's steps (`BuildCache`, see Builds.records). `types` limits
 * the sections (all when empty).
 */
export async function systemDf(engine: Engine, types: string[] = []): Promise<SystemDfReport> {
  for (const t of types) {
    if (!["container", "image", "volume", "build-cache"].includes(t))
      throw new InvalidArgument(`unknown object type: ${t}`);
  }
  const want = (t: DiskUsageType) => types.length === 0 || types.includes(t);
  const report: SystemDfReport = {};
  const containers = engine.containers.all();
  const images = engine.images.list();
  if (want("image")) {
    // Layer sharing is judged on blobs (diff IDs); sizes are given in the unit of the image's
    // `Size` (file content), each blob weighing its share of its image's blob total.
    const layerUse = new Map<string, { size: number; images: number }>();
    const scaled = images.map((img) => {
      const blobTotal = img.layers.reduce((n, l) => n + l.size, 0);
      const factor = blobTotal > 0 ? img.size / blobTotal : 0;
      const layers = new Map<string, number>();
      for (const l of img.layers) layers.set(l.diffId, (layers.get(l.diffId) ?? 0) + l.size * factor);
      return { img, layers };
    });
    for (const { layers } of scaled) {
      for (const [diffId, size] of layers) {
        const u = layerUse.get(diffId) ?? { size, images: 0 };
        u.images++;
        layerUse.set(diffId, u);
      }
    }
    let layersSize = 0;
    for (const u of layerUse.values()) layersSize += u.size;
    report.LayersSize = Math.round(layersSize);
    report.Images = scaled
      .sort((a, b) => (a.img.created < b.img.created ? 1 : a.img.created > b.img.created ? -1 : 0))
      .map(({ img, layers }) => {
        let shared = 0;
        for (const [diffId, size] of layers) if ((layerUse.get(diffId)?.images ?? 0) > 1) shared += size;
        const users = containers.filter((c) => c.image === img.id).length;
        return { ...imageSummary(img, users), SharedSize: Math.round(shared) };
      });
  }
  if (want("container")) {
    report.Containers = await Promise.all(
      containers.map(async (rec) => {
        const sizeRw = await diskUsage(rec.rootfs.upperdir);
        const imageSize = images.find((i) => i.id === rec.image)?.size ?? 0;
        const { Mounts, ...summary } = containerSummary(rec);
        return {
          ...summary,
          ...(sizeRw > 0 ? { SizeRw: sizeRw } : {}),
          SizeRootFs: imageSize + sizeRw,
          Mounts,
        };
      }),
    );
  }
  if (want("volume")) {
    report.Volumes = await Promise.all(
      engine.volumes.list().map(async (v) => ({
        ...v,
        UsageData: {
          RefCount: engine.containers.volumeUsers(v.Name).length,
          Size: await diskUsage(v.Mountpoint),
        },
      })),
    );
  }
  if (want("build-cache")) report.BuildCache = await engine.builds.records();
  return report;
}
