import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useDaemon } from "./harness.ts";

// docker events (and berth events) against berthd: shapes, order, since/until, filters, formats.
const d = useDaemon();

function ok(args: string[]): string {
  const r = d.docker(args);
  if (r.code !== 0) throw new Error(`docker ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout.trim();
}

const nowS = () => Math.floor(Date.now() / 1000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) (\S+) (.+?) (\S+)(?: \((.*)\))?$/;

/** bounded runs `docker events --since S --until U ...` (the stream ends by itself). */
function bounded(since: number, extra: string[] = [], cli: "docker" | "berth" = "docker"): string[] {
  const args = ["events", "--since", String(since), "--until", String(nowS() + 1), ...extra];
  const r = cli === "docker" ? d.docker(args, { timeoutMs: 15_000 }) : d.berth(args, { timeoutMs: 15_000 });
  if (r.code !== 0) throw new Error(`${cli} events exited ${r.code}: ${r.stderr}`);
  return r.stdout.split("\n").filter(Boolean);
}

/** actions pulls `type action` out of docker's default lines. */
function actions(lines: string[]): string[] {
  return lines.map((l) => {
    const m = LINE.exec(l);
    if (!m) throw new Error(`not docker's event line: ${l}`);
    return `${m[2]} ${m[3]}`;
  });
}

