import { describe, expect, it } from "vitest";
import { DockerfileError, dump, parse } from "../src/index.ts";

const d = (text: string) => dump(parse(text).ast);

describe("parse", () => {
  it("reads directives only from the leading comment block", () => {
    const r = parse(
      "# syntax=docker/dockerfile:1\n# check=skip=all\n# escape=`\nFROM a\nRUN x `\n  y\n# escape=\\\n",
    );
    expect(r.directives.map((x) => [x.name, x.value, x.line])).toEqual([
      ["syntax", "docker/dockerfile:1", 1],
      ["check", "skip=all", 2],
      ["escape", "`", 3],
    ]);
    expect(r.escapeToken).toBe("`");
    expect(d("# escape=`\nFROM a\nRUN x `\n  y")).toBe('(from "a")\n(run "x   y")');
  });

  it("stops reading directives after a blank line or ordinary comment", () => {
    expect(parse("# hello\n# escape=`\nFROM a").escapeToken).toBe("\\");
    expect(parse("\n# escape=`\nFROM a").escapeToken).toBe("\\");
  });

  it("rejects a repeated directive and a bad escape", () => {
    expect(() => parse("# escape=`\n# escape=\\\nFROM a")).toThrow(/only one escape parser directive/);
    expect(() => parse("# escape=x\nFROM a")).toThrow(/invalid escape token 'x'/);
  });

  it("joins continuations, skipping comments and blank lines inside them", () => {
    const r = parse("FROM a\nRUN echo a \\\n# comment\n\n    b \\\n  c\n");
    expect(dump(r.ast)).toBe('(from "a")\n(run "echo a     b   c")');
    expect(r.ast.children[1]?.startLine).toBe(2);
    expect(r.ast.children[1]?.endLine).toBe(6);
    expect(r.warnings).toHaveLength(1);
  });

  it("keeps an escaped escape at end of line literal", () => {
    expect(d("RUN foo\\\\\nRUN bar")).toBe('(run "foo\\\\\\\\")\n(run "bar")');
  });

  it("parses flags, JSON and shell forms", () => {
    expect(d('COPY --from=build --chmod=644 ["a b", "/c"]')).toBe(
      '(copy ["--from=build" "--chmod=644"] "a b" "/c")',
    );
    expect(d('COPY --chown="a b" -- --odd /d')).toBe('(copy ["--chown=a b"] "--odd" "/d")');
    expect(d('RUN ["echo", 1]'.replace("1", '"1"'))).toBe('(run "echo" "1")');
    expect(d("RUN ['echo']")).toBe("(run \"['echo']\")");
    expect(() => parse('CMD ["a", 1]')).toThrow(DockerfileError);
    expect(parse('CMD ["a"]').ast.children[0]?.attributes.json).toBe(true);
  });

  it("parses ENV/LABEL/ARG forms and nested ONBUILD", () => {
    expect(d('ENV A=1 B="x y"')).toBe('(env "A" "1" "=" "B" "\\"x y\\"" "=")');
    expect(d("ENV PATH /a /b")).toBe('(env "PATH" "/a /b" "")');
    expect(d('ARG A=1 B="x y" C')).toBe('(arg "A=1" "B=\\"x y\\"" "C")');
    expect(d("ONBUILD COPY --from=x a b")).toBe('(onbuild (copy ["--from=x"] "a" "b"))');
    expect(d("FOO bar")).toBe('(foo "")');
    expect(() => parse("ENV A=1 B")).toThrow(/can't find = in "B"/);
  });

  it("collects heredoc bodies", () => {
    const r = parse(
      "FROM a\nRUN <<EOF\necho hi\nEOF\nCOPY <<A <<-'B' /dst/\nline a\nA\n\t\tline b\n\tB\nRUN echo\n",
    );
    const [, run, copy, last] = r.ast.children;
    expect(run?.heredocs).toEqual([
      { name: "EOF", fileDescriptor: 0, expand: true, chomp: false, content: "echo hi\n" },
    ]);
    expect(dump(r.ast).split("\n")[1]).toBe('(run "<<EOF")');
    expect(copy?.heredocs.map((h) => [h.name, h.expand, h.chomp, h.content])).toEqual([
      ["A", true, false, "line a\n"],
      ["B", false, true, "\t\tline b\n"],
    ]);
    expect([copy?.startLine, copy?.endLine]).toEqual([5, 9]);
    expect(last?.startLine).toBe(10);
  });

  it("detects quoted heredoc words and file descriptors", () => {
    const r = parse('FROM a\nRUN 3<<"EOF" cat\nx $y\nEOF\nRUN <<E"O"F\nz\nEOF\n');
    expect(r.ast.children[1]?.heredocs[0]).toMatchObject({ name: "EOF", fileDescriptor: 3, expand: false });
    expect(r.ast.children[2]?.heredocs[0]).toMatchObject({ name: "EOF", expand: false });
  });

  it("ignores heredocs in JSON form and fails on an unterminated one", () => {
    expect(parse('RUN ["cat", "<<EOF"]').ast.children[0]?.heredocs).toEqual([]);
    expect(() => parse("FROM a\nRUN <<EOF\nnever ends\n")).toThrow(/Dockerfile:2: unterminated heredoc/);
  });

  it("accepts CRLF, a BOM and bytes that are not UTF-8", () => {
    expect(d("\ufeffFROM a\r\nRUN b\r\n")).toBe('(from "a")\n(run "b")');
    const bytes = new Uint8Array([...new TextEncoder().encode("RUN a"), 0xff, 0x0a]);
    expect(dump(parse(bytes).ast)).toBe('(run "a\\xff")');
  });

  it("rejects files without instructions and over-long lines", () => {
    expect(() => parse("")).toThrow(/file with no instructions/);
    expect(() => parse("# only\n\n")).toThrow(DockerfileError);
    expect(() => parse(`RUN ${"x".repeat(70000)}`)).toThrow(/max allowed size of 65535/);
  });
});
