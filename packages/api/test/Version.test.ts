import { describe, expect, it } from "vitest";
import {
  API_VERSION,
  checkVersion,
  compareVersions,
  MIN_API_VERSION,
  minVersion,
  PAGE_NOT_FOUND,
  parseVersionedPath,
  tooNewMessage,
  tooOldMessage,
} from "../src/index.ts";

describe("parseVersionedPath", () => {
  it("splits a /vX.Y prefix", () => {
    expect(parseVersionedPath("/v1.41/containers/json")).toEqual({
      version: "1.41",
      path: "/containers/json",
    });
    expect(parseVersionedPath("/v1.47/_ping")).toEqual({ version: "1.47", path: "/_ping" });
    expect(parseVersionedPath("/v1.41")).toEqual({ version: "1.41", path: "/" });
  });

  it("leaves unprefixed and look-alike paths alone", () => {
    expect(parseVersionedPath("/containers/json")).toEqual({ path: "/containers/json" });
    expect(parseVersionedPath("/v1/containers")).toEqual({ path: "/v1/containers" });
    expect(parseVersionedPath("/v1.41x/containers")).toEqual({ path: "/v1.41x/containers" });
    expect(parseVersionedPath("/volumes")).toEqual({ path: "/volumes" });
  });
});

describe("compareVersions", () => {
  it("compares numerically, not as strings", () => {
    expect(compareVersions("1.9", "1.10")).toBe(-1);
    expect(compareVersions("1.41", "1.41")).toBe(0);
    expect(compareVersions("1.50", "1.41")).toBe(1);
    expect(compareVersions("2.0", "1.99")).toBe(1);
    expect(compareVersions("1.41", "1.41.0")).toBe(0);
    expect(minVersion("1.50", API_VERSION)).toBe(API_VERSION);
    expect(minVersion("1.41", API_VERSION)).toBe("1.41");
  });
});

describe("version messages (as in trace 01-version-info)", () => {
  it("matches dockerd's text for too new and too old", () => {
    expect(tooNewMessage("1.50", "1.41")).toBe(
      "client version 1.50 is too new. Maximum supported API version is 1.41",
    );
    expect(tooOldMessage("1.11", "1.12")).toBe(
      "client version 1.11 is too old. Minimum supported API version is 1.12, please upgrade your client to a newer version",
    );
    expect(PAGE_NOT_FOUND).toBe("page not found");
  });

  it("checkVersion accepts the range and answers 400 outside it", () => {
    expect(API_VERSION).toBe("1.47");
    expect(MIN_API_VERSION).toBe("1.24");
    expect(checkVersion(undefined)).toEqual({ ok: true, version: "1.47" });
    expect(checkVersion("1.41")).toEqual({ ok: true, version: "1.41" });
    expect(checkVersion("1.24")).toEqual({ ok: true, version: "1.24" });
    expect(checkVersion("1.50")).toEqual({
      ok: false,
      status: 400,
      contentType: "application/json",
      message: "client version 1.50 is too new. Maximum supported API version is 1.47",
    });
    const old = checkVersion("1.11");
    expect(old.ok).toBe(false);
    if (!old.ok) {
      expect(old.contentType).toBe("text/plain; charset=utf-8");
      expect(old.message).toContain("Minimum supported API version is 1.24");
    }
  });
});
