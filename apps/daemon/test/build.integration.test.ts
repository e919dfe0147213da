import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repo, useDaemon } from "./harness.ts";

// `docker build` (the classic builder protocol) and `berth build` against berthd, on the example
// app in test-fixtures/hello.
const d = useDaemon();
const ctx = mkdtempSync(join(tmpdir(), "berth-build-ctx-"));
cpSync(join(repo, "test-fixtures/hello"), ctx, { recursive: true });
afterAll(() => rmSync(ctx, { recursive: true, force: true }));
const legacy = { env: { DOCKER_BUILDKIT: "0" }, timeoutMs: 120_000 };

describe("build", () => {
  it("builds the example app with the real docker CLI and runs it", () => {
    const b = d.docker(["build", "-t", "hello", ctx], legacy);
    expect(b.code).toBe(0);
    expect(b.stdout).toContain("Step 1/7 : FROM busybox");
    expect(b.stdout).toContain("Step 4/7 : RUN echo");
    const id = /Successfully built ([0-9a-f]{12})/.exec(b.stdout)?.[1];
    expect(id).toBeDefined();
    expect(b.stdout).toContain("Successfully tagged hello:latest");
    // The last step's ID is the image's ID, as docker prints it.
    expect(b.stdout).toMatch(new RegExp(`Step 7/7 : CMD .*\\n ---> (Running in \\w+\\n ---> )?${id}\\n`));
    expect(d.docker(["inspect", "-f", "{{.Id}}", "hello"]).stdout).toContain(id);
    const r = d.docker(["run", "--rm", "--hostname", "box", "hello"]);
    expect(r).toMatchObject({ code: 0, stdout: "Hello World from box: built at build time\n" });
    expect(
      d
        .docker(["inspect", "-f", "{{json .Config.ExposedPorts}} {{.Config.WorkingDir}}", "hello"])
        .stdout.trim(),
    ).toBe('{"80/tcp":{}} /app');
    expect(d.docker(["history", "hello"]).stdout).toMatch(/#\(nop\) {2}CMD \["sh" "\/app\/app.sh"\]/);
  });

  it("reuses the cache for an unchanged context and rebuilds from a changed file on", () => {
    const again = d.docker(["build", "-t", "hello", ctx], legacy);
    expect(again.code).toBe(0);
    expect(again.stdout.match(/Using cache/g)?.length).toBe(6);
    writeFileSync(join(ctx, "app.sh"), 'echo "changed $NAME"\n');
    const changed = d.docker(["build", "-t", "hello", ctx], legacy);
    expect(changed.stdout.match(/Using cache/g)?.length).toBe(1);
    expect(d.docker(["run", "--rm", "hello"]).stdout).toBe("changed World\n");
  });

  it("leaves .dockerignored files out of the image", () => {
    writeFileSync(join(ctx, "secret.log"), "do not ship");
    writeFileSync(join(ctx, "Dockerfile.copyall"), 'FROM busybox\nCOPY . /ctx/\nCMD ["ls", "/ctx"]\n');
    expect(d.berth(["build", "-f", join(ctx, "Dockerfile.copyall"), "-t", "copyall", ctx]).code).toBe(0);
    const ls = d.berth(["run", "--rm", "copyall"]).stdout.split("\n").filter(Boolean);
    expect(ls).toContain("app.sh");
    expect(ls).not.toContain("secret.log");
    expect(ls).not.toContain("README.md");
  });

  it("reports a failing RUN with its exit code and leaves no image", () => {
    const bad = mkdtempSync(join(tmpdir(), "berth-build-bad-"));
    writeFileSync(join(bad, "Dockerfile"), "FROM busybox\nRUN echo about to fail && exit 3\n");
    const before = d.docker(["images", "-q"]).stdout;
    const viaDocker = d.docker(["build", "-t", "willfail", bad], legacy);
    expect(viaDocker.code).toBe(3);
    expect(viaDocker.stdout).toContain("about to fail");
    expect(viaDocker.stderr).toContain(
      "The command '/bin/sh -c echo about to fail && exit 3' returned a non-zero code: 3",
    );
    const viaBerth = d.berth(["build", "-t", "willfail", bad]);
    expect(viaBerth.code).toBe(3);
    expect(d.docker(["images", "-q"]).stdout).toBe(before);
    rmSync(bad, { recursive: true, force: true });
  });

  it("builds with berth: tags, build args, labels, quiet", () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-build-args-"));
    writeFileSync(
      join(dir, "Dockerfile"),
      'ARG BASE=busybox\nFROM $BASE\nARG WHO=nobody\nRUN echo "hi $WHO" > /who\nCMD ["cat", "/who"]\n',
    );
    const q = d.berth([
      "build",
      "-q",
      "-t",
      "args:1",
      "-t",
      "args:2",
      "--build-arg",
      "WHO=berth",
      "--label",
      "team=core",
      dir,
    ]);
    expect(q.code).toBe(0);
    expect(q.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(d.berth(["run", "--rm", "args:2"]).stdout).toBe("hi berth\n");
    expect(d.berth(["inspect", "-f", "{{.Config.Labels.team}}", "args:1"]).stdout.trim()).toBe("core");
    const badFile = d.berth(["build", "-f", "/etc/passwd", dir]);
    expect(badFile.code).toBe(1);
    expect(badFile.stderr).toContain("must be within the build context");
    rmSync(dir, { recursive: true, force: true });
  });
});
