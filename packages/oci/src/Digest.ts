/**
 * Content digests (`<algorithm>:<lowercase hex>`) as the OCI image-spec defines them, plus
 * hashing helpers: a one-shot {@link sha256}, an incremental {@link Digester}, and two stream
 * transforms that hash bytes on their way through ({@link digestTransform}) or refuse bytes
 * that do not match an expected digest and size ({@link verifyingTransform}).
 *
 * Berth produces sha256 only; sha512 is accepted when parsing, because the image-spec registers
 * it and registries may serve it.
 *
 * @since 0.1.0
 */
import { createHash, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { FailedPrecondition, InvalidArgument } from "@berth/errdefs";

/** Algorithm is a digest algorithm Berth can parse and compute. */
export type Algorithm = "sha256" | "sha512";

/**
 * Digest is a validated content digest such as `sha256:<64 lowercase hex>`.
 * Values of this type come from {@link parseDigest}, {@link sha256} or a {@link Digester};
 * a string literal that merely looks right is not checked by the compiler.
 */
export type Digest = `sha256:${string}` | `sha512:${string}`;

/** Hex length of each supported algorithm's encoded part. */
const HEX_LENGTH: Readonly<Record<Algorithm, number>> = { sha256: 64, sha512: 128 };

/** isAlgorithm tells whether `s` names a supported algorithm. */
export function isAlgorithm(s: string): s is Algorithm {
  return s === "sha256" || s === "sha512";
}

/** The shape of an OCI digest (image-spec descriptor.md), before algorithm-specific checks. */
const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** Quote untrusted input for an error message, bounded so a hostile string cannot bloat logs. */
function quote(s: string): string {
  const max = 160;
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}...` : s);
}

/**
 * parseDigest validates `s` as a digest Berth supports and returns it typed.
 * Only `sha256:` with 64 and `sha512:` with 128 lowercase hex characters pass; anything else
 * (uppercase hex, wrong length, path characters such as `/../`, `?`, `#`, unknown algorithms)
 * throws InvalidArgument `invalid digest format: ...`. Because a parsed digest contains only
 * `[a-z0-9:]`, it is safe to use as a file name component.
 */
export function parseDigest(s: string): Digest {
  if (typeof s !== "string") {
    throw new InvalidArgument(`invalid digest format: expected a string, found ${typeof s}`);
  }
  const colon = s.indexOf(":");
  if (colon <= 0 || colon === s.length - 1 || !DIGEST_GRAMMAR.test(s)) {
    throw new InvalidArgument(`invalid digest format: expected <algorithm>:<hex>, found ${quote(s)}`);
  }
  const algorithm = s.slice(0, colon);
  const encoded = s.slice(colon + 1);
  if (!isAlgorithm(algorithm)) {
    throw new InvalidArgument(
      `invalid digest format: unsupported algorithm ${quote(algorithm)} in ${quote(s)}, expected sha256 or sha512`,
    );
  }
  const want = HEX_LENGTH[algorithm];
  if (encoded.length !== want) {
    throw new InvalidArgument(
      `invalid digest format: ${algorithm} needs ${want} hex characters, found ${encoded.length} in ${quote(s)}`,
    );
  }
  if (!/^[0-9a-f]+$/.test(encoded)) {
    throw new InvalidArgument(
      `invalid digest format: ${algorithm} needs lowercase hex characters [0-9a-f], found ${quote(s)}`,
    );
  }
  return s as Digest;
}

/** isDigest tells whether `s` is a digest {@link parseDigest} would accept. */
export function isDigest(s: unknown): s is Digest {
  if (typeof s !== "string") return false;
  try {
    parseDigest(s);
    return true;
  } catch {
    return false;
  }
}

/** algorithmOf returns the algorithm part of a digest (`sha256`). */
export function algorithmOf(d: Digest): Algorithm {
  return d.slice(0, d.indexOf(":")) as Algorithm;
}

/** hexOf returns the encoded (hex) part of a digest, without the `sha256:` prefix. */
export function hexOf(d: Digest): string {
  return d.slice(d.indexOf(":") + 1);
}

/** sha256 hashes `data` (a string is hashed as its UTF-8 bytes) and returns its digest. */
export function sha256(data: Uint8Array | string): Digest {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/**
 * Digester hashes bytes incrementally and counts them. {@link Digester.digest} may be called at
 * any time (it hashes a copy of the state), so a caller can take the digest and keep writing.
 */
export class Digester {
  readonly algorithm: Algorithm;
  readonly #hash: Hash;
  #size = 0;

  /** Create a digester for `algorithm` (default sha256). */
  constructor(algorithm: Algorithm = "sha256") {
    if (!isAlgorithm(algorithm)) {
      throw new InvalidArgument(
        `unsupported digest algorithm ${quote(String(algorithm))}, expected sha256 or sha512`,
      );
    }
    this.algorithm = algorithm;
    this.#hash = createHash(algorithm);
  }

  /** update adds `chunk` (strings as UTF-8) to the hash and returns this digester. */
  update(chunk: Uint8Array | string): this {
    this.#hash.update(chunk);
    this.#size += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.byteLength;
    return this;
  }

  /** size is the number of bytes hashed so far. */
  get size(): number {
    return this.#size;
  }

  /** digest returns the digest of the bytes hashed so far. */
  digest(): Digest {
    return `${this.algorithm}:${this.#hash.copy().digest("hex")}` as Digest;
  }
}

/** DigestTransform is a pass-through stream that hashes and counts what flows through it. */
export type DigestTransform = Transform & {
  /** digest of the bytes passed so far (final once the stream has ended). */
  digest(): Digest;
  /** number of bytes passed so far. */
  size(): number;
};

function toBytes(chunk: unknown, encoding: BufferEncoding): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === "string") return Buffer.from(chunk, encoding);
  throw new InvalidArgument(`expected bytes in digest stream, found ${typeof chunk}`);
}

