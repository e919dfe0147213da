import { type Engine, parseFiltersJSON } from "@berth/engine";
import { sendJSON } from "../http.ts";
import type { Router } from "../Router.ts";
import { buildPrune } from "./buildPrune.ts";

/**
 * pruneRoutes: `POST /containers/prune`, `POST /images/prune`, `GET /system/df`, and
 * `POST /build/prune` (docker's `builder prune` and `system prune`; see buildPrune.ts).
 */
export function pruneRoutes(router: Router, engine: Engine): void {
  router.add("POST", "/containers/prune", async (ctx) =>
    sendJSON(ctx, 200, await engine.pruneContainers(parseFiltersJSON(ctx.query.get("filters") ?? undefined))),
  );

  router.add("POST", "/images/prune", async (ctx) =>
    sendJSON(ctx, 200, await engine.pruneImages(parseFiltersJSON(ctx.query.get("filters") ?? undefined))),
  );

  router.add("POST", "/build/prune", async (ctx) => sendJSON(ctx, 200, await buildPrune(engine, ctx.query)));

  router.add("GET", "/system/df", async (ctx) =>
    sendJSON(ctx, 200, await engine.systemDf(ctx.query.getAll("type").filter((t) => t !== ""))),
  );
}
