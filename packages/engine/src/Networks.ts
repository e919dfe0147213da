import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { Conflict, Forbidden, InvalidArgument, NotFound, NotImplemented } from "@berth/errdefs";
import { writeFileAtomic } from "@berth/image";
import {
  AddressPool,
  allocateAddress,
  cidrContains,
  cidrsOverlap,
  connectEndpoint,
  createNetns,
  DnsServer,
  disconnectEndpoint,
  ensureBridge,
  Firewall,
  listLinks,
  macForIp,
  networkAddress,
  nthHost,
  PortProxy,
  type PublishedPort,
  parseCidr,
  removeBridge,
  removeNetns,
  type Target,
} from "@berth/network";
import { type Events, NetworkEvent } from "./Events.ts";
import { type EtcNetwork, resolvConf, writeEtcFiles } from "./etcFiles.ts";
import { type Filters, matchAny, matchLabels } from "./filters.ts";
import { nowRFC3339Nano } from "./ids.ts";
import { KeyedLock } from "./KeyedLock.ts";
import type { ContainerRecord, EndpointSettings, PortBinding } from "./types.ts";

/** A network as the engine stores it: docker's network inspect shape, without `Containers`. */
export interface NetworkRecord {
  Name: string;
  Id: string;
  Created: string;
  Scope: "local";
  Driver: "bridge" | "host" | "null";
  EnableIPv4: boolean;
  EnableIPv6: boolean;
  IPAM: {
    Driver: string;
    Options: Record<string, string> | null;
    Config: { Subnet: string; Gateway: string }[];
  };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Options: Record<string, string>;
  Labels: Record<string, string>;
  /** The host bridge device (bridge driver). */
  bridge?: string;
  /** The subnet was given by the user (docker allows `--ip` only then). */
  userSubnet?: boolean;
}

/** Docker's `POST /networks/create` body. */
export interface NetworkCreateRequest {
  Name: string;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  EnableIPv6?: boolean;
  IPAM?: {
    Driver?: string;
    Config?: { Subnet?: string; Gateway?: string; IPRange?: string }[] | null;
    Options?: Record<string, string> | null;
  } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
  CheckDuplicate?: boolean;
  ConfigOnly?: boolean;
  ConfigFrom?: { Network?: string } | null;
  Scope?: string;
}

/** Options of {@link Networks.open}. */
export interface NetworksOptions {
  /** Engine root: records go to `<root>/networks/<id>.json`. */
  root: string;
  /** Runtime root: network namespaces are bind-mounted under `<runRoot>/n/`. */
  runRoot: string;
  /** The default bridge's device (dockerd's `--bridge`), default `berth0`. */
  bridgeName?: string;
  /** The default bridge's gateway address and prefix (dockerd's `--bip`), default `10.87.0.1/16`. */
  bridgeIp?: string;
  /** Where user networks get their subnets (dockerd's `--default-address-pool`). */
  pools?: { base: string; size: number }[];
  /** Every container record (for endpoints, DNS names and "in use" checks). */
  containers: () => ContainerRecord[];
  /** Where network events go (create, connect, disconnect, destroy). */
  events?: Events;
  log?: (msg: string) => void;
}

/** Networks every engine has; they cannot be removed. */
const PREDEFINED = ["bridge", "host", "none"] as const;
const DEFAULT_BRIDGE = "berth0";
const DEFAULT_BIP = "10.87.0.1/16";
const DEFAULT_POOLS = [{ base: "10.88.0.0/14", size: 24 }];

/**
 * Networks is the network service: docker's `bridge`, `host` and `none` networks plus user-defined
 * bridge networks, each a Linux bridge with NAT and isolation rules and an embedded DNS server on
 * its gateway; and, per running container, its network namespace, veth endpoints, addresses and
 * published ports (a userland proxy per port).
 */
export class Networks {
  readonly #o: NetworksOptions;
  readonly #dir: string;
  readonly #records = new Map<string, NetworkRecord>();
  readonly #lock = new KeyedLock();
  readonly #firewall = new Firewall();
  readonly #pool: AddressPool;
  readonly #dns = new Map<string, DnsServer>();
  /** Addresses in use per network ID (running containers and attaches in flight). */
  readonly #used = new Map<string, Set<string>>();
  /** `containerId/networkId` pairs whose disconnect event went out before their detach. */
  readonly #announced = new Set<string>();
  /** Port proxies per container ID. */
  readonly #proxies = new Map<string, PortProxy[]>();
  /** Host ports shared by the replicas of one compose service, by `hostIp:hostPort/tcp`. */
  readonly #shared = new Map<string, SharedPort>();
  /** The shared ports each container is a member of. */
  readonly #joined = new Map<string, string[]>();
  /** Whether a container may take connections of a shared port (healthy, or no healthcheck). */
  #ready: (id: string) => boolean = () => true;

  private constructor(o: NetworksOptions) {
    this.#o = o;
    this.#dir = join(o.root, "networks");
    this.#pool = new AddressPool(o.pools ?? DEFAULT_POOLS);
  }

