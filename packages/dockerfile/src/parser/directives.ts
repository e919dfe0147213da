import { trimLeftSpace } from "./Node.ts";

/** Directive is one parser directive (`# syntax=...`, `# escape=...`, `# check=...`) with its 1-based line. */
export interface Directive {
  readonly name: "syntax" | "escape" | "check";
  readonly value: string;
  readonly line: number;
}

const DIRECTIVE = /^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$/;
const VALID = new Set(["syntax", "escape", "check"]);

/**
 * DirectiveParser reads parser directives from the leading run of `#` lines. The first line that
 * is not a `# name=value` comment with a known name ends the directive section for good.
 * Repeating a directive throws.
 */
export class DirectiveParser {
  private line = 0;
  private done = false;
  private readonly seen = new Set<string>();

  /** parseLine looks at the next physical line; returns the directive on it, if any. */
  parseLine(text: string): Directive | undefined {
    this.line++;
    if (this.done) return undefined;
    if (!text.startsWith("#")) {
      this.done = true;
      return undefined;
    }
    const m = DIRECTIVE.exec(trimLeftSpace(text.slice(1)));
    const key = m?.[1]?.toLowerCase();
    if (m === null || key === undefined || !VALID.has(key)) {
      this.done = true;
      return undefined;
    }
    if (this.seen.has(key)) throw new Error(`only one ${key} parser directive can be used`);
    this.seen.add(key);
    return { name: key as Directive["name"], value: m[2] ?? "", line: this.line };
  }
}
