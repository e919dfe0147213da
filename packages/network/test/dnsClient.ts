import dgram from "node:dgram";
import net from "node:net";
import { type DnsMessage, encodeQuery, parseMessage } from "../src/dnsPacket.ts";

/** Sends one raw UDP packet and resolves with the first reply, or undefined after `timeoutMs`. */
export function udpExchange(
  host: string,
  port: number,
  packet: Buffer,
  timeoutMs = 2000,
): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const s = dgram.createSocket("udp4");
    const t = setTimeout(() => {
      s.close();
      resolve(undefined);
    }, timeoutMs);
    s.on("message", (m) => {
      clearTimeout(t);
      s.close();
      resolve(m);
    });
    s.send(packet, port, host);
  });
}

/** Queries over UDP and decodes the answer (rejects on timeout). */
export async function udpQuery(
  host: string,
  port: number,
  name: string,
  type: number,
  id = 7,
): Promise<DnsMessage> {
  const r = await udpExchange(host, port, encodeQuery(id, name, type));
  if (!r) throw new Error(`no answer for ${name}`);
  return parseMessage(r);
}

/** Queries over TCP (2-byte length framing) and decodes the answer. */
export function tcpQuery(
  host: string,
  port: number,
  name: string,
  type: number,
  id = 9,
): Promise<DnsMessage> {
  return new Promise((resolve, reject) => {
    const q = encodeQuery(id, name, type);
    const sock = net.connect({ host, port });
    let buf = Buffer.alloc(0);
    sock.on("error", reject);
    sock.on("data", (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        sock.destroy();
        resolve(parseMessage(buf.subarray(2, 2 + buf.readUInt16BE(0))));
      }
    });
    const len = Buffer.alloc(2);
    len.writeUInt16BE(q.length, 0);
    // Split the frame to exercise reassembly.
    sock.write(Buffer.concat([len, q.subarray(0, 3)]));
    setTimeout(() => sock.write(q.subarray(3)), 20);
  });
}

/** The IPv4 answers of a message in order. */
export function addresses(m: DnsMessage): string[] {
  return m.answers.filter((a) => a.type === 1).map((a) => [...a.data].join("."));
}
