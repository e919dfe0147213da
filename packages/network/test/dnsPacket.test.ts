import { describe, expect, it } from "vitest";
import {
  DnsType,
  encodeName,
  encodeQuery,
  encodeResponse,
  parseMessage,
  Rcode,
  readName,
} from "../src/dnsPacket.ts";

// A query for "web.example" type A, id 0x1234, RD, built by hand (RFC 1035 4.1).
const query = Buffer.from([
  0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x77, 0x65, 0x62, 0x07, 0x65,
  0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x00, 0x00, 0x01, 0x00, 0x01,
]);

describe("dns packets", () => {
  it("decodes a hand-built query", () => {
    const m = parseMessage(query);
    expect(m.header).toEqual({ id: 0x1234, flags: 0x0100, qdcount: 1, ancount: 0, nscount: 0, arcount: 0 });
    expect(m.questions).toEqual([{ name: "web.example", type: 1, class: 1 }]);
    expect(m.questionEnd).toBe(query.length);
  });
  it("encodeQuery produces the same bytes", () => {
    expect(encodeQuery(0x1234, "web.example", DnsType.A)).toEqual(query);
    expect(encodeQuery(0x1234, "web.example.", DnsType.A)).toEqual(query);
  });
  it("encodes a response with compressed answer names", () => {
    const m = parseMessage(query);
    const r = encodeResponse(query, m, {
      rcode: Rcode.NOERROR,
      addresses: ["10.0.0.2", "10.0.0.3"],
      ttl: 600,
      authoritative: true,
    });
    expect(r.subarray(0, 12)).toEqual(Buffer.from([0x12, 0x34, 0x85, 0x80, 0, 1, 0, 2, 0, 0, 0, 0]));
    expect(r.subarray(query.length, query.length + 16)).toEqual(
      Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x02, 0x58, 0, 4, 10, 0, 0, 2]),
    );
    const back = parseMessage(r);
    expect(back.answers.map((a) => [a.name, a.type, a.ttl, [...a.data].join(".")])).toEqual([
      ["web.example", 1, 600, "10.0.0.2"],
      ["web.example", 1, 600, "10.0.0.3"],
    ]);
  });
  it("truncates answers past maxBytes and sets TC", () => {
    const m = parseMessage(query);
    const addrs = Array.from({ length: 40 }, (_, i) => `10.0.0.${i + 1}`);
    const r = encodeResponse(query, m, { rcode: 0, addresses: addrs, maxBytes: 512 });
    expect(r.length).toBeLessThanOrEqual(512);
    expect(r.readUInt16BE(2) & 0x0200).toBe(0x0200);
    expect(parseMessage(r).answers.length).toBe(Math.floor((512 - query.length) / 16));
  });
  it("follows compression pointers and rejects loops and forward pointers", () => {
    // "a" + pointer to offset 12 ("web.example") at offset 29.
    const buf = Buffer.concat([query, Buffer.from([0x01, 0x61, 0xc0, 0x0c])]);
    expect(readName(buf, 29)).toEqual({ name: "a.web.example", next: 33 });
    const loop = Buffer.concat([query, Buffer.from([0xc0, 29])]);
    expect(() => readName(loop, 29)).toThrow(/compression pointer/);
    const fwd = Buffer.concat([query, Buffer.from([0xc0, 40])]);
    expect(() => readName(fwd, 29)).toThrow(/compression pointer/);
  });
  it("rejects truncated and inconsistent packets", () => {
    expect(() => parseMessage(Buffer.alloc(5))).toThrow(/shorter than the header/);
    expect(() => parseMessage(query.subarray(0, 20))).toThrow(/malformed/);
    const lying = Buffer.from(query);
    lying.writeUInt16BE(3, 6); // claims 3 answers it does not have
    expect(() => parseMessage(lying)).toThrow(/malformed/);
    const badLabel = Buffer.from(query);
    badLabel[12] = 0x40; // reserved label type
    expect(() => parseMessage(badLabel)).toThrow(/label type/);
  });
  it("encodeName refuses empty and long labels", () => {
    expect(encodeName("")).toEqual(Buffer.from([0]));
    expect(() => encodeName("a..b")).toThrow(/labels/);
    expect(() => encodeName(`${"x".repeat(64)}.com`)).toThrow(/labels/);
  });
});
