/**
 * Command: the shape of one berth command (its flags, usage line and argument rules) and the
 * invocation handed to it. Each command lives in its own module under `commands/`, loaded lazily
 * by `main.ts`, and returns the process exit code.
 *
 * @since 0.1.0
 */
import type { Client } from "@berth/client";
import { FlagError, type FlagSpec, type ParsedArgs, parseFlags } from "./FlagParser.ts";

/** The program name used in messages (docker prints `docker`). */
export const BIN = "berth";

/** Argument count rules, as cobra's PositionalArgs used by docker. */
export type ArgRule =
  | { readonly kind: "none" }
  | { readonly kind: "min"; readonly n: number }
  | { readonly kind: "exact"; readonly n: number }
  | { readonly kind: "range"; readonly min: number; readonly max: number }
  | { readonly kind: "any" };

/** CommandSpec is the static description of a command. */
export interface CommandSpec {
  /** The words after `berth`, e.g. `ps` or `container ls` (filled in by main for aliases). */
  readonly name: string;
  /** The usage tail after the command path, e.g. `[OPTIONS] CONTAINER [CONTAINER...]`. */
  readonly use: string;
  /** One-line description. */
  readonly short: string;
  /** Alternative spellings, shown under "Aliases:" (without the `berth ` prefix). */
  readonly aliases?: readonly string[];
  readonly flags: readonly FlagSpec[];
  readonly args: ArgRule;
  /** false for run/create/exec: flags stop at the first positional. */
  readonly interspersed?: boolean;
  /** true when `-h` is a real flag of the command (run's --hostname). */
  readonly ownsShortH?: boolean;
}

/** Global options given before the command. */
export interface Globals {
  /** `-H/--host` value, if given. */
  readonly host: string | undefined;
}

/** Invocation is what a command's `run` receives. */
export interface Invocation {
  /** e.g. `berth container ls` (the path the user typed). */
  readonly path: string;
  readonly spec: CommandSpec;
  readonly parsed: ParsedArgs;
  readonly globals: Globals;
  /** Set by spellings that fix the object type, e.g. `container` for `berth container inspect`. */
  readonly variant?: string;
  /** Returns the connected client (starting the local daemon on demand). */
  client(): Promise<Client>;
}

/** CommandModule is what each module under `commands/` exports as `command`. */
export interface CommandModule {
  readonly spec: CommandSpec;
  run(inv: Invocation): Promise<number>;
}

/**
 * StatusError is docker's cli.StatusError: a message printed verbatim to stderr (unless empty)
 * and an exit code.
 */
export class StatusError extends Error {
  override readonly name = "StatusError";
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** usageLine renders `berth ps [OPTIONS]`. */
export function usageLine(path: string, spec: CommandSpec): string {
  return spec.use ? `${path} ${spec.use}` : path;
}

const HELP_FLAG: FlagSpec = { name: "help", type: "bool", usage: "Print usage" };
const HELP_FLAG_H: FlagSpec = { name: "help", short: "h", type: "bool", usage: "Print usage", hidden: true };

/** flagUsages renders the "Options:" block as pflag does. */
export function flagUsages(flags: readonly FlagSpec[]): string {
  const rows: Array<[string, string]> = [];
  for (const f of flags) {
    if (f.hidden) continue;
    let left = f.short ? `  -${f.short}, --${f.name}` : `      --${f.name}`;
    const valueName = f.valueName ?? (f.type === "bool" ? "" : f.type);
    if (valueName) left += ` ${valueName}`;
    let usage = f.usage;
    if (f.defaultText !== undefined) usage += ` (default ${f.defaultText})`;
    rows.push([left, usage]);
  }
  rows.sort((a, b) => {
    const an = a[0].replace(/^\s*(-\w, )?--/, "");
    const bn = b[0].replace(/^\s*(-\w, )?--/, "");
    return an < bn ? -1 : an > bn ? 1 : 0;
  });
  const width = Math.max(0, ...rows.map((r) => r[0].length));
  return rows.map(([l, u]) => `${l}${" ".repeat(width - l.length + 3)}${u}`).join("\n");
}

/** helpText renders `berth <cmd> --help` in docker's layout. */
export function helpText(path: string, spec: CommandSpec): string {
  let out = `Usage:  ${usageLine(path, spec)}\n\n${spec.short}\n`;
  if (spec.aliases && spec.aliases.length > 0) {
    out += `\nAliases:\n  ${spec.aliases.map((a) => `${BIN} ${a}`).join(", ")}\n`;
  }
  const options = flagUsages(spec.flags);
  if (options) out += `\nOptions:\n${options}\n`;
  return out;
}

function pluralize(word: string, n: number): string {
  return n === 1 ? word : `${word}s`;
}

/** checkArgs applies the command's argument rule with docker's messages (exit code 1). */
export function checkArgs(path: string, spec: CommandSpec, args: readonly string[]): void {
  const rule = spec.args;
  const use = usageLine(path, spec);
  const n = args.length;
  switch (rule.kind) {
    case "none":
      if (n > 0) {
        throw new StatusError(
          `${BIN}: '${path}' accepts no arguments\n\nUsage:  ${use}\n\nRun '${path} --help' for more information`,
          1,
        );
      }
      return;
    case "min":
      if (n < rule.n) {
        throw new StatusError(
          `${BIN}: '${path}' requires at least ${rule.n} ${pluralize("argument", rule.n)}\n\nUsage:  ${use}\n\nSee '${path} --help' for more information`,
          1,
        );
      }
      return;
    case "exact":
      if (n !== rule.n) {
        throw new StatusError(
          `${BIN}: '${path}' requires ${rule.n} ${pluralize("argument", rule.n)}\n\nUsage:  ${use}\n\nRun '${path} --help' for more information`,
          1,
        );
      }
      return;
    case "range":
      if (n < rule.min || n > rule.max) {
        throw new StatusError(
          `${BIN}: '${path}' requires at least ${rule.min} and at most ${rule.max} ${pluralize("argument", rule.max)}\n\nUsage:  ${use}\n\nRun '${path} --help' for more information`,
          1,
        );
      }
      return;
    case "any":
      return;
  }
}

/** Outcome of {@link parseCommandLine}: either help was asked for, or parsed args. */
export type CommandLine = { readonly help: true } | { readonly help: false; readonly parsed: ParsedArgs };

/**
 * parseCommandLine parses a command's argv, turning flag errors into docker's StatusError 125
 * (`unknown flag: --foo\n\nUsage:  ...\n\nRun '... --help' for more information`).
 */
export function parseCommandLine(path: string, spec: CommandSpec, argv: readonly string[]): CommandLine {
  const specs = [...spec.flags, spec.ownsShortH ? HELP_FLAG : HELP_FLAG_H];
  let parsed: ParsedArgs;
  try {
    parsed = parseFlags(argv, specs, { interspersed: spec.interspersed ?? true });
  } catch (err) {
    if (err instanceof FlagError) {
      throw new StatusError(
        `${err.message}\n\nUsage:  ${usageLine(path, spec)}\n\nRun '${path} --help' for more information`,
        125,
      );
    }
    throw err;
  }
  if (parsed.flags.help === true) return { help: true };
  checkArgs(path, spec, parsed.args);
  return { help: false, parsed };
}
