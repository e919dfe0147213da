import { spawn } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildApps, repo, TestDaemon } from "./harness.ts";

// berthd started with an inherited fd that lacks O_CLOEXEC (a shell's or job runner's pipe) closes
// it at once, so nothing it spawns (conmon, runc, ip) can inherit it and the runtime needs no
// fd-closing wrapper.
const d = new TestDaemon();
afterAll(async () => {
  await d.cleanup();
});

/** openFds lists a process's fds at or above 3 with whether O_CLOEXEC is set and what they are. */
function openFds(pid: number): { fd: number; cloexec: boolean; target: string }[] {
  const out = [];
  for (const name of readdirSync(`/proc/${pid}/fdinfo`)) {
    const fd = Number(name);
    if (fd < 3) continue;
    try {
      const flags = /^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8"))?.[1] ?? "0";
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      out.push({ fd, cloexec: (Number.parseInt(flags, 8) & 0o2000000) !== 0, target });
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

describe("berthd and the fds it inherits", () => {
  it(
    "closes an inherited non-CLOEXEC fd at start and still runs containers",
    { timeout: 120_000 },
    async () => {
      buildApps();
      const leakedFile = join(d.dir, "leaked-fd");
      writeFileSync(leakedFile, "");
      // Control: a node started this way keeps fd 100 open without O_CLOEXEC.
      const control = spawn(
        "bash",
        ["-c", 'exec 100<"$0"; exec "$@"', leakedFile, process.execPath, "-e", "setTimeout(() => {}, 5000)"],
        { stdio: "ignore" },
      );
      await new Promise((r) => setTimeout(r, 300));
      expect(
        openFds(control.pid!)
          .filter((f) => !f.cloexec)
          .map((f) => f.target),
      ).toContain(leakedFile);
      control.kill();
      // fd 100 in berthd: a file opened by the starting shell without O_CLOEXEC, as a leaked descriptor.
      const args = [
        join(repo, "apps/daemon/bin/berthd.js"),
        ...["--data-root", d.dataRoot, "--exec-root", d.execRoot, "--bridge", d.bridge, "--bip", d.bip],
        ...["--default-address-pool", d.pool],
      ];
      const proc = spawn("bash", ["-c", 'exec 100<"$0"; exec "$@"', leakedFile, process.execPath, ...args], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      d.proc = proc;
      proc.stderr?.on("data", (b: Buffer) => {
        d.log += b.toString();
      });
      for (let i = 0; i < 300 && !(await d.ping()); i++) await new Promise((r) => setTimeout(r, 50));
      expect(await d.ping()).toBe(true);
      const fds = openFds(proc.pid!);
      expect(fds.filter((f) => !f.cloexec)).toEqual([]);
      expect(fds.map((f) => f.target)).not.toContain(leakedFile);
      d.importBusybox();
      const r = d.docker(["run", "--rm", "busybox", "echo", "still-works"]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("still-works\n");
      // --rm answers before the teardown: let it finish before the daemon is stopped.
      for (let i = 0; i < 100 && d.docker(["ps", "-aq"]).stdout.trim() !== ""; i++)
        await new Promise((r) => setTimeout(r, 100));
    },
  );
});
