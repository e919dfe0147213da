import { withSuggestion } from "../suggest.ts";

type FlagType = "bool" | "string" | "strings";

/** InstructionError is a problem with one instruction; `parseInstructions` adds the location. */
export class InstructionError extends Error {}

/**
 * Flags parses an instruction's `--name[=value]` words against the flags it declares, like
 * BuildKit's BFlags: unknown flags fail (with a did-you-mean), non-list flags may appear once,
 * bool flags take `true`/`false`/nothing, string flags need `=value`.
 */
export class Flags {
  private readonly declared = new Map<string, FlagType>();
  private readonly values = new Map<string, string[]>();

  constructor(private readonly args: readonly string[]) {}

  /** declare registers a flag this instruction accepts. */
  declare(name: string, type: FlagType): this {
    this.declared.set(name, type);
    return this;
  }

  /** parse checks every flag word; call after declaring. */
  parse(): this {
    for (const a of this.args) {
      if (a === "--") return this;
      if (!a.startsWith("--")) throw new InstructionError(`arg should start with -- : ${a}`);
      const eq = a.indexOf("=");
      const flagName = eq < 0 ? a : a.slice(0, eq);
      const value = eq < 0 ? "" : a.slice(eq + 1);
      const name = flagName.slice(2);
      const type = this.declared.get(name);
      if (type === undefined) {
        throw new InstructionError(
          withSuggestion(`unknown flag: ${flagName}`, name, [...this.declared.keys()], true),
        );
      }
      if (this.values.has(name) && type !== "strings") {
        throw new InstructionError(`duplicate flag specified: ${flagName}`);
      }
      const list = this.values.get(name) ?? [];
      this.values.set(name, list);
      if (type === "bool") {
        if (eq >= 0 && value === "") throw new InstructionError(`missing a value on flag: ${flagName}`);
        const v = value.toLowerCase();
        if (v !== "" && v !== "true" && v !== "false") {
          throw new InstructionError(`expecting boolean value for flag ${flagName}, not: ${value}`);
        }
        list.push(v === "false" ? "false" : "true");
      } else {
        if (eq < 0) throw new InstructionError(`missing a value on flag: ${flagName}`);
        list.push(value);
      }
    }
    return this;
  }

  /** string is the value of a string flag, undefined when not given. */
  string(name: string): string | undefined {
    return this.values.get(name)?.[0];
  }

  /** strings is every value of a repeatable flag. */
  strings(name: string): string[] {
    return [...(this.values.get(name) ?? [])];
  }

  /** bool is a bool flag's value, undefined when not given. */
  bool(name: string): boolean | undefined {
    const v = this.values.get(name)?.[0];
    return v === undefined ? undefined : v === "true";
  }

  /** used lists the flags that were given. */
  used(): string[] {
    return [...this.values.keys()];
  }
}
