import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { missingPaths, removeStubs } from "../src/runMounts.ts";

// Threat row D9 (CVE-2024-23652): a RUN --mount target that did not exist gets a stub; if a
// symlink stands where the stub was when it is cleaned up, cleanup must delete nothing outside
// the root file system (nor follow the link inside it).
let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "stub-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("mount stub cleanup", () => {
  it("never removes a host file through a symlink left at the stub path", async () => {
    const root = join(tmp, "rootfs");
    const victim = join(tmp, "victim");
    await mkdir(root, { recursive: true });
    await writeFile(victim, "");
    await mkdir(join(tmp, "victimdir"));
    const stubs = [...(await missingPaths(root, "/mnt/target")), ...(await missingPaths(root, "/other"))];
    expect(stubs).toEqual(["/mnt", "/mnt/target", "/other"]);
    // what a hostile RUN could leave: absolute links to host paths at the stub paths
    await mkdir(join(root, "mnt"));
    await symlink(victim, join(root, "mnt/target"));
    await symlink(join(tmp, "victimdir"), join(root, "other"));
    await removeStubs(root, stubs);
    expect(await readFile(victim, "utf8")).toBe("");
    await expect(readFile(join(tmp, "victimdir"))).rejects.toThrow(/EISDIR/);
    // the links themselves are the RUN's files: they stay, and so does their parent
    expect((await import("node:fs")).lstatSync(join(root, "mnt/target")).isSymbolicLink()).toBe(true);
  });

  it("does not remove an empty file or directory of the image that a link at the stub names", async () => {
    const root = join(tmp, "rootfs3");
    await mkdir(join(root, "etc/empty.d"), { recursive: true });
    await writeFile(join(root, "etc/important"), "");
    const stubs = [...(await missingPaths(root, "/a")), ...(await missingPaths(root, "/b"))];
    await symlink("/etc/important", join(root, "a"));
    await symlink("/etc/empty.d", join(root, "b"));
    await removeStubs(root, stubs);
    const fs = await import("node:fs");
    expect(fs.existsSync(join(root, "etc/important"))).toBe(true);
    expect(fs.existsSync(join(root, "etc/empty.d"))).toBe(true);
  });

  it("does not follow a link in a parent outside the root", async () => {
    const root = join(tmp, "rootfs2");
    const outside = join(tmp, "outside");
    await mkdir(join(outside, "run"), { recursive: true });
    await mkdir(root, { recursive: true });
    await symlink(outside, join(root, "lnk"));
    await removeStubs(root, ["/lnk/run"]);
    // resolved inside the root, /lnk -> <outside> is not <outside> on the host
    expect((await import("node:fs")).existsSync(join(outside, "run"))).toBe(true);
  });
});
