/**
 * Mapping of registry HTTP error answers (distribution-spec error bodies
 * `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`) to Berth error kinds.
 *
 * @since 0.1.0
 */
import {
  type BerthError,
  FailedPrecondition,
  Forbidden,
  InvalidArgument,
  NotFound,
  ResourceExhausted,
  Unauthorized,
  Unavailable,
} from "@berth/errdefs";

/** RegistryErrorEntry is one entry of a distribution-spec error body. */
export interface RegistryErrorEntry {
  readonly code: string;
  readonly message: string;
}

/** MAX_ERROR_BODY_BYTES bounds how much of an error body is read. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** parseErrorBody extracts the `errors` of a distribution-spec error body; [] for anything else. */
export function parseErrorBody(body: string): RegistryErrorEntry[] {
  try {
    const v = JSON.parse(body) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    if (!Array.isArray(v.errors)) return [];
    return v.errors.map((e) => ({
      code: typeof e.code === "string" ? e.code : "UNKNOWN",
      message: typeof e.message === "string" ? e.message : "",
    }));
  } catch {
    return [];
  }
}

/** describeErrors renders errors as docker does: `manifest unknown: manifest unknown`. */
export function describeErrors(errors: readonly RegistryErrorEntry[]): string {
  return errors
    .map((e) => {
      const code = e.code.toLowerCase().replace(/_/g, " ");
      return e.message === "" ? code : `${code}: ${e.message}`;
    })
    .join("; ");
}

/**
 * registryError builds the Berth error for an unexpected registry status. `what` says what was
 * being done (`HEAD http://host/v2/repo/manifests/tag`); it must not contain secrets.
 */
export function registryError(status: number, what: string, body: string): BerthError {
  const errors = parseErrorBody(body);
  const detail = errors.length > 0 ? describeErrors(errors) : `unexpected status ${status}`;
  const message = `${what}: ${detail}`;
  if (status === 404) return new NotFound(message);
  if (status === 401) return new Unauthorized(message);
  if (status === 403) return new Forbidden(message);
  if (status === 429) return new ResourceExhausted(message);
  if (status === 400 || status === 405) return new InvalidArgument(message);
  if (status === 409 || status === 412) return new FailedPrecondition(message);
  return new Unavailable(message);
}
