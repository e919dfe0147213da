import { readFile, writeFile } from "node:fs/promises";
import type { ContainerRecord } from "./types.ts";

/** What the container's network gives its /etc files, once it is attached. */
export interface EtcNetwork {
  /** The container's address on its first network ("" on none and host). */
  ip?: string;
  /** The gateway of its first network (for `host-gateway` in --add-host). */
  gateway?: string;
  /** An embedded DNS server the container should use (user networks, or no usable host resolver). */
  dnsServer?: string;
  /** Whether names of other containers resolve through `dnsServer` (user networks). */
  embeddedDns?: boolean;
}

const BASE_HOSTS = [
  "127.0.0.1\tlocalhost",
  "::1\tlocalhost ip6-localhost ip6-loopback",
  "fe00::0\tip6-localnet",
  "ff00::0\tip6-mcastprefix",
  "ff02::1\tip6-allnodes",
  "ff02::2\tip6-allrouters",
];

/**
 * writeEtcFiles writes the container's /etc/hostname, /etc/hosts and /etc/resolv.conf as docker
 * does: on the host network the host's own files; otherwise localhost entries, the container's
 * address under its hostname, `--add-host` entries, and a resolv.conf that points at the
 * network's embedded DNS server (user networks) or at the host's non-loopback resolvers.
 */
export async function writeEtcFiles(rec: ContainerRecord, net: EtcNetwork = {}): Promise<void> {
  const hc = rec.hostConfig;
  const hostname = rec.config.Hostname ?? rec.id.slice(0, 12);
  const fqdn = rec.config.Domainname ? `${hostname}.${rec.config.Domainname}` : "";
  await writeFile(rec.hostnamePath, `${hostname}\n`);
  const hostResolv = await readOr("/etc/resolv.conf");
  if (hc.NetworkMode === "host") {
    await writeFile(rec.hostsPath, await readOr("/etc/hosts"));
    await writeFile(rec.resolvConfPath, hostResolv);
    return;
  }
  const hosts = [...BASE_HOSTS];
  for (const extra of hc.ExtraHosts ?? []) {
    const i = extra.indexOf(":");
    if (i <= 0) continue;
    const ip = extra.slice(i + 1) === "host-gateway" ? (net.gateway ?? "") : extra.slice(i + 1);
    if (ip) hosts.push(`${ip}\t${extra.slice(0, i)}`);
  }
  const names = fqdn ? `${fqdn} ${hostname}` : hostname;
  hosts.push(net.ip ? `${net.ip}\t${names}` : `127.0.1.1\t${names}`);
  await writeFile(rec.hostsPath, `${hosts.join("\n")}\n`);
  await writeFile(rec.resolvConfPath, resolvConf(hostResolv, rec, net));
}

/** resolvConf derives the container's resolv.conf from the host's and the container's DNS flags. */
export function resolvConf(host: string, rec: ContainerRecord, net: EtcNetwork): string {
  const hc = rec.hostConfig;
  const lines = host.split("\n");
  const field = (name: string) =>
    lines
      .filter((l) => l.trim().startsWith(`${name} `) || l.trim().startsWith(`${name}\t`))
      .map((l) => l.trim().slice(name.length).trim());
  const hostServers = field("nameserver").filter((s) => !/^(127\.|::1$)/.test(s));
  let servers: string[];
  if (net.embeddedDns && net.dnsServer) servers = [net.dnsServer];
  else if (hc.Dns && hc.Dns.length > 0) servers = hc.Dns;
  else if (hostServers.length > 0) servers = hostServers;
  else servers = net.dnsServer ? [net.dnsServer] : [];
  const search = hc.DnsSearch && hc.DnsSearch.length > 0 ? hc.DnsSearch.join(" ") : field("search").at(-1);
  const options = [
    ...(hc.DnsOptions && hc.DnsOptions.length > 0
      ? hc.DnsOptions
      : (field("options").at(-1)?.split(/\s+/) ?? [])),
  ];
  if (net.embeddedDns && !options.some((o) => o.startsWith("ndots:"))) options.push("ndots:0");
  const out = [
    ...servers.map((s) => `nameserver ${s}`),
    ...(search ? [`search ${search}`] : []),
    ...(options.length > 0 ? [`options ${options.join(" ")}`] : []),
  ];
  return out.length > 0 ? `${out.join("\n")}\n` : "";
}

async function readOr(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return "";
  }
}
