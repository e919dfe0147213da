import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isKind } from "@berth/errdefs";
import { afterAll, describe, expect, it } from "vitest";
import { buildSpec, type LogRecord, Runtime, readLogs, type SpecOptions } from "../src/index.ts";
import { useRuntimeSandbox } from "./fixtures.ts";

const isRoot = process.getuid?.() === 0;
const haveTools =
  spawnSync("runc", ["--version"]).status === 0 && spawnSync("conmon", ["--version"]).status === 0;

describe.skipIf(!isRoot || !haveTools)("Runtime with real runc and conmon", () => {
  const sb = useRuntimeSandbox("rt");
  const create = sb.create;

  afterAll(async () => {
    await rm(childOutDir, { recursive: true, force: true });
  });

  async function logText(path: string): Promise<string> {
    const out: LogRecord[] = [];
    for await (const r of readLogs(path)) out.push(r);
    return out.map((r) => r.data.toString()).join("");
  }

  async function runToExit(name: string, args: string[], spec: Partial<SpecOptions> = {}) {
    const c = await create(name, args, spec);
    await sb.rt.start(c.id);
    const exit = await sb.rt.waitExit(c.id);
    return { ...c, exit, logs: await logText(c.logPath) };
  }

  it("signals the init itself when runc's state proves its pid, and asks runc otherwise", async () => {
    // A second Runtime over the same state whose runc refuses to kill: only a direct signal works.
    const fake = join(sb.tmp, "no-kill-runc");
    await writeFile(
      fake,
      `#!/bin/sh\nfor a in "$@"; do [ "$a" = kill ] && { echo '{"level":"error","msg":"fake runc kill"}' >&2; exit 1; }; done\nexec runc "$@"\n`,
      { mode: 0o755 },
    );
    const direct = new Runtime({
      runc: fake,
      stateRoot: sb.rt.stateRoot,
      runcRoot: sb.rt.runcRoot,
      logger: { warn: () => {} },
    });
    const c = await create("sigdirect", ["sleep", "1000"]);
    await sb.rt.start(c.id);
    const stateFile = join(sb.rt.runcRoot, c.id, "state.json");
    const state = JSON.parse(await readFile(stateFile, "utf8")) as { init_process_start: number };
    // A start time that does not match (a reused pid): not signalled directly, runc is asked.
    await writeFile(
      stateFile,
      JSON.stringify({ ...state, init_process_start: state.init_process_start + 1 }),
    );
    await expect(direct.kill(c.id, "SIGTERM")).rejects.toThrow(/fake runc kill/);
    await writeFile(stateFile, JSON.stringify(state));
    await direct.kill(c.id, "KILL");
    expect((await sb.rt.waitExit(c.id)).exitCode).toBe(137);
  });

  it("deletes a stopped container without runc (cgroups and runc state gone), a running one with runc", async () => {
    const fake = join(sb.tmp, "no-delete-runc");
    await writeFile(
      fake,
      `#!/bin/sh\nfor a in "$@"; do [ "$a" = delete ] && { echo '{"level":"error","msg":"fake runc delete"}' >&2; exit 1; }; done\nexec runc "$@"\n`,
      { mode: 0o755 },
    );
    const own = new Runtime({
      runc: fake,
      stateRoot: sb.rt.stateRoot,
      runcRoot: sb.rt.runcRoot,
      logger: { warn: () => {} },
    });
    const running = await create("delrunning", ["sleep", "1000"]);
    await sb.rt.start(running.id);
    await expect(own.delete(running.id, { force: true })).rejects.toThrow(/fake runc delete/);
    const c = await create("delstopped", ["true"]);
    await sb.rt.start(c.id);
    expect((await sb.rt.waitExit(c.id)).exitCode).toBe(0);
    const cg = `/sys/fs/cgroup/memory${sb.cgroupParent}/${c.id}`;
    expect(existsSync(cg)).toBe(true);
    await own.delete(c.id, { force: true });
    expect(existsSync(cg)).toBe(false);
    expect(existsSync(join(sb.rt.runcRoot, c.id))).toBe(false);
    const list = execFileSync("runc", ["--root", sb.rt.runcRoot, "list", "-q"], { encoding: "utf8" });
    expect(list.split("\n")).not.toContain(c.id);
  });

  it("runs echo hello: logs and exit code 0", async () => {
    const c = await runToExit("hello", ["echo", "hello"]);
    expect(c.pid).toBeGreaterThan(0);
    expect(c.conmonPid).toBeGreaterThan(0);
    expect(c.logs).toBe("hello\n");
    expect(c.exit.exitCode).toBe(0);
    expect(c.exit.oomKilled).toBe(false);
    expect(Date.now() - c.exit.finishedAt.getTime()).toBeLessThan(60_000);
    expect((await sb.rt.state(c.id)).status).toBe("stopped");
  });

  it("reports exit code 3", async () => {
    expect((await runToExit("exit3", ["sh", "-c", "exit 3"])).exit.exitCode).toBe(3);
  });

  it("applies docker's defaults inside: caps, hostname, PID 1, masked /proc/kcore", async () => {
    const c = await runToExit("defaults", [
      "sh",
      "-c",
      'grep CapEff /proc/self/status; hostname; echo pid=$$; echo "$PATH"; for f in /proc/kcore /proc/keys /proc/timer_list /proc/interrupts; do [ -e $f ] && echo "$f=$(wc -c < $f)"; done; true',
    ]);
    expect(c.exit.exitCode).toBe(0);
    expect(c.logs).toContain("CapEff:\t00000000a80425fb");
    expect(c.logs).toContain("\ndefaults\n");
    expect(c.logs).toContain("pid=1\n");
    // masked files read as empty (bind-mounted /dev/null); /proc/kcore only where the kernel has it
    const masked = ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/interrupts"].filter((f) =>
      existsSync(f),
    );
    expect(masked.length).toBeGreaterThan(0);
    for (const f of masked) expect(c.logs, c.logs).toContain(`${f}=0\n`);
    expect(c.logs).toContain("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");
  });

  it("runs privileged with every capability the engine holds", async () => {
    const c = await runToExit("priv", ["sh", "-c", "grep CapEff /proc/self/status"], { privileged: true });
    expect(c.exit.exitCode).toBe(0);
    const mine = /CapEff:\s*([0-9a-f]+)/.exec(readFileSync("/proc/self/status", "utf8"))![1];
    expect(c.logs).toBe(`CapEff:\t${mine}\n`);
  });

  it("attach before start gets stdout and stderr separately", async () => {
    const c = await create("attach", ["sh", "-c", "echo out; echo err >&2; echo out2"]);
    const a = await sb.rt.attach(c.id);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    a.stdout.on("data", (b: Buffer) => out.push(b));
    a.stderr.on("data", (b: Buffer) => err.push(b));
    await sb.rt.start(c.id);
    await a.closed;
    expect(Buffer.concat(out).toString()).toBe("out\nout2\n");
    expect(Buffer.concat(err).toString()).toBe("err\n");
    expect((await sb.rt.waitExit(c.id)).exitCode).toBe(0);
  });

  it("drives a terminal container through attach", async () => {
    const c = await create("tty", ["sh"], { terminal: true }, { terminal: true, stdin: true });
    const a = await sb.rt.attach(c.id);
    let out = "";
    a.stdout.on("data", (b: Buffer) => {
      out += b.toString();
    });
    await sb.rt.start(c.id);
    await sb.rt.resize(c.id, { height: 40, width: 100 });
    a.stdin.write("stty size; echo hi$((1+1)); exit 5\n");
    const exit = await sb.rt.waitExit(c.id);
    await a.closed;
    expect(out).toContain("hi2\r\n");
    expect(out).toContain("40 100");
    expect(exit.exitCode).toBe(5);
  });

  it("stdin reaches a non-terminal container and closeStdin ends it", async () => {
    const c = await create("stdin", ["sh", "-c", "cat; echo done"], {}, { stdin: true });
    const a = await sb.rt.attach(c.id);
    let out = "";
    a.stdout.on("data", (b: Buffer) => {
      out += b.toString();
    });
    await sb.rt.start(c.id);
    a.stdin.write("ping\n");
    a.closeStdin();
    expect((await sb.rt.waitExit(c.id)).exitCode).toBe(0);
    await a.closed;
    expect(out).toBe("ping\ndone\n");
  });

  it("stops via kill SIGTERM", async () => {
    const c = await create("term", [
      "sh",
      "-c",
      'trap "exit 143" TERM; echo ready; while :; do sleep 0.1; done',
    ]);
    await sb.rt.start(c.id);
    expect((await sb.rt.state(c.id)).status).toBe("running");
    await waitFor(async () => (await logText(c.logPath)).includes("ready"));
    await sb.rt.kill(c.id, "SIGTERM");
    const exit = await sb.rt.waitExit(c.id);
    expect(exit.exitCode).toBe(143);
  });

  it("reports OOM kills under a memory limit", async () => {
    const c = await runToExit(
      "oom",
      ["sh", "-c", 'x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo done'],
      { memory: 32 * 1024 * 1024, memorySwap: 32 * 1024 * 1024 },
    );
    expect(c.exit.exitCode).toBe(137);
    expect(c.exit.oomKilled).toBe(true);
  });

  it("reports a missing entrypoint like docker and leaves nothing behind", async () => {
    const err = await create("nosuch", ["nosuch"]).catch((e: unknown) => e);
    expect(isKind(err, "InvalidArgument")).toBe(true);
    expect((err as Error).message).toBe(
      'OCI runtime create failed: runc create failed: unable to start container process: exec: "nosuch": executable file not found in $PATH: unknown',
    );
    expect(existsSync(sb.rt.stateDir(sb.idFor("nosuch")))).toBe(false);
  });

  it("keeps running after the Node process that created it exits", async () => {
    const id = sb.idFor("survivor");
    sb.track(id);
    const script = await bundleChild();
    const bundle = join(sb.tmp, "b", id);
    const out = execFileSync(
      process.execPath,
      [script, sb.rt.stateRoot, sb.rt.runcRoot, bundle, sb.rootfs, id, `${sb.cgroupParent}/${id}`],
      { encoding: "utf8", timeout: 60_000 },
    );
    const r = JSON.parse(out) as { pid: number; conmonPid: number };
    expect((await sb.rt.state(id)).status).toBe("running");
    expect(await sb.rt.isConmonAlive(id)).toBe(true);
    expect(existsSync(`/proc/${r.conmonPid}`)).toBe(true);
    await sb.rt.kill(id, "KILL");
    const exit = await sb.rt.waitExit(id);
    expect(exit.exitCode).toBe(137);
    expect(await logText(join(bundle, "ctr.log"))).toContain("up\n");
  });

  it("leaves no runc state, cgroup, conmon or state dir after delete and cleanup", async () => {
    const c = await create("leftover", ["sleep", "1000"]);
    await sb.rt.start(c.id);
    const cg = `/sys/fs/cgroup/memory${sb.cgroupParent}/${c.id}`;
    expect(existsSync(cg)).toBe(true);
    await sb.rt.delete(c.id, { force: true });
    expect(await sb.rt.isConmonAlive(c.id)).toBe(false);
    // conmon is reparented to PID 1; this sandbox's init reaps late, so a zombie counts as gone
    expect(processGoneOrZombie(c.conmonPid)).toBe(true);
    expect((await sb.rt.exitStatus(c.id))?.exitCode).toBe(137);
    await sb.rt.cleanup(c.id);
    const list = execFileSync("runc", ["--root", sb.rt.runcRoot, "list", "-q"], { encoding: "utf8" });
    expect(list.split("\n")).not.toContain(c.id);
    expect(existsSync(cg)).toBe(false);
    expect(existsSync(sb.rt.stateDir(c.id))).toBe(false);
    expect(readdirSync(c.bundle).sort()).toEqual(["config.json", "ctr.log"]);
    await expect(sb.rt.state(c.id)).rejects.toThrow(/no such container/);
  });

  it("gives runc only stdio and no leaked fds (T3)", async () => {
    const fake = join(sb.tmp, "fake-runc");
    const report = join(sb.tmp, "fds.txt");
    await writeFile(
      fake,
      `#!/bin/sh\nif [ "$1" = "--version" ]; then echo "runc version 1.1.12"; exit 0; fi\nls -l /proc/self/fd/ > ${report}\necho '{"level":"error","msg":"fake runc refuses"}' >&2\nexit 1\n`,
    );
    await chmod(fake, 0o755);
    const frt = new Runtime({ runc: fake, stateRoot: join(sb.tmp, "fstate"), logger: { warn: () => {} } });
    const bundle = join(sb.tmp, "b", "fake");
    await mkdir(bundle, { recursive: true });
    const spec = buildSpec({ rootfs: sb.rootfs, args: ["true"] });
    const err = await frt
      .create("fake", { bundle, spec, logPath: join(bundle, "log") })
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe("OCI runtime create failed: fake runc refuses: unknown");
    const fds = (await readFile(report, "utf8"))
      .split("\n")
      .map((l) => /\s(\d+) -> (.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => `${m[1]} -> ${m[2]}`);
    // 0-2 are conmon's stdio sockets (1 redirected by the script); 3 is the directory ls itself opened
    expect(
      fds.map((f) => f.split(" ")[0]),
      fds.join("\n"),
    ).toEqual(["0", "1", "2", "3"]);
    expect(fds[3]).toMatch(/^3 -> \/proc\/\d+\/fd$/);
  });
});

function processGoneOrZombie(pid: number): boolean {
  try {
    return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return true;
  }
}

/** Bundled child script lives under this package's node_modules so it resolves node-unix-socket. */
const childOutDir = join(
  import.meta.dirname,
  "..",
  "node_modules",
  ".cache",
  `berth-runtime-test-${process.pid}`,
);

async function waitFor(cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("condition not met in time");
}

/** bundleChild compiles child-create.ts to one JS file next to this package's node_modules. */
async function bundleChild(): Promise<string> {
  const { build } = await import("tsup");
  await build({
    entry: { child: join(import.meta.dirname, "child-create.ts") },
    outDir: childOutDir,
    format: ["esm"],
    platform: "node",
    target: "node20",
    silent: true,
    dts: false,
    external: ["node-unix-socket"],
    noExternal: [/^@berth\//],
    // Bundled CommonJS dependencies (tar-stream, via @berth/archive) call require(): as in berthd's bundle.
    banner: {
      js: 'import { createRequire as __berthRequire } from "node:module"; const require = __berthRequire(import.meta.url);',
    },
    config: false,
    esbuildOptions(o) {
      o.conditions = ["source"];
    },
  });
  return join(childOutDir, "child.js");
}
