import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";

const run = promisify(execFile);

let privileged: boolean | undefined;

/**
 * canMknod tells whether this process may create device nodes: it must be
 * uid 0 in the initial user namespace (a full identity uid_map). In a user
 * namespace or rootless, device entries are skipped (threat row A19).
 */
export function canMknod(): boolean {
  if (privileged !== undefined) return privileged;
  privileged = false;
  if (process.getuid?.() !== 0) return privileged;
  try {
    const map = readFileSync("/proc/self/uid_map", "utf8").trim().split(/\s+/);
    privileged = map[0] === "0" && map[1] === "0" && map[2] === "4294967295";
  } catch {
    privileged = false;
  }
  return privileged;
}

/** Kind of special file {@link mknod} creates. */
export type NodeKind = "character-device" | "block-device" | "fifo";

/**
 * mknod creates a device node or FIFO at `path` with the `mknod` binary (Node
 * has no mknod). `path`'s parent must already be resolved inside the root.
 */
export async function mknod(path: string, kind: NodeKind, mode: number, major: number, minor: number) {
  const m = (mode & 0o7777).toString(8);
  const args =
    kind === "fifo"
      ? ["-m", m, "--", path, "p"]
      : ["-m", m, "--", path, kind === "character-device" ? "c" : "b", String(major), String(minor)];
  await run("mknod", args);
}
