/**
 * storeWorker is the entry of a build store thread (bundled as `build-worker.js` beside berthd,
 * see storeWorkers): for each posted {@link StoreJob} it makes the layer tar of the job's
 * directory, compresses it into the job's ingest file (hashed, fsynced, left for the content
 * store to place) and answers `{ type: "done", result }` or `{ type: "error", error }`. One job
 * at a time; the parent ends the thread when it has been idle a while.
 */
import { parentPort } from "node:worker_threads";
import { BlobWriter, serializeError } from "@berth/image";
import { storeInto } from "./commitLayer.ts";
import { LayerSink } from "./LayerSink.ts";
import type { StoreJob, StoreReply } from "./storeWorkers.ts";

const port = parentPort;
if (port === null) throw new Error("storeWorker must run in a worker thread");

port.on("message", (job: StoreJob) => {
  run(job).then(
    (result) => port.postMessage({ type: "done", result } satisfies StoreReply),
    (err: unknown) => port.postMessage({ type: "error", error: serializeError(err) } satisfies StoreReply),
  );
});

async function run(job: StoreJob) {
  const writer = await BlobWriter.toFile(job.dataPath);
  const sink = await LayerSink.open(
    writer,
    job.compression === undefined ? {} : { compression: job.compression },
  );
  const marked = new Set(job.opaque);
  return (await storeInto(sink, job.upperdir, (rel) => marked.has(rel))).stored;
}
