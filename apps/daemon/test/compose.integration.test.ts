import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run, useDaemon } from "./harness.ts";

// `berth compose` against berthd: a three-service busybox project with a healthcheck, a named
// volume and depends_on conditions; convergence by config-hash; down -v cleans everything.
const d = useDaemon();
const dir = mkdtempSync(join(tmpdir(), "berth-compose-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, "compose.yaml");

/**
 * berth runs the CLI, again when the bundle was being rebuilt under it: other suites rebuild
 * apps/cli/dist (tsup clean) while this one runs, and a lazily imported chunk can be missing for
 * a moment. Chunks load before any request is sent, so the retry cannot repeat a side effect.
 */
function berth(args: string[], opts: { timeoutMs?: number } = {}) {
  for (let i = 0; ; i++) {
    const r = d.berth(args, opts);
    if (i >= 4 || !/ERR_MODULE_NOT_FOUND|Cannot find module/.test(r.stderr)) return r;
    spawnSync("sleep", ["2"]);
  }
}

let port = 0;
beforeAll(async () => {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  port = (srv.address() as AddressInfo).port;
  await new Promise((r) => srv.close(r));
});

function project(webCommand: string): string {
  return `
services:
  kv:
    image: busybox
    command: ["sh", "-c", "mkdir -p /data/www && echo kv-value > /data/www/key && echo kv up && exec httpd -f -p 80 -h /data/www"]
    volumes:
      - data:/data
    stop_grace_period: 1s
    healthcheck:
      test: ["CMD", "wget", "-qO-", "http://127.0.0.1/key"]
      interval: 1s
      retries: 30
  api:
    image: busybox
    command: sh -c "echo api up; exec sleep 1000"
    stop_grace_period: 1s
    environment:
      KV: kv
    depends_on:
      kv:
        condition: service_healthy
  web:
    image: busybox
    command: ${webCommand}
    stop_grace_period: 1s
    ports:
      - "127.0.0.1:${port}:8080"
    labels:
      tier: front
    depends_on: [api]
volumes:
  data: {}
`;
}

function compose(args: string[], timeoutMs = 60_000) {
  return berth(["compose", "-f", file, "-p", "cz", ...args], { timeoutMs });
}

function ok(args: string[]): string {
  const r = compose(args);
  if (r.code !== 0)
    throw new Error(`berth compose ${args.join(" ")} exited ${r.code}: ${r.stderr}\n${r.stdout}`);
  return r.stdout + r.stderr;
}

function ids(): Record<string, string> {
  const r = d.docker([
    "ps",
    "-a",
    "--filter",
    "label=com.docker.compose.project=cz",
    "--format",
    "{{.Names}} {{.ID}}",
  ]);
  const out: Record<string, string> = {};
  for (const line of r.stdout.split("\n").filter(Boolean)) {
    const [name, id] = line.split(" ");
    out[name as string] = id as string;
  }
  return out;
}

describe("berth compose", () => {
  it("brings a three-service project up with --wait and lists it", () => {
    writeFileSync(file, project('sh -c "echo web v1 > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"'));
    const out = ok(["up", "-d", "--wait"]);
    expect(out).toContain("Container cz-kv-1  Healthy");
    expect(Object.keys(ids()).sort()).toEqual(["cz-api-1", "cz-kv-1", "cz-web-1"]);
    const ps = ok(["ps"]);
    expect(ps.split("\n")[0]).toMatch(/^NAME\s+IMAGE\s+COMMAND\s+SERVICE\s+CREATED\s+STATUS\s+PORTS$/);
    expect(ps).toMatch(/cz-web-1\s+busybox\s+"sh -c 'echo web v1 …"\s+web\s+.*127\.0\.0\.1:\d+->8080\/tcp/);
    const inspect = JSON.parse(d.docker(["inspect", "cz-web-1"]).stdout)[0];
    expect(inspect.Config.Labels).toMatchObject({
      "com.docker.compose.project": "cz",
      "com.docker.compose.service": "web",
      "com.docker.compose.container-number": "1",
      "com.docker.compose.oneoff": "False",
      "com.docker.compose.project.config_files": file,
      "com.docker.compose.project.working_dir": dir,
      tier: "front",
    });
    expect(inspect.Config.Labels["com.docker.compose.config-hash"]).toMatch(/^[0-9a-f]{64}$/);
    expect(d.docker(["volume", "ls", "-q"]).stdout).toContain("cz_data");
    const logs = ok(["logs", "--no-color"]);
    expect(logs).toMatch(/kv-1\s+\| kv up/);
    expect(logs).toMatch(/api-1\s+\| api up/);
    expect(ok(["ls"])).toMatch(/cz\s+running\(3\)\s+/);
  });

  it("publishes ports and resolves service names on the project network", async () => {
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) });
    expect(await res.text()).toBe("web v1\n");
    expect(ok(["exec", "-T", "api", "wget", "-qO-", "http://kv/key"]).trim()).toBe("kv-value");
    expect(compose(["port", "web", "8080"]).stdout).toBe(`127.0.0.1:${port}\n`);
  });

  it("a second up recreates nothing; a changed service is recreated alone", () => {
    const before = ids();
    const again = ok(["up", "-d"]);
    expect(again).not.toMatch(/Recreate|Creating/);
    expect(ids()).toEqual(before);
    writeFileSync(file, project('sh -c "echo web v2 > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"'));
    const out = ok(["up", "-d"]);
    expect(out).toContain("Container cz-web-1  Recreate");
    const after = ids();
    expect(after["cz-kv-1"]).toBe(before["cz-kv-1"]);
    expect(after["cz-api-1"]).toBe(before["cz-api-1"]);
    expect(after["cz-web-1"]).not.toBe(before["cz-web-1"]);
  });

  it("serves the recreated web on the same published port", async () => {
    let text = "";
    for (let i = 0; i < 20 && text !== "web v2\n"; i++) {
      text = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.text(),
        () => "",
      );
      if (text !== "web v2\n") await new Promise((r) => setTimeout(r, 100));
    }
    expect(text).toBe("web v2\n");
  });

  it("scales a service up and down", () => {
    ok(["up", "-d", "--scale", "api=2"]);
    expect(Object.keys(ids())).toContain("cz-api-2");
    ok(["up", "-d"]);
    expect(Object.keys(ids())).not.toContain("cz-api-2");
  });

  it("stop, start and exec", () => {
    ok(["stop", "web"]);
    expect(d.docker(["inspect", "-f", "{{.State.Running}}", "cz-web-1"]).stdout.trim()).toBe("false");
    ok(["start", "web"]);
    expect(d.docker(["inspect", "-f", "{{.State.Running}}", "cz-web-1"]).stdout.trim()).toBe("true");
    expect(ok(["exec", "-T", "api", "sh", "-c", "echo $KV"]).trim()).toBe("kv");
    ok(["pause", "api"]);
    expect(d.docker(["inspect", "-f", "{{.State.Status}}", "cz-api-1"]).stdout.trim()).toBe("paused");
    ok(["unpause", "api"]);
    expect(d.docker(["inspect", "-f", "{{.State.Status}}", "cz-api-1"]).stdout.trim()).toBe("running");
    ok(["kill", "web"]);
    expect(d.docker(["inspect", "-f", "{{.State.Running}}", "cz-web-1"]).stdout.trim()).toBe("false");
    ok(["up", "-d"]);
  });

  it("down -v removes containers, network and volume", () => {
    ok(["down", "-v"]);
    expect(ids()).toEqual({});
    expect(d.docker(["volume", "ls", "-q"]).stdout).not.toContain("cz_data");
    expect(d.docker(["network", "ls", "--format", "{{.Name}}"]).stdout).not.toContain("cz_default");
  });

  it("reports bad input with file, line and path", () => {
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "services:\n  web:\n    image: busybox\n    ports:\n      - target: [1]\n");
    const r = berth(["compose", "-f", bad, "config"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`${bad}:5: services.web.ports[0].target: must be a integer`);
    writeFileSync(bad, "services:\n  web:\n    image: busybox\n    depends_on: [db]\n");
    expect(berth(["compose", "-f", bad, "config"]).stderr).toContain(
      'service "web" depends on undefined service "db": invalid compose project',
    );
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a compose template
    writeFileSync(bad, "services:\n  web:\n    image: busybox:${TAG:?set TAG}\n");
    expect(berth(["compose", "-f", bad, "config"]).stderr).toContain(
      "required variable TAG is missing a value: set TAG",
    );
  });

  it("builds a service image with up --build and runs one-off containers", () => {
    const bdir = join(dir, "built");
    mkdirSync(bdir, { recursive: true });
    writeFileSync(
      join(bdir, "Dockerfile"),
      "FROM busybox\nARG GREETING=none\nRUN echo $GREETING > /greeting\n",
    );
    const bfile = join(bdir, "compose.yaml");
    writeFileSync(
      bfile,
      "services:\n  app:\n    build:\n      context: .\n      args: [GREETING=built-by-compose]\n    command: sleep 1000\n    stop_grace_period: 1s\n",
    );
    const c = (args: string[]) => berth(["compose", "-f", bfile, ...args], { timeoutMs: 120_000 });
    const up = c(["up", "-d", "--build"]);
    expect(up.code, up.stderr).toBe(0);
    expect(d.docker(["image", "inspect", "built-app"]).code).toBe(0);
    const run = c(["run", "--rm", "-T", "app", "cat", "/greeting"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe("built-by-compose\n");
    const ps = c(["ps", "-a", "--format", "json"]);
    expect(
      ps.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).Name),
    ).toEqual(["built-app-1"]);
    expect(c(["down", "--rmi", "local"]).code).toBe(0);
    expect(d.docker(["image", "inspect", "built-app"]).code).not.toBe(0);
  });

  it("a failed up (port in use) reports it and down cleans up what it left", async () => {
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, "127.0.0.1", r));
    const busy = (holder.address() as AddressInfo).port;
    try {
      const pfile = join(dir, "ports.yaml");
      writeFileSync(
        pfile,
        `services:\n  a:\n    image: busybox\n    command: sleep 1000\n    stop_grace_period: 1s\n  b:\n    image: busybox\n    command: sleep 1000\n    ports: ["127.0.0.1:${busy}:80"]\n`,
      );
      const r = berth(["compose", "-f", pfile, "-p", "busy", "up", "-d"]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/address already in use|port is already allocated/);
      const down = berth(["compose", "-f", pfile, "-p", "busy", "down"]);
      expect(down.code, down.stderr).toBe(0);
      const left = d.docker(["ps", "-aq", "--filter", "label=com.docker.compose.project=busy"]);
      expect(left.stdout).toBe("");
    } finally {
      await new Promise((r) => holder.close(r));
    }
  });

  it("waits for service_completed_successfully and reports a failed one-shot dependency", () => {
    const ofile = join(dir, "oneshot.yaml");
    const write = (code: number) =>
      writeFileSync(
        ofile,
        `services:\n  init:\n    image: busybox\n    command: ["sh", "-c", "sleep 1; echo done > /shared/flag; exit ${code}"]\n    volumes: [shared:/shared]\n  app:\n    image: busybox\n    command: ["sh", "-c", "cat /shared/flag; exec sleep 1000"]\n    stop_grace_period: 1s\n    volumes: [shared:/shared]\n    depends_on:\n      init: { condition: service_completed_successfully }\nvolumes:\n  shared: {}\n`,
      );
    const c = (args: string[]) =>
      berth(["compose", "-f", ofile, "-p", "oneshot", ...args], { timeoutMs: 60_000 });
    write(0);
    const up = c(["up", "-d", "--wait"]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toContain("Container oneshot-init-1  Exited");
    expect(c(["logs", "--no-color", "app"]).stdout).toMatch(/app-1\s+\| done/);
    expect(c(["down", "-v"]).code).toBe(0);
    write(3);
    const bad = c(["up", "-d"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('service "init" didn\'t complete successfully: exit 3');
    expect(c(["down", "-v"]).code).toBe(0);
  });

  it("up without -d attaches to the logs until the containers exit", () => {
    const afile = join(dir, "attached.yaml");
    writeFileSync(
      afile,
      'services:\n  hi:\n    image: busybox\n    command: ["sh", "-c", "echo hello; echo oops >&2"]\n',
    );
    const r = berth(["compose", "-f", afile, "-p", "att", "up"], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("Attaching to hi-1");
    expect(r.stdout).toMatch(/hi-1\s+\| hello/);
    expect(r.stdout).toMatch(/hi-1\s+\| oops/);
    expect(r.stdout).toContain("hi-1 exited with code 0");
    writeFileSync(
      afile,
      'services:\n  quick:\n    image: busybox\n    command: ["sh", "-c", "sleep 1; exit 7"]\n  slow:\n    image: busybox\n    command: sleep 1000\n    stop_grace_period: 1s\n',
    );
    const ab = berth(["compose", "-f", afile, "-p", "att", "up", "--exit-code-from", "quick"], {
      timeoutMs: 60_000,
    });
    expect(ab.code, ab.stderr).toBe(7);
    expect(ab.stdout).toContain("quick-1 exited with code 7");
    expect(d.docker(["inspect", "-f", "{{.State.Running}}", "att-slow-1"]).stdout.trim()).toBe("false");
    expect(berth(["compose", "-f", afile, "-p", "att", "down"]).code).toBe(0);
  });

  it("deploy: replicas, resource limits and an on-failure restart policy", () => {
    const dfile = join(dir, "deploy.yaml");
    writeFileSync(
      dfile,
      `services:\n  worker:\n    image: busybox\n    command: ["sh", "-c", "sleep 1; exit 1"]\n    deploy:\n      replicas: 3\n      resources:\n        limits: { cpus: "0.5", memory: 64M }\n      restart_policy: { condition: on-failure, max_attempts: 2 }\n`,
    );
    const c = (args: string[]) =>
      berth(["compose", "-f", dfile, "-p", "dep", ...args], { timeoutMs: 60_000 });
    const up = c(["up", "-d"]);
    expect(up.code, up.stderr).toBe(0);
    const names = d.docker([
      "ps",
      "-a",
      "--filter",
      "label=com.docker.compose.project=dep",
      "--format",
      "{{.Names}}",
    ]);
    expect(names.stdout.split("\n").filter(Boolean).sort()).toEqual([
      "dep-worker-1",
      "dep-worker-2",
      "dep-worker-3",
    ]);
    const fmt =
      "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}";
    expect(d.docker(["inspect", "-f", fmt, "dep-worker-2"]).stdout.trim()).toBe(
      `${64 * 1024 * 1024} 500000000 on-failure 2`,
    );
    let restarts = 0;
    for (let i = 0; i < 80 && restarts < 1; i++) {
      restarts = Number(d.docker(["inspect", "-f", "{{.RestartCount}}", "dep-worker-1"]).stdout.trim());
      if (restarts < 1) spawnSync("sleep", ["0.25"]);
    }
    expect(restarts).toBeGreaterThanOrEqual(1);
    expect(c(["down"]).code).toBe(0);
  });

  it("create makes containers without starting them; start starts them", () => {
    const cfile = join(dir, "create.yaml");
    writeFileSync(
      cfile,
      "services:\n  c:\n    image: busybox\n    command: sleep 1000\n    stop_grace_period: 1s\n",
    );
    const c = (args: string[]) => berth(["compose", "-f", cfile, "-p", "cre", ...args]);
    expect(c(["create"]).code).toBe(0);
    expect(d.docker(["inspect", "-f", "{{.State.Status}}", "cre-c-1"]).stdout.trim()).toBe("created");
    expect(c(["start"]).code).toBe(0);
    expect(d.docker(["inspect", "-f", "{{.State.Status}}", "cre-c-1"]).stdout.trim()).toBe("running");
    expect(c(["version", "--short"]).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(c(["down"]).code).toBe(0);
  });

  const hasV1 = run("docker-compose", ["version"]).code === 0;
  it.skipIf(!hasV1)("Debian's docker-compose 1.29 brings a two-service file up and down on berthd", () => {
    const vdir = join(dir, "v1");
    mkdirSync(vdir, { recursive: true });
    const vfile = join(vdir, "docker-compose.yml");
    writeFileSync(
      vfile,
      'version: "3"\nservices:\n  one:\n    image: busybox\n    command: sleep 1000\n  two:\n    image: busybox\n    command: sleep 1000\n    depends_on: [one]\n',
    );
    const dc = (args: string[]) =>
      run("docker-compose", ["-f", vfile, "-p", "vone", ...args], {
        env: { DOCKER_HOST: d.host },
        timeoutMs: 120_000,
      });
    const up = dc(["up", "-d"]);
    expect(up.code, up.stderr).toBe(0);
    const ps = d.docker([
      "ps",
      "--filter",
      "label=com.docker.compose.project=vone",
      "--format",
      "{{.Names}}",
    ]);
    expect(ps.stdout.split("\n").filter(Boolean).sort()).toEqual(["vone_one_1", "vone_two_1"]);
    // berth compose sees docker-compose's containers through the shared labels
    const bps = berth(["compose", "-f", vfile, "-p", "vone", "ps", "--services"]);
    expect(bps.stdout.split("\n").filter(Boolean).sort()).toEqual(["one", "two"]);
    const down = dc(["down", "-t", "1"]);
    expect(down.code, down.stderr).toBe(0);
    expect(d.docker(["ps", "-aq", "--filter", "label=com.docker.compose.project=vone"]).stdout).toBe("");
  });
});
