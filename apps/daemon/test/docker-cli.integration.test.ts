import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { busyboxTar, mountsUnder, useDaemon } from "./harness.ts";

// The real docker CLI (v28, on the machine) as a client of berthd: every command here must
// behave as it does against dockerd (see shared/reference/engine-api-traces).
const d = useDaemon();

describe("docker CLI against berthd", () => {
  it("negotiates and answers version and info", () => {
    const v = d.docker(["version", "--format", "{{.Server.APIVersion}} {{.Server.Os}}"]);
    expect(v.stderr).toBe("");
    expect(v.stdout.trim()).toBe("1.47 linux");
    const i = d.docker(["info", "--format", "{{.Images}} {{.OSType}}"]);
    expect(i.code).toBe(0);
    expect(i.stdout.trim()).toBe("1 linux");
  });

  it("runs a container and prints its output", () => {
    const r = d.docker(["run", "--rm", "busybox", "echo", "hello"]);
    expect(r).toMatchObject({ code: 0, stdout: "hello\n", stderr: "" });
  });

  it("keeps stdout and stderr apart and returns the exit code", () => {
    const r = d.docker(["run", "--rm", "busybox", "sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3"]);
    expect(r).toMatchObject({ code: 3, stdout: "to-stdout\n", stderr: "to-stderr\n" });
  });

  it("pipes stdin with -i", () => {
    const r = d.docker(["run", "--rm", "-i", "busybox", "sh", "-c", "tr a-z A-Z"], {
      input: "hello stdin\n",
    });
    expect(r).toMatchObject({ code: 0, stdout: "HELLO STDIN\n" });
  });

  it("exits 127 when the command does not exist, with docker's message", () => {
    const r = d.docker(["run", "--rm", "busybox", "nosuchbinary"]);
    expect(r.code).toBe(127);
    expect(r.stderr).toContain('exec: "nosuchbinary": executable file not found in $PATH');
    expect(d.docker(["ps", "-aq"]).stdout).toBe("");
  });

  it("runs detached, lists, logs, stops and removes", () => {
    const run = d.docker([
      "run",
      "-d",
      "--name",
      "ticker",
      "busybox",
      "sh",
      "-c",
      "echo started; echo oops >&2; while true; do sleep 1; done",
    ]);
    expect(run.code).toBe(0);
    const id = run.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);

    const ps = d.docker(["ps"]);
    expect(ps.stdout.split("\n")[0]).toMatch(
      /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/,
    );
    expect(ps.stdout).toContain(id.slice(0, 12));
    expect(ps.stdout).toMatch(/Up (Less than a second|\d+ seconds?)/);
    expect(d.docker(["container", "ls", "-q"]).stdout.trim()).toBe(id.slice(0, 12));
    expect(
      d.docker(["ps", "--filter", "name=ticker", "--format", "{{.Names}} {{.Image}}"]).stdout.trim(),
    ).toBe("ticker busybox");

    const logs = d.docker(["logs", "ticker"]);
    expect(logs.stdout).toBe("started\n");
    expect(logs.stderr).toBe("oops\n");
    // The last record is the stderr line; timestamps are RFC3339Nano.
    const tail = d.docker(["logs", "--tail", "1", "-t", "ticker"]);
    expect(tail.stdout).toBe("");
    expect(tail.stderr).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z oops\n$/);

    const rmRunning = d.docker(["rm", "ticker"]);
    expect(rmRunning.code).toBe(1);
    expect(rmRunning.stderr).toContain("You cannot remove a running container");

    const t0 = Date.now();
    expect(d.docker(["stop", "-t", "1", "ticker"])).toMatchObject({ code: 0, stdout: "ticker\n" });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(d.docker(["ps", "-q"]).stdout).toBe("");
    expect(d.docker(["ps", "-a", "--format", "{{.Names}} {{.Status}}"]).stdout).toMatch(
      /^ticker Exited \(137\)/,
    );
    expect(
      d.docker(["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "ticker"]).stdout.trim(),
    ).toBe("exited 137");

    expect(d.docker(["start", "ticker"]).code).toBe(0);
    expect(d.docker(["kill", "ticker"])).toMatchObject({ code: 0, stdout: "ticker\n" });
    const killAgain = d.docker(["kill", "ticker"]);
    expect(killAgain.code).toBe(1);
    expect(killAgain.stderr).toContain("is not running");
    expect(d.docker(["rm", "ticker"])).toMatchObject({ code: 0, stdout: "ticker\n" });
    const gone = d.docker(["rm", "ticker"]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain("No such container: ticker");
  });

  it("stops with SIGTERM when the process handles it, and rm -f removes a running container", () => {
    const id = d
      .docker(["run", "-d", "busybox", "sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"])
      .stdout.trim();
    expect(d.docker(["stop", id.slice(0, 12)]).code).toBe(0);
    expect(d.docker(["inspect", "-f", "{{.State.ExitCode}}", id]).stdout.trim()).toBe("0");
    expect(d.docker(["rm", id]).code).toBe(0);
    const id2 = d.docker(["run", "-d", "--name", "sleeper", "busybox", "sleep", "1000"]).stdout.trim();
    expect(d.docker(["rm", "-f", "sleeper"])).toMatchObject({ code: 0, stdout: "sleeper\n" });
    expect(d.docker(["ps", "-aq"]).stdout).not.toContain(id2.slice(0, 12));
  });

  it("refuses a name in use with docker's message and exit code", () => {
    d.docker(["create", "--name", "dup", "busybox", "true"]);
    const r = d.docker(["run", "-d", "--name", "dup", "busybox", "true"]);
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('Conflict. The container name "/dup" is already in use by container');
    d.docker(["rm", "dup"]);
  });

  it("lists, tags, inspects and removes images", () => {
    const images = d.docker(["images"]);
    expect(images.stdout.split("\n")[0]).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    expect(images.stdout).toMatch(/busybox\s+latest\s+[0-9a-f]{12}/);
    expect(d.docker(["tag", "busybox", "mybox:1"]).code).toBe(0);
    expect(
      d
        .docker(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"])
        .stdout.split("\n")
        .sort()
        .join(" ")
        .trim(),
    ).toBe("busybox:latest mybox:1");
    const id = d.docker(["image", "inspect", "-f", "{{.Id}}", "mybox:1"]).stdout.trim();
    expect(id).toBe(d.docker(["inspect", "-f", "{{.Id}}", "busybox"]).stdout.trim());
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    // Removing by a name that shares the image with another tag only untags.
    expect(d.docker(["image", "rm", "mybox:1"])).toMatchObject({ code: 0, stdout: "Untagged: mybox:1\n" });
    const none = d.docker(["rmi", "nosuchimage:1"]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("No such image: nosuchimage:1");
  });

  it("refuses to remove an image a container uses unless forced", () => {
    d.importBusybox("victim:1");
    d.docker(["create", "--name", "user", "victim:1", "true"]);
    const r = d.docker(["rmi", "victim:1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/container [0-9a-f]{12} is using its referenced image/);
    d.docker(["rm", "user"]);
    expect(d.docker(["rmi", "victim:1"]).stdout).toContain("Untagged: victim:1");
  });

  it("removes an image right after a run --rm of it returned", () => {
    // An image of its own (one reference), so rmi deletes it and must not see the --rm container.
    const imp = d.docker(["import", "--change", "ENV ONLY=rm", busyboxTar(), "justonce:1"]);
    expect(imp.code).toBe(0);
    for (let i = 0; i < 3; i++) {
      expect(d.docker(["run", "--rm", "justonce:1", "true"]).code).toBe(0);
      if (i < 2) continue;
      const r = d.docker(["rmi", "justonce:1"]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toContain("Deleted: sha256:");
    }
  });

  it("reports unknown images and malformed references as docker does", () => {
    const r = d.docker(["run", "--rm", "127.0.0.1:5999/nosuchimage"]);
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("Unable to find image '127.0.0.1:5999/nosuchimage:latest' locally");
    const bad = d.docker(["run", "--rm", "Busybox"]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain(
      "invalid reference format: repository name (library/Busybox) must be lowercase",
    );
  });

  it("answers malformed API requests with 400 and docker's error body", async () => {
    const r = await d.api("POST", "/v1.47/containers/create", "{not json", {
      "Content-Type": "application/json",
    });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).message).toMatch(/invalid JSON/);
    const missing = await d.api("GET", "/v1.47/containers/doesnotexist/json");
    expect(missing).toEqual({ status: 404, body: '{"message":"No such container: doesnotexist"}\n' });
    const page = await d.api("GET", "/v1.47/nosuchendpoint");
    expect(page).toEqual({ status: 404, body: '{"message":"page not found"}\n' });
    const tooNew = await d.api("GET", "/v9.99/version");
    expect(tooNew.status).toBe(400);
    expect(tooNew.body).toContain("client version 9.99 is too new");
  });

  it("isolates the container: hostname, PID 1, default capabilities, masked and read-only /proc paths", () => {
    const r = d.docker([
      "run",
      "--rm",
      "--hostname",
      "boxy",
      "busybox",
      "sh",
      "-c",
      "hostname; echo pid=$$; grep CapEff /proc/self/status; cat /proc/self/mountinfo",
    ]);
    expect(r.code).toBe(0);
    const [host, pid, capEff, ...mountinfo] = r.stdout.split("\n");
    expect(host).toBe("boxy");
    expect(pid).toBe("pid=1");
    expect(capEff).toMatch(/^CapEff:\s+00000000a80425fb$/);
    // Masked paths are /dev/null bind mounts; /proc/kcore only where the kernel has one (this VM's has not).
    const mountPoint = (l: string) => l.split(" ")[4] ?? "";
    const masked = mountinfo.filter((l) => l.split(" ")[3] === "/null").map(mountPoint);
    for (const p of ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/latency_stats"]) {
      if (existsSync(p)) expect(masked).toContain(p);
    }
    expect(masked).toContain("/proc/keys");
    const procSys = mountinfo.find((l) => mountPoint(l) === "/proc/sys");
    expect(procSys?.split(" ")[5]).toMatch(/^ro,/);
    const priv = d.docker(["run", "--rm", "--privileged", "busybox", "grep", "CapEff", "/proc/self/status"]);
    const hostCaps = BigInt(
      `0x${/CapBnd:\s+([0-9a-f]+)/.exec(readFileSync("/proc/self/status", "utf8"))![1]}`,
    );
    expect(BigInt(`0x${/CapEff:\s+([0-9a-f]+)/.exec(priv.stdout)![1]}`)).toBe(hostCaps);
  });

  it("kills a container that exceeds --memory and reports OOMKilled", () => {
    const r = d.docker([
      "run",
      "--name",
      "oom",
      "--memory",
      "32m",
      "busybox",
      "sh",
      "-c",
      "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived",
    ]);
    expect(r.code).toBe(137);
    expect(r.stdout).not.toContain("survived");
    expect(
      d.docker(["inspect", "-f", "{{.State.OOMKilled}} {{.HostConfig.Memory}}", "oom"]).stdout.trim(),
    ).toBe("true 33554432");
    d.docker(["rm", "oom"]);
  });

  it("applies --cpus and --pids-limit to the container's cgroups", () => {
    const r = d.docker([
      "run",
      "--rm",
      "--cpus",
      "0.5",
      "--pids-limit",
      "20",
      "busybox",
      "sh",
      "-c",
      "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/pids/pids.max",
    ]);
    expect(r.stdout.split("\n").slice(0, 2)).toEqual(["50000", "20"]);
  });

  it("leaves nothing behind after 50 run --rm", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) {
      const cidfile = join(d.dir, `cid-${i}`);
      const r = d.docker(["run", "--rm", "--cidfile", cidfile, "busybox", "true"]);
      expect(r.code).toBe(0);
      ids.push(readFileSync(cidfile, "utf8").trim());
    }
    expect(ids.every((id) => /^[0-9a-f]{64}$/.test(id))).toBe(true);
    expect(d.docker(["ps", "-a"]).stdout.split("\n").slice(1).join("")).toBe("");
    // The last container's runtime state, mount and layer are released just after its client got
    // the answer, so give that a moment.
    const leftovers = () => {
      const bundles = join(d.execRoot, "b");
      const cgroups = ["memory", "pids", "cpu"].flatMap((ctl) => {
        const dir = `/sys/fs/cgroup/${ctl}/berth`;
        return existsSync(dir)
          ? readdirSync(dir)
              .filter((n) => ids.includes(n))
              .map((n) => `${ctl}/${n}`)
          : [];
      });
      const conmons = readdirSync("/proc")
        .filter((p) => /^\d+$/.test(p))
        .map((p) => {
          try {
            return readFileSync(`/proc/${p}/cmdline`, "utf8");
          } catch {
            return "";
          }
        })
        .filter((c) => c.startsWith("conmon") && c.includes(d.execRoot));
      const layers = readdirSync(join(d.dataRoot, "containers"));
      return {
        mounts: mountsUnder(d.dataRoot),
        bundles: existsSync(bundles) ? readdirSync(bundles) : [],
        cgroups,
        conmons,
        layers,
      };
    };
    const clean = { mounts: [], bundles: [], cgroups: [], conmons: [], layers: [] };
    for (let i = 0; i < 40 && JSON.stringify(leftovers()) !== JSON.stringify(clean); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(leftovers()).toEqual(clean);
  });
});
