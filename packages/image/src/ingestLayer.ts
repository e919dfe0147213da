import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { Canceled, FailedPrecondition, Internal } from "@berth/errdefs";
import type { Digest } from "@berth/oci";
import type { ContentStore } from "./ContentStore.ts";
import { chunksOf, type LayerJobParams, type LayerJobResult, runLayerJob } from "./layerJob.ts";
import { deserializeError, type SerializedError } from "./layerWorkerErrors.ts";
import { Semaphore } from "./Semaphore.ts";

/** Options for {@link ingestLayer}. */
export interface IngestLayerOptions {
  /** The blob's digest: a mismatch is FailedPrecondition and nothing is stored. */
  readonly expected: Digest;
  /** The blob's size in bytes. */
  readonly size: number;
  /** The diff ID the image config gives this layer: a mismatch is FailedPrecondition, nothing stored. */
  readonly diffId: Digest;
  /** Ingest reference (one writer per ref, as {@link ContentStore.ingest}). */
  readonly ref?: string;
  /** When the blob is already stored: "error" (default, AlreadyExists) or "ok". */
  readonly ifExists?: "error" | "ok";
  /**
   * Extract the layer into `dir` (overlay whiteouts) while it is stored. The caller may use the
   * directory only once the returned promise resolves; on rejection it must discard it.
   * `lowerDirs` (top first) is asked for only at the end, if the layer has opaque directories.
   */
  readonly unpack?: { readonly dir: string; readonly lowerDirs: () => Promise<readonly string[]> };
  /** Uncompressed byte limit; default DEFAULT_MAX_LAYER_BYTES of @berth/archive. */
  readonly maxBytes?: number;
  readonly signal?: AbortSignal;
  /** Called on the calling thread with the bytes read so far, as they are read (progress). */
  readonly onBytes?: (total: number) => void;
}

/** What {@link ingestLayer} stored (all verified). */
export interface IngestLayerReport {
  readonly digest: Digest;
  readonly size: number;
  readonly diffId: Digest;
  /** Sum of regular-file content sizes (docker's layer size). */
  readonly bytes: number;
}

/**
 * LAYER_WORKERS bounds how many layer workers run at once in this process: the CPU count (at
 * least 2). The work is CPU bound; more workers only cost more thread start-ups and memory (about
 * 10 MiB and 50 ms of CPU each). Layers beyond it wait for a slot, their downloads paused.
 */
export const LAYER_WORKERS = Math.max(2, availableParallelism());
const slots = new Semaphore(LAYER_WORKERS);

/** Bytes posted to a worker and not yet taken: the download pauses above HIGH, resumes below LOW. */
const HIGH = 8 * 1024 * 1024;
const LOW = 2 * 1024 * 1024;
/** Chunks are copied into buffers of this size, each handed over (transferred) whole. */
const POST_BATCH = 1024 * 1024;

/**
 * layerWorkerUrl finds the layer worker script: `BERTH_LAYER_WORKER` (a path, or `0` for none),
 * else `layer-worker.js` beside this module (a bundle such as berthd's ships it). Running from
 * sources (tests), there is none unless the environment names one.
 */
export function layerWorkerUrl(): URL | undefined {
  return workerScriptUrl("BERTH_LAYER_WORKER", "layer-worker.js", import.meta.url);
}

/**
 * workerScriptUrl finds a worker thread's script: the path in environment variable `envVar`
 * (`0`: none), else `file` beside the module at `base` (an `import.meta.url`) if it exists.
 */
export function workerScriptUrl(envVar: string, file: string, base: string): URL | undefined {
  const env = process.env[envVar];
  if (env === "0") return undefined;
  if (env !== undefined && env !== "") return new URL(`file://${env}`);
  const url = new URL(`./${file}`, base);
  return url.protocol === "file:" && existsSync(fileURLToPath(url)) ? url : undefined;
}

/**
 * ingestLayer stores a layer blob from `input` and checks its diff ID in one pass, optionally
 * extracting it too (see {@link IngestLayerOptions.unpack}): the work of
 * `ContentStore.ingest` + `layerDiffId` + `applyLayer` on one read of the bytes. With a layer
 * worker script available ({@link layerWorkerUrl}) the hashing, decompression and extraction run
 * in a worker thread (one per layer, at most {@link LAYER_WORKERS} at once), so the calling
 * thread only moves bytes; without one they run on the calling thread. Either way the blob
 * becomes visible only after its size, digest and diff ID matched (in that order of report),
 * and nothing of a mismatching or failed layer is kept.
 */
