import { posix } from "node:path";

/**
 * cleanName turns an untrusted archive member name into a clean absolute path
 * as if the extraction root were `/`: `..` is clamped at `/`, `.` and repeated
 * slashes disappear, a trailing slash is dropped. `../../x` becomes `/x`,
 * `dne/../.wh.etc` becomes `/.wh.etc` (threat rows A1, A2, A16).
 *
 * The result is purely lexical; symlinks are resolved later by
 * {@link resolveInRoot}. Backslashes are ordinary file-name characters (A23).
 */
export function cleanName(name: string): string {
  const cleaned = posix.normalize(`/${name}`);
  if (cleaned.length > 1 && cleaned.endsWith("/")) return cleaned.slice(0, -1);
  return cleaned;
}
