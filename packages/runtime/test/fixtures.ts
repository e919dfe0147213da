import { execFileSync } from "node:child_process";
import { copyFile, mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * makeBusyboxRootfs builds a minimal root file system from the host's static
 * /bin/busybox: the binary plus one symlink per applet (`busybox --list`
 * includes `busybox` itself, which must not replace the binary), and small
 * /etc/passwd and /etc/group files.
 */
export async function makeBusyboxRootfs(dir: string): Promise<string> {
  const bin = join(dir, "bin");
  await mkdir(bin, { recursive: true });
  await copyFile("/bin/busybox", join(bin, "busybox"));
  const applets = execFileSync("/bin/busybox", ["--list"], { encoding: "utf8" }).split("\n");
  for (const a of applets) {
    if (a === "" || a === "busybox" || a.includes("/")) continue;
    await symlink("busybox", join(bin, a));
  }
  for (const d of ["etc", "tmp", "proc", "sys", "dev", "root"])
    await mkdir(join(dir, d), { recursive: true });
  await writeFile(
    join(dir, "etc/passwd"),
    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n",
  );
  await writeFile(join(dir, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
  return dir;
}
