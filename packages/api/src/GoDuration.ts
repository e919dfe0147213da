/**
 * Go durations as the Engine API and the docker CLI write them in `since`/`until` values and
 * filters (`10m`, `1h30m`, `1.5s`, `-2h`): Go's `time.ParseDuration` syntax.
 */

const UNIT_NS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** parseGoDuration parses a Go duration into nanoseconds; undefined when it is not one. */
export function parseGoDuration(value: string): number | undefined {
  let s = value;
  let sign = 1;
  if (s.startsWith("-") || s.startsWith("+")) {
    if (s[0] === "-") sign = -1;
    s = s.slice(1);
  }
  if (s === "0") return 0;
  if (s === "") return undefined;
  let total = 0;
  const re = /^(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  while (s.length > 0) {
    const m = re.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * (UNIT_NS[m[2] as string] as number);
    s = s.slice(m[0].length);
  }
  return sign * total;
}
