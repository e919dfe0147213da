/**
 * @berth/builder: executes Dockerfiles (parsed by @berth/dockerfile) against @berth/image's
 * stores and @berth/runtime: stages, build args, cached steps, RUN in runc, COPY/ADD from a
 * root-confined context, layer commit and image config/history.
 *
 * @since 0.1.0
 */
export {
  BuildCache,
  type CacheKeyInput,
  type CacheRecord,
  cacheKey,
  type PruneCacheOptions,
  type PruneCacheReport,
  stateId,
} from "./BuildCache.ts";
export { build, MAX_DOCKERFILE_BYTES } from "./build.ts";
export { type CacheMountLease, type CacheMountRequest, CacheMounts } from "./CacheMounts.ts";
export { type CommitLayerOptions, commitLayer, type LayerDiff, type OverlayDirs } from "./commitLayer.ts";
export { compressLayer, type LayerCompressor } from "./compressLayer.ts";
export { FileDigests, statKey } from "./FileDigests.ts";
export { OrderedProgress } from "./OrderedProgress.ts";
export {
  createParallelGzip,
  GZIP_BLOCK_BYTES,
  type ParallelGzipOptions,
  sampleEntropy,
} from "./parallelGzip.ts";
export { RunFailedError } from "./StageBuilder.ts";
export {
  type ContextEntry,
  checkEntries,
  SyncedContexts,
  type SyncedContextsOptions,
  type SyncedContextUsage,
} from "./SyncedContexts.ts";
export { planStages, type StagePlan, stageRefs } from "./stageGraph.ts";
export type {
  BuildDeps,
  BuildOptions,
  BuildProgress,
  BuildResult,
  ImageState,
  LayerCompression,
  LayerState,
  RunSandbox,
} from "./types.ts";
