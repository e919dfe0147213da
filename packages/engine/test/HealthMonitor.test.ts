import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { ContainerEvent, Events } from "../src/Events.ts";
import type { Execs } from "../src/Execs.ts";
import { goDuration, HealthMonitor, MAX_HEALTH_OUTPUT, probeOf } from "../src/HealthMonitor.ts";
import type { ContainerRecord } from "../src/types.ts";

function record(healthcheck: unknown, extra: Partial<ContainerRecord["config"]> = {}): ContainerRecord {
  return {
    id: "c1",
    name: "web",
    created: new Date().toISOString(),
    path: "sleep",
    args: ["300"],
    config: { Image: "busybox", Healthcheck: healthcheck, ...extra },
    hostConfig: {},
    image: "sha256:x",
    state: {
      status: "running",
      pid: 1,
      exitCode: 0,
      error: "",
      oomKilled: false,
      startedAt: new Date().toISOString(),
      finishedAt: "0001-01-01T00:00:00Z",
    },
    restartCount: 0,
    logPath: "",
    hostnamePath: "",
    hostsPath: "",
    resolvConfPath: "",
    rootfs: { lowerdirs: [], upperdir: "", workdir: "", merged: "" },
  };
}

/** A fake exec service: each probe answers the next scripted result (exit code, output, delay). */
function fakeExecs(script: Array<{ code: number; out?: string; delayMs?: number }>) {
  const calls: string[][] = [];
  const removed: string[] = [];
  const exits = new Map<string, Promise<number>>();
  let n = 0;
  const execs = {
    create: (_id: string, cfg: { Cmd: string[] }) => {
      calls.push(cfg.Cmd);
      return { Id: `e${n++}` };
    },
    start: async (id: string) => {
      const step = script[Math.min(Number(id.slice(1)), script.length - 1)]!;
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      stdout.end(step.out ?? "");
      stderr.end();
      exits.set(id, new Promise((r) => setTimeout(() => r(step.code), step.delayMs ?? 0)));
      return { stdout, stderr, close: () => {} };
    },
    waitExit: (id: string) => exits.get(id)!,
    inspect: () => ({ Pid: 0 }),
    remove: (id: string) => removed.push(id),
  };
  return { execs: execs as unknown as Execs, calls, removed };
}

let monitor: HealthMonitor | undefined;
afterEach(() => monitor?.close());

function setup(rec: ContainerRecord, script: Array<{ code: number; out?: string; delayMs?: number }>) {
  const events = new Events();
  const f = fakeExecs(script);
  const statuses: string[] = [];
  events.subscribe((m) => {
    if (m.Action.startsWith("health_status")) statuses.push(m.Action);
  });
  monitor = new HealthMonitor({
    execs: f.execs,
    events,
    get: () => rec,
    dirOf: () => "/nonexistent/berth-test",
  });
  events.emit(ContainerEvent({ id: rec.id, name: rec.name, image: "busybox" }, "start"));
  return { ...f, events, statuses, monitor };
}

const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe("probeOf", () => {
  it("turns docker's Test forms into a command", () => {
    expect(probeOf(record({ Test: ["CMD", "curl", "-f", "x"] }))).toEqual(["curl", "-f", "x"]);
    expect(probeOf(record({ Test: ["CMD-SHELL", "curl -f x || exit 1"] }))).toEqual([
      "/bin/sh",
      "-c",
      "curl -f x || exit 1",
    ]);
    expect(probeOf(record({ Test: ["CMD-SHELL", "true"] }, { Shell: ["/bin/bash", "-ec"] }))).toEqual([
      "/bin/bash",
      "-ec",
      "true",
    ]);
    expect(probeOf(record({ Test: ["NONE"] }))).toBeUndefined();
    expect(probeOf(record({ Test: [] }))).toBeUndefined();
    expect(probeOf(record(undefined))).toBeUndefined();
  });

  it("prints durations as Go does", () => {
    expect(goDuration(300)).toBe("300ms");
    expect(goDuration(30_000)).toBe("30s");
    expect(goDuration(1500)).toBe("1.5s");
    expect(goDuration(90_000)).toBe("1m30s");
    expect(goDuration(3_600_000)).toBe("1h0m0s");
  });
});

