import { randomBytes } from "node:crypto";

/**
 * newContainerId returns 64 lower-case hex characters that are not all digits (docker avoids IDs
 * whose short form parses as a number) and not already taken.
 */
export function newContainerId(taken: (id: string) => boolean): string {
  for (;;) {
    const id = randomBytes(32).toString("hex");
    if (/^[0-9]{12}/.test(id) || taken(id)) continue;
    return id;
  }
}

/** nowRFC3339Nano is the current time with nanosecond digits, as docker prints times. */
export function nowRFC3339Nano(): string {
  const ns = process.hrtime.bigint() % 1_000_000n;
  const iso = new Date().toISOString();
  return iso.replace(/\.(\d{3})Z$/, (_m, ms: string) => `.${ms}${ns.toString().padStart(6, "0")}Z`);
}
