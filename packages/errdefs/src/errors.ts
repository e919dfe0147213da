/**
 * The closed set of error kinds every Berth package throws. Each kind maps to
 * exactly one HTTP status (for the Engine API) and one CLI exit code; the
 * table lives in {@link kinds}. Messages are lower-case, say what was expected
 * and what was found, and never contain secrets.
 *
 * @since 0.1.0
 */

/** Kinds of error, as `_tag` values. */
export type Kind =
  | "NotFound"
  | "AlreadyExists"
  | "InvalidArgument"
  | "Conflict"
  | "FailedPrecondition"
  | "Unauthorized"
  | "Forbidden"
  | "Unavailable"
  | "NotImplemented"
  | "Canceled"
  | "ResourceExhausted"
  | "Internal";

/** The status/exit-code table: the one place a kind is mapped to the outside world. */
export const kinds: Readonly<Record<Kind, { readonly status: number; readonly exitCode: number }>> = {
  NotFound: { status: 404, exitCode: 125 },
  AlreadyExists: { status: 409, exitCode: 125 },
  InvalidArgument: { status: 400, exitCode: 125 },
  Conflict: { status: 409, exitCode: 125 },
  FailedPrecondition: { status: 409, exitCode: 125 },
  Unauthorized: { status: 401, exitCode: 125 },
  Forbidden: { status: 403, exitCode: 125 },
  Unavailable: { status: 503, exitCode: 125 },
  NotImplemented: { status: 501, exitCode: 125 },
  Canceled: { status: 499, exitCode: 125 },
  ResourceExhausted: { status: 507, exitCode: 125 },
  Internal: { status: 500, exitCode: 125 },
};

/** Extra fields every Berth error may carry. */
export interface ErrorDetails {
  /** A stable machine-readable code, e.g. `ERR_IMAGE_NOT_FOUND`. */
  readonly code?: string;
  /** What the user can do about it, shown after the message by the CLI. */
  readonly hint?: string;
  /** The underlying error. */
  readonly cause?: unknown;
}

/** BerthError is the base class of all kinds; use the subclasses, never this directly. */
export abstract class BerthError extends Error {
  abstract readonly _tag: Kind;
  readonly code: string | undefined;
  readonly hint: string | undefined;

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = details.code;
    this.hint = details.hint;
  }

  /** HTTP status for this error's kind. */
  get status(): number {
    return kinds[this._tag].status;
  }

  /** CLI exit code for this error's kind. */
  get exitCode(): number {
    return kinds[this._tag].exitCode;
  }
}

function defineKind<K extends Kind>(tag: K) {
  const cls = class extends BerthError {
    readonly _tag = tag;
  };
  Object.defineProperty(cls, "name", { value: tag });
  Object.defineProperty(cls.prototype, "name", { value: tag, writable: true });
  return cls;
}

/** NotFound: the named object (container, image, blob, file) does not exist. HTTP 404. */
export const NotFound = defineKind("NotFound");
export type NotFound = InstanceType<typeof NotFound>;
/** AlreadyExists: an object with that identity exists already. HTTP 409. */
export const AlreadyExists = defineKind("AlreadyExists");
export type AlreadyExists = InstanceType<typeof AlreadyExists>;
/** InvalidArgument: the caller's input is malformed. HTTP 400. */
export const InvalidArgument = defineKind("InvalidArgument");
export type InvalidArgument = InstanceType<typeof InvalidArgument>;
/** Conflict: the request conflicts with the object's current state (name in use, image in use). HTTP 409. */
export const Conflict = defineKind("Conflict");
export type Conflict = InstanceType<typeof Conflict>;
/** FailedPrecondition: the object is not in the state the operation needs (e.g. digest mismatch at commit). HTTP 409. */
export const FailedPrecondition = defineKind("FailedPrecondition");
export type FailedPrecondition = InstanceType<typeof FailedPrecondition>;
/** Unauthorized: credentials are missing or wrong. HTTP 401. */
export const Unauthorized = defineKind("Unauthorized");
export type Unauthorized = InstanceType<typeof Unauthorized>;
/** Forbidden: the caller is known but not allowed. HTTP 403. */
export const Forbidden = defineKind("Forbidden");
export type Forbidden = InstanceType<typeof Forbidden>;
/** Unavailable: a dependency (runc, a lock, the daemon) is not available now; retrying may help. HTTP 503. */
export const Unavailable = defineKind("Unavailable");
export type Unavailable = InstanceType<typeof Unavailable>;
/** NotImplemented: Berth does not support this (yet). HTTP 501. */
export const NotImplemented = defineKind("NotImplemented");
export type NotImplemented = InstanceType<typeof NotImplemented>;
/** Canceled: the caller aborted the operation. */
export const Canceled = defineKind("Canceled");
export type Canceled = InstanceType<typeof Canceled>;
/** ResourceExhausted: a named limit or the disk was exceeded. */
export const ResourceExhausted = defineKind("ResourceExhausted");
export type ResourceExhausted = InstanceType<typeof ResourceExhausted>;
/** Internal: a bug or an unexpected failure of the system underneath. HTTP 500. */
export const Internal = defineKind("Internal");
export type Internal = InstanceType<typeof Internal>;

/** isKind tells whether `err` is a Berth error of the given kind (works across package copies via `_tag`). */
export function isKind(err: unknown, kind: Kind): boolean {
  return typeof err === "object" && err !== null && (err as { _tag?: unknown })._tag === kind;
}

/** isBerthError tells whether `err` carries one of the kinds. */
export function isBerthError(err: unknown): err is BerthError {
  return (
    typeof err === "object" &&
    err !== null &&
    typeof (err as { _tag?: unknown })._tag === "string" &&
    (err as { _tag: string })._tag in kinds
  );
}

/** statusOf maps any thrown value to an HTTP status: the kind's status, else 500. */
export function statusOf(err: unknown): number {
  return isBerthError(err) ? kinds[err._tag].status : 500;
}

/** exitCodeOf maps any thrown value to a CLI exit code: the kind's code, else 125 (docker's engine error). */
export function exitCodeOf(err: unknown): number {
  return isBerthError(err) ? kinds[err._tag].exitCode : 125;
}

/** fromStatus rebuilds an error of the right kind from an HTTP status and message (used by the client). */
export function fromStatus(status: number, message: string, details: ErrorDetails = {}): BerthError {
  switch (status) {
    case 400:
      return new InvalidArgument(message, details);
    case 401:
      return new Unauthorized(message, details);
    case 403:
      return new Forbidden(message, details);
    case 404:
      return new NotFound(message, details);
    case 409:
      return new Conflict(message, details);
    case 501:
      return new NotImplemented(message, details);
    case 503:
      return new Unavailable(message, details);
    default:
      return new Internal(message, details);
  }
}

/** errnoCode returns a Node system error's code (`ENOENT`, ...) or undefined. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === "object" && err !== null && typeof (err as { code?: unknown }).code === "string") {
    return (err as { code: string }).code;
  }
  return undefined;
}
