/**
 * stopOptions: the flags `stop` and `restart` share and the `t`/`signal` query they turn into.
 *
 * @since 0.1.0
 */
import { type FlagSpec, int, type ParsedArgs, str } from "../FlagParser.ts";

/** STOP_FLAGS are the flags of `stop` and `restart`. */
export const STOP_FLAGS: readonly FlagSpec[] = [
  { name: "signal", short: "s", type: "string", usage: "Signal to send to the container" },
  { name: "timeout", short: "t", type: "int", usage: "Seconds to wait before killing the container" },
  { name: "time", type: "int", usage: "Seconds to wait before killing the container", hidden: true },
];

/** StopOptions is the query of `POST /containers/{name}/stop` and `/restart`. */
export interface StopOptions {
  t?: number;
  signal?: string;
}

/** stopOptions reads `-t`/`--time` and `-s` as docker does (an empty signal is left out). */
export function stopOptions(p: ParsedArgs): StopOptions {
  const t = int(p, "timeout") ?? int(p, "time");
  const signal = str(p, "signal");
  return { ...(t === undefined ? {} : { t }), ...(signal ? { signal } : {}) };
}
