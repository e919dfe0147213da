import { type Engine, parseFiltersJSON } from "@berth/engine";
import { InvalidArgument } from "@berth/errdefs";
import { bool, readJSON, sendJSON, sendStatus } from "../http.ts";
import type { Router } from "../Router.ts";

/** Docker's `POST /volumes/create` body. */
interface VolumeCreateBody {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
  ClusterVolumeSpec?: unknown;
}

/** volumeRoutes: the `/volumes/...` endpoints of the Engine API over `engine.volumes`. */
export function volumeRoutes(router: Router, engine: Engine): void {
  const v = engine.volumes;

  router.add("GET", "/volumes", (ctx) => {
    const list = v.list(parseFiltersJSON(ctx.query.get("filters") ?? undefined));
    sendJSON(ctx, 200, { Volumes: list, Warnings: null });
  });

  router.add("POST", "/volumes/create", async (ctx) => {
    const body = (await readJSON<VolumeCreateBody>(ctx.req)) ?? {};
    if (typeof body !== "object" || Array.isArray(body))
      throw new InvalidArgument("invalid volume create body: expected a JSON object");
    if (body.ClusterVolumeSpec) throw new InvalidArgument("cluster volumes are not supported");
    const rec = await v.create({
      ...(body.Name ? { name: body.Name } : {}),
      ...(body.Driver ? { driver: body.Driver } : {}),
      labels: body.Labels ?? null,
      options: body.DriverOpts ?? null,
    });
    sendJSON(ctx, 201, v.inspect(rec.name));
  });

  router.add("POST", "/volumes/prune", async (ctx) => {
    const report = await v.prune(parseFiltersJSON(ctx.query.get("filters") ?? undefined));
    sendJSON(ctx, 200, report);
  });

  router.add("GET", "/volumes/{name}", (ctx) => sendJSON(ctx, 200, v.inspect(ctx.params.name!)));

  router.add("DELETE", "/volumes/{name}", async (ctx) => {
    await v.remove(ctx.params.name!, { force: bool(ctx.query, "force") });
    sendStatus(ctx, 204);
  });
}
