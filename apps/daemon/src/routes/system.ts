import type { Engine } from "@berth/engine";
import { sendJSON } from "../http.ts";
import type { Router } from "../Router.ts";

/** systemRoutes: `/_ping`, `/version`, `/info`. */
export function systemRoutes(router: Router, engine: Engine): void {
  router.add("GET", "/_ping", ({ req, res }) => {
    if (!res) return;
    res.setHeader("Cache-Control", "no-cache, no-store, must-revalidate");
    res.setHeader("Pragma", "no-cache");
    res.setHeader("Builder-Version", "1");
    res.writeHead(200, {
      "Content-Type": "text/plain; charset=utf-8",
      "Content-Length": req.method === "HEAD" ? 0 : 2,
    });
    res.end(req.method === "HEAD" ? undefined : "OK");
  });
  router.add("GET", "/version", async (ctx) => sendJSON(ctx, 200, await engine.version()));
  router.add("GET", "/info", async (ctx) => sendJSON(ctx, 200, await engine.info()));
}
