import type { Engine } from "@berth/engine";
import { parseFiltersJSON } from "@berth/engine";
import { InvalidArgument, NotImplemented } from "@berth/errdefs";
import { bool, resOf, sendJSON, sendStatus } from "../http.ts";
import type { Router } from "../Router.ts";
import { pullRoute } from "./distribution.ts";

/** imageRoutes: the `/images/...` endpoints of the Engine API this engine serves so far. */
export function imageRoutes(router: Router, engine: Engine): void {
  router.add("GET", "/images/json", async (ctx) => {
    const list = await engine.listImages({
      all: bool(ctx.query, "all"),
      digests: bool(ctx.query, "digests"),
      filters: parseFiltersJSON(ctx.query.get("filters") ?? undefined),
    });
    sendJSON(ctx, 200, list);
  });

  router.add("GET", "/images/{name*}/json", async (ctx) =>
    sendJSON(ctx, 200, await engine.inspectImage(ctx.params.name!)),
  );

  router.add("GET", "/images/{name*}/history", async (ctx) =>
    sendJSON(ctx, 200, await engine.imageHistory(ctx.params.name!)),
  );

  router.add("POST", "/images/{name*}/tag", async (ctx) => {
    const repo = ctx.query.get("repo") ?? "";
    const tag = ctx.query.get("tag") ?? "";
    if (repo === "") throw new InvalidArgument("repository name must have at least one component");
    await engine.tagImage(ctx.params.name!, repo, tag);
    sendStatus(ctx, 201);
  });

  router.add("DELETE", "/images/{name*}", async (ctx) => {
    const report = await engine.removeImage(ctx.params.name!, {
      force: bool(ctx.query, "force"),
      noPrune: bool(ctx.query, "noprune"),
    });
    sendJSON(ctx, 200, report);
  });

  router.add("POST", "/images/create", async (ctx) => {
    const q = ctx.query;
    const fromSrc = q.get("fromSrc");
    if (fromSrc === null) return pullRoute(ctx, engine);
    if (fromSrc !== "-") {
      throw new NotImplemented(
        "importing from a URL is not supported yet: download the file and import it from standard input",
      );
    }
    const repo = q.get("repo") ?? "";
    const tag = q.get("tag") ?? "";
    const message = q.get("message") ?? "";
    const changes = q.getAll("changes");
    const id = await engine.importImage(ctx.req, {
      ...(repo ? { ref: tag ? `${repo}:${tag}` : repo } : {}),
      ...(message ? { message } : {}),
      changes,
    });
    const res = resOf(ctx);
    const body = `${JSON.stringify({ status: id })}\r\n`;
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(body);
  });
}
