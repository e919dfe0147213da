const UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/**
 * parseDuration parses a Go duration (`300ms`, `1.5h`, `2h45m`, `-1s`) into nanoseconds.
 * Throws on anything else.
 */
export function parseDuration(s: string): number {
  const bad = () => new Error(`time: invalid duration ${JSON.stringify(s)}`);
  let rest = s;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    sign = rest[0] === "-" ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") throw bad();
  let total = 0;
  while (rest !== "") {
    const m = /^(\d*)(?:\.(\d*))?([^\d.]+)/.exec(rest);
    if (m === null || (m[1] === "" && (m[2] ?? "") === "")) throw bad();
    const unit = UNITS[m[3] ?? ""];
    if (unit === undefined)
      throw new Error(`time: unknown unit ${JSON.stringify(m[3])} in duration ${JSON.stringify(s)}`);
    total += Number(`${m[1] || "0"}.${m[2] || "0"}`) * unit;
    rest = rest.slice(m[0].length);
  }
  return sign * Math.round(total);
}
