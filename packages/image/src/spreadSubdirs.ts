import { execFile } from "node:child_process";

/**
 * spreadSubdirs marks `dir` as the top of directory hierarchies for ext4's Orlov allocator
 * (`chattr +T`): each directory made directly in it (a snapshot, a container's layer, a build
 * context copy) then starts in a block group of its own choosing instead of `dir`'s. Why it
 * matters: on ext4 without a journal (this project's test machines), allocating an inode skips
 * the ones deleted in the last seconds, reading their inode tables to find out; a store that
 * removes a tree and unpacks the next one beside it paid that on every file. Measured here on
 * the 6646-file python root file system, extracted, removed and extracted again three times in
 * one parent: 0.5, 2.1, 3.3 s; under a `+T` parent: 0.31, 0.31, 0.34 s. Best effort and done
 * once per store: on another file system, or without `chattr`, nothing changes.
 */
export function spreadSubdirs(dir: string): Promise<void> {
  return new Promise((resolve) => {
    execFile("chattr", ["+T", dir], () => resolve());
  });
}
