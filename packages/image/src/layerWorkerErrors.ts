import * as errdefs from "@berth/errdefs";

/** An error as it crosses between a layer worker and its parent: its kind, message and errno code. */
export interface SerializedError {
  readonly tag?: string;
  readonly message: string;
  readonly code?: string;
}

/** serializeError keeps what a layer error needs on the other side of a worker boundary. */
export function serializeError(err: unknown): SerializedError {
  const e = err as { _tag?: unknown; message?: unknown; code?: unknown };
  return {
    message: typeof e?.message === "string" ? e.message : String(err),
    ...(typeof e?._tag === "string" ? { tag: e._tag } : {}),
    ...(typeof e?.code === "string" ? { code: e.code } : {}),
  };
}

/** deserializeError rebuilds an error of the same kind (errdefs) or a plain Error with its errno code. */
export function deserializeError(s: SerializedError): Error {
  if (s.tag !== undefined && Object.hasOwn(errdefs.kinds, s.tag)) {
    const cls = (errdefs as unknown as Record<string, new (message: string) => Error>)[s.tag];
    if (typeof cls === "function") return new cls(s.message);
  }
  const err = new Error(s.message);
  if (s.code !== undefined) Object.assign(err, { code: s.code });
  return err;
}
