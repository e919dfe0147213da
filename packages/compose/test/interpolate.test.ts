// biome-ignore-all lint/suspicious/noTemplateCurlyInString: compose templates are the subject of these tests
import { describe, expect, it } from "vitest";
import { interpolateString, interpolateValue } from "../src/index.ts";

const env: Record<string, string> = { FOO: "foo", EMPTY: "", NESTED: "n" };
const lookup = (n: string) => env[n];

describe("interpolateString", () => {
  const cases: Array<[string, string]> = [
    ["plain", "plain"],
    ["$FOO", "foo"],
    ["${FOO}", "foo"],
    ["a-${FOO}-b", "a-foo-b"],
    ["${MISSING}", ""],
    ["${MISSING:-def}", "def"],
    ["${EMPTY:-def}", "def"],
    ["${EMPTY-def}", ""],
    ["${MISSING-def}", "def"],
    ["${FOO:+alt}", "alt"],
    ["${EMPTY:+alt}", ""],
    ["${EMPTY+alt}", "alt"],
    ["${MISSING+alt}", ""],
    ["$$FOO", "$FOO"],
    ["$${FOO}", "${FOO}"],
    ["${MISSING:-${FOO}}", "foo"],
    ["${MISSING:-${ALSO:-x${NESTED}}}", "xn"],
    ["${FOO:?must be set}", "foo"],
    ["cost $5", "cost $5"],
    ["${MISSING:-a}{b}", "a{b}"],
  ];
  for (const [input, want] of cases) {
    it(`${input} -> ${JSON.stringify(want)}`, () => expect(interpolateString(input, lookup)).toBe(want));
  }

  it("fails for required variables with the message", () => {
    expect(() => interpolateString("${MISSING:?please set it}", lookup)).toThrow(
      "required variable MISSING is missing a value: please set it",
    );
    expect(() => interpolateString("${EMPTY:?}", lookup)).toThrow(
      "required variable EMPTY is missing a value",
    );
    expect(() => interpolateString("${EMPTY?x}", lookup)).not.toThrow();
    expect(() => interpolateString("${MISSING?x}", lookup)).toThrow(
      "required variable MISSING is missing a value: x",
    );
  });

  it("does not evaluate an unused default", () => {
    expect(interpolateString("${FOO:-${MISSING:?boom}}", lookup)).toBe("foo");
  });

  it("rejects malformed templates", () => {
    expect(() => interpolateString("${FOO", lookup)).toThrow("invalid template");
    expect(() => interpolateString("${}", lookup)).toThrow("invalid template");
    expect(() => interpolateString("${FOO:x}", lookup)).toThrow("invalid template");
  });

  it("reports unset variables once per use", () => {
    const missing: string[] = [];
    interpolateString("$A ${B} ${C:-x}", lookup, { onMissing: (n) => missing.push(n) });
    expect(missing).toEqual(["A", "B"]);
  });
});

describe("interpolateValue", () => {
  it("walks values, not keys, and names the path in errors", () => {
    expect(interpolateValue({ "${FOO}": ["${FOO}", 1, true] }, lookup)).toEqual({
      "${FOO}": ["foo", 1, true],
    });
    expect(() => interpolateValue({ services: { web: { image: "${X:?}" } } }, lookup)).toThrow(
      "error while interpolating services.web.image: required variable X is missing a value",
    );
  });
});
