import dgram from "node:dgram";
import net from "node:net";
import { Conflict, errnoCode, InvalidArgument } from "@berth/errdefs";

/** PortBinding is one published port: host side (`hostIp:hostPort`) to container side (`targetIp:targetPort`). */
export interface PortBinding {
  proto: "tcp" | "udp";
  /** "0.0.0.0" (all IPv4; "" means the same), "::" (IPv6 only) or one address */
  hostIp: string;
  /** 0 asks for an ephemeral port; {@link PortProxy.binding} reports the one chosen */
  hostPort: number;
  targetIp: string;
  targetPort: number;
}

/** UDP_IDLE_MS: a UDP client's upstream socket is closed after this long without traffic either way (docker-proxy: 90 s; conntrack's udp timeout is 30 s). */
export const UDP_IDLE_MS = 30_000;

/** UDP_MAX_CLIENTS bounds the upstream sockets one UDP proxy keeps open (each holds a file descriptor). */
export const UDP_MAX_CLIENTS = 1024;

function checkBinding(b: PortBinding): void {
  const port = (p: number, what: string, zeroOk: boolean) => {
    if (!Number.isInteger(p) || p < (zeroOk ? 0 : 1) || p > 65535) {
      throw new InvalidArgument(`invalid ${what} ${p}: expected ${zeroOk ? 0 : 1}..65535`);
    }
  };
  if (b.proto !== "tcp" && b.proto !== "udp")
    throw new InvalidArgument(`invalid protocol ${JSON.stringify(b.proto)}: expected tcp or udp`);
  if (net.isIP(b.hostIp) === 0) throw new InvalidArgument(`invalid host IP ${JSON.stringify(b.hostIp)}`);
  if (net.isIP(b.targetIp) === 0)
    throw new InvalidArgument(`invalid target IP ${JSON.stringify(b.targetIp)}`);
  port(b.hostPort, "host port", true);
  port(b.targetPort, "target port", false);
}

function hostLabel(ip: string, port: number): string {
  return net.isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function bindError(b: PortBinding, err: unknown): Error {
  if (errnoCode(err) === "EADDRINUSE") {
    return new Conflict(`Bind for ${hostLabel(b.hostIp, b.hostPort)} failed: port is already allocated`, {
      cause: err,
    });
  }
  if (errnoCode(err) === "EADDRNOTAVAIL") {
    return new InvalidArgument(
      `Bind for ${hostLabel(b.hostIp, b.hostPort)} failed: cannot assign requested address`,
      { cause: err },
    );
  }
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * PortProxy is docker-proxy in-process: it listens on the host side of one published port and
 * relays to the container. TCP connections are piped both ways with Node's stream pipe (no
 * per-chunk JS beyond it), a FIN from one side ends only that direction (half-close), an error on
 * either side destroys both, and a refused target closes the client. UDP keeps one upstream socket
 * per client address, closed after {@link UDP_IDLE_MS} idle, and replies leave from the listening
 * socket. Lifecycle: {@link PortProxy.listen} binds (Conflict when the port is taken), {@link close}
 * releases the port and cuts every live connection and session.
 */
export class PortProxy {
  /** The binding served; `hostPort` is the port actually bound when 0 was asked. */
  readonly binding: PortBinding;
  readonly #close: () => Promise<void>;

  /** Internal: use {@link PortProxy.listen}. */
  constructor(binding: PortBinding, close: () => Promise<void>) {
    this.binding = binding;
    this.#close = close;
  }

  /**
   * listen binds the host side and starts relaying; Conflict "Bind for 0.0.0.0:4000 failed: port
   * is already allocated" when taken. With `targets` (TCP only), each new connection goes to the
   * next of the addresses it returns at that moment (round robin; a refused one is skipped), so one
   * published port can spread connections over several containers; `binding.targetIp`/`targetPort`
   * are then only the first target, for display.
   */
  static async listen(binding: PortBinding, opts: { targets?: () => Target[] } = {}): Promise<PortProxy> {
    // docker's API leaves HostIp empty for "all IPv4 addresses".
    const b = binding.hostIp === "" ? { ...binding, hostIp: "0.0.0.0" } : binding;
    checkBinding(b);
    if (opts.targets && b.proto !== "tcp")
      throw new InvalidArgument("a port spread over several targets must be tcp");
    return b.proto === "tcp" ? listenTcp(b, opts.targets) : listenUdp(b);
  }

  /** close stops listening and destroys every live connection (TCP) or session (UDP); idempotent. */
  async close(): Promise<void> {
    await this.#close();
  }

  /** Symbol.asyncDispose closes the proxy (`await using proxy = await PortProxy.listen(...)`). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** One address a spread port relays to. */
export interface Target {
  ip: string;
  port: number;
}

/** relay pipes a client connection and its upstream both ways until either side fails. */
function relay(client: net.Socket, upstream: net.Socket, live: Set<net.Socket>): void {
  live.add(client);
  live.add(upstream);
  let done = false;
  const kill = () => {
    if (done) return;
    done = true;
    client.destroy();
    upstream.destroy();
  };
  client.on("error", kill);
  upstream.on("error", kill);
  client.on("close", () => live.delete(client));
  upstream.on("close", () => live.delete(upstream));
  // pipe() ends the destination when the source ends: exactly a half-close, one direction.
  client.pipe(upstream);
  upstream.pipe(client);
}

/**
 * spread connects a client to the next target that accepts (round robin from `start`); the
 * client's bytes wait paused meanwhile. Returns the index after the one used.
 */
function spread(
  client: net.Socket,
  list: Target[],
  start: number,
  live: Set<net.Socket>,
  done: (next: number) => void,
): void {
  client.pause();
  live.add(client);
  client.on("close", () => live.delete(client));
  const onClientError = () => client.destroy();
  client.on("error", onClientError);
  const attempt = (i: number) => {
    if (client.destroyed) return;
    if (i >= list.length) {
      client.destroy();
      return;
    }
    const t = list[(start + i) % list.length] as Target;
    const upstream = net.connect({ host: t.ip, port: t.port, allowHalfOpen: true, noDelay: true });
    upstream.once("error", () => attempt(i + 1));
    upstream.once("connect", () => {
      upstream.removeAllListeners("error");
      client.off("error", onClientError);
      done((start + i + 1) % list.length);
      relay(client, upstream, live);
      client.resume();
    });
  };
  attempt(0);
}

async function listenTcp(b: PortBinding, targets?: () => Target[]): Promise<PortProxy> {
  const live = new Set<net.Socket>();
  let next = 0;
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    if (targets) {
      spread(client, targets(), next, live, (n) => {
        next = n;
      });
      return;
    }
    const upstream = net.connect({
      host: b.targetIp,
      port: b.targetPort,
      allowHalfOpen: true,
      noDelay: true,
    });
    relay(client, upstream, live);
  });
  server.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    const onError = (err: unknown) => reject(bindError(b, err));
    server.once("error", onError);
    // ipv6Only: "::" must not also take the IPv4 port, which "0.0.0.0" binds separately (as docker-proxy does).
    server.listen(
      { host: b.hostIp, port: b.hostPort, exclusive: true, ipv6Only: net.isIPv6(b.hostIp) },
      () => {
        server.off("error", onError);
        resolve();
      },
    );
  });
  const addr = server.address() as net.AddressInfo;
  let closing: Promise<void> | undefined;
  return new PortProxy({ ...b, hostPort: addr.port }, () => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of live) s.destroy();
      live.clear();
    });
    return closing;
  });
}

