import { readFile } from "node:fs/promises";
import { isAbsolute } from "node:path";
import { errnoCode, InvalidArgument, NotFound } from "@berth/errdefs";
import { checkIfName, deleteLink } from "./bridge.ts";
import { isIpv4, parseCidr, stripPrefix } from "./cidr.ts";
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
 * and (if `gateway` is given) the default route. Idempotent: an existing `hostIfName` (and a
 * stale `ifName` in the namespace) is replaced, so calling it again after a crash leaves exactly
 * one, freshly configured pair. On failure
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
  if (o.gateway !== undefined && !isIpv4(stripPrefix(o.gateway))) {
    throw new InvalidArgument(`invalid gateway ${JSON.stringify(o.gateway)}: expected an IPv4 address`);
  }
  const mac = o.mac ?? macForIp(o.address);
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(mac)) {
    throw new InvalidArgument(
      `invalid MAC address ${JSON.stringify(mac)}: expected six colon-separated hex octets`,
    );
  }
  const mtu = ["mtu", String(o.mtu ?? (await bridgeMtu(o.bridge)))];

  // One `ip link add` creates the pair, enslaves and raises the host end, and names, sizes and
  // addresses the namespace end; one `ip -batch` inside the namespace does the rest. Three
  // processes per endpoint in the common case (container start latency).
  const add = ["link", "add", o.hostIfName, ...mtu, "master", o.bridge, "up", "type", "veth"];
  add.push("peer", "name", o.ifName, ...mtu, "address", mac, "netns", o.netns);
  const added = await run("ip", add);
  if (added.code !== 0) {
    if (!/File exists/i.test(added.stderr)) throw failure("ip", add, added);
    // Set up before (idempotent call), or a stale `ifName` left in the namespace by a pair whose
    // host end had another name before a crash: replace both.
    await deleteLink(o.hostIfName);
    await run("nsenter", [`--net=${o.netns}`, "ip", "link", "del", "dev", o.ifName]);
    await runOk("ip", add);
  }
  const batch = [`addr replace ${o.address} dev ${o.ifName}`, `link set dev ${o.ifName} up`];
  if (o.gateway !== undefined)
    batch.push(`route replace default via ${stripPrefix(o.gateway)} dev ${o.ifName}`);
  try {
    await runOk("nsenter", [`--net=${o.netns}`, "ip", "-batch", "-"], { input: `${batch.join("\n")}\n` });
  } catch (err) {
    await deleteLink(o.hostIfName).catch(() => {});
    throw err;
  }
}

/**
 * bridgeMtu reads a bridge's MTU from sysfs (no `ip` process on the container start path);
 * NotFound when there is no such link.
 */
async function bridgeMtu(bridge: string): Promise<number> {
  let text: string;
  try {
    text = await readFile(`/sys/class/net/${bridge}/mtu`, "utf8");
  } catch (err) {
    if (errnoCode(err) === "ENOENT") throw new NotFound(`bridge ${bridge} not found`);
    throw err;
  }
  const mtu = Number.parseInt(text.trim(), 10);
  return Number.isInteger(mtu) && mtu > 0 ? mtu : 1500;
}

/** disconnectEndpoint deletes the veth pair by its host end (the namespace end goes with it); a missing link is success. */
export async function disconnectEndpoint(hostIfName: string): Promise<void> {
  checkIfName(hostIfName, "host interface name");
  await deleteLink(hostIfName);
}
