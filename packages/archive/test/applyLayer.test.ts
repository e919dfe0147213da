import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import {
  symlink as fsSymlink,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  realpath,
  rm,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  applyEntries,
  applyLayer,
  detectCompression,
  measureTar,
  resolveInRoot,
  resolveInRootSync,
} from "../src/index.ts";
import { buildTar, dir, type Fx, file, link, opaque, symlink, tarStream, whiteout } from "./fixtures.ts";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "berth-apply-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function apply(...layers: Fx[][]): Promise<void> {
  for (const l of layers) await applyLayer(root, await tarStream(l));
}
const ls = async (p: string) => (await readdir(join(root, p))).sort();

describe("OCI whiteouts", () => {
  const lower: Fx[] = [
    dir("d"),
    file("d/a", "a"),
    file("d/b", "b"),
    dir("d/sub"),
    file("d/sub/c", "c"),
    file("top"),
  ];

  it("a .wh. entry deletes the named file or directory of a lower layer", async () => {
    await apply(lower, [whiteout("d/.wh.a"), whiteout("d/.wh.sub"), whiteout(".wh.missing")]);
    expect(await ls("d")).toEqual(["b"]);
    expect(await ls(".")).toEqual(["d", "top"]);
  });

  it("an opaque marker first hides lower children and keeps this layer's", async () => {
    await apply(lower, [dir("d"), opaque("d"), file("d/new", "n")]);
    expect(await ls("d")).toEqual(["new"]);
  });

  it("an opaque marker after the children still keeps this layer's entries", async () => {
    await apply(lower, [dir("d"), file("d/new"), dir("d/sub2"), file("d/sub2/x"), opaque("d")]);
    expect(await ls("d")).toEqual(["new", "sub2"]);
    expect(await ls("d/sub2")).toEqual(["x"]);
  });

  it("opaque hides lower grandchildren in a directory this layer writes into without a dir entry", async () => {
    await apply(lower, [file("d/sub/new"), opaque("d")]);
    expect(await ls("d")).toEqual(["sub"]);
    expect(await ls("d/sub")).toEqual(["new"]);
  });

  it("with whiteouts none, .wh. names are ordinary files", async () => {
    await applyLayer(root, await tarStream([file("x"), whiteout(".wh.x"), opaque("d")]), {
      whiteouts: "none",
    });
    expect(await ls(".")).toEqual([".wh.x", "d", "x"]);
    expect(await ls("d")).toEqual([".wh..wh..opq"]);
  });
});

