import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repo, run, runAsync, useDaemon } from "./harness.ts";
import { freePort, httpGet } from "./net.ts";

/** python under --cpus 0.1 starts slowly: wait up to 30 s for the app. */
const PAGE = { tries: 150, delayMs: 200, timeoutMs: 10_000 };

// Part of the seed's workflow: the python:3 base made by test-fixtures/python/make-image.sh
// (debootstrap, cached under test-fixtures/.cache) and `berth build -t friendlyhello` of the
// seed's app, which then answers "Hello World!" over HTTP. Skipped when neither debootstrap nor a
// cached root file system is there.
const cached = () =>
  existsSync(join(repo, "test-fixtures/.cache")) &&
  readdirSync(join(repo, "test-fixtures/.cache")).some((n) => /^python3-rootfs-[0-9a-f]{16}\.tar$/.test(n));
const canMake = cached() || run("sh", ["-c", "command -v debootstrap"]).code === 0;

describe.skipIf(!canMake)("friendlyhello", () => {
  const d = useDaemon();
  const env = () => ({
    DOCKER_HOST: d.host,
    BERTH_NO_AUTOSTART: "1",
    BERTH: `${process.execPath} ${join(repo, "apps/cli/bin/berth.js")}`,
  });

  it("makes the python:3 base image (cached root file system) with both names", async () => {
    const r = await runAsync(join(repo, "test-fixtures/python/make-image.sh"), [], {
      env: env(),
      timeoutMs: 600_000,
    });
    expect(r.code, r.stderr).toBe(0);
    const tags = d.docker(["image", "inspect", "-f", "{{json .RepoTags}}", "python:3"]).stdout.trim();
    expect(JSON.parse(tags)).toEqual(["berth-fixtures/python:3", "python:3"]);
    const py = d.docker([
      "run",
      "--rm",
      "python:3",
      "python",
      "-c",
      "import sys; print(sys.version_info[0])",
    ]);
    expect(py).toMatchObject({ code: 0, stdout: "3\n" });
    // pip may install into the system Python, as in docker's python images.
    expect(d.docker(["run", "--rm", "python:3", "pip", "--version"]).code).toBe(0);
  }, 600_000);

  it("berth build -t friendlyhello test-fixtures/friendlyhello, then the app says Hello World!", () => {
    const b = d.berth(["build", "-t", "friendlyhello", join(repo, "test-fixtures/friendlyhello")], {
      timeoutMs: 300_000,
    });
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toContain(
      "Step 4/7 : RUN pip install --trusted-host pypi.python.org -r requirements.txt",
    );
    expect(b.stdout).toContain("Successfully tagged friendlyhello:latest");
    const cfg = d.docker([
      "inspect",
      "-f",
      "{{json .Config.ExposedPorts}} {{.Config.WorkingDir}} {{json .Config.Cmd}}",
      "friendlyhello",
    ]);
    expect(cfg.stdout.trim()).toBe('{"80/tcp":{}} /app ["python","app.py"]');
    const id = d.docker(["run", "-d", "--hostname", "fh-test", "friendlyhello"]).stdout.trim();
    try {
      const probe =
        "import time, urllib.request\n" +
        "for i in range(100):\n" +
        "    try:\n" +
        "        print(urllib.request.urlopen('http://127.0.0.1:80/').read().decode()); break\n" +
        "    except OSError: time.sleep(0.1)\n";
      const r = d.docker(["exec", id, "python", "-c", probe]);
      expect(r.stdout).toContain("<h3>Hello World!</h3>");
      expect(r.stdout).toContain("<b>Hostname:</b> fh-test");
    } finally {
      d.docker(["rm", "-f", id]);
    }
  }, 600_000);

  it("the seed's flow: run -d -p PORT:80 friendlyhello, then the host fetches Hello World! (docker and berth CLIs)", async () => {
    for (const [cli, name] of [
      ["docker", "fh-docker"],
      ["berth", "fh-berth"],
    ] as const) {
      const port = await freePort();
      const args = ["run", "-d", "--name", name, "-p", `${port}:80`, "friendlyhello"];
      const r = cli === "docker" ? d.docker(args) : d.berth(args);
      expect(r.code, r.stderr).toBe(0);
      try {
        const page = await httpGet(port, PAGE);
        expect(page).toContain("<h3>Hello World!</h3>");
        expect(page).toContain(`<b>Hostname:</b> ${r.stdout.trim().slice(0, 12)}`);
      } finally {
        d.docker(["rm", "-f", name]);
      }
    }
  }, 120_000);

  it("the seed's compose file: five replicas behind one port, limits applied, a killed replica comes back", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-seed-compose-"));
    const port = await freePort();
    const file = readFileSync(join(repo, "test-fixtures/friendlyhello/docker-compose.yml"), "utf8");
    writeFileSync(join(dir, "docker-compose.yml"), file.replace('"4000:80"', `"${port}:80"`));
    const compose = (...args: string[]) =>
      d.berth(["compose", "-f", join(dir, "docker-compose.yml"), "-p", "seed", ...args], {
        timeoutMs: 120_000,
      });
    try {
      const up = compose("up", "-d");
      expect(up.code, up.stderr).toBe(0);
      const ids = d
        .docker(["ps", "-q", "--filter", "label=com.docker.compose.project=seed"])
        .stdout.trim()
        .split("\n");
      expect(ids).toHaveLength(5);
      const limits = d
        .docker(["inspect", "-f", "{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}}", ids[0]!])
        .stdout.trim();
      expect(limits).toBe(`100000000 ${50 * 1024 * 1024}`);
      const hosts = new Set<string>();
      for (let i = 0; i < 15; i++) {
        const page = await httpGet(port, PAGE);
        expect(page).toContain("<h3>Hello World!</h3>");
        hosts.add(/<b>Hostname:<\/b> (\w+)/.exec(page)?.[1] ?? "");
      }
      expect(hosts.size).toBeGreaterThan(1);
      // A replica whose process dies (not a docker kill, which counts as a manual stop) comes back.
      const victim = ids[0]!;
      const pid = d.docker(["inspect", "-f", "{{.State.Pid}}", victim]).stdout.trim();
      process.kill(Number(pid), "SIGKILL");
      let restarted = "";
      for (let i = 0; i < 100 && restarted !== "1 running"; i++) {
        await new Promise((r) => setTimeout(r, 200));
        restarted = d.docker(["inspect", "-f", "{{.RestartCount}} {{.State.Status}}", victim]).stdout.trim();
      }
      expect(restarted).toBe("1 running");
      expect(await httpGet(port, PAGE)).toContain("Hello World!");
    } finally {
      compose("down");
      rmSync(dir, { recursive: true, force: true });
    }
    expect(d.docker(["ps", "-aq", "--filter", "label=com.docker.compose.project=seed"]).stdout.trim()).toBe(
      "",
    );
  }, 300_000);
});
