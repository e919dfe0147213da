import {
  type Engine,
  encodeEvent,
  parseEventTime,
  parseFiltersJSON,
  validateEventFilters,
} from "@berth/engine";
import { resOf } from "../http.ts";
import type { Router } from "../Router.ts";

/**
 * eventRoutes: `GET /events`, docker's event stream as JSON lines. `since` replays remembered
 * events, `until` ends the stream once that time has passed (at once when it is in the past),
 * `filters` narrows it; without `until` it stays open until the client goes.
 */
export function eventRoutes(router: Router, engine: Engine): void {
  router.add("GET", "/events", async (ctx) => {
    const q = ctx.query;
    const since = parseEventTime(q.get("since"), "since");
    const until = parseEventTime(q.get("until"), "until");
    const filters = parseFiltersJSON(q.get("filters") ?? undefined);
    validateEventFilters(filters);
    const res = resOf(ctx);
    const ac = new AbortController();
    res.on("close", () => ac.abort());
    res.writeHead(200, { "Content-Type": "application/json" });
    res.flushHeaders();
    try {
      for await (const m of engine.events.stream({
        ...(since !== undefined ? { since } : {}),
        ...(until !== undefined ? { until } : {}),
        filters,
        signal: ac.signal,
      })) {
        if (!res.write(encodeEvent(m))) await new Promise((r) => res.once("drain", r));
      }
    } finally {
      res.end();
    }
  });
}
