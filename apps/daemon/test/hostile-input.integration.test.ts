import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pack } from "tar-stream";
import { afterAll, describe, expect, it } from "vitest";
import { useDaemon } from "./harness.ts";

// Hostile input through the API: the store and other containers must be untouched, the client must
// get a clear docker-style answer.
const d = useDaemon();
const victim = mkdtempSync(join(tmpdir(), "berth-victim-"));
afterAll(() => rmSync(victim, { recursive: true, force: true }));

type Entry = {
  name: string;
  type?: "file" | "directory" | "symlink" | "link";
  linkname?: string;
  body?: string;
};

function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  for (const e of entries) {
    p.entry(
      { name: e.name, type: e.type ?? "file", ...(e.linkname ? { linkname: e.linkname } : {}), mode: 0o644 },
      e.body ?? "",
    );
  }
  p.finalize();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    p.on("data", (c: unknown) => chunks.push(c as Buffer));
    p.on("end", () => resolve(Buffer.concat(chunks)));
    p.on("error", reject);
  });
}

describe("hostile input", () => {
  it("imports a tar with ../, absolute and symlink-escaping entries without writing outside the image", async () => {
    writeFileSync(join(victim, "hello"), "original");
    const tar = await tarOf([
      { name: "bin/", type: "directory" },
      { name: `../../../../../../${victim}/dotdot`, body: "escaped" },
      { name: `${victim}/absolute`, body: "escaped" },
      { name: "loophole", type: "symlink", linkname: victim },
      { name: "loophole/through-symlink", body: "escaped" },
      { name: "hardlink", type: "link", linkname: `${victim}/hello` },
    ]);
    const file = join(victim, "..", `${victim.split("/").pop()}.tar`);
    writeFileSync(file, tar);
    const running = d.docker(["run", "-d", "busybox", "sleep", "1000"]).stdout.trim();
    const r = d.docker(["import", file, "hostile:1"]);
    rmSync(file, { force: true });
    // Either contained (imported, entries resolved inside the image) or refused with a clear error.
    if (r.code !== 0) expect(r.stderr).toMatch(/Error response from daemon: .+/);
    for (const f of ["dotdot", "absolute", "through-symlink"])
      expect(existsSync(join(victim, f))).toBe(false);
    expect(readFileSync(join(victim, "hello"), "utf8")).toBe("original");
    if (r.code === 0) {
      const ls = d.docker(["run", "--rm", "--entrypoint", "/bin/busybox", "busybox", "true"]);
      expect(ls.code).toBe(0);
    }
    // Nothing else was disturbed.
    expect(d.docker(["inspect", "-f", "{{.State.Running}}", running]).stdout.trim()).toBe("true");
    expect(d.docker(["run", "--rm", "busybox", "echo", "still fine"]).stdout).toBe("still fine\n");
    d.docker(["rm", "-f", running]);
  });

  it("refuses a truncated or garbage tar with a 4xx and stores nothing", async () => {
    const before = d.docker(["images", "-q"]).stdout;
    const r = await d.api(
      "POST",
      "/v1.47/images/create?fromSrc=-&repo=garbage",
      Buffer.from("this is not a tar archive at all".repeat(40)),
    );
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(JSON.parse(r.body).message).toBeTruthy();
    const tar = await tarOf([{ name: "big", body: "x".repeat(100_000) }]);
    const cut = await d.api("POST", "/v1.47/images/create?fromSrc=-&repo=cut", tar.subarray(0, 5000));
    expect(cut.status).toBeGreaterThanOrEqual(400);
    expect(d.docker(["images", "-q"]).stdout).toBe(before);
  });

  it("rejects bad create bodies and flag values with docker's status codes", async () => {
    const bad = await d.api(
      "POST",
      "/v1.47/containers/create",
      JSON.stringify({ Image: "busybox", Cmd: ["true"], HostConfig: { Memory: 1024 } }),
      {
        "Content-Type": "application/json",
      },
    );
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).message).toBe("Minimum memory limit allowed is 6MB");
    const noImage = await d.api(
      "POST",
      "/v1.47/containers/create",
      JSON.stringify({ Image: "nosuch:1", Cmd: ["true"] }),
      {
        "Content-Type": "application/json",
      },
    );
    expect(noImage.status).toBe(404);
    expect(JSON.parse(noImage.body).message).toBe("No such image: nosuch:1");
    const flag = d.docker(["run", "--rm", "--cpus", "lots", "busybox", "true"]);
    expect(flag.code).toBe(125);
    expect(d.docker(["run", "--rm", "--name", "bad name", "busybox", "true"]).stderr).toContain(
      "Invalid container name",
    );
  });
});
