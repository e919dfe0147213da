import { errnoCode, Internal, InvalidArgument, isBerthError, ResourceExhausted } from "@berth/errdefs";

/**
 * wrapFsError turns a Node system error met while applying an entry into a
 * Berth error kind with the entry name in the message. Berth errors pass through.
 */
export function wrapFsError(err: unknown, what: string): Error {
  if (isBerthError(err)) return err;
  const code = errnoCode(err);
  const msg = err instanceof Error ? err.message : String(err);
  switch (code) {
    case "ENOSPC":
    case "EDQUOT":
      return new ResourceExhausted(`${what}: no space left on device`, { cause: err });
    case "ENOTDIR":
    case "EISDIR":
    case "EEXIST":
    case "ENOENT":
    case "EPERM":
    case "ELOOP":
    case "ENAMETOOLONG":
    case "EINVAL":
      return new InvalidArgument(`${what}: ${msg}`, { cause: err });
    default:
      return new Internal(`${what}: ${msg}`, { cause: err });
  }
}
