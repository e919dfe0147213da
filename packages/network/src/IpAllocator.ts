import { Conflict, InvalidArgument, ResourceExhausted } from "@berth/errdefs";
import { cidrRange, intToIp, ipToInt, isIpv4, networkAddress, stripPrefix } from "./cidr.ts";

/** Options of {@link allocateAddress}. */
export interface AllocateAddressOptions {
  /** The network's gateway (never handed out); "/n" suffix allowed. */
  gateway?: string;
  /** A specific address the caller asked for (docker run --ip). */
  requested?: string;
}

/**
 * allocateAddress picks an IPv4 address (plain, without prefix) in `subnet` that is not in `taken`
 * (entries may carry a "/n" suffix), never the network address, the gateway or the broadcast
 * address (for prefixes up to /30). With `requested` it returns exactly that address or throws:
 * InvalidArgument when it is garbage or outside the subnet, Conflict "Address already in use" when
 * taken or the gateway. ResourceExhausted when the subnet is full. Pure: the caller records the result.
 */
export function allocateAddress(
  subnet: string,
  taken: Iterable<string>,
  opts: AllocateAddressOptions = {},
): string {
  const { first, last, prefix } = cidrRange(subnet);
  const used = new Set<number>();
  for (const t of taken) used.add(ipToInt(stripPrefix(t)));
  if (opts.gateway !== undefined) used.add(ipToInt(stripPrefix(opts.gateway)));
  // /31 and /32 have no network or broadcast address (RFC 3021).
  const lo = prefix <= 30 ? first + 1 : first;
  const hi = prefix <= 30 ? last - 1 : last;

  if (opts.requested !== undefined) {
    const req = stripPrefix(opts.requested);
    if (!isIpv4(req)) throw new InvalidArgument(`invalid IPv4 address: ${opts.requested}`);
    const n = ipToInt(req);
    if (n < first || n > last) {
      throw new InvalidArgument(`no configured subnet or ip-range contain the IP address ${req}`);
    }
    if (n < lo || n > hi) {
      throw new InvalidArgument(
        `invalid address ${req}: it is the network or broadcast address of ${networkAddress(subnet)}`,
      );
    }
    if (used.has(n)) throw new Conflict(`Address already in use: ${req}`);
    return req;
  }

  for (let n = lo; n <= hi; n++) {
    if (!used.has(n)) return intToIp(n);
  }
  throw new ResourceExhausted(`no available addresses on this pool: ${networkAddress(subnet)} is full`);
}
