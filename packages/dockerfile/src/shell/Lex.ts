import { InvalidArgument } from "@berth/errdefs";
import { isSpace } from "../parser/Node.ts";
import { quoteGo } from "../parser/quoteGo.ts";

/** EnvLookup is where the lexer reads variables from; a `Map<string, string>` is one. */
export interface EnvLookup {
  get(name: string): string | undefined;
}

/** LexOptions tune the lexer like BuildKit's `shell.Lex` fields. */
export interface LexOptions {
  /** The escape character, `\` (default) or `` ` `` (from the `# escape=` directive). */
  readonly escapeToken?: string;
  /** Keep quote characters in the output. */
  readonly rawQuotes?: boolean;
  /** Keep escape characters in the output. */
  readonly rawEscapes?: boolean;
  /** Treat quotes as ordinary characters. */
  readonly skipProcessQuotes?: boolean;
  /** Leave references to unset variables as written (`$X`, `${X:-y}`) instead of expanding to "". */
  readonly skipUnsetEnv?: boolean;
}

/** ProcessResult is the outcome of one lexer run: the joined word, the split words, and which names were looked up. */
export interface ProcessResult {
  readonly result: string;
  readonly words: string[];
  /** Names that were set when referenced. */
  readonly matched: ReadonlySet<string>;
  /** Names that were referenced but unset. */
  readonly unmatched: ReadonlySet<string>;
}

class ExpansionError extends Error {}

/**
 * Lex is the Dockerfile shell-word processor (BuildKit `frontend/dockerfile/shell`): it removes
 * quotes, handles escapes and expands `$VAR`, `${VAR}` and the modifiers `:-` `-` `:+` `+` `:?` `?`
 * `#` `##` `%` `%%` `/` `//`. It never runs anything. Errors are InvalidArgument
 * `failed to process "<word>": <reason>`.
 */
export class Lex {
  readonly options: LexOptions;

  constructor(options: LexOptions = {}) {
    this.options = options;
  }

  /** processWord expands `word` to one string (no splitting). */
  processWord(word: string, env: EnvLookup): string {
    return this.process(word, env).result;
  }

  /** processWords expands `word` and splits it into words like the shell does for unquoted text. */
  processWords(word: string, env: EnvLookup): string[] {
    return this.process(word, env).words;
  }

  /** process expands `word` and reports both forms plus the names it looked up. */
  process(word: string, env: EnvLookup): ProcessResult {
    const sw = new ShellWord(word, env, this.options);
    try {
      const { result, words } = sw.processStopOn(undefined, sw.rawEscapes);
      return { result, words, matched: sw.matched, unmatched: sw.unmatched };
    } catch (err) {
      if (err instanceof ExpansionError) {
        throw new InvalidArgument(`failed to process ${quoteGo(word)}: ${err.message}`, { cause: err });
      }
      throw err;
    }
  }
}

class Words {
  readonly words: string[] = [];
  inWord = false;
  constructor(readonly buf: { s: string }) {}

  addChar(ch: string): void {
    if (isSpace(ch) && this.inWord) {
      if (this.buf.s.length !== 0) {
        this.words.push(this.buf.s);
        this.buf.s = "";
        this.inWord = false;
      }
    } else if (!isSpace(ch)) {
      this.addRawChar(ch);
    }
  }
  addRawChar(ch: string): void {
    this.buf.s += ch;
    this.inWord = true;
  }
  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }
  addRawString(s: string): void {
    this.buf.s += s;
    this.inWord = true;
  }
  getWords(): string[] {
    if (this.buf.s.length > 0) {
      this.words.push(this.buf.s);
      this.buf.s = "";
      this.inWord = false;
    }
    return this.words;
  }
}

const DIGIT = /^\p{Nd}$/u;
const LETTER = /^\p{L}$/u;

class ShellWord {
  private readonly chars: string[];
  private pos = 0;
  // Shared by nested processStopOn calls, exactly as upstream shares its words buffer.
  private readonly wordsBuffer = { s: "" };
  rawEscapes: boolean;
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();
  private readonly escapeToken: string;

  constructor(
    word: string,
    private readonly env: EnvLookup,
    private readonly opts: LexOptions,
  ) {
    this.chars = Array.from(word);
    this.rawEscapes = opts.rawEscapes ?? false;
    this.escapeToken = opts.escapeToken ?? "\\";
  }

  private peek(): string | undefined {
    return this.chars[this.pos];
  }
  private next(): string | undefined {
    const ch = this.chars[this.pos];
    if (ch !== undefined) this.pos++;
    return ch;
  }

