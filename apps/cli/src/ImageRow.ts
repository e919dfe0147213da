/**
 * ImageRow: docker's imageContext: one image summary expands into one row per repository:tag
 * (`<none>` for dangling images), with `.Repository`, `.Tag`, `.Digest`, `.ID`, `.CreatedSince`,
 * `.CreatedAt`, `.Size`, `.Containers`, `.SharedSize`, `.UniqueSize`, `.VirtualSize`.
 *
 * @since 0.1.0
 */
import type { ImageSummary } from "@berth/api";
import { goTimeString, truncateId } from "./ContainerRow.ts";
import { humanDuration, humanSize, humanSizeWithPrecision } from "./units.ts";

/** DEFAULT_IMAGES_FORMAT is docker's default image table. */
export const DEFAULT_IMAGES_FORMAT =
  "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}";
/** DEFAULT_IMAGES_DIGEST_FORMAT adds the DIGEST column (`--digests`). */
export const DEFAULT_IMAGES_DIGEST_FORMAT =
  "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}";

/** IMAGES_HEADER maps fields to column titles. */
export const IMAGES_HEADER: Readonly<Record<string, string>> = {
  ID: "IMAGE ID",
  Repository: "REPOSITORY",
  Tag: "TAG",
  Digest: "DIGEST",
  CreatedSince: "CREATED",
  CreatedAt: "CREATED AT",
  Size: "SIZE",
  Containers: "CONTAINERS",
  VirtualSize: "VIRTUAL SIZE",
  SharedSize: "SHARED SIZE",
  UniqueSize: "UNIQUE SIZE",
};

/** familiarName shortens a normalized repository name (`docker.io/library/busybox` -> `busybox`). */
export function familiarName(name: string): string {
  if (name.startsWith("docker.io/library/")) return name.slice("docker.io/library/".length);
  if (name.startsWith("docker.io/")) return name.slice("docker.io/".length);
  return name;
}

/** splitTagged splits `repo:tag` (the last colon after the last slash). */
function splitTagged(ref: string): { repo: string; tag: string } | undefined {
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  if (colon <= slash || ref.includes("@")) return undefined;
  return { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) };
}

function isDangling(img: ImageSummary): boolean {
  const tags = img.RepoTags ?? [];
  const digests = img.RepoDigests ?? [];
  if (tags.length === 0 && digests.length === 0) return true;
  return (
    tags.length === 1 && tags[0] === "<none>:<none>" && digests.length === 1 && digests[0] === "<none>@<none>"
  );
}

/** imageRows expands image summaries into row contexts, as docker's imageFormat does. */
export function imageRows(
  images: readonly ImageSummary[],
  opts: { trunc: boolean; digests: boolean },
  nowMs: number = Date.now(),
) {
  const rows: Array<ReturnType<typeof imageContext>> = [];
  for (const img of images) {
    if (isDangling(img)) {
      rows.push(imageContext(img, "<none>", "<none>", "<none>", opts.trunc, nowMs));
      continue;
    }
    const repoTags = new Map<string, string[]>();
    const repoDigests = new Map<string, string[]>();
    for (const ref of img.RepoTags ?? []) {
      const t = splitTagged(ref);
      if (!t || ref === "<none>:<none>") continue;
      const repo = familiarName(t.repo);
      repoTags.set(repo, [...(repoTags.get(repo) ?? []), t.tag]);
    }
    for (const ref of img.RepoDigests ?? []) {
      const at = ref.indexOf("@");
      if (at < 0 || ref === "<none>@<none>") continue;
      const repo = familiarName(ref.slice(0, at));
      repoDigests.set(repo, [...(repoDigests.get(repo) ?? []), ref.slice(at + 1)]);
    }
    for (const [repo, tags] of repoTags) {
      let digests = repoDigests.get(repo) ?? [];
      repoDigests.delete(repo);
      if (!opts.digests) digests = [];
      for (const tag of tags) {
        if (digests.length === 0) {
          rows.push(imageContext(img, repo, tag, "<none>", opts.trunc, nowMs));
          continue;
        }
        for (const d of digests) rows.push(imageContext(img, repo, tag, d, opts.trunc, nowMs));
      }
    }
    for (const [repo, digests] of repoDigests) {
      if (opts.digests)
        for (const d of digests) rows.push(imageContext(img, repo, "<none>", d, opts.trunc, nowMs));
      else rows.push(imageContext(img, repo, "<none>", "", opts.trunc, nowMs));
    }
  }
  return rows;
}

/** imageContext is the template context of one `images` row. */
export function imageContext(
  img: ImageSummary,
  repo: string,
  tag: string,
  digest: string,
  trunc: boolean,
  nowMs: number = Date.now(),
) {
  const created = img.Created ?? 0;
  const size = img.Size ?? 0;
  const shared = img.SharedSize ?? -1;
  return {
    Containers: () => ((img.Containers ?? -1) === -1 ? "N/A" : String(img.Containers)),
    CreatedAt: () => goTimeString(created),
    CreatedSince: () => (created === 0 ? "" : `${humanDuration(nowMs - created * 1000)} ago`),
    Digest: () => digest,
    ID: () => (trunc ? truncateId(img.Id ?? "") : (img.Id ?? "")),
    Repository: () => repo,
    SharedSize: () => (shared === -1 ? "N/A" : humanSize(shared)),
    Size: () => humanSizeWithPrecision(size, 3),
    Tag: () => tag,
    UniqueSize: () => (size === -1 || shared === -1 ? "N/A" : humanSize(size - shared)),
    VirtualSize: () => humanSize(size),
  };
}
