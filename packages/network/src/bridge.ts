import { Conflict, InvalidArgument } from "@berth/errdefs";
import { parseCidr } from "./cidr.ts";
import { failure, run, runOk } from "./run.ts";

/** A network link as {@link listLinks} reports it. */
export interface LinkInfo {
  name: string;
  /** "bridge", "veth", ... (absent for plain devices such as lo or a physical NIC) */
  kind?: string;
  /** the bridge this link is enslaved to */
  master?: string;
}

/** MAX_IFNAME is the kernel's IFNAMSIZ - 1. */
export const MAX_IFNAME = 15;

/** checkIfName rejects names the kernel would refuse (too long, '/', whitespace, ':'), naming what it found. */
export function checkIfName(name: string, what = "interface name"): void {
  if (
    name.length === 0 ||
    name.length > MAX_IFNAME ||
    !/^[A-Za-z0-9_.@-]+$/.test(name) ||
    name === "." ||
    name === ".."
  ) {
    throw new InvalidArgument(
      `invalid ${what} ${JSON.stringify(name)}: expected 1..${MAX_IFNAME} characters of [A-Za-z0-9_.@-]`,
    );
  }
}

/** listLinks lists the links of the calling process's network namespace (`ip -j -d link show`). */
export async function listLinks(): Promise<LinkInfo[]> {
  const out = await runOk("ip", ["-j", "-d", "link", "show"]);
  const links = JSON.parse(out || "[]") as {
    ifname: string;
    master?: string;
    linkinfo?: { info_kind?: string };
  }[];
  return links.map((l) => {
    const info: LinkInfo = { name: l.ifname };
    if (l.linkinfo?.info_kind) info.kind = l.linkinfo.info_kind;
    if (l.master) info.master = l.master;
    return info;
  });
}

/** linkKind returns the kind of an existing link, "" for a plain device, or undefined when there is no such link. */
async function linkKind(name: string): Promise<string | undefined> {
  const r = await run("ip", ["-j", "-d", "link", "show", "dev", name]);
  if (r.code !== 0) {
    if (/does not exist|Cannot find device/i.test(r.stderr)) return undefined;
    throw failure("ip", ["-j", "-d", "link", "show", "dev", name], r);
  }
  const [l] = JSON.parse(r.stdout || "[]") as { linkinfo?: { info_kind?: string } }[];
  return l?.linkinfo?.info_kind ?? "";
}

/**
 * ensureBridge makes sure a Linux bridge `name` exists, carries the gateway address (e.g.
 * "10.88.1.1/24"), has the MTU if given, and is up. Idempotent: an existing bridge is reused and its
 * address replaced. Conflict when a link of that name exists but is not a bridge.
 */
export async function ensureBridge(o: { name: string; gateway: string; mtu?: number }): Promise<void> {
  checkIfName(o.name, "bridge name");
  parseCidr(o.gateway);
  const kind = await linkKind(o.name);
  if (kind === undefined) {
    const args = ["link", "add", "name", o.name];
    if (o.mtu !== undefined) args.push("mtu", String(o.mtu));
    args.push("type", "bridge");
    const r = await run("ip", args);
    // A concurrent ensureBridge may have won the race; fall through and verify below.
    if (r.code !== 0 && !/File exists/.test(r.stderr)) throw failure("ip", args, r);
    const again = await linkKind(o.name);
    if (again !== "bridge")
      throw new Conflict(`cannot create bridge ${o.name}: a link of kind ${again || "device"} has that name`);
  } else if (kind !== "bridge") {
    throw new Conflict(`cannot create bridge ${o.name}: a link of kind ${kind || "device"} has that name`);
  }
  if (o.mtu !== undefined) await runOk("ip", ["link", "set", "dev", o.name, "mtu", String(o.mtu)]);
  await runOk("ip", ["addr", "replace", o.gateway, "dev", o.name]);
  // A bridge re-used for a network whose subnet changed would otherwise keep the old route too.
  const addrs = JSON.parse(await runOk("ip", ["-j", "-4", "addr", "show", "dev", o.name])) as {
    addr_info?: { local?: string; prefixlen?: number }[];
  }[];
  for (const a of addrs[0]?.addr_info ?? []) {
    const cidr = `${a.local}/${a.prefixlen}`;
    if (a.local && cidr !== o.gateway) await runOk("ip", ["addr", "del", cidr, "dev", o.name]);
  }
  await runOk("ip", ["link", "set", "dev", o.name, "up"]);
}

/** removeBridge deletes the bridge (its ports are released, their veths stay); a missing bridge is success. */
export async function removeBridge(name: string): Promise<void> {
  checkIfName(name, "bridge name");
  await deleteLink(name);
}

/** deleteLink deletes a link by name; a missing link is success. */
export async function deleteLink(name: string): Promise<void> {
  const args = ["link", "del", "dev", name];
  const r = await run("ip", args);
  if (r.code !== 0 && !/does not exist|Cannot find device/i.test(r.stderr)) throw failure("ip", args, r);
}