describe("HealthMonitor", () => {
  it("goes healthy on exit 0, then unhealthy after Retries failures, emitting each change", async () => {
    const rec = record({ Test: ["CMD", "probe"], Interval: 10e6, Retries: 2 });
    const s = setup(rec, [{ code: 0, out: "ok" }, { code: 1 }, { code: 1 }, { code: 1 }]);
    expect(s.monitor.statusOf("c1")).toBe("starting");
    await until(() => s.monitor.get("c1")?.Status === "unhealthy");
    expect(s.statuses).toEqual(["health_status: healthy", "health_status: unhealthy"]);
    expect(s.monitor.get("c1")?.FailingStreak).toBe(2);
    expect(s.monitor.get("c1")?.Log[0]).toMatchObject({ ExitCode: 0, Output: "ok" });
    expect(s.calls[0]).toEqual(["probe"]);
  });

  it("keeps the last 5 results and at most 4096 bytes of output, and drops finished probe execs", async () => {
    const rec = record({ Test: ["CMD", "probe"], Interval: 5e6 });
    const s = setup(rec, [{ code: 0, out: "x".repeat(10_000) }]);
    await until(() => s.calls.length >= 8);
    const h = s.monitor.get("c1")!;
    expect(h.Log.length).toBe(5);
    expect(h.Log[0]!.Output.length).toBe(MAX_HEALTH_OUTPUT);
    await until(() => s.removed.length >= 5);
  });

  it("does not count failures inside the start period, probing at StartInterval", async () => {
    const rec = record({
      Test: ["CMD", "probe"],
      Interval: 10_000e6,
      StartPeriod: 60_000e6,
      StartInterval: 5e6,
      Retries: 1,
    });
    const s = setup(rec, [{ code: 1 }]);
    await until(() => s.calls.length >= 4);
    expect(s.monitor.get("c1")).toMatchObject({ Status: "starting", FailingStreak: 0 });
  });

  it("fails a probe that exceeds the timeout with docker's message", async () => {
    const rec = record({ Test: ["CMD", "probe"], Interval: 5e6, Timeout: 20e6, Retries: 1 });
    const s = setup(rec, [{ code: 0, delayMs: 500 }]);
    await until(() => s.monitor.get("c1")?.Status === "unhealthy");
    expect(s.monitor.get("c1")!.Log[0]).toMatchObject({
      ExitCode: -1,
      Output: "Health check exceeded timeout (20ms)",
    });
  });

  it("stops on die and pause, resumes on unpause, forgets on destroy", async () => {
    const rec = record({ Test: ["CMD", "probe"], Interval: 5e6 });
    const s = setup(rec, [{ code: 0 }]);
    await until(() => s.calls.length >= 2);
    const ev = (a: string) => s.events.emit(ContainerEvent({ id: "c1", name: "web", image: "busybox" }, a));
    ev("pause");
    await new Promise((r) => setTimeout(r, 30));
    const paused = s.calls.length;
    await new Promise((r) => setTimeout(r, 60));
    expect(s.calls.length).toBe(paused);
    ev("unpause");
    await until(() => s.calls.length > paused + 1);
    ev("die");
    await new Promise((r) => setTimeout(r, 30));
    const died = s.calls.length;
    await new Promise((r) => setTimeout(r, 60));
    expect(s.calls.length).toBe(died);
    // dockerd marks a stopped monitor unhealthy; the next start says starting again.
    expect(s.monitor.statusOf("c1")).toBe("unhealthy");
    ev("start");
    expect(s.monitor.statusOf("c1")).toBe("starting");
    ev("destroy");
    expect(s.monitor.statusOf("c1")).toBe("none");
  });
});