describe("applyLayer metadata and formats", () => {
  it("sets modes (including setuid after chown), owners and mtimes; dir mtimes survive child writes", async () => {
    const entries: Fx[] = [
      dir("bin", 0o711),
      { kind: "file", name: "bin/su", content: "x", mode: 0o4755, uid: 1000, gid: 1000 },
      symlink("bin/sh", "su"),
      link("bin/su2", "bin/su"),
      dir("tmp", 0o1777),
    ];
    const report = await applyLayer(root, await tarStream(entries));
    expect(report.entries).toBe(5);
    expect(report.bytes).toBe(1);
    const su = await lstat(join(root, "bin/su"));
    expect(su.mode & 0o7777).toBe(0o4755);
    expect((await lstat(join(root, "bin"))).mode & 0o7777).toBe(0o711);
    expect((await lstat(join(root, "tmp"))).mode & 0o7777).toBe(0o1777);
    expect(su.mtimeMs).toBe(1_600_000_000_000);
    expect((await lstat(join(root, "bin"))).mtimeMs).toBe(1_600_000_000_000);
    expect((await lstat(join(root, "bin/sh"))).mtimeMs).toBe(1_600_000_000_000);
    expect((await lstat(join(root, "bin/su2"))).ino).toBe(su.ino);
    if (process.getuid?.() === 0) expect([su.uid, su.gid]).toEqual([1000, 1000]);
  });

  it("onFileDigest reports each regular file's real path and content digest, not links", async () => {
    const big = "y".repeat(3 * 1024 * 1024 + 17);
    const seen = new Map<string, string>();
    await applyLayer(
      root,
      await tarStream([
        dir("d"),
        file("d/a", "hello"),
        file("d/big", big),
        symlink("d/s", "a"),
        link("d/h", "d/a"),
      ]),
      { onFileDigest: (path, digest) => seen.set(path, digest) },
    );
    const real = await realpath(root);
    const sha = (s: string) => `sha256:${createHash("sha256").update(s).digest("hex")}`;
    expect(Object.fromEntries(seen)).toEqual({ [`${real}/d/a`]: sha("hello"), [`${real}/d/big`]: sha(big) });
  });

  it("applyEntries writes entries as applyLayer would, inside the root, and checks content sizes", async () => {
    await fsSymlink("/", join(root, "escape"));
    const t = new Date(1_600_000_000_000);
    const report = await applyEntries(root, [
      { header: { name: "d/", type: "directory", mode: 0o750, mtime: t } },
      {
        header: { name: "d/f", type: "file", size: 5, mode: 0o640, mtime: t },
        content: Buffer.from("hello"),
      },
      {
        header: { name: "d/big", type: "file", size: 6, mode: 0o644 },
        content: (async function* () {
          yield Buffer.from("abc");
          yield Buffer.from("def");
        })(),
      },
      { header: { name: "../../d/up", type: "file", size: 1 }, content: Buffer.from("u") },
      { header: { name: "escape/tmp/berth-owned", type: "file", size: 1 }, content: Buffer.from("x") },
      { header: { name: "d/l", type: "symlink", linkname: "f" } },
    ]);
    expect(report).toMatchObject({ entries: 6, bytes: 13 });
    expect(await readFile(join(root, "d/f"), "utf8")).toBe("hello");
    expect(await readFile(join(root, "d/big"), "utf8")).toBe("abcdef");
    expect(await readFile(join(root, "d/up"), "utf8")).toBe("u");
    // The symlink was resolved inside the root: the file landed under root/tmp, not /tmp.
    expect(existsSync("/tmp/berth-owned")).toBe(false);
    expect(await readFile(join(root, "tmp/berth-owned"), "utf8")).toBe("x");
    expect((await lstat(join(root, "d/f"))).mode & 0o7777).toBe(0o640);
    expect((await lstat(join(root, "d"))).mtimeMs).toBe(1_600_000_000_000);
    await expect(
      applyEntries(root, [{ header: { name: "short", type: "file", size: 4 }, content: Buffer.from("ab") }]),
    ).rejects.toThrow(/2 bytes of content, its header says 4/);
  });

  it.skipIf(process.getuid?.() !== 0)(
    "applyEntries with upperdir hard-links files into an overlay's upper dir, copying parents up",
    async () => {
      const lower = join(root, "lower");
      const upper = join(root, "upper");
      const merged = join(root, "merged");
      for (const d of [lower, upper, join(root, "work"), merged, join(root, "src")]) await mkdir(d);
      await mkdir(join(lower, "etc"));
      await writeFile(join(lower, "etc/old"), "lower");
      const src = join(root, "src/f");
      await writeFile(src, "linked");
      const mount = spawnSync("mount", [
        "-t",
        "overlay",
        "overlay",
        "-o",
        `lowerdir=${lower},upperdir=${upper},workdir=${join(root, "work")}`,
        merged,
      ]);
      expect(mount.status).toBe(0);
      try {
        const st = await lstat(src);
        const header = (name: string) => ({
          name,
          type: "file" as const,
          size: 6,
          mode: st.mode & 0o7777,
          uid: st.uid,
          gid: st.gid,
          mtime: new Date(Math.floor(st.mtimeMs / 1000) * 1000),
        });
        const r = await applyEntries(
          merged,
          [
            { header: header("etc/old"), content: Buffer.from("linked"), linkSource: src },
            { header: header("new/deep/x"), content: Buffer.from("linked"), linkSource: src },
            { header: header("elsewhere"), content: Buffer.from("copied") },
          ],
          { whiteouts: "none", upperdir: upper },
        );
        expect(r.linked).toBe(2);
        // The lower file was replaced: the upper dir holds the link where overlay left a whiteout.
        expect((await lstat(join(upper, "etc/old"))).ino).toBe(st.ino);
        expect((await lstat(join(upper, "new/deep/x"))).ino).toBe(st.ino);
        expect(await readFile(join(upper, "elsewhere"), "utf8")).toBe("copied");
        expect(await readFile(join(lower, "etc/old"), "utf8")).toBe("lower");
      } finally {
        spawnSync("umount", [merged]);
      }
      // A fresh mount sees the links through the overlay.
      expect(await readFile(join(upper, "etc/old"), "utf8")).toBe("linked");
    },
  );

  it("sameOwner false keeps the current user", async () => {
    await applyLayer(
      root,
      await tarStream([{ kind: "file", name: "f", content: "", mode: 0o644, uid: 4321, gid: 4321 }]),
      {
        sameOwner: false,
      },
    );
    expect((await lstat(join(root, "f"))).uid).toBe(process.getuid?.());
  });

  it("accepts gzip and zstd layers, detected by magic bytes", async () => {
    await applyLayer(root, await tarStream([file("g", "gzip")], true));
    expect(await readFile(join(root, "g"), "utf8")).toBe("gzip");
    const plain = await buildTar([file("z", "zstd")]);
    const z = spawnSync("zstd", ["-q", "-c"], { input: plain });
    if (z.status === 0) {
      expect(detectCompression(z.stdout)).toBe("zstd");
      await applyLayer(root, Readable.from([z.stdout]));
      expect(await readFile(join(root, "z"), "utf8")).toBe("zstd");
    }
  });

  it("an aborted signal cancels with Canceled", async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(applyLayer(root, await tarStream([file("x")]), { signal: ac.signal })).rejects.toMatchObject(
      {
        _tag: "Canceled",
      },
    );
  });

  it("an empty stream is an empty layer; a missing root is an error", async () => {
    expect((await applyLayer(root, Readable.from([]))).entries).toBe(0);
    await expect(applyLayer(join(root, "nope"), await tarStream([file("x")]))).rejects.toBeDefined();
  });

  it("measureTar counts entries and content bytes without touching disk", async () => {
    const m = await measureTar(await tarStream([dir("a"), file("a/b", "12345"), symlink("c", "a")], true));
    expect(m).toMatchObject({ entries: 3, bytes: 5 });
  });
});

