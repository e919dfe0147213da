import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { busyboxTar, type RunResult, repo, run, useDaemon } from "./harness.ts";
import { hasDockerd, ReferenceDockerd } from "./referenceDockerd.ts";

// @berth/compose drives any Docker Engine API: the same project brought up by `berth compose`
// on berthd and on a reference dockerd (Debian's docker.io) reaches the same state (containers,
// labels, network, volume, health), and down -v leaves nothing on either. Skipped without dockerd.
const PROJECT = `
services:
  kv:
    image: busybox
    command: ["sh", "-c", "mkdir -p /data && echo v > /data/key && exec sleep 1000"]
    volumes:
      - data:/data
    stop_grace_period: 1s
    healthcheck:
      test: ["CMD", "test", "-f", "/data/key"]
      interval: 1s
      retries: 30
  api:
    image: busybox
    command: ["sh", "-c", "exec sleep 1000"]
    stop_grace_period: 1s
    depends_on:
      kv:
        condition: service_healthy
  web:
    image: busybox
    command: ["sh", "-c", "exec sleep 1000"]
    stop_grace_period: 1s
    deploy:
      replicas: 2
    depends_on: [api]
volumes:
  data: {}
`;

describe.skipIf(!hasDockerd())("berth compose against berthd and a reference dockerd", () => {
  const d = useDaemon();
  const ref = new ReferenceDockerd();
  const dir = mkdtempSync(join(tmpdir(), "berth-compose-dockerd-"));
  const file = join(dir, "compose.yaml");
  writeFileSync(file, PROJECT);
  beforeAll(async () => {
    await ref.start();
    const r = ref.docker(["import", "--change", 'CMD ["sh"]', busyboxTar(), "busybox:latest"]);
    if (r.code !== 0) throw new Error(`dockerd import failed: ${r.stderr}`);
  }, 120_000);
  afterAll(async () => {
    await ref.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** compose runs `berth compose` against one daemon (the berth CLI, pointed by DOCKER_HOST). */
  const compose = (host: string, ...args: string[]): RunResult =>
    run(
      process.execPath,
      [join(repo, "apps/cli/bin/berth.js"), "compose", "-f", file, "-p", "same", ...args],
      {
        env: { DOCKER_HOST: host, BERTH_NO_AUTOSTART: "1" },
        timeoutMs: 120_000,
      },
    );

  /** state is what a user compares: per container its name, compose labels, health; networks; volumes. */
  function state(cli: { docker: (a: string[]) => RunResult }): string[] {
    const ps = cli
      .docker([
        "ps",
        "-a",
        "--filter",
        "label=com.docker.compose.project=same",
        "--format",
        '{{.Names}} {{.Label "com.docker.compose.service"}} {{.Label "com.docker.compose.container-number"}} {{.Label "com.docker.compose.oneoff"}} {{.State}}',
      ])
      .stdout.trim()
      .split("\n")
      .filter(Boolean);
    const health = cli
      .docker(["inspect", "-f", "{{.Name}} {{.State.Health.Status}}", "same-kv-1"])
      .stdout.trim();
    const nets = cli.docker([
      "network",
      "ls",
      "--filter",
      "label=com.docker.compose.project=same",
      "--format",
      "{{.Name}}",
    ]);
    const vols = cli.docker([
      "volume",
      "ls",
      "--filter",
      "label=com.docker.compose.project=same",
      "--format",
      "{{.Name}}",
    ]);
    return [...ps.sort(), health, ...nets.stdout.trim().split("\n"), ...vols.stdout.trim().split("\n")];
  }

  it("brings the project up with --wait on both daemons to the same state, then down -v on both", () => {
    for (const host of [d.host, ref.host]) {
      const up = compose(host, "up", "-d", "--wait");
      expect(up.code, `${host}: ${up.stderr}`).toBe(0);
    }
    const onBerth = state(d);
    expect(onBerth).toEqual([
      "same-api-1 api 1 False running",
      "same-kv-1 kv 1 False running",
      "same-web-1 web 1 False running",
      "same-web-2 web 2 False running",
      "/same-kv-1 healthy",
      "same_default",
      "same_data",
    ]);
    expect(state(ref)).toEqual(onBerth);
    // A second up on either changes nothing.
    for (const host of [d.host, ref.host]) {
      const again = compose(host, "up", "-d");
      expect(again.code).toBe(0);
      expect(again.stderr).not.toMatch(/Recreate/);
    }
    for (const [host, cli] of [
      [d.host, d],
      [ref.host, ref],
    ] as const) {
      expect(compose(host, "down", "-v").code).toBe(0);
      expect(
        cli.docker(["ps", "-aq", "--filter", "label=com.docker.compose.project=same"]).stdout.trim(),
      ).toBe("");
      expect(
        cli.docker(["volume", "ls", "-q", "--filter", "label=com.docker.compose.project=same"]).stdout.trim(),
      ).toBe("");
      expect(
        cli
          .docker(["network", "ls", "-q", "--filter", "label=com.docker.compose.project=same"])
          .stdout.trim(),
      ).toBe("");
    }
  }, 300_000);
});
