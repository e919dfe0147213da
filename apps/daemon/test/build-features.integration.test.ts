import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { useDaemon } from "./harness.ts";

// RUN heredocs, RUN --mount, RUN networking, COPY/ADD heredocs, --exclude, --parents and ADD of
// a URL, through `berth build` and the real docker CLI's classic builder protocol.
const d = useDaemon();
const legacy = { env: { DOCKER_BUILDKIT: "0" }, timeoutMs: 120_000 };
const tmp = mkdtempSync(join(tmpdir(), "berth-bf-"));
const servers: ChildProcess[] = [];

/** serve starts python's http.server on `host` for `dir` (another process: the CLIs run synchronously). */
async function serve(dir: string, host: string): Promise<number> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const p = spawn("python3", ["-m", "http.server", "--bind", host, "--directory", dir, String(port)], {
    stdio: "ignore",
  });
  servers.push(p);
  for (let i = 0; i < 50; i++) {
    const ok = await fetch(`http://${host}:${port}/`).then(
      () => true,
      () => false,
    );
    if (ok) return port;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`http.server on ${host}:${port} did not start`);
}

function context(name: string, files: Record<string, string>): string {
  const dir = join(tmp, name);
  for (const [rel, data] of Object.entries(files)) {
    mkdirSync(join(dir, rel, ".."), { recursive: true });
    writeFileSync(join(dir, rel), data);
  }
  return dir;
}

afterAll(() => {
  for (const p of servers) p.kill();
  rmSync(tmp, { recursive: true, force: true });
});

