import { describe, expect, it } from "vitest";
import { HEADER_FUNCS, Template } from "../src/Template.ts";

const run = (src: string, data: unknown) => Template.parse(src).execute(data);

describe("Template", () => {
  it("renders fields, nested fields and missing keys like Go", () => {
    const data = { State: { Status: "running" }, NetworkSettings: { IPAddress: "172.17.0.2" }, Name: "/x" };
    expect(run("{{.State.Status}} {{.NetworkSettings.IPAddress}}", data)).toBe("running 172.17.0.2");
    expect(run("{{.Nope}}", data)).toBe("<no value>");
    expect(run("{{.}}", { b: 1, a: [1, 2] })).toBe("map[a:[1 2] b:1]");
    expect(run("{{.X}}", { X: null })).toBe("<nil>");
  });
  it("calls context methods, with arguments", () => {
    const ctx = { Names: () => "web", Label: (k: unknown) => (k === "app" ? "demo" : "") };
    expect(run('{{.Names}} {{.Label "app"}}', ctx)).toBe("web demo");
  });
  it("has json, join, upper, lower, title, index, len, printf, pad, truncate, split", () => {
    expect(run("{{json .}}", { a: "x<y", b: [1] })).toBe('{"a":"x<y","b":[1]}');
    expect(run("{{json .}}", { Z: () => "z", A: () => "a" })).toBe('{"A":"a","Z":"z"}');
    expect(run('{{join .L ","}}', { L: ["a", "b"] })).toBe("a,b");
    expect(run("{{upper .S}}{{lower .S}}{{title .T}}", { S: "Ab", T: "hello world" })).toBe(
      "ABabHello World",
    );
    expect(run('{{index .Labels "com.x"}}', { Labels: { "com.x": "1" } })).toBe("1");
    expect(run("{{len .L}}", { L: [1, 2, 3] })).toBe("3");
    expect(run('{{printf "%s-%d" .S .N}}', { S: "a", N: 3 })).toBe("a-3");
    expect(run("[{{pad .S 1 2}}]{{truncate .S 1}}", { S: "ab" })).toBe("[ ab  ]a");
    expect(run('{{range split .S ":"}}<{{.}}>{{end}}', { S: "a:b" })).toBe("<a><b>");
    expect(run("{{.S | upper}}", { S: "pipe" })).toBe("PIPE");
  });
  it("supports if/else, range/else, with, and trimming", () => {
    expect(run("{{if .A}}yes{{else}}no{{end}}", { A: "" })).toBe("no");
    expect(run('{{if eq .A "x"}}x{{else if .B}}b{{else}}none{{end}}', { A: "y", B: true })).toBe("b");
    expect(run("{{range .L}}{{.}},{{else}}empty{{end}}", { L: [] })).toBe("empty");
    expect(run("{{range $.L}}{{.N}} {{end}}", { L: [{ N: 1 }, { N: 2 }] })).toBe("1 2 ");
    expect(run("{{with .C}}{{.D}}{{end}}", { C: { D: "d" } })).toBe("d");
    expect(run("a  {{- .X -}}  b", { X: "x" })).toBe("axb");
    expect(run("{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}", { CreatedSince: () => "" })).toBe(
      "N/A",
    );
  });
  it("renders table headers with docker's header functions", () => {
    expect(
      Template.parse("{{.ID}}\t{{upper .Names}}").execute(
        { ID: "CONTAINER ID", Names: "NAMES" },
        HEADER_FUNCS,
      ),
    ).toBe("CONTAINER ID\tNAMES");
  });
  it("reports errors", () => {
    expect(() => Template.parse("{{nope .X}}").execute({})).toThrow('function "nope" not defined');
    expect(() => Template.parse("{{if .X}}")).toThrow("unexpected EOF");
    expect(() => Template.parse("{{end}}")).toThrow("unexpected {{end}}");
  });
});
