/**
 * units: docker's go-units helpers, as the CLI prints and parses sizes and durations.
 *
 * - {@link humanSizeWithPrecision}: decimal units (`B kB MB GB ...`), `%.{p}g` formatting, e.g. `1.98MB`.
 * - {@link ramInBytes}: `32m`, `1g`, `512k`, `1.5GiB` -> bytes (binary multipliers), docker's errors.
 * - {@link humanDuration}: `Less than a second`, `2 seconds`, `About a minute`, `3 hours`, `2 weeks`.
 * - {@link parseNanoCpus}: `--cpus 1.5` -> 1500000000 (rational numbers, like big.Rat).
 *
 * @since 0.1.0
 */

const DECIMAL_UNITS = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];

/** formatG renders `n` like Go's `%.{precision}g`. */
export function formatG(n: number, precision: number): string {
  if (n === 0) return "0";
  if (!Number.isFinite(n)) return n > 0 ? "+Inf" : n < 0 ? "-Inf" : "NaN";
  const exp = Math.floor(Math.log10(Math.abs(Number(n.toPrecision(precision)))));
  if (exp < -4 || exp >= precision) {
    const [mant, e] = n.toExponential(precision - 1).split("e") as [string, string];
    const m = mant.includes(".") ? mant.replace(/0+$/, "").replace(/\.$/, "") : mant;
    const en = Number(e);
    return `${m}e${en < 0 ? "-" : "+"}${String(Math.abs(en)).padStart(2, "0")}`;
  }
  const fixed = n.toFixed(Math.max(0, precision - 1 - exp));
  return fixed.includes(".") ? fixed.replace(/0+$/, "").replace(/\.$/, "") : fixed;
}

/** humanSizeWithPrecision is go-units' HumanSizeWithPrecision: decimal units, `%.{p}g`. */
export function humanSizeWithPrecision(size: number, precision: number): string {
  let i = 0;
  let s = size;
  while (s >= 1000 && i < DECIMAL_UNITS.length - 1) {
    s /= 1000;
    i++;
  }
  return `${formatG(s, precision)}${DECIMAL_UNITS[i]}`;
}

/** humanSize is go-units' HumanSize (precision 4). */
export function humanSize(size: number): string {
  return humanSizeWithPrecision(size, 4);
}

/** bytesSize is go-units' BytesSize: binary units (`KiB MiB GiB`), `%.4g`, e.g. `23.54GiB`. */
export function bytesSize(size: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];
  let i = 0;
  let s = size;
  while (s >= 1024 && i < units.length - 1) {
    s /= 1024;
    i++;
  }
  return `${formatG(s, 4)}${units[i]}`;
}

const BINARY: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** ramInBytes parses a memory size as go-units RAMInBytes; throws with docker's message. */
export function ramInBytes(value: string): number {
  const sep = Math.max(...[..."0123456789. "].map((c) => value.lastIndexOf(c)));
  if (sep === -1) throw new Error(`invalid size: '${value}'`);
  let num: string;
  let sfx: string;
  if (value[sep] !== " ") {
    num = value.slice(0, sep + 1);
    sfx = value.slice(sep + 1);
  } else {
    num = value.slice(0, sep);
    sfx = value.slice(sep + 1);
  }
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(num)) {
    throw new Error(`strconv.ParseFloat: parsing ${JSON.stringify(num)}: invalid syntax`);
  }
  let size = Number(num);
  if (size < 0) throw new Error(`invalid size: '${value}'`);
  if (sfx.length === 0) return Math.trunc(size);
  const bad = (): never => {
    throw new Error(`invalid suffix: '${sfx}'`);
  };
  if (sfx.length > 3) bad();
  sfx = sfx.toLowerCase();
  if (sfx[0] === "b") {
    if (sfx.length > 1) bad();
    return Math.trunc(size);
  }
  const mul = BINARY[sfx[0] as string];
  if (mul === undefined) return bad();
  size *= mul;
  if ((sfx.length === 2 && sfx[1] !== "b") || (sfx.length === 3 && sfx.slice(1) !== "ib")) bad();
  return Math.trunc(size);
}

/** humanDuration is go-units' HumanDuration for a duration in milliseconds. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return "Less than a second";
  if (seconds === 1) return "1 second";
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return "About a minute";
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3_600_000);
  if (hours === 1) return "About an hour";
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(ms / 3_600_000 / 24 / 365)} years`;
}

/** parseNanoCpus parses `--cpus` (a rational number like `1.5` or `3/2`) into nano CPUs. */
export function parseNanoCpus(value: string): number {
  let num: bigint;
  let den: bigint;
  const frac = /^([+-]?\d+)\/(\d+)$/.exec(value);
  const dec = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(value);
  if (frac) {
    num = BigInt(frac[1] as string);
    den = BigInt(frac[2] as string);
    if (den === 0n) throw new Error(`failed to parse ${value} as a rational number`);
  } else if (dec && ((dec[2] ?? "") + (dec[3] ?? "")).length > 0) {
    const intPart = dec[2] ?? "";
    const fracPart = dec[3] ?? "";
    num = BigInt((dec[1] === "-" ? "-" : "") + (intPart + fracPart || "0"));
    den = 10n ** BigInt(fracPart.length);
    const e = Number(dec[4] ?? "0");
    if (e > 0) num *= 10n ** BigInt(e);
    else if (e < 0) den *= 10n ** BigInt(-e);
  } else {
    throw new Error(`failed to parse ${value} as a rational number`);
  }
  const nano = num * 1_000_000_000n;
  if (nano % den !== 0n) throw new Error("value is too precise");
  return Number(nano / den);
}
