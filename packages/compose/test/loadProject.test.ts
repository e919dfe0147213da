// biome-ignore-all lint/suspicious/noTemplateCurlyInString: compose templates are the subject of these tests
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { configHash, loadProject, projectToYaml } from "../src/index.ts";

const root = mkdtempSync(join(tmpdir(), "compose-load-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
function project(files: Record<string, string>): string {
  const dir = join(root, `My_Proj.${n++}`);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

describe("loadProject", () => {
  it("normalises short syntaxes and names the project after the directory", async () => {
    const dir = project({
      "compose.yaml": `
x-base: &base
  restart: always
  labels: [a=1]
services:
  web:
    <<: *base
    image: busybox:\${TAG:-1.36}
    command: echo "hello world"
    ports: ["127.0.0.1:8080:80/tcp", "9000"]
    volumes: ["data:/data:ro", "./src:/src", "/cache"]
    environment: [A=1, B]
    depends_on: [db]
    healthcheck: { test: "true", interval: 90s }
    deploy: { resources: { limits: { memory: 1g, cpus: "0.5" } } }
  db:
    image: busybox
volumes:
  data:
`,
    });
    const warnings: string[] = [];
    const p = await loadProject({ cwd: dir, environment: { B: "bee" }, onWarning: (w) => warnings.push(w) });
    expect(p.name).toMatch(/^my_proj\d+$/);
    const web = p.services.web!;
    expect(web.image).toBe("busybox:1.36");
    expect(web.command).toEqual(["echo", "hello world"]);
    expect(web.ports).toEqual([
      { mode: "ingress", host_ip: "127.0.0.1", target: 80, published: "8080", protocol: "tcp" },
      { mode: "ingress", target: 9000, protocol: "tcp" },
    ]);
    expect(web.volumes).toEqual([
      { type: "volume", source: "data", target: "/data", read_only: true, volume: {} },
      { type: "bind", source: join(dir, "src"), target: "/src", bind: { create_host_path: true } },
      { type: "volume", target: "/cache" },
    ]);
    expect(web.environment).toEqual({ A: "1", B: "bee" });
    expect(web.labels).toEqual({ a: "1" });
    expect(web.restart).toBe("always");
    expect(web.depends_on).toEqual({ db: { condition: "service_started", required: true } });
    expect(web.healthcheck).toEqual({ test: ["CMD-SHELL", "true"], interval: "1m30s" });
    expect(web.deploy).toEqual({ resources: { limits: { memory: 1024 ** 3, cpus: 0.5 } } });
    expect(web.networks).toEqual({ default: null });
    expect(p.networks.default?.name).toBe(`${p.name}_default`);
    expect(p.volumes.data?.name).toBe(`${p.name}_data`);
    expect(warnings).toEqual([]);
    expect(projectToYaml(p)).toContain(`name: ${p.name}\nservices:\n  db:\n`);
  });

  it("merges override files by the spec's rules, with !reset and !override", async () => {
    const dir = project({
      "compose.yaml": `
services:
  web:
    image: busybox
    command: [a, b]
    ports: ["8080:80"]
    volumes: ["one:/work"]
    environment: { A: "1", B: "2" }
    dns: [1.1.1.1]
    labels: [keep=1]
volumes: { one: {}, two: {} }
`,
      "compose.override.yaml": `
services:
  web:
    command: [c]
    ports: ["8080:80", "9090:90"]
    volumes: ["two:/work"]
    environment: { B: "3", C: "4" }
    labels: !override { only: "1" }
`,
      "extra.yaml": `
services:
  web:
    environment: !reset {}
    ports: !reset []
`,
    });
    const p = await loadProject({ cwd: dir, environment: {} });
    const web = p.services.web!;
    expect(web.command).toEqual(["c"]);
    expect(web.ports?.map((x) => x.published)).toEqual(["8080", "9090"]);
    expect(web.volumes).toEqual([{ type: "volume", source: "two", target: "/work", volume: {} }]);
    expect(web.environment).toEqual({ A: "1", B: "3", C: "4" });
    expect(web.labels).toEqual({ only: "1" });
    const q = await loadProject({
      cwd: dir,
      files: ["compose.yaml", "compose.override.yaml", "extra.yaml"],
      environment: {},
    });
    expect(q.services.web?.environment).toBeUndefined();
    expect(q.services.web?.ports).toBeUndefined();
  });

  it("reads .env and --env-file; the process environment wins; -p and COMPOSE_PROJECT_NAME name the project", async () => {
    const dir = project({
      "compose.yaml": "name: fromfile\nservices:\n  s:\n    image: img:${TAG}\n    env_file: [app.env]\n",
      ".env": "TAG=dotenv\n",
      "other.env": "TAG=other\n",
      "app.env": "FROM_FILE=${TAG}\n",
    });
    expect((await loadProject({ cwd: dir, environment: {} })).services.s?.image).toBe("img:dotenv");
    expect((await loadProject({ cwd: dir, environment: { TAG: "os" } })).services.s?.image).toBe("img:os");
    const o = await loadProject({ cwd: dir, environment: {}, envFiles: ["other.env"] });
    expect(o.services.s?.image).toBe("img:other");
    expect(o.services.s?.environment).toEqual({ FROM_FILE: "other" });
    expect(o.name).toBe("fromfile");
    expect((await loadProject({ cwd: dir, environment: { COMPOSE_PROJECT_NAME: "env" } })).name).toBe("env");
    expect((await loadProject({ cwd: dir, environment: {}, projectName: "flag" })).name).toBe("flag");
    await expect(loadProject({ cwd: dir, environment: {}, projectName: "Bad Name" })).rejects.toThrow(
      "invalid project name",
    );
  });

  it("takes COMPOSE_FILE when no -f is given, and interpolates inside !override", async () => {
    const dir = project({
      "a.yaml": "services:\n  a: {image: x, labels: {k: v}}\n",
      "b.yaml": 'services:\n  a:\n    labels: !override {k: "${V}"}\n',
    });
    const p = await loadProject({
      cwd: dir,
      environment: { COMPOSE_FILE: "a.yaml:b.yaml", V: "interpolated" },
    });
    expect(p.configFiles).toEqual([join(dir, "a.yaml"), join(dir, "b.yaml")]);
    expect(p.services.a?.labels).toEqual({ k: "interpolated" });
  });

  it("applies profiles", async () => {
    const dir = project({
      "compose.yaml": "services:\n  a: {image: x}\n  b: {image: x, profiles: [debug]}\n",
    });
    expect(Object.keys((await loadProject({ cwd: dir, environment: {} })).services)).toEqual(["a"]);
    expect(
      Object.keys((await loadProject({ cwd: dir, environment: {}, profiles: ["debug"] })).services),
    ).toEqual(["a", "b"]);
    expect(
      Object.keys((await loadProject({ cwd: dir, environment: { COMPOSE_PROFILES: "debug" } })).services),
    ).toEqual(["a", "b"]);
  });

  it("warns about version: and reports schema errors with file, line and path", async () => {
    const dir = project({
      "compose.yaml":
        'version: "3"\nservices:\n  web:\n    image: x\n    ports:\n      - 80\n      - target: [1]\n',
      "unknown.yaml": "services:\n  web:\n    image: x\n    colour: red\n",
    });
    const warnings: string[] = [];
    await expect(
      loadProject({ cwd: dir, environment: {}, onWarning: (w) => warnings.push(w) }),
    ).rejects.toThrow(`${join(dir, "compose.yaml")}:7: services.web.ports[1].target: must be a integer`);
    await expect(loadProject({ cwd: dir, files: ["unknown.yaml"], environment: {} })).rejects.toThrow(
      `${join(dir, "unknown.yaml")}:4: services.web: additional property colour is not allowed`,
    );
    const ok = project({ "compose.yaml": 'version: "3"\nservices:\n  web:\n    image: x\n' });
    await loadProject({ cwd: ok, environment: {}, onWarning: (w) => warnings.push(w) });
    expect(warnings.some((w) => w.includes("the attribute `version` is obsolete"))).toBe(true);
  });

  it("rejects unknown dependencies, networks and volumes, and missing required variables", async () => {
    const dir = project({
      "deps.yaml": "services:\n  web:\n    image: x\n    depends_on: [db]\n",
      "net.yaml": "services:\n  web:\n    image: x\n    networks: [front]\n",
      "vol.yaml": "services:\n  web:\n    image: x\n    volumes: [data:/d]\n",
      "req.yaml": "services:\n  web:\n    image: ${IMAGE:?an image is needed}\n",
    });
    const load = (f: string) => loadProject({ cwd: dir, files: [f], environment: {} });
    await expect(load("deps.yaml")).rejects.toThrow(
      'service "web" depends on undefined service "db": invalid compose project',
    );
    await expect(load("net.yaml")).rejects.toThrow('service "web" refers to undefined network front');
    await expect(load("vol.yaml")).rejects.toThrow('service "web" refers to undefined volume data');
    await expect(load("req.yaml")).rejects.toThrow(
      "required variable IMAGE is missing a value: an image is needed",
    );
  });

  it("config-hash changes with the container configuration only", async () => {
    const dir = project({
      "a.yaml": "services:\n  web:\n    image: x\n    command: [a]\n    deploy: {replicas: 1}\n",
      "b.yaml": "services:\n  web:\n    image: x\n    command: [a]\n    deploy: {replicas: 3}\n",
      "c.yaml": "services:\n  web:\n    image: x\n    command: [b]\n",
    });
    const hash = async (f: string) =>
      configHash((await loadProject({ cwd: dir, files: [f], environment: {} })).services.web!);
    expect(await hash("a.yaml")).toBe(await hash("b.yaml"));
    expect(await hash("a.yaml")).not.toBe(await hash("c.yaml"));
  });
});
