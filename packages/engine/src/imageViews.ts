import { EMPTY_CONFIG } from "./views.ts";

/**
 * Docker's image shapes (`GET /images/json`, `GET /images/{name}/json`, history) built from an
 * image record. Kept apart from the store so the store never learns docker's wire quirks.
 */

/** The image fields these views read. */
export interface ImageView {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  created: string;
  size: number;
  parent?: string | undefined;
  config: {
    created?: string;
    author?: string;
    architecture?: string;
    os?: string;
    variant?: string;
    config?: object;
    rootfs?: { type: string; diff_ids: string[] };
    history?: Array<{
      created?: string;
      created_by?: string;
      comment?: string;
      empty_layer?: boolean;
      author?: string;
    }>;
    comment?: string;
  };
  layers?: Array<{ size: number; uncompressedSize?: number; diffId?: string }>;
}

function unix(ts: string | undefined): number {
  const t = ts ? Date.parse(ts) : Number.NaN;
  return Number.isNaN(t) ? 0 : Math.floor(t / 1000);
}

/** imageSummary is one element of docker's image listing. */
export function imageSummary(img: ImageView, containers: number): Record<string, unknown> {
  return {
    Containers: containers,
    Created: unix(img.created),
    Id: img.id,
    Labels: (img.config.config as { Labels?: Record<string, string> } | undefined)?.Labels ?? null,
    ParentId: img.parent ?? "",
    RepoDigests:
      img.repoDigests.length > 0 ? img.repoDigests : img.repoTags.length === 0 ? ["<none>@<none>"] : [],
    RepoTags: img.repoTags.length > 0 ? img.repoTags : ["<none>:<none>"],
    SharedSize: -1,
    Size: img.size,
    VirtualSize: img.size,
  };
}

/** imageInspect is docker's `GET /images/{name}/json` answer. */
export function imageInspect(img: ImageView, graph: { lowerdirs: string[] }): Record<string, unknown> {
  const c = img.config;
  return {
    Id: img.id,
    RepoTags: img.repoTags,
    RepoDigests: img.repoDigests,
    Parent: img.parent ?? "",
    Comment: c.comment ?? c.history?.at(-1)?.comment ?? "",
    Created: img.created,
    DockerVersion: "",
    Author: c.author ?? "",
    Config: { ...EMPTY_CONFIG, Labels: null, ...(c.config ?? {}) },
    Architecture: c.architecture ?? "amd64",
    ...(c.variant ? { Variant: c.variant } : {}),
    Os: c.os ?? "linux",
    Size: img.size,
    GraphDriver: {
      Data: { LowerDir: graph.lowerdirs.join(":") },
      Name: "overlay",
    },
    RootFS: { Type: "layers", Layers: c.rootfs?.diff_ids ?? [] },
    Metadata: { LastTagTime: "0001-01-01T00:00:00Z" },
  };
}

/** imageHistory is docker's `GET /images/{name}/history` answer, newest first. */
export function imageHistory(img: ImageView): Array<Record<string, unknown>> {
  const hist = img.config.history ?? [];
  const layers = img.layers ?? [];
  let li = 0;
  const rows = hist.map((h) => {
    const size = h.empty_layer ? 0 : (layers[li]?.uncompressedSize ?? layers[li]?.size ?? 0);
    if (!h.empty_layer) li += 1;
    return {
      Id: "<missing>",
      Created: unix(h.created),
      CreatedBy: h.created_by ?? "",
      Tags: null as string[] | null,
      Size: size,
      Comment: h.comment ?? "",
    };
  });
  rows.reverse();
  if (rows[0]) {
    rows[0].Id = img.id;
    rows[0].Tags = img.repoTags.length > 0 ? img.repoTags : null;
  }
  return rows;
}
