import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveUser } from "../src/index.ts";

const dir = await mkdtemp(join(tmpdir(), "berth-user-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

const root = join(dir, "rootfs");
await mkdir(join(root, "etc"), { recursive: true });
await writeFile(
  join(root, "etc/passwd"),
  "root:x:0:0:root:/root:/bin/sh\n# comment\nwww:x:33:33::/var/www:/bin/false\nbob:x:1000:1001::/home/bob:/bin/sh\n",
);
await writeFile(
  join(root, "etc/group"),
  "root:x:0:\nwww:x:33:\nstaff:x:50:bob,alice\nbob:x:1001:\nwheel:x:10:root\n",
);

describe("resolveUser", () => {
  it("follows docker's rules", async () => {
    expect(await resolveUser(root, "")).toEqual({ uid: 0, gid: 0, additionalGids: [10] });
    expect(await resolveUser(root, "bob")).toEqual({ uid: 1000, gid: 1001, additionalGids: [50] });
    expect(await resolveUser(root, "1000")).toEqual({ uid: 1000, gid: 1001, additionalGids: [50] });
    expect(await resolveUser(root, "bob:www")).toEqual({ uid: 1000, gid: 33, additionalGids: [] });
    expect(await resolveUser(root, "4242")).toEqual({ uid: 4242, gid: 0, additionalGids: [] });
    expect(await resolveUser(root, "4242:4343")).toEqual({ uid: 4242, gid: 4343, additionalGids: [] });
    expect(await resolveUser(root, "www:50")).toEqual({ uid: 33, gid: 50, additionalGids: [] });
  });
  it("uses docker's messages for unknown names", async () => {
    await expect(resolveUser(root, "xyz")).rejects.toThrow(
      "unable to find user xyz: no matching entries in passwd file",
    );
    await expect(resolveUser(root, "bob:nogroup")).rejects.toThrow(
      "unable to find group nogroup: no matching entries in group file",
    );
    await expect(resolveUser(root, "99999999999")).rejects.toThrow(/must be in range/);
  });
  it("never reads host files through symlinks out of the rootfs", async () => {
    const evil = join(dir, "evil");
    await mkdir(evil, { recursive: true });
    await mkdir(join(dir, "hostetc"));
    await writeFile(join(dir, "hostetc/passwd"), "eve:x:0:0::/:/bin/sh\n");
    await symlink("../hostetc", join(evil, "etc"));
    // on the host evil/etc leads to hostetc/passwd; inside the root it is <evil>/hostetc (missing)
    await expect(resolveUser(evil, "eve")).rejects.toThrow(/unable to find user eve/);
    await expect(resolveUser(evil, "root")).rejects.toThrow(/unable to find user root/);
    const evil2 = join(dir, "evil2");
    await mkdir(join(evil2, "etc"), { recursive: true });
    await symlink("/etc/passwd", join(evil2, "etc/passwd"));
    // /etc/passwd -> /etc/passwd resolves to itself inside the root: a loop, never the host file
    await expect(resolveUser(evil2, "root")).rejects.toThrow(/too many levels of symbolic links/);
  });
});
