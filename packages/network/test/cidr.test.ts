import { describe, expect, it } from "vitest";
import { cidrContains, cidrsOverlap, networkAddress, nthHost, parseCidr } from "../src/cidr.ts";

describe("parseCidr", () => {
  it("parses address and prefix", () => {
    expect(parseCidr("10.88.1.7/24")).toEqual({ address: "10.88.1.7", prefix: 24 });
    expect(parseCidr("0.0.0.0/0")).toEqual({ address: "0.0.0.0", prefix: 0 });
  });
  it.each([
    "",
    "10.88.1.0",
    "10.88.1.0/33",
    "10.88.1/24",
    "10.88.1.256/24",
    "a.b.c.d/8",
    "10.88.01.0/24",
    "10.88.1.0/-1",
    "10.88.1.0/2 4",
  ])("rejects %j naming the input", (s) => {
    expect(() => parseCidr(s)).toThrow(
      expect.objectContaining({
        _tag: "InvalidArgument",
        message: expect.stringContaining(JSON.stringify(s)),
      }),
    );
  });
});

describe("cidr math", () => {
  it("networkAddress masks host bits", () => {
    expect(networkAddress("10.88.1.7/24")).toBe("10.88.1.0/24");
    expect(networkAddress("10.91.255.255/14")).toBe("10.88.0.0/14");
    expect(networkAddress("192.168.1.9/32")).toBe("192.168.1.9/32");
    expect(networkAddress("192.168.1.9/0")).toBe("0.0.0.0/0");
  });
  it("cidrContains checks bounds inclusively and ignores a suffix on the ip", () => {
    expect(cidrContains("10.88.1.0/24", "10.88.1.0")).toBe(true);
    expect(cidrContains("10.88.1.0/24", "10.88.1.255")).toBe(true);
    expect(cidrContains("10.88.1.0/24", "10.88.2.0")).toBe(false);
    expect(cidrContains("10.88.1.0/24", "10.88.0.255/24")).toBe(false);
    expect(cidrContains("0.0.0.0/0", "255.255.255.255")).toBe(true);
  });
  it("cidrsOverlap", () => {
    expect(cidrsOverlap("10.88.0.0/16", "10.88.5.0/24")).toBe(true);
    expect(cidrsOverlap("10.88.5.0/24", "10.88.0.0/16")).toBe(true);
    expect(cidrsOverlap("10.88.0.0/24", "10.88.1.0/24")).toBe(false);
    expect(cidrsOverlap("10.88.0.128/25", "10.88.0.0/25")).toBe(false);
    expect(cidrsOverlap("10.88.0.127/25", "10.88.0.0/32")).toBe(true);
  });
  it("nthHost counts from the network address", () => {
    expect(nthHost("10.88.1.0/24", 1)).toBe("10.88.1.1");
    expect(nthHost("10.88.1.77/24", 0)).toBe("10.88.1.0");
    expect(nthHost("10.88.1.0/24", 255)).toBe("10.88.1.255");
    expect(nthHost("10.88.0.0/16", 256)).toBe("10.88.1.0");
    expect(() => nthHost("10.88.1.0/24", 256)).toThrow(/outside 10.88.1.0\/24/);
    expect(() => nthHost("10.88.1.0/24", -1)).toThrow(/outside/);
  });
});
