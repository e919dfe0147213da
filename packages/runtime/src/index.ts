/**
 * @berth/runtime: OCI runtime bundles with Docker's defaults, and runc driven
 * through conmon so containers outlive the engine.
 *
 * @since 0.1.0
 */
export * from "./attachSocket.ts";
export * from "./buildSpec.ts";
export * from "./capabilities.ts";
export * from "./checkRuncVersion.ts";
export * from "./closeInheritedFds.ts";
export * from "./defaults.ts";
export * from "./HostInfo.ts";
export * from "./Runtime.ts";
export * from "./readLogs.ts";
export * from "./resolveUser.ts";
export * from "./runcError.ts";
export * from "./seccomp.ts";
export type * from "./spec-types.ts";
export * from "./validatePaths.ts";
