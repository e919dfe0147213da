import { existsSync, readdirSync, readFileSync } from "node:fs";

const O_CLOEXEC = 0o2000000;

/**
 * leakableFds lists this process's open fds at or above `from` that lack
 * O_CLOEXEC (read from `/proc/self/fdinfo`). Node opens its own fds with
 * O_CLOEXEC, so these are fds inherited from whoever started the engine; a
 * child would inherit them again, and through conmon, runc too.
 */
export function leakableFds(from = 3): number[] {
  const out: number[] = [];
  let names: string[];
  try {
    names = readdirSync("/proc/self/fdinfo");
  } catch {
    return out;
  }
  for (const name of names) {
    const fd = Number(name);
    if (!Number.isInteger(fd) || fd < from) continue;
    try {
      const m = /^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"));
      if (m && (Number.parseInt(m[1]!, 8) & O_CLOEXEC) === 0) out.push(fd);
    } catch {
      // closed meanwhile
    }
  }
  return out.sort((a, b) => a - b);
}

/**
 * withClosedFds wraps a command so the child starts with only stdio and the
 * explicitly passed fds (threat row T3, the CVE-2024-21626 class): when the
 * engine holds inherited fds without O_CLOEXEC, the command runs through
 * `bash -c 'exec N>&- ...; exec "$@"'`, which closes them and then execs the
 * real program under the same pid. `keep` is the number of fds the caller
 * maps explicitly (stdio plus extras: 4 for stdin/out/err + sync pipe).
 * Without leakable fds (the normal case for a daemon) the command is
 * returned unchanged. bash is used because dash cannot redirect fds above 9.
 */
export function withClosedFds(
  cmd: string,
  args: readonly string[],
  keep = 3,
): { cmd: string; args: string[] } {
  const fds = leakableFds(keep);
  if (fds.length === 0 || !existsSync("/bin/bash") || !existsSync("/usr/bin/env"))
    return { cmd, args: [...args] };
  const closes = fds.map((fd) => `${fd}>&-`).join(" ");
  // No start-up files: bash reads ~/.bashrc when its stdin is a socket (Node's stdio pipes are
  // socketpairs), and BASH_ENV in the environment; either can add hundreds of ms to every runc call.
  return {
    cmd: "/usr/bin/env",
    args: [
      "-u",
      "BASH_ENV",
      "-u",
      "ENV",
      "/bin/bash",
      "--norc",
      "--noprofile",
      "-c",
      `exec ${closes}; exec "$@"`,
      "berth-closefds",
      cmd,
      ...args,
    ],
  };
}