  processStopOn(stop: string | undefined, rawEscapes: boolean): { result: string; words: string[] } {
    let result = "";
    this.wordsBuffer.s = "";
    const words = new Words(this.wordsBuffer);
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      for (let ch = this.peek(); ch !== undefined; ch = this.peek()) {
        if (stop !== undefined && ch === stop) {
          this.next();
          return { result, words: words.getWords() };
        }
        const quotes = !this.opts.skipProcessQuotes;
        if (ch === "$" || ch === "<" || (quotes && (ch === "'" || ch === '"'))) {
          const tmp =
            ch === "$"
              ? this.processDollar()
              : ch === "<"
                ? this.processPossibleHeredoc()
                : ch === "'"
                  ? this.processSingleQuote()
                  : this.processDoubleQuote();
          result += tmp;
          if (ch === "$") words.addString(tmp);
          else words.addRawString(tmp);
          continue;
        }
        let c = this.next() as string;
        if (c === this.escapeToken) {
          if (this.rawEscapes) {
            words.addRawChar(c);
            result += c;
          }
          const n = this.next();
          if (n === undefined) break;
          c = n;
          words.addRawChar(c);
        } else {
          words.addChar(c);
        }
        result += c;
      }
      if (stop !== undefined) {
        throw new ExpansionError(`unexpected end of statement while looking for matching ${stop}`);
      }
      return { result, words: words.getWords() };
    } finally {
      this.rawEscapes = saved;
    }
  }

  private processSingleQuote(): string {
    let result = "";
    const open = this.next() as string;
    if (this.opts.rawQuotes) result += open;
    for (;;) {
      const ch = this.next();
      if (ch === undefined)
        throw new ExpansionError("unexpected end of statement while looking for matching single-quote");
      if (ch === "'") {
        if (this.opts.rawQuotes) result += ch;
        return result;
      }
      result += ch;
    }
  }

  private processDoubleQuote(): string {
    let result = "";
    const open = this.next() as string;
    if (this.opts.rawQuotes) result += open;
    for (;;) {
      const p = this.peek();
      if (p === undefined)
        throw new ExpansionError("unexpected end of statement while looking for matching double-quote");
      if (p === '"') {
        this.next();
        if (this.opts.rawQuotes) result += p;
        return result;
      }
      if (p === "$") {
        result += this.processDollar();
        continue;
      }
      let ch = this.next() as string;
      if (ch === this.escapeToken) {
        if (this.rawEscapes) result += ch;
        const q = this.peek();
        if (q === undefined) continue;
        if (q === '"' || q === "$" || q === this.escapeToken) ch = this.next() as string;
      }
      result += ch;
    }
  }

  private processDollar(): string {
    this.next();
    if (this.peek() !== "{") {
      const name = this.processName();
      if (name === "") return "$";
      const value = this.getEnv(name);
      if (value === undefined && this.opts.skipUnsetEnv) return `$${name}`;
      return value ?? "";
    }
    this.next();
    const p = this.peek();
    if (p === undefined) throw new ExpansionError("syntax error: missing '}'");
    if (p === "{" || p === "}" || p === ":") throw new ExpansionError("syntax error: bad substitution");
    const name = this.processName();
    let ch = this.next();
    let chs = ch ?? "\ufffd";
    let nullIsUnset = false;
    if (ch === "}") {
      const value = this.getEnv(name);
      if (value === undefined && this.opts.skipUnsetEnv) return `\${${name}}`;
      return value ?? "";
    }
    if (ch === ":") {
      nullIsUnset = true;
      ch = this.next();
      chs += ch ?? "\ufffd";
    }
    if (nullIsUnset || ch === "+" || ch === "-" || ch === "?" || ch === "#" || ch === "%") {
      const raw = ch === "#" || ch === "%";
      if (nullIsUnset && raw) throw new ExpansionError(`unsupported modifier (${chs}) in substitution`);
      let word: string;
      try {
        word = this.processStopOn("}", raw).result;
      } catch (err) {
        if (this.peek() === undefined) throw new ExpansionError("syntax error: missing '}'");
        throw err;
      }
      const value = this.getEnv(name);
      const set = value !== undefined;
      if (this.opts.skipUnsetEnv && !set) return `\${${name}${chs}${word}}`;
      switch (ch) {
        case "-":
          return !set || (nullIsUnset && value === "") ? word : value;
        case "+":
          return !set || (nullIsUnset && value === "") ? "" : word;
        case "?":
          if (!set) throw new ExpansionError(`${name}: ${word !== "" ? word : "is not allowed to be unset"}`);
          if (nullIsUnset && value === "") {
            throw new ExpansionError(`${name}: ${word !== "" ? word : "is not allowed to be empty"}`);
          }
          return value;
        case "%":
        case "#": {
          let greedy = false;
          if (word.length > 0 && word[0] === ch) {
            greedy = true;
            word = word.slice(1);
          }
          return ch === "%" ? trimSuffix(word, value ?? "", greedy) : trimPrefix(word, value ?? "", greedy);
        }
        default:
          throw new ExpansionError(`unsupported modifier (${chs}) in substitution`);
      }
    }
    if (ch === "/") {
      const replaceAll = this.peek() === "/";
      if (replaceAll) this.next();
      let pattern: string;
      try {
        pattern = this.processStopOn("/", true).result;
      } catch (err) {
        if (this.peek() === undefined) throw new ExpansionError("syntax error: missing '/' in $" + "{}");
        throw err;
      }
      let replacement: string;
      try {
        replacement = this.processStopOn("}", true).result;
      } catch (err) {
        if (this.peek() === undefined) throw new ExpansionError("syntax error: missing '}'");
        throw err;
      }
      const value = this.getEnv(name);
      if (this.opts.skipUnsetEnv && value === undefined) return `\${${name}/${pattern}/${replacement}}`;
      const re = shellPatternToRegex(pattern, true, false, replaceAll);
      return (value ?? "").replace(re, () => replacement);
    }
    throw new ExpansionError(`unsupported modifier (${chs}) in substitution`);
  }

  private processName(): string {
    let name = "";
    for (let ch = this.peek(); ch !== undefined; ch = this.peek()) {
      if (name === "" && DIGIT.test(ch)) {
        for (let d = this.peek(); d !== undefined && DIGIT.test(d); d = this.peek()) name += this.next();
        return name;
      }
      if (name === "" && "@*#?-$!0".includes(ch)) {
        this.next();
        return ch;
      }
      if (!LETTER.test(ch) && !DIGIT.test(ch) && ch !== "_") break;
      name += this.next();
    }
    return name;
  }

  private processPossibleHeredoc(): string {
    this.next();
    if (this.peek() !== "<") return "<";
    this.next();
    let space = "";
    for (let p = this.peek(); p === "\t" || p === "\r" || p === " "; p = this.peek()) space += this.next();
    return `<<${space}`;
  }

  private getEnv(name: string): string | undefined {
    const v = this.env.get(name);
    if (v !== undefined) this.matched.add(name);
    else this.unmatched.add(name);
    return v;
  }
}

