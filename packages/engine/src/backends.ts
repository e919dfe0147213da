import type { Readable, Writable } from "node:stream";

/**
 * Role interfaces the engine needs from the image store and the OCI runtime. The engine is written
 * against these, so it can be exercised with the real `@berth/image` and `@berth/runtime` (see
 * `Engine.open`) or with other implementations.
 */

/** The image fields the engine needs to create a container. */
export interface ImageRef {
  id: string;
  config: {
    config?: {
      User?: string;
      Env?: string[] | null;
      Cmd?: string[] | null;
      Entrypoint?: string[] | null;
      WorkingDir?: string;
      Labels?: Record<string, string> | null;
      ExposedPorts?: Record<string, object> | null;
      Volumes?: Record<string, object> | null;
      StopSignal?: string;
      Healthcheck?: unknown;
      OnBuild?: string[] | null;
      ArgsEscaped?: boolean;
      Shell?: string[] | null;
    };
  };
}

/** A container's root file system: overlay lower dirs (top first), upper, work and mount point. */
export interface RootfsLayout {
  lowerdirs: string[];
  upperdir: string;
  workdir: string;
  merged: string;
}

/** ImageBackend resolves images and manages container root file systems. */
export interface ImageBackend {
  resolve(nameOrId: string): Promise<ImageRef>;
  createContainerLayer(containerId: string, imageId: string): Promise<RootfsLayout>;
  mountContainer(containerId: string): Promise<void>;
  unmountContainer(containerId: string): Promise<void>;
  removeContainerLayer(containerId: string): Promise<void>;
}

/** Exit status as the runtime recorded it. */
export interface ExitStatus {
  exitCode: number;
  oomKilled: boolean;
  finishedAt: Date;
}

/** A live connection to a container's stdio. */
export interface RuntimeAttach {
  stdout: Readable;
  stderr: Readable;
  stdin: Writable;
  closeStdin(): void;
  close(): void;
}

/** RuntimeBackend drives the OCI runtime for one container at a time. */
export interface RuntimeBackend {
  create(
    id: string,
    opts: { bundle: string; spec: unknown; terminal: boolean; stdin: boolean; logPath: string },
  ): Promise<{ pid: number; conmonPid: number }>;
  attach(id: string): Promise<RuntimeAttach>;
  start(id: string): Promise<void>;
  kill(id: string, signal: string | number, all?: boolean): Promise<void>;
  /** pause freezes every process of the container (`runc pause`). */
  pause(id: string): Promise<void>;
  /** unpause thaws a paused container (`runc resume`). */
  unpause(id: string): Promise<void>;
  delete(id: string, opts?: { force?: boolean }): Promise<void>;
  resize(id: string, size: { height: number; width: number }): Promise<void>;
  exitStatus(id: string): Promise<ExitStatus | undefined>;
  waitExit(id: string, signal?: AbortSignal): Promise<ExitStatus>;
  isConmonAlive(id: string): Promise<boolean>;
  cleanup(id: string): Promise<void>;
}

/** What the engine asks the runtime to exec: see `Runtime.exec` in `@berth/runtime`. */
export interface RuntimeExecRequest {
  execId: string;
  args: string[];
  env: string[];
  cwd?: string;
  user: { uid: number; gid: number; additionalGids: number[] };
  terminal: boolean;
  privileged: boolean;
  stdin: boolean;
  attach: boolean;
  size?: { height: number; width: number };
}

/** A running exec process as the runtime hands it back. */
export interface RuntimeExecHandle {
  readonly pid: number;
  readonly attachment: RuntimeAttach | undefined;
  resize(size: { height: number; width: number }): Promise<void>;
  waitExit(): Promise<number>;
}
