/**
 * daemonError: how the CLI words an error from the client, as docker does: errors the daemon
 * answered read `Error response from daemon: <message>`; a daemon that cannot be reached reads
 * `Cannot connect to the Docker daemon at ... Is the docker daemon running?` (the client's text).
 *
 * @since 0.1.0
 */
import { isBerthError } from "@berth/errdefs";

/** isConnectionError tells whether the client failed to reach the daemon (errno code set). */
export function isConnectionError(err: unknown): boolean {
  return isBerthError(err) && typeof err.code === "string" && /^E[A-Z]+$/.test(err.code);
}

/** describeError renders any error thrown by a client call. */
export function describeError(err: unknown): string {
  if (isBerthError(err)) {
    if (isConnectionError(err)) return err.message;
    return `Error response from daemon: ${err.message}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** isNotFound tells whether an error is the daemon's 404. */
export function isNotFound(err: unknown): boolean {
  return isBerthError(err) && err._tag === "NotFound";
}
