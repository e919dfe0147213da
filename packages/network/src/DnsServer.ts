import dgram from "node:dgram";
import { readFile } from "node:fs/promises";
import net from "node:net";
import { Conflict, errnoCode, InvalidArgument, Unavailable } from "@berth/errdefs";
import {
  CLASS_IN,
  type DnsMessage,
  DnsType,
  encodeResponse,
  Flags,
  parseMessage,
  Rcode,
} from "./dnsPacket.ts";

/** Options of {@link DnsServer.start}. */
export interface DnsServerOptions {
  /** address to listen on (UDP and TCP), usually the bridge's gateway */
  address: string;
  /** default 53; 0 picks a free port (the same one for UDP and TCP) */
  port?: number;
  /**
   * where unknown names go: "ip" (port 53) or "ip:port" / "[ipv6]:port"; default: the nameservers
   * of the host's /etc/resolv.conf
   */
  upstreams?: string[];
  /** addresses for a lower-cased name without trailing dot, or undefined when the name is not ours */
  lookup: (name: string) => string[] | undefined;
  /** per-upstream timeout of forwarded queries, default {@link FORWARD_TIMEOUT_MS} */
  forwardTimeoutMs?: number;
}

/** TTL of answers for names the server knows (docker's embedded DNS uses 600 s). */
export const DNS_TTL = 600;
/** FORWARD_TIMEOUT_MS: how long one upstream gets to answer a forwarded query. */
export const FORWARD_TIMEOUT_MS = 5_000;
/** UDP_MAX_BYTES: plain DNS over UDP (RFC 1035); larger answers are truncated with TC set. */
export const UDP_MAX_BYTES = 512;
/** TCP_IDLE_MS: a TCP client that sends nothing for this long is disconnected. */
export const TCP_IDLE_MS = 30_000;
/** MAX_ROTATION_NAMES bounds the round-robin counters kept per name. */
const MAX_ROTATION_NAMES = 10_000;

/** Upstream is a parsed resolver address. */
export interface Upstream {
  host: string;
  port: number;
}

/** parseUpstream reads "ip", "ip:port" or "[ipv6]:port"; InvalidArgument otherwise. */
export function parseUpstream(s: string): Upstream {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  const m = v6 ?? (net.isIP(s) ? [s, s, undefined] : /^([^:]+):(\d+)$/.exec(s));
  const host = m?.[1];
  const port = m?.[2] === undefined ? 53 : Number(m[2]);
  if (!host || net.isIP(host) === 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidArgument(`invalid dns upstream ${JSON.stringify(s)}: expected ip or ip:port`);
  }
  return { host, port };
}

/** listenError turns a bind failure into Conflict (port taken) or Unavailable (address missing, ...), naming the socket. */
function listenError(proto: string, address: string, port: number, err: unknown): Error {
  const where = `dns: listen ${proto} ${net.isIPv6(address) ? `[${address}]` : address}:${port}`;
  const code = errnoCode(err) ?? "error";
  if (code === "EADDRINUSE") return new Conflict(`${where}: address already in use`, { cause: err });
  return new Unavailable(`${where}: ${code}`, { cause: err });
}

/** resolvConfNameservers returns the `nameserver` entries of a resolv.conf file ([] when unreadable). */
export async function resolvConfNameservers(path = "/etc/resolv.conf"): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    const ip = m?.[1]?.replace(/%.*$/, "");
    if (ip && net.isIP(ip)) out.push(ip);
  }
  return out;
}

/**
 * DnsServer is the embedded DNS of one user network (podman's aardvark-dns, docker's 127.0.0.11):
 * it listens on UDP and TCP at the network's gateway and answers A/ANY for names `lookup` knows with
 * all their addresses, rotated per query (round robin), TTL {@link DNS_TTL}; AAAA for a known name
 * is NOERROR with no answers. Everything else is forwarded to the upstreams over the transport it
 * came on (tried in order, {@link FORWARD_TIMEOUT_MS} each); SERVFAIL when none answers. Malformed
 * packets are dropped. Lifecycle: start, then close (releases the port, drops TCP clients and
 * in-flight forwards).
 */
export class DnsServer {
  /** The port listened on (useful when 0 was asked). */
  readonly port: number;
  readonly #udp: dgram.Socket;
  readonly #tcp: net.Server;
  readonly #upstreams: Upstream[];
  readonly #lookup: (name: string) => string[] | undefined;
  readonly #timeoutMs: number;
  readonly #rotation = new Map<string, number>();
  readonly #live = new Set<{ destroy(): void }>();
  #closed = false;

