import { execFileSync } from "node:child_process";
import { createReadStream, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Engine } from "../src/index.ts";

// The README's example, embedded in a Node program without a daemon (root: overlayfs, runc, conmon).
const repo = resolve(import.meta.dirname, "../../..");
const dir = mkdtempSync(join(tmpdir(), "berth-engine-"));
let engine: Engine | undefined;

function busyboxTar(): string {
  const out = join(repo, "test-fixtures/.cache/busybox-rootfs-v2.tar");
  if (!existsSync(out)) {
    mkdirSync(dirname(out), { recursive: true });
    execFileSync(join(repo, "test-fixtures/busybox/make-rootfs.sh"), [`${out}.tmp`]);
    execFileSync("mv", [`${out}.tmp`, out]);
  }
  return out;
}

afterAll(async () => {
  for (const c of engine?.containers.all() ?? []) await engine?.containers.remove(c.id, { force: true });
  await engine?.networks.destroy();
  engine?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("Engine embedded in a Node program", () => {
  it("imports an image, runs a container, reads its exit code and logs", async () => {
    engine = await Engine.open({
      root: join(dir, "root"),
      runRoot: join(dir, "run"),
      // A default bridge of the test's own, removed again by networks.destroy() afterwards.
      network: { bridgeName: `bte${process.pid % 100000}`, bridgeIp: `10.253.${process.pid % 250}.1/24` },
    });
    const imageId = await engine.importImage(createReadStream(busyboxTar()), { ref: "busybox:latest" });
    expect(imageId).toMatch(/^sha256:[0-9a-f]{64}$/);

    const { Id } = await engine.containers.create({
      config: { Image: "busybox", Cmd: ["sh", "-c", "echo hello; echo oops >&2; exit 3"] },
    });
    const exited = engine.containers.wait(Id, "next-exit");
    await engine.containers.start(Id);
    expect(await exited).toEqual({ StatusCode: 3, Error: null });
    const lines: string[] = [];
    for await (const line of engine.logs(Id).entries) lines.push(`${line.stream}: ${line.data}`);
    expect(lines).toEqual(["stdout: hello\n", "stderr: oops\n"]);
    expect(engine.inspectContainer(Id)).toMatchObject({
      State: { Status: "exited", ExitCode: 3 },
      Config: { Image: "busybox" },
    });
    await engine.containers.remove(Id);
    expect(() => engine?.containers.find(Id)).toThrow(`No such container: ${Id}`);
  });

  it("streams output through an attach session opened before start", async () => {
    const e = engine!;
    const { Id } = await e.containers.create({
      config: {
        Image: "busybox",
        Cmd: ["sh", "-c", "read x; echo got $x"],
        OpenStdin: true,
        StdinOnce: true,
      },
    });
    const session = await e.containers.attach(Id, { stdin: true, stdout: true, stderr: true, stream: true });
    const chunks: Buffer[] = [];
    session.stdout.on("data", (b: Buffer) => chunks.push(b));
    const ended = new Promise((r) => session.stdout.once("end", r));
    await e.containers.start(Id);
    session.stdin.end("berth\n");
    await ended;
    expect(Buffer.concat(chunks).toString()).toBe("got berth\n");
    expect((await e.containers.wait(Id)).StatusCode).toBe(0);
    await e.containers.remove(Id);
  });
});
