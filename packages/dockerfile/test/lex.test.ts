// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile and shell text under test uses ${VAR} syntax
import { describe, expect, it } from "vitest";
import { Lex } from "../src/index.ts";

const env = new Map([
  ["A", "a"],
  ["EMPTY", ""],
  ["SPACE", "x  y"],
  ["PATHV", "/usr/local/bin/app.tar.gz"],
]);
const w = (s: string, opts = {}) => new Lex(opts).processWord(s, env);

describe("Lex word expansion", () => {
  it("expands plain and braced variables", () => {
    expect(w("$A-${A}_$UNSET.")).toBe("a-a_.");
    expect(w("$")).toBe("$");
    expect(w("${A}${A}")).toBe("aa");
  });

  it("implements the :- - :+ + modifiers", () => {
    expect(w("${UNSET:-def}")).toBe("def");
    expect(w("${EMPTY:-def}")).toBe("def");
    expect(w("${EMPTY-def}")).toBe("");
    expect(w("${UNSET-def}")).toBe("def");
    expect(w("${A:+alt}")).toBe("alt");
    expect(w("${EMPTY:+alt}")).toBe("");
    expect(w("${EMPTY+alt}")).toBe("alt");
    expect(w("${UNSET+alt}")).toBe("");
    expect(w("${UNSET:-$A}")).toBe("a");
  });

  it("implements ? and pattern modifiers", () => {
    expect(() => w("${UNSET:?must be set}")).toThrow(
      'failed to process "${UNSET:?must be set}": UNSET: must be set',
    );
    expect(() => w("${EMPTY:?}")).toThrow("EMPTY: is not allowed to be empty");
    expect(w("${EMPTY?}")).toBe("");
    expect(w("${PATHV#*/}")).toBe("usr/local/bin/app.tar.gz");
    expect(w("${PATHV##*/}")).toBe("app.tar.gz");
    expect(w("${PATHV%.*}")).toBe("/usr/local/bin/app.tar");
    expect(w("${PATHV%%.*}")).toBe("/usr/local/bin/app");
    expect(w("${PATHV/bin/sbin}")).toBe("/usr/local/sbin/app.tar.gz");
    expect(w("${PATHV//a/A}")).toBe("/usr/locAl/bin/App.tAr.gz");
  });

  it("handles quotes and escapes", () => {
    expect(w("'$A'")).toBe("$A");
    expect(w('"$A b"')).toBe("a b");
    expect(w("\\$A")).toBe("$A");
    expect(w('"\\$A\\"\\x"')).toBe('$A"\\x');
    expect(w("`$A", { escapeToken: "`" })).toBe("$A");
    expect(() => w("'open")).toThrow(/matching single-quote/);
    expect(() => w('"open')).toThrow(/matching double-quote/);
    expect(() => w("${A:-x")).toThrow(/missing '}'/);
    expect(() => w("${A")).toThrow(/unsupported modifier/); // upstream reads EOF as the modifier
    expect(() => w("${}")).toThrow(/bad substitution/);
  });

  it("splits unquoted expansions into words, keeps quoted ones together", () => {
    const lex = new Lex();
    expect(lex.processWords("a${SPACE}b", env)).toEqual(["ax", "yb"]);
    expect(lex.processWords('a"${SPACE}"b c', env)).toEqual(["ax  yb", "c"]);
  });

  it("can leave unset variables alone and report what it looked up", () => {
    expect(w("$NOPE ${NOPE:-x} $A", { skipUnsetEnv: true })).toBe("$NOPE ${NOPE:-x} a");
    const r = new Lex().process("$A $B", env);
    expect([...r.matched]).toEqual(["A"]);
    expect([...r.unmatched]).toEqual(["B"]);
  });
});
