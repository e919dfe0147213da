/**
 * duration: Go's time.Duration text (`1m30s`, `1.5h`, `300ms`), which compose uses for
 * healthcheck intervals and stop_grace_period.
 *
 * @since 0.1.0
 */
import { InvalidArgument } from "@berth/errdefs";

const UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** parseDuration parses a Go duration into nanoseconds (a bare number counts as seconds, as compose-go does). */
export function parseDuration(text: string | number): number {
  if (typeof text === "number") return text * 1e9;
  const s = text.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1e9;
  if (s === "0") return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  const body = s.replace(/^[+-]/, "");
  re.lastIndex = 0;
  for (let m = re.exec(body); m !== null; m = re.exec(body)) {
    total += Number(m[1]) * (UNITS[m[2] as string] as number);
    pos = re.lastIndex;
  }
  if (pos !== body.length || body === "") {
    throw new InvalidArgument(`invalid duration ${JSON.stringify(text)}, expected e.g. 10s or 1m30s`);
  }
  return Math.round(s.startsWith("-") ? -total : total);
}

/** formatDuration renders nanoseconds as Go's Duration.String() does (`1m30s`, `500ms`, `0s`). */
export function formatDuration(ns: number): string {
  if (ns === 0) return "0s";
  const neg = ns < 0;
  let n = Math.abs(ns);
  let out: string;
  if (n < 1e3) out = `${n}ns`;
  else if (n < 1e6) out = `${trim(n / 1e3)}µs`;
  else if (n < 1e9) out = `${trim(n / 1e6)}ms`;
  else {
    const h = Math.floor(n / 3600e9);
    n -= h * 3600e9;
    const m = Math.floor(n / 60e9);
    n -= m * 60e9;
    const sec = trim(n / 1e9);
    out = h > 0 ? `${h}h${m}m${sec}s` : m > 0 ? `${m}m${sec}s` : `${sec}s`;
  }
  return neg ? `-${out}` : out;
}

function trim(x: number): string {
  return String(Number(x.toFixed(9)));
}

/** parseSize parses docker's byte sizes (`512m`, `1g`, `1.5GB`, `1024`) into bytes. */
export function parseSize(text: string | number): number {
  if (typeof text === "number") return text;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?$/i.exec(text.trim());
  if (!m) throw new InvalidArgument(`invalid size ${JSON.stringify(text)}, expected e.g. 512m or 1g`);
  const exp = "bkmgtp".indexOf((m[2] || "b").toLowerCase());
  return Math.round(Number(m[1]) * 1024 ** exp);
}
