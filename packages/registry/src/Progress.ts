/**
 * Progress events of pull and push, one per layer state change, with docker's status strings so
 * the daemon can stream them as docker's JSON messages unchanged.
 *
 * Pull: `Pulling fs layer`, `Waiting`, `Downloading` (with current/total), `Verifying Checksum`,
 * `Download complete`, `Already exists`; the daemon adds `Extracting` and `Pull complete` when it
 * unpacks. Push: `Preparing`, `Waiting`, `Pushing` (with current/total), `Pushed`,
 * `Layer already exists`, `Mounted from <repo>`.
 *
 * @since 0.1.0
 */
import type { Digest } from "@berth/oci";

/** ProgressEvent is one progress line: `id` is the layer's short digest (12 hex characters). */
export interface ProgressEvent {
  readonly id: string;
  readonly status: string;
  /** Bytes done, for Downloading / Pushing. */
  readonly current?: number;
  /** Total bytes, for Downloading / Pushing. */
  readonly total?: number;
}

/** ProgressHandler receives progress events; it must not throw. */
export type ProgressHandler = (event: ProgressEvent) => void;

/** shortDigest is docker's layer ID in progress output: the first 12 hex characters of the digest. */
export function shortDigest(d: Digest | string): string {
  const hex = d.slice(d.indexOf(":") + 1);
  return hex.slice(0, 12);
}
