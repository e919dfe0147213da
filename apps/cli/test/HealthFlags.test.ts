import { describe, expect, it } from "vitest";
import { parseFlags } from "../src/FlagParser.ts";
import { HEALTH_FLAGS, healthcheckFromFlags } from "../src/HealthFlags.ts";
import { buildCreateRequest, RUN_FLAGS } from "../src/RunConfig.ts";

const hc = (argv: string[]) => healthcheckFromFlags(parseFlags(argv, HEALTH_FLAGS));

describe("health flags", () => {
  it("builds docker's Healthcheck: CMD-SHELL, nanosecond durations, zero values left out", () => {
    expect(hc([])).toBeUndefined();
    expect(
      hc(["--health-cmd", "curl -f localhost", "--health-interval", "2s", "--health-retries", "4"]),
    ).toEqual({
      Test: ["CMD-SHELL", "curl -f localhost"],
      Interval: 2e9,
      Retries: 4,
    });
    expect(
      hc(["--health-timeout", "500ms", "--health-start-period", "1m", "--health-start-interval", "1.5s"]),
    ).toEqual({ Timeout: 5e8, StartPeriod: 60e9, StartInterval: 1.5e9 });
    expect(hc(["--no-healthcheck"])).toEqual({ Test: ["NONE"] });
  });

  it("refuses what docker refuses", () => {
    expect(() => hc(["--no-healthcheck", "--health-cmd", "true"])).toThrow(
      "--no-healthcheck conflicts with --health-* options",
    );
    expect(() => hc(["--health-retries", "-1"])).toThrow("--health-retries cannot be negative");
    expect(() => hc(["--health-interval", "-1s"])).toThrow("--health-interval cannot be negative");
    expect(() => parseFlags(["--health-interval", "soon"], HEALTH_FLAGS)).toThrow();
  });

  it("puts Healthcheck after Cmd in the create body, as the docker CLI does", () => {
    const p = parseFlags(["--health-cmd", "true", "busybox", "sleep", "1"], RUN_FLAGS, {
      interspersed: false,
    });
    const body = buildCreateRequest(p, { consoleSize: [0, 0] }, true).body;
    const keys = Object.keys(body);
    expect(keys.indexOf("Healthcheck")).toBe(keys.indexOf("Cmd") + 1);
    expect(body.Healthcheck).toEqual({ Test: ["CMD-SHELL", "true"] });
  });
});
