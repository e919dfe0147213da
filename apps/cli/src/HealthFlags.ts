/**
 * HealthFlags: `run`/`create`'s `--health-*` and `--no-healthcheck` flags and their translation
 * into the create body's `Healthcheck` (docker's opts.go: `CMD-SHELL` for `--health-cmd`,
 * durations in nanoseconds, zero values left out, `["NONE"]` for `--no-healthcheck`).
 *
 * @since 0.1.0
 */
import { parseGoDuration } from "@berth/api";
import { bool, type FlagSpec, int, type ParsedArgs, str } from "./FlagParser.ts";

const duration = (v: string) => {
  if (parseGoDuration(v) === undefined) throw new Error(`time: invalid duration "${v}"`);
};

/** HEALTH_FLAGS are the healthcheck flags of `run` and `create`. */
export const HEALTH_FLAGS: readonly FlagSpec[] = [
  { name: "health-cmd", type: "string", usage: "Command to run to check health" },
  {
    name: "health-interval",
    type: "string",
    valueName: "duration",
    usage: "Time between running the check (ms|s|m|h)",
    defaultText: "0s",
    validate: duration,
  },
  {
    name: "health-retries",
    type: "int",
    usage: "Consecutive failures needed to report unhealthy",
  },
  {
    name: "health-start-interval",
    type: "string",
    valueName: "duration",
    usage: "Time between running the check during the start period (ms|s|m|h)",
    defaultText: "0s",
    validate: duration,
  },
  {
    name: "health-start-period",
    type: "string",
    valueName: "duration",
    usage: "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h)",
    defaultText: "0s",
    validate: duration,
  },
  {
    name: "health-timeout",
    type: "string",
    valueName: "duration",
    usage: "Maximum time to allow one check to run (ms|s|m|h)",
    defaultText: "0s",
    validate: duration,
  },
  { name: "no-healthcheck", type: "bool", usage: "Disable any container-specified HEALTHCHECK" },
];

/** HealthcheckBody is docker's `Config.Healthcheck` as the CLI sends it. */
export interface HealthcheckBody {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/**
 * healthcheckFromFlags returns the `Healthcheck` to send, or undefined when no health flag was
 * given. Throws Error with docker's message for conflicting or negative values.
 */
export function healthcheckFromFlags(p: ParsedArgs): HealthcheckBody | undefined {
  const cmd = str(p, "health-cmd") ?? "";
  const ns = (name: string) => {
    const v = str(p, name);
    return v === undefined ? 0 : (parseGoDuration(v) ?? 0);
  };
  const interval = ns("health-interval");
  const timeout = ns("health-timeout");
  const startPeriod = ns("health-start-period");
  const startInterval = ns("health-start-interval");
  const retries = int(p, "health-retries") ?? 0;
  const have =
    cmd !== "" ||
    interval !== 0 ||
    timeout !== 0 ||
    startPeriod !== 0 ||
    startInterval !== 0 ||
    retries !== 0;
  if (bool(p, "no-healthcheck")) {
    if (have) throw new Error("--no-healthcheck conflicts with --health-* options");
    return { Test: ["NONE"] };
  }
  if (!have) return undefined;
  const checks: Array<[number, string]> = [
    [interval, "--health-interval"],
    [timeout, "--health-timeout"],
    [retries, "--health-retries"],
    [startPeriod, "--health-start-period"],
    [startInterval, "--health-start-interval"],
  ];
  for (const [v, flag] of checks) if (v < 0) throw new Error(`${flag} cannot be negative`);
  const body: HealthcheckBody = {};
  if (cmd !== "") body.Test = ["CMD-SHELL", cmd];
  if (interval) body.Interval = interval;
  if (timeout) body.Timeout = timeout;
  if (startPeriod) body.StartPeriod = startPeriod;
  if (startInterval) body.StartInterval = startInterval;
  if (retries) body.Retries = retries;
  return body;
}