describe("resolveInRoot", () => {
  it("follows links component by component, clamped at the root", async () => {
    await mkdir(join(root, "etc"));
    await fsSymlink("../../../etc", join(root, "up"));
    await fsSymlink("/etc/passwd", join(root, "abs"));
    await fsSymlink("up", join(root, "chain"));
    for (const [p, want] of [
      ["up/passwd", "etc/passwd"],
      ["abs", "etc/passwd"],
      ["chain/x/../y", "etc/y"],
      ["../../..", ""],
      ["/nonexistent/../etc", "etc"],
    ] as const) {
      const expected = want === "" ? root : join(root, want);
      expect(await resolveInRoot(root, p)).toBe(expected);
      expect(resolveInRootSync(root, p)).toBe(expected);
    }
  });

  it("symlink loops fail with InvalidArgument", async () => {
    await fsSymlink("b", join(root, "a"));
    await fsSymlink("a", join(root, "b"));
    await expect(resolveInRoot(root, "a/x")).rejects.toMatchObject({ _tag: "InvalidArgument" });
    expect(() => resolveInRootSync(root, "a")).toThrow(/symbolic links/);
    expect(existsSync(join(root, "a"))).toBe(false);
  });
});

describe("overlay whiteouts", () => {
  const privileged = process.getuid?.() === 0;
  it.skipIf(!privileged)(
    "turn .wh. into 0/0 char devices and emulate opaque dirs against lower dirs",
    async () => {
      const lower = join(root, "lower");
      const upper = join(root, "upper");
      await mkdir(lower);
      await mkdir(upper);
      await applyLayer(
        lower,
        await tarStream([file("top"), dir("d"), file("d/a"), dir("d/sub"), file("d/sub/x"), file("d/keep")]),
      );
      await applyLayer(
        upper,
        await tarStream([
          whiteout(".wh.top"),
          dir("d"),
          opaque("d"),
          file("d/keep", "mine"),
          dir("d/sub"),
          file("d/sub/new"),
        ]),
        { whiteouts: "overlay", lowerDirs: [lower] },
      );
      const isWhiteout = async (p: string) => {
        const st = await lstat(join(upper, p));
        return st.isCharacterDevice() && st.rdev === 0;
      };
      expect(await isWhiteout("top")).toBe(true);
      expect(await isWhiteout("d/a")).toBe(true);
      expect(await isWhiteout("d/sub/x")).toBe(true);
      expect(await readFile(join(upper, "d/keep"), "utf8")).toBe("mine");
      expect((await lstat(join(upper, "d/sub/new"))).isFile()).toBe(true);
      expect(existsSync(join(upper, "d/.wh..wh..opq"))).toBe(false);
    },
  );

  it.skipIf(!privileged)(
    "asks for lazy lower dirs only after the stream, and only for opaque dirs",
    async () => {
      const lower = join(root, "lower");
      const upper = join(root, "upper");
      const plain = join(root, "plain");
      await mkdir(upper);
      await mkdir(plain);
      let asked = 0;
      // The lower layer is extracted only when the upper one asks for it.
      const lowerDirs = async () => {
        asked++;
        await mkdir(lower);
        await applyLayer(lower, await tarStream([dir("d"), file("d/a"), file("d/b")]));
        return [lower];
      };
      await applyLayer(upper, await tarStream([dir("d"), opaque("d"), file("d/b", "mine")]), {
        whiteouts: "overlay",
        lowerDirs,
      });
      expect(asked).toBe(1);
      const st = await lstat(join(upper, "d/a"));
      expect(st.isCharacterDevice() && st.rdev === 0).toBe(true);
      expect(await readFile(join(upper, "d/b"), "utf8")).toBe("mine");
      await applyLayer(plain, await tarStream([dir("d"), file("d/c")]), { whiteouts: "overlay", lowerDirs });
      expect(asked).toBe(1);
    },
  );

  it("keeps resolving parents right after an entry replaces a directory with a symlink", async () => {
    await mkdir(join(root, "outside"));
    const inner = join(root, "inner");
    await mkdir(inner);
    await applyLayer(
      inner,
      await tarStream([dir("a"), file("a/one"), symlink("a", "../outside"), file("a/two", "2")]),
    );
    // a/ was cached as a directory; the symlink replaced it, so a/two resolves through the
    // link clamped at the root: inner/outside/two, never root/outside/two.
    expect(existsSync(join(root, "outside/two"))).toBe(false);
    expect(await readFile(join(inner, "outside/two"), "utf8")).toBe("2");
    expect((await lstat(join(inner, "a"))).isSymbolicLink()).toBe(true);
  });
});
