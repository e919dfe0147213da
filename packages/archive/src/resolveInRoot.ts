import { lstatSync, readlinkSync } from "node:fs";
import { lstat, readlink } from "node:fs/promises";
import { posix, resolve } from "node:path";
import { errnoCode, InvalidArgument } from "@berth/errdefs";

/** MAX_SYMLINKS bounds how many symlinks one resolution may follow (Linux uses 40; containerd 255). */
export const MAX_SYMLINKS = 255;

interface Step {
  readonly kind: "missing" | "symlink" | "other";
  readonly target?: string;
}

/**
 * The shared walk: `step(rel)` reports what `root + rel` is. Keeping the
 * algorithm in one place means the sync and async variants cannot drift.
 *
 * Worked example (root `/r`, `/r/a -> ../../etc`, path `a/passwd`): component
 * `a` is a link, its target is pushed in front of the rest giving
 * `../../etc/passwd`; both `..` are clamped at the root, so the answer is
 * `/r/etc/passwd`, never `/etc/passwd`.
 */
function* walk(root: string, unsafe: string): Generator<string, string, Step> {
  const pending = unsafe.split("/").reverse();
  let current = "";
  let links = 0;
  while (pending.length > 0) {
    const part = pending.pop()!;
    if (part === "" || part === ".") continue;
    if (part === "..") {
      current = current === "" ? "" : posix.dirname(current) === "/" ? "" : posix.dirname(current);
      continue;
    }
    const candidate = `${current}/${part}`;
    const step = yield candidate;
    if (step.kind !== "symlink") {
      current = candidate;
      continue;
    }
    links++;
    if (links > MAX_SYMLINKS) {
      throw new InvalidArgument(`too many levels of symbolic links resolving ${JSON.stringify(unsafe)}`);
    }
    const target = step.target ?? "";
    if (target.startsWith("/")) current = "";
    for (const p of target.split("/").reverse()) pending.push(p);
  }
  if (current === "") return root;
  return root === "/" ? current : root + current;
}

function classify(err: unknown): Step {
  const code = errnoCode(err);
  if (code === "ENOENT" || code === "ENOTDIR") return { kind: "missing" };
  throw err;
}

/**
 * resolveInRoot resolves `path` inside `root` as if `root` were `/`, following
 * symlinks component by component (including the last one) and clamping `..`
 * and absolute link targets at `root`, like containerd's `fs.RootPath` and
 * securejoin. Components that do not exist are joined lexically.
 *
 * The result always starts with `root` (made absolute). It is a snapshot: the
 * caller must not let an untrusted process change the tree between resolving
 * and using the path.
 */
export async function resolveInRoot(root: string, path: string): Promise<string> {
  const absRoot = resolve(root);
  const it = walk(absRoot, path);
  let r = it.next();
  while (!r.done) {
    const full = absRoot === "/" ? r.value : absRoot + r.value;
    let step: Step;
    try {
      const st = await lstat(full);
      step = st.isSymbolicLink() ? { kind: "symlink", target: await readlink(full) } : { kind: "other" };
    } catch (err) {
      step = classify(err);
    }
    r = it.next(step);
  }
  return r.value;
}

/** resolveInRootSync is the synchronous twin of {@link resolveInRoot}, with the same semantics. */
export function resolveInRootSync(root: string, path: string): string {
  const absRoot = resolve(root);
  const it = walk(absRoot, path);
  let r = it.next();
  while (!r.done) {
    const full = absRoot === "/" ? r.value : absRoot + r.value;
    let step: Step;
    try {
      const st = lstatSync(full);
      step = st.isSymbolicLink() ? { kind: "symlink", target: readlinkSync(full) } : { kind: "other" };
    } catch (err) {
      step = classify(err);
    }
    r = it.next(step);
  }
  return r.value;
}
