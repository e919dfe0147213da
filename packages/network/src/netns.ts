import { mkdir, readFile, unlink, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { errnoCode, InvalidArgument } from "@berth/errdefs";
import { failure, run, runOk } from "./run.ts";

/** unescapeMountinfo undoes the octal escapes (\040 for space, ...) of /proc/self/mountinfo fields. */
function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** isNetnsMount tells whether `path` is a mount point of an nsfs (namespace) file in this mount namespace. */
export async function isNetnsMount(path: string): Promise<boolean> {
  const info = await readFile("/proc/self/mountinfo", "utf8");
  for (const line of info.split("\n")) {
    const fields = line.split(" ");
    const sep = fields.indexOf("-");
    if (sep < 0) continue;
    if (unescapeMountinfo(fields[4] ?? "") === path && fields[sep + 1] === "nsfs") return true;
  }
  return false;
}

function absolute(path: string): string {
  if (!isAbsolute(path))
    throw new InvalidArgument(`invalid netns path ${JSON.stringify(path)}: expected an absolute path`);
  return resolve(path);
}

/**
 * createNetns creates a new network namespace with `lo` up and keeps it alive by bind-mounting it on
 * the file `path` (created, with its parent directories, if missing), the way `ip netns add` does
 * under /run/netns but at a path the caller owns. Idempotent: when `path` already holds a
 * namespace, only `lo` is brought up again. Enter it with `nsenter --net=<path>`; iproute2 accepts
 * the path wherever it takes a netns name that contains a '/'.
 */
export async function createNetns(path: string): Promise<void> {
  const p = absolute(path);
  if (!(await isNetnsMount(p))) {
    await mkdir(dirname(p), { recursive: true });
    try {
      await writeFile(p, "", { flag: "wx", mode: 0o444 });
    } catch (err) {
      if (errnoCode(err) !== "EEXIST") throw err;
    }
    // unshare runs `ip` inside the new namespace: one process to create, pin and raise lo.
    await runOk("unshare", [`--net=${p}`, "ip", "link", "set", "dev", "lo", "up"]);
    return;
  }
  await runOk("nsenter", [`--net=${p}`, "ip", "link", "set", "dev", "lo", "up"]);
}

/**
 * removeNetns unmounts the namespace file (lazily when it is busy) and deletes it. The namespace
 * itself goes when its last process exits. Idempotent: a missing or unmounted file is success.
 */
export async function removeNetns(path: string): Promise<void> {
  const p = absolute(path);
  // A path may carry stacked mounts (createNetns raced with itself); take them all off.
  for (let i = 0; i < 8 && (await isNetnsMount(p)); i++) {
    const r = await run("umount", [p]);
    if (r.code !== 0) {
      if (/busy/i.test(r.stderr)) await runOk("umount", ["-l", p]);
      else if (!/not mounted/i.test(r.stderr)) throw failure("umount", [p], r);
    }
  }
  try {
    await unlink(p);
  } catch (err) {
    if (errnoCode(err) !== "ENOENT") throw err;
  }
}
