import { InvalidArgument, isKind } from "@berth/errdefs";
import { diskUsage } from "./diskUsage.ts";
import { type Engine, parseTimeFilter } from "./Engine.ts";
import { type Filters, matchLabels, validateFilterKeys } from "./filters.ts";

/** ContainerPruneReport is docker's `POST /containers/prune` answer. */
export interface ContainerPruneReport {
  ContainersDeleted: string[] | null;
  SpaceReclaimed: number;
}

/** ImagePruneReport is docker's `POST /images/prune` answer. */
export interface ImagePruneReport {
  ImagesDeleted: Array<{ Untagged: string } | { Deleted: string }> | null;
  SpaceReclaimed: number;
}

/** labelsMatch applies docker's prune `label` (all must match) and `label!` (none may match) filters. */
function labelsMatch(f: Filters, labels: Record<string, string> | null | undefined): boolean {
  if (!matchLabels(f.label, labels)) return false;
  if (f["label!"]?.some((l) => matchLabels([l], labels))) return false;
  return true;
}

function untilOf(f: Filters): number | undefined {
  const v = f.until?.[0];
  return v === undefined ? undefined : parseTimeFilter(v);
}

/**
 * pruneContainers is docker's `POST /containers/prune`: removes every container that is not
 * running (created, exited, dead), narrowed by `until` (created before) and `label`/`label!`.
 * SpaceReclaimed adds up the removed containers' writable layers. Emits `container prune`.
 */
export async function pruneContainers(engine: Engine, filters: Filters = {}): Promise<ContainerPruneReport> {
  validateFilterKeys(filters, ["until", "label", "label!"]);
  const until = untilOf(filters);
  const deleted: string[] = [];
  let reclaimed = 0;
  for (const rec of engine.containers.all()) {
    const st = rec.state.status;
    if (st !== "exited" && st !== "created" && st !== "dead") continue;
    if (until !== undefined && Date.parse(rec.created) > until) continue;
    if (!labelsMatch(filters, rec.config.Labels)) continue;
    const size = await diskUsage(rec.rootfs.upperdir);
    try {
      await engine.containers.remove(rec.id, { force: false });
    } catch (err) {
      // Started or removed meanwhile: not ours to prune any more.
      if (isKind(err, "Conflict") || isKind(err, "NotFound")) continue;
      throw err;
    }
    deleted.push(rec.id);
    reclaimed += size;
  }
  engine.events.emit({
    type: "container",
    action: "prune",
    id: "",
    attributes: { reclaimed: String(reclaimed) },
  });
  return { ContainersDeleted: deleted.length > 0 ? deleted : null, SpaceReclaimed: reclaimed };
}

/**
 * pruneImages is docker's `POST /images/prune`: by default (`dangling=true`) untagged images no
 * container uses; with `dangling=false` every image no container uses (each tag is removed, the
 * last removal deletes the image). `until` and `label`/`label!` narrow the selection.
 */
export async function pruneImages(engine: Engine, filters: Filters = {}): Promise<ImagePruneReport> {
  validateFilterKeys(filters, ["dangling", "until", "label", "label!"]);
  const d = filters.dangling?.[0] ?? "true";
  if (!["true", "false", "1", "0"].includes(d)) throw new InvalidArgument(`invalid filter 'dangling=${d}'`);
  const danglingOnly = d === "true" || d === "1";
  const until = untilOf(filters);
  const items: Array<{ Untagged: string } | { Deleted: string }> = [];
  let reclaimed = 0;
  for (const img of engine.images.list()) {
    if (danglingOnly && img.repoTags.length > 0) continue;
    if (engine.containers.imageUsers(img.id).length > 0) continue;
    if (until !== undefined && Date.parse(img.created) > until) continue;
    const labels = (img.config.config as { Labels?: Record<string, string> } | undefined)?.Labels;
    if (!labelsMatch(filters, labels)) continue;
    const names = img.repoTags.length > 0 ? [...img.repoTags, ...img.repoDigests] : [img.id];
    for (const name of names) {
      try {
        const report = await engine.removeImage(name);
        items.push(...report);
        if (report.some((r) => "Deleted" in r && r.Deleted === img.id)) reclaimed += img.size;
      } catch (err) {
        if (isKind(err, "Conflict") || isKind(err, "NotFound")) continue;
        throw err;
      }
    }
  }
  engine.events.emit({
    type: "image",
    action: "prune",
    id: "",
    attributes: { reclaimed: String(reclaimed) },
  });
  return { ImagesDeleted: items.length > 0 ? items : null, SpaceReclaimed: reclaimed };
}
