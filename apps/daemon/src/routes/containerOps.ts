import { pipeline } from "node:stream/promises";
import { type ContainerConfig, type Engine, encodePathStat, type UpdateConfig } from "@berth/engine";
import { InvalidArgument } from "@berth/errdefs";
import { bool, readJSON, resOf, sendJSON, sendStatus } from "../http.ts";
import type { Router } from "../Router.ts";

/**
 * containerOpsRoutes: pause, unpause, rename, top, changes (diff), export, commit, update, stats
 * and archive (cp) endpoints of the Engine API. Handlers only translate to `engine.ops`.
 */
export function containerOpsRoutes(router: Router, engine: Engine): void {
  const ops = engine.ops;

  router.add("POST", "/containers/{id}/pause", async (ctx) => {
    await ops.pause(ctx.params.id!);
    sendStatus(ctx, 204);
  });

  router.add("POST", "/containers/{id}/unpause", async (ctx) => {
    await ops.unpause(ctx.params.id!);
    sendStatus(ctx, 204);
  });

  router.add("POST", "/containers/{id}/rename", async (ctx) => {
    await ops.rename(ctx.params.id!, ctx.query.get("name") ?? "");
    sendStatus(ctx, 204);
  });

  router.add("GET", "/containers/{id}/top", async (ctx) => {
    sendJSON(ctx, 200, await ops.top(ctx.params.id!, ctx.query.get("ps_args") ?? ""));
  });

  router.add("GET", "/containers/{id}/changes", async (ctx) => {
    sendJSON(ctx, 200, await ops.changes(ctx.params.id!));
  });

  router.add("GET", "/containers/{id}/export", async (ctx) => {
    const res = resOf(ctx);
    await ops.export(ctx.params.id!, async (tar) => {
      res.writeHead(200, { "Content-Type": "application/x-tar" });
      await pipeline(tar, res);
    });
  });

  router.add("POST", "/commit", async (ctx) => {
    const q = ctx.query;
    const container = q.get("container") ?? "";
    if (container === "") throw new InvalidArgument("No such container: ");
    const body = await readJSON<ContainerConfig | null>(ctx.req);
    const changes = q.getAll("changes").filter((c) => c !== "");
    const str = (k: string) => {
      const v = q.get(k);
      return v === null || v === "" ? undefined : v;
    };
    const repo = str("repo");
    const tag = str("tag");
    const comment = str("comment");
    const author = str("author");
    const report = await ops.commit(container, {
      ...(repo ? { repo } : {}),
      ...(tag ? { tag } : {}),
      ...(comment ? { comment } : {}),
      ...(author ? { author } : {}),
      pause: bool(q, "pause", true),
      changes,
      ...(body && typeof body === "object" ? { config: body } : {}),
    });
    sendJSON(ctx, 201, report);
  });

  router.add("POST", "/containers/{id}/update", async (ctx) => {
    const body = (await readJSON<UpdateConfig>(ctx.req)) ?? {};
    if (typeof body !== "object" || Array.isArray(body))
      throw new InvalidArgument("invalid update body: expected a JSON object");
    sendJSON(ctx, 200, await ops.update(ctx.params.id!, body));
  });

  router.add("GET", "/containers/{id}/stats", async (ctx) => {
    const stream = bool(ctx.query, "stream", true);
    const oneShot = bool(ctx.query, "one-shot");
    if (oneShot && stream) throw new InvalidArgument("cannot have stream=true and one-shot=true");
    const ac = new AbortController();
    const samples = ops.stats(ctx.params.id!, { stream, oneShot, signal: ac.signal });
    const res = resOf(ctx);
    res.on("close", () => ac.abort());
    let started = false;
    try {
      for await (const s of samples) {
        if (!started) {
          res.writeHead(200, { "Content-Type": "application/json" });
          started = true;
        }
        if (!res.write(`${JSON.stringify(s)}\n`)) await new Promise((r) => res.once("drain", r));
      }
    } finally {
      if (started) res.end();
    }
  });

  // GET also answers HEAD (the router maps it): the stat header without a body.
  router.add("GET", "/containers/{id}/archive", async (ctx) => {
    const path = ctx.query.get("path") ?? "";
    if (path === "") throw new InvalidArgument("path cannot be empty");
    const res = resOf(ctx);
    if (ctx.req.method === "HEAD") {
      const stat = await ops.statPath(ctx.params.id!, path);
      res.writeHead(200, { "X-Docker-Container-Path-Stat": encodePathStat(stat) });
      res.end();
      return;
    }
    await ops.getArchive(ctx.params.id!, path, async (stat, tar) => {
      res.writeHead(200, {
        "Content-Type": "application/x-tar",
        "X-Docker-Container-Path-Stat": encodePathStat(stat),
      });
      await pipeline(tar, res);
    });
  });

  router.add("PUT", "/containers/{id}/archive", async (ctx) => {
    const path = ctx.query.get("path") ?? "";
    if (path === "") throw new InvalidArgument("path cannot be empty");
    await ops.putArchive(ctx.params.id!, path, ctx.req, {
      noOverwriteDirNonDir: bool(ctx.query, "noOverwriteDirNonDir"),
      copyUIDGID: bool(ctx.query, "copyUIDGID"),
    });
    sendStatus(ctx, 200);
  });
}
