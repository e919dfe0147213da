/**
 * FlagParser: a small parser with pflag's (cobra's) command-line semantics, which docker uses:
 * `--name=x`, `--name x`, `-n x`, `-nx`, `-n=x`, combined boolean shorthands (`-it`),
 * `--` as the end of flags, `-` as a positional, repeatable list flags, and (for `run`/`exec`)
 * stopping at the first positional so that the container's own flags are left alone.
 *
 * Errors are thrown as {@link FlagError} with pflag's exact messages (`unknown flag: --foo`,
 * `flag needs an argument: 'n' in -n`, `invalid argument "x" for "-n, --last" flag: ...`).
 *
 * @since 0.1.0
 */

/** The kinds of value a flag takes; `list` flags may repeat and accumulate. */
export type FlagType = "bool" | "string" | "int" | "list";

/** FlagSpec describes one flag of a command. */
export interface FlagSpec {
  /** Long name without dashes, e.g. `all`. */
  readonly name: string;
  /** One-letter shorthand without dash, e.g. `a`. */
  readonly short?: string;
  readonly type: FlagType;
  /** Help text (one line). */
  readonly usage: string;
  /** Type name shown in help (`string`, `list`, `bytes`, `filter`, ...); defaults from type. */
  readonly valueName?: string;
  /** Default shown in help as `(default x)`. */
  readonly defaultText?: string;
  /** Hidden flags are accepted but not listed in help. */
  readonly hidden?: boolean;
  /**
   * Validates (and may normalise) a value as it is parsed; throw an Error whose message becomes
   * the tail of `invalid argument "v" for "-x, --flag" flag: <message>`.
   */
  readonly validate?: (value: string) => void;
}

/** Parsed flag values: bool -> boolean, string/int -> string/number (last wins), list -> string[]. */
export type FlagValues = Record<string, boolean | string | number | string[] | undefined>;

/** The result of parsing a command line. */
export interface ParsedArgs {
  readonly flags: FlagValues;
  /** Names of the flags the user set explicitly (pflag's `Changed`). */
  readonly changed: ReadonlySet<string>;
  readonly args: string[];
}

/** FlagError is a command-line error: printed with the usage line, exit code 125. */
export class FlagError extends Error {
  override readonly name = "FlagError";
}

/** ParseOptions controls positional handling. */
export interface ParseOptions {
  /** When false, the first positional ends flag parsing (docker run/exec). Default true. */
  readonly interspersed?: boolean;
}

/** flagDisplayName renders a flag as pflag does in errors: `-n, --last` or `--cpus`. */
export function flagDisplayName(spec: FlagSpec): string {
  return spec.short ? `-${spec.short}, --${spec.name}` : `--${spec.name}`;
}

function parseGoBool(value: string): boolean {
  switch (value) {
    case "1":
    case "t":
    case "T":
    case "true":
    case "TRUE":
    case "True":
      return true;
    case "0":
    case "f":
    case "F":
    case "false":
    case "FALSE":
    case "False":
      return false;
    default:
      throw new Error(`strconv.ParseBool: parsing ${JSON.stringify(value)}: invalid syntax`);
  }
}

function parseGoInt(value: string): number {
  if (!/^[+-]?\d+$/.test(value)) {
    throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`);
  }
  const n = Number(value);
  if (!Number.isSafeInteger(n)) {
    throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(value)}: value out of range`);
  }
  return n;
}

/** parseFlags parses `argv` against `specs`; throws {@link FlagError}. */
export function parseFlags(
  argv: readonly string[],
  specs: readonly FlagSpec[],
  options: ParseOptions = {},
): ParsedArgs {
  const interspersed = options.interspersed ?? true;
  const byName = new Map<string, FlagSpec>();
  const byShort = new Map<string, FlagSpec>();
  for (const s of specs) {
    byName.set(s.name, s);
    if (s.short) byShort.set(s.short, s);
  }
  const flags: FlagValues = {};
  const changed = new Set<string>();
  const args: string[] = [];

  const set = (spec: FlagSpec, raw: string): void => {
    let value: boolean | string | number;
    try {
      if (spec.type === "bool") value = parseGoBool(raw);
      else if (spec.type === "int") value = parseGoInt(raw);
      else value = raw;
      spec.validate?.(raw);
    } catch (err) {
      throw new FlagError(
        `invalid argument ${JSON.stringify(raw)} for ${JSON.stringify(flagDisplayName(spec))} flag: ${(err as Error).message}`,
      );
    }
    changed.add(spec.name);
    if (spec.type === "list") {
      const prev = flags[spec.name];
      flags[spec.name] = [...(Array.isArray(prev) ? prev : []), raw];
    } else {
      flags[spec.name] = value;
    }
  };

  let i = 0;
  while (i < argv.length) {
    const arg = argv[i++] as string;
    if (arg === "--") {
      args.push(...argv.slice(i));
      break;
    }
    if (arg.length < 2 || arg[0] !== "-") {
      args.push(arg);
      if (!interspersed) {
        args.push(...argv.slice(i));
        break;
      }
      continue;
    }
    if (arg.startsWith("--")) {
      const body = arg.slice(2);
      const eq = body.indexOf("=");
      const name = eq >= 0 ? body.slice(0, eq) : body;
      const spec = byName.get(name);
      if (!spec) throw new FlagError(`unknown flag: --${name}`);
      if (eq >= 0) set(spec, body.slice(eq + 1));
      else if (spec.type === "bool") set(spec, "true");
      else if (i < argv.length) set(spec, argv[i++] as string);
      else throw new FlagError(`flag needs an argument: --${name}`);
      continue;
    }
    // shorthand cluster: -abc, -n5, -n=5, -n 5
    const cluster = arg.slice(1);
    for (let j = 0; j < cluster.length; j++) {
      const c = cluster[j] as string;
      const spec = byShort.get(c);
      if (!spec) throw new FlagError(`unknown shorthand flag: '${c}' in -${cluster}`);
      const rest = cluster.slice(j + 1);
      if (rest.startsWith("=")) {
        set(spec, rest.slice(1));
        break;
      }
      if (spec.type === "bool") {
        set(spec, "true");
        continue;
      }
      if (rest.length > 0) set(spec, rest);
      else if (i < argv.length) set(spec, argv[i++] as string);
      else throw new FlagError(`flag needs an argument: '${c}' in -${cluster}`);
      break;
    }
  }
  return { flags, changed, args };
}

/** str reads a string flag (undefined when unset). */
export function str(p: ParsedArgs, name: string): string | undefined {
  const v = p.flags[name];
  return typeof v === "string" ? v : undefined;
}

/** bool reads a boolean flag (false when unset). */
export function bool(p: ParsedArgs, name: string): boolean {
  return p.flags[name] === true;
}

/** int reads an int flag (undefined when unset). */
export function int(p: ParsedArgs, name: string): number | undefined {
  const v = p.flags[name];
  return typeof v === "number" ? v : undefined;
}

/** list reads a repeatable flag ([] when unset). */
export function list(p: ParsedArgs, name: string): string[] {
  const v = p.flags[name];
  return Array.isArray(v) ? v : [];
}
