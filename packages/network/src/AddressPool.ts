import { InvalidArgument, ResourceExhausted } from "@berth/errdefs";
import { cidrRange, intToIp } from "./cidr.ts";
import { hostRoutes } from "./hostRoutes.ts";

/** One default address pool: carve subnets of prefix length `size` out of `base` (docker's default-address-pools). */
export interface AddressPoolBase {
  base: string;
  size: number;
}

/**
 * AddressPool hands out subnets for new networks, as dockerd's default-address-pools do: pools are
 * tried in order, and within a pool subnets in ascending order; the first one that overlaps none of
 * the subnets in use and no route of the host wins. The pool keeps no state: the caller passes the
 * subnets it has given out, so a restarted daemon makes the same choices.
 */
export class AddressPool {
  readonly #bases: { first: number; last: number; size: number; base: string }[];
  readonly #routes: () => Promise<string[]>;

  /** Validates the pools: InvalidArgument when a base is no CIDR or `size` is shorter than the base's prefix. */
  constructor(bases: AddressPoolBase[], opts: { routes?: () => Promise<string[]> } = {}) {
    this.#bases = bases.map(({ base, size }) => {
      const r = cidrRange(base);
      if (!Number.isInteger(size) || size < r.prefix || size > 32) {
        throw new InvalidArgument(`invalid address pool ${base} size ${size}: size must be ${r.prefix}..32`);
      }
      return { first: r.first, last: r.last, size, base };
    });
    this.#routes = opts.routes ?? hostRoutes;
  }

  /** allocate returns the first subnet of the pools that overlaps none of `inUse` and no host route; ResourceExhausted when full. */
  async allocate(inUse: string[]): Promise<string> {
    const taken = [...inUse, ...(await this.#routes())].map((c) => cidrRange(c));
    for (const b of this.#bases) {
      const step = 2 ** (32 - b.size);
      for (let first = b.first; first <= b.last; first += step) {
        const last = first + step - 1;
        const clash = taken.find((t) => t.first <= last && first <= t.last);
        if (!clash) return `${intToIp(first)}/${b.size}`;
        // Skip past the clash when it is larger than one subnet (e.g. a /16 route inside a /14 pool of /24s).
        if (clash.last > last) first = Math.ceil((clash.last + 1 - b.first) / step) * step + b.first - step;
      }
    }
    throw new ResourceExhausted(
      "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network",
    );
  }
}
