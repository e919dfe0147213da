import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isLocalDefaultTarget, pingSocket, probeSocket, startDaemon } from "../src/Connect.ts";

const dir = mkdtempSync(join(tmpdir(), "berth-autostart-"));
const pids: number[] = [];
afterAll(() => {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

describe("autostart target", () => {
  it("only autostarts for the default local socket", () => {
    expect(isLocalDefaultTarget(undefined, {})).toBe(true);
    expect(isLocalDefaultTarget(undefined, { DOCKER_HOST: "unix:///run/berth/berth.sock" })).toBe(true);
    expect(isLocalDefaultTarget(undefined, { DOCKER_HOST: "tcp://10.0.0.1:2375" })).toBe(false);
    expect(isLocalDefaultTarget(undefined, { DOCKER_HOST: "unix:///var/run/docker.sock" })).toBe(false);
    expect(isLocalDefaultTarget("unix:///run/berth/berth.sock", {})).toBe(false);
  });
});

describe("startDaemon", () => {
  it("spawns the daemon detached, logs its output and waits for /_ping", async () => {
    const socket = join(dir, "d.sock");
    const log = join(dir, "log", "berthd.log");
    const pidFile = join(dir, "pid");
    const script = join(dir, "fake-berthd.mjs");
    writeFileSync(
      script,
      `import http from "node:http"; import fs from "node:fs";
       fs.writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));
       console.log("fake berthd starting");
       setTimeout(() => http.createServer((q, r) => { r.writeHead(200, {"Api-Version": "1.41"}); r.end("OK"); })
         .listen(${JSON.stringify(socket)}), 150);`,
    );
    expect((await probeSocket(socket)).code).toBe("ENOENT");
    const t0 = Date.now();
    const ok = await startDaemon(socket, {
      daemon: { command: process.execPath, args: [script] },
      logPath: log,
    });
    pids.push(Number(readFileSync(pidFile, "utf8")));
    expect(ok).toBe(true);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(await pingSocket(socket)).toBe(true);
    expect(existsSync(log)).toBe(true);
    expect(readFileSync(log, "utf8")).toContain("fake berthd starting");
  });

  it("gives up when the daemon cannot be spawned", async () => {
    const ok = await startDaemon(join(dir, "none.sock"), {
      daemon: { command: join(dir, "no-such-berthd"), args: [] },
      logPath: join(dir, "log2"),
      timeoutMs: 2000,
    });
    expect(ok).toBe(false);
  });
});
