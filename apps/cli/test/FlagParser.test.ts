import { describe, expect, it } from "vitest";
import { parseCommandLine, StatusError } from "../src/Command.ts";
import { FlagError, type FlagSpec, parseFlags } from "../src/FlagParser.ts";
import { RUN_FLAGS } from "../src/RunConfig.ts";

const PS: FlagSpec[] = [
  { name: "all", short: "a", type: "bool", usage: "" },
  { name: "quiet", short: "q", type: "bool", usage: "" },
  { name: "last", short: "n", type: "int", usage: "" },
  { name: "filter", short: "f", type: "list", usage: "" },
  { name: "format", type: "string", usage: "" },
];

describe("parseFlags", () => {
  it("combines boolean shorthands and takes values in every spelling", () => {
    const p = parseFlags(
      ["-aq", "-n5", "--format={{.ID}}", "-f", "name=web", "--filter", "status=exited"],
      PS,
    );
    expect(p.flags).toEqual({
      all: true,
      quiet: true,
      last: 5,
      format: "{{.ID}}",
      filter: ["name=web", "status=exited"],
    });
    expect(parseFlags(["-n=7"], PS).flags.last).toBe(7);
    expect(parseFlags(["--all=false"], PS).flags.all).toBe(false);
    expect([...parseFlags(["-a"], PS).changed]).toEqual(["all"]);
  });

  it("stops at the first positional when not interspersed, and at --", () => {
    const p = parseFlags(["--rm", "-e", "A=B", "busybox", "sh", "-c", "echo -n hi"], RUN_FLAGS, {
      interspersed: false,
    });
    expect(p.flags.rm).toBe(true);
    expect(p.flags.env).toEqual(["A=B"]);
    expect(p.args).toEqual(["busybox", "sh", "-c", "echo -n hi"]);
    expect(parseFlags(["-a", "--", "-q"], PS).args).toEqual(["-q"]);
    expect(parseFlags(["x", "-a", "y"], PS).args).toEqual(["x", "y"]);
    expect(parseFlags(["-"], PS).args).toEqual(["-"]);
  });

  it("-it and -dit parse as combined booleans for run", () => {
    const p = parseFlags(["-dit", "--name", "x", "bb"], RUN_FLAGS, { interspersed: false });
    expect(p.flags).toMatchObject({ detach: true, interactive: true, tty: true, name: "x" });
  });

  it("reports pflag's messages", () => {
    expect(() => parseFlags(["--foo"], PS)).toThrow(new FlagError("unknown flag: --foo"));
    expect(() => parseFlags(["-ax"], PS)).toThrow(new FlagError("unknown shorthand flag: 'x' in -ax"));
    expect(() => parseFlags(["-n"], PS)).toThrow(new FlagError("flag needs an argument: 'n' in -n"));
    expect(() => parseFlags(["--format"], PS)).toThrow(new FlagError("flag needs an argument: --format"));
    expect(() => parseFlags(["-n", "x"], PS)).toThrow(
      new FlagError(
        'invalid argument "x" for "-n, --last" flag: strconv.ParseInt: parsing "x": invalid syntax',
      ),
    );
    expect(() => parseFlags(["--all=foo"], PS)).toThrow(
      new FlagError(
        'invalid argument "foo" for "-a, --all" flag: strconv.ParseBool: parsing "foo": invalid syntax',
      ),
    );
    expect(() => parseFlags(["-m", "1x", "bb"], RUN_FLAGS, { interspersed: false })).toThrow(
      new FlagError(`invalid argument "1x" for "-m, --memory" flag: invalid suffix: 'x'`),
    );
    expect(() => parseFlags(["--cpus", "abc", "bb"], RUN_FLAGS, { interspersed: false })).toThrow(
      new FlagError(`invalid argument "abc" for "--cpus" flag: failed to parse abc as a rational number`),
    );
  });
});

describe("parseCommandLine", () => {
  const spec = {
    name: "ps",
    use: "[OPTIONS]",
    short: "List containers",
    flags: PS,
    args: { kind: "none" } as const,
  };
  it("wraps flag errors in docker's usage text with exit code 125", () => {
    try {
      parseCommandLine("berth ps", spec, ["--foo"]);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(StatusError);
      expect((err as StatusError).exitCode).toBe(125);
      expect((err as StatusError).message).toBe(
        "unknown flag: --foo\n\nUsage:  berth ps [OPTIONS]\n\nRun 'berth ps --help' for more information",
      );
    }
  });
  it("checks argument counts with exit code 1", () => {
    const rm = {
      name: "rm",
      use: "[OPTIONS] CONTAINER [CONTAINER...]",
      short: "",
      flags: [],
      args: { kind: "min", n: 1 } as const,
    };
    try {
      parseCommandLine("berth rm", rm, []);
      expect.unreachable();
    } catch (err) {
      expect((err as StatusError).exitCode).toBe(1);
      expect((err as StatusError).message).toBe(
        "berth: 'berth rm' requires at least 1 argument\n\nUsage:  berth rm [OPTIONS] CONTAINER [CONTAINER...]\n\nSee 'berth rm --help' for more information",
      );
    }
  });
  it("recognises --help and -h (but -h is hostname for run)", () => {
    expect(parseCommandLine("berth ps", spec, ["--help"]).help).toBe(true);
    expect(parseCommandLine("berth ps", spec, ["-h"]).help).toBe(true);
    const run = {
      name: "run",
      use: "",
      short: "",
      flags: RUN_FLAGS,
      args: { kind: "min", n: 1 } as const,
      interspersed: false,
      ownsShortH: true,
    };
    const line = parseCommandLine("berth run", run, ["-h", "myhost", "bb"]);
    expect(line.help).toBe(false);
    if (!line.help) expect(line.parsed.flags.hostname).toBe("myhost");
  });
});
