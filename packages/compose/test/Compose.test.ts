import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ContainerCreateRequest, ContainerSummary } from "@berth/api";
import type { Client } from "@berth/client";
import { NotFound } from "@berth/errdefs";
import { afterAll, describe, expect, it } from "vitest";
import { Compose, loadProject, type Project } from "../src/index.ts";

// The executor against an in-memory engine (a fake of the few Client methods it calls), to pin
// ordering, concurrency and convergence decisions; the real engine is in
// apps/daemon/test/compose.integration.test.ts.
const dir = mkdtempSync(join(tmpdir(), "compose-exec-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface FakeContainer {
  id: string;
  name: string;
  body: ContainerCreateRequest;
  state: "created" | "running" | "exited";
  health?: string;
}

class FakeEngine {
  containers = new Map<string, FakeContainer>();
  networks = new Set<string>();
  volumes = new Set<string>();
  log: string[] = [];
  running = 0;
  maxConcurrentStarts = 0;
  next = 0;
  client(): Client {
    const self = this;
    const find = (id: string) => {
      const c = self.containers.get(id) ?? [...self.containers.values()].find((x) => x.name === id);
      if (!c) throw new NotFound(`no such container: ${id}`);
      return c;
    };
    const json = (v: unknown) => ({ status: 200, headers: {}, body: Buffer.from(JSON.stringify(v)) });
    return {
      async containerList(o: { filters?: Record<string, string[]> }): Promise<ContainerSummary[]> {
        const labels = o.filters?.label ?? [];
        return [...self.containers.values()]
          .filter((c) =>
            labels.every((l) => {
              const [k, v] = l.split("=");
              return v === undefined ? k! in (c.body.Labels ?? {}) : c.body.Labels?.[k!] === v;
            }),
          )
          .map((c) => ({
            Id: c.id,
            Names: [`/${c.name}`],
            Labels: c.body.Labels ?? {},
            State: c.state,
            ImageID: "sha256:img",
          }));
      },
      async imageInspect() {
        return { Id: "sha256:img" };
      },
      async containerCreate(body: ContainerCreateRequest, o: { name: string }) {
        const id = `c${self.next++}`;
        self.containers.set(id, { id, name: o.name, body, state: "created" });
        self.log.push(`create ${o.name}`);
        return { Id: id, Warnings: [] };
      },
      async containerStart(id: string) {
        const c = find(id);
        self.running++;
        self.maxConcurrentStarts = Math.max(self.maxConcurrentStarts, self.running);
        await new Promise((r) => setTimeout(r, 20));
        self.running--;
        c.state = "running";
        if (c.body.Healthcheck) c.health = "healthy";
        self.log.push(`start ${c.name}`);
      },
      async containerStop(id: string) {
        const c = find(id);
        c.state = "exited";
        self.log.push(`stop ${c.name}`);
      },
      async containerRemove(id: string) {
        const c = find(id);
        self.containers.delete(c.id);
        self.log.push(`remove ${c.name}`);
      },
      async containerInspect(id: string) {
        const c = find(id);
        return {
          Id: c.id,
          Config: { Tty: false },
          State: {
            Running: c.state === "running",
            Status: c.state,
            ...(c.health ? { Health: { Status: c.health } } : {}),
          },
        };
      },
      async request(method: string, path: string, o: { body?: Record<string, unknown> } = {}) {
        const m = /^\/(networks|volumes)\/(.+)$/.exec(path);
        const set = path.startsWith("/networks") ? self.networks : self.volumes;
        if (method === "POST" && path.endsWith("/create")) {
          set.add(String(o.body?.Name));
          self.log.push(`${path.split("/")[1]} ${o.body?.Name}`);
          return json({ Id: o.body?.Name });
        }
        if (method === "GET" && path === "/networks")
          return json([...self.networks].map((Name) => ({ Name })));
        const connect = /^\/networks\/(.+)\/connect$/.exec(path);
        if (connect && method === "POST") {
          const ep = o.body?.EndpointConfig as { Aliases?: string[] };
          self.log.push(`connect ${connect[1]} ${String(o.body?.Container)} ${ep.Aliases?.join(",")}`);
          return json({});
        }
        if (m && method === "GET") {
          if (!set.has(decodeURIComponent(m[2]!))) throw new NotFound("not found");
          return json({ Name: m[2] });
        }
        if (m && method === "DELETE") {
          if (!set.delete(decodeURIComponent(m[2]!))) throw new NotFound("not found");
          return json({});
        }
        throw new Error(`unexpected ${method} ${path}`);
      },
    } as unknown as Client;
  }
}

async function load(yaml: string): Promise<Project> {
  writeFileSync(join(dir, "compose.yaml"), yaml);
  return loadProject({ cwd: dir, environment: {}, projectName: "p" });
}

const BASE = `
services:
  db: { image: x, healthcheck: { test: [CMD, "true"] } }
  cache: { image: x }
  web: { image: x, depends_on: { db: { condition: service_healthy }, cache: { condition: service_started } } }
  worker: { image: x, command: [v1] }
volumes: { data: {} }
`;

describe("Compose executor", () => {
  it("creates the network first, starts dependencies first and independent services concurrently", async () => {
    const engine = new FakeEngine();
    const compose = new Compose({
      client: engine.client(),
      project: await load(BASE),
      pollMs: 1,
      startConcurrency: 8,
    });
    const report = await compose.up();
    expect(report.created.sort()).toEqual(["p-cache-1", "p-db-1", "p-web-1", "p-worker-1"]);
    expect(engine.log[0]).toBe("networks p_default");
    const at = (s: string) => engine.log.indexOf(s);
    expect(at("start p-db-1")).toBeLessThan(at("create p-web-1"));
    expect(at("start p-cache-1")).toBeLessThan(at("create p-web-1"));
    expect(engine.maxConcurrentStarts).toBeGreaterThanOrEqual(3); // db, cache, worker together
    const labels = engine.containers.get("c0")?.body.Labels ?? {};
    expect(labels["com.docker.compose.project"]).toBe("p");
  });

  it("bounds the starts in flight, and a waiting service with a healthcheck starts first", async () => {
    const engine = new FakeEngine();
    const project = await load(`
services:
  a: { image: x }
  b: { image: x }
  c: { image: x }
  checked: { image: x, healthcheck: { test: [CMD, "true"] } }
`);
    await new Compose({ client: engine.client(), project, pollMs: 1, startConcurrency: 1 }).up();
    expect(engine.maxConcurrentStarts).toBe(1);
    const starts = engine.log.filter((l) => l.startsWith("start "));
    // The first start takes the free turn; of those that waited, the checked service goes first.
    expect(starts.indexOf("start p-checked-1")).toBeLessThanOrEqual(1);
    expect(starts).toHaveLength(4);
  });

  it("converges: nothing to do, then only the changed service, then scale up and down", async () => {
    const engine = new FakeEngine();
    const client = engine.client();
    await new Compose({ client, project: await load(BASE), pollMs: 1 }).up();
    engine.log = [];
    const again = await new Compose({ client, project: await load(BASE), pollMs: 1 }).up();
    expect(again.created).toEqual([]);
    expect(again.recreated).toEqual([]);
    expect(again.unchanged.sort()).toEqual(["p-cache-1", "p-db-1", "p-web-1", "p-worker-1"]);
    expect(engine.log).toEqual([]);
    const changed = await new Compose({
      client,
      project: await load(BASE.replace("[v1]", "[v2]")),
      pollMs: 1,
    }).up();
    expect(changed.recreated).toEqual(["p-worker-1"]);
    const scaled = await new Compose({ client, project: await load(BASE), pollMs: 1 }).up({
      scale: { worker: 3 },
    });
    expect(scaled.created.sort()).toEqual(["p-worker-2", "p-worker-3"]);
    expect(scaled.recreated).toEqual(["p-worker-1"]);
    const down = await new Compose({ client, project: await load(BASE), pollMs: 1 }).up({
      scale: { worker: 1 },
    });
    expect(down.removed.sort()).toEqual(["p-worker-2", "p-worker-3"]);
  });

  it("down stops dependants before their dependencies and removes the network", async () => {
    const engine = new FakeEngine();
    const client = engine.client();
    const compose = new Compose({ client, project: await load(BASE), pollMs: 1 });
    await compose.up();
    engine.log = [];
    await compose.down({ volumes: true });
    const at = (s: string) => engine.log.indexOf(s);
    expect(at("remove p-web-1")).toBeLessThan(at("stop p-db-1"));
    expect(at("remove p-web-1")).toBeLessThan(at("stop p-cache-1"));
    expect(engine.containers.size).toBe(0);
    expect(engine.networks.size).toBe(0);
  });

  it("fails a service_healthy dependency that has no healthcheck", async () => {
    const engine = new FakeEngine();
    const project = await load(`
services:
  db: { image: x }
  web: { image: x, depends_on: { db: { condition: service_healthy } } }
`);
    await expect(new Compose({ client: engine.client(), project, pollMs: 1 }).up()).rejects.toThrow(
      "dependency failed to start: container p-db-1 has no healthcheck configured",
    );
  });

  it("connects secondary networks with aliases and removes orphans on request", async () => {
    const engine = new FakeEngine();
    const client = engine.client();
    const two = `
services:
  web: { image: x, networks: { front: { aliases: [www] }, back: {} } }
  old: { image: x }
networks: { front: {}, back: {} }
`;
    await new Compose({ client, project: await load(two), pollMs: 1 }).up();
    const web = [...engine.containers.values()].find((c) => c.name === "p-web-1");
    expect(engine.log).toContain(`connect p_front ${web?.id} web,www`);
    expect(web?.body.NetworkingConfig).toEqual({
      EndpointsConfig: { p_back: { Aliases: ["web"] } },
    });
    const without = two.replace("  old: { image: x }\n", "");
    const warnings: string[] = [];
    const kept = await new Compose({
      client,
      project: await load(without),
      pollMs: 1,
      onWarning: (w) => warnings.push(w),
    }).up();
    expect(warnings).toEqual([expect.stringContaining("Found orphan containers ([p-old-1])")]);
    expect(kept.removed).toEqual([]);
    const cleaned = await new Compose({ client, project: await load(without), pollMs: 1 }).up({
      removeOrphans: true,
    });
    expect(cleaned.removed).toEqual(["p-old-1"]);
  });
});
