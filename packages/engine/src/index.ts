/**
 * @berth/engine: Berth's service layer. Containers and images with docker's semantics, state on
 * disk, one API for the daemon and for embedded callers.
 *
 * @since 0.1.0
 */
export * from "./AttachSession.ts";
export * from "./archivePaths.ts";
export * from "./Builds.ts";
export type * from "./backends.ts";
export * from "./ContainerMounts.ts";
export * from "./ContainerOps.ts";
export * from "./ContainerStore.ts";
export * from "./Containers.ts";
export * from "./changes.ts";
export * from "./containerChanges.ts";
export * from "./containerTop.ts";
export * from "./containerUpdate.ts";
export * from "./Distribution.ts";
export * from "./Engine.ts";
export * from "./Events.ts";
export * from "./Execs.ts";
export * from "./filters.ts";
export * from "./HealthMonitor.ts";
export * from "./imageArchive.ts";
export * from "./listContainers.ts";
export * from "./merge.ts";
export * from "./mountSpecs.ts";
export * from "./Networks.ts";
export * from "./Prune.ts";
export * from "./RestartManager.ts";
export * from "./Stats.ts";
export * from "./systemDf.ts";
export type * from "./types.ts";
export { ZERO_TIME } from "./types.ts";
export * from "./Volumes.ts";
export * from "./views.ts";
