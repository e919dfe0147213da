import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Lex } from "../src/index.ts";
import { conformanceDir } from "./sharedDir.ts";

// BuildKit's lexer data (envVarTest, wordsTest), read at run time.
const base = conformanceDir("dockerfile-shell");

interface EnvCase {
  readonly line: number;
  readonly input: string;
  readonly expected: string;
}

function envVarCases(dir: string): EnvCase[] {
  const out: EnvCase[] = [];
  readFileSync(join(dir, "envVarTest"), "utf8")
    .split("\n")
    .forEach((raw, i) => {
      if (raw.startsWith("#") || raw.trim() === "") return;
      const fields = raw.trim().split("|");
      if (fields.length !== 3)
        throw new Error(`envVarTest:${i + 1}: expected 3 fields, found ${fields.length}`);
      const [platform, input, expected] = fields.map((f) => f.trim()) as [string, string, string];
      if (platform === "A" || platform === "U") out.push({ line: i + 1, input, expected });
    });
  return out;
}

interface WordsCase {
  readonly line: number;
  readonly env: ReadonlyMap<string, string>;
  readonly input: string;
  readonly expected: string[] | "error";
}

function wordsCases(dir: string): WordsCase[] {
  const out: WordsCase[] = [];
  const env = new Map<string, string>();
  readFileSync(join(dir, "wordsTest"), "utf8")
    .split("\n")
    .forEach((raw, i) => {
      if (raw.startsWith("#") || raw === "") return;
      if (raw.startsWith("ENV ")) {
        const kv = raw.slice(4).replace(/^ +/, "");
        const eq = kv.indexOf("=");
        env.set(kv.slice(0, eq), kv.slice(eq + 1));
        return;
      }
      const fields = raw.split("|");
      if (fields.length !== 2)
        throw new Error(`wordsTest:${i + 1}: expected 2 fields, found ${fields.length}`);
      const input = (fields[0] as string).trim();
      const expected = (fields[1] as string).replace(/^[ \t]+/, "");
      out.push({
        line: i + 1,
        env: new Map(env),
        input,
        expected: expected === "error" ? "error" : expected.split(","),
      });
    });
  return out;
}

describe.skipIf(base === undefined)("dockerfile-shell conformance", () => {
  const dir = base ?? "";
  const env = new Map([
    ["PWD", "/home"],
    ["SHELL", "bash"],
    ["KOREAN", "한국어"],
    ["NULL", ""],
  ]);

  it.each(
    (base === undefined ? [] : envVarCases(dir)).map((c) => [`line ${c.line}: ${c.input}`, c] as const),
  )("envVarTest %s", (_, c) => {
    const lex = new Lex();
    if (c.expected === "error") expect(() => lex.processWord(c.input, env)).toThrow();
    else expect(lex.processWord(c.input, env)).toBe(c.expected);
  });

  it.each(
    (base === undefined ? [] : wordsCases(dir)).map((c) => [`line ${c.line}: ${c.input}`, c] as const),
  )("wordsTest %s", (_, c) => {
    const lex = new Lex();
    if (c.expected === "error") expect(() => lex.processWords(c.input, c.env)).toThrow();
    else expect(lex.processWords(c.input, c.env)).toEqual(c.expected);
  });
});
