import { isIpv4 } from "./cidr.ts";
import { runOk } from "./run.ts";

/**
 * hostRoutes lists the IPv4 destination CIDRs of every route in every routing table of the calling
 * process's network namespace (`ip -j -4 route show table all`), without default routes. Host
 * routes without a prefix come back as "/32". Used to keep new network subnets off networks the
 * host can already reach.
 */
export async function hostRoutes(): Promise<string[]> {
  const out = await runOk("ip", ["-j", "-4", "route", "show", "table", "all"]);
  const routes = JSON.parse(out || "[]") as { dst?: string }[];
  const seen = new Set<string>();
  for (const r of routes) {
    const dst = r.dst;
    if (!dst || dst === "default") continue;
    const cidr = dst.includes("/") ? dst : `${dst}/32`;
    if (!isIpv4(cidr.slice(0, cidr.indexOf("/")))) continue;
    seen.add(cidr);
  }
  return [...seen];
}
