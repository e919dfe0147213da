/**
 * Object IDs as docker makes and shows them: 64 lowercase hex characters for containers and
 * exec sessions, the first 12 of them for display.
 *
 * @since 0.1.0
 */
import { randomBytes } from "node:crypto";

/** SHORT_ID_LENGTH is how many hex characters docker shows of an ID. */
export const SHORT_ID_LENGTH = 12;

/**
 * randomId returns 32 random bytes as 64 lowercase hex characters. Like docker's
 * `stringid.GenerateRandomID`, it never returns an ID whose short form is all digits, because
 * the short ID becomes the container's hostname and an all-numeric hostname breaks tools.
 */
export function randomId(): string {
  for (;;) {
    const id = randomBytes(32).toString("hex");
    if (!/^[0-9]+$/.test(id.slice(0, SHORT_ID_LENGTH))) return id;
  }
}

/**
 * shortId returns the first 12 characters of `id` after any `algorithm:` prefix
 * (`sha256:abc...` -> `abc...`), as docker's `stringid.TruncateID`.
 */
export function shortId(id: string): string {
  const colon = id.indexOf(":");
  const hex = colon >= 0 ? id.slice(colon + 1) : id;
  return hex.length > SHORT_ID_LENGTH ? hex.slice(0, SHORT_ID_LENGTH) : hex;
}

/** isFullId tells whether `s` is a full ID: exactly 64 lowercase hex characters. */
export function isFullId(s: string): boolean {
  return /^[0-9a-f]{64}$/.test(s);
}

/**
 * isIdPrefix tells whether `s` could be a prefix of an ID: 1 to 64 lowercase hex characters,
 * optionally after `sha256:` (as image IDs are shown). Names such as `web` are not prefixes.
 */
export function isIdPrefix(s: string): boolean {
  const hex = s.startsWith("sha256:") ? s.slice("sha256:".length) : s;
  return /^[0-9a-f]{1,64}$/.test(hex);
}
