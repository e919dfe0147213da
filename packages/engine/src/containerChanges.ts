import type { Stats } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { errnoCode } from "@berth/errdefs";

/** Docker's change kinds, as `GET /containers/{id}/changes` numbers them. */
export const ChangeKind = { Modify: 0, Add: 1, Delete: 2 } as const;

/** One entry of `GET /containers/{id}/changes`. */
export interface ContainerChange {
  Path: string;
  Kind: 0 | 1 | 2;
}

/**
 * INIT_PATHS are the paths the runtime creates as mount points in a container's root file system
 * (docker keeps them in a separate "init" layer, so they never show in `diff` or `commit`). For
 * `/dev`, `/proc` and `/sys` everything below is left out as well.
 */
export const INIT_PATHS: readonly string[] = [
  "/dev",
  "/proc",
  "/sys",
  "/etc/hosts",
  "/etc/hostname",
  "/etc/resolv.conf",
  "/etc/mtab",
  "/.dockerenv",
];

/** isInitPath tells whether a container path (`/etc/hostname`) belongs to the init layer. */
export function isInitPath(path: string): boolean {
  for (const p of INIT_PATHS) {
    if (path === p) return true;
    if ((p === "/dev" || p === "/proc" || p === "/sys") && path.startsWith(`${p}/`)) return true;
  }
  return false;
}

const isWhiteout = (st: Stats) => st.isCharacterDevice() && st.rdev === 0;

/**
 * containerChanges lists what a container changed in its root file system, as docker's overlay
 * driver reports it: walking the upper dir in lexical order, an overlay whiteout (a 0/0 character
 * device) is a deletion, an entry absent from every lower layer an addition, anything else a
 * modification, except a directory whose mode, size and mtime equal the lower one's (only its
 * children changed). Init-layer paths ({@link INIT_PATHS}) are left out, and so is a directory
 * that overlay copied up only to hold them (e.g. `/etc` for the `/etc/hostname` mount point).
 */
export async function containerChanges(
  upperdir: string,
  lowerdirs: readonly string[],
): Promise<ContainerChange[]> {
  const walk = async (rel: string): Promise<{ changes: ContainerChange[]; excluded: boolean }> => {
    const out: ContainerChange[] = [];
    let excluded = false;
    let names: string[];
    try {
      names = (await readdir(`${upperdir}${rel}`)).sort();
    } catch (err) {
      if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ENOTDIR") return { changes: out, excluded };
      throw err;
    }
    for (const name of names) {
      const path = `${rel}/${name}`;
      if (isInitPath(path)) {
        excluded = true;
        continue;
      }
      const st = await lstat(`${upperdir}${path}`);
      if (isWhiteout(st)) {
        out.push({ Path: path, Kind: ChangeKind.Delete });
        continue;
      }
      const lower = await lowerStat(lowerdirs, path);
      let own: ContainerChange | undefined;
      let onlyTime = false;
      if (lower === undefined) own = { Path: path, Kind: ChangeKind.Add };
      else if (st.isDirectory() && lower.isDirectory()) {
        const sameMeta = st.mode === lower.mode && st.uid === lower.uid && st.gid === lower.gid;
        const sameTime = Math.floor(st.mtimeMs / 1000) === Math.floor(lower.mtimeMs / 1000);
        if (!(sameMeta && sameTime)) {
          own = { Path: path, Kind: ChangeKind.Modify };
          onlyTime = sameMeta;
        }
      } else own = { Path: path, Kind: ChangeKind.Modify };
      if (st.isDirectory()) {
        const sub = await walk(path);
        // A directory copied up only because the runtime made a mount point in it is no change.
        if (own && !(onlyTime && sub.excluded && sub.changes.length === 0)) out.push(own);
        out.push(...sub.changes);
      } else if (own) {
        out.push(own);
      }
    }
    return { changes: out, excluded };
  };
  return (await walk("")).changes;
}

/** lowerStat finds `path` in the topmost lower layer that has it (a whiteout there hides it). */
async function lowerStat(lowerdirs: readonly string[], path: string): Promise<Stats | undefined> {
  for (const dir of lowerdirs) {
    try {
      const st = await lstat(`${dir}${path}`);
      return isWhiteout(st) ? undefined : st;
    } catch (err) {
      if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ENOTDIR") continue;
      throw err;
    }
  }
  return undefined;
}
