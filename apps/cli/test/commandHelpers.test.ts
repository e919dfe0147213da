import { describe, expect, it } from "vitest";
import { STOP_FLAGS, stopOptions } from "../src/commands/stopOptions.ts";
import { parseFlags } from "../src/FlagParser.ts";
import { listFormat, renderObject } from "../src/Formatter.ts";

describe("listFormat", () => {
  it("lets -q win over --format and maps empty or bare table to the default table", () => {
    expect(listFormat("{{.Names}}", true, "table X")).toBe("{{.ID}}");
    expect(listFormat("", false, "table X")).toBe("table X");
    expect(listFormat("table", false, "table X")).toBe("table X");
    expect(listFormat("table {{.ID}}", false, "table X")).toBe("table {{.ID}}");
  });
});

describe("renderObject", () => {
  it("maps json to {{json .}} and ends with a newline", () => {
    expect(renderObject("json", { A: 1 })).toBe('{"A":1}\n');
    expect(renderObject("{{.A}}", { A: 1 })).toBe("1\n");
  });
});

describe("stopOptions", () => {
  it("reads -t or the hidden --time, and leaves out an empty signal", () => {
    expect(stopOptions(parseFlags(["-t", "3", "c"], STOP_FLAGS))).toEqual({ t: 3 });
    expect(stopOptions(parseFlags(["--time", "0", "-s", "", "c"], STOP_FLAGS))).toEqual({ t: 0 });
    expect(stopOptions(parseFlags(["-s", "SIGINT", "c"], STOP_FLAGS))).toEqual({ signal: "SIGINT" });
  });
});
