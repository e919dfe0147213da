/**
 * layerWorker is the entry of a layer worker thread (bundled as `layer-worker.js` next to the
 * code that starts it, see `ingestLayer`): it runs {@link runLayerJob}s, one at a time, on the
 * bytes its parent posts, so that hashing, decompressing, extracting and the garbage they make
 * stay off the daemon's main thread. A worker takes one job after another (starting a thread
 * costs more than a small layer); its parent ends it when idle.
 *
 * Messages in: `{ type: "job", params }`, then `{ type: "chunk", buf: ArrayBuffer, len }`
 * (transferred) and `{ type: "end" }`; `{ type: "lowers", dirs }` / `{ type: "lowersError", error }`
 * answer a lowers request. Messages out: `{ type: "ack", bytes }` as chunks are taken (the
 * parent's flow control), `{ type: "lowers" }` (a request), `{ type: "done", result }` or
 * `{ type: "error", error }`, after which the next job may come.
 */
import { parentPort } from "node:worker_threads";
import { type LayerJobParams, runLayerJob } from "./layerJob.ts";
import { deserializeError, type SerializedError, serializeError } from "./layerWorkerErrors.ts";

type In =
  | { type: "job"; params: LayerJobParams }
  | { type: "chunk"; buf: ArrayBuffer; len: number }
  | { type: "end" }
  | { type: "lowers"; dirs: string[] }
  | { type: "lowersError"; error: SerializedError };

const port = parentPort;
if (port === null) throw new Error("layerWorker must run in a worker thread");

/** The job being run: its queue of chunks and its pending lowers request. */
let job:
  | {
      queue: Buffer[];
      ended: boolean;
      waiting: (() => void) | undefined;
      lowers: { resolve: (dirs: string[]) => void; reject: (err: unknown) => void } | undefined;
    }
  | undefined;

port.on("message", (m: In) => {
  if (m.type === "job") {
    startJob(m.params);
    return;
  }
  const j = job;
  if (j === undefined) return;
  switch (m.type) {
    case "chunk":
      j.queue.push(Buffer.from(m.buf, 0, m.len));
      break;
    case "end":
      j.ended = true;
      break;
    case "lowers":
      j.lowers?.resolve(m.dirs);
      j.lowers = undefined;
      return;
    case "lowersError":
      j.lowers?.reject(deserializeError(m.error));
      j.lowers = undefined;
      return;
  }
  const w = j.waiting;
  j.waiting = undefined;
  w?.();
});

function startJob(params: LayerJobParams): void {
  const j: NonNullable<typeof job> = { queue: [], ended: false, waiting: undefined, lowers: undefined };
  job = j;
  async function* chunks(): AsyncGenerator<Buffer> {
    for (;;) {
      const c = j.queue.shift();
      if (c !== undefined) {
        port!.postMessage({ type: "ack", bytes: c.length });
        yield c;
        continue;
      }
      if (j.ended) return;
      await new Promise<void>((res) => {
        j.waiting = res;
      });
    }
  }
  const lowerDirs = () =>
    new Promise<string[]>((resolve, reject) => {
      j.lowers = { resolve, reject };
      port!.postMessage({ type: "lowers" });
    });
  runLayerJob(chunks(), params, lowerDirs).then(
    (result) => {
      job = undefined;
      const { tarError, ...rest } = result;
      port!.postMessage({
        type: "done",
        result: { ...rest, ...(tarError !== undefined ? { tarError: serializeError(tarError) } : {}) },
      });
    },
    (err: unknown) => {
      job = undefined;
      port!.postMessage({ type: "error", error: serializeError(err) });
    },
  );
}
