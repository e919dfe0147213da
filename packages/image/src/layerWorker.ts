/**
 * layerWorker is the entry of a layer worker thread (bundled as `layer-worker.js` next to the
 * code that starts it, see `ingestLayer`): it runs one {@link runLayerJob} on the bytes its parent
 * posts, so that hashing, decompressing, extracting and the garbage they make stay off the
 * daemon's main thread.
 *
 * Messages in: `{ type: "chunk", buf: ArrayBuffer, len }` (transferred), `{ type: "end" }`,
 * `{ type: "lowers", dirs }` / `{ type: "lowersError", error }` (answers to a lowers request).
 * Messages out: `{ type: "ack", bytes }` as chunks are taken (the parent's flow control),
 * `{ type: "lowers" }` (a request), `{ type: "done", result }` or `{ type: "error", error }`.
 */
import { parentPort, workerData } from "node:worker_threads";
import { type LayerJobParams, runLayerJob } from "./layerJob.ts";
import { deserializeError, type SerializedError, serializeError } from "./layerWorkerErrors.ts";

type In =
  | { type: "chunk"; buf: ArrayBuffer; len: number }
  | { type: "end" }
  | { type: "lowers"; dirs: string[] }
  | { type: "lowersError"; error: SerializedError };

const port = parentPort;
if (port === null) throw new Error("layerWorker must run in a worker thread");

const queue: Buffer[] = [];
let ended = false;
let waiting: (() => void) | undefined;
let lowersAnswer: { resolve: (dirs: string[]) => void; reject: (err: unknown) => void } | undefined;

port.on("message", (m: In) => {
  switch (m.type) {
    case "chunk":
      queue.push(Buffer.from(m.buf, 0, m.len));
      break;
    case "end":
      ended = true;
      break;
    case "lowers":
      lowersAnswer?.resolve(m.dirs);
      lowersAnswer = undefined;
      return;
    case "lowersError":
      lowersAnswer?.reject(deserializeError(m.error));
      lowersAnswer = undefined;
      return;
  }
  const w = waiting;
  waiting = undefined;
  w?.();
});

async function* chunks(): AsyncGenerator<Buffer> {
  for (;;) {
    const c = queue.shift();
    if (c !== undefined) {
      port!.postMessage({ type: "ack", bytes: c.length });
      yield c;
      continue;
    }
    if (ended) return;
    await new Promise<void>((res) => {
      waiting = res;
    });
  }
}

const lowerDirs = () =>
  new Promise<string[]>((resolve, reject) => {
    lowersAnswer = { resolve, reject };
    port.postMessage({ type: "lowers" });
  });

runLayerJob(chunks(), workerData as LayerJobParams, lowerDirs).then(
  (result) => {
    const { tarError, ...rest } = result;
    port.postMessage({
      type: "done",
      result: { ...rest, ...(tarError !== undefined ? { tarError: serializeError(tarError) } : {}) },
    });
    port.close();
  },
  (err: unknown) => {
    port.postMessage({ type: "error", error: serializeError(err) });
    port.close();
  },
);