/**
 * digestTransform returns a Transform that passes bytes through unchanged while hashing them.
 * Read `digest()` and `size()` after the `finish`/`end` event for the whole stream's values.
 */
export function digestTransform(algorithm: Algorithm = "sha256"): DigestTransform {
  const digester = new Digester(algorithm);
  const t = new Transform({
    transform(chunk: unknown, encoding: BufferEncoding, callback: TransformCallback) {
      try {
        const bytes = toBytes(chunk, encoding);
        digester.update(bytes);
        callback(null, bytes);
      } catch (err) {
        callback(err as Error);
      }
    },
  });
  return Object.assign(t, {
    digest: () => digester.digest(),
    size: () => digester.size,
  });
}

/**
 * verifyingTransform passes bytes through while checking them against `expected` (and
 * `expectedSize` when given). It fails the stream with FailedPrecondition
 * - as soon as more than `expectedSize` bytes arrive (`unexpected commit size N, expected M`),
 *   so a hostile server cannot make the caller buffer or store an unbounded blob;
 * - at the end, when the size is short or the digest differs
 *   (`unexpected commit digest X, expected Y`).
 * Consumers must treat the bytes as unverified until the stream ends without error.
 */
export function verifyingTransform(expected: Digest, expectedSize?: number): DigestTransform {
  const want = parseDigest(expected);
  if (expectedSize !== undefined && (!Number.isSafeInteger(expectedSize) || expectedSize < 0)) {
    throw new InvalidArgument(
      `invalid expected size: expected a non-negative integer, found ${expectedSize}`,
    );
  }
  const digester = new Digester(algorithmOf(want));
  const t = new Transform({
    transform(chunk: unknown, encoding: BufferEncoding, callback: TransformCallback) {
      try {
        const bytes = toBytes(chunk, encoding);
        const total = digester.size + bytes.byteLength;
        if (expectedSize !== undefined && total > expectedSize) {
          callback(new FailedPrecondition(`unexpected commit size ${total}, expected ${expectedSize}`));
          return;
        }
        digester.update(bytes);
        callback(null, bytes);
      } catch (err) {
        callback(err as Error);
      }
    },
    flush(callback: TransformCallback) {
      if (expectedSize !== undefined && digester.size !== expectedSize) {
        callback(new FailedPrecondition(`unexpected commit size ${digester.size}, expected ${expectedSize}`));
        return;
      }
      const got = digester.digest();
      if (got !== want) {
        callback(new FailedPrecondition(`unexpected commit digest ${got}, expected ${want}`));
        return;
      }
      callback();
    },
  });
  return Object.assign(t, {
    digest: () => digester.digest(),
    size: () => digester.size,
  });
}