describe("events", () => {
  it("records a run --rm, a tag and an untag in docker's order and shapes", async () => {
    const since = nowS();
    ok(["run", "--rm", "--name", "evgen", "--label", "app=demo", "busybox", "true"]);
    ok(["tag", "busybox", "evtag:1"]);
    ok(["rmi", "evtag:1"]);
    await sleep(1100);
    const lines = bounded(since);
    const ctr = lines.filter((l) => l.includes(" container "));
    expect(actions(ctr)).toEqual([
      "container create",
      "container attach",
      "container start",
      "container die",
      "container destroy",
    ]);
    const id = LINE.exec(ctr[0]!)![4]!;
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(ctr[0]).toContain(`container create ${id} (app=demo, image=busybox, name=evgen)`);
    expect(ctr[3]).toContain(`container die ${id} (app=demo, exitCode=0, image=busybox, name=evgen)`);
    const img = lines.filter((l) => l.includes(" image "));
    // (the fixture's import may fall in the same second)
    expect(actions(img).filter((a) => a !== "image import")).toEqual(["image tag", "image untag"]);
    if (actions(img)[0] === "image import") img.shift();
    expect(img[0]).toMatch(/image tag sha256:[0-9a-f]{64} \(name=evtag:1\)$/);
    const imageId = LINE.exec(img[0]!)![4]!;
    expect(img[1]).toContain(`image untag ${imageId} (name=${imageId})`);
  });

  it("sends the legacy fields and exact nanosecond times on the wire", async () => {
    const since = nowS();
    const id = ok(["create", "--name", "wire", "busybox", "true"]);
    const res = await d.api(
      "GET",
      `/events?since=${since}&until=${nowS() + 1}&filters=${encodeURIComponent(JSON.stringify({ container: ["wire"] }))}`,
    );
    expect(res.status).toBe(200);
    const first = res.body.split("\n")[0]!;
    const ev = JSON.parse(first);
    expect(Object.keys(ev)).toEqual([
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
    expect(ev).toMatchObject({
      status: "create",
      id,
      from: "busybox",
      Type: "container",
      Action: "create",
      Actor: { ID: id, Attributes: { image: "busybox", name: "wire" } },
      scope: "local",
    });
    const nano = /"timeNano":(\d+)/.exec(first)![1]!;
    expect(nano.length).toBe(19);
    expect(BigInt(nano) / 1_000_000_000n).toBe(BigInt(ev.time));
    ok(["rm", "wire"]);
  });

  it("logs stop as kill (signal 15), die and stop, and docker kill with its signal", async () => {
    const since = nowS();
    const id = ok(["run", "-d", "--name", "stopme", "busybox", "sleep", "300"]);
    // sleep as PID 1 ignores SIGTERM: the stop ends with a SIGKILL after the timeout, as with dockerd.
    ok(["stop", "-t", "1", id]);
    ok(["start", id]);
    ok(["kill", "-s", "USR1", id]);
    ok(["kill", id]);
    ok(["restart", "-t", "0", id]);
    ok(["rm", "-f", id]);
    await sleep(1100);
    const lines = bounded(since, ["--filter", "container=stopme"]);
    expect(actions(lines)).toEqual([
      "container create",
      "container start",
      "container kill",
      "container kill",
      "container die",
      "container stop",
      "container start",
      "container kill",
      "container kill",
      "container die",
      "container start",
      "container restart",
      "container kill",
      "container die",
      "container destroy",
    ]);
    expect(lines[2]).toContain("signal=15");
    expect(lines[3]).toContain("signal=9");
    expect(lines[4]).toMatch(/exitCode=137/);
    expect(lines[7]).toContain("signal=10");
    expect(lines[8]).toContain("signal=9");
    expect(lines[9]).toContain("exitCode=137");
  });

  it("filters by type, event, container, image, label and volume, ANDed across keys", async () => {
    const since = nowS();
    ok(["volume", "create", "evvol"]);
    const a = ok([
      "run",
      "-d",
      "--name",
      "evfa",
      "-l",
      "tier=web",
      "-v",
      "evvol:/data",
      "busybox",
      "sleep",
      "300",
    ]);
    ok(["run", "-d", "--name", "evfb", "busybox", "sleep", "300"]);
    ok(["rm", "-f", "evfa", "evfb"]);
    ok(["volume", "rm", "evvol"]);
    await sleep(1100);
    const starts = bounded(since, ["--filter", "type=container", "--filter", "event=start"]);
    expect(actions(starts)).toEqual(["container start", "container start"]);
    const destroyed = bounded(since, ["--filter", "container=evfa", "--filter", "event=destroy"]);
    expect(destroyed, destroyed.join("\n")).toHaveLength(1);
    expect(bounded(since, ["--filter", "label=tier=web", "--filter", "event=create"])[0]).toContain(a);
    expect(actions(bounded(since, ["--filter", "volume=evvol"]))).toEqual([
      "volume create",
      "volume mount",
      "volume unmount",
      "volume destroy",
    ]);
    const mount = bounded(since, ["--filter", "event=mount"])[0]!;
    expect(mount).toContain(
      `(container=${a}, destination=/data, driver=local, propagation=, read/write=true)`,
    );
    expect(bounded(since, ["--filter", "image=busybox", "--filter", "event=create"])).toHaveLength(2);
    const bad = d.docker([
      "events",
      "--since",
      String(since),
      "--until",
      String(nowS()),
      "--filter",
      "bogus=1",
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("invalid filter 'bogus'");
  });

  it("emits exec_create, exec_start and exec_die with the command and exit code", async () => {
    const since = nowS();
    const id = ok(["run", "-d", "--name", "ex", "busybox", "sleep", "300"]);
    expect(d.docker(["exec", id, "sh", "-c", "exit 4"]).code).toBe(4);
    ok(["rm", "-f", id]);
    await sleep(1100);
    const lines = bounded(since, [
      "--filter",
      "event=exec_create",
      "--filter",
      "event=exec_start",
      "--filter",
      "event=exec_die",
    ]);
    expect(actions(lines)).toEqual([
      "container exec_create: sh -c exit 4",
      "container exec_start: sh -c exit 4",
      "container exec_die",
    ]);
    expect(lines[2]).toMatch(/exitCode=4/);
    expect(lines[2]).toMatch(/execID=[0-9a-f]{64}/);
  });

  it("streams live events until interrupted, and --format json / templates print each event", async () => {
    const child = spawn(
      "docker",
      ["events", "--filter", "container=live", "--format", "{{.Status}} {{.Actor.Attributes.name}}"],
      {
        env: { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.dir, "docker-config") },
      },
    );
    let out = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    await sleep(700);
    ok(["run", "--rm", "--name", "live", "busybox", "true"]);
    const deadline = Date.now() + 10_000;
    while (!out.includes("destroy live") && Date.now() < deadline) await sleep(100);
    child.kill("SIGINT");
    expect(out.split("\n").filter(Boolean)).toEqual([
      "create live",
      "attach live",
      "start live",
      "die live",
      "destroy live",
    ]);
    const since = nowS() - 15;
    const json = bounded(since, [
      "--filter",
      "container=live",
      "--filter",
      "event=die",
      "--format",
      "{{json .}}",
    ]);
    expect(JSON.parse(json[0]!)).toMatchObject({
      status: "die",
      Type: "container",
      Action: "die",
      scope: "local",
    });
  });

  it("logs image save and load, and container prune with the space reclaimed", async () => {
    const since = nowS();
    const dir = mkdtempSync(join(tmpdir(), "berth-ev-save-"));
    try {
      const file = join(dir, "bb.tar");
      ok(["save", "-o", file, "busybox"]);
      ok(["load", "-i", file]);
      ok(["create", "busybox", "true"]);
      ok(["container", "prune", "-f"]);
      await sleep(1100);
      const lines = bounded(since, [
        "--filter",
        "event=save",
        "--filter",
        "event=load",
        "--filter",
        "event=prune",
      ]);
      const imageId = ok(["inspect", "-f", "{{.Id}}", "busybox"]);
      expect(lines).toHaveLength(3);
      expect(lines[0]).toContain(`image save ${imageId} (name=${imageId})`);
      expect(lines[1]).toContain(`image load ${imageId} (name=${imageId})`);
      expect(lines[2]).toMatch(/container prune {2}\(reclaimed=\d+\)$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("berth events prints the same lines as the docker CLI", async () => {
    const since = nowS();
    ok(["run", "--rm", "--name", "bev", "busybox", "true"]);
    await sleep(1100);
    const viaDocker = bounded(since, ["--filter", "container=bev"]);
    const viaBerth = bounded(since, ["--filter", "container=bev"], "berth");
    expect(viaBerth).toEqual(viaDocker);
    expect(viaBerth.length).toBe(5);
    const fmt = bounded(
      since,
      [
        "--filter",
        "container=bev",
        "--filter",
        "event=die",
        "--format",
        "{{.Type}}/{{.Action}}/{{.Actor.Attributes.exitCode}}",
      ],
      "berth",
    );
    expect(fmt).toEqual(["container/die/0"]);
  });
});
