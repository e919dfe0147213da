import { describe, expect, it } from "vitest";
import { cleanPath, DockerIgnore } from "../src/index.ts";

describe("DockerIgnore", () => {
  it("has BuildKit's testDockerignore facts", () => {
    const ig = DockerIgnore.parse("\nba*\nDockerfile\n!bay\n.dockerignore\n");
    expect(ig.matches("foo")).toBe(false);
    expect(ig.matches("bar")).toBe(true);
    expect(ig.matches("baz")).toBe(true);
    expect(ig.matches("bay")).toBe(false);
    expect(ig.matches("Dockerfile")).toBe(true);
    expect(ig.matches(".dockerignore")).toBe(true);
  });

  it("rejects a lone ! (testDockerignoreInvalid)", () => {
    expect(() => DockerIgnore.parse("!\n")).toThrow('illegal exclusion pattern: "!"');
    expect(() => DockerIgnore.parse("!  \n")).toThrow(/illegal exclusion/);
  });

  it("skips comments and blank lines, cleans patterns and drops a leading /", () => {
    const ig = DockerIgnore.parse("# comment\n\n  /build/  \n./src/../tmp\n#notapattern\n");
    expect(ig.patterns.map((p) => p.pattern)).toEqual(["build", "tmp"]);
    expect(ig.matches("build")).toBe(true);
    expect(ig.matches("build/out/x.o")).toBe(true);
    expect(ig.matches("tmp/a")).toBe(true);
    expect(ig.matches("src/build")).toBe(false);
    expect(ig.matches("#notapattern")).toBe(false);
  });

  it("keeps * and ? within one segment and lets ** span segments", () => {
    const ig = DockerIgnore.parse("*.md\ndocs/?.txt\n**/*.log\nvendor/**\n**/secret\n");
    expect(ig.matches("README.md")).toBe(true);
    expect(ig.matches("sub/README.md")).toBe(false);
    expect(ig.matches("docs/a.txt")).toBe(true);
    expect(ig.matches("docs/ab.txt")).toBe(false);
    expect(ig.matches("x.log")).toBe(true);
    expect(ig.matches("a/b/c/x.log")).toBe(true);
    expect(ig.matches("vendor/a/b")).toBe(true);
    expect(ig.matches("secret")).toBe(true);
    expect(ig.matches("deep/er/secret")).toBe(true);
    expect(ig.matches("notsecret")).toBe(false);
  });

  it("applies patterns in order, the last match wins", () => {
    const ig = DockerIgnore.parse("*.md\n!README*.md\nREADME-secret.md\n");
    expect(ig.matches("CHANGES.md")).toBe(true);
    expect(ig.matches("README.md")).toBe(false);
    expect(ig.matches("README-secret.md")).toBe(true);
    const reversed = DockerIgnore.parse("!README.md\n*.md\n");
    expect(reversed.matches("README.md")).toBe(true);
  });

  it("excludes files under an excluded parent directory, and re-includes inside it", () => {
    const ig = DockerIgnore.parse("node_modules\n!node_modules/keep\n");
    expect(ig.matches("node_modules/pkg/index.js")).toBe(true);
    expect(ig.matches("node_modules/keep")).toBe(false);
    expect(ig.matches("node_modules/keep/file")).toBe(false); // a re-included directory brings its contents
    expect(ig.matches(".")).toBe(false);
    expect(ig.matches("/node_modules")).toBe(true);
  });

  it("tells whether an ignored directory may hold re-included files", () => {
    const ig = DockerIgnore.parse("node_modules\n!node_modules/keep\nout\n");
    expect(ig.mayContainIncluded("node_modules")).toBe(true);
    expect(ig.mayContainIncluded("out")).toBe(false);
    expect(DockerIgnore.parse("a\n").mayContainIncluded("a")).toBe(false);
    expect(DockerIgnore.parse("a\n!**/*.go\n").mayContainIncluded("a")).toBe(true);
    expect(DockerIgnore.parse("a\n!a/*/x\n").mayContainIncluded("a/b")).toBe(true);
    expect(DockerIgnore.parse("a\n!a/c/x\n").mayContainIncluded("a/b")).toBe(false);
  });

  it("supports character classes and escapes", () => {
    const ig = DockerIgnore.parse("file[0-9].txt\nlit\\*\n");
    expect(ig.matches("file3.txt")).toBe(true);
    expect(ig.matches("filex.txt")).toBe(false);
    expect(ig.matches("lit*")).toBe(true);
    expect(ig.matches("litx")).toBe(false);
    expect(() => DockerIgnore.parse("bad[\n")).toThrow(/syntax error in pattern/);
  });

  it("cleanPath behaves like Go's path.Clean", () => {
    expect(cleanPath("")).toBe(".");
    expect(cleanPath("a//b/./c/..")).toBe("a/b");
    expect(cleanPath("/../a")).toBe("/a");
    expect(cleanPath("../../a")).toBe("../../a");
    expect(cleanPath("a/")).toBe("a");
  });
});
