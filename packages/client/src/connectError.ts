import { type BerthError, errnoCode, Unavailable } from "@berth/errdefs";

/** CONNECT_ERROR_CODES are the socket errors that mean "no daemon there". */
export const CONNECT_ERROR_CODES: ReadonlySet<string> = new Set([
  "ENOENT",
  "ECONNREFUSED",
  "EACCES",
  "ENOTSOCK",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
]);

/**
 * connectError turns a failed connection into Unavailable with docker's text, e.g.
 * `Cannot connect to the Docker daemon at unix:///run/berth/berth.sock. Is the docker daemon running?`,
 * keeping the errno (`ENOENT`, `ECONNREFUSED`, ...) as `code` and the original error as `cause`.
 * Permission errors get docker's permission text instead.
 */
export function connectError(hostUrl: string, err: unknown): BerthError {
  const code = errnoCode(err);
  if (code === "EACCES") {
    return new Unavailable(
      `permission denied while trying to connect to the Docker daemon socket at ${hostUrl}`,
      { code, cause: err },
    );
  }
  return new Unavailable(`Cannot connect to the Docker daemon at ${hostUrl}. Is the docker daemon running?`, {
    ...(code === undefined ? {} : { code }),
    cause: err,
  });
}
