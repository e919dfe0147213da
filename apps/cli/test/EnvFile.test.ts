import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseGoDuration } from "@berth/api";
import { afterAll, describe, expect, it } from "vitest";
import { expandEnvFlag, parseEnvFileContent, readEnvFile } from "../src/EnvFile.ts";
import { getTimestamp } from "../src/TimeArg.ts";

const dir = mkdtempSync(join(tmpdir(), "berth-envfile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("env files", () => {
  it("parses KEY=value, comments, blanks and bare keys", () => {
    const lookup = (k: string) => (k === "HOME" ? "/root" : undefined);
    expect(parseEnvFileContent("f", "\uFEFF# comment\nA=1\n  B= x \n\nHOME\nUNSET\nC=\n", lookup)).toEqual([
      "A=1",
      "B= x ",
      "HOME=/root",
      "C=",
    ]);
  });
  it("rejects keys with whitespace", () => {
    expect(() => parseEnvFileContent("f", "A B=1\n", () => undefined)).toThrow(
      "poorly formatted environment: variable 'A B' contains whitespaces",
    );
  });
  it("reads files and reports missing ones like Go", () => {
    const f = join(dir, "env");
    writeFileSync(f, "X=y\n");
    expect(readEnvFile(f, {})).toEqual(["X=y"]);
    expect(() => readEnvFile(join(dir, "nope"), {})).toThrow(
      `open ${join(dir, "nope")}: no such file or directory`,
    );
  });
  it("-e KEY takes the CLI's value when set", () => {
    expect(expandEnvFlag("A=B", {})).toBe("A=B");
    expect(expandEnvFlag("FOO", { FOO: "bar" })).toBe("FOO=bar");
    expect(expandEnvFlag("FOO", {})).toBe("FOO");
  });
});

describe("since/until", () => {
  const now = new Date("2026-11-27T22:49:07Z");
  it("parses Go durations", () => {
    expect(parseGoDuration("10m")).toBe(600e9);
    expect(parseGoDuration("1h30m")).toBe(5400e9);
    expect(parseGoDuration("1.5s")).toBe(1.5e9);
    expect(parseGoDuration("10")).toBeUndefined();
  });
  it("turns durations, dates and unix times into API timestamps", () => {
    expect(getTimestamp("2s", now)).toBe(String(Math.floor(now.getTime() / 1000) - 2));
    expect(getTimestamp("1700000000", now)).toBe("1700000000");
    expect(getTimestamp("1700000000.5", now)).toBe("1700000000.5");
    expect(getTimestamp("2013-01-02T13:23:37Z", now)).toBe("1357133017.000000000");
    expect(getTimestamp("2013-01-02T13:23:37.123456789Z", now)).toBe("1357133017.123456789");
    expect(() => getTimestamp("yesterday", now)).toThrow(
      'failed to parse value as time or duration: "yesterday"',
    );
  });
});
