import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { useDaemon } from "./harness.ts";

// Restart policies (threat rows E6, E7) through the real docker CLI against berthd.
const d = useDaemon();
const host = mkdtempSync(join(tmpdir(), "berth-restart-host-"));
afterAll(() => rmSync(host, { recursive: true, force: true }));

function ok(args: string[]): string {
  const r = d.docker(args);
  if (r.code !== 0) throw new Error(`docker ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout.trim();
}

const state = (c: string) => ok(["inspect", "-f", "{{.State.Status}} {{.RestartCount}}", c]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (cond()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}\n${d.log.slice(-2000)}`);
}

describe("restart policies", () => {
  it("on-failure:3 restarts exactly 3 times after non-zero exits, then stays exited", async () => {
    const id = ok([
      "run",
      "-d",
      "--restart",
      "on-failure:3",
      "-v",
      `${host}:/out`,
      "busybox",
      "sh",
      "-c",
      "echo run >> /out/onfail; exit 1",
    ]);
    await until("on-failure:3 to give up", () => state(id) === "exited 3");
    await sleep(1500);
    expect(state(id)).toBe("exited 3");
    expect(readFileSync(join(host, "onfail"), "utf8")).toBe("run\nrun\nrun\nrun\n");
    expect(ok(["inspect", "-f", "{{.State.ExitCode}} {{.HostConfig.RestartPolicy.Name}}", id])).toBe(
      "1 on-failure",
    );
    ok(["rm", id]);
  });

  it("docker wait (not-running) answers only the last exit, after the restarts", async () => {
    const id = ok(["run", "-d", "--restart", "on-failure:2", "busybox", "sh", "-c", "sleep 0.3; exit 5"]);
    expect(ok(["wait", id])).toBe("5");
    expect(state(id)).toBe("exited 2");
    ok(["rm", id]);
  });

  it("on-failure does not restart a zero exit; no never restarts", async () => {
    const a = ok(["run", "-d", "--restart", "on-failure", "busybox", "true"]);
    const b = ok(["run", "-d", "--restart", "no", "busybox", "false"]);
    await until("both to exit", () => state(a) === "exited 0" && state(b) === "exited 0");
    await sleep(800);
    expect([state(a), state(b)]).toEqual(["exited 0", "exited 0"]);
    ok(["rm", a, b]);
  });

  it("always restarts a container that exits 0, and docker stop keeps it stopped", async () => {
    const id = ok(["run", "-d", "--restart", "always", "busybox", "sh", "-c", "sleep 0.2; exit 0"]);
    await until("two restarts", () => Number(state(id).split(" ")[1]) >= 2);
    ok(["stop", "-t", "1", id]);
    const after = state(id);
    expect(after).toMatch(/^exited \d+$/);
    await sleep(2000);
    expect(state(id)).toBe(after);
    // A start through the API resets the count.
    ok(["start", id]);
    expect(state(id)).toMatch(/^(running|restarting) 0$/);
    ok(["rm", "-f", id]);
  });

  it("a manual stop cancels a pending restart; rm refuses a restarting container without -f", async () => {
    const id = ok(["run", "-d", "--restart", "always", "busybox", "false"]);
    // After 5 restarts the back-off is 1.6 s and more: long enough to act while it waits.
    await until("a long back-off", () => /^restarting ([5-9]|\d\d+)$/.test(state(id)), 30_000);
    expect(ok(["inspect", "-f", "{{.State.Running}} {{.State.Restarting}} {{.State.ExitCode}}", id])).toBe(
      "true true 1",
    );
    expect(ok(["ps", "-q", "--no-trunc"])).toContain(id);
    const rm = d.docker(["rm", id]);
    expect(rm.code).not.toBe(0);
    expect(rm.stderr).toContain("You cannot remove a restarting container");
    ok(["stop", id]);
    const after = state(id);
    expect(after).toMatch(/^exited \d+$/);
    await sleep(3500);
    expect(state(id)).toBe(after);
    ok(["rm", id]);
  });

  it("docker kill disables the policy until the next start", async () => {
    const id = ok(["run", "-d", "--restart", "always", "busybox", "sleep", "1000"]);
    ok(["kill", id]);
    expect(state(id)).toBe("exited 0");
    await sleep(1000);
    expect(state(id)).toBe("exited 0");
    ok(["rm", id]);
  });

  it("rm -f removes a running always container without a restart in between", async () => {
    const id = ok(["run", "-d", "--restart", "always", "busybox", "sleep", "1000"]);
    ok(["rm", "-f", id]);
    expect(d.docker(["inspect", id]).code).not.toBe(0);
    await sleep(500);
    expect(ok(["ps", "-aq", "--no-trunc"])).not.toContain(id);
  });

  it("always survives a daemon kill -9; unless-stopped stopped by hand stays stopped", async () => {
    const always = ok(["run", "-d", "--restart", "always", "busybox", "sleep", "1000"]);
    // Exits while the daemon is down: the new daemon applies the policy.
    const ender = ok(["run", "-d", "--restart", "always", "busybox", "sh", "-c", "sleep 2; exit 3"]);
    const unless = ok(["run", "-d", "--restart", "unless-stopped", "busybox", "sleep", "1000"]);
    const unlessUp = ok(["run", "-d", "--restart", "unless-stopped", "busybox", "sleep", "1000"]);
    const alwaysStopped = ok(["run", "-d", "--restart", "always", "busybox", "sleep", "1000"]);
    ok(["stop", "-t", "1", unless, alwaysStopped]);
    expect(state(unless)).toBe("exited 0");

    const enderCount = Number(state(ender).split(" ")[1]);
    await d.kill9();
    await sleep(1500);
    await d.start();

    expect(state(always)).toBe("running 0");
    await until("the container that exited while the daemon was down to run again", () => {
      const [st, n] = state(ender).split(" ");
      return (st === "running" || st === "restarting") && Number(n) > enderCount;
    });
    expect(state(unless)).toBe("exited 0");
    expect(state(unlessUp)).toBe("running 0");
    // As dockerd: `always` comes back with the daemon even after a manual stop.
    expect(state(alwaysStopped)).toBe("running 0");

    ok(["rm", "-f", always, ender, unless, unlessUp, alwaysStopped]);
  });
});
