import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { useDaemon } from "./harness.ts";

// Healthchecks through the real docker CLI (and berth) against berthd: --health-* flags, the
// image's HEALTHCHECK, ps and inspect, events, the ps health filter, and a daemon restart.
const d = useDaemon();
const ctx = mkdtempSync(join(tmpdir(), "berth-health-ctx-"));
afterAll(() => rmSync(ctx, { recursive: true, force: true }));

function ok(args: string[]): string {
  const r = d.docker(args);
  if (r.code !== 0) throw new Error(`docker ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout.trim();
}

/** runChecked starts a detached busybox `sleep 300` probed by `cmd` every `interval`, plus `flags`. */
function runChecked(cmd: string, interval: string, ...flags: string[]): string {
  return ok([
    "run",
    "-d",
    ...flags,
    "--health-cmd",
    cmd,
    "--health-interval",
    interval,
    "busybox",
    "sleep",
    "300",
  ]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (cond()) return;
    await sleep(150);
  }
  throw new Error(`timed out waiting for ${what}\n${d.log.slice(-2000)}`);
}

interface Health {
  Status: string;
  FailingStreak: number;
  Log: Array<{ Start: string; End: string; ExitCode: number; Output: string }>;
}

function health(c: string): Health | null {
  return JSON.parse(ok(["inspect", "-f", "{{json .State.Health}}", c])) as Health | null;
}

const status = (c: string) => health(c)?.Status;

describe("healthchecks", () => {
  it("a passing --health-cmd makes the container healthy in inspect, ps and events", async () => {
    const since = String(Math.floor(Date.now() / 1000));
    const id = runChecked("echo fine", "300ms", "--name", "hok");
    expect(ok(["inspect", "-f", "{{json .Config.Healthcheck}}", id])).toBe(
      '{"Test":["CMD-SHELL","echo fine"],"Interval":300000000}',
    );
    expect(["starting", "healthy"]).toContain(status(id));
    await until("healthy", () => status(id) === "healthy");
    const h = health(id)!;
    expect(h.FailingStreak).toBe(0);
    expect(h.Log.length).toBeGreaterThan(0);
    expect(h.Log.at(-1)).toMatchObject({ ExitCode: 0, Output: "fine\n" });
    expect(Date.parse(h.Log.at(-1)!.End)).toBeGreaterThanOrEqual(Date.parse(h.Log.at(-1)!.Start));
    expect(ok(["ps", "--filter", "name=hok", "--format", "{{.Status}}"])).toMatch(/^Up .* \(healthy\)$/);
    expect(ok(["ps", "--filter", "health=healthy", "--format", "{{.Names}}"]).split("\n")).toContain("hok");
    expect(ok(["ps", "--filter", "health=unhealthy", "--format", "{{.Names}}"]).split("\n")).not.toContain(
      "hok",
    );
    expect(ok(["ps", "--filter", "health=none", "--format", "{{.Names}}"]).split("\n")).not.toContain("hok");
    const ev = ok([
      "events",
      "--since",
      since,
      "--until",
      String(Math.floor(Date.now() / 1000) + 1),
      "--filter",
      "container=hok",
      "--filter",
      "event=health_status",
      "--format",
      "{{.Action}}",
    ]);
    expect(ev.split("\n")[0]).toBe("health_status: healthy");
    // A probe at 300ms intervals keeps 5 results at most.
    await until("5 log entries", () => health(id)!.Log.length === 5);
    await sleep(700);
    expect(health(id)!.Log.length).toBe(5);
    ok(["rm", "-f", id]);
  });

  it("failing probes count only after the start period and turn unhealthy after the retries", async () => {
    const bad = runChecked("echo bad >&2; exit 3", "200ms", "--health-retries", "2");
    const grace = runChecked(
      "exit 1",
      "200ms",
      "--health-start-period",
      "60s",
      "--health-start-interval",
      "200ms",
      "--health-retries",
      "1",
    );
    await until("unhealthy", () => status(bad) === "unhealthy");
    const h = health(bad)!;
    expect(h.FailingStreak).toBeGreaterThanOrEqual(2);
    expect(h.Log.at(-1)).toMatchObject({ ExitCode: 3, Output: "bad\n" });
    expect(d.docker(["ps", "--filter", `id=${bad}`, "--format", "{{.Status}}"]).stdout).toMatch(
      /\(unhealthy\)/,
    );
    await until("probes in the start period", () => (health(grace)?.Log.length ?? 0) >= 3);
    expect(health(grace)).toMatchObject({ Status: "starting", FailingStreak: 0 });
    expect(d.docker(["ps", "--filter", `id=${grace}`, "--format", "{{.Status}}"]).stdout).toMatch(
      /\(health: starting\)/,
    );
    ok(["rm", "-f", bad, grace]);
  });

  it("a probe that exceeds its timeout is killed and fails with docker's message", async () => {
    const id = runChecked("sleep 30", "200ms", "--health-timeout", "300ms", "--health-retries", "1");
    await until("unhealthy by timeout", () => status(id) === "unhealthy");
    expect(health(id)!.Log.at(-1)).toMatchObject({
      ExitCode: -1,
      Output: "Health check exceeded timeout (300ms)",
    });
    // The killed probes do not pile up in the container.
    await sleep(1000);
    const procs = ok(["exec", id, "ps", "-o", "args"]);
    expect(procs.split("\n").filter((l) => l.includes("sleep 30")).length).toBeLessThanOrEqual(1);
    ok(["rm", "-f", id]);
  });

  it("uses the image's HEALTHCHECK, which --no-healthcheck disables and --health-* override", async () => {
    writeFileSync(
      join(ctx, "Dockerfile"),
      'FROM busybox\nHEALTHCHECK --interval=300ms --retries=1 CMD ["sh", "-c", "exit 1"]\n',
    );
    const since = String(Math.floor(Date.now() / 1000));
    const b = d.docker(["build", "-t", "hc-image", ctx], {
      env: { DOCKER_BUILDKIT: "0" },
      timeoutMs: 120_000,
    });
    expect(b.code, b.stderr).toBe(0);
    // The build's tag is announced as dockerd announces it.
    const before = String(Math.floor(Date.now() / 1000) + 1);
    const tagged = ok(["events", "--since", since, "--until", before, "--filter", "event=tag"]);
    const imageId = ok(["inspect", "-f", "{{.Id}}", "hc-image"]);
    expect(tagged).toMatch(new RegExp(`image tag ${imageId} \\(name=hc-image:latest\\)$`));
    const fromImage = ok(["run", "-d", "hc-image", "sleep", "300"]);
    const disabled = ok(["run", "-d", "--no-healthcheck", "hc-image", "sleep", "300"]);
    const overridden = ok(["run", "-d", "--health-cmd", "true", "hc-image", "sleep", "300"]);
    await until("image healthcheck unhealthy", () => status(fromImage) === "unhealthy");
    await until("override healthy", () => status(overridden) === "healthy");
    expect(ok(["inspect", "-f", "{{json .Config.Healthcheck.Test}}", disabled])).toBe('["NONE"]');
    expect(health(disabled)).toBeNull();
    expect(ok(["ps", "--filter", `id=${disabled}`, "--format", "{{.Status}}"])).not.toMatch(/\(/);
    expect(ok(["ps", "--filter", "health=none", "-q", "--no-trunc"]).split("\n")).toContain(disabled);
    const conflict = d.docker(["run", "--no-healthcheck", "--health-cmd", "true", "hc-image", "true"]);
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toContain("--no-healthcheck conflicts with --health-* options");
    ok(["rm", "-f", fromImage, disabled, overridden]);
  });

  it("berth run takes the same flags and berth ps shows the health", async () => {
    const r = d.berth([
      "run",
      "-d",
      "--name",
      "bhealth",
      "--health-cmd",
      "true",
      "--health-interval",
      "300ms",
      "busybox",
      "sleep",
      "300",
    ]);
    expect(r.code, r.stderr).toBe(0);
    await until("healthy", () => status("bhealth") === "healthy");
    expect(d.berth(["ps", "--filter", "name=bhealth", "--format", "{{.Status}}"]).stdout).toMatch(
      /\(healthy\)/,
    );
    const bad = d.berth(["run", "--no-healthcheck", "--health-interval", "1s", "busybox", "true"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("--no-healthcheck conflicts with --health-* options");
    ok(["rm", "-f", "bhealth"]);
  });

  it("stops probing when the container stops and starts again with it", async () => {
    const id = runChecked("true", "200ms");
    await until("healthy", () => status(id) === "healthy");
    ok(["stop", "-t", "0", id]);
    // As dockerd: a monitor that stops leaves the status unhealthy (until the next start).
    expect(status(id)).toBe("unhealthy");
    const n = health(id)!.Log.length;
    const lastEnd = health(id)!.Log.at(-1)!.End;
    await sleep(800);
    expect(health(id)!.Log.at(-1)!.End).toBe(lastEnd);
    expect(health(id)!.Log.length).toBe(n);
    ok(["start", id]);
    expect(["starting", "healthy"]).toContain(status(id));
    await until("probing again", () => health(id)!.Log.at(-1)!.End !== lastEnd);
    ok(["rm", "-f", id]);
  });

  it("pauses probing while the container is paused, and refuses sub-millisecond durations", async () => {
    const id = runChecked("true", "200ms");
    await until("healthy", () => status(id) === "healthy");
    ok(["pause", id]);
    await sleep(300);
    const lastEnd = health(id)!.Log.at(-1)!.End;
    await sleep(800);
    expect(health(id)!.Log.at(-1)!.End).toBe(lastEnd);
    expect(status(id)).toBe("unhealthy");
    ok(["unpause", id]);
    await until("healthy again", () => status(id) === "healthy");
    await until("probing again", () => health(id)!.Log.at(-1)!.End !== lastEnd);
    ok(["rm", "-f", id]);
    const bad = d.docker(["run", "--health-cmd", "true", "--health-interval", "500us", "busybox", "true"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("Interval in Healthcheck cannot be less than 1ms");
  });

  it("keeps the health across a daemon restart and re-arms the monitor", async () => {
    const id = runChecked("test -f /tmp/ok", "200ms", "--health-retries", "1");
    await until("unhealthy", () => status(id) === "unhealthy");
    await d.kill9();
    await d.start();
    expect(status(id)).toBe("unhealthy");
    ok(["exec", id, "touch", "/tmp/ok"]);
    await until("healthy after the restart", () => status(id) === "healthy");
    ok(["rm", "-f", id]);
  }, 60_000);
});