describe("build features", () => {
  it("gives RUN a network on the default bridge by default, none and host on request", async () => {
    const gateway = d.bip.split("/")[0] as string;
    const www = join(tmp, "www");
    mkdirSync(www, { recursive: true });
    writeFileSync(join(www, "hello.txt"), "from the host\n");
    const port = await serve(www, gateway);
    const ctx = context("net", {
      Dockerfile: [
        "FROM busybox",
        `RUN wget -qO /fetched http://${gateway}:${port}/hello.txt && cat /etc/hosts > /hosts && ls /sys/class/net > /links`,
        "",
      ].join("\n"),
    });
    const b = d.berth(["build", "-t", "netdefault", ctx], { timeoutMs: 120_000 });
    expect(b.code, b.stderr).toBe(0);
    expect(d.berth(["run", "--rm", "netdefault", "cat", "/fetched"]).stdout).toBe("from the host\n");
    expect(d.berth(["run", "--rm", "netdefault", "cat", "/hosts"]).stdout).toMatch(/\tbuildkitsandbox\n/);
    expect(d.berth(["run", "--rm", "netdefault", "cat", "/links"]).stdout.split("\n")).toContain("eth0");
    // the bind-mounted /etc files are not in the image's layer
    expect(d.berth(["run", "--rm", "netdefault", "cat", "/etc/hosts"]).stdout).not.toContain(
      "buildkitsandbox",
    );

    const none = context("netnone", { Dockerfile: "FROM busybox\nRUN ls /sys/class/net > /links\n" });
    const n = d.docker(["build", "--network", "none", "-t", "netnone", none], legacy);
    expect(n.code, n.stderr).toBe(0);
    expect(d.docker(["run", "--rm", "netnone", "cat", "/links"]).stdout).toBe("lo\n");
    const host = context("nethost", {
      Dockerfile: "FROM busybox\nRUN --network=host ls /sys/class/net > /links\n",
    });
    expect(d.berth(["build", "-t", "nethost", host]).code).toBe(0);
    expect(d.berth(["run", "--rm", "nethost", "cat", "/links"]).stdout.split("\n")).toContain(d.bridge);
  });

  it("runs heredocs and copies heredoc sources with the docker CLI", () => {
    const ctx = context("heredoc", {
      Dockerfile: [
        "FROM busybox",
        "ARG WHO=docker",
        "RUN <<EOF",
        "#!/bin/sh",
        'echo "script for $WHO" > /script.out',
        "EOF",
        "COPY --chmod=0755 <<EOF /usr/local/bin/greet",
        "#!/bin/sh",
        "echo greetings from $WHO",
        "EOF",
        'CMD ["sh", "-c", "cat /script.out && greet"]',
        "",
      ].join("\n"),
    });
    const b = d.docker(["build", "-t", "heredoc", ctx], legacy);
    expect(b.code, b.stderr).toBe(0);
    expect(d.docker(["run", "--rm", "heredoc"]).stdout).toBe("script for docker\ngreetings from docker\n");
    const again = d.docker(["build", "-t", "heredoc", ctx], legacy);
    expect(again.stdout.match(/Using cache/g)?.length).toBe(4);
  });

  it("passes secrets from berth build --secret, never into the image", () => {
    const secretFile = join(tmp, "token.txt");
    writeFileSync(secretFile, "hunter2");
    const ctx = context("secret", {
      Dockerfile: [
        "FROM busybox",
        "RUN --mount=type=secret,id=token,required sha256sum /run/secrets/token | cut -c1-64 > /token.sum",
        'RUN --mount=type=secret,id=token,env=TOKEN printf %s "$TOKEN" | sha256sum | cut -c1-64 > /env.sum',
        "",
      ].join("\n"),
    });
    const b = d.berth(["build", "--secret", `id=token,src=${secretFile}`, "-t", "secret", ctx]);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout + b.stderr).not.toContain("hunter2");
    const sum = createHash("sha256").update("hunter2").digest("hex");
    expect(d.berth(["run", "--rm", "secret", "cat", "/token.sum", "/env.sum"]).stdout).toBe(
      `${sum}\n${sum}\n`,
    );
    expect(d.berth(["run", "--rm", "secret", "ls", "/run"]).stdout).not.toContain("secrets");
    expect(d.berth(["history", "--no-trunc", "secret"]).stdout).not.toContain("hunter2");
    expect(readFileSync(join(d.dataRoot, "build-cache.json"), "utf8")).not.toContain("hunter2");
    const missing = d.berth(["build", "--no-cache", "-t", "secret2", ctx]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr + missing.stdout).toContain("secret token: not found");
  });

  it("keeps RUN cache mounts across builds and daemon restarts", async () => {
    const ctx = context("cachemount", {
      Dockerfile: [
        "FROM busybox",
        "RUN --mount=type=cache,target=/cache echo run >> /cache/log && wc -l < /cache/log > /count",
        "",
      ].join("\n"),
    });
    expect(d.berth(["build", "--no-cache", "-t", "cm", ctx]).code).toBe(0);
    expect(d.berth(["run", "--rm", "cm", "cat", "/count"]).stdout.trim()).toBe("1");
    await d.stop();
    await d.start();
    expect(d.berth(["build", "--no-cache", "-t", "cm", ctx]).code).toBe(0);
    expect(d.berth(["run", "--rm", "cm", "cat", "/count"]).stdout.trim()).toBe("2");
    expect(d.berth(["run", "--rm", "cm", "ls", "/cache"]).stdout).toBe("");
  });

  it("ADDs a URL with --checksum and COPYs with --exclude and --parents", async () => {
    const www = join(tmp, "www2");
    mkdirSync(www, { recursive: true });
    writeFileSync(join(www, "data.txt"), "payload\n");
    const port = await serve(www, "127.0.0.1");
    const sum = createHash("sha256").update("payload\n").digest("hex");
    const ctx = context("addurl", {
      Dockerfile: [
        "FROM busybox",
        `ADD --checksum=sha256:${sum} http://127.0.0.1:${port}/data.txt /dl/`,
        "COPY --exclude=*.log logs /logs/",
        "COPY --parents src/a/one.txt src/b/two.txt /tree/",
        "",
      ].join("\n"),
      "logs/keep.txt": "k",
      "logs/drop.log": "d",
      "src/a/one.txt": "1",
      "src/b/two.txt": "2",
    });
    const b = d.docker(["build", "-t", "addurl", ctx], legacy);
    expect(b.code, b.stderr).toBe(0);
    expect(d.docker(["run", "--rm", "addurl", "cat", "/dl/data.txt"]).stdout).toBe("payload\n");
    expect(d.docker(["run", "--rm", "addurl", "stat", "-c", "%a", "/dl/data.txt"]).stdout).toBe("600\n");
    expect(d.docker(["run", "--rm", "addurl", "ls", "/logs"]).stdout).toBe("keep.txt\n");
    expect(
      d.docker(["run", "--rm", "addurl", "cat", "/tree/src/a/one.txt", "/tree/src/b/two.txt"]).stdout,
    ).toBe("12");
    writeFileSync(join(www, "data.txt"), "tampered\n");
    const bad = d.docker(["build", "--no-cache", "-t", "addurl2", ctx], legacy);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("digest mismatch");
  });
});