function shellPatternToRegex(pattern: string, greedy: boolean, anchored: boolean, global = false): RegExp {
  const chars = Array.from(pattern);
  let out = anchored ? "^" : "";
  const star = greedy ? ".*" : ".*?";
  for (let i = 0; i < chars.length; i++) {
    let tok = chars[i] as string;
    switch (tok) {
      case "*":
        out += star;
        continue;
      case "?":
        out += ".";
        continue;
      case "\\": {
        const nx = chars[i + 1];
        if (nx === "}" || nx === "/") continue;
        out += "\\";
        i++;
        tok = nx ?? "";
        if (tok !== "*" && tok !== "?" && tok !== "\\") {
          throw new ExpansionError(`invalid pattern (${pattern}) in substitution: invalid escape '\\${tok}'`);
        }
        break;
      }
      case "[":
      case "]":
      case "{":
      case "}":
      case ".":
      case "+":
      case "(":
      case ")":
      case "|":
      case "^":
      case "$":
        out += "\\";
        break;
    }
    out += tok;
  }
  return new RegExp(out, global ? "gu" : "u");
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const m = shellPatternToRegex(pattern, greedy, true).exec(value);
  return m ? value.slice(m.index + m[0].length) : value;
}

function reversePattern(pattern: string): string {
  const p = Array.from(pattern);
  const out: string[] = new Array(p.length);
  const last = p.length - 1;
  for (let i = 0; i <= last; ) {
    const tok = p[i] as string;
    const o = last - i;
    if (tok === "\\" && i !== last) {
      out[o - 1] = tok;
      out[o] = p[i + 1] as string;
      i += 2;
    } else {
      out[o] = tok;
      i++;
    }
  }
  return out.join("");
}

function reverseString(s: string): string {
  return Array.from(s).reverse().join("");
}

function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  return reverseString(trimPrefix(reversePattern(pattern), reverseString(value), greedy));
}
