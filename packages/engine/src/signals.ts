import { constants } from "node:os";
import { InvalidArgument } from "@berth/errdefs";

/**
 * signalNumber parses docker's signal spellings: `SIGTERM`, `TERM`, `term`, `15`. Unknown names are
 * an InvalidArgument with docker's message.
 */
export function signalNumber(signal: string | number): number {
  if (typeof signal === "number") return signal;
  const s = signal.trim();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n < 1 || n > 64) throw new InvalidArgument(`Invalid signal: ${signal}`);
    return n;
  }
  const upper = s.toUpperCase();
  const name = (upper.startsWith("SIG") ? upper : `SIG${upper}`) as keyof typeof constants.signals;
  const n = constants.signals[name];
  if (n === undefined) throw new InvalidArgument(`Invalid signal: ${signal}`);
  return n;
}
