import { spawnSync } from "node:child_process";
import { readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { isKind } from "@berth/errdefs";
import { beforeAll, describe, expect, it } from "vitest";
import { type Attachment, resolveUser } from "../src/index.ts";
import { useRuntimeSandbox } from "./fixtures.ts";

const isRoot = process.getuid?.() === 0;
const haveTools =
  spawnSync("runc", ["--version"]).status === 0 && spawnSync("conmon", ["--version"]).status === 0;

function collect(a: Attachment): { out: () => string; err: () => string } {
  let out = "";
  let err = "";
  a.stdout.on("data", (b: Buffer) => {
    out += b.toString();
  });
  a.stderr.on("data", (b: Buffer) => {
    err += b.toString();
  });
  return { out: () => out, err: () => err };
}

describe.skipIf(!isRoot || !haveTools)("Runtime.exec with real runc and conmon", () => {
  const sb = useRuntimeSandbox("rtx");
  const id = sb.idFor("exec");
  let n = 0;
  const nextExec = () => `x${++n}`;

  beforeAll(async () => {
    await sb.create("exec", ["sleep", "1000"], { env: ["FROMCTR=1", "KEEP=ctr"], hostname: "x" });
    await sb.rt.start(id);
  });

  it("runs a command: stdout and stderr apart, the exit code, state removed after", async () => {
    const h = await sb.rt.exec(id, {
      execId: nextExec(),
      args: ["sh", "-c", "echo out; echo err >&2; exit 7"],
    });
    expect(h.pid).toBeGreaterThan(0);
    const io = collect(h.attachment!);
    expect(await h.waitExit()).toBe(7);
    await h.attachment!.closed;
    expect(io.out()).toBe("out\n");
    expect(io.err()).toBe("err\n");
    expect(readdirSync(join(sb.rt.stateDir(id), "x"))).toEqual([]);
  });

  it("merges env, honours cwd and user", async () => {
    const user = await resolveUser(sb.rootfs, "nobody");
    const h = await sb.rt.exec(id, {
      execId: nextExec(),
      args: ["sh", "-c", "echo $FROMCTR $KEEP; pwd; id -u"],
      env: ["KEEP=exec"],
      cwd: "/etc",
      user,
    });
    const io = collect(h.attachment!);
    expect(await h.waitExit()).toBe(0);
    await h.attachment!.closed;
    expect(io.out()).toBe("1 exec\n/etc\n65534\n");
  });

  it("passes stdin and half-closes it", async () => {
    const h = await sb.rt.exec(id, { execId: nextExec(), args: ["cat"], stdin: true });
    const io = collect(h.attachment!);
    h.attachment!.stdin.end("data-from-stdin\n");
    expect(await h.waitExit()).toBe(0);
    await h.attachment!.closed;
    expect(io.out()).toBe("data-from-stdin\n");
  });

  it("drives a terminal with an initial size and resize", async () => {
    const h = await sb.rt.exec(id, {
      execId: nextExec(),
      args: ["sh"],
      terminal: true,
      stdin: true,
      size: { height: 40, width: 120 },
    });
    const io = collect(h.attachment!);
    h.attachment!.stdin.write("stty size; echo $TERM\n");
    await new Promise((r) => setTimeout(r, 300));
    await h.resize({ height: 30, width: 100 });
    h.attachment!.stdin.write("stty size; exit 3\n");
    expect(await h.waitExit()).toBe(3);
    expect(io.out()).toContain("40 120");
    expect(io.out()).toContain("30 100");
    expect(io.out()).toContain("xterm");
  });

  it("reports a missing binary as docker does", async () => {
    const err = await sb.rt.exec(id, { execId: nextExec(), args: ["nosuchcmd"] }).catch((e: unknown) => e);
    expect(isKind(err, "InvalidArgument")).toBe(true);
    expect((err as { code?: string }).code).toBe("ERR_EXEC_NOT_FOUND");
    expect((err as Error).message).toBe(
      'OCI runtime exec failed: exec failed: unable to start container process: exec: "nosuchcmd": executable file not found in $PATH: unknown',
    );
  });

  it("runs detached without an attachment", async () => {
    const h = await sb.rt.exec(id, {
      execId: nextExec(),
      args: ["sh", "-c", "echo hi > /tmp/detached"],
      attach: false,
    });
    expect(h.attachment).toBeUndefined();
    expect(await h.waitExit()).toBe(0);
    const c = await sb.rt.exec(id, { execId: nextExec(), args: ["cat", "/tmp/detached"] });
    const io = collect(c.attachment!);
    expect(await c.waitExit()).toBe(0);
    await c.attachment!.closed;
    expect(io.out()).toBe("hi\n");
  });

  it("closes each exec's attach socket when the exec ends (no fd left per exec or health probe)", async () => {
    const sockets = () =>
      readdirSync("/proc/self/fd").filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).startsWith("socket:");
        } catch {
          return false;
        }
      }).length;
    const before = sockets();
    for (let i = 0; i < 5; i++) {
      const h = await sb.rt.exec(id, { execId: nextExec(), args: ["true"] });
      expect(await h.waitExit()).toBe(0);
      await h.attachment!.closed;
    }
    expect(sockets()).toBeLessThanOrEqual(before);
  });

  it("rejects a cwd under /proc/self/fd (T2, CVE-2024-21626)", async () => {
    const err = await sb.rt
      .exec(id, { execId: nextExec(), args: ["true"], cwd: "/proc/self/fd/7" })
      .catch((e: unknown) => e);
    expect(isKind(err, "InvalidArgument")).toBe(true);
    expect((err as Error).message).toContain("/proc/<pid>/fd");
  });
});
