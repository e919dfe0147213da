import type { FileHandle } from "node:fs/promises";
import { dropWritten } from "@berth/archive";

/** WRITE_BATCH is how many bytes streamed writers gather before one writev (1 MiB). */
export const WRITE_BATCH = 1024 * 1024;

/**
 * writevAll writes every byte of `bufs` at the handle's current position with writev,
 * continuing after short writes. Callers keep at most one in flight per handle.
 */
export async function writevAll(fh: FileHandle, bufs: readonly Buffer[]): Promise<void> {
  let rest = bufs.filter((b) => b.length > 0);
  while (rest.length > 0) {
    const { bytesWritten } = await fh.writev(rest);
    if (bytesWritten === 0) throw new Error("short write: no bytes written");
    rest = dropWritten(rest, bytesWritten);
  }
}
