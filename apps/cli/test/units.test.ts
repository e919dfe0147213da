import { describe, expect, it } from "vitest";
import {
  bytesSize,
  formatG,
  humanDuration,
  humanSizeWithPrecision,
  parseNanoCpus,
  ramInBytes,
} from "../src/units.ts";

describe("humanSizeWithPrecision", () => {
  it("prints docker's decimal sizes", () => {
    expect(humanSizeWithPrecision(1982409, 3)).toBe("1.98MB");
    expect(humanSizeWithPrecision(4_260_000, 3)).toBe("4.26MB");
    expect(humanSizeWithPrecision(0, 3)).toBe("0B");
    expect(humanSizeWithPrecision(62, 3)).toBe("62B");
    expect(humanSizeWithPrecision(20, 3)).toBe("20B");
    expect(humanSizeWithPrecision(1000, 3)).toBe("1kB");
    expect(humanSizeWithPrecision(1_500_000_000, 3)).toBe("1.5GB");
    expect(humanSizeWithPrecision(999_999, 3)).toBe("1e+03kB");
    expect(bytesSize(23.54 * 1024 ** 3)).toBe("23.54GiB");
    expect(formatG(0.00001234, 3)).toBe("1.23e-05");
  });
});

describe("ramInBytes", () => {
  it("parses docker memory units (binary)", () => {
    expect(ramInBytes("50m")).toBe(52428800);
    expect(ramInBytes("32M")).toBe(32 * 1024 * 1024);
    expect(ramInBytes("1g")).toBe(1024 ** 3);
    expect(ramInBytes("1.5GiB")).toBe(1.5 * 1024 ** 3);
    expect(ramInBytes("512k")).toBe(512 * 1024);
    expect(ramInBytes("100")).toBe(100);
    expect(ramInBytes("64mb")).toBe(64 * 1024 * 1024);
  });
  it("rejects bad values with go-units messages", () => {
    expect(() => ramInBytes("1x")).toThrow("invalid suffix: 'x'");
    expect(() => ramInBytes("abc")).toThrow("invalid size: 'abc'");
    expect(() => ramInBytes("1mbx")).toThrow("invalid suffix: 'mbx'");
  });
});

describe("parseNanoCpus", () => {
  it("parses rationals", () => {
    expect(parseNanoCpus("0.1")).toBe(100000000);
    expect(parseNanoCpus("1.5")).toBe(1500000000);
    expect(parseNanoCpus("2")).toBe(2000000000);
    expect(parseNanoCpus("3/2")).toBe(1500000000);
  });
  it("rejects junk and too much precision", () => {
    expect(() => parseNanoCpus("abc")).toThrow("failed to parse abc as a rational number");
    expect(() => parseNanoCpus("0.0000000001")).toThrow("value is too precise");
  });
});

describe("humanDuration", () => {
  it("matches go-units", () => {
    expect(humanDuration(500)).toBe("Less than a second");
    expect(humanDuration(1000)).toBe("1 second");
    expect(humanDuration(5000)).toBe("5 seconds");
    expect(humanDuration(65_000)).toBe("About a minute");
    expect(humanDuration(12 * 60_000 + 25_000)).toBe("12 minutes");
    expect(humanDuration(3_600_000)).toBe("About an hour");
    expect(humanDuration(5 * 3_600_000)).toBe("5 hours");
    expect(humanDuration(3 * 86_400_000)).toBe("3 days");
    expect(humanDuration(21 * 86_400_000)).toBe("3 weeks");
    expect(humanDuration(90 * 86_400_000)).toBe("3 months");
    expect(humanDuration(800 * 86_400_000)).toBe("2 years");
  });
});