  #log(msg: string): void {
    this.#o.log?.(msg);
  }

  #event(action: string, net: NetworkRecord, container?: string): void {
    this.#o.events?.emit(
      NetworkEvent(action, { id: net.Id, name: net.Name, type: net.Driver }, container ? { container } : {}),
    );
  }

  /**
   * open loads the networks, creates the predefined ones the first time, and brings every bridge
   * network's device, firewall rules and DNS server up (they do not survive a reboot, and a crash
   * may have left them half made).
   */
  static async open(o: NetworksOptions): Promise<Networks> {
    const n = new Networks(o);
    await mkdir(n.#dir, { recursive: true, mode: 0o700 });
    await mkdir(join(o.runRoot, "n"), { recursive: true, mode: 0o700 });
    for (const f of await readdir(n.#dir)) {
      if (!f.endsWith(".json")) continue;
      try {
        const rec = JSON.parse(await readFile(join(n.#dir, f), "utf8")) as NetworkRecord;
        n.#records.set(rec.Id, rec);
      } catch (err) {
        n.#log(`network record ${f}: ${(err as Error).message}`);
      }
    }
    await n.#ensurePredefined();
    for (const rec of n.#records.values()) {
      if (rec.Driver !== "bridge") continue;
      await n.#setUp(rec).catch((err) => n.#log(`network ${rec.Name}: ${(err as Error).message}`));
    }
    return n;
  }

  async #ensurePredefined(): Promise<void> {
    const bip = this.#o.bridgeIp ?? DEFAULT_BIP;
    const { prefix } = parseCidr(bip);
    const gateway = bip.split("/")[0] ?? "";
    const bridgeName = this.#o.bridgeName ?? DEFAULT_BRIDGE;
    for (const name of PREDEFINED) {
      const existing = [...this.#records.values()].find((r) => r.Name === name);
      if (name === "bridge") {
        const subnet = networkAddress(`${gateway}/${prefix}`);
        const want: NetworkRecord = {
          ...(existing ?? newRecord(name, "bridge")),
          IPAM: { Driver: "default", Options: null, Config: [{ Subnet: subnet, Gateway: gateway }] },
          Options: {
            "com.docker.network.bridge.default_bridge": "true",
            "com.docker.network.bridge.enable_icc": "true",
            "com.docker.network.bridge.enable_ip_masquerade": "true",
            "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
            "com.docker.network.bridge.name": bridgeName,
            "com.docker.network.driver.mtu": "1500",
          },
          bridge: bridgeName,
        };
        if (existing && JSON.stringify(existing) === JSON.stringify(want)) continue;
        if (existing?.bridge && existing.bridge !== bridgeName)
          await this.#tearDown(existing).catch(() => {});
        await this.#save(want);
      } else if (!existing) {
        await this.#save(newRecord(name, name === "host" ? "host" : "null"));
      }
    }
  }

  async #save(rec: NetworkRecord): Promise<void> {
    await writeFileAtomic(join(this.#dir, `${rec.Id}.json`), JSON.stringify(rec));
    this.#records.set(rec.Id, rec);
  }

  /** #setUp makes a bridge network's device, rules and DNS server exist (idempotent). */
  async #setUp(rec: NetworkRecord): Promise<void> {
    const cfg = rec.IPAM.Config[0];
    if (!rec.bridge || !cfg) return;
    const { prefix } = parseCidr(cfg.Subnet);
    await ensureBridge({ name: rec.bridge, gateway: `${cfg.Gateway}/${prefix}` });
    await this.#firewall.setupNetwork({ bridge: rec.bridge, subnet: cfg.Subnet, internal: rec.Internal });
    if (!this.#dns.has(rec.Id)) {
      const user = !isDefaultBridge(rec);
      const dns = await DnsServer.start({
        address: cfg.Gateway,
        lookup: (name) => (user ? this.#lookup(rec.Id, name) : undefined),
      });
      this.#dns.set(rec.Id, dns);
    }
  }

  async #tearDown(rec: NetworkRecord): Promise<void> {
    await this.#dns.get(rec.Id)?.close();
    this.#dns.delete(rec.Id);
    const cfg = rec.IPAM.Config[0];
    if (!rec.bridge || !cfg) return;
    // The rules name the bridge but do not need it: both go at once.
    await Promise.all([
      this.#firewall.teardownNetwork({ bridge: rec.bridge, subnet: cfg.Subnet }),
      removeBridge(rec.bridge),
    ]);
  }

  /** #lookup answers the embedded DNS server: running containers by name, short ID and alias. */
  #lookup(networkId: string, name: string): string[] | undefined {
    const out: string[] = [];
    for (const c of this.#o.containers()) {
      if (!c.sandboxKey || c.sandboxOwner) continue;
      for (const ep of Object.values(c.networks ?? {})) {
        if (ep.NetworkID !== networkId || !ep.IPAddress) continue;
        const names = [c.name, c.id.slice(0, 12), ...(ep.Aliases ?? []), ...(ep.DNSNames ?? [])];
        if (names.some((n) => n.toLowerCase() === name)) out.push(ep.IPAddress);
      }
    }
    return out.length > 0 ? [...new Set(out)] : undefined;
  }

  /** find resolves a network by full ID, exact name, then unique ID prefix (docker's order). */
  find(idOrName: string): NetworkRecord {
    const byId = this.#records.get(idOrName);
    if (byId) return byId;
    const all = [...this.#records.values()];
    const byName = all.find((r) => r.Name === idOrName);
    if (byName) return byName;
    if (/^[0-9a-f]+$/.test(idOrName)) {
      const m = all.filter((r) => r.Id.startsWith(idOrName));
      if (m.length === 1) return m[0]!;
      if (m.length > 1)
        throw new InvalidArgument(`network ${idOrName} is ambiguous (${m.length} matches found on name)`);
    }
    throw new NotFound(`network ${idOrName} not found`);
  }

  /** list returns docker's `GET /networks` entries, filtered (name, id, driver, label, type, dangling, scope). */
  list(filters: Filters = {}): Record<string, unknown>[] {
    const used = this.#usedNetworkIds();
    return [...this.#records.values()]
      .filter((r) => matchNetwork(r, filters, used.has(r.Id)))
      .sort((a, b) => (a.Created < b.Created ? -1 : a.Created > b.Created ? 1 : 0))
      .map((r) => this.inspect(r.Id));
  }

  /** inspect renders docker's network inspect, with the containers attached to it now. */
  inspect(idOrName: string): Record<string, unknown> {
    const rec = this.find(idOrName);
    const containers: Record<string, unknown> = {};
    for (const c of this.#o.containers()) {
      for (const ep of Object.values(c.networks ?? {})) {
        if (ep.NetworkID !== rec.Id || !ep.EndpointID) continue;
        containers[c.id] = {
          Name: c.name,
          EndpointID: ep.EndpointID,
          MacAddress: ep.MacAddress ?? "",
          IPv4Address: ep.IPAddress ? `${ep.IPAddress}/${ep.IPPrefixLen}` : "",
          IPv6Address: "",
        };
      }
    }
    const { bridge: _b, userSubnet: _u, ...view } = rec;
    return { ...view, Containers: containers };
  }

  #usedNetworkIds(): Set<string> {
    const used = new Set<string>();
    for (const c of this.#o.containers()) {
      for (const [name, ep] of Object.entries(c.networks ?? {})) {
        used.add(ep.NetworkID || this.#records.get(name)?.Id || name);
        const byName = [...this.#records.values()].find((r) => r.Name === name);
        if (byName) used.add(byName.Id);
      }
    }
    return used;
  }

  /** create makes a user-defined bridge network (docker's `network create`). */
  async create(req: NetworkCreateRequest): Promise<{ Id: string; Warning: string }> {
    const name = req.Name;
    if (!name || typeof name !== "string") throw new InvalidArgument("network name is required: pass Name");
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name))
      throw new InvalidArgument(`invalid network name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    const driver = req.Driver || "bridge";
    if (driver !== "bridge") {
      if (driver === "host" || driver === "null")
        throw new Forbidden(`only one instance of "${driver}" network is allowed`);
      throw new NotFound(`plugin "${driver}" not found`);
    }
    if (req.EnableIPv6)
      throw new NotImplemented("IPv6 networks are not supported by berth yet; leave --ipv6 off");
    if (req.ConfigOnly || req.ConfigFrom?.Network)
      throw new NotImplemented("config-only networks are not supported by berth");
    return this.#lock.run("networks", async () => {
      if ([...this.#records.values()].some((r) => r.Name === name))
        throw new Conflict(`network with name ${name} already exists`);
      const configs = req.IPAM?.Config ?? [];
      if (configs.length > 1)
        throw new NotImplemented("berth networks have one IPv4 subnet; pass at most one --subnet");
      const asked = configs[0];
      const taken = [...this.#records.values()].flatMap((r) => r.IPAM.Config.map((c) => c.Subnet));
      let subnet: string;
      if (asked?.Subnet) {
        subnet = networkAddress(asked.Subnet);
        const clash = taken.find((t) => cidrsOverlap(t, subnet));
        if (clash)
          throw new Forbidden(`invalid pool request: Pool overlaps with other one on this address space`);
      } else {
        if (asked?.Gateway)
          throw new InvalidArgument("a gateway needs a subnet: pass --subnet with --gateway");
        subnet = await this.#pool.allocate(taken);
      }
      const gateway = asked?.Gateway || nthHost(subnet, 1);
      if (!cidrContains(subnet, gateway))
        throw new InvalidArgument(`no matching subnet for gateway ${gateway}: it is outside ${subnet}`);
      const rec = newRecord(name, "bridge");
      const bridge = req.Options?.["com.docker.network.bridge.name"] ?? `br-${rec.Id.slice(0, 12)}`;
      if (bridge.length > 15) throw new InvalidArgument(`bridge name ${bridge} is longer than 15 characters`);
      Object.assign(rec, {
        IPAM: {
          Driver: req.IPAM?.Driver || "default",
          Options: req.IPAM?.Options ?? {},
          Config: [{ Subnet: subnet, Gateway: gateway }],
        },
        Internal: req.Internal === true,
        Attachable: req.Attachable === true,
        Options: req.Options ?? {},
        Labels: req.Labels ?? {},
        bridge,
        ...(asked?.Subnet ? { userSubnet: true } : {}),
      } satisfies Partial<NetworkRecord>);
      try {
        await this.#setUp(rec);
      } catch (err) {
        await this.#tearDown(rec).catch(() => {});
        throw err;
      }
      await this.#save(rec);
      this.#event("create", rec);
      return { Id: rec.Id, Warning: "" };
    });
  }

  /** remove deletes a user-defined network that no running container is attached to. */
  async remove(idOrName: string): Promise<void> {
    const rec = this.find(idOrName);
    if ((PREDEFINED as readonly string[]).includes(rec.Name))
      throw new Forbidden(`${rec.Name} is a pre-defined network and cannot be removed`);
    await this.#lock.run("networks", async () => {
      const active = this.#o
        .containers()
        .some((c) => Object.values(c.networks ?? {}).some((ep) => ep.NetworkID === rec.Id && ep.EndpointID));
      if (active)
        throw new Forbidden(
          `error while removing network: network ${rec.Name} id ${rec.Id} has active endpoints`,
        );
      await this.#tearDown(rec);
      await rm(join(this.#dir, `${rec.Id}.json`), { force: true });
      this.#records.delete(rec.Id);
      this.#used.delete(rec.Id);
      this.#event("destroy", rec);
    });
  }

  /** prune removes user-defined networks no container refers to (filters: until, label). */
  async prune(filters: Filters = {}): Promise<{ NetworksDeleted: string[] }> {
    const used = this.#usedNetworkIds();
    const deleted: string[] = [];
    for (const rec of [...this.#records.values()]) {
      if ((PREDEFINED as readonly string[]).includes(rec.Name) || used.has(rec.Id)) continue;
      if (!matchLabels(filters.label, rec.Labels)) continue;
      const until = filters.until?.[0];
      if (until && Date.parse(rec.Created) >= untilMs(until)) continue;
      try {
        await this.remove(rec.Id);
        deleted.push(rec.Name);
      } catch (err) {
        this.#log(`prune network ${rec.Name}: ${(err as Error).message}`);
      }
    }
    return { NetworksDeleted: deleted };
  }

  /**
   * endpointsFor resolves a create request's network mode and endpoint configs into the
   * container's `networks` (by network name), with docker's checks: the network exists, aliases
   * and static addresses only on user networks, a static address inside a user-given subnet.
   */
  endpointsFor(
    mode: string,
    endpoints: Record<string, EndpointSettings | null | undefined> = {},
  ): Record<string, EndpointSettings> {
    if (mode === "host" || mode === "none" || mode.startsWith("container:")) return {};
    // As dockerd, a network that does not exist (yet) fails the start, not the create.
    const lookup = (name: string) => {
      try {
        return this.find(name);
      } catch {
        return undefined;
      }
    };
    const primaryName = mode === "default" ? "bridge" : mode;
    const primary = lookup(primaryName);
    const out: Record<string, EndpointSettings> = {};
    const asked =
      endpoints[mode] ?? endpoints[primaryName] ?? (primary ? endpoints[primary.Id] : undefined) ?? {};
    out[primary?.Name ?? primaryName] = this.#endpointConfig(primary, asked);
    for (const [key, cfg] of Object.entries(endpoints)) {
      if (key === mode || key === primaryName) continue;
      const n = lookup(key);
      if (n && n.Id === primary?.Id) continue;
      out[n?.Name ?? key] = this.#endpointConfig(n, cfg ?? {});
    }
    return out;
  }

  #endpointConfig(net: NetworkRecord | undefined, cfg: EndpointSettings): EndpointSettings {
    if (net && net.Driver !== "bridge")
      throw new InvalidArgument(`container cannot be connected to network ${net.Name}`);
    const user = !net || !isDefaultBridge(net);
    if (!user && cfg.Aliases && cfg.Aliases.length > 0)
      throw new InvalidArgument(
        "network-scoped alias is supported only for containers in user defined networks",
      );
    const ip = cfg.IPAMConfig?.IPv4Address;
    if (ip && net) {
      if (!user || !net.userSubnet)
        throw new InvalidArgument(
          "user specified IP address is supported only when connecting to networks with user configured subnets",
        );
      const subnet = net.IPAM.Config[0]?.Subnet ?? "";
      if (!cidrContains(subnet, ip))
        throw new InvalidArgument(`no configured subnet contains IP address ${ip}`);
    }
    return {
      IPAMConfig: cfg.IPAMConfig ?? null,
      Links: cfg.Links ?? null,
      Aliases: cfg.Aliases && cfg.Aliases.length > 0 ? [...cfg.Aliases] : null,
      MacAddress: "",
      DriverOpts: cfg.DriverOpts ?? null,
      NetworkID: net?.Id ?? "",
      EndpointID: "",
      Gateway: "",
      IPAddress: "",
      IPPrefixLen: 0,
      IPv6Gateway: "",
      GlobalIPv6Address: "",
      GlobalIPv6PrefixLen: 0,
      DNSNames: null,
    };
  }

  /**
   * attach gives a starting container its network: a new namespace with one veth per network
   * (eth0 first, default route via the first network's gateway), addresses, /etc files, and a
   * proxy per published port. On failure everything made so far is released.
   */
  async attach(rec: ContainerRecord, sandboxOf: (id: string) => ContainerRecord): Promise<void> {
    const mode = rec.hostConfig.NetworkMode ?? "default";
    if (mode.startsWith("container:")) {
      const other = sandboxOf(mode.slice("container:".length));
      if (!other.sandboxKey || other.state.status !== "running")
        throw new Conflict(`cannot join network of a non running container: ${other.id}`);
      rec.sandboxKey = other.sandboxKey;
      rec.sandboxOwner = other.id;
      return;
    }
    if (mode === "host" || mode === "none" || !rec.networks || Object.keys(rec.networks).length === 0) {
      await writeEtcFiles(rec);
      return;
    }
    const path = join(this.#o.runRoot, "n", rec.id.slice(0, 20));
    try {
      await createNetns(path);
      rec.sandboxKey = path;
      let i = 0;
      let etc: EtcNetwork = {};
      for (const [name, ep] of Object.entries(rec.networks)) {
        const net = this.#records.get(ep.NetworkID ?? "") ?? this.find(name);
        await this.#plug(rec, net, ep, i);
        if (i === 0) {
          etc = {
            ip: ep.IPAddress ?? "",
            gateway: ep.Gateway ?? "",
            dnsServer: ep.Gateway ?? "",
            embeddedDns: !isDefaultBridge(net),
          };
        }
        i++;
      }
      await writeEtcFiles(rec, etc);
      await this.#publish(rec);
    } catch (err) {
      await this.detach(rec);
      throw err;
    }
  }

  /**
   * sandbox gives a build step (`RUN`) a network: a new namespace plugged into the default
   * `bridge` network as `eth0` with a default route, and the /etc/resolv.conf and /etc/hosts
   * contents for it (the host's non-loopback resolvers, falling back to the bridge's DNS server;
   * localhost plus `buildkitsandbox` at its address). `release` removes the veth, the address
   * and the namespace, and may be called more than once. A crash leaves at most a namespace
   * under the runtime root, which {@link sweep} removes.
   */
  async sandbox(
    id: string,
  ): Promise<{ netns: string; resolvConf: string; hosts: string; release(): Promise<void> }> {
    const net = this.find("bridge");
    const hex = randomBytes(5).toString("hex");
    const path = join(this.#o.runRoot, "n", `b-${hex}`);
    // A record shaped enough for #plug: the veth is named from `id`, the namespace is `path`.
    const rec = { id: hex, name: id, sandboxKey: path, hostConfig: {} } as unknown as ContainerRecord;
    const ep = this.#endpointConfig(net, {});
    let released = false;
    const release = async () => {
      if (released) return;
      released = true;
      if (ep.hostIfName) await disconnectEndpoint(ep.hostIfName).catch(() => {});
      if (ep.IPAddress) this.#used.get(net.Id)?.delete(ep.IPAddress);
      await removeNetns(path).catch((err) => this.#log(`netns ${path}: ${(err as Error).message}`));
    };
    try {
      await createNetns(path);
      await this.#plug(rec, net, ep, 0);
      const hostResolv = await readFile("/etc/resolv.conf", "utf8").catch(() => "");
      const resolv = resolvConf(hostResolv, rec, { dnsServer: ep.Gateway ?? "", embeddedDns: false });
      const hosts = [
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        `${ep.IPAddress}\tbuildkitsandbox`,
        "",
      ].join("\n");
      return { netns: path, resolvConf: resolv, hosts, release };
    } catch (err) {
      await release();
      throw err;
    }
  }

  /** #plug connects the container's namespace to one network as `eth<index>`. */
  async #plug(rec: ContainerRecord, net: NetworkRecord, ep: EndpointSettings, index: number): Promise<void> {
    const cfg = net.IPAM.Config[0];
    if (!cfg || !net.bridge) throw new InvalidArgument(`network ${net.Name} has no subnet to attach to`);
    // A network removed and re-created under the same name since the container was created.
    ep.NetworkID = net.Id;
    const used = this.#usedSet(net.Id);
    const ip = allocateAddress(cfg.Subnet, used, {
      gateway: cfg.Gateway,
      ...(ep.IPAMConfig?.IPv4Address ? { requested: ep.IPAMConfig.IPv4Address } : {}),
    });
    used.add(ip);
    const { prefix } = parseCidr(cfg.Subnet);
    const hostIfName = `vb${rec.id.slice(0, 10)}${index.toString(16)}`;
    const mac = macForIp(ip);
    try {
      await connectEndpoint({
        netns: rec.sandboxKey ?? "",
        bridge: net.bridge,
        hostIfName,
        ifName: `eth${index}`,
        address: `${ip}/${prefix}`,
        ...(index === 0 ? { gateway: cfg.Gateway } : {}),
        mac,
      });
    } catch (err) {
      used.delete(ip);
      throw err;
    }
    Object.assign(ep, {
      EndpointID: randomBytes(32).toString("hex"),
      Gateway: cfg.Gateway,
      IPAddress: ip,
      IPPrefixLen: prefix,
      MacAddress: mac,
      DNSNames: isDefaultBridge(net) ? null : [rec.name, rec.id.slice(0, 12), ...(ep.Aliases ?? [])],
      hostIfName,
    } satisfies EndpointSettings);
    // Containers only (build sandboxes have no config), as dockerd reports endpoints joining.
    if (rec.config) this.#event("connect", net, rec.id);
  }

  #usedSet(networkId: string): Set<string> {
    let s = this.#used.get(networkId);
    if (!s) {
      s = new Set();
      this.#used.set(networkId, s);
    }
    return s;
  }

  /** #publish opens a proxy for every published port (`-p`, and `-P` for exposed ports). */
  /** setReadiness tells shared ports which replicas may take connections (the health service's view). */
  setReadiness(ready: (id: string) => boolean): void {
    this.#ready = ready;
  }

  /**
   * #share makes a replica of a compose service a member of the host port its service publishes:
   * the first replica binds it, later ones join, and each new connection goes to the next ready
   * member (the seed's `replicas: 5` with `ports: "4000:80"` on one host). Another owner of the
   * port gets docker's "port is already allocated".
   */
  async #share(
    rec: ContainerRecord,
    group: string,
    hostIp: string,
    hostPort: number,
    target: Target,
  ): Promise<void> {
    const key = `${hostIp}:${hostPort}/tcp`;
    let sp = this.#shared.get(key);
    if (sp && sp.group !== group)
      throw new Conflict(`Bind for ${hostIp}:${hostPort} failed: port is already allocated`);
    if (!sp) {
      const members = new Map<string, Target>();
      const proxy = await PortProxy.listen(
        { proto: "tcp", hostIp, hostPort, targetIp: target.ip, targetPort: target.port },
        { targets: () => this.#pick(members) },
      );
      sp = { group, proxy, members };
      this.#shared.set(key, sp);
    }
    sp.members.set(rec.id, target);
    this.#joined.set(rec.id, [...(this.#joined.get(rec.id) ?? []), key]);
  }

  #pick(members: Map<string, Target>): Target[] {
    const all = [...members.entries()];
    const ready = all.filter(([id]) => this.#ready(id));
    return (ready.length > 0 ? ready : all).map(([, t]) => t);
  }

  async #leaveShared(id: string): Promise<void> {
    for (const key of this.#joined.get(id) ?? []) {
      const sp = this.#shared.get(key);
      if (!sp) continue;
      sp.members.delete(id);
      if (sp.members.size > 0) continue;
      this.#shared.delete(key);
      await sp.proxy.close().catch(() => {});
    }
    this.#joined.delete(id);
  }

  async #publish(rec: ContainerRecord): Promise<void> {
    const target = Object.values(rec.networks ?? {})[0]?.IPAddress;
    const bindings = wantedPorts(rec);
    const ports: Record<string, PortBinding[]> = {};
    const proxies: PortProxy[] = [];
    this.#proxies.set(rec.id, proxies);
    const group = replicaGroup(rec);
    for (const [key, list] of Object.entries(bindings)) {
      const [portStr, proto = "tcp"] = key.split("/");
      const containerPort = Number(portStr);
      if (list.length === 0 || !target) continue;
      ports[key] = [];
      for (const b of list) {
        if (group && proto === "tcp" && /^\d+$/.test(b.HostPort)) {
          const hostIp = b.HostIp || "0.0.0.0";
          await this.#share(rec, group, hostIp, Number(b.HostPort), { ip: target, port: containerPort });
          ports[key].push({ HostIp: hostIp, HostPort: b.HostPort });
          continue;
        }
        const p = await listenInRange({
          proto: proto === "udp" ? "udp" : "tcp",
          hostIp: b.HostIp || "0.0.0.0",
          hostPort: b.HostPort,
          targetIp: target,
          targetPort: containerPort,
        });
        proxies.push(p);
        ports[key].push({ HostIp: p.binding.hostIp, HostPort: String(p.binding.hostPort) });
      }
    }
    rec.ports = ports;
    for (const f of this.#forwards(rec)) await this.#firewall.publishPort(f);
  }

  /**
   * #forwards lists the kernel forwarding rules of the container's published ports: each goes to
   * its address on its first network (the proxy bound to the port serves what the rules miss).
   */
  #forwards(rec: ContainerRecord): PublishedPort[] {
    const [name, ep] = Object.entries(rec.networks ?? {})[0] ?? [];
    if (!name || !ep?.IPAddress || !rec.ports) return [];
    const bridge = (this.#records.get(ep.NetworkID ?? "") ?? this.#byName(name))?.bridge;
    if (!bridge) return [];
    const out: PublishedPort[] = [];
    for (const [key, list] of Object.entries(rec.ports)) {
      const [port, proto = "tcp"] = key.split("/");
      if (proto !== "tcp" && proto !== "udp") continue;
      for (const b of list) {
        // Shared ports are spread by their proxy, not forwarded to one replica by the kernel.
        if (this.#joined.get(rec.id)?.includes(`${b.HostIp}:${b.HostPort}/${proto}`)) continue;
        out.push({
          bridge,
          proto,
          hostIp: b.HostIp,
          hostPort: Number(b.HostPort),
          targetIp: ep.IPAddress,
          targetPort: Number(port),
        });
      }
    }
    return out;
  }

  #byName(name: string): NetworkRecord | undefined {
    return [...this.#records.values()].find((r) => r.Name === name);
  }

  /**
   * announceDetach emits the disconnect events of a container whose endpoints are about to be
   * released, for a removal that is reported before its clean-up runs (`--rm`): docker's order
   * is die, disconnect, destroy. The later {@link detach} does not emit them again.
   */
  announceDetach(rec: ContainerRecord): void {
    if (!rec.config) return;
    for (const ep of Object.values(rec.networks ?? {})) {
      const net = ep.EndpointID ? this.#records.get(ep.NetworkID ?? "") : undefined;
      if (net === undefined) continue;
      this.#event("disconnect", net, rec.id);
      this.#announced.add(`${rec.id}/${net.Id}`);
    }
  }

  /**
   * detach releases what attach made: proxies, veths, addresses and the namespace. Safe to call
   * twice and after a crash (everything it removes may already be gone).
   */
  async detach(rec: ContainerRecord): Promise<void> {
    for (const f of this.#forwards(rec)) {
      await this.#firewall
        .unpublishPort(f)
        .catch((err) => this.#log(`port ${f.hostPort}: ${(err as Error).message}`));
    }
    for (const p of this.#proxies.get(rec.id) ?? []) await p.close().catch(() => {});
    this.#proxies.delete(rec.id);
    await this.#leaveShared(rec.id);
    for (const ep of Object.values(rec.networks ?? {})) {
      if (ep.hostIfName)
        await disconnectEndpoint(ep.hostIfName).catch((err) =>
          this.#log(`veth ${ep.hostIfName}: ${(err as Error).message}`),
        );
      if (ep.IPAddress && ep.NetworkID) this.#used.get(ep.NetworkID)?.delete(ep.IPAddress);
      const net = ep.EndpointID ? this.#records.get(ep.NetworkID ?? "") : undefined;
      if (net && rec.config && !this.#announced.delete(`${rec.id}/${net.Id}`))
        this.#event("disconnect", net, rec.id);
      clearEndpoint(ep);
    }
    if (rec.sandboxKey && !rec.sandboxOwner)
      await removeNetns(rec.sandboxKey).catch((err) =>
        this.#log(`netns ${rec.sandboxKey}: ${(err as Error).message}`),
      );
    delete rec.sandboxKey;
    delete rec.sandboxOwner;
    delete rec.ports;
  }

  /**
   * adopt takes back a container that kept running while no daemon was up: its addresses count as
   * used again and its published ports get their proxies back, on the same host ports.
   */
  async adopt(rec: ContainerRecord): Promise<void> {
    for (const ep of Object.values(rec.networks ?? {})) {
      if (ep.IPAddress && ep.NetworkID) this.#usedSet(ep.NetworkID).add(ep.IPAddress);
    }
    if (!rec.sandboxKey || rec.sandboxOwner) return;
    const target = Object.values(rec.networks ?? {})[0]?.IPAddress;
    const proxies: PortProxy[] = [];
    this.#proxies.set(rec.id, proxies);
    const group = replicaGroup(rec);
    for (const [key, list] of Object.entries(rec.ports ?? {})) {
      const [portStr, proto = "tcp"] = key.split("/");
      const fixed = new Set(
        (wantedPorts(rec)[key] ?? []).map((b) => b.HostPort).filter((p) => /^\d+$/.test(p)),
      );
      for (const b of list) {
        if (!target) continue;
        try {
          if (group && proto === "tcp" && fixed.has(b.HostPort)) {
            await this.#share(rec, group, b.HostIp, Number(b.HostPort), {
              ip: target,
              port: Number(portStr),
            });
            continue;
          }
          proxies.push(
            await PortProxy.listen({
              proto: proto === "udp" ? "udp" : "tcp",
              hostIp: b.HostIp,
              hostPort: Number(b.HostPort),
              targetIp: target,
              targetPort: Number(portStr),
            }),
          );
        } catch (err) {
          this.#log(`port ${b.HostIp}:${b.HostPort} of ${rec.id}: ${(err as Error).message}`);
        }
      }
    }
    for (const f of this.#forwards(rec)) {
      await this.#firewall
        .publishPort(f)
        .catch((err) => this.#log(`port ${f.hostPort}: ${(err as Error).message}`));
    }
  }

  /**
   * connect attaches a container to one more network (docker's `network connect`): recorded for a
   * stopped container, plugged in at once for a running one. The caller holds the container's lock
   * and saves the record.
   */
  async connect(rec: ContainerRecord, idOrName: string, cfg: EndpointSettings = {}): Promise<void> {
    const net = this.find(idOrName);
    const mode = rec.hostConfig.NetworkMode ?? "default";
    if (mode === "host" || mode === "none" || mode.startsWith("container:"))
      throw new Forbidden(
        `container sharing network namespace with another container or host cannot be connected to any other network`,
      );
    rec.networks ??= {};
    if (rec.networks[net.Name])
      throw new Forbidden(`endpoint with name ${rec.name} already exists in network ${net.Name}`);
    const ep = this.#endpointConfig(net, cfg);
    if (rec.state.status === "running" && rec.sandboxKey && !rec.sandboxOwner) {
      await this.#plug(rec, net, ep, Object.keys(rec.networks).length);
    }
    rec.networks[net.Name] = ep;
  }

  /** disconnect detaches a container from a network (docker's `network disconnect`). */
  async disconnect(rec: ContainerRecord, idOrName: string, force = false): Promise<void> {
    let name: string | undefined;
    try {
      const net = this.find(idOrName);
      name = Object.keys(rec.networks ?? {}).find(
        (k) => k === net.Name || rec.networks?.[k]?.NetworkID === net.Id,
      );
    } catch (err) {
      if (!force) throw err;
      name = idOrName;
    }
    const ep = name ? rec.networks?.[name] : undefined;
    if (!name || !ep) throw new Forbidden(`container ${rec.id} is not connected to network ${idOrName}`);
    if (ep.hostIfName) await disconnectEndpoint(ep.hostIfName).catch(() => {});
    if (ep.IPAddress && ep.NetworkID) this.#used.get(ep.NetworkID)?.delete(ep.IPAddress);
    const net = ep.EndpointID ? this.#records.get(ep.NetworkID ?? "") : undefined;
    if (net) this.#event("disconnect", net, rec.id);
    delete rec.networks?.[name];
  }

  /** sweep removes what a crash left behind: namespaces of containers that no longer run, stray rules. */
  async sweep(): Promise<void> {
    const keep = new Set(
      this.#o
        .containers()
        .map((c) => c.sandboxKey)
        .filter(Boolean),
    );
    const dir = join(this.#o.runRoot, "n");
    for (const f of await readdir(dir).catch(() => [] as string[])) {
      const p = join(dir, f);
      if (!keep.has(p))
        await removeNetns(p).catch((err) => this.#log(`netns ${p}: ${(err as Error).message}`));
    }
    const links = (await listLinks()).map((l) => l.name);
    await this.#firewall.sweep(links).catch((err) => this.#log(`firewall sweep: ${(err as Error).message}`));
  }

  /**
   * destroy removes every bridge network's device, rules and DNS server from the host, keeping the
   * records (a later open makes them again). For embedded engines that should leave the host as
   * they found it, e.g. tests; no container may be running.
   */
  async destroy(): Promise<void> {
    await this.close();
    for (const rec of this.#records.values()) {
      if (rec.Driver === "bridge")
        await this.#tearDown(rec).catch((err) => this.#log(`network ${rec.Name}: ${(err as Error).message}`));
    }
  }

  /** close stops the DNS servers and proxies (containers keep running; a new daemon re-opens them). */
  async close(): Promise<void> {
    for (const d of this.#dns.values()) await d.close().catch(() => {});
    this.#dns.clear();
    for (const list of this.#proxies.values()) for (const p of list) await p.close().catch(() => {});
    this.#proxies.clear();
  }
}

function newRecord(name: string, driver: NetworkRecord["Driver"]): NetworkRecord {
  return {
    Name: name,
    Id: randomBytes(32).toString("hex"),
    Created: nowRFC3339Nano(),
    Scope: "local",
    Driver: driver,
    EnableIPv4: true,
    EnableIPv6: false,
    IPAM: { Driver: "default", Options: null, Config: [] },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: "" },
    ConfigOnly: false,
    Options: {},
    Labels: {},
  };
}

function isDefaultBridge(rec: NetworkRecord): boolean {
  return rec.Name === "bridge";
}

function clearEndpoint(ep: EndpointSettings): void {
  Object.assign(ep, {
    EndpointID: "",
    Gateway: "",
    IPAddress: "",
    IPPrefixLen: 0,
    MacAddress: "",
    DNSNames: null,
  });
  delete ep.hostIfName;
}

/** wantedPorts merges `-p` bindings with `-P` (every exposed port on an ephemeral host port). */
function wantedPorts(rec: ContainerRecord): Record<string, PortBinding[]> {
  const out: Record<string, PortBinding[]> = {};
  for (const [k, v] of Object.entries(rec.hostConfig.PortBindings ?? {})) {
    if (v && v.length > 0)
      out[normPort(k)] = v.map((b) => ({ HostIp: b.HostIp ?? "", HostPort: b.HostPort ?? "" }));
  }
  if (rec.hostConfig.PublishAllPorts) {
    for (const k of Object.keys(rec.config.ExposedPorts ?? {})) {
      const key = normPort(k);
      if (!out[key]) out[key] = [{ HostIp: "", HostPort: "" }];
    }
  }
  return out;
}

/** A host port bound once and spread over the members of a compose service. */
interface SharedPort {
  group: string;
  proxy: PortProxy;
  members: Map<string, Target>;
}

/** replicaGroup names the compose service a container is a replica of (docker compose's labels). */
function replicaGroup(rec: ContainerRecord): string | undefined {
  const l = rec.config.Labels ?? {};
  const project = l["com.docker.compose.project"];
  const service = l["com.docker.compose.service"];
  if (!project || !service || l["com.docker.compose.oneoff"] === "True") return undefined;
  return `${project}/${service}`;
}

function normPort(k: string): string {
  return k.includes("/") ? k : `${k}/tcp`;
}

/** listenInRange binds a proxy on a fixed port, the first free port of a range, or an ephemeral one. */
async function listenInRange(b: {
  proto: "tcp" | "udp";
  hostIp: string;
  hostPort: string;
  targetIp: string;
  targetPort: number;
}): Promise<PortProxy> {
  const m = /^(\d+)(?:-(\d+))?$/.exec(b.hostPort);
  const base = { proto: b.proto, hostIp: b.hostIp, targetIp: b.targetIp, targetPort: b.targetPort };
  if (!m) {
    if (b.hostPort !== "")
      throw new InvalidArgument(`invalid host port ${b.hostPort}: expected a number or a range`);
    return PortProxy.listen({ ...base, hostPort: 0 });
  }
  const lo = Number(m[1]);
  const hi = m[2] ? Number(m[2]) : lo;
  let last: unknown;
  for (let p = lo; p <= hi; p++) {
    try {
      return await PortProxy.listen({ ...base, hostPort: p });
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

function untilMs(v: string): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new InvalidArgument(`invalid until filter ${v}: expected a timestamp`);
  return t;
}

/** matchNetwork applies docker's network list filters. */
function matchNetwork(r: NetworkRecord, f: Filters, used: boolean): boolean {
  const any = (key: string, pred: (v: string) => boolean) => matchAny(f[key], pred);
  const builtin = (PREDEFINED as readonly string[]).includes(r.Name);
  return (
    any("name", (v) => r.Name.includes(v)) &&
    any("id", (v) => r.Id.startsWith(v)) &&
    any("driver", (v) => r.Driver === v) &&
    any("scope", (v) => v === "local") &&
    any("type", (v) => (v === "builtin" ? builtin : v === "custom" ? !builtin : false)) &&
    any("dangling", (v) => (v === "true" || v === "1" ? !used && !builtin : used || builtin)) &&
    matchLabels(f.label, r.Labels)
  );
}
