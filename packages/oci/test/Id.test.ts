import { describe, expect, it } from "vitest";
import { isFullId, isIdPrefix, randomId, shortId } from "../src/Id.ts";

describe("ids", () => {
  it("randomId is 64 lowercase hex, unique, with a non-numeric short form", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const id = randomId();
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      expect(shortId(id)).not.toMatch(/^[0-9]+$/);
      seen.add(id);
    }
    expect(seen.size).toBe(2000);
  });

  it("shortId truncates like docker's TruncateID", () => {
    const hex = "4bc5a7c0c6f2b9a0e1f7b5d3c1a2e4f6a8b0c2d4e6f8a0b2c4d6e8f0a2b4c6d8";
    expect(shortId(hex)).toBe("4bc5a7c0c6f2");
    expect(shortId(`sha256:${hex}`)).toBe("4bc5a7c0c6f2");
    expect(shortId("abc")).toBe("abc");
    expect(shortId("sha256:abc")).toBe("abc");
  });

  it("isFullId and isIdPrefix", () => {
    const hex = "a".repeat(64);
    expect(isFullId(hex)).toBe(true);
    expect(isFullId("A".repeat(64))).toBe(false);
    expect(isFullId("a".repeat(63))).toBe(false);
    expect(isFullId(`sha256:${hex}`)).toBe(false);
    expect(isIdPrefix("4bc5")).toBe(true);
    expect(isIdPrefix("sha256:4bc5")).toBe(true);
    expect(isIdPrefix(hex)).toBe(true);
    expect(isIdPrefix(`${hex}a`)).toBe(false);
    expect(isIdPrefix("")).toBe(false);
    expect(isIdPrefix("web")).toBe(false);
    expect(isIdPrefix("4BC5")).toBe(false);
  });
});
