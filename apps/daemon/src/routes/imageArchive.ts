import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Engine } from "@berth/engine";
import { InvalidArgument } from "@berth/errdefs";
import { bool, resOf } from "../http.ts";
import type { Ctx, Router } from "../Router.ts";

/** humanSize formats bytes as docker's progress bars do (go-units HumanSize: 1.997MB, 32.77kB). */
function humanSize(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(4))}${units[i]}`;
}

/** progressBar renders docker's JSONProgress string: `[=====>     ]  1.2MB/3MB` (width 50). */
function progressBar(current: number, total: number): string {
  const filled = total > 0 ? Math.min(50, Math.floor(Math.floor((current / total) * 100) / 2)) : 50;
  return `[${"=".repeat(filled)}>${" ".repeat(50 - filled)}] ${humanSize(current).padStart(8)}/${humanSize(total)}`;
}

/** sendArchive streams a save; errors before the first byte are ordinary error answers. */
async function sendArchive(ctx: Ctx, engine: Engine, names: string[]): Promise<void> {
  const res = resOf(ctx);
  const ac = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) ac.abort();
  });
  const tar: Readable = await engine.saveImages(names, { signal: ac.signal });
  res.writeHead(200, { "Content-Type": "application/x-tar" });
  try {
    await pipeline(tar, res);
  } catch {
    // Mid-stream failure: the headers are gone, so the only signal left is a cut connection
    // (the client sees an unexpected EOF rather than a valid-looking short archive).
    res.destroy();
  }
}

/**
 * imageArchiveRoutes: `docker save` and `docker load`.
 * - `GET /images/get?names=a&names=b` and `GET /images/{name}/get`: the tar stream
 *   (`application/x-tar`) of docker 25+'s archive format.
 * - `POST /images/load?quiet=0|1`: the body is the archive; the answer is JSON lines, as dockerd
 *   writes them: `Loading layer` progress (unless quiet), then `{"stream":"Loaded image: x:y\n"}`
 *   per tag, and a failure as a final `errorDetail` line with status 200.
 */
export function imageArchiveRoutes(router: Router, engine: Engine): void {
  router.add("GET", "/images/get", async (ctx) => {
    const names = ctx.query.getAll("names").filter((n) => n !== "");
    if (names.length === 0) throw new InvalidArgument("no image names given: use ?names=IMAGE");
    await sendArchive(ctx, engine, names);
  });

  router.add("GET", "/images/{name*}/get", async (ctx) => {
    await sendArchive(ctx, engine, [ctx.params.name!]);
  });

  router.add("POST", "/images/load", async (ctx) => {
    const quiet = bool(ctx.query, "quiet");
    const res = resOf(ctx);
    const ac = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) ac.abort();
    });
    res.writeHead(200, { "Content-Type": "application/json" });
    const send = (msg: object) => {
      if (!res.writableEnded) res.write(`${JSON.stringify(msg)}\r\n`);
    };
    try {
      const report = await engine.loadImages(ctx.req, {
        signal: ac.signal,
        ...(quiet
          ? {}
          : {
              onProgress: (p) =>
                send({
                  status: p.status,
                  progressDetail: { current: p.current, total: p.total },
                  progress: progressBar(p.current, p.total),
                  id: p.diffId.slice(7, 19),
                }),
            }),
      });
      for (const line of report.messages) send({ stream: `${line}\n` });
    } catch (err) {
      const message = (err as Error).message;
      send({ errorDetail: { message }, error: message });
      // Let the client finish sending so it reads this answer instead of a broken pipe.
      if (!ctx.req.destroyed && !ctx.req.readableEnded) ctx.req.resume();
    }
    res.end();
  });
}
