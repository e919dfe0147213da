import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { releaseExecFifo } from "../src/releaseExecFifo.ts";
import { useRuntimeSandbox } from "./fixtures.ts";

const isRoot = process.getuid?.() === 0;
const haveTools =
  spawnSync("runc", ["--version"]).status === 0 && spawnSync("conmon", ["--version"]).status === 0;

describe("releaseExecFifo on plain files", () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "berth-fifo-"));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it("reads the writer's byte and removes the fifo", async () => {
    const fifo = join(tmp, "a.fifo");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    // A writer like runc's init: blocks in open(O_WRONLY) until a reader comes, writes "0".
    const writer = spawn("sh", ["-c", `printf 0 > ${fifo}; echo done`], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    let out = "";
    writer.stdout.on("data", (b: Buffer) => {
      out += b.toString();
    });
    const exited = new Promise((r) => writer.once("exit", r));
    expect(await releaseExecFifo(fifo)).toBe(true);
    await exited;
    expect(out).toBe("done\n");
    expect(existsSync(fifo)).toBe(false);
  });

  it("changes nothing when there is no fifo, a regular file or a symlink", async () => {
    expect(await releaseExecFifo(join(tmp, "missing.fifo"))).toBe(false);
    const file = join(tmp, "plain");
    await writeFile(file, "0");
    expect(await releaseExecFifo(file)).toBe(false);
    expect(existsSync(file)).toBe(true);
  });

  it("gives up when the writer is dead instead of waiting forever", async () => {
    const fifo = join(tmp, "b.fifo");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    const t0 = Date.now();
    // pid 2^22+1 never exists.
    expect(await releaseExecFifo(fifo, { pid: 4_194_305 })).toBe(false);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(existsSync(fifo)).toBe(true);
    expect(await releaseExecFifo(fifo, { timeoutMs: 50 })).toBe(false);
  });
});

describe.skipIf(!isRoot || !haveTools)("Runtime.start through runc's exec fifo", () => {
  const sb = useRuntimeSandbox("fifo");
  const create = (name: string, args: string[]) => sb.create(name, args);

  it("starts a created container without runc start: entrypoint runs, runc says running", async () => {
    const c = await create("fifo", ["sleep", "1000"]);
    const fifo = join(sb.tmp, "runc", c.id, "exec.fifo");
    expect(existsSync(fifo)).toBe(true);
    expect((await sb.rt.state(c.id)).status).toBe("created");
    await sb.rt.start(c.id);
    expect(existsSync(fifo)).toBe(false);
    expect((await sb.rt.state(c.id)).status).toBe("running");
    let cmd = "";
    for (let i = 0; i < 100 && !cmd.startsWith("sleep"); i++) {
      cmd = readFileSync(`/proc/${c.pid}/cmdline`, "utf8").replaceAll("\0", " ");
      if (!cmd.startsWith("sleep")) await new Promise((r) => setTimeout(r, 20));
    }
    expect(cmd).toBe("sleep 1000 ");
  });

  it("reports runc's error when the init died before the start", async () => {
    const c = await create("dead", ["sleep", "1000"]);
    process.kill(c.pid, "SIGKILL");
    await expect(sb.rt.start(c.id)).rejects.toThrow();
  });
});
