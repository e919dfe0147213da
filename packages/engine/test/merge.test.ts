import { describe, expect, it } from "vitest";
import { parseChanges } from "../src/changes.ts";
import { commandOf, DEFAULT_PATH, mergeImageConfig } from "../src/merge.ts";
import { signalNumber } from "../src/signals.ts";

const image = {
  id: "sha256:abc",
  config: {
    config: {
      Env: ["PATH=/usr/bin:/bin", "NAME=World"],
      Cmd: ["python", "app.py"],
      WorkingDir: "/app",
      Labels: { a: "1", b: "image" },
      ExposedPorts: { "80/tcp": {} },
    },
  },
};

describe("mergeImageConfig", () => {
  it("puts the user's env first and appends image variables the user did not set", () => {
    const c = mergeImageConfig({ Image: "x", Env: ["FOO=bar", "NAME=me"] }, image);
    expect(c.Env).toEqual(["FOO=bar", "NAME=me", "PATH=/usr/bin:/bin"]);
  });

  it("takes Cmd from the image only when the user gave neither Cmd nor Entrypoint", () => {
    expect(mergeImageConfig({ Image: "x" }, image).Cmd).toEqual(["python", "app.py"]);
    expect(mergeImageConfig({ Image: "x", Cmd: ["sh"] }, image).Cmd).toEqual(["sh"]);
    const withEp = mergeImageConfig({ Image: "x", Entrypoint: ["/bin/echo"] }, image);
    expect(withEp.Cmd ?? null).toBeNull();
    expect(commandOf(withEp)).toEqual({ path: "/bin/echo", args: [] });
  });

  it("defaults PATH, workdir, labels and ports from the image", () => {
    const c = mergeImageConfig({ Image: "x", Labels: { b: "user" } }, { id: "i", config: {} });
    expect(c.Env).toEqual([`PATH=${DEFAULT_PATH}`]);
    const d = mergeImageConfig({ Image: "x", Labels: { b: "user" } }, image);
    expect(d.WorkingDir).toBe("/app");
    expect(d.Labels).toEqual({ a: "1", b: "user" });
    expect(d.ExposedPorts).toEqual({ "80/tcp": {} });
  });

  it("refuses a container without a command as docker does", () => {
    expect(() => commandOf(mergeImageConfig({ Image: "x" }, { id: "i", config: {} }))).toThrow(
      "No command specified",
    );
  });
});

describe("parseChanges", () => {
  it("applies import --change instructions", () => {
    const c = parseChanges([
      'CMD ["sh"]',
      "ENV A=1 B=two",
      "ENV C three",
      "EXPOSE 80 53/udp",
      "WORKDIR /srv",
      "LABEL k=v",
      "CMD echo hi",
    ]);
    expect(c.Cmd).toEqual(["/bin/sh", "-c", "echo hi"]);
    expect(c.Env).toEqual(["A=1", "B=two", "C=three"]);
    expect(c.ExposedPorts).toEqual({ "80/tcp": {}, "53/udp": {} });
    expect(c.WorkingDir).toBe("/srv");
    expect(c.Labels).toEqual({ k: "v" });
  });

  it("rejects instructions import does not support, and escaping volumes", () => {
    expect(() => parseChanges(["RUN echo"])).toThrow("run is not a valid change command");
    expect(() => parseChanges(['VOLUME ["/../../etc"]'])).toThrow(/invalid volume path/);
  });
});

describe("signalNumber", () => {
  it("accepts docker's spellings", () => {
    expect(signalNumber("SIGTERM")).toBe(15);
    expect(signalNumber("term")).toBe(15);
    expect(signalNumber("HUP")).toBe(1);
    expect(signalNumber("9")).toBe(9);
    expect(() => signalNumber("SIGNOPE")).toThrow("Invalid signal: SIGNOPE");
  });
});

describe("parseTimeFilter", () => {
  it("reads timestamps, dates and durations", async () => {
    const { parseTimeFilter } = await import("../src/Engine.ts");
    const now = Date.parse("2026-01-01T12:00:00Z");
    expect(parseTimeFilter("1700000000", now)).toBe(1_700_000_000_000);
    expect(parseTimeFilter("2026-01-01T11:00:00Z", now)).toBe(Date.parse("2026-01-01T11:00:00Z"));
    expect(parseTimeFilter("1h30m", now)).toBe(now - 5_400_000);
    expect(() => parseTimeFilter("yesterday", now)).toThrow("invalid filter 'until=yesterday'");
  });
});
