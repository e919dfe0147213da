import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DockerIgnore, Lex, parse, parseStages } from "../src/index.ts";

// Keeps the README example honest: the same calls, the same outputs.
describe("README example", () => {
  it("runs as documented", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const text = /const text = `([\s\S]*?)`;/.exec(readme)?.[1]?.replaceAll("\\$", "$");
    expect(text).toBeDefined();
    const { metaArgs, stages } = parseStages(parse(text ?? "", { file: "Dockerfile" }));
    const value = metaArgs[0]?.args[0]?.value ?? "";
    expect(new Lex().processWord(stages[0]?.baseImage ?? "", new Map([["BASE", value]]))).toBe("alpine:3.20");
    expect(stages.map((s) => [s.name, s.commands.map((c) => c.kind)])).toEqual([
      ["build", ["RUN", "COPY"]],
      [undefined, ["COPY", "CMD"]],
    ]);
    const ignore = DockerIgnore.parse("node_modules\n!node_modules/keep\n*.log\n");
    expect([ignore.matches("node_modules/x/index.js"), ignore.matches("app.js")]).toEqual([true, false]);
    expect(() => parseStages(parse("FROM alpine\nRUNN make\n"))).toThrow(
      "Dockerfile:2: unknown instruction: RUNN (did you mean RUN?)",
    );
  });
});
