import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DockerfileError, dump, parse } from "../src/index.ts";
import { conformanceDir } from "./sharedDir.ts";

// BuildKit's parser test data, enumerated at run time: a case dropped into the folder is tested.
const base = conformanceDir("dockerfile-parser");
const cases = (sub: string) => (base === undefined ? [] : readdirSync(join(base, sub)).sort());

describe.skipIf(base === undefined)("dockerfile-parser conformance", () => {
  const root = base ?? "";

  describe("testfiles (positive)", () => {
    it.each(cases("testfiles"))("%s dumps exactly the expected result", (name) => {
      const dockerfile = readFileSync(join(root, "testfiles", name, "Dockerfile"));
      const expected = readFileSync(join(root, "testfiles", name, "result"), "utf8").replace(/\r\n/g, "\n");
      expect(`${dump(parse(dockerfile).ast)}\n`).toBe(expected);
    });
  });

  describe("testfiles-negative", () => {
    it.each(cases("testfiles-negative"))("%s fails to parse", (name) => {
      const dockerfile = readFileSync(join(root, "testfiles-negative", name, "Dockerfile"));
      expect(() => parse(dockerfile)).toThrow(DockerfileError);
    });
  });

  it("testfile-line has the upstream line spans", () => {
    const { ast } = parse(readFileSync(join(root, "testfile-line", "Dockerfile")));
    expect([ast.startLine, ast.endLine]).toEqual([5, 31]);
    expect(ast.children.map((c) => [c.startLine, c.endLine])).toEqual([
      [5, 5],
      [11, 12],
      [17, 31],
    ]);
  });
});
