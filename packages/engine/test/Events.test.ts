import { describe, expect, it } from "vitest";
import {
  ContainerEvent,
  decodeEvent,
  Events,
  encodeEvent,
  ImageEvent,
  MAX_PENDING_EVENTS,
  matchEvent,
  NetworkEvent,
  parseEventTime,
  validateEventFilters,
} from "../src/Events.ts";

const ctr = { id: "abc123", name: "web", image: "busybox:latest", labels: { app: "demo" } };

describe("Events", () => {
  it("stamps strictly increasing times and fills docker's legacy fields for containers only", () => {
    let t = 5_000_000_000n;
    const bus = new Events({ now: () => t });
    const a = bus.emit(ContainerEvent(ctr, "die", { exitCode: "3" }));
    const b = bus.emit(NetworkEvent("connect", { id: "n1", name: "bridge" }, { container: "abc123" }));
    t = 7_100_000_000n;
    const c = bus.emit(ImageEvent("sha256:x", "tag", "evtag:1"));
    expect(a.timeNano).toBe(5_000_000_000n);
    expect(b.timeNano).toBe(5_000_000_001n);
    expect(c.time).toBe(7);
    expect(Object.keys(a)).toEqual([
      "status",
      "id",
      "from",
      "Type",
      "Action",
      "Actor",
      "scope",
      "time",
      "timeNano",
    ]);
    expect(a.Actor.Attributes).toEqual({ app: "demo", exitCode: "3", image: "busybox:latest", name: "web" });
    expect(Object.keys(a.Actor.Attributes)).toEqual(["app", "exitCode", "image", "name"]);
    expect(a.from).toBe("busybox:latest");
    expect(b.status).toBeUndefined();
    expect(c.status).toBe("tag");
    expect(c.from).toBeUndefined();
  });

  it("keeps a bounded ring and answers since/until from it", () => {
    let t = 1n;
    const bus = new Events({ capacity: 3, now: () => t++ });
    for (let i = 0; i < 5; i++) bus.emit(ContainerEvent(ctr, `a${i}`));
    expect(bus.history().map((m) => m.Action)).toEqual(["a2", "a3", "a4"]);
    expect(bus.history({ since: 4n }).map((m) => m.Action)).toEqual(["a3", "a4"]);
    expect(bus.history({ until: 4n }).map((m) => m.Action)).toEqual(["a2", "a3"]);
  });

  it("encodes timeNano exactly and decodes it back", () => {
    const bus = new Events({ now: () => 1795820110740280962n });
    const line = encodeEvent(bus.emit(ContainerEvent(ctr, "start")));
    expect(line.endsWith(',"time":1795820110,"timeNano":1795820110740280962}\n')).toBe(true);
    expect(decodeEvent(line.trim()).timeNano).toBe(1795820110740280962n);
  });

  it("matches docker's filters", () => {
    const bus = new Events();
    const start = bus.emit(ContainerEvent(ctr, "start"));
    const health = bus.emit(ContainerEvent(ctr, "health_status: healthy"));
    const net = bus.emit(NetworkEvent("connect", { id: "n1", name: "webnet" }, { container: "abc123" }));
    const img = bus.emit(ImageEvent("sha256:ff", "tag", "evtag:1"));
    expect(matchEvent(start, { event: ["start"], type: ["container"] })).toBe(true);
    expect(matchEvent(start, { event: ["stop"] })).toBe(false);
    expect(matchEvent(health, { event: ["health_status"] })).toBe(true);
    expect(matchEvent(health, { event: ["health_status: healthy"] })).toBe(true);
    expect(matchEvent(start, { container: ["web"] })).toBe(true);
    expect(matchEvent(start, { container: ["abc"] })).toBe(true);
    expect(matchEvent(start, { container: ["other"] })).toBe(false);
    expect(matchEvent(net, { container: ["web"] })).toBe(false);
    expect(matchEvent(net, { network: ["webnet"] })).toBe(true);
    expect(matchEvent(start, { image: ["busybox"] })).toBe(true);
    expect(matchEvent(img, { image: ["evtag"] })).toBe(true);
    expect(matchEvent(img, { image: ["other"] })).toBe(false);
    expect(matchEvent(start, { label: ["app=demo"] })).toBe(true);
    expect(matchEvent(start, { label: ["app=other"] })).toBe(false);
    expect(matchEvent(start, { scope: ["swarm"] })).toBe(false);
    expect(() => validateEventFilters({ bogus: ["x"] })).toThrow("invalid filter 'bogus'");
    expect(() => validateEventFilters({ type: ["nope"] })).toThrow("invalid filter 'type=nope'");
  });

  it("streams past events, then live ones, and ends once until passes", async () => {
    const bus = new Events();
    const since = bus.emit(ContainerEvent(ctr, "create")).timeNano;
    const until = BigInt(Date.now() + 300) * 1_000_000n;
    const seen: string[] = [];
    const done = (async () => {
      for await (const m of bus.stream({ since, until, filters: { type: ["container"] } }))
        seen.push(m.Action);
    })();
    await new Promise((r) => setTimeout(r, 20));
    bus.emit(ContainerEvent(ctr, "start"));
    bus.emit(ImageEvent("sha256:ff", "tag", "x:1"));
    await done;
    expect(seen).toEqual(["create", "start"]);
  });

  it("ends a stream without until when its signal aborts, and stops a past-only stream at once", async () => {
    const bus = new Events();
    bus.emit(ContainerEvent(ctr, "create"));
    const past: string[] = [];
    for await (const m of bus.stream({ since: 0n, until: 1_000_000_000n })) past.push(m.Action);
    expect(past).toEqual([]);
    const ac = new AbortController();
    const live: string[] = [];
    const done = (async () => {
      for await (const m of bus.stream({ signal: ac.signal })) live.push(m.Action);
    })();
    bus.emit(ContainerEvent(ctr, "start"));
    await new Promise((r) => setTimeout(r, 10));
    ac.abort();
    await done;
    expect(live).toEqual(["start"]);
    expect(bus.listeners).toBe(0);
  });

  it("ends a stream whose reader falls MAX_PENDING_EVENTS behind", async () => {
    const bus = new Events();
    const it = bus.stream()[Symbol.asyncIterator]();
    const first = it.next();
    bus.emit(ContainerEvent(ctr, "start"));
    expect((await first).value?.Action).toBe("start");
    for (let i = 0; i < MAX_PENDING_EVENTS + 10; i++) bus.emit(ContainerEvent(ctr, "x"));
    expect((await it.next()).done).toBe(true);
    expect(bus.listeners).toBe(0);
  });

  it("parses docker's since/until values", () => {
    expect(parseEventTime("1795820107", "since")).toBe(1795820107_000000000n);
    expect(parseEventTime("1795820107.5", "since")).toBe(1795820107_500000000n);
    expect(parseEventTime("", "since")).toBeUndefined();
    expect(() => parseEventTime("yesterday", "since")).toThrow('invalid value for "since"');
  });
});
