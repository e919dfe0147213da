import type { IncomingHttpHeaders } from "node:http";

/** ClientOptions configures a `Client`; every field is optional. */
export interface ClientOptions {
  /** UNIX socket path; wins over `host`. */
  socketPath?: string;
  /** DOCKER_HOST style address: `unix:///path` or `tcp://127.0.0.1:2375`. */
  host?: string;
  /** Pin the API version (no `/_ping` negotiation), e.g. "1.41". */
  version?: string;
  /** User-Agent header; default `Berth-Client/0.1.0 (linux)`. */
  userAgent?: string;
  /** Timeout of non-streaming requests in milliseconds (no timeout by default). */
  timeoutMs?: number;
}

/** RequestOptions are the options of `Client.request`. */
export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  /** A Buffer/Uint8Array or stream is sent as-is; anything else as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Throw the errdefs kind for non-2xx statuses (default true). */
  throwOnError?: boolean;
}

/** RawResponse is the result of `Client.request`. */
export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** PingResult is what `/_ping` reports. */
export interface PingResult {
  apiVersion: string;
  osType: string;
  experimental: boolean;
  /** `Builder-Version` header when present ("1" or "2"). */
  builderVersion?: string;
}

/** WaitResult is the body of a `/containers/{id}/wait` answer. */
export interface WaitResult {
  StatusCode: number;
  Error?: { Message: string } | null;
}

/** WaitPromise is the promise of `Client.containerWait`, plus a promise that the daemon registered the wait. */
export type WaitPromise = Promise<WaitResult> & {
  /** Resolves once the daemon answered the wait request's headers (it now watches the container). */
  readonly registered: Promise<void>;
};

/** LogsOptions are the options of `Client.containerLogs`. */
export interface LogsOptions {
  follow?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  since?: string;
  until?: string;
  timestamps?: boolean;
  tail?: string;
  /** The container has a TTY: the stream is raw, not multiplexed (used when the daemon does not say). */
  tty?: boolean;
  /** Aborting ends the iteration quietly. */
  signal?: AbortSignal;
}

/** AttachOptions are the options of `Client.containerAttach`. */
export interface AttachOptions {
  stream?: boolean;
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  logs?: boolean;
  detachKeys?: string;
  /** The container has a TTY: output is raw, not multiplexed (for daemons before API 1.42). */
  tty: boolean;
}

/** ImageImportOptions are the options of `Client.imageImport`. */
export interface ImageImportOptions {
  repo?: string;
  tag?: string;
  message?: string;
  changes?: string[];
  platform?: string;
}
