import { InvalidArgument } from "@berth/errdefs";
import { trimSpace } from "../parser/Node.ts";
import { cleanPath } from "./cleanPath.ts";

type MatchType = "exact" | "prefix" | "suffix" | "regexp";

/** IgnorePattern is one cleaned `.dockerignore` line; `exclusion` is true for `!pattern` (re-include). */
export interface IgnorePattern {
  readonly pattern: string;
  readonly exclusion: boolean;
  readonly dirs: readonly string[];
}

interface Compiled extends IgnorePattern {
  readonly type: MatchType;
  readonly regexp?: RegExp;
}

const ESCAPE = new Set([".", "+", "(", ")", "|", "{", "}", "$"]);

function compile(pattern: string): { type: MatchType; regexp?: RegExp } {
  let re = "^";
  let type: MatchType = "exact";
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    if (ch === "*") {
      if (chars[i + 1] === "*") {
        const first = i === 0;
        i++;
        if (chars[i + 1] === "/") i++;
        if (i + 1 >= chars.length) {
          if (type === "exact") type = "prefix";
          else {
            re += ".*";
            type = "regexp";
          }
        } else {
          re += "(.*/)?";
          type = "regexp";
        }
        if (first) type = "suffix";
      } else {
        re += "[^/]*";
        type = "regexp";
      }
    } else if (ch === "?") {
      re += "[^/]";
      type = "regexp";
    } else if (ESCAPE.has(ch)) {
      re += `\\${ch}`;
    } else if (ch === "\\") {
      const nx = chars[i + 1];
      if (nx !== undefined) {
        re += `\\${nx}`;
        i++;
        type = "regexp";
      } else {
        re += "\\\\";
      }
    } else if (ch === "[" || ch === "]") {
      re += ch;
      type = "regexp";
    } else {
      re += ch;
    }
  }
  if (type !== "regexp") return { type };
  try {
    return { type, regexp: new RegExp(`${re}$`) };
  } catch {
    throw new InvalidArgument(`syntax error in pattern: ${pattern}`);
  }
}

function validate(pattern: string): void {
  // Go's filepath.Match(pattern, ".") rejects unterminated classes and a trailing backslash.
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\") {
      if (i + 1 >= pattern.length) throw new InvalidArgument(`syntax error in pattern: ${pattern}`);
      i++;
    } else if (c === "[" && !inClass) {
      inClass = true;
      if (pattern[i + 1] === "^") i++;
      if (pattern[i + 1] === "]") throw new InvalidArgument(`syntax error in pattern: ${pattern}`);
    } else if (c === "]" && inClass) {
      inClass = false;
    }
  }
  if (inClass) throw new InvalidArgument(`syntax error in pattern: ${pattern}`);
}

function matchOne(p: Compiled, path: string): boolean {
  switch (p.type) {
    case "exact":
      return path === p.pattern;
    case "prefix":
      return path.startsWith(p.pattern.slice(0, -2));
    case "suffix": {
      const suffix = p.pattern.slice(2);
      return path.endsWith(suffix) || (suffix.startsWith("/") && path === suffix.slice(1));
    }
    case "regexp":
      return p.regexp?.test(path) ?? false;
  }
}

/**
 * DockerIgnore matches paths (relative to the build context, `/`-separated) against a
 * `.dockerignore` file with docker's semantics: lines starting with `#` are comments, patterns are
 * trimmed and cleaned like `filepath.Clean` (a leading `/` is dropped), `*` and `?` stay within a
 * path segment, `**` spans any number of segments, and later lines win, so `!pattern` re-includes
 * what an earlier pattern excluded. A path is excluded when it or any of its parent directories
 * matches. A lone `!` is an error.
 */
export class DockerIgnore {
  private readonly compiled: Compiled[];

  private constructor(patterns: Compiled[]) {
    this.compiled = patterns;
  }

  /** parse reads `.dockerignore` text. Throws InvalidArgument for `!` alone or a malformed pattern. */
  static parse(text: string): DockerIgnore {
    const lines = text.replace(/^\ufeff/, "").split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    const patterns: string[] = [];
    for (const raw of lines) {
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (line.startsWith("#")) continue;
      let p = trimSpace(line);
      if (p === "") continue;
      const invert = p.startsWith("!");
      if (invert) p = trimSpace(p.slice(1));
      if (p.length > 0) {
        p = cleanPath(p);
        if (p.length > 1 && p.startsWith("/")) p = p.slice(1);
      }
      patterns.push(invert ? `!${p}` : p);
    }
    return DockerIgnore.fromPatterns(patterns);
  }

  /** fromPatterns builds a matcher from already-split patterns (e.g. an API's exclude list). */
  static fromPatterns(patterns: readonly string[]): DockerIgnore {
    const out: Compiled[] = [];
    for (const raw of patterns) {
      let p = trimSpace(raw);
      if (p === "") continue;
      p = cleanPath(p);
      let exclusion = false;
      if (p.startsWith("!")) {
        if (p.length === 1) throw new InvalidArgument('illegal exclusion pattern: "!"');
        exclusion = true;
        p = p.slice(1);
      }
      validate(p);
      out.push({ pattern: p, exclusion, dirs: p.split("/"), ...compile(p) });
    }
    return new DockerIgnore(out);
  }

  /** patterns lists the cleaned patterns in order. */
  get patterns(): readonly IgnorePattern[] {
    return this.compiled.map(({ pattern, exclusion, dirs }) => ({ pattern, exclusion, dirs }));
  }

  /** hasExclusions tells whether any `!` pattern exists. */
  get hasExclusions(): boolean {
    return this.compiled.some((p) => p.exclusion);
  }

  /**
   * matches tells whether `path` is ignored (it or a parent directory matches the last applicable
   * pattern). The context root (`.`, ``, `/`) never matches.
   */
  matches(path: string): boolean {
    const file = cleanPath(path.replace(/^\/+/, ""));
    if (file === ".") return false;
    const slash = file.lastIndexOf("/");
    const parentDirs = slash < 0 ? [] : file.slice(0, slash).split("/");
    let matched = false;
    for (const p of this.compiled) {
      if (p.exclusion !== matched) continue;
      let match = matchOne(p, file);
      for (let i = 0; !match && i < parentDirs.length; i++) {
        match = matchOne(p, parentDirs.slice(0, i + 1).join("/"));
      }
      if (match) matched = !p.exclusion;
    }
    return matched;
  }

  /**
   * mayContainIncluded tells whether an ignored directory may still hold files that a `!` pattern
   * re-includes, so a walker must descend into it instead of skipping it. It is conservative: true
   * whenever some exclusion pattern could match a path below `dir` (segment by segment, with `**`
   * matching anything).
   */
  mayContainIncluded(dir: string): boolean {
    const d = cleanPath(dir.replace(/^\/+/, ""));
    const segs = d === "." ? [] : d.split("/");
    return this.compiled.some((p) => {
      if (!p.exclusion) return false;
      for (let i = 0; i < segs.length; i++) {
        const ps = p.dirs[i];
        if (ps === undefined) return false;
        if (ps.includes("**")) return true;
        const seg = segs[i] ?? "";
        const c = { ...p, pattern: ps, dirs: [ps], ...compile(ps) };
        if (!matchOne(c, seg)) return false;
      }
      return p.dirs.length > segs.length;
    });
  }
}
