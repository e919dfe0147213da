/**
 * Engine API version negotiation: the versions Berth speaks, `/vX.Y/` path prefixes, and the
 * exact messages dockerd answers for unsupported versions and unknown paths.
 *
 * @since 0.1.0
 */

/** API_VERSION is the highest Engine API version berthd advertises (`Api-Version` header). */
export const API_VERSION = "1.47";

/** MIN_API_VERSION is the oldest version berthd accepts in a `/vX.Y/` prefix. */
export const MIN_API_VERSION = "1.24";

/** FALLBACK_API_VERSION is what a client assumes when `/_ping` does not say (docker's fallback). */
export const FALLBACK_API_VERSION = "1.24";

const VERSION_PREFIX = /^\/v(\d+\.\d+)(?=\/|$)/;

/** VersionedPath is a request path split into its optional version prefix and the rest. */
export interface VersionedPath {
  /** "1.41" for `/v1.41/...`; undefined when the path has no prefix. */
  readonly version?: string;
  /** The path without the prefix, always starting with "/". */
  readonly path: string;
}

/**
 * parseVersionedPath splits `/v1.41/containers/json` into `{ version: "1.41", path: "/containers/json" }`.
 * Paths without a prefix come back unchanged; the query string, if any, is left on `path`.
 */
export function parseVersionedPath(path: string): VersionedPath {
  const m = VERSION_PREFIX.exec(path);
  if (!m) return { path };
  const rest = path.slice(m[0].length);
  return { version: m[1]!, path: rest === "" ? "/" : rest };
}

/** isVersion tells whether `v` looks like an API version ("1.41"). */
export function isVersion(v: string): boolean {
  return /^\d+\.\d+$/.test(v);
}

/**
 * compareVersions compares dotted versions numerically ("1.9" < "1.10"); missing parts count as 0.
 * Returns -1, 0 or 1.
 */
export function compareVersions(a: string, b: string): -1 | 0 | 1 {
  const pa = a.split(".");
  const pb = b.split(".");
  const n = Math.max(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    const x = Number.parseInt(pa[i] ?? "0", 10) || 0;
    const y = Number.parseInt(pb[i] ?? "0", 10) || 0;
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return 0;
}

/** minVersion returns the lower of two versions (what a client uses after `/_ping`). */
export function minVersion(a: string, b: string): string {
  return compareVersions(a, b) <= 0 ? a : b;
}

/**
 * tooNewMessage is dockerd's 400 answer (JSON `{"message":...}`) to a prefix above the maximum:
 * `client version 1.50 is too new. Maximum supported API version is 1.41`.
 */
export function tooNewMessage(requested: string, max: string = API_VERSION): string {
  return `client version ${requested} is too new. Maximum supported API version is ${max}`;
}

/**
 * tooOldMessage is dockerd's 400 answer to a prefix below the minimum; dockerd sends it as
 * text/plain, not JSON: `client version 1.11 is too old. Minimum supported API version is 1.12,
 * please upgrade your client to a newer version`.
 */
export function tooOldMessage(requested: string, min: string = MIN_API_VERSION): string {
  return `client version ${requested} is too old. Minimum supported API version is ${min}, please upgrade your client to a newer version`;
}

/** PAGE_NOT_FOUND is dockerd's 404 message for an unknown path (`{"message":"page not found"}`). */
export const PAGE_NOT_FOUND = "page not found";

/** VersionCheck is the verdict of {@link checkVersion}. */
export type VersionCheck =
  | { readonly ok: true; readonly version: string }
  | {
      readonly ok: false;
      readonly status: 400;
      /** dockerd sends "too new" as JSON and "too old" as text/plain. */
      readonly contentType: "application/json" | "text/plain; charset=utf-8";
      readonly message: string;
    };

/**
 * checkVersion decides what a server does with a request's version: no prefix means the
 * server's own maximum; out of range means a 400 with dockerd's message and content type.
 */
export function checkVersion(
  requested: string | undefined,
  range: { min?: string; max?: string } = {},
): VersionCheck {
  const max = range.max ?? API_VERSION;
  const min = range.min ?? MIN_API_VERSION;
  if (requested === undefined) return { ok: true, version: max };
  if (compareVersions(requested, max) > 0) {
    return {
      ok: false,
      status: 400,
      contentType: "application/json",
      message: tooNewMessage(requested, max),
    };
  }
  if (compareVersions(requested, min) < 0) {
    return {
      ok: false,
      status: 400,
      contentType: "text/plain; charset=utf-8",
      message: tooOldMessage(requested, min),
    };
  }
  return { ok: true, version: requested };
}
