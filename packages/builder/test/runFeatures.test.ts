import type { Stats } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseMount } from "@berth/dockerfile";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CacheMounts } from "../src/CacheMounts.ts";
import { excludeSources } from "../src/excludeSources.ts";
import { isGitUrl, isHttpUrl, urlFileName } from "../src/fetchUrl.ts";
import { heredocRun } from "../src/heredocRun.ts";
import { applyChmod, parseChmod } from "../src/parseChmod.ts";
import { missingPaths, mountTarget, removeStubs, secretIdOf } from "../src/runMounts.ts";
import type { MatchedSource, SourceEntry } from "../src/SourceTree.ts";

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "bf-unit-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("parseChmod", () => {
  it("takes octal as is and applies symbolic clauses to each mode", () => {
    expect(parseChmod("0755")).toBe(0o755);
    expect(parseChmod("644")).toBe(0o644);
    const f = parseChmod("u+x,g-w,o=");
    expect(applyChmod(f, 0o664, false)).toBe(0o740);
    expect(applyChmod(parseChmod("a+X"), 0o644, false)).toBe(0o644);
    expect(applyChmod(parseChmod("a+X"), 0o644, true)).toBe(0o755);
    expect(applyChmod(parseChmod("go=u"), 0o700, false)).toBe(0o777);
    expect(applyChmod(parseChmod("+x"), 0o600, false)).toBe(0o711);
    expect(applyChmod(parseChmod("u+s"), 0o755, false)).toBe(0o4755);
    expect(applyChmod(undefined, 0o100640, false)).toBe(0o640);
  });
  it("rejects what is neither", () => {
    expect(() => parseChmod("rwx")).toThrow(/invalid chmod parameter: "rwx"/);
    expect(() => parseChmod("u+x,")).toThrow(/invalid chmod/);
    expect(() => parseChmod("999")).toThrow(/invalid chmod/);
  });
});

describe("heredocRun", () => {
  const file = (name: string, data: string, chomp = false) => ({ name, data, chomp, expand: true });
  it("runs a lone heredoc's body as the shell command", () => {
    expect(heredocRun(["<<EOF"], [file("EOF", "echo a\necho b\n")])).toEqual({
      cmdLine: ["echo a\necho b\n"],
    });
  });
  it("makes a #! heredoc a script under /dev/pipes", () => {
    expect(heredocRun(["<<EOF"], [file("EOF", "#!/usr/bin/env python3\nprint(1)\n")])).toEqual({
      cmdLine: ["/dev/pipes/EOF"],
      script: { name: "EOF", data: "#!/usr/bin/env python3\nprint(1)\n" },
    });
  });
  it("strips tabs for <<- and hands other forms to the shell with their delimiters", () => {
    expect(heredocRun(["<<-EOF"], [file("EOF", "\techo a\n", true)]).cmdLine).toEqual(["echo a\n"]);
    expect(
      heredocRun(["cat <<A > /a && cat <<B > /b"], [file("A", "1\n"), file("B", "2\n")]).cmdLine,
    ).toEqual(["cat <<A > /a && cat <<B > /b\n1\nA\n2\nB"]);
    expect(heredocRun(["echo plain"], []).cmdLine).toEqual(["echo plain"]);
  });
});

describe("excludeSources", () => {
  const st = (dir: boolean) => ({ isDirectory: () => dir, isFile: () => !dir }) as unknown as Stats;
  const e = (rel: string, dir = false): SourceEntry => ({ rel, abs: `/ctx/${rel}`, stat: st(dir) });
  it("matches entries below a directory source and top-level matches by name", () => {
    const docs = e("docs", true);
    const sources: MatchedSource[] = [
      {
        top: docs,
        entries: [docs, e("docs/a.md"), e("docs/b.html"), e("docs/sub", true), e("docs/sub/c.md")],
      },
      { top: e("notes.md"), entries: [e("notes.md")] },
      { top: e("keep.txt"), entries: [e("keep.txt")] },
    ];
    const out = excludeSources(sources, ["*.md", "sub/**/*.md"]);
    expect(out.map((s) => s.top.rel)).toEqual(["docs", "keep.txt"]);
    expect(out[0]?.entries.map((x) => x.rel)).toEqual(["docs", "docs/b.html", "docs/sub"]);
    expect(excludeSources(sources, ["sub"])[0]?.entries.map((x) => x.rel)).toEqual([
      "docs",
      "docs/a.md",
      "docs/b.html",
    ]);
  });
});

