import { posix } from "node:path";
import { InvalidArgument } from "@berth/errdefs";

/**
 * validateCwd checks a working directory before it reaches runc: it must be
 * absolute, and it must not be under `/proc/self/fd`, `/proc/thread-self/fd`
 * or `/proc/<pid>/fd` -- the CVE-2024-21626 ("Leaky Vessels") path, where a
 * cwd such as `/proc/self/fd/7` resolves to a directory fd runc leaked from
 * the host (threat row T2). Returns the cleaned path.
 */
export function validateCwd(cwd: string): string {
  if (!posix.isAbsolute(cwd)) {
    throw new InvalidArgument(`the working directory '${cwd}' is invalid, it needs to be an absolute path`);
  }
  const clean = posix.normalize(cwd);
  if (/^\/proc\/(self|thread-self|\d+)\/fd(\/|$)/.test(clean)) {
    throw new InvalidArgument(`the working directory '${cwd}' is not allowed: it is under /proc/<pid>/fd`);
  }
  return clean;
}

/**
 * validateMountDestination normalises a container mount destination (threat
 * row T4): it must be absolute and must not contain `..` components. The
 * destination is a container path; it is never resolved on the host here
 * (runc resolves it inside the rootfs).
 */
export function validateMountDestination(dest: string): string {
  if (!posix.isAbsolute(dest)) {
    throw new InvalidArgument(`invalid mount destination ${JSON.stringify(dest)}: expected an absolute path`);
  }
  if (dest.split("/").includes("..")) {
    throw new InvalidArgument(`invalid mount destination ${JSON.stringify(dest)}: '..' is not allowed`);
  }
  return posix.normalize(dest).replace(/(.)\/$/, "$1");
}