export async function ingestLayer(
  content: ContentStore,
  input: Readable,
  opts: IngestLayerOptions,
): Promise<IngestLayerReport> {
  input.on("error", () => {});
  let measured: LayerJobResult | undefined;
  const url = layerWorkerUrl();
  const info = await content
    .ingestWith(
      {
        expected: opts.expected,
        size: opts.size,
        ...(opts.ref !== undefined ? { ref: opts.ref } : {}),
        ...(opts.ifExists !== undefined ? { ifExists: opts.ifExists } : {}),
      },
      async (dataPath) => {
        const params: LayerJobParams = {
          dataPath,
          size: opts.size,
          ...(opts.unpack !== undefined ? { unpackDir: opts.unpack.dir } : {}),
          ...(opts.maxBytes !== undefined ? { maxBytes: opts.maxBytes } : {}),
        };
        const lowerDirs = opts.unpack?.lowerDirs ?? (async () => []);
        const r =
          url === undefined
            ? await inThread(counted(input, opts.onBytes), params, lowerDirs, opts.signal, input)
            : await slots.run(() =>
                inWorker(url, counted(input, opts.onBytes), params, lowerDirs, opts.signal, input),
              );
        measured = r;
        // A blob other than the one asked for is reported as that, before anything about its tar.
        if (r.digest === opts.expected && r.size === opts.size) {
          if (r.tarError !== undefined) throw r.tarError;
          if (r.diffId !== opts.diffId) {
            throw new FailedPrecondition(
              `layer diff ID mismatch: uncompressed content hashes to ${r.diffId}, the image config says ${opts.diffId}`,
            );
          }
        }
        return { digest: r.digest, size: r.size };
      },
    )
    .catch((err: unknown) => {
      input.destroy();
      throw err;
    });
  if (measured === undefined) {
    // Already stored (ifExists "ok" with another writer done first): nothing measured here.
    throw new Internal(`layer ${opts.expected}: stored without being measured`);
  }
  return { digest: info.digest, size: info.size, diffId: opts.diffId, bytes: measured.bytes };
}

/** counted iterates `input` chunk by chunk (see `chunksOf`), reporting the running total. */
async function* counted(
  input: Readable,
  onBytes: ((total: number) => void) | undefined,
): AsyncGenerator<Buffer> {
  let total = 0;
  for await (const chunk of chunksOf(input)) {
    total += chunk.length;
    onBytes?.(total);
    yield chunk;
  }
}

