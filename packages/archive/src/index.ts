export {
  type ApplyEntriesOptions,
  type ApplyEntry,
  type ApplyLayerOptions,
  type ApplyLayerReport,
  applyEntries,
  applyLayer,
  DEFAULT_MAX_LAYER_BYTES,
} from "./applyLayer.ts";
export { cleanName } from "./cleanName.ts";
export { type CreateTarOptions, createTar } from "./createTar.ts";
export { type Compression, type Decompressed, decompress, detectCompression } from "./decompress.ts";
export { drainOrClose, onDrainOrClose } from "./drainOrClose.ts";
export { dropWritten } from "./dropWritten.ts";
export { measureTar, type TarMeasure } from "./measureTar.ts";
export { type PackHeader, packEntry, packFile } from "./packEntry.ts";
export { MAX_SYMLINKS, resolveInRoot, resolveInRootSync } from "./resolveInRoot.ts";
export { encodeTarHeader, TAR_BLOCK, TAR_END, tarPadding } from "./tarHeader.ts";
export { WHITEOUT_META_PREFIX, WHITEOUT_OPAQUE_DIR, WHITEOUT_PREFIX } from "./whiteout.ts";
