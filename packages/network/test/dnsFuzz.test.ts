import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DnsServer } from "../src/DnsServer.ts";
import { DnsType, encodeQuery, parseMessage } from "../src/dnsPacket.ts";
import { addresses, udpExchange, udpQuery } from "./dnsClient.ts";

/** Deterministic PRNG (mulberry32) so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(base: Buffer, r: () => number): Buffer {
  const b = Buffer.from(base);
  const flips = 1 + Math.floor(r() * 6);
  for (let i = 0; i < flips; i++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
  return r() < 0.3 ? b.subarray(0, Math.floor(r() * b.length)) : b;
}

describe("dns parser fuzz", () => {
  it("parseMessage only ever returns or throws InvalidArgument", () => {
    const r = rng(42);
    const base = Buffer.concat([
      encodeQuery(1, "some.name.example", DnsType.A),
      Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4]),
    ]);
    base.writeUInt16BE(1, 6);
    for (let i = 0; i < 20_000; i++) {
      const pkt = i % 4 === 0 ? randomBytes(Math.floor(r() * 64)) : mutate(base, r);
      try {
        parseMessage(pkt);
      } catch (err) {
        expect((err as { _tag?: string })._tag).toBe("InvalidArgument");
      }
    }
  });
});

describe("DnsServer survives garbage", () => {
  let dns: DnsServer;
  beforeAll(async () => {
    dns = await DnsServer.start({
      address: "127.0.0.1",
      port: 0,
      upstreams: [],
      lookup: (n) => (n === "web" ? ["10.1.0.2"] : undefined),
    });
  });
  afterAll(async () => {
    await dns?.close();
  });

  it("keeps answering after 2000 mutated packets", async () => {
    const r = rng(7);
    const base = encodeQuery(3, "web", DnsType.A);
    for (let i = 0; i < 2000; i++)
      await udpExchange("127.0.0.1", dns.port, mutate(base, r), i % 200 === 0 ? 50 : 1);
    expect(addresses(await udpQuery("127.0.0.1", dns.port, "web", DnsType.A))).toEqual(["10.1.0.2"]);
  });
});
