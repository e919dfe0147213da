import { describe, expect, it } from "vitest";
import {
  bestPlatformMatch,
  currentPlatform,
  formatPlatform,
  normalizePlatform,
  type Platform,
  parsePlatform,
  platformEquals,
  platformMatches,
  platformVector,
} from "../src/Platform.ts";

const p = (s: string): Platform => {
  const [os, architecture, variant] = s.split("/");
  const out: Platform = { os: os!, architecture: architecture! };
  if (variant !== undefined) out.variant = variant;
  return out;
};

describe("currentPlatform", () => {
  it("maps process.arch to GOARCH", () => {
    const here = currentPlatform();
    expect(here.os).toBe("linux");
    const expected: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386" };
    expect(here.architecture).toBe(expected[process.arch] ?? here.architecture);
    if (process.arch === "arm64") expect(here.variant).toBe("v8");
    if (process.arch === "x64") expect(here.variant).toBeUndefined();
  });
});

describe("parsePlatform / formatPlatform (containerd Parse)", () => {
  const here = currentPlatform();
  it.each([
    ["linux/amd64", "linux/amd64"],
    ["linux/x86_64", "linux/amd64"],
    ["linux/x86-64", "linux/amd64"],
    ["Linux/AMD64", "linux/amd64"],
    ["linux/amd64/v1", "linux/amd64"],
    ["linux/amd64/v3", "linux/amd64/v3"],
    ["linux/arm64", "linux/arm64"],
    ["linux/aarch64", "linux/arm64"],
    ["linux/arm64/v8", "linux/arm64/v8"],
    ["linux/arm64/8", "linux/arm64/v8"],
    ["linux/arm64/v9.0", "linux/arm64/v9"],
    ["linux/arm", "linux/arm"],
    ["linux/arm/v7", "linux/arm/v7"],
    ["linux/arm/7", "linux/arm/v7"],
    ["linux/arm/6", "linux/arm/v6"],
    ["linux/armhf", "linux/arm"],
    ["linux/armel", "linux/arm/v6"],
    ["linux/i386", "linux/386"],
    ["linux/ppc64le", "linux/ppc64le"],
    ["windows/amd64", "windows/amd64"],
    ["macos/arm64", "darwin/arm64"],
    ["linux", `linux/${here.architecture}`],
    ["amd64", `${here.os}/amd64`],
    ["aarch64", `${here.os}/arm64`],
  ])("%s -> %s", (input, expected) => {
    expect(formatPlatform(parsePlatform(input))).toBe(expected);
  });

  it.each([
    "",
    "linux/",
    "linux/amd64/v3/extra",
    "linux/*",
    "linux/amd 64",
    "notanos",
    "linux//v7",
  ])("rejects %j", (input) => {
    expect(() => parsePlatform(input)).toThrow(/invalid platform/);
  });

  it("formats unknown for a missing OS", () => {
    expect(formatPlatform({ os: "", architecture: "amd64" })).toBe("unknown");
  });
});

describe("normalisation and matching", () => {
  it("normalises arm64 v8 to no variant and arm to v7", () => {
    expect(normalizePlatform(p("linux/arm64/v8"))).toEqual(p("linux/arm64"));
    expect(normalizePlatform(p("linux/arm"))).toEqual(p("linux/arm/v7"));
    expect(normalizePlatform(p("linux/amd64/v1"))).toEqual(p("linux/amd64"));
    expect(normalizePlatform({ os: "linux", architecture: "amd64", "os.features": ["b", "a", "b"] })).toEqual(
      {
        os: "linux",
        architecture: "amd64",
        "os.features": ["a", "b"],
      },
    );
    expect(platformEquals(p("linux/arm64/v8"), p("linux/arm64"))).toBe(true);
    expect(platformEquals(p("linux/arm64"), p("linux/amd64"))).toBe(false);
  });

  it.each([
    ["linux/amd64", "linux/amd64", true],
    ["linux/amd64", "linux/386", true],
    ["linux/amd64", "linux/amd64/v2", false],
    ["linux/amd64/v3", "linux/amd64/v2", true],
    ["linux/amd64/v3", "linux/amd64", true],
    ["linux/amd64/v2", "linux/amd64/v3", false],
    ["linux/amd64", "windows/amd64", false],
    ["linux/amd64", "linux/arm64", false],
    ["linux/arm64", "linux/arm64/v8", true],
    ["linux/arm64/v8", "linux/arm64", true],
    ["linux/arm64", "linux/arm/v7", true],
    ["linux/arm64", "linux/arm/v8", true],
    ["linux/arm64", "linux/arm64/v8.2", false],
    ["linux/arm64/v8.2", "linux/arm64/v8.1", true],
    ["linux/arm/v7", "linux/arm", true],
    ["linux/arm/v7", "linux/arm/v6", true],
    ["linux/arm/v6", "linux/arm/v7", false],
    ["linux/arm/v7", "linux/arm64", false],
  ])("platformMatches(want %s, have %s) = %s", (want, have, expected) => {
    expect(platformMatches(p(want), p(have))).toBe(expected);
  });

  it("orders candidates best first", () => {
    expect(platformVector(p("linux/amd64/v3")).map(formatPlatform)).toEqual([
      "linux/amd64/v3",
      "linux/amd64/v2",
      "linux/amd64/v1",
      "linux/386",
    ]);
    const candidates = [p("linux/386"), p("linux/arm64/v8"), p("linux/amd64"), p("linux/amd64")];
    expect(bestPlatformMatch(p("linux/amd64"), candidates)).toBe(2);
    expect(bestPlatformMatch(p("linux/arm64"), candidates)).toBe(1);
    expect(bestPlatformMatch(p("linux/s390x"), candidates)).toBe(-1);
  });
});