describe("ADD URLs", () => {
  it("tells git from http and names the file from the URL path", () => {
    expect(isGitUrl("git@github.com:moby/moby.git")).toBe(true);
    expect(isGitUrl("https://github.com/moby/moby.git#v1")).toBe(true);
    expect(isGitUrl("https://example.com/file.tar.gz")).toBe(false);
    expect(isHttpUrl("http://127.0.0.1:8080/x")).toBe(true);
    expect(isHttpUrl("file.txt")).toBe(false);
    expect(urlFileName("http://h/dir/name%20x.txt?q=1")).toBe("name x.txt");
    expect(urlFileName("http://h/")).toBe("__unnamed__");
  });
});

describe("RUN mounts", () => {
  it("resolves targets from the workdir and secret ids and targets as BuildKit", () => {
    expect(mountTarget(parseMount("type=cache,target=cache"), "/app")).toBe("/app/cache");
    expect(mountTarget(parseMount("type=tmpfs,target=/t/../x"), "/app")).toBe("/x");
    expect(secretIdOf(parseMount("type=secret,id=tok"))).toEqual({ id: "tok", target: "/run/secrets/tok" });
    expect(secretIdOf(parseMount("type=secret,target=/etc/key"))).toEqual({ id: "key", target: "/etc/key" });
    expect(secretIdOf(parseMount("type=secret,id=tok,env=TOK"))).toEqual({ id: "tok" });
  });

  it("finds the mount points runc will create and removes them only while empty", async () => {
    const root = join(tmp, "rootfs");
    await mkdir(join(root, "etc"), { recursive: true });
    expect(await missingPaths(root, "/etc")).toEqual([]);
    const stubs = await missingPaths(root, "/run/secrets/tok");
    expect(stubs).toEqual(["/run", "/run/secrets", "/run/secrets/tok"]);
    const keep = await missingPaths(root, "/var/cache/x");
    await mkdir(join(root, "run/secrets"), { recursive: true });
    await writeFile(join(root, "run/secrets/tok"), "");
    await mkdir(join(root, "var/cache/x"), { recursive: true });
    await writeFile(join(root, "var/cache/made-by-run"), "data");
    await removeStubs(root, [...stubs, ...keep]);
    expect((await readdir(root)).sort()).toEqual(["etc", "var"]);
    expect(await readdir(join(root, "var/cache"))).toEqual(["made-by-run"]);
  });

  it("keeps cache directories per id, made once with the requested owner and mode", async () => {
    const store = CacheMounts.forRoot(join(tmp, "builder"));
    expect(CacheMounts.forRoot(join(tmp, "builder"))).toBe(store);
    const a = await store.acquire({ id: "/root/.cache", sharing: "shared", uid: 7, gid: 8, mode: 0o750 });
    const s = await stat(a.dir);
    expect([s.uid, s.gid, s.mode & 0o777]).toEqual([7, 8, 0o750]);
    await writeFile(join(a.dir, "f"), "x");
    const b = await store.acquire({ id: "/root/.cache", sharing: "shared" });
    expect(b.dir).toBe(a.dir);
    // private: a second user while the first holds it gets a fresh, empty directory
    const p = await store.acquire({ id: "/root/.cache", sharing: "private" });
    expect(p.dir).not.toBe(a.dir);
    expect(await readdir(p.dir)).toEqual([]);
    await p.release();
    await a.release();
    await b.release();
    // locked: the second waits for the first
    const order: string[] = [];
    const l1 = await store.acquire({ id: "lock", sharing: "locked" });
    const l2p = store.acquire({ id: "lock", sharing: "locked" }).then((l) => {
      order.push("second");
      return l;
    });
    await new Promise((r) => setTimeout(r, 50));
    order.push("first-release");
    await l1.release();
    await (await l2p).release();
    expect(order).toEqual(["first-release", "second"]);
    const again = await store.acquire({ id: "/root/.cache", sharing: "shared" });
    expect(await readdir(again.dir)).toEqual(["f"]);
    // prune leaves a directory in use and removes the rest
    const pruned = await store.prune();
    expect(pruned.removed).toHaveLength(1);
    await again.release();
    const all = await store.prune();
    expect(all.removed).toHaveLength(1);
    expect(all.reclaimed).toBeGreaterThanOrEqual(1);
    const fresh = await store.acquire({ id: "/root/.cache", sharing: "shared" });
    expect(await readdir(fresh.dir)).toEqual([]);
    await fresh.release();
  });
});
