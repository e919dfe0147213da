import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { containerSpec, dependencyOrder, loadProject, parsePort, parseVolume } from "../src/index.ts";

const dir = mkdtempSync(join(tmpdir(), "compose-spec-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("parsePort", () => {
  it("expands short syntax", () => {
    expect(parsePort("80")).toEqual([{ mode: "ingress", target: 80, protocol: "tcp" }]);
    expect(parsePort("8080:80/udp")).toEqual([
      { mode: "ingress", target: 80, published: "8080", protocol: "udp" },
    ]);
    expect(parsePort("[::1]:8080:80")).toEqual([
      { mode: "ingress", host_ip: "::1", target: 80, published: "8080", protocol: "tcp" },
    ]);
    expect(parsePort("9000-9001:90-91").map((p) => `${p.published}->${p.target}`)).toEqual([
      "9000->90",
      "9001->91",
    ]);
    expect(parsePort("8000-8010:80")).toEqual([
      { mode: "ingress", target: 80, published: "8000-8010", protocol: "tcp" },
    ]);
    expect(() => parsePort("1:2:3:4")).toThrow("invalid port");
    expect(() => parsePort("99999")).toThrow("invalid container port range");
  });
});

describe("parseVolume", () => {
  it("tells binds from named and anonymous volumes and reads modes", () => {
    expect(parseVolume("/data")).toEqual({ type: "volume", target: "/data" });
    expect(parseVolume("db:/var/lib/db:ro,nocopy")).toEqual({
      type: "volume",
      source: "db",
      target: "/var/lib/db",
      read_only: true,
      volume: { nocopy: true },
    });
    expect(parseVolume("./conf:/etc/conf:rw")).toEqual({
      type: "bind",
      source: "./conf",
      target: "/etc/conf",
      read_only: false,
      bind: { create_host_path: true },
    });
    expect(() => parseVolume("a:/b:bogus")).toThrow("invalid volume mode");
  });
});

describe("containerSpec", () => {
  it("maps a service to a create body with compose labels", async () => {
    writeFileSync(join(dir, "secret.txt"), "s3cr3t");
    writeFileSync(
      join(dir, "compose.yaml"),
      `
name: app
services:
  web:
    image: busybox
    command: [httpd, -f]
    environment: { A: "1", UNSET: null }
    ports: ["127.0.0.1:4000:80"]
    expose: ["81"]
    volumes: ["data:/data:ro", "./src:/src", "/anon"]
    tmpfs: ["/run:size=1m"]
    networks:
      back: { aliases: [www] }
      front: { priority: 10 }
    depends_on: { db: { condition: service_healthy } }
    deploy:
      replicas: 2
      resources: { limits: { cpus: "0.5", memory: 64m }, reservations: { memory: 32m } }
      restart_policy: { condition: on-failure, max_attempts: 3 }
    healthcheck: { test: [CMD, "true"], interval: 2s, timeout: 1s, retries: 3, start_period: 500ms }
    init: true
    user: "1000"
    working_dir: /w
    hostname: h
    stop_signal: SIGINT
    stop_grace_period: 1m
    ulimits: { nofile: { soft: 10, hard: 20 }, nproc: 5 }
    secrets: [token]
  db:
    image: busybox
networks: { front: {}, back: {} }
volumes: { data: {} }
secrets: { token: { file: ./secret.txt } }
`,
    );
    const p = await loadProject({ cwd: dir, environment: {} });
    expect(dependencyOrder(p)).toEqual(["db", "web"]);
    const body = containerSpec(p, p.services.web!, {
      number: 2,
      configHash: "h".repeat(64),
      imageId: "sha256:1",
    });
    expect(body.Image).toBe("busybox");
    expect(body.Cmd).toEqual(["httpd", "-f"]);
    expect(body.Env).toEqual(["A=1"]);
    expect(body.Labels).toMatchObject({
      "com.docker.compose.project": "app",
      "com.docker.compose.service": "web",
      "com.docker.compose.container-number": "2",
      "com.docker.compose.oneoff": "False",
      "com.docker.compose.config-hash": "h".repeat(64),
      "com.docker.compose.project.working_dir": dir,
      "com.docker.compose.project.config_files": join(dir, "compose.yaml"),
      "com.docker.compose.depends_on": "db:service_healthy:false",
      "com.docker.compose.image": "sha256:1",
    });
    expect(body.ExposedPorts).toEqual({ "80/tcp": {}, "81/tcp": {} });
    expect(body.Healthcheck).toEqual({
      Test: ["CMD", "true"],
      Interval: 2e9,
      Timeout: 1e9,
      Retries: 3,
      StartPeriod: 5e8,
    });
    expect(body.StopSignal).toBe("SIGINT");
    expect(body.StopTimeout).toBe(60);
    expect(body.User).toBe("1000");
    expect(body.WorkingDir).toBe("/w");
    expect(body.Hostname).toBe("h");
    const h = body.HostConfig!;
    expect(h.PortBindings).toEqual({ "80/tcp": [{ HostIp: "127.0.0.1", HostPort: "4000" }] });
    expect(h.Binds).toEqual([`${join(dir, "src")}:/src`, `${join(dir, "secret.txt")}:/run/secrets/token:ro`]);
    expect(h.Mounts).toEqual([
      { Type: "volume", Source: "app_data", Target: "/data", ReadOnly: true },
      { Type: "volume", Target: "/anon", ReadOnly: false },
    ]);
    expect(h.Tmpfs).toEqual({ "/run": "size=1m" });
    expect(h.Memory).toBe(64 * 1024 * 1024);
    expect(h.MemoryReservation).toBe(32 * 1024 * 1024);
    expect(h.NanoCpus).toBe(5e8);
    expect(h.RestartPolicy).toEqual({ Name: "on-failure", MaximumRetryCount: 3 });
    expect(h.Init).toBe(true);
    expect(h.Ulimits).toEqual([
      { Name: "nofile", Soft: 10, Hard: 20 },
      { Name: "nproc", Soft: 5, Hard: 5 },
    ]);
    // the highest-priority network is primary; the service name is always an alias
    expect(h.NetworkMode).toBe("app_front");
    expect(body.NetworkingConfig).toEqual({ EndpointsConfig: { app_front: { Aliases: ["web"] } } });
    expect(p.services.web?.scale).toBe(2);
  });
});
