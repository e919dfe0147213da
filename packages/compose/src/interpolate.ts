/**
 * interpolate: compose's `${VAR}` substitution (the spec's 12-interpolation.md, compose-go's
 * template package): `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?err}`,
 * `${VAR?err}`, `${VAR:+alt}`, `${VAR+alt}` with nested expressions inside defaults, and `$$`
 * for a literal `$`.
 *
 * @since 0.1.0
 */
import { InvalidArgument } from "@berth/errdefs";
import { Override } from "./parseYaml.ts";

/** Lookup returns a variable's value, or undefined when it is unset. */
export type Lookup = (name: string) => string | undefined;

/** InterpolateOptions configures {@link interpolateString}. */
export interface InterpolateOptions {
  /** Called for every unset variable used without a default (compose warns and uses ""). */
  readonly onMissing?: (name: string) => void;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/**
 * interpolateString substitutes every expression in `text`. Throws InvalidArgument for a
 * malformed template and for `${VAR:?msg}` / `${VAR?msg}` whose variable is missing
 * (`required variable VAR is missing a value: msg`).
 */
export function interpolateString(text: string, lookup: Lookup, opts: InterpolateOptions = {}): string {
  if (!text.includes("$")) return text;
  return new Parser(text, lookup, opts).run();
}

class Parser {
  private i = 0;
  constructor(
    private readonly s: string,
    private readonly lookup: Lookup,
    private readonly opts: InterpolateOptions,
  ) {}

  run(): string {
    const out = this.until(undefined);
    return out;
  }

  /** until reads text up to the closing `}` (when `stop` is "}") or the end. */
  private until(stop: "}" | undefined): string {
    let out = "";
    let depth = 0;
    while (this.i < this.s.length) {
      const c = this.s[this.i] as string;
      if (stop !== undefined && c === "}" && depth === 0) return out;
      if (c === "$") {
        out += this.dollar();
        continue;
      }
      if (stop !== undefined && c === "{") depth++;
      if (stop !== undefined && c === "}") depth--;
      out += c;
      this.i++;
    }
    if (stop !== undefined) throw this.invalid();
    return out;
  }

  private invalid(): InvalidArgument {
    return new InvalidArgument(`invalid template: ${JSON.stringify(this.s)}`, { code: "ERR_TEMPLATE" });
  }

  private value(name: string): string | undefined {
    return this.lookup(name);
  }

  private dollar(): string {
    const next = this.s[this.i + 1];
    if (next === "$") {
      this.i += 2;
      return "$";
    }
    if (next === "{") {
      this.i += 2;
      return this.braced();
    }
    const m = NAME.exec(this.s.slice(this.i + 1));
    if (!m) {
      // A lone `$` (e.g. at the end, or `$1`) stays literal, as compose does.
      this.i++;
      return "$";
    }
    this.i += 1 + m[0].length;
    const v = this.value(m[0]);
    if (v === undefined) {
      this.opts.onMissing?.(m[0]);
      return "";
    }
    return v;
  }

  private braced(): string {
    const m = NAME.exec(this.s.slice(this.i));
    if (!m) throw this.invalid();
    const name = m[0];
    this.i += name.length;
    const c = this.s[this.i];
    if (c === "}") {
      this.i++;
      const v = this.value(name);
      if (v === undefined) {
        this.opts.onMissing?.(name);
        return "";
      }
      return v;
    }
    let op: string;
    if (c === ":") {
      const o = this.s[this.i + 1];
      if (o !== "-" && o !== "?" && o !== "+") throw this.invalid();
      op = `:${o}`;
      this.i += 2;
    } else if (c === "-" || c === "?" || c === "+") {
      op = c;
      this.i++;
    } else {
      throw this.invalid();
    }
    const v = this.value(name);
    const unsetOrEmpty = v === undefined || v === "";
    const missing = op.startsWith(":") ? unsetOrEmpty : v === undefined;
    const kind = op.slice(-1);
    // Evaluate the argument lazily: a `${X:?}` inside an unused default must not fail.
    const start = this.i;
    const useArg = kind === "-" ? missing : kind === "+" ? !missing : missing;
    let arg: string;
    if (useArg) {
      arg = this.until("}");
    } else {
      this.skipBraced(start);
      arg = "";
    }
    this.i++; // the closing brace
    switch (kind) {
      case "-":
        return missing ? arg : (v as string);
      case "+":
        return missing ? "" : arg;
      default:
        if (missing) {
          throw new InvalidArgument(
            arg === ""
              ? `required variable ${name} is missing a value`
              : `required variable ${name} is missing a value: ${arg}`,
            { code: "ERR_REQUIRED_VARIABLE" },
          );
        }
        return v as string;
    }
  }

  /** skipBraced advances to the matching `}` without evaluating. */
  private skipBraced(start: number): void {
    let depth = 0;
    for (let j = start; j < this.s.length; j++) {
      const c = this.s[j];
      if (c === "$" && this.s[j + 1] === "$") {
        j++;
        continue;
      }
      if (c === "{") depth++;
      else if (c === "}") {
        if (depth === 0) {
          this.i = j;
          return;
        }
        depth--;
      }
    }
    throw this.invalid();
  }
}

/**
 * interpolateValue walks a parsed YAML value and interpolates every string (mapping keys are
 * left alone, as compose-go does). `path` is used in error messages.
 */
export function interpolateValue(
  value: unknown,
  lookup: Lookup,
  opts: InterpolateOptions & { readonly path?: string } = {},
): unknown {
  const walk = (v: unknown, path: string): unknown => {
    if (typeof v === "string") {
      try {
        return interpolateString(v, lookup, opts);
      } catch (err) {
        if (err instanceof InvalidArgument && path !== "") {
          throw new InvalidArgument(`error while interpolating ${path}: ${err.message}`, {
            ...(err.code === undefined ? {} : { code: err.code }),
            cause: err,
          });
        }
        throw err;
      }
    }
    if (v instanceof Override) return new Override(walk(v.value, path));
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${path}[${i}]`));
    if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x, path === "" ? k : `${path}.${k}`);
      return out;
    }
    return v;
  };
  return walk(value, opts.path ?? "");
}
