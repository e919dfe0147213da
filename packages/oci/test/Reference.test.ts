import { isKind } from "@berth/errdefs";
import { describe, expect, it } from "vitest";
import {
  familiarMatch,
  familiarName,
  familiarString,
  formatReference,
  fullName,
  isValidTag,
  parseAnyReference,
  parseDockerRef,
  parseNamed,
  parseNormalizedNamed,
  parseReference,
  parseRepositoryTag,
  parseTagTarget,
  pathMatch,
  type Reference,
  trimNamed,
  withDefaultTag,
  withDigest,
  withTag,
  withTagOrDigest,
} from "../src/Reference.ts";

const F64 = "f".repeat(64);
const D = `sha256:${F64}`;
const LONG_NAMESPACE = `${Array(4).fill("this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255").join("_")}/docker`;

function errorOf(fn: () => unknown): { kind: boolean; message: string } {
  try {
    fn();
  } catch (err) {
    return { kind: isKind(err, "InvalidArgument"), message: (err as Error).message };
  }
  throw new Error("expected an error");
}

// Facts from distribution/reference TestReferenceParse (non-normalised Parse).
describe("parseReference (distribution Parse)", () => {
  const ok: [input: string, domain: string, name: string, tag?: string | undefined, digest?: string][] = [
    ["test_com", "", "test_com"],
    ["test.com:tag", "", "test.com", "tag"],
    ["test.com:5000", "", "test.com", "5000"],
    ["test.com/repo:tag", "test.com", "test.com/repo", "tag"],
    ["test:5000/repo", "test:5000", "test:5000/repo"],
    ["test:5000/repo:tag", "test:5000", "test:5000/repo", "tag"],
    ["test:5000/repo@" + D, "test:5000", "test:5000/repo", undefined, D],
    ["test:5000/repo:tag@" + D, "test:5000", "test:5000/repo", "tag", D],
    ["lowercase:Uppercase", "", "lowercase", "Uppercase"],
    [`${"a/".repeat(127)}a:tag-puts-this-over-max`, "a", `${"a/".repeat(127)}a`, "tag-puts-this-over-max"],
    ["sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com", "sub-dom1.foo.com/bar/baz/quux"],
    [
      "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
      "sub-dom1.foo.com",
      "sub-dom1.foo.com/bar/baz/quux",
      "some-long-tag",
    ],
    [
      "b.gcr.io/test.example.com/my-app:test.example.com",
      "b.gcr.io",
      "b.gcr.io/test.example.com/my-app",
      "test.example.com",
    ],
    ["xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com", "xn--n3h.com/myimage", "xn--n3h.com"],
    [`xn--7o8h.com/myimage:xn--7o8h.com@${D}`, "xn--7o8h.com", "xn--7o8h.com/myimage", "xn--7o8h.com", D],
    ["foo_bar.com:8080", "", "foo_bar.com", "8080"],
    ["foo/foo_bar.com:8080", "foo", "foo/foo_bar.com", "8080"],
    ["192.168.1.1", "", "192.168.1.1"],
    ["192.168.1.1:tag", "", "192.168.1.1", "tag"],
    ["192.168.1.1:5000", "", "192.168.1.1", "5000"],
    ["192.168.1.1/repo", "192.168.1.1", "192.168.1.1/repo"],
    ["192.168.1.1:5000/repo", "192.168.1.1:5000", "192.168.1.1:5000/repo"],
    ["192.168.1.1:5000/repo:5050", "192.168.1.1:5000", "192.168.1.1:5000/repo", "5050"],
    ["[2001:db8::1]/repo", "[2001:db8::1]", "[2001:db8::1]/repo"],
    ["[2001:db8:1:2:3:4:5:6]/repo:tag", "[2001:db8:1:2:3:4:5:6]", "[2001:db8:1:2:3:4:5:6]/repo", "tag"],
    ["[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "[2001:db8::1]:5000/repo"],
    ["[2001:db8::1]:5000/repo:tag", "[2001:db8::1]:5000", "[2001:db8::1]:5000/repo", "tag"],
    [`[2001:db8::1]:5000/repo@${D}`, "[2001:db8::1]:5000", "[2001:db8::1]:5000/repo", undefined, D],
    [`[2001:db8::1]:5000/repo:tag@${D}`, "[2001:db8::1]:5000", "[2001:db8::1]:5000/repo", "tag", D],
    ["[2001:db8::]:5000/repo", "[2001:db8::]:5000", "[2001:db8::]:5000/repo"],
    ["[::1]:5000/repo", "[::1]:5000", "[::1]:5000/repo"],
    [`example.com/${"a".repeat(255)}:tag`, "example.com", `example.com/${"a".repeat(255)}`, "tag"],
  ];
  it.each(ok)("parses %s", (input, domain, name, tag, digest) => {
    const ref = parseReference(input);
    expect(formatReference(ref)).toBe(input);
    expect(ref.domain).toBe(domain);
    expect(fullName(ref)).toBe(name);
    expect(ref.tag).toBe(tag);
    expect(ref.digest).toBe(digest);
  });

  const bad: [input: string, message: string][] = [
    ["", "repository name must have at least one component"],
    [":justtag", "invalid reference format"],
    [`@${D}`, "invalid reference format"],
    [`repo@sha256:${"f".repeat(34)}`, "invalid checksum digest length"],
    [`validname@invaliddigest:${F64}`, "unsupported digest algorithm"],
    ["Uppercase:tag", "repository name must be lowercase"],
    ["test:5000/Uppercase/lowercase:tag", "repository name must be lowercase"],
    [`domain/${"a".repeat(256)}:tag`, "repository name must not be more than 255 characters"],
    ["aa/asdf$$^/aa", "invalid reference format"],
    ["[2001:db8::1]", "invalid reference format"],
    ["[2001:db8::1]:5000", "invalid reference format"],
    ["[2001:db8::1]:tag", "invalid reference format"],
    ["[fe80::1%eth0]:5000/repo", "invalid reference format"],
    ["[fe80::1%@invalidzone]:5000/repo", "invalid reference format"],
    [`repo@sha256:${"F".repeat(64)}`, "invalid checksum digest format"],
    [`repo@sha384:${"f".repeat(96)}`, "unsupported digest algorithm"],
  ];
  it.each(bad)("rejects %s", (input, message) => {
    expect(errorOf(() => parseReference(input))).toEqual({ kind: true, message });
  });

  it("accepts sha512 digests (registered in dockerd)", () => {
    const d = `sha512:${"f".repeat(128)}`;
    expect(parseReference(`validname@${d}`).digest).toBe(d);
  });
});

// Facts from distribution/reference normalize_test.go.
describe("parseNormalizedNamed", () => {
  const valid = [
    "docker/docker",
    "library/debian",
    "debian",
    "localhost/library/debian",
    "localhost/debian",
    "LOCALDOMAIN/library/debian",
    "LOCALDOMAIN/debian",
    "docker.io/docker/docker",
    "docker.io/library/debian",
    "docker.io/debian",
    "index.docker.io/docker/docker",
    "index.docker.io/library/debian",
    "index.docker.io/debian",
    "127.0.0.1:5000/docker/docker",
    "127.0.0.1:5000/library/debian",
    "127.0.0.1:5000/debian",
    "192.168.0.1",
    "192.168.0.1:80",
    "192.168.0.1:8/debian",
    "192.168.0.2:25000/debian",
    "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
    "[fc00::1]:5000/docker",
    "[fc00::1]:5000/docker/docker",
    "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
    "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
    "Docker/docker",
    "DOCKER/docker",
    "docker-rules/docker",
    "docker---rules/docker",
    "doc/docker",
    "d/docker",
    "jess/t",
    "dock__er/docker",
  ];
  it.each(valid)("accepts %s", (name) => {
    expect(() => parseNormalizedNamed(name)).not.toThrow();
  });

  const invalid = [
    "https://github.com/docker/docker",
    "docker/Docker",
    "-docker",
    "-docker/docker",
    "-docker.io/docker/docker",
    "docker///docker",
    "docker.io/docker/Docker",
    "docker.io/docker///docker",
    "[fc00::1]",
    "[fc00::1]:5000",
    "fc00::1:5000/debian",
    "[fe80::1%eth0]:5000/debian",
    "[2001:db8:3:4::192.0.2.33]:5000/debian",
    "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
    "docker-/docker",
    "-docker-/docker",
    "____/____",
    "_docker/_docker",
    "dock..er/docker",
    "dock_.er/docker",
    "dock-.er/docker",
    "docker/",
    LONG_NAMESPACE,
    "",
    "busybox:",
    "busybox@",
    "busybox:-tag",
    `busybox:${"a".repeat(129)}`,
    "a b",
  ];
  it.each(invalid)("rejects %j", (name) => {
    const e = errorOf(() => parseNormalizedNamed(name));
    expect(e.kind).toBe(true);
  });

  it.each([
    ["Busybox", "invalid reference format: repository name (library/Busybox) must be lowercase"],
    ["docker/Docker", "invalid reference format: repository name (docker/Docker) must be lowercase"],
    [
      "docker.io/docker/Docker:tag",
      "invalid reference format: repository name (docker/Docker) must be lowercase",
    ],
    [
      "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
      "invalid repository name (1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a), cannot specify 64-byte hexadecimal strings",
    ],
    ["-docker", "invalid reference format"],
    ["a b", "invalid reference format"],
    [LONG_NAMESPACE, "repository name must not be more than 255 characters"],
    [`busybox@sha256:${"f".repeat(63)}`, "invalid checksum digest length"],
  ])("message for %s", (name, message) => {
    expect(errorOf(() => parseNormalizedNamed(name)).message).toBe(message);
  });

  // TestParseRepositoryInfo: [remote path, familiar name, full name, ambiguous name, domain]
  const info: [string, string, string, string, string][] = [
    ["fooo", "localhost/fooo", "localhost/fooo", "localhost/fooo", "localhost"],
    ["fooo/bar", "localhost/fooo/bar", "localhost/fooo/bar", "localhost/fooo/bar", "localhost"],
    ["fooo", "LOCALDOMAIN/fooo", "LOCALDOMAIN/fooo", "LOCALDOMAIN/fooo", "LOCALDOMAIN"],
    ["fooo/bar", "LOCALDOMAIN/fooo/bar", "LOCALDOMAIN/fooo/bar", "LOCALDOMAIN/fooo/bar", "LOCALDOMAIN"],
    ["fooo/bar", "fooo/bar", "docker.io/fooo/bar", "index.docker.io/fooo/bar", "docker.io"],
    ["library/ubuntu", "ubuntu", "docker.io/library/ubuntu", "library/ubuntu", "docker.io"],
    ["nonlibrary/ubuntu", "nonlibrary/ubuntu", "docker.io/nonlibrary/ubuntu", "", "docker.io"],
    ["other/library", "other/library", "docker.io/other/library", "", "docker.io"],
    [
      "private/moonbase",
      "127.0.0.1:8000/private/moonbase",
      "127.0.0.1:8000/private/moonbase",
      "",
      "127.0.0.1:8000",
    ],
    ["privatebase", "127.0.0.1:8000/privatebase", "127.0.0.1:8000/privatebase", "", "127.0.0.1:8000"],
    ["private/moonbase", "example.com/private/moonbase", "example.com/private/moonbase", "", "example.com"],
    ["privatebase", "example.com/privatebase", "example.com/privatebase", "", "example.com"],
    [
      "private/moonbase",
      "example.com:8000/private/moonbase",
      "example.com:8000/private/moonbase",
      "",
      "example.com:8000",
    ],
    [
      "privatebasee",
      "example.com:8000/privatebasee",
      "example.com:8000/privatebasee",
      "",
      "example.com:8000",
    ],
    [
      "library/ubuntu-12.04-base",
      "ubuntu-12.04-base",
      "docker.io/library/ubuntu-12.04-base",
      "index.docker.io/library/ubuntu-12.04-base",
      "docker.io",
    ],
    ["library/foo", "foo", "docker.io/library/foo", "docker.io/foo", "docker.io"],
    ["library/foo/bar", "library/foo/bar", "docker.io/library/foo/bar", "", "docker.io"],
    ["store/foo/bar", "store/foo/bar", "docker.io/store/foo/bar", "", "docker.io"],
    ["bar", "Foo/bar", "Foo/bar", "", "Foo"],
    ["bar", "FOO/bar", "FOO/bar", "", "FOO"],
  ];
  const infoCases = info.flatMap(([remote, familiar, full, ambiguous, domain]) =>
    [familiar, full, ambiguous]
      .filter((s) => s !== "")
      .map((input) => ({ input, remote, familiar, full, domain })),
  );
  it.each(infoCases)("normalises $input", ({ input, remote, familiar, full, domain }) => {
    const ref = parseNormalizedNamed(input);
    expect(familiarName(ref)).toBe(familiar);
    expect(formatReference(ref)).toBe(full);
    expect(ref.domain).toBe(domain);
    expect(ref.path).toBe(remote);
  });

  it.each([
    ["test.com/foo", "test.com", "foo"],
    ["test_com/foo", "docker.io", "test_com/foo"],
    ["docker/migrator", "docker.io", "docker/migrator"],
    ["test.com:8080/foo", "test.com:8080", "foo"],
    ["test-com:8080/foo", "test-com:8080", "foo"],
    ["foo", "docker.io", "library/foo"],
    ["xn--n3h.com/foo", "xn--n3h.com", "foo"],
    ["xn--n3h.com:18080/foo", "xn--n3h.com:18080", "foo"],
    ["docker.io/foo", "docker.io", "library/foo"],
    ["docker.io/library/foo", "docker.io", "library/foo"],
    ["docker.io/library/foo/bar", "docker.io", "library/foo/bar"],
    ["localhost:5000/a/b:t", "localhost:5000", "a/b"],
    ["[::1]:5000/x", "[::1]:5000", "x"],
  ])("splits %s into %s + %s", (input, domain, path) => {
    const ref = parseNormalizedNamed(input);
    expect(ref.domain).toBe(domain);
    expect(ref.path).toBe(path);
  });

  it("keeps tag and digest together (TestParseReferenceWithTagAndDigest)", () => {
    const short = "busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa";
    const ref = parseNormalizedNamed(short);
    expect(formatReference(ref)).toBe(`docker.io/library/${short}`);
    expect(ref.tag).toBe("latest");
    expect(ref.digest).toBe("sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa");
    expect(familiarString(ref)).toBe(short);
  });

  it("treats a bare host-like name as a repository with a tag", () => {
    const ref = parseNormalizedNamed("localhost:5000");
    expect(formatReference(ref)).toBe("docker.io/library/localhost:5000");
    expect(ref.tag).toBe("5000");
  });

  it("refuses very long input quickly (no regex blow-up)", () => {
    const hostile = `${"a-".repeat(20000)}!`;
    const start = Date.now();
    expect(errorOf(() => parseNormalizedNamed(hostile)).message).toBe("invalid reference format");
    const near = `${"a".repeat(30)}${"-a".repeat(1500)}.${"a-".repeat(400)}/x!`;
    expect(errorOf(() => parseNormalizedNamed(near)).message).toBe("invalid reference format");
    expect(Date.now() - start).toBeLessThan(2000);
  });
});

describe("formatting", () => {
  it.each([
    ["busybox", "docker.io/library/busybox:latest", "busybox:latest", "busybox"],
    ["busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36", "busybox"],
    ["user/app", "docker.io/user/app:latest", "user/app:latest", "user/app"],
    ["localhost:5000/a/b", "localhost:5000/a/b:latest", "localhost:5000/a/b:latest", "localhost:5000/a/b"],
    [`busybox@${D}`, `docker.io/library/busybox@${D}`, `busybox@${D}`, "busybox"],
    ["index.docker.io/library/redis:7", "docker.io/library/redis:7", "redis:7", "redis"],
    ["docker.io/library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest", "library/a/b"],
  ])("%s -> %s / %s", (input, full, familiar, name) => {
    const ref = withDefaultTag(parseNormalizedNamed(input));
    expect(formatReference(ref)).toBe(full);
    expect(familiarString(ref)).toBe(familiar);
    expect(familiarName(ref)).toBe(name);
  });

  it("withDefaultTag leaves tagged and digested references alone", () => {
    const digested = parseNormalizedNamed(`busybox@${D}`);
    expect(withDefaultTag(digested)).toEqual(digested);
    expect(withDefaultTag(parseNormalizedNamed("busybox:x")).tag).toBe("x");
    expect(withDefaultTag(parseNormalizedNamed("busybox")).tag).toBe("latest");
  });

  it("produces plain objects without undefined keys", () => {
    expect(parseNormalizedNamed("busybox")).toStrictEqual({ domain: "docker.io", path: "library/busybox" });
  });
});

describe("parseDockerRef (TestParseDockerRef)", () => {
  const e = "sha256:e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582";
  it.each([
    ["busybox", "docker.io/library/busybox:latest"],
    ["busybox:latest", "docker.io/library/busybox:latest"],
    [`busybox@${e}`, `docker.io/library/busybox@${e}`],
    ["library/busybox", "docker.io/library/busybox:latest"],
    ["docker.io/busybox", "docker.io/library/busybox:latest"],
    ["docker.io/library/busybox", "docker.io/library/busybox:latest"],
    ["docker.io/busybox:latest", "docker.io/library/busybox:latest"],
    ["library/busybox:latest", "docker.io/library/busybox:latest"],
    ["docker.io/library/busybox:latest", "docker.io/library/busybox:latest"],
    ["gcr.io/library/busybox", "gcr.io/library/busybox:latest"],
    [`gcr.io/library/busybox:latest@${e}`, `gcr.io/library/busybox@${e}`],
  ])("%s -> %s", (input, expected) => {
    const out = formatReference(parseDockerRef(input));
    expect(out).toBe(expected);
    expect(formatReference(parseReference(out))).toBe(out);
  });
});

describe("parseNamed (canonical only)", () => {
  it.each([
    ["test.com/foo", "test.com", "foo"],
    ["test:8080/foo", "test:8080", "foo"],
    ["docker.io/library/foo", "docker.io", "library/foo"],
  ])("accepts %s", (input, domain, path) => {
    expect(parseNamed(input)).toEqual({ domain, path });
  });
  it.each(["test_com/foo", "test.com", "foo", "library/foo", "docker.io/foo"])("rejects %s", (input) => {
    expect(errorOf(() => parseNamed(input)).message).toBe("repository name must be canonical");
  });
});

describe("parseAnyReference (TestParseAnyReference)", () => {
  const dg = "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c";
  it.each([
    ["redis", "docker.io/library/redis"],
    ["redis:latest", "docker.io/library/redis:latest"],
    ["docker.io/library/redis:latest", "docker.io/library/redis:latest"],
    [`redis@sha256:${dg}`, `docker.io/library/redis@sha256:${dg}`],
    ["dmcgowan/myapp", "docker.io/dmcgowan/myapp"],
    ["dmcgowan/myapp:latest", "docker.io/dmcgowan/myapp:latest"],
    [dg, `sha256:${dg}`],
    [`sha256:${dg}`, `sha256:${dg}`],
    [dg.slice(0, 63), `docker.io/library/${dg.slice(0, 63)}`],
    ["dbcc1", "docker.io/library/dbcc1"],
  ])("%s -> %s", (input, expected) => {
    const r = parseAnyReference(input);
    expect(typeof r === "string" ? r : formatReference(r)).toBe(expected);
  });
});

describe("tags and digests", () => {
  it.each([
    ["latest", true],
    ["1.36.1", true],
    ["_x", true],
    ["A-b.C_d", true],
    ["a".repeat(128), true],
    ["a".repeat(129), false],
    ["-foo", false],
    [".foo", false],
    ["", false],
    ["a/b", false],
    ["a:b", false],
    ["ü", false],
  ])("isValidTag(%j) = %s", (tag, valid) => {
    expect(isValidTag(tag)).toBe(valid);
  });

  it("withTag and withDigest combine (TestWithTag/TestWithDigest)", () => {
    const name = parseReference("test.com:8000/foo");
    expect(formatReference(withTag(name, "TAG5"))).toBe("test.com:8000/foo:TAG5");
    const digested = withDigest(name, D);
    expect(formatReference(withTag(digested, "TAG5"))).toBe(`test.com:8000/foo:TAG5@${D}`);
    expect(formatReference(withDigest(withTag(name, "latest"), D))).toBe(`test.com:8000/foo:latest@${D}`);
    expect(errorOf(() => withTag(name, "-foo")).message).toBe("invalid tag format");
    expect(errorOf(() => withDigest(name, "foo")).message).toBe("invalid digest format");
    expect(formatReference(trimNamed(withDigest(withTag(name, "x"), D)))).toBe("test.com:8000/foo");
  });

  it("withTagOrDigest follows POST /images/create's tag parameter", () => {
    const ref = parseNormalizedNamed("busybox:old");
    expect(formatReference(withTagOrDigest(ref, "1.36"))).toBe("docker.io/library/busybox:1.36");
    expect(formatReference(withTagOrDigest(ref, D))).toBe(`docker.io/library/busybox@${D}`);
    expect(errorOf(() => withTagOrDigest(ref, "bad tag")).message).toBe("invalid tag format");
  });

  it("parseTagTarget refuses digests and defaults the tag", () => {
    expect(formatReference(parseTagTarget("myapp"))).toBe("docker.io/library/myapp:latest");
    expect(formatReference(parseTagTarget("localhost:5000/app:v2"))).toBe("localhost:5000/app:v2");
    expect(errorOf(() => parseTagTarget(`busybox@${D}`)).message).toBe(
      "refusing to create a tag with a digest reference",
    );
  });

  it("parseRepositoryTag splits like docker's legacy helper", () => {
    expect(parseRepositoryTag("busybox")).toEqual({ repository: "busybox", tag: "" });
    expect(parseRepositoryTag("busybox:1")).toEqual({ repository: "busybox", tag: "1" });
    expect(parseRepositoryTag("localhost:5000/busybox")).toEqual({
      repository: "localhost:5000/busybox",
      tag: "",
    });
    expect(parseRepositoryTag("localhost:5000/busybox:t")).toEqual({
      repository: "localhost:5000/busybox",
      tag: "t",
    });
    expect(parseRepositoryTag(`busybox@${D}`)).toEqual({ repository: "busybox", tag: D });
  });
});

describe("familiarMatch (TestMatch)", () => {
  it.each([
    ["foo", "foo/**/ba[rz]", false],
    ["foo/any/bat", "foo/**/ba[rz]", false],
    ["foo/a/bar", "foo/**/ba[rz]", true],
    ["foo/b/baz", "foo/**/ba[rz]", true],
    ["foo/c/baz:tag", "foo/**/ba[rz]", true],
    ["foo/c/baz:tag", "foo/*/baz:tag", true],
    ["foo/c/baz:tag", "foo/c/baz:tag", true],
    ["example.com/foo/c/baz:tag", "*/foo/c/baz", true],
    ["example.com/foo/c/baz:tag", "example.com/foo/c/baz", true],
    ["busybox:latest", "busy*", true],
    ["busybox:latest", "busybox:l?test", true],
    ["busybox:latest", "b[^a]sybox", true],
    ["busybox:latest", "b[a-c]sybox", false],
  ])("%s ~ %s = %s", (input, pattern, expected) => {
    const r = parseAnyReference(input) as Reference;
    expect(familiarMatch(pattern, r)).toBe(expected);
  });

  it("rejects bad patterns (TestMatchError)", () => {
    const r = parseNormalizedNamed("foo");
    expect(errorOf(() => familiarMatch("[-x]", r)).message).toBe("syntax error in pattern");
    expect(errorOf(() => pathMatch("[a", "a")).message).toBe("syntax error in pattern");
    expect(errorOf(() => pathMatch("a\\", "a")).message).toBe("syntax error in pattern");
    expect(pathMatch("a\\*", "a*")).toBe(true);
    expect(pathMatch("a\\*", "ab")).toBe(false);
    expect(pathMatch("[/]", "/")).toBe(true);
    expect(pathMatch("*", "a/b")).toBe(false);
  });
});
