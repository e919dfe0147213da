import { isAbsolute } from "node:path";
import { InvalidArgument, NotFound } from "@berth/errdefs";
import { checkIfName, deleteLink } from "./bridge.ts";
import { parseCidr, stripPrefix } from "./cidr.ts";
import { macForIp } from "./macForIp.ts";
import { failure, run, runOk } from "./run.ts";

export { macForIp } from "./macForIp.ts";

/** Options of {@link connectEndpoint}. */
export interface ConnectEndpointOptions {
  /** absolute path of the container's network namespace file (see createNetns) */
  netns: string;
  /** bridge the host end is enslaved to */
  bridge: string;
  /** name of the host end, at most 15 characters, e.g. "veth" + 11 hex */
  hostIfName: string;
  /** name inside the namespace: "eth0", "eth1", ... */
  ifName: string;
  /** the container's address with prefix, "10.88.1.2/24" */
  address: string;
  /** default route via this address when given */
  gateway?: string;
  /** MAC of the container end; default {@link macForIp} of the address */
  mac?: string;
  /** MTU of both ends; default the bridge's MTU (a bridge takes the smallest MTU of its ports) */
  mtu?: number;
}

/**
 * connectEndpoint plugs a namespace into a bridge: a veth pair whose host end `hostIfName` joins the
 * bridge and whose other end appears as `ifName` inside the namespace with the address, MAC, MTU
 * and (if `gateway` is given) the default route. Idempotent: an existing `hostIfName` is deleted
 * first, so calling it again after a crash leaves exactly one, freshly configured pair. On failure
 * the pair is removed again.
 */
export async function connectEndpoint(o: ConnectEndpointOptions): Promise<void> {
  if (!isAbsolute(o.netns)) {
    throw new InvalidArgument(`invalid netns path ${JSON.stringify(o.netns)}: expected an absolute path`);
  }
  checkIfName(o.hostIfName, "host interface name");
  checkIfName(o.ifName, "container interface name");
  checkIfName(o.bridge, "bridge name");
  parseCidr(o.address);
  const mac = o.mac ?? macForIp(o.address);
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(mac)) {
    throw new InvalidArgument(
      `invalid MAC address ${JSON.stringify(mac)}: expected six colon-separated hex octets`,
    );
  }
  const mtu = ["mtu", String(o.mtu ?? (await bridgeMtu(o.bridge)))];

  await deleteLink(o.hostIfName);
  const add = [
    "link",
    "add",
    o.hostIfName,
    ...mtu,
    "type",
    "veth",
    "peer",
    "name",
    o.ifName,
    ...mtu,
    "netns",
    o.netns,
  ];
  const added = await run("ip", add);
  if (added.code !== 0) {
    if (!/File exists/i.test(added.stderr)) throw failure("ip", add, added);
    // A stale `ifName` in the namespace (its host end had another name before a crash): replace it.
    await run("nsenter", [`--net=${o.netns}`, "ip", "link", "del", "dev", o.ifName]);
    await deleteLink(o.hostIfName);
    await runOk("ip", add);
  }
  try {
    await runOk("ip", ["link", "set", "dev", o.hostIfName, "master", o.bridge]);
    await runOk("ip", ["link", "set", "dev", o.hostIfName, "up"]);
    const ns = (args: string[]) => runOk("nsenter", [`--net=${o.netns}`, "ip", ...args]);
    await ns(["link", "set", "dev", o.ifName, "address", mac]);
    await ns(["addr", "replace", o.address, "dev", o.ifName]);
    await ns(["link", "set", "dev", o.ifName, "up"]);
    if (o.gateway !== undefined) {
      await ns(["route", "replace", "default", "via", stripPrefix(o.gateway), "dev", o.ifName]);
    }
  } catch (err) {
    await deleteLink(o.hostIfName).catch(() => {});
    throw err;
  }
}

/** bridgeMtu reads a bridge's MTU; NotFound when there is no such link. */
async function bridgeMtu(bridge: string): Promise<number> {
  const args = ["-j", "link", "show", "dev", bridge];
  const r = await run("ip", args);
  if (r.code !== 0) {
    if (/does not exist|Cannot find device/i.test(r.stderr)) throw new NotFound(`bridge ${bridge} not found`);
    throw failure("ip", args, r);
  }
  const [link] = JSON.parse(r.stdout || "[]") as { mtu?: number }[];
  return link?.mtu ?? 1500;
}

/** disconnectEndpoint deletes the veth pair by its host end (the namespace end goes with it); a missing link is success. */
export async function disconnectEndpoint(hostIfName: string): Promise<void> {
  checkIfName(hostIfName, "host interface name");
  await deleteLink(hostIfName);
}
