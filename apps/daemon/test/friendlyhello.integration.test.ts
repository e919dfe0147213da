import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repo, run, useDaemon } from "./harness.ts";

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

  it("makes the python:3 base image (cached root file system) with both names", () => {
    const r = run(join(repo, "test-fixtures/python/make-image.sh"), [], { env: env(), timeoutMs: 600_000 });
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
});
