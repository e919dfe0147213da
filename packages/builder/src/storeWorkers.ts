import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { Internal } from "@berth/errdefs";
import { deserializeError, type SerializedError, workerScriptUrl } from "@berth/image";
import type { LayerSinkResult } from "./LayerSink.ts";
import { Semaphore } from "./Semaphore.ts";
import type { LayerCompression } from "./types.ts";

/** One background layer store, as it crosses to a worker thread (plain data). */
export interface StoreJob {
  /** The directory to tar (an adopted snapshot: it does not change). */
  readonly upperdir: string;
  /** Its opaque directories, relative (see diffLayer). */
  readonly opaque: readonly string[];
  /** The ingest file to create and fill with the compressed blob (see BlobWriter.toFile). */
  readonly dataPath: string;
  readonly compression?: LayerCompression;
}

/** What a store worker answers. */
export type StoreReply =
  | { readonly type: "done"; readonly result: LayerSinkResult }
  | { readonly type: "error"; readonly error: SerializedError };

/**
 * storeWorkerUrl finds the store worker script: `BERTH_BUILD_WORKER` (a path, or `0` for none),
 * else `build-worker.js` beside this module (berthd's bundle ships it). Running from sources
 * (tests) there is none unless the environment names one, and stores run on the calling thread.
 */
export function storeWorkerUrl(): URL | undefined {
  return workerScriptUrl("BERTH_BUILD_WORKER", "build-worker.js", import.meta.url);
}

/** IDLE_MS: an idle store worker is kept this long for the next layer, then ended. */
const IDLE_MS = 10_000;
const idle: Array<{ worker: Worker; timer: NodeJS.Timeout }> = [];
const slots = new Semaphore(availableParallelism());

/**
 * storeInWorker runs `job` on a store worker thread (an idle one or a new one; at most one per
 * CPU at once) and returns what it stored. The worker writes and fsyncs `job.dataPath`; the
 * caller places it.
 */
export function storeInWorker(url: URL, job: StoreJob): Promise<LayerSinkResult> {
  return slots.run(async () => {
    const kept = idle.pop();
    if (kept !== undefined) clearTimeout(kept.timer);
    const worker = kept?.worker ?? new Worker(url);
    worker.ref();
    let clean = false;
    try {
      const reply = await new Promise<StoreReply>((resolve, reject) => {
        const onExit = (code: number) => reject(new Internal(`build worker exited with code ${code}`));
        worker.once("error", reject);
        worker.once("exit", onExit);
        worker.once("message", (m: StoreReply) => {
          worker.off("error", reject);
          worker.off("exit", onExit);
          resolve(m);
        });
        worker.postMessage(job);
      });
      clean = true;
      if (reply.type === "error") throw deserializeError(reply.error);
      return reply.result;
    } finally {
      if (clean) keepIdle(worker);
      else void worker.terminate();
    }
  });
}

/** keepIdle parks a worker for the next store, ending it once idle for IDLE_MS. */
function keepIdle(worker: Worker): void {
  worker.unref();
  const timer = setTimeout(() => {
    const i = idle.findIndex((e) => e.worker === worker);
    if (i >= 0) idle.splice(i, 1);
    void worker.terminate();
  }, IDLE_MS);
  timer.unref();
  idle.push({ worker, timer });
}

/**
 * warmStoreWorker starts a store worker ahead of the first background store of a build, so the
 * thread's start-up overlaps the first steps. Without a worker script it does nothing.
 */
export function warmStoreWorker(): void {
  const url = storeWorkerUrl();
  if (url === undefined || idle.length > 0) return;
  const worker = new Worker(url);
  worker.on("error", () => {});
  keepIdle(worker);
}
