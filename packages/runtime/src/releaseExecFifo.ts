import { readFileSync } from "node:fs";
import { constants, open, unlink } from "node:fs/promises";
import { errnoCode } from "@berth/errdefs";

/** Options of {@link releaseExecFifo}. */
export interface ReleaseExecFifoOptions {
  /** The container's init pid: while it is alive the byte is awaited, once it is gone or a zombie the call gives up. */
  pid?: number;
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
}

/**
 * releaseExecFifo does what `runc start` does to a created container, without starting a process:
 * runc's init waits, after all of its setup, to open `<runc root>/<id>/exec.fifo` for writing;
 * reading the byte it writes lets it exec the entrypoint, and removing the fifo is what makes runc
 * report the container as running (runc's `linuxContainer.exec` and `handleFifoResult`). The fifo
 * is opened non-blocking, so a dead init can never hang the caller.
 *
 * Returns true when the container was released. Returns false, having changed nothing, when there
 * is no fifo (not created, already started, another runc layout), it is not a fifo, or the init
 * died or did not show up in time: the caller then runs `runc start`, which reports the reason.
 */
export async function releaseExecFifo(fifo: string, opts: ReleaseExecFifoOptions = {}): Promise<boolean> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(fifo, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (err) {
    const code = errnoCode(err);
    if (code === "ENOENT" || code === "ELOOP") return false;
    throw err;
  }
  try {
    if (!(await fh.stat()).isFIFO()) return false;
    const buf = Buffer.alloc(16);
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
    for (let i = 0; ; i++) {
      let n = 0;
      try {
        n = (await fh.read(buf, 0, buf.length, null)).bytesRead;
      } catch (err) {
        // EAGAIN: the writer is there but has not written yet.
        if (errnoCode(err) !== "EAGAIN") throw err;
      }
      if (n > 0) break;
      // EOF: no writer yet (init still setting up) or none any more.
      if (Date.now() > deadline || (i % 20 === 19 && !alive(opts.pid))) return false;
      await new Promise((r) => setTimeout(r, i < 10 ? 1 : 5));
    }
  } finally {
    await fh.close();
  }
  try {
    await unlink(fifo);
  } catch (err) {
    if (errnoCode(err) !== "ENOENT") throw err;
  }
  return true;
}

/** alive tells whether a process exists and is not a zombie; an unknown pid counts as alive. */
function alive(pid: number | undefined): boolean {
  if (pid === undefined || pid <= 0) return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}
