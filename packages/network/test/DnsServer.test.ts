import dgram from "node:dgram";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DnsServer, parseUpstream, resolvConfNameservers } from "../src/DnsServer.ts";
import { DnsType, encodeQuery, Rcode, rcodeOf } from "../src/dnsPacket.ts";
import { addresses, tcpQuery, udpExchange, udpQuery } from "./dnsClient.ts";

const names: Record<string, string[]> = {
  web: ["10.1.0.2", "10.1.0.3", "10.1.0.4"],
  db: ["10.1.0.9"],
  v6only: [],
};

describe("DnsServer on 127.0.0.1", () => {
  let upstream: DnsServer;
  let dns: DnsServer;
  let lonely: DnsServer;
  let deadPort: number;

  beforeAll(async () => {
    upstream = await DnsServer.start({
      address: "127.0.0.1",
      port: 0,
      upstreams: [],
      lookup: (n) => (n === "outside.test" ? ["10.9.9.9"] : undefined),
    });
    dns = await DnsServer.start({
      address: "127.0.0.1",
      port: 0,
      upstreams: [`127.0.0.1:${upstream.port}`],
      lookup: (n) => names[n],
    });
    // A port nobody listens on: forwarding there fails fast (ICMP port unreachable).
    const probe = dgram.createSocket("udp4");
    await new Promise<void>((r) => probe.bind(0, "127.0.0.1", () => r()));
    deadPort = probe.address().port;
    probe.close();
    lonely = await DnsServer.start({
      address: "127.0.0.1",
      port: 0,
      upstreams: [`127.0.0.1:${deadPort}`],
      lookup: () => undefined,
      forwardTimeoutMs: 500,
    });
  });
  afterAll(async () => {
    await Promise.all([dns?.close(), upstream?.close(), lonely?.close()]);
  });

  it("answers A for a known name with all addresses, TTL 600, authoritative", async () => {
    const m = await udpQuery("127.0.0.1", dns.port, "db", DnsType.A);
    expect(rcodeOf(m.header.flags)).toBe(Rcode.NOERROR);
    expect(m.header.flags & 0x8400).toBe(0x8400);
    expect(addresses(m)).toEqual(["10.1.0.9"]);
    expect(m.answers[0]?.ttl).toBe(600);
    expect(m.header.id).toBe(7);
  });

  it("rotates the order per query (round robin), case-insensitively, trailing dot ignored", async () => {
    const a = addresses(await udpQuery("127.0.0.1", dns.port, "web", DnsType.A));
    const b = addresses(await udpQuery("127.0.0.1", dns.port, "WEB.", DnsType.A));
    const c = addresses(await udpQuery("127.0.0.1", dns.port, "Web", DnsType.ANY));
    expect(new Set(a)).toEqual(new Set(names.web));
    expect([...b].sort()).toEqual([...a].sort());
    expect(b).not.toEqual(a);
    expect(c).not.toEqual(b);
    expect(b[0]).toBe(a[1]);
  });

  it("answers AAAA for a known name with NOERROR and no records", async () => {
    const m = await udpQuery("127.0.0.1", dns.port, "web", DnsType.AAAA);
    expect(rcodeOf(m.header.flags)).toBe(Rcode.NOERROR);
    expect(m.answers).toEqual([]);
    const empty = await udpQuery("127.0.0.1", dns.port, "v6only", DnsType.A);
    expect(rcodeOf(empty.header.flags)).toBe(Rcode.NOERROR);
    expect(empty.answers).toEqual([]);
  });

  it("forwards unknown names to the upstream over UDP and TCP", async () => {
    const u = await udpQuery("127.0.0.1", dns.port, "outside.test", DnsType.A, 4242);
    expect(u.header.id).toBe(4242);
    expect(addresses(u)).toEqual(["10.9.9.9"]);
    const t = await tcpQuery("127.0.0.1", dns.port, "outside.test", DnsType.A, 999);
    expect(t.header.id).toBe(999);
    expect(addresses(t)).toEqual(["10.9.9.9"]);
  });

  it("answers known names over TCP", async () => {
    const t = await tcpQuery("127.0.0.1", dns.port, "db", DnsType.A);
    expect(addresses(t)).toEqual(["10.1.0.9"]);
  });

  it("SERVFAIL when no upstream answers, and when there is no upstream", async () => {
    const m = await udpQuery("127.0.0.1", lonely.port, "anything.test", DnsType.A);
    expect(rcodeOf(m.header.flags)).toBe(Rcode.SERVFAIL);
    const n = await udpQuery("127.0.0.1", dns.port, "nowhere.test", DnsType.MX);
    expect(rcodeOf(n.header.flags)).toBe(Rcode.SERVFAIL);
  });

  it("drops malformed packets and responses, and keeps serving", async () => {
    expect(await udpExchange("127.0.0.1", dns.port, Buffer.from([1, 2, 3]), 300)).toBeUndefined();
    const q = encodeQuery(5, "web", DnsType.A);
    const truncated = q.subarray(0, q.length - 3);
    expect(await udpExchange("127.0.0.1", dns.port, truncated, 300)).toBeUndefined();
    const response = Buffer.from(q);
    response.writeUInt16BE(0x8000, 2);
    expect(await udpExchange("127.0.0.1", dns.port, response, 300)).toBeUndefined();
    const loop = Buffer.concat([q.subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
    expect(await udpExchange("127.0.0.1", dns.port, loop, 300)).toBeUndefined();
    expect(addresses(await udpQuery("127.0.0.1", dns.port, "db", DnsType.A))).toEqual(["10.1.0.9"]);
  });

  it("FORMERR for a query without a question", async () => {
    const q = encodeQuery(6, "web", DnsType.A).subarray(0, 12);
    q.writeUInt16BE(0, 4);
    const r = await udpExchange("127.0.0.1", dns.port, q);
    expect(r && rcodeOf(r.readUInt16BE(2))).toBe(Rcode.FORMERR);
  });

  it("Conflict when the port is taken", async () => {
    await expect(
      DnsServer.start({ address: "127.0.0.1", port: dns.port, upstreams: [], lookup: () => undefined }),
    ).rejects.toMatchObject({
      _tag: "Conflict",
      message: `dns: listen udp 127.0.0.1:${dns.port}: address already in use`,
    });
  });

  it("close releases the port", async () => {
    const s = await DnsServer.start({
      address: "127.0.0.1",
      port: 0,
      upstreams: [],
      lookup: () => undefined,
    });
    await s[Symbol.asyncDispose]();
    await s.close();
    const again = await DnsServer.start({
      address: "127.0.0.1",
      port: s.port,
      upstreams: [],
      lookup: () => undefined,
    });
    await again.close();
  });
});

describe("DnsServer helpers", () => {
  it("parseUpstream", () => {
    expect(parseUpstream("10.0.0.1")).toEqual({ host: "10.0.0.1", port: 53 });
    expect(parseUpstream("127.0.0.1:5353")).toEqual({ host: "127.0.0.1", port: 5353 });
    expect(parseUpstream("[::1]:54")).toEqual({ host: "::1", port: 54 });
    expect(parseUpstream("::1")).toEqual({ host: "::1", port: 53 });
    expect(() => parseUpstream("example.com")).toThrow(/invalid dns upstream/);
    expect(() => parseUpstream("1.2.3.4:99999")).toThrow(/invalid dns upstream/);
  });
  it("resolvConfNameservers reads nameserver lines only", async () => {
    const dir = await mkdtemp(join(tmpdir(), "berth-dns-"));
    try {
      const f = join(dir, "resolv.conf");
      await writeFile(
        f,
        "# c\nsearch x\nnameserver 10.0.0.53\nnameserver fe80::1%eth0\nnameserver bogus\noptions ndots:1\n",
      );
      expect(await resolvConfNameservers(f)).toEqual(["10.0.0.53", "fe80::1"]);
      expect(await resolvConfNameservers(join(dir, "missing"))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
