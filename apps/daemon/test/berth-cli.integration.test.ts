import { describe, expect, it } from "vitest";
import { useDaemon } from "./harness.ts";

// The berth CLI against berthd: docker's commands, columns, messages and exit codes.
const d = useDaemon({ importWith: "berth" });

describe("berth CLI against berthd", () => {
  it("runs containers with docker's exit codes", () => {
    expect(d.berth(["run", "--rm", "busybox", "echo", "hello"])).toMatchObject({
      code: 0,
      stdout: "hello\n",
    });
    expect(d.berth(["run", "--rm", "busybox", "sh", "-c", "echo err >&2; exit 3"])).toMatchObject({
      code: 3,
      stderr: "err\n",
    });
    const missing = d.berth(["run", "--rm", "busybox", "nosuchbinary"]);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain("executable file not found");
    const noImage = d.berth(["run", "--rm", "nosuchimage"]);
    expect(noImage.code).toBe(125);
    expect(noImage.stderr).toContain("Unable to find image 'nosuchimage:latest' locally");
    const badFlag = d.berth(["run", "--bogus", "busybox"]);
    expect(badFlag.code).toBe(125);
    expect(badFlag.stderr).toContain("unknown flag: --bogus");
    const badMem = d.berth(["run", "--memory", "lots", "busybox", "true"]);
    expect(badMem.code).toBe(125);
  });

  it("passes env, workdir, user, entrypoint, hostname and labels through", () => {
    const r = d.berth([
      "run",
      "--rm",
      "-e",
      "GREETING=hi",
      "-w",
      "/tmp",
      "-u",
      "nobody",
      "--hostname",
      "box",
      "-l",
      "team=core",
      "--entrypoint",
      "sh",
      "busybox",
      "-c",
      'echo "$GREETING $(pwd) $(id -un) $(hostname)"',
    ]);
    expect(r).toMatchObject({ code: 0, stdout: "hi /tmp nobody box\n" });
  });

  it("lists, logs, stops and removes like docker", () => {
    const id = d
      .berth(["run", "-d", "--name", "web1", "-l", "app=web", "busybox", "sh", "-c", "echo up; sleep 1000"])
      .stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const ps = d.berth(["ps"]);
    expect(ps.stdout.split("\n")[0]).toMatch(
      /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/,
    );
    expect(ps.stdout).toContain(id.slice(0, 12));
    expect(d.berth(["ps", "-q", "--filter", "label=app=web"]).stdout.trim()).toBe(id.slice(0, 12));
    expect(d.berth(["ps", "--no-trunc", "-q"]).stdout.trim()).toBe(id);
    expect(d.berth(["container", "ls", "--format", "{{.Names}}"]).stdout.trim()).toBe("web1");
    expect(d.berth(["logs", "web1"]).stdout).toBe("up\n");
    expect(
      d.berth(["inspect", "-f", "{{.State.Running}} {{.Config.Labels.app}}", "web1"]).stdout.trim(),
    ).toBe("true web");
    expect(d.berth(["stop", "-t", "1", "web1"])).toMatchObject({ code: 0, stdout: "web1\n" });
    expect(d.berth(["ps", "-a", "--format", "{{.Status}}"]).stdout).toMatch(/^Exited \(137\)/);
    expect(d.berth(["wait", "web1"]).stdout.trim()).toBe("137");
    expect(d.berth(["restart", "-t", "1", "web1"]).code).toBe(0);
    expect(d.berth(["kill", "-s", "KILL", "web1"]).code).toBe(0);
    expect(d.berth(["rm", "web1", "nosuch"])).toMatchObject({ code: 1, stdout: "web1\n" });
    expect(d.berth(["ps", "-aq"]).stdout).toBe("");
  });

  it("manages images", () => {
    expect(d.berth(["tag", "busybox", "busybox:two"]).code).toBe(0);
    const images = d.berth(["images"]);
    expect(images.stdout.split("\n")[0]).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    expect(images.stdout).toMatch(/busybox\s+two\s+[0-9a-f]{12}/);
    expect(d.berth(["image", "rm", "busybox:two"]).stdout).toBe("Untagged: busybox:two\n");
    expect(d.berth(["image", "ls", "-q"]).stdout.trim()).toMatch(/^[0-9a-f]{12}$/);
    const bad = d.berth(["tag", "busybox", "Bad:Name"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("invalid reference format");
  });

  it("prints version and info from the daemon", () => {
    expect(d.berth(["version"]).stdout).toMatch(/Server:[\s\S]*API version:\s+1\.47/);
    expect(d.berth(["info"]).code).toBe(0);
  });
});
