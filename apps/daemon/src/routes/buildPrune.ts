import {
  type BuildPruneReport,
  type Engine,
  parseFiltersJSON,
  parseTimeFilter,
  validateFilterKeys,
} from "@berth/engine";
import { InvalidArgument } from "@berth/errdefs";
import { bool } from "../http.ts";

/**
 * buildPrune decodes docker's `POST /build/prune` query (`all`, `filters` with `until`,
 * `keep-storage` in bytes; newer clients send `reserved-space`/`max-used-space` instead) and runs
 * the engine's build cache prune. The answer is `{CachesDeleted, SpaceReclaimed}`.
 */
export async function buildPrune(engine: Engine, q: URLSearchParams): Promise<BuildPruneReport> {
  const filters = parseFiltersJSON(q.get("filters") ?? undefined);
  validateFilterKeys(filters, ["until", "unused-for"]);
  const untilRaw = filters.until?.[0] ?? filters["unused-for"]?.[0];
  const keepRaw = q.get("keep-storage") ?? q.get("reserved-space") ?? q.get("max-used-space");
  let keepStorage: number | undefined;
  if (keepRaw !== null && keepRaw !== "") {
    keepStorage = Number(keepRaw);
    if (!Number.isSafeInteger(keepStorage) || keepStorage < 0)
      throw new InvalidArgument(
        `invalid keep-storage ${JSON.stringify(keepRaw)}: expected a number of bytes`,
      );
  }
  return engine.builds.prune({
    all: bool(q, "all"),
    ...(untilRaw === undefined ? {} : { until: parseTimeFilter(untilRaw) }),
    ...(keepStorage === undefined || keepStorage === 0 ? {} : { keepStorage }),
  });
}
