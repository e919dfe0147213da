import { describe, expect, it } from "vitest";
import { cleanDestination, mountRequests, parseApiMount, parseBind, parseTmpfs } from "../src/mountSpecs.ts";

describe("parseBind", () => {
  it("reads named volumes and host binds with docker's modes", () => {
    expect(parseBind("data:/d")).toMatchObject({
      type: "volume",
      source: "data",
      destination: "/d",
      mode: "z",
      readOnly: false,
      copyData: true,
    });
    expect(parseBind("data:/d:ro,nocopy")).toMatchObject({
      readOnly: true,
      copyData: false,
      mode: "ro,nocopy",
    });
    expect(parseBind("/srv/x/:/d/:ro")).toMatchObject({
      type: "bind",
      source: "/srv/x",
      destination: "/d",
      mode: "ro",
      propagation: "rprivate",
      readOnly: true,
    });
    expect(parseBind("/srv:/d:rshared").propagation).toBe("rshared");
  });

  it("refuses bad specs, '..' destinations (T4) and path-like volume names", () => {
    expect(() => parseBind("/srv")).toThrow(/invalid volume specification/);
    expect(() => parseBind("v:/a/../etc")).toThrow(/'\.\.' is not allowed/);
    expect(() => parseBind("v:rel")).toThrow(/absolute path/);
    expect(() => parseBind("v:/")).toThrow(/destination can't be '\/'/);
    expect(() => parseBind("../v:/d")).toThrow(/invalid characters for a local volume name/);
    expect(() => parseBind("v:/d:bogus")).toThrow("invalid mode: bogus");
  });
});

describe("parseApiMount", () => {
  it("reads bind, volume and tmpfs mounts", () => {
    expect(parseApiMount({ Type: "bind", Source: "/srv", Target: "/d", ReadOnly: true })).toMatchObject({
      type: "bind",
      readOnly: true,
      propagation: "rprivate",
      mode: "",
    });
    expect(parseApiMount({ Type: "volume", Target: "/d", VolumeOptions: { NoCopy: true } })).toMatchObject({
      type: "volume",
      source: "",
      copyData: false,
    });
    expect(
      parseApiMount({
        Type: "tmpfs",
        Target: "/t",
        TmpfsOptions: { SizeBytes: 2 * 1024 * 1024, Mode: 0o700 },
      }).tmpfsOptions,
    ).toEqual(["size=2048k", "mode=700"]);
  });

  it("answers docker's messages", () => {
    expect(() => parseApiMount({ Type: "bind", Target: "/d" })).toThrow(
      'invalid mount config for type "bind": field Source must not be empty',
    );
    expect(() => parseApiMount({ Type: "bind", Source: "/s" })).toThrow("field Target must not be empty");
    expect(() => parseApiMount({ Type: "tmpfs", Source: "x", Target: "/t" })).toThrow(
      "field Source must not be specified",
    );
    expect(() => parseApiMount({ Type: "npipe", Target: "/t" })).toThrow("mount type unknown");
    expect(() => parseApiMount({ Type: "volume", Source: "../x", Target: "/t" })).toThrow(
      /invalid characters/,
    );
  });
});

describe("mountRequests", () => {
  it("adds anonymous volumes for uncovered Config.Volumes and refuses duplicates", () => {
    const r = mountRequests(
      { Volumes: { "/data": {}, "/logs": {} } },
      { Binds: ["vv:/data"], Tmpfs: { "/run": "size=1m" } },
    );
    expect(r.map((m) => [m.type, m.source, m.destination])).toEqual([
      ["volume", "vv", "/data"],
      ["tmpfs", "", "/run"],
      ["volume", "", "/logs"],
    ]);
    expect(() => mountRequests({}, { Binds: ["aa:/d"], Mounts: [{ Type: "volume", Target: "/d" }] })).toThrow(
      "Duplicate mount point: /d",
    );
  });

  it("refuses an image VOLUME that climbs out (T5)", () => {
    expect(() => mountRequests({ Volumes: { "/../../etc": {} } }, {})).toThrow(/'\.\.' is not allowed/);
    expect(() => mountRequests({ Volumes: { etc: {} } }, {})).toThrow(/absolute path/);
  });

  it("checks tmpfs options", () => {
    expect(parseTmpfs("/t", "rw,noexec,size=64m").tmpfsOptions).toEqual(["noexec", "size=64m"]);
    expect(() => parseTmpfs("/t", "size=1m;rm -rf")).toThrow(/invalid tmpfs option/);
    expect(cleanDestination("/a//b/", "x")).toBe("/a/b");
  });
});
