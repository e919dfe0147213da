import { describe, expect, it } from "vitest";
import { encodeFilters, encodeQuery, parseDockerHost } from "../src/index.ts";

describe("parseDockerHost", () => {
  it("parses unix and tcp hosts", () => {
    expect(parseDockerHost("unix:///run/berth/berth.sock")).toEqual({
      kind: "unix",
      socketPath: "/run/berth/berth.sock",
      url: "unix:///run/berth/berth.sock",
    });
    expect(parseDockerHost("/tmp/x.sock")).toMatchObject({ kind: "unix", socketPath: "/tmp/x.sock" });
    expect(parseDockerHost("tcp://127.0.0.1:2376")).toEqual({
      kind: "tcp",
      hostname: "127.0.0.1",
      port: 2376,
      url: "tcp://127.0.0.1:2376",
    });
    expect(parseDockerHost("tcp://localhost")).toMatchObject({ port: 2375, url: "tcp://localhost:2375" });
    expect(parseDockerHost("tcp://[::1]:2375")).toMatchObject({ hostname: "::1", port: 2375 });
  });

  it("rejects what it cannot use, saying what was expected", () => {
    expect(() => parseDockerHost("unix://relative")).toThrow(/expected an absolute socket path/);
    expect(() => parseDockerHost("tcp://h:99999")).toThrow(/port 99999 out of range/);
    expect(() => parseDockerHost("ssh://me@host")).toThrow(/not supported yet/);
    expect(() => parseDockerHost("gopher://x")).toThrow(/unknown scheme/);
    expect(() => parseDockerHost("nonsense")).toThrow(/expected unix:\/\/\/path or tcp:\/\/host:port/);
  });
});

describe("encodeQuery", () => {
  it("encodes like the docker CLI: sorted keys, 1/0 booleans, repeated arrays, undefined dropped", () => {
    expect(encodeQuery(undefined)).toBe("");
    expect(
      encodeQuery({ stream: true, stdin: false, tail: "all", x: undefined, changes: ["A B", "C"] }),
    ).toBe("?changes=A+B&changes=C&stdin=0&stream=1&tail=all");
    expect(encodeFilters({ status: [] })).toBeUndefined();
    expect(encodeFilters({ label: ["a"] })).toBe('{"label":["a"]}');
  });
});
