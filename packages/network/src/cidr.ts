import { InvalidArgument } from "@berth/errdefs";

/** Cidr is a parsed IPv4 prefix: `address` as written (not masked) and the prefix length 0..32. */
export interface Cidr {
  address: string;
  prefix: number;
}

const OCTET = /^(0|[1-9]\d{0,2})$/;

/** ipToInt converts a dotted IPv4 address to an unsigned 32-bit integer; InvalidArgument on garbage. */
export function ipToInt(ip: string): number {
  const parts = ip.split(".");
  if (parts.length !== 4)
    throw new InvalidArgument(`invalid IPv4 address ${JSON.stringify(ip)}: expected four dotted octets`);
  let n = 0;
  for (const p of parts) {
    if (!OCTET.test(p) || Number(p) > 255) {
      throw new InvalidArgument(
        `invalid IPv4 address ${JSON.stringify(ip)}: octet ${JSON.stringify(p)} is not 0..255`,
      );
    }
    n = n * 256 + Number(p);
  }
  return n;
}

/** intToIp converts an unsigned 32-bit integer to a dotted IPv4 address. */
export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** isIpv4 tells whether `s` is a dotted IPv4 address. */
export function isIpv4(s: string): boolean {
  try {
    ipToInt(s);
    return true;
  } catch {
    return false;
  }
}

/**
 * parseCidr parses "a.b.c.d/n" (IPv4 only). A bare address is not accepted: callers that mean a
 * host write "/32". InvalidArgument names the input.
 */
export function parseCidr(s: string): Cidr {
  const slash = s.indexOf("/");
  if (slash < 0)
    throw new InvalidArgument(`invalid CIDR address ${JSON.stringify(s)}: expected address/prefix`);
  const address = s.slice(0, slash);
  const prefixText = s.slice(slash + 1);
  if (!/^\d{1,2}$/.test(prefixText) || Number(prefixText) > 32) {
    throw new InvalidArgument(`invalid CIDR address ${JSON.stringify(s)}: prefix length must be 0..32`);
  }
  try {
    ipToInt(address);
  } catch (err) {
    throw new InvalidArgument(`invalid CIDR address ${JSON.stringify(s)}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return { address, prefix: Number(prefixText) };
}

/** maskOf returns the netmask for a prefix length as an unsigned 32-bit integer. */
export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** cidrRange returns the first and last address (inclusive, as integers) of a CIDR. */
export function cidrRange(cidr: string): { first: number; last: number; prefix: number } {
  const c = parseCidr(cidr);
  const mask = maskOf(c.prefix);
  const first = (ipToInt(c.address) & mask) >>> 0;
  const last = (first | (~mask >>> 0)) >>> 0;
  return { first, last, prefix: c.prefix };
}

/** cidrContains tells whether the IPv4 address `ip` (a "/n" suffix is ignored) lies inside `net`. */
export function cidrContains(net: string, ip: string): boolean {
  const { first, last } = cidrRange(net);
  const n = ipToInt(stripPrefix(ip));
  return n >= first && n <= last;
}

/** cidrsOverlap tells whether two CIDRs share any address (one contains the other's network address). */
export function cidrsOverlap(a: string, b: string): boolean {
  const x = cidrRange(a);
  const y = cidrRange(b);
  return x.first <= y.last && y.first <= x.last;
}

/** networkAddress masks the host bits off: "10.88.1.7/24" -> "10.88.1.0/24". */
export function networkAddress(cidr: string): string {
  const { first, prefix } = cidrRange(cidr);
  return `${intToIp(first)}/${prefix}`;
}

/**
 * nthHost returns the n-th address of the CIDR's network, counting the network address as 0:
 * nthHost("10.88.1.0/24", 1) = "10.88.1.1". InvalidArgument when n falls outside the network.
 */
export function nthHost(cidr: string, n: number): string {
  const { first, last } = cidrRange(cidr);
  if (!Number.isInteger(n) || n < 0 || first + n > last) {
    throw new InvalidArgument(`host number ${n} is outside ${networkAddress(cidr)}`);
  }
  return intToIp(first + n);
}

/** stripPrefix drops a "/n" suffix: "10.88.1.2/24" -> "10.88.1.2". */
export function stripPrefix(ip: string): string {
  const slash = ip.indexOf("/");
  return slash < 0 ? ip : ip.slice(0, slash);
}