async function inThread(
  chunks: AsyncIterable<Buffer>,
  params: LayerJobParams,
  lowerDirs: () => Promise<readonly string[]>,
  signal: AbortSignal | undefined,
  input: Readable,
): Promise<LayerJobResult> {
  const onAbort = () => input.destroy(new Canceled("layer download canceled"));
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    if (signal?.aborted) throw new Canceled("layer download canceled");
    return await runLayerJob(chunks, params, lowerDirs);
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

type Out =
  | { type: "ack"; bytes: number }
  | { type: "lowers" }
  | { type: "done"; result: Omit<LayerJobResult, "tarError"> & { tarError?: SerializedError } }
  | { type: "error"; error: SerializedError };

/**
 * IDLE_MS is how long an idle layer worker is kept for the next layer (or the next pull) before
 * it is ended, giving its memory back (about 10 MiB each). A minute: pulls a few seconds apart
 * (a push, a run, another tool's pull in between) find their workers warm, with their JIT
 * done; a new worker costs 0.1-0.3 s of CPU in the first layers it handles.
 */
const IDLE_MS = 60_000;
const idle: Array<{ worker: Worker; href: string; since: number }> = [];
let reaper: NodeJS.Timeout | undefined;

/** acquireWorker takes an idle worker started from `url`, or starts one. */
function acquireWorker(url: URL, fresh = false): Worker {
  const i = fresh ? -1 : idle.findIndex((e) => e.href === url.href);
  if (i >= 0) {
    const [e] = idle.splice(i, 1);
    e!.worker.ref();
    return e!.worker;
  }
  const worker = new Worker(url);
  // A worker that dies while idle leaves the pool.
  worker.on("exit", () => {
    const k = idle.findIndex((e) => e.worker === worker);
    if (k >= 0) idle.splice(k, 1);
  });
  worker.on("error", () => {});
  return worker;
}

/** releaseWorker keeps a worker whose job ended cleanly for the next layer, ending it once idle for IDLE_MS. */
function releaseWorker(url: URL, worker: Worker): void {
  worker.unref();
  idle.push({ worker, href: url.href, since: Date.now() });
  if (reaper !== undefined) return;
  reaper = setInterval(() => {
    const now = Date.now();
    for (const e of idle.filter((e) => now - e.since >= IDLE_MS)) {
      idle.splice(idle.indexOf(e), 1);
      void e.worker.terminate();
    }
    if (idle.length === 0) {
      clearInterval(reaper);
      reaper = undefined;
    }
  }, IDLE_MS / 2);
  reaper.unref();
}

/**
 * warmLayerWorkers starts layer workers ahead of `count` layers about to be ingested (at most
 * {@link LAYER_WORKERS}, counting idle ones), so that a thread's start-up overlaps the requests
 * that precede the bytes. Unused ones end after the usual idle time. Without a layer worker
 * script it does nothing.
 */
export function warmLayerWorkers(count: number): void {
  const url = layerWorkerUrl();
  if (url === undefined) return;
  const have = idle.filter((e) => e.href === url.href).length;
  for (let i = have; i < Math.min(count, LAYER_WORKERS); i++) releaseWorker(url, acquireWorker(url, true));
}

/**
 * inWorker runs the job in a layer worker (an idle one, or a new one): this thread copies the
 * input into 1 MiB buffers and transfers them (no copy on the other side), pausing the input
 * while more than HIGH bytes wait.
 */
function inWorker(
  url: URL,
  chunks: AsyncIterable<Buffer>,
  params: LayerJobParams,
  lowerDirs: () => Promise<readonly string[]>,
  signal: AbortSignal | undefined,
  input: Readable,
): Promise<LayerJobResult> {
  return new Promise<LayerJobResult>((resolve, reject) => {
    const worker = acquireWorker(url);
    let settled = false;
    let outstanding = 0;
    let resume: (() => void) | undefined;
    const finish = (err: unknown, result?: LayerJobResult) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      worker.off("message", onMessage);
      worker.off("error", onError);
      worker.off("exit", onExit);
      resume?.();
      if (err !== undefined) {
        // Nothing may write into the ingest or unpack dirs once the caller cleans them up.
        worker.terminate().then(
          () => reject(err),
          () => reject(err),
        );
      } else {
        releaseWorker(url, worker);
        resolve(result!);
      }
    };
    const onAbort = () => {
      input.destroy();
      finish(new Canceled("layer download canceled"));
    };
    const onMessage = (m: Out) => {
      switch (m.type) {
        case "ack":
          outstanding -= m.bytes;
          if (outstanding <= LOW && resume !== undefined) {
            const r = resume;
            resume = undefined;
            r();
          }
          return;
        case "lowers":
          lowerDirs().then(
            (dirs) => worker.postMessage({ type: "lowers", dirs: [...dirs] }),
            (err: unknown) =>
              worker.postMessage({
                type: "lowersError",
                error: {
                  message: (err as Error)?.message ?? String(err),
                  tag: (err as { _tag?: string })._tag,
                },
              }),
          );
          return;
        case "done": {
          const { tarError, ...rest } = m.result;
          finish(undefined, {
            ...rest,
            ...(tarError !== undefined ? { tarError: deserializeError(tarError) } : {}),
          });
          return;
        }
        case "error":
          finish(deserializeError(m.error));
          return;
      }
    };
    const onError = (err: Error) =>
      finish(new Internal(`layer worker failed: ${err.message}`, { cause: err }));
    const onExit = (code: number) =>
      finish(new Internal(`layer worker exited with code ${code} before reporting`));
    worker.on("message", onMessage);
    worker.on("error", onError);
    worker.on("exit", onExit);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    worker.postMessage({ type: "job", params });

    const pump = async () => {
      let buf: Buffer | undefined;
      let used = 0;
      const post = () => {
        if (buf === undefined || used === 0) return;
        worker.postMessage({ type: "chunk", buf: buf.buffer, len: used }, [buf.buffer as ArrayBuffer]);
        outstanding += used;
        buf = undefined;
        used = 0;
      };
      for await (const chunk of chunks) {
        if (settled) return;
        // Copied, not transferred: the socket's chunks are 64 KiB, and a message per chunk (and a
        // gunzip call per chunk in the worker) costs more than one copy into 1 MiB buffers.
        let off = 0;
        while (off < chunk.length) {
          buf ??= Buffer.allocUnsafeSlow(POST_BATCH);
          const n = chunk.copy(buf, used, off);
          used += n;
          off += n;
          if (used === POST_BATCH) post();
        }
        if (outstanding > HIGH) {
          await new Promise<void>((res) => {
            resume = res;
          });
        }
      }
      if (settled) return;
      post();
      worker.postMessage({ type: "end" });
    };
    pump().catch((err: unknown) => finish(err));
  });
}