  /** Internal: use {@link DnsServer.start}. */
  constructor(
    udp: dgram.Socket,
    tcp: net.Server,
    o: {
      port: number;
      upstreams: Upstream[];
      lookup: (name: string) => string[] | undefined;
      timeoutMs: number;
    },
  ) {
    this.#udp = udp;
    this.#tcp = tcp;
    this.port = o.port;
    this.#upstreams = o.upstreams;
    this.#lookup = o.lookup;
    this.#timeoutMs = o.timeoutMs;
    udp.on("message", (msg, rinfo) => {
      this.#answer(msg, "udp").then(
        (reply) => {
          if (reply && !this.#closed) udp.send(reply, rinfo.port, rinfo.address);
        },
        () => {},
      );
    });
    tcp.on("connection", (sock) => this.#serveTcp(sock));
  }

  /** start binds UDP and TCP on `address:port` and serves until {@link close}. */
  static async start(o: DnsServerOptions): Promise<DnsServer> {
    if (net.isIP(o.address) === 0)
      throw new InvalidArgument(`invalid dns listen address ${JSON.stringify(o.address)}`);
    const wanted = o.port ?? 53;
    const upstreamTexts = o.upstreams ?? (await resolvConfNameservers());
    const upstreams = upstreamTexts
      .map(parseUpstream)
      // Never forward to ourselves.
      .filter((u) => !(u.host === o.address && u.port === wanted && wanted !== 0));
    const family = net.isIPv6(o.address) ? "udp6" : "udp4";
    for (let attempt = 0; ; attempt++) {
      const udp = dgram.createSocket({ type: family });
      await new Promise<void>((resolve, reject) => {
        udp.once("error", (err) => reject(listenError("udp", o.address, wanted, err)));
        udp.bind({ address: o.address, port: wanted, exclusive: true }, () => {
          udp.off("error", reject);
          resolve();
        });
      });
      udp.on("error", () => {});
      const port = udp.address().port;
      const tcp = net.createServer({ allowHalfOpen: false });
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once("error", reject);
          tcp.listen({ host: o.address, port, exclusive: true }, () => {
            tcp.off("error", reject);
            resolve();
          });
        });
      } catch (err) {
        udp.close();
        // An ephemeral UDP port may be taken for TCP; pick another.
        if (wanted === 0 && errnoCode(err) === "EADDRINUSE" && attempt < 10) continue;
        throw listenError("tcp", o.address, port, err);
      }
      tcp.on("error", () => {});
      const finalUpstreams = upstreams.filter((u) => !(u.host === o.address && u.port === port));
      return new DnsServer(udp, tcp, {
        port,
        upstreams: finalUpstreams,
        lookup: o.lookup,
        timeoutMs: o.forwardTimeoutMs ?? FORWARD_TIMEOUT_MS,
      });
    }
  }

  /** close stops both listeners, disconnects TCP clients and abandons forwards in flight; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#live) s.destroy();
    this.#live.clear();
    await Promise.all([
      new Promise<void>((resolve) => this.#udp.close(() => resolve())),
      new Promise<void>((resolve) => this.#tcp.close(() => resolve())),
    ]);
  }

  /** Symbol.asyncDispose closes the server (`await using dns = await DnsServer.start(...)`). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #serveTcp(sock: net.Socket): void {
    this.#live.add(sock);
    sock.setTimeout(TCP_IDLE_MS, () => sock.destroy());
    sock.on("close", () => this.#live.delete(sock));
    sock.on("error", () => sock.destroy());
    let pending: Buffer = Buffer.alloc(0);
    sock.on("data", (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const len = pending.readUInt16BE(0);
        if (pending.length < 2 + len) break;
        const msg = pending.subarray(2, 2 + len);
        pending = pending.subarray(2 + len);
        this.#answer(Buffer.from(msg), "tcp").then(
          (reply) => {
            if (!reply || sock.destroyed) return;
            const prefix = Buffer.alloc(2);
            prefix.writeUInt16BE(reply.length, 0);
            sock.write(Buffer.concat([prefix, reply]));
          },
          () => {},
        );
      }
    });
  }

  /** Answers one query; undefined means drop. */
  async #answer(query: Buffer, transport: "udp" | "tcp"): Promise<Buffer | undefined> {
    let msg: DnsMessage;
    try {
      msg = parseMessage(query);
    } catch {
      return undefined;
    }
    if (msg.header.flags & Flags.QR) return undefined; // a response, not a query: never reflect it
    const maxBytes = transport === "udp" ? UDP_MAX_BYTES : 65535;
    const opcode = (msg.header.flags >> 11) & 0xf;
    if (opcode !== 0) return encodeResponse(query, msg, { rcode: Rcode.NOTIMP });
    const q = msg.questions[0];
    if (msg.questions.length !== 1 || !q) return encodeResponse(query, msg, { rcode: Rcode.FORMERR });

    if (q.class === CLASS_IN && (q.type === DnsType.A || q.type === DnsType.ANY || q.type === DnsType.AAAA)) {
      const name = q.name.toLowerCase().replace(/\.$/, "");
      let addrs: string[] | undefined;
      try {
        addrs = this.#lookup(name);
      } catch {
        return encodeResponse(query, msg, { rcode: Rcode.SERVFAIL });
      }
      if (addrs !== undefined) {
        const answers =
          q.type === DnsType.AAAA
            ? []
            : this.#rotate(
                name,
                addrs.filter((a) => net.isIPv4(a)),
              );
        return encodeResponse(query, msg, {
          rcode: Rcode.NOERROR,
          addresses: answers,
          ttl: DNS_TTL,
          authoritative: true,
          maxBytes,
        });
      }
    }
    const reply = await this.#forward(query, msg.header.id, transport);
    return reply ?? encodeResponse(query, msg, { rcode: Rcode.SERVFAIL });
  }

  #rotate(name: string, addrs: string[]): string[] {
    if (addrs.length < 2) return addrs;
    const n = this.#rotation.get(name) ?? 0;
    if (this.#rotation.size >= MAX_ROTATION_NAMES && !this.#rotation.has(name)) this.#rotation.clear();
    this.#rotation.set(name, n + 1);
    const k = n % addrs.length;
    return [...addrs.slice(k), ...addrs.slice(0, k)];
  }

  async #forward(query: Buffer, id: number, transport: "udp" | "tcp"): Promise<Buffer | undefined> {
    for (const u of this.#upstreams) {
      if (this.#closed) return undefined;
      const reply =
        transport === "udp" ? await this.#forwardUdp(u, query, id) : await this.#forwardTcp(u, query, id);
      if (reply) return reply;
    }
    return undefined;
  }

  #forwardUdp(u: Upstream, query: Buffer, id: number): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const sock = dgram.createSocket(net.isIPv6(u.host) ? "udp6" : "udp4");
      const handle = { destroy: () => finish(undefined) };
      let done = false;
      const finish = (r: Buffer | undefined) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.#live.delete(handle);
        try {
          sock.close();
        } catch {}
        resolve(r);
      };
      const timer = setTimeout(() => finish(undefined), this.#timeoutMs);
      this.#live.add(handle);
      sock.on("error", () => finish(undefined));
      sock.on("message", (reply) => {
        if (reply.length >= 12 && reply.readUInt16BE(0) === id && reply.readUInt16BE(2) & Flags.QR)
          finish(reply);
      });
      sock.connect(u.port, u.host, () => sock.send(query, (err) => err && finish(undefined)));
    });
  }

  #forwardTcp(u: Upstream, query: Buffer, id: number): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const sock = net.connect({ host: u.host, port: u.port });
      const handle = { destroy: () => finish(undefined) };
      let done = false;
      let pending: Buffer = Buffer.alloc(0);
      const finish = (r: Buffer | undefined) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.#live.delete(handle);
        sock.destroy();
        resolve(r);
      };
      const timer = setTimeout(() => finish(undefined), this.#timeoutMs);
      this.#live.add(handle);
      sock.on("error", () => finish(undefined));
      sock.on("close", () => finish(undefined));
      sock.on("data", (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        if (pending.length < 2) return;
        const len = pending.readUInt16BE(0);
        if (pending.length < 2 + len) return;
        const reply = pending.subarray(2, 2 + len);
        finish(reply.length >= 12 && reply.readUInt16BE(0) === id ? Buffer.from(reply) : undefined);
      });
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(query.length, 0);
      sock.write(Buffer.concat([prefix, query]));
    });
  }
}
