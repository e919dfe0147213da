import { closeSync, readdirSync, readFileSync } from "node:fs";

const O_CLOEXEC = 0o2000000;

/**
 * closeInheritedFds closes, once at berthd's start, every fd at or above 3 that lacks O_CLOEXEC:
 * Node opens all of its own fds with O_CLOEXEC, so these came from whoever started the daemon
 * (a shell's or a job runner's pipes) and would leak into conmon, runc and the containers (threat
 * row T3). With none left, the runtime spawns conmon and runc directly instead of through its
 * fd-closing `bash -c` wrapper, two processes fewer per container start. Node's IPC channel
 * (`NODE_CHANNEL_FD`, set when forked) is kept. Returns the fds it closed.
 */
export function closeInheritedFds(): number[] {
  const keep = Number(process.env.NODE_CHANNEL_FD ?? -1);
  const closed: number[] = [];
  let names: string[];
  try {
    names = readdirSync("/proc/self/fdinfo");
  } catch {
    return closed;
  }
  for (const name of names) {
    const fd = Number(name);
    if (!Number.isInteger(fd) || fd < 3 || fd === keep) continue;
    try {
      const m = /^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"));
      if (m && (Number.parseInt(m[1]!, 8) & O_CLOEXEC) === 0) {
        closeSync(fd);
        closed.push(fd);
      }
    } catch {
      // closed meanwhile (the fd of the readdir itself)
    }
  }
  return closed;
}
