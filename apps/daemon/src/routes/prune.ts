import { type Engine, parseFiltersJSON } from "@berth/engine";
import { sendJSON } from "../http.ts";
import type { Router } from "../Router.ts";

/**
 * pruneRoutes: `POST /containers/prune`, `POST /images/prune`, `GET /system/df`, and
 * `POST /build/prune`, which the docker CLI's `system prune` calls: the build cache is not pruned
 * yet (its layers are shared with images), so it answers that nothing was deleted.
 */
export function pruneRoutes(router: Router, engine: Engine): void {
  router.add("POST", "/containers/prune", async (ctx) =>
    sendJSON(ctx, 200, await engine.pruneContainers(parseFiltersJSON(ctx.query.get("filters") ?? undefined))),
  );

  router.add("POST", "/images/prune", async (ctx) =>
    sendJSON(ctx, 200, await engine.pruneImages(parseFiltersJSON(ctx.query.get("filters") ?? undefined))),
  );

  router.add("POST", "/build/prune", (ctx) => sendJSON(ctx, 200, { CachesDeleted: [], SpaceReclaimed: 0 }));

  router.add("GET", "/system/df", async (ctx) =>
    sendJSON(ctx, 200, await engine.systemDf(ctx.query.getAll("type").filter((t) => t !== ""))),
  );
}
