import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run, useDaemon } from "./harness.ts";

// pause/unpause, rename, top, diff, commit, export, update, stats and cp through the real docker
// CLI (v28) and berth, against berthd.
// biome-ignore lint/suspicious/noExplicitAny: JSON answers of the daemon, checked by the assertions
type Json = any;

const d = useDaemon();
const work = mkdtempSync(join(tmpdir(), "berth-lifecycle-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function ok(args: string[], input?: string): string {
  const r = d.docker(args, input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`docker ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

function inspect(name: string): Json {
  return (JSON.parse(ok(["inspect", name])) as Array<Json>)[0]!;
}

function cgroupFile(id: string, ctrl: string, file: string): string {
  return readFileSync(`/sys/fs/cgroup/${ctrl}/berth/${id}/${file}`, "utf8").trim();
}

describe("pause and unpause", () => {
  it("freezes the container, shows (Paused), and thaws it", () => {
    const id = ok(["run", "-d", "--name", "p1", "busybox", "sleep", "300"]).trim();
    expect(ok(["pause", "p1"])).toBe("p1\n");
    expect(ok(["ps", "--filter", "name=p1", "--format", "{{.Status}}"])).toMatch(/^Up .* \(Paused\)\n$/);
    const st = inspect("p1").State;
    expect(st).toMatchObject({ Status: "paused", Paused: true, Running: true });
    expect(cgroupFile(id, "freezer", "freezer.state")).toBe("FROZEN");
    const again = d.docker(["pause", "p1"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`Container ${id} is already paused`);
    const rm = d.docker(["rm", "p1"]);
    expect(rm.code).toBe(1);
    expect(rm.stderr).toContain("You cannot remove a paused container");
    expect(ok(["unpause", "p1"])).toBe("p1\n");
    expect(inspect("p1").State).toMatchObject({ Status: "running", Paused: false });
    expect(cgroupFile(id, "freezer", "freezer.state")).toBe("THAWED");
    const top = ok(["pause", "p1"]) && ok(["top", "p1"]);
    expect(top).toContain("sleep 300");
    const start = d.docker(["start", "p1"]);
    expect(start.code).toBe(1);
    expect(start.stderr).toContain("cannot start a paused container, try unpause instead");
    ok(["unpause", "p1"]);
    const un = d.docker(["unpause", "p1"]);
    expect(un.code).toBe(1);
    expect(un.stderr).toContain(`Container ${id} is not paused`);
  });

  it("stops, kills and force-removes paused containers", () => {
    ok(["pause", "p1"]);
    expect(ok(["stop", "-t", "1", "p1"])).toBe("p1\n");
    expect(inspect("p1").State.Status).toBe("exited");
    ok(["run", "-d", "--name", "p2", "busybox", "sleep", "300"]);
    ok(["pause", "p2"]);
    expect(ok(["kill", "p2"])).toBe("p2\n");
    expect(inspect("p2").State).toMatchObject({ Status: "exited", ExitCode: 137 });
    ok(["run", "-d", "--name", "p3", "busybox", "sleep", "300"]);
    ok(["pause", "p3"]);
    expect(ok(["rm", "-f", "p3"])).toBe("p3\n");
    expect(d.docker(["inspect", "p3"]).code).toBe(1);
    const notRunning = d.docker(["pause", "p2"]);
    expect(notRunning.code).toBe(1);
    expect(notRunning.stderr).toMatch(/Container [0-9a-f]{64} is not running/);
    ok(["rm", "p1", "p2"]);
  });

  it("stays paused across a daemon crash, and unpauses after", async () => {
    const id = ok(["run", "-d", "--name", "pk", "busybox", "sleep", "300"]).trim();
    ok(["pause", "pk"]);
    await d.kill9();
    await d.start();
    expect(inspect("pk").State).toMatchObject({ Status: "paused", Paused: true });
    expect(cgroupFile(id, "freezer", "freezer.state")).toBe("FROZEN");
    ok(["unpause", "pk"]);
    expect(ok(["exec", "pk", "echo", "alive"])).toBe("alive\n");
    expect(ok(["rm", "-f", "pk"])).toBe("pk\n");
  }, 60_000);

  it("resumes a container a daemon crash left frozen in the middle of a copy", async () => {
    const id = ok(["run", "-d", "--name", "pz", "busybox", "sleep", "300"]).trim();
    await d.kill9();
    // What a cp or commit does while it reads the file system: freeze the cgroup.
    writeFileSync(`/sys/fs/cgroup/freezer/berth/${id}/freezer.state`, "FROZEN");
    await d.start();
    expect(cgroupFile(id, "freezer", "freezer.state")).toBe("THAWED");
    expect(inspect("pz").State.Status).toBe("running");
    expect(ok(["exec", "pz", "echo", "alive"])).toBe("alive\n");
    ok(["rm", "-f", "pz"]);
  }, 60_000);

  it("works with berth too", () => {
    ok(["run", "-d", "--name", "bp", "busybox", "sleep", "300"]);
    expect(d.berth(["pause", "bp"]).stdout).toBe("bp\n");
    expect(d.berth(["ps", "--filter", "name=bp", "--format", "{{.Status}}"]).stdout).toMatch(/\(Paused\)/);
    expect(d.berth(["container", "unpause", "bp"]).stdout).toBe("bp\n");
    ok(["rm", "-f", "bp"]);
  });
});

describe("events", () => {
  it("reports pause, unpause, rename, update, top and commit as docker does", () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const id = ok(["run", "-d", "--name", "ev1", "busybox", "sleep", "300"]).trim();
    ok(["pause", "ev1"]);
    ok(["unpause", "ev1"]);
    ok(["rename", "ev1", "ev2"]);
    ok(["update", "--cpu-shares", "256", "ev2"]);
    expect(cgroupFile(id, "cpu", "cpu.shares")).toBe("256");
    ok(["top", "ev2"]);
    ok(["commit", "ev2", "evimg"]);
    const until = Math.floor(Date.now() / 1000) + 1;
    const out = ok([
      "events",
      "--since",
      String(since),
      "--until",
      String(until),
      "--filter",
      "type=container",
      "--format",
      "{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.oldName}}",
    ]);
    const actions = out.trim().split("\n");
    expect(actions).toEqual(
      expect.arrayContaining([
        "pause ev1 <no value>",
        "unpause ev1 <no value>",
        "rename ev2 /ev1",
        "update ev2 <no value>",
        "top ev2 <no value>",
        "commit ev2 <no value>",
      ]),
    );
    expect(actions.indexOf("pause ev1 <no value>")).toBeLessThan(actions.indexOf("unpause ev1 <no value>"));
    ok(["rm", "-f", "ev2"]);
  });
});

describe("rename", () => {
  it("renames, and refuses a taken or invalid name", () => {
    ok(["create", "--name", "r1", "busybox"]);
    ok(["create", "--name", "r2", "busybox"]);
    expect(ok(["rename", "r1", "r1new"])).toBe("");
    expect(inspect("r1new").Name).toBe("/r1new");
    expect(d.docker(["inspect", "r1"]).code).toBe(1);
    const taken = d.docker(["rename", "r1new", "r2"]);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain('Conflict. The container name "/r2" is already in use by container');
    expect(taken.stderr).toContain("Error: failed to rename container named r1new");
    const bad = d.docker(["rename", "r1new", "no/slash"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("Invalid container name (no/slash)");
    expect(d.berth(["rename", "r2", "r2b"]).code).toBe(0);
    expect(inspect("r2b").Name).toBe("/r2b");
    ok(["rm", "r1new", "r2b"]);
  });
});

describe("top", () => {
  it("lists the container's processes with ps on the host", async () => {
    const id = ok(["run", "-d", "--name", "t1", "busybox", "sh", "-c", "sleep 301 & sleep 302"]).trim();
    const pid = inspect("t1").State.Pid as number;
    const out = ok(["top", "t1"]);
    const lines = out.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
    expect(out).toContain("sleep 301");
    expect(out).toContain("sleep 302");
    expect(out).toMatch(new RegExp(`\\s${pid}\\s`));
    expect(lines).toHaveLength(3); // header, two sleeps (sh execs the last one): nothing from the host
    const custom = ok(["top", "t1", "-o", "pid,comm"]);
    expect(custom.split("\n")[0]).toMatch(/^PID\s+COMMAND$/);
    expect(custom).toContain("sleep");
    const api = await d.api("GET", `/v1.41/containers/${id}/top?ps_args=aux`);
    expect(JSON.parse(api.body).Titles).toContain("COMMAND");
    const berth = d.berth(["top", "t1"]);
    expect(berth.stdout).toContain("sleep 302");
    ok(["rm", "-f", "t1"]);
    const stopped = d.docker(["top", ok(["create", "busybox"]).trim()]);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toMatch(/is not running/);
  });
});

describe("diff, commit and export", () => {
  it("reports added, changed and deleted paths without the runtime's mount points", () => {
    ok([
      "run",
      "--name",
      "df1",
      "busybox",
      "sh",
      "-c",
      "echo hi > /tmp/new && rm /etc/group && echo 'root:x:0:0:root:/root:/bin/sh' > /etc/passwd && mkdir -p /srv/a",
    ]);
    const lines = ok(["diff", "df1"]).trimEnd().split("\n");
    expect(lines).toEqual(
      expect.arrayContaining([
        "C /etc",
        "D /etc/group",
        "C /etc/passwd",
        "C /tmp",
        "A /tmp/new",
        "A /srv",
        "A /srv/a",
      ]),
    );
    expect(lines.join("\n")).not.toMatch(/hostname|resolv\.conf|\/etc\/hosts|\/proc|\/sys|\/dev/);
    expect(d.berth(["diff", "df1"]).stdout.trimEnd().split("\n").sort()).toEqual([...lines].sort());
  });

  it("commits the container's changes into an image that runs", () => {
    const id = ok([
      "commit",
      "-a",
      "Ada <ada@example.com>",
      "-m",
      "add a greeting",
      "-c",
      'CMD ["cat", "/tmp/new"]',
      "-c",
      "ENV GREETING=hello",
      "df1",
      "greeted:v1",
    ]).trim();
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(ok(["run", "--rm", "greeted:v1"])).toBe("hi\n");
    expect(
      ok([
        "run",
        "--rm",
        "greeted:v1",
        "sh",
        "-c",
        "echo $GREETING; ls /etc/group 2>&1; test -d /srv/a && echo dir",
      ]),
    ).toMatch(/^hello\nls: \/etc\/group: No such file or directory\ndir\n$/);
    const img = (JSON.parse(ok(["image", "inspect", "greeted:v1"])) as Array<Json>)[0]!;
    expect(img.Author).toBe("Ada <ada@example.com>");
    expect(img.Config.Cmd).toEqual(["cat", "/tmp/new"]);
    const hist = ok(["history", "--no-trunc", "--format", "{{.Comment}}", "greeted:v1"]);
    expect(hist.split("\n")[0]).toBe("add a greeting");
    // berth commit without a name: a dangling image, printed as its ID.
    const b = d.berth(["commit", "df1"]);
    expect(b.code).toBe(0);
    expect(b.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("commits a running container, pausing it by default", () => {
    ok(["run", "-d", "--name", "c2", "-e", "KEEP=1", "busybox", "sh", "-c", "echo live > /live; sleep 300"]);
    for (let i = 0; i < 50 && d.docker(["exec", "c2", "test", "-f", "/live"]).code !== 0; i++) {
      run("sleep", ["0.1"]);
    }
    ok(["commit", "c2", "live:1"]);
    expect(inspect("c2").State.Status).toBe("running");
    expect(ok(["run", "--rm", "live:1", "cat", "/live"])).toBe("live\n");
    // Without pausing, and the export of a running container.
    ok(["commit", "--pause=false", "-c", "LABEL stage=two", "-c", "ENV X=2", "c2", "live:2"]);
    expect(ok(["image", "inspect", "--format", "{{.Config.Labels.stage}}", "live:2"])).toBe("two\n");
    const env = ok(["run", "--rm", "live:2", "env"]).split("\n");
    expect(env).toEqual(expect.arrayContaining(["KEEP=1", "X=2"]));
    const tarFile = join(work, "c2.tar");
    ok(["export", "-o", tarFile, "c2"]);
    expect(run("tar", ["xOf", tarFile, "live"]).stdout).toBe("live\n");
    ok(["rm", "-f", "c2"]);
  });

  it("exports the merged root file system as a tar", () => {
    const out = join(work, "df1.tar");
    ok(["export", "-o", out, "df1"]);
    const names = run("tar", ["tf", out]).stdout.split("\n");
    expect(names).toContain("tmp/new");
    expect(names).toContain("bin/busybox");
    expect(names).toContain("etc/passwd");
    expect(names).not.toContain("etc/group");
    expect(run("tar", ["xOf", out, "tmp/new"]).stdout).toBe("hi\n");
    const piped = join(work, "df1-berth.tar");
    const r = run(
      "sh",
      ["-c", `node ${join(process.cwd(), "apps/cli/bin/berth.js")} export df1 > ${piped}`],
      {
        env: { DOCKER_HOST: d.host, BERTH_NO_AUTOSTART: "1" },
      },
    );
    expect(r.code).toBe(0);
    expect(run("tar", ["tf", piped]).stdout).toContain("tmp/new");
    ok(["rm", "df1"]);
  });
});

describe("update", () => {
  it("changes limits live, persists them, and changes the restart policy", () => {
    const id = ok(["run", "-d", "--name", "u1", "--memory", "32m", "busybox", "sleep", "300"]).trim();
    expect(cgroupFile(id, "memory", "memory.limit_in_bytes")).toBe(String(32 * 1024 * 1024));
    const needsSwap = d.docker(["update", "--memory", "128m", "u1"]);
    expect(needsSwap.code).toBe(1);
    expect(needsSwap.stderr).toContain(
      "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time",
    );
    expect(
      ok([
        "update",
        "--memory",
        "64m",
        "--memory-swap",
        "128m",
        "--pids-limit",
        "50",
        "--cpus",
        "0.5",
        "--restart",
        "unless-stopped",
        "u1",
      ]),
    ).toBe("u1\n");
    expect(cgroupFile(id, "memory", "memory.limit_in_bytes")).toBe(String(64 * 1024 * 1024));
    expect(cgroupFile(id, "pids", "pids.max")).toBe("50");
    expect(cgroupFile(id, "cpu", "cpu.cfs_quota_us")).toBe("50000");
    // Seen from inside the container too.
    expect(ok(["exec", "u1", "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]).trim()).toBe(
      String(64 * 1024 * 1024),
    );
    const hc = inspect("u1").HostConfig;
    expect(hc).toMatchObject({
      Memory: 64 * 1024 * 1024,
      MemorySwap: 128 * 1024 * 1024,
      PidsLimit: 50,
      NanoCpus: 500_000_000,
      RestartPolicy: { Name: "unless-stopped", MaximumRetryCount: 0 },
    });
    // Persisted for the next start.
    ok(["restart", "-t", "1", "u1"]);
    expect(cgroupFile(id, "memory", "memory.limit_in_bytes")).toBe(String(64 * 1024 * 1024));
    expect(cgroupFile(id, "pids", "pids.max")).toBe("50");
    const quota = d.docker(["update", "--cpu-quota", "20000", "u1"]);
    expect(quota.code).toBe(1);
    expect(quota.stderr).toContain(
      "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set",
    );
    expect(d.berth(["update", "--pids-limit", "80", "u1"]).stdout).toBe("u1\n");
    expect(cgroupFile(id, "pids", "pids.max")).toBe("80");
    const none = d.docker(["update", "u1"]);
    expect(none.code).not.toBe(0);
    ok(["rm", "-f", "u1"]);
  });

  it("applies a restart policy changed on a running container at its next exit", () => {
    ok(["run", "-d", "--name", "rp", "busybox", "sh", "-c", "sleep 2; exit 3"]);
    expect(ok(["update", "--restart", "on-failure:2", "rp"])).toBe("rp\n");
    let st: Json = {};
    for (let i = 0; i < 150; i++) {
      const rec = inspect("rp");
      st = { ...rec.State, RestartCount: rec.RestartCount };
      if (st.Status === "exited" && st.RestartCount === 2) break;
      run("sleep", ["0.1"]);
    }
    expect(st).toMatchObject({ Status: "exited", ExitCode: 3, RestartCount: 2 });
    ok(["rm", "rp"]);
  }, 30_000);

  it("updates a stopped container for its next start", () => {
    const id = ok(["create", "--name", "us", "busybox", "sleep", "300"]).trim();
    expect(ok(["update", "--memory", "20m", "--memory-swap", "40m", "--cpu-shares", "512", "us"])).toBe(
      "us\n",
    );
    ok(["start", "us"]);
    expect(cgroupFile(id, "memory", "memory.limit_in_bytes")).toBe(String(20 * 1024 * 1024));
    expect(cgroupFile(id, "cpu", "cpu.shares")).toBe("512");
    const stats = ok(["stats", "--no-stream", "--format", "{{.MemUsage}}", "us"]);
    expect(stats).toMatch(/ \/ 20MiB\n$/);
    ok(["rm", "-f", "us"]);
  });

  it("refuses a restart policy on an --rm container", () => {
    ok(["run", "-d", "--rm", "--name", "u2", "busybox", "sleep", "300"]);
    const r = d.docker(["update", "--restart", "always", "u2"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "Restart policy cannot be updated because AutoRemove is enabled for the container",
    );
    ok(["rm", "-f", "u2"]);
  });
});

describe("stats", () => {
  it("answers one sample from the cgroup files with --no-stream", async () => {
    const id = ok(["run", "-d", "--name", "s1", "--memory", "50m", "busybox", "sleep", "300"]).trim();
    const out = ok(["stats", "--no-stream", "s1"]);
    const [head, row] = out.split("\n");
    expect(head?.split(/ {3,}/)).toEqual([
      "CONTAINER ID",
      "NAME",
      "CPU %",
      "MEM USAGE / LIMIT",
      "MEM %",
      "NET I/O",
      "BLOCK I/O",
      "PIDS",
    ]);
    expect(head).toMatch(/^CONTAINER ID {3}NAME {6}CPU % {5}MEM USAGE \/ LIMIT {3}MEM % {5}NET I\/O/);
    expect(row).toMatch(
      new RegExp(
        `^${id.slice(0, 12)}   s1        \\d+\\.\\d\\d%     \\S+ / 50MiB\\s+\\d+\\.\\d\\d%\\s+\\S+ / \\S+\\s+\\S+ / \\S+\\s+1$`,
      ),
    );
    const api = await d.api("GET", `/v1.41/containers/s1/stats?stream=0`);
    expect(api.status).toBe(200);
    const s = JSON.parse(api.body) as Json;
    expect(s.name).toBe("/s1");
    expect(s.memory_stats.limit).toBe(50 * 1024 * 1024);
    expect(s.memory_stats.usage).toBeGreaterThan(0);
    expect(s.pids_stats.current).toBe(1);
    expect(s.cpu_stats.cpu_usage.total_usage).toBeGreaterThan(0);
    expect(s.precpu_stats.system_cpu_usage).toBeGreaterThan(0);
    expect(s.preread).not.toBe("0001-01-01T00:00:00Z");
    const one = JSON.parse((await d.api("GET", `/v1.41/containers/s1/stats?stream=0&one-shot=1`)).body);
    expect(one.preread).toBe("0001-01-01T00:00:00Z");
    // Without names: every running container, as `docker stats --no-stream`.
    const all = ok(["stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}"]);
    expect(all).toContain("s1 1\n");
    const berth = d.berth(["stats", "--no-stream", "s1"]);
    expect(berth.stdout.split("\n")[0]).toBe(head);
    expect(berth.stdout).toMatch(/ \/ 50MiB /);
  });

  it("streams a sample a second", async () => {
    const body = await new Promise<string>((resolve, reject) => {
      const p = spawn("docker", ["stats", "s1"], {
        env: { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.dir, "docker-config") },
      });
      let out = "";
      p.stdout.on("data", (b: Buffer) => {
        out += b.toString();
      });
      p.on("error", reject);
      setTimeout(() => {
        p.kill("SIGKILL");
        resolve(out);
      }, 4500);
    });
    expect(body.split("CONTAINER ID").length).toBeGreaterThanOrEqual(3); // two draws or more
    expect(body).toMatch(/s1\s+\d+\.\d\d%/);
    ok(["rm", "-f", "s1"]);
  }, 20_000);
});

describe("cp", () => {
  it("keeps the archive's owners, or with -a gives files to the container's user", () => {
    ok(["run", "-d", "--name", "cpu", "-u", "nobody", "busybox", "sleep", "300"]);
    const local = join(work, "owned.txt");
    writeFileSync(local, "x\n");
    ok(["cp", local, "cpu:/tmp/plain"]);
    ok(["cp", "-a", local, "cpu:/tmp/archived"]);
    expect(d.berth(["cp", "-a", local, "cpu:/tmp/berth-archived"]).code).toBe(0);
    const owners = ok([
      "exec",
      "cpu",
      "stat",
      "-c",
      "%n %u:%g",
      "/tmp/plain",
      "/tmp/archived",
      "/tmp/berth-archived",
    ]);
    expect(owners).toBe("/tmp/plain 0:0\n/tmp/archived 65534:65534\n/tmp/berth-archived 65534:65534\n");
    ok(["rm", "-f", "cpu"]);
  });

  it("copies files in and out of running and stopped containers", () => {
    ok([
      "run",
      "-d",
      "--name",
      "cp1",
      "--hostname",
      "cphost",
      "-v",
      "cpvol:/data",
      "busybox",
      "sleep",
      "300",
    ]);
    const local = join(work, "in.txt");
    writeFileSync(local, "copied in\n");
    ok(["cp", local, "cp1:/etc/in.txt"]);
    expect(ok(["exec", "cp1", "cat", "/etc/in.txt"])).toBe("copied in\n");
    ok(["cp", local, "cp1:/tmp"]);
    expect(ok(["exec", "cp1", "cat", "/tmp/in.txt"])).toBe("copied in\n");
    const out = join(work, "out-hostname.txt");
    ok(["cp", "cp1:/etc/hostname", out]);
    expect(readFileSync(out, "utf8")).toBe("cphost\n");
    // A volume is reached at its mount path.
    ok(["cp", local, "cp1:/data/v.txt"]);
    expect(readFileSync(join(d.dataRoot, "volumes", "cpvol", "_data", "v.txt"), "utf8")).toBe("copied in\n");
    // Directories, out and in.
    ok(["exec", "cp1", "sh", "-c", "mkdir -p /srv/d/e && echo 1 > /srv/d/e/f"]);
    const dirOut = join(work, "dcopy");
    ok(["cp", "cp1:/srv/d", dirOut]);
    expect(readFileSync(join(dirOut, "e", "f"), "utf8")).toBe("1\n");
    ok(["cp", dirOut, "cp1:/srv/back"]);
    expect(ok(["exec", "cp1", "cat", "/srv/back/e/f"])).toBe("1\n");
    // A link is copied as a link, or with -L as what it points to (under the link's name).
    ok(["exec", "cp1", "ln", "-s", "/etc/passwd", "/lnk"]);
    const asLink = join(work, "aslink");
    ok(["cp", "cp1:/lnk", asLink]);
    expect(readlinkSync(asLink)).toBe("/etc/passwd");
    for (const [cli, name] of [
      ["docker", "followed-docker"],
      ["berth", "followed-berth"],
    ] as const) {
      const dir = join(work, name);
      mkdirSync(dir);
      const r =
        cli === "docker" ? d.docker(["cp", "-L", "cp1:/lnk", dir]) : d.berth(["cp", "-L", "cp1:/lnk", dir]);
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(join(dir, "lnk"), "utf8")).toContain("nobody:x:65534");
    }
    // A directory is never replaced by a file.
    ok(["exec", "cp1", "mkdir", "-p", "/srv/taken/e"]);
    const taken = join(work, "taken");
    writeFileSync(taken, "file\n");
    const clash = d.docker(["cp", taken, "cp1:/srv"]);
    expect(clash.code).toBe(1);
    expect(clash.stderr).toContain("cannot overwrite directory");
    expect(ok(["exec", "cp1", "ls", "/srv/taken"])).toBe("e\n");
    const missing = d.docker(["cp", "cp1:/nosuchfile", join(work, "x")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("Could not find the file /nosuchfile in container cp1");
    ok(["stop", "-t", "1", "cp1"]);
    ok(["cp", local, "cp1:/root/stopped.txt"]);
    const back = join(work, "stopped.txt");
    ok(["cp", "cp1:/root/stopped.txt", back]);
    expect(readFileSync(back, "utf8")).toBe("copied in\n");
    // berth cp both ways, and to stdout as a tar.
    const bOut = join(work, "b-passwd");
    expect(d.berth(["cp", "cp1:/etc/passwd", bOut]).code).toBe(0);
    expect(readFileSync(bOut, "utf8")).toContain("nobody:x:65534:65534");
    expect(d.berth(["cp", local, "cp1:/root/b.txt"]).code).toBe(0);
    ok(["start", "cp1"]);
    expect(ok(["exec", "cp1", "cat", "/root/b.txt", "/root/stopped.txt"])).toBe("copied in\ncopied in\n");
    ok(["rm", "-f", "cp1"]);
  });
});
