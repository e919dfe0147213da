import { describe, expect, it } from "vitest";
import { allocateAddress } from "../src/IpAllocator.ts";
import { macForIp } from "../src/macForIp.ts";

describe("allocateAddress", () => {
  it("skips network address and gateway", () => {
    expect(allocateAddress("10.88.1.0/24", [], { gateway: "10.88.1.1" })).toBe("10.88.1.2");
    expect(allocateAddress("10.88.1.0/24", [])).toBe("10.88.1.1");
    expect(allocateAddress("10.88.1.0/24", ["10.88.1.2/24", "10.88.1.3"], { gateway: "10.88.1.1/24" })).toBe(
      "10.88.1.4",
    );
  });
  it("fills holes and never hands out the broadcast address", () => {
    const taken = Array.from({ length: 253 }, (_, i) => `10.88.1.${i + 2}`).filter(
      (a) => a !== "10.88.1.100",
    );
    expect(allocateAddress("10.88.1.0/24", taken, { gateway: "10.88.1.1" })).toBe("10.88.1.100");
    taken.push("10.88.1.100");
    expect(() => allocateAddress("10.88.1.0/24", taken, { gateway: "10.88.1.1" })).toThrow(
      expect.objectContaining({ _tag: "ResourceExhausted" }),
    );
  });
  it("a /30 has two hosts, a /31 both addresses", () => {
    expect(allocateAddress("10.0.0.0/30", ["10.0.0.1"])).toBe("10.0.0.2");
    expect(() => allocateAddress("10.0.0.0/30", ["10.0.0.1", "10.0.0.2"])).toThrow(/no available addresses/);
    expect(allocateAddress("10.0.0.0/31", ["10.0.0.0"])).toBe("10.0.0.1");
  });
  it("honours a requested address", () => {
    expect(
      allocateAddress("10.88.1.0/24", ["10.88.1.2"], { gateway: "10.88.1.1", requested: "10.88.1.50" }),
    ).toBe("10.88.1.50");
  });
  it("rejects a requested address outside the subnet, taken, the gateway, network or broadcast", () => {
    const o = { gateway: "10.88.1.1" };
    expect(() => allocateAddress("10.88.1.0/24", [], { ...o, requested: "10.88.2.5" })).toThrow(
      expect.objectContaining({
        _tag: "InvalidArgument",
        message: "no configured subnet or ip-range contain the IP address 10.88.2.5",
      }),
    );
    expect(() => allocateAddress("10.88.1.0/24", ["10.88.1.9"], { ...o, requested: "10.88.1.9" })).toThrow(
      expect.objectContaining({ _tag: "Conflict", message: "Address already in use: 10.88.1.9" }),
    );
    expect(() => allocateAddress("10.88.1.0/24", [], { ...o, requested: "10.88.1.1" })).toThrow(
      expect.objectContaining({ _tag: "Conflict" }),
    );
    expect(() => allocateAddress("10.88.1.0/24", [], { ...o, requested: "10.88.1.0" })).toThrow(
      expect.objectContaining({ _tag: "InvalidArgument" }),
    );
    expect(() => allocateAddress("10.88.1.0/24", [], { ...o, requested: "10.88.1.255" })).toThrow(
      expect.objectContaining({ _tag: "InvalidArgument" }),
    );
    expect(() => allocateAddress("10.88.1.0/24", [], { ...o, requested: "bogus" })).toThrow(
      expect.objectContaining({ _tag: "InvalidArgument" }),
    );
  });
});

describe("macForIp", () => {
  it("is docker's 02:42 prefix and the four octets in hex", () => {
    expect(macForIp("10.88.1.2")).toBe("02:42:0a:58:01:02");
    expect(macForIp("172.17.0.2/16")).toBe("02:42:ac:11:00:02");
    expect(macForIp("255.0.16.1")).toBe("02:42:ff:00:10:01");
  });
});
