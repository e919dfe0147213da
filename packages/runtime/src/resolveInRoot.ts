import { lstat, readlink } from "node:fs/promises";
import { resolve } from "node:path";
import { errnoCode, InvalidArgument } from "@berth/errdefs";

const MAX_SYMLINKS = 255;

/**
 * resolveInRoot resolves `path` inside `root` as if `root` were `/`:
 * symlinks are followed component by component, and `..` and absolute link
 * targets are clamped at `root`, so `etc -> /../../etc` in an image means
 * `<root>/etc`, never the host's. Missing components are joined lexically.
 *
 * Local copy because `@berth/archive` (which owns this idea) is not a
 * dependency of runtime; same semantics as containerd's `fs.RootPath`.
 */
export async function resolveInRoot(root: string, path: string): Promise<string> {
  const absRoot = resolve(root);
  const pending = path.split("/").reverse();
  let current = "";
  let links = 0;
  while (pending.length > 0) {
    const part = pending.pop()!;
    if (part === "" || part === ".") continue;
    if (part === "..") {
      current = current.slice(0, Math.max(0, current.lastIndexOf("/")));
      continue;
    }
    const candidate = `${current}/${part}`;
    let target: string | undefined;
    try {
      const st = await lstat(absRoot + candidate);
      if (st.isSymbolicLink()) target = await readlink(absRoot + candidate);
    } catch (err) {
      const code = errnoCode(err);
      if (code !== "ENOENT" && code !== "ENOTDIR") throw err;
    }
    if (target === undefined) {
      current = candidate;
      continue;
    }
    if (++links > MAX_SYMLINKS) {
      throw new InvalidArgument(`too many levels of symbolic links resolving ${JSON.stringify(path)}`);
    }
    if (target.startsWith("/")) current = "";
    for (const p of target.split("/").reverse()) pending.push(p);
  }
  return absRoot + current;
}
