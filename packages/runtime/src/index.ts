/**
 * @berth/runtime: OCI runtime bundles with Docker's defaults, and runc driven
 * through conmon so containers outlive the engine.
 *
 * @since 0.1.0
 */
import type { RuntimeSpec } from "@berth/oci";

export * from "./attachSocket.ts";
export * from "./buildSpec.ts";
export * from "./capabilities.ts";
export * from "./checkRuncVersion.ts";
export * from "./closeInheritedFds.ts";
export * from "./conmonExec.ts";
export * from "./defaults.ts";
export * from "./execSpec.ts";
export * from "./HostInfo.ts";
export * from "./Runtime.ts";
export * from "./readLogs.ts";
export * from "./resolveUser.ts";
export * from "./runcError.ts";
export * from "./seccomp.ts";
export * from "./validatePaths.ts";

// The runtime-spec type names this package exported before they moved to
// `@berth/oci` (`RuntimeSpec`); kept so existing imports keep compiling.
// New code should import `RuntimeSpec` from `@berth/oci`.
/** Spec: `RuntimeSpec.Spec` from `@berth/oci`. */
export type Spec = RuntimeSpec.Spec;
/** Root: `RuntimeSpec.Root` from `@berth/oci`. */
export type Root = RuntimeSpec.Root;
/** Process: `RuntimeSpec.Process` from `@berth/oci`. */
export type Process = RuntimeSpec.Process;
/** User: `RuntimeSpec.User` from `@berth/oci`. */
export type User = RuntimeSpec.User;
/** LinuxCapabilities: `RuntimeSpec.LinuxCapabilities` from `@berth/oci`. */
export type LinuxCapabilities = RuntimeSpec.LinuxCapabilities;
/** POSIXRlimit: `RuntimeSpec.POSIXRlimit` from `@berth/oci`. */
export type POSIXRlimit = RuntimeSpec.POSIXRlimit;
/** Mount: `RuntimeSpec.Mount` from `@berth/oci`. */
export type Mount = RuntimeSpec.Mount;
/** Linux: `RuntimeSpec.Linux` from `@berth/oci`. */
export type Linux = RuntimeSpec.Linux;
/** LinuxNamespaceType: `RuntimeSpec.LinuxNamespaceType` from `@berth/oci`. */
export type LinuxNamespaceType = RuntimeSpec.LinuxNamespaceType;
/** LinuxNamespace: `RuntimeSpec.LinuxNamespace` from `@berth/oci`. */
export type LinuxNamespace = RuntimeSpec.LinuxNamespace;
/** LinuxDevice: `RuntimeSpec.LinuxDevice` from `@berth/oci`. */
export type LinuxDevice = RuntimeSpec.LinuxDevice;
/** LinuxDeviceCgroup: `RuntimeSpec.LinuxDeviceCgroup` from `@berth/oci`. */
export type LinuxDeviceCgroup = RuntimeSpec.LinuxDeviceCgroup;
/** LinuxResources: `RuntimeSpec.LinuxResources` from `@berth/oci`. */
export type LinuxResources = RuntimeSpec.LinuxResources;
/** LinuxSeccompAction: `RuntimeSpec.LinuxSeccompAction` from `@berth/oci`. */
export type LinuxSeccompAction = RuntimeSpec.LinuxSeccompAction;
/** LinuxSeccomp: `RuntimeSpec.LinuxSeccomp` from `@berth/oci`. */
export type LinuxSeccomp = RuntimeSpec.LinuxSeccomp;
/** LinuxSyscall: `RuntimeSpec.LinuxSyscall` from `@berth/oci`. */
export type LinuxSyscall = RuntimeSpec.LinuxSyscall;
/** LinuxSeccompArg: `RuntimeSpec.LinuxSeccompArg` from `@berth/oci`. */
export type LinuxSeccompArg = RuntimeSpec.LinuxSeccompArg;
/** IDMapping: `RuntimeSpec.LinuxIDMapping` from `@berth/oci`. */
export type IDMapping = RuntimeSpec.LinuxIDMapping;
