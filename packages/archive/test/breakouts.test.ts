import { existsSync } from "node:fs";
import { lstat, readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { isKind } from "@berth/errdefs";
import { afterEach, describe, expect, it } from "vitest";
import { applyLayer, resolveInRoot } from "../src/index.ts";
import {
  buildTar,
  charDev,
  dir,
  type Fx,
  fifo,
  file,
  link,
  opaque,
  rawHeaderWithType,
  type Sandbox,
  sandbox,
  snapshot,
  symlink,
  tarStream,
  whiteout,
} from "./fixtures.ts";

// Threat rows A1-A24 of reference/security/threat-cases.md section 1. Every
// test applies hostile layers into `dest/` next to `victim/` and then asserts
// the invariant: victim is byte-, mode-, owner- and inode-identical, nothing
// new appeared beside dest, and no file under dest shares an inode with a
// victim file. Tests are named after what they prevent.

let sb: Sandbox;
const sandboxes: Sandbox[] = [];
afterEach(async () => {
  for (const s of sandboxes.splice(0)) await s.cleanup();
});

async function newSandbox(): Promise<Sandbox> {
  sb = await sandbox();
  sandboxes.push(sb);
  return sb;
}

type Layers = (sb: Sandbox) => Fx[][];

interface Case {
  /** "ok": every layer applies; "error": the last layer fails with `kind`. */
  readonly outcome: "ok" | "error";
  readonly kind?: string;
  readonly check?: (sb: Sandbox) => Promise<void>;
}

async function victimInodes(victim: string): Promise<Set<number>> {
  const inodes = new Set<number>();
  async function walk(p: string): Promise<void> {
    const st = await lstat(p);
    if (!st.isDirectory()) inodes.add(st.ino);
    else for (const c of await readdir(p)) await walk(join(p, c));
  }
  await walk(victim);
  return inodes;
}

async function assertNoSharedInodes(dest: string, victimIno: Set<number>): Promise<void> {
  async function walk(p: string): Promise<void> {
    const st = await lstat(p);
    if (st.isDirectory()) {
      for (const c of await readdir(p)) await walk(join(p, c));
    } else {
      expect(victimIno.has(st.ino), `${p} shares an inode with a victim file`).toBe(false);
    }
  }
  await walk(dest);
}

async function runCase(layers: Layers, c: Case): Promise<void> {
  await newSandbox();
  const before = await snapshot(sb.victim);
  const inodes = await victimInodes(sb.victim);
  const all = layers(sb);
  for (let i = 0; i < all.length; i++) {
    const apply = applyLayer(sb.dest, await tarStream(all[i]!));
    if (c.outcome === "error" && i === all.length - 1) {
      const err = await apply.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, "expected the hostile layer to be rejected").toBeDefined();
      if (c.kind !== undefined) expect(isKind(err, c.kind as never), String(err)).toBe(true);
    } else {
      await apply;
    }
  }
  expect(await snapshot(sb.victim)).toEqual(before);
  expect((await readdir(sb.base)).sort()).toEqual(["dest", "victim"]);
  expect((await lstat(sb.dest)).isDirectory()).toBe(true);
  await assertNoSharedInodes(sb.dest, inodes);
  await c.check?.(sb);
}

const rand = () => `berth-${process.pid}-${Math.random().toString(36).slice(2)}`;

