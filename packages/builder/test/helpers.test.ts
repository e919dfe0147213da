import { describe, expect, it } from "vitest";
import { cacheKey, stateId } from "../src/BuildCache.ts";
import { goList, goQuoteList, nopCreatedBy, runCreatedBy } from "../src/createdBy.ts";
import { segmentRegex } from "../src/SourceTree.ts";
import type { ImageState } from "../src/types.ts";

describe("segmentRegex (filepath.Match per segment)", () => {
  it.each([
    ["*.txt", "a.txt", true],
    ["*.txt", "a.txt.bak", false],
    ["?.md", "a.md", true],
    ["?.md", "ab.md", false],
    ["[ab]*", "beta", true],
    ["[!ab]*", "beta", false],
    ["a.b", "axb", false],
    ["f\\*", "f*", true],
  ])("%s matches %s: %s", (pattern, name, want) => {
    expect(segmentRegex(pattern).test(name)).toBe(want);
  });
});

describe("history text as docker's classic builder writes it", () => {
  it("formats nop steps, RUN with build args, and Go-style lists", () => {
    expect(nopCreatedBy(["/bin/sh", "-c"], 'CMD ["sh"]')).toBe('/bin/sh -c #(nop)  CMD ["sh"]');
    expect(nopCreatedBy(["/bin/sh", "-c"], "WORKDIR /app", false)).toBe("/bin/sh -c #(nop) WORKDIR /app");
    expect(runCreatedBy(["/bin/sh", "-c", "make"], ["B=2", "A=1"])).toBe("|2 A=1 B=2 /bin/sh -c make");
    expect(runCreatedBy(["make"], [])).toBe("make");
    expect(goQuoteList(["sh", "/app/app.sh"])).toBe('["sh" "/app/app.sh"]');
    expect(goList(["/bin/bash", "-c"])).toBe("[/bin/bash -c]");
  });
});

describe("cache keys", () => {
  const state: ImageState = {
    config: { architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } },
    layers: [],
  };
  const base = { parent: stateId(state), instruction: "RUN make", args: ["A=1"] };

  it("change with the parent, the instruction, the args and the sources (D12)", () => {
    const k = cacheKey(base);
    expect(cacheKey({ ...base })).toBe(k);
    expect(cacheKey({ ...base, args: ["A=2"] })).not.toBe(k);
    expect(cacheKey({ ...base, instruction: "RUN make all" })).not.toBe(k);
    expect(cacheKey({ ...base, sources: "sha256:00" })).not.toBe(k);
    const other = stateId({ ...state, config: { ...state.config, os: "windows" } });
    expect(cacheKey({ ...base, parent: other })).not.toBe(k);
  });

  it("do not depend on the order of the args", () => {
    expect(cacheKey({ ...base, args: ["A=1", "B=2"] })).toBe(cacheKey({ ...base, args: ["B=2", "A=1"] }));
  });
});