interface UdpSession {
  socket: dgram.Socket;
  timer: NodeJS.Timeout;
}

async function listenUdp(b: PortBinding): Promise<PortProxy> {
  const family = net.isIPv6(b.hostIp) ? "udp6" : "udp4";
  const upstreamFamily = net.isIPv6(b.targetIp) ? "udp6" : "udp4";
  const listener = dgram.createSocket({ type: family, reuseAddr: false, ipv6Only: family === "udp6" });
  const sessions = new Map<string, UdpSession>();
  let closed = false;

  const endSession = (key: string) => {
    const s = sessions.get(key);
    if (!s) return;
    sessions.delete(key);
    clearTimeout(s.timer);
    s.socket.close();
  };

  listener.on("message", (msg, rinfo) => {
    if (closed) return;
    const key = `${rinfo.address}|${rinfo.port}`;
    let s = sessions.get(key);
    if (!s) {
      if (sessions.size >= UDP_MAX_CLIENTS) {
        // Drop the least recently created session to make room (Map iterates in insertion order).
        const oldest = sessions.keys().next().value;
        if (oldest !== undefined) endSession(oldest);
      }
      const socket = dgram.createSocket(upstreamFamily);
      const session: UdpSession = { socket, timer: setTimeout(() => endSession(key), UDP_IDLE_MS) };
      session.timer.unref();
      socket.on("message", (reply) => {
        session.timer.refresh();
        if (!closed) listener.send(reply, rinfo.port, rinfo.address);
      });
      socket.on("error", () => endSession(key));
      socket.connect(b.targetPort, b.targetIp);
      sessions.set(key, session);
      s = session;
    }
    s.timer.refresh();
    const session = s;
    const send = () => session.socket.send(msg, (err) => err && endSession(key));
    // Datagrams sent before connect() finishes would fail with ERR_SOCKET_DGRAM_NOT_CONNECTED.
    try {
      session.socket.remoteAddress();
      send();
    } catch {
      session.socket.once("connect", send);
    }
  });
  listener.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    const onError = (err: unknown) => reject(bindError(b, err));
    listener.once("error", onError);
    listener.bind({ address: b.hostIp, port: b.hostPort, exclusive: true }, () => {
      listener.off("error", onError);
      resolve();
    });
  });
  const addr = listener.address();
  let closing: Promise<void> | undefined;
  return new PortProxy({ ...b, hostPort: addr.port }, () => {
    closing ??= new Promise<void>((resolve) => {
      closed = true;
      for (const key of [...sessions.keys()]) endSession(key);
      listener.close(() => resolve());
    });
    return closing;
  });
}