describe("archive breakouts (threat rows A1-A24)", () => {
  it("A1 dotdot file names cannot write beside the root", async () => {
    await runCase(
      () => [[file("../victim/x", "pwn"), file("../../x", "pwn2"), file("a/../../../victim/y", "pwn3")]],
      {
        outcome: "ok",
        check: async ({ dest }) => {
          expect(await readFile(join(dest, "victim/x"), "utf8")).toBe("pwn");
          expect(await readFile(join(dest, "x"), "utf8")).toBe("pwn2");
          expect(await readFile(join(dest, "victim/y"), "utf8")).toBe("pwn3");
        },
      },
    );
  });

  it("A2 absolute file names land under the root", async () => {
    await runCase((s) => [[file("/abs/path", "a"), file(`${s.victim}/hello`, "overwritten?")]], {
      outcome: "ok",
      check: async ({ dest, victim }) => {
        expect(await readFile(join(dest, "abs/path"), "utf8")).toBe("a");
        expect(await readFile(join(dest, victim, "hello"), "utf8")).toBe("overwritten?");
      },
    });
  });

  it("A3 a dotdot symlink is data and is never followed by later entries", async () => {
    await runCase(
      () => [
        [symlink("dotdot", "../victim/hello"), symlink("slash-dotdot", "/../victim/hello")],
        [file("dotdot", "replaced"), file("slash-dotdot", "replaced too")],
      ],
      {
        outcome: "ok",
        check: async ({ dest }) => {
          expect((await lstat(join(dest, "dotdot"))).isFile()).toBe(true);
          expect(await readFile(join(dest, "dotdot"), "utf8")).toBe("replaced");
          expect(await resolveInRoot(dest, "slash-dotdot")).toBe(join(dest, "slash-dotdot"));
        },
      },
    );
  });

  it("A4 symlink-then-write cannot write through a directory symlink", async () => {
    await runCase(
      (s) => [
        [
          symlink("loophole", "../victim"),
          file("loophole/file", "rel"),
          symlink("abshole", s.victim),
          file("abshole/file2", "abs"),
          symlink("multi", "loophole"),
          file("multi/sub/file3", "multi"),
          symlink("up", "../../../../../.."),
          file("up/file4", "up"),
        ],
      ],
      {
        outcome: "ok",
        check: async ({ dest, victim }) => {
          expect(await readFile(join(dest, "victim/file"), "utf8")).toBe("rel");
          expect(await readFile(join(dest, victim, "file2"), "utf8")).toBe("abs");
          expect(await readFile(join(dest, "victim/sub/file3"), "utf8")).toBe("multi");
          expect(await readFile(join(dest, "file4"), "utf8")).toBe("up");
          expect(existsSync(join(victim, "file"))).toBe(false);
        },
      },
    );
  });

  it("A5 overriding a directory with a symlink to / does not write to the host", async () => {
    const name = rand();
    await runCase(
      () => [
        [
          dir("foo"),
          dir("foo/tmp"),
          symlink("foo", "/"),
          file(`foo/tmp/${name}`, "first"),
          dir("foo"),
          file(`foo/tmp/${name}`, "second"),
        ],
      ],
      {
        outcome: "ok",
        check: async ({ dest }) => {
          expect(existsSync(`/tmp/${name}`)).toBe(false);
          expect(await readFile(join(dest, "foo/tmp", name), "utf8")).toBe("second");
          expect(await readFile(join(dest, "tmp", name), "utf8")).toBe("first");
        },
      },
    );
  });

  it("A6 an empty file through an absolute /etc symlink stays in the root", async () => {
    const name = rand();
    await runCase(
      (s) => [
        [symlink("localetc", "/etc"), file(`/localetc/${name}`), symlink("lv", s.victim), file("lv/hello")],
      ],
      {
        outcome: "ok",
        check: async ({ dest, victim }) => {
          expect(existsSync(`/etc/${name}`)).toBe(false);
          expect((await stat(join(dest, "etc", name))).size).toBe(0);
          expect((await stat(join(dest, victim, "hello"))).size).toBe(0);
        },
      },
    );
  });

  it("A7 hardlinks to ../../etc/passwd or /etc/passwd link inside the root", async () => {
    const hostPasswd = await stat("/etc/passwd");
    await runCase(
      () => [
        [
          dir("etc"),
          file("etc/passwd", "root:x:0:0::/:/bin/sh\n"),
          link("rel", "../../../../etc/passwd"),
          link("abs", "/etc/passwd"),
        ],
      ],
      {
        outcome: "ok",
        check: async ({ dest }) => {
          const inner = await stat(join(dest, "etc/passwd"));
          for (const n of ["rel", "abs"]) {
            const st = await lstat(join(dest, n));
            expect(st.ino).toBe(inner.ino);
            expect(st.ino === hostPasswd.ino && st.dev === hostPasswd.dev).toBe(false);
          }
          const after = await stat("/etc/passwd");
          expect(after.nlink).toBe(hostPasswd.nlink);
        },
      },
    );
  });

  it("A7 a hardlink to a file outside the root is rejected when nothing matches inside", async () => {
    await runCase(() => [[link("pwn", "../victim/hello")]], { outcome: "error", kind: "InvalidArgument" });
    expect((await stat(join(sb.victim, "hello"))).nlink).toBe(1);
  });

  it("A8 a hardlink through a symlinked parent resolves inside the root", async () => {
    await runCase(
      () => [
        [
          dir("etc"),
          file("etc/passwd", "inner"),
          dir("breakouts"),
          symlink("breakouts/d1", "../../etc"),
          link("breakouts/mypasswd", "/breakouts/d1/passwd"),
        ],
      ],
      {
        outcome: "ok",
        check: async ({ dest }) => {
          expect((await lstat(join(dest, "breakouts/mypasswd"))).ino).toBe(
            (await stat(join(dest, "etc/passwd"))).ino,
          );
        },
      },
    );
    await runCase(() => [[dir("b"), symlink("b/d1", "../../victim"), link("b/mine", "b/d1/hello")]], {
      outcome: "error",
      kind: "InvalidArgument",
    });
  });

  it("A9 a hardlink to an outside-pointing symlink links the symlink, not its target", async () => {
    await runCase(
      (s) => [
        [symlink("passwdlink", `${s.victim}/hello`), link("localpasswd", "passwdlink")],
        [
          {
            kind: "symlink",
            name: "localpasswd",
            target: `${s.victim}/hello`,
            mode: 0o777,
            uid: 4242,
            gid: 4242,
          },
        ],
      ],
      {
        outcome: "ok",
        check: async ({ dest }) => {
          expect((await lstat(join(dest, "passwdlink"))).isSymbolicLink()).toBe(true);
          expect((await lstat(join(dest, "localpasswd"))).isSymbolicLink()).toBe(true);
        },
      },
    );
  });

  it("A10 chmod and chown never follow a symlink to an outside file", async () => {
    await runCase(
      (s) => [
        [symlink("x", `${s.victim}/hello`), symlink("vd", s.victim)],
        [
          { kind: "symlink", name: "x", target: `${s.victim}/hello`, mode: 0o777, uid: 4242, gid: 4242 },
          { kind: "dir", name: "vd", mode: 0o777, uid: 4242, gid: 4242 },
        ],
      ],
      {
        outcome: "ok",
        check: async ({ dest }) => {
          expect((await lstat(join(dest, "vd"))).isDirectory()).toBe(true);
          if (process.getuid?.() === 0) expect((await lstat(join(dest, "x"))).uid).toBe(4242);
        },
      },
    );
  });

  it("A11 symlinks named . / .. or sub/.. never replace or redirect the root", async () => {
    await runCase(
      () => [
        [
          symlink(".", "../victim"),
          symlink("./", "../victim"),
          symlink("/", "../victim"),
          symlink("..", "../victim"),
          symlink("sub/..", "../victim"),
          file("x", "inside"),
        ],
        [file("y", "next layer")],
      ],
      {
        outcome: "ok",
        check: async ({ dest }) => {
          expect(await readFile(join(dest, "x"), "utf8")).toBe("inside");
          expect(await readFile(join(dest, "y"), "utf8")).toBe("next layer");
        },
      },
    );
  });

  it("A12 replacing a directory by a symlink and back never creates children through a link", async () => {
    await runCase(
      () => [
        [dir("d"), file("d/f", "lower")],
        [symlink("d", "../victim"), file("d/through", "contained"), link("d/h", "d/through")],
        [dir("d"), file("d/x", "x"), link("d/y", "d/x")],
      ],
      {
        outcome: "ok",
        check: async ({ dest }) => {
          expect((await lstat(join(dest, "d"))).isDirectory()).toBe(true);
          expect(existsSync(join(dest, "d/f"))).toBe(false);
          expect((await lstat(join(dest, "d/y"))).ino).toBe((await lstat(join(dest, "d/x"))).ino);
          expect(await readFile(join(dest, "victim/through"), "utf8")).toBe("contained");
          expect((await lstat(join(dest, "victim/h"))).ino).toBe(
            (await lstat(join(dest, "victim/through"))).ino,
          );
        },
      },
    );
  });

  for (const name of [".wh..", "etc/.wh..", ".wh..."]) {
    it(`A13 whiteout ${JSON.stringify(name)} is rejected and wipes nothing`, async () => {
      await runCase(() => [[dir("etc"), file("etc/passwd", "p")], [whiteout(name)]], {
        outcome: "error",
        kind: "InvalidArgument",
        check: async ({ dest }) => {
          expect(await readFile(join(dest, "etc/passwd"), "utf8")).toBe("p");
        },
      });
    });
  }

  it("A14 whiting out a symlink removes only the link", async () => {
    await runCase(
      (s) => [
        [dir("etc"), file("etc/passwd", "p"), symlink("localetc", "/etc"), symlink("lv", s.victim)],
        [whiteout(".wh.localetc"), whiteout(".wh.lv")],
      ],
      {
        outcome: "ok",
        check: async ({ dest }) => {
          expect(existsSync(join(dest, "localetc"))).toBe(false);
          expect(existsSync(join(dest, "lv"))).toBe(false);
          expect(await readFile(join(dest, "etc/passwd"), "utf8")).toBe("p");
        },
      },
    );
  });

  it("A15 whiteouts through symlinked or dead parents delete nothing outside", async () => {
    await runCase(
      (s) => [
        [
          symlink("localvictim", "../victim"),
          symlink("absvictim", s.victim),
          symlink("dead", "../nonexistent/x"),
        ],
        [whiteout("localvictim/.wh.hello"), whiteout("absvictim/.wh.sub"), whiteout("dead/.wh.x")],
      ],
      { outcome: "ok" },
    );
  });

  it("A16 a whiteout name is cleaned before use", async () => {
    await runCase(() => [[dir("etc"), file("etc/passwd")], [whiteout("dne/../.wh.etc")]], {
      outcome: "ok",
      check: async ({ dest }) => {
        expect(existsSync(join(dest, "etc"))).toBe(false);
        expect(existsSync(join(dest, "dne"))).toBe(false);
      },
    });
  });

  it("A17 a whiteout prefix on a directory component is an ordinary name", async () => {
    await runCase(() => [[dir("etc"), file("etc/passwd")], [file(".wh.etc/somefile", "s")]], {
      outcome: "ok",
      check: async ({ dest }) => {
        expect(existsSync(join(dest, "etc/passwd"))).toBe(true);
        expect(await readFile(join(dest, ".wh.etc/somefile"), "utf8")).toBe("s");
      },
    });
  });

  it("A18 opaque markers hide lower children only inside the root, meta names are not materialised", async () => {
    await runCase(
      () => [
        [dir("d"), file("d/lower"), symlink("v", "../victim")],
        [opaque("d"), file("d/upper", "u"), opaque("v"), file("d/.wh..wh.plnk")],
      ],
      {
        outcome: "ok",
        check: async ({ dest }) => {
          expect((await readdir(join(dest, "d"))).sort()).toEqual(["upper"]);
        },
      },
    );
  });

  it("A19 device nodes and fifos are created only inside the root and only when privileged", async () => {
    const warnings: string[] = [];
    await newSandbox();
    const before = await snapshot(sb.victim);
    const layer = await tarStream([
      symlink("lv", "../victim"),
      charDev("null", 1, 3),
      fifo("lv/pipe"),
      charDev("lv/dev", 1, 3),
    ]);
    const report = await applyLayer(sb.dest, layer, { onWarning: (m) => warnings.push(m) });
    expect(await snapshot(sb.victim)).toEqual(before);
    const privileged =
      process.getuid?.() === 0 && (await readFile("/proc/self/uid_map", "utf8")).includes("4294967295");
    if (privileged) {
      expect((await lstat(join(sb.dest, "null"))).isCharacterDevice()).toBe(true);
      expect((await lstat(join(sb.dest, "victim/pipe"))).isFIFO()).toBe(true);
      expect(report.skipped).toBe(0);
    } else {
      expect(report.skipped).toBe(3);
      expect(warnings).toHaveLength(3);
    }
  });

  it("A20 unknown type flags, truncated streams and absurd sizes fail cleanly", async () => {
    await runCase(() => [], { outcome: "ok" });
    const unknown = Buffer.concat([await rawHeaderWithType("weird", "Z"), Buffer.alloc(1024)]);
    await expect(applyLayer(sb.dest, Readable.from([unknown]))).rejects.toMatchObject({
      _tag: "InvalidArgument",
    });
    const full = await buildTar([file("a", "x".repeat(5000)), file("b", "y")]);
    await expect(applyLayer(sb.dest, Readable.from([full.subarray(0, 2048)]))).rejects.toMatchObject({
      _tag: "InvalidArgument",
    });
    const garbage = Buffer.alloc(1024, 0x41);
    await expect(applyLayer(sb.dest, Readable.from([garbage]))).rejects.toMatchObject({
      _tag: "InvalidArgument",
    });
    const big = await buildTar([file("big", "z".repeat(600))]);
    await expect(applyLayer(sb.dest, Readable.from([big]), { maxBytes: 512 })).rejects.toMatchObject({
      _tag: "ResourceExhausted",
    });
  });

  it("A21 a decompression bomb is bounded by maxBytes with ResourceExhausted", async () => {
    await newSandbox();
    const { createGzip } = await import("node:zlib");
    // 256 MiB of zeros in one file compresses to ~250 KiB; the limit is 4 MiB.
    const gz = createGzip();
    const pack = (await import("tar-stream")).pack();
    const size = 256 * 1024 * 1024;
    const entry = pack.entry({ name: "bomb", size, type: "file", mode: 0o644 });
    (async () => {
      const zeros = Buffer.alloc(1024 * 1024);
      for (let i = 0; i < size / zeros.length; i++) {
        if (!entry.write(zeros)) await new Promise<void>((r) => entry.once("drain", () => r()));
      }
      entry.end(null);
      pack.finalize();
    })().catch(() => {});
    const chunks: Buffer[] = [];
    const source = Readable.from(pack as unknown as AsyncIterable<Buffer>).pipe(gz);
    for await (const c of source) chunks.push(c as Buffer);
    const compressed = Buffer.concat(chunks);
    expect(compressed.length).toBeLessThan(2 * 1024 * 1024);
    const err = await applyLayer(sb.dest, Readable.from([compressed]), { maxBytes: 4 * 1024 * 1024 }).catch(
      (e) => e,
    );
    expect(isKind(err, "ResourceExhausted")).toBe(true);
    expect((await stat(join(sb.dest, "bomb")).catch(() => undefined))?.size ?? 0).toBeLessThanOrEqual(
      4 * 1024 * 1024,
    );
  });

  it("A22 names differing by case or normalisation are applied strictly in order", async () => {
    await runCase(
      () => [
        [
          symlink("A", "../victim"),
          file("a/x", "lower-case a"),
          file("A/y", "through A, contained"),
          symlink("ss", "../victim"),
          file("ß/z", "eszett"),
          file("ss/w", "contained"),
        ],
      ],
      {
        outcome: "ok",
        check: async ({ dest }) => {
          expect(await readFile(join(dest, "victim/y"), "utf8")).toBe("through A, contained");
          expect(await readFile(join(dest, "victim/w"), "utf8")).toBe("contained");
        },
      },
    );
  });

  it("A23 windows drive-relative link targets are plain names and stay inside", async () => {
    await runCase(
      () => [
        [symlink("w", "C:../../victim"), file("w/x", "x"), symlink("b", "..\\..\\victim"), file("b/y", "y")],
      ],
      {
        outcome: "ok",
        check: async ({ dest }) => {
          expect(await readFile(join(dest, "victim/x"), "utf8")).toBe("x");
        },
      },
    );
  });

  it("A24 hardlink targets are resolved from the root, the same way they are created", async () => {
    await runCase(
      () => [[dir("victim"), file("victim/hello", "inner"), dir("sub"), link("sub/h", "../victim/hello")]],
      {
        outcome: "ok",
        check: async ({ dest }) => {
          expect((await lstat(join(dest, "sub/h"))).ino).toBe((await lstat(join(dest, "victim/hello"))).ino);
          expect(await readFile(join(dest, "sub/h"), "utf8")).toBe("inner");
        },
      },
    );
  });
});
