export {
  ArchiveDir,
  type ArchiveFile,
  type ExtractLimits,
  MAX_ARCHIVE_ENTRIES,
  MAX_SYMLINK_HOPS,
  memberName,
} from "./ArchiveDir.ts";
export { fsyncDir, writeFileAtomic } from "./atomicWrite.ts";
export { BlobWriter, type BlobWriterTarget } from "./BlobWriter.ts";
export { type BlobInfo, ContentStore, type IngestOptions } from "./ContentStore.ts";
export { chainIds } from "./chainId.ts";
export type { ImageRecord, LayerRecord } from "./ImageRecord.ts";
export {
  type AddImageInput,
  ImageStore,
  type ImageUser,
  type ImportOptions,
  MAX_CONFIG_BYTES,
  MAX_MANIFEST_BYTES,
  type RemoveOptions,
  type RemoveReportItem,
} from "./ImageStore.ts";
export {
  type IngestLayerOptions,
  type IngestLayerReport,
  ingestLayer,
  LAYER_WORKERS,
  layerWorkerUrl,
  warmLayerWorkers,
  workerScriptUrl,
} from "./ingestLayer.ts";
export { type LayerDiffId, layerDiffId } from "./layerDiffId.ts";
export { type LayerJobParams, type LayerJobResult, runLayerJob } from "./layerJob.ts";
export { deserializeError, type SerializedError, serializeError } from "./layerWorkerErrors.ts";
export {
  type LoadedImage,
  type LoadOptions,
  type LoadProgress,
  type LoadReport,
  loadArchive,
} from "./loadArchive.ts";
export { Mutex } from "./Mutex.ts";
export { isMountPoint, mountPoints } from "./mountinfo.ts";
export * as OciLayout from "./ociLayout.ts";
export {
  type ContainerLayer,
  MOUNT_OPTIONS_MAX,
  type SnapshotInfo,
  SnapshotStore,
  type Unpackable,
  type UnpackStreamOptions,
} from "./SnapshotStore.ts";
export {
  buildSaveMetadata,
  planSave,
  type SaveItem,
  type SaveMetadata,
  type SaveOptions,
  saveArchive,
} from "./saveArchive.ts";
export { spreadSubdirs } from "./spreadSubdirs.ts";
