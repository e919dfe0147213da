import {
  chmod,
  link,
  lstat,
  lutimes,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  symlink,
  utimes,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gunzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { applyLayer, createTar } from "../src/index.ts";
import { snapshot } from "./fixtures.ts";

let base: string;
let src: string;
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "berth-create-"));
  src = join(base, "src");
  await mkdir(join(src, "bin"), { recursive: true });
  await writeFile(join(src, "bin/busybox"), "BB", { mode: 0o755 });
  await link(join(src, "bin/busybox"), join(src, "bin/hard"));
  await symlink("busybox", join(src, "bin/sh"));
  await symlink("/etc/passwd", join(src, "outside"));
  await mkdir(join(src, "etc"));
  await writeFile(join(src, "etc/hosts"), "127.0.0.1 localhost\n");
  await chmod(join(src, "etc/hosts"), 0o600);
  const long = `${"d".repeat(120)}/${"f".repeat(120)}`;
  await mkdir(join(src, "d".repeat(120)));
  await writeFile(join(src, long), "long");
  const t = new Date(1_500_000_000_000);
  for (const p of ["bin/busybox", "etc/hosts", long, "d".repeat(120), "etc", "bin"])
    await utimes(join(src, p), t, t);
  await lutimes(join(src, "bin/sh"), t, t);
  await lutimes(join(src, "outside"), t, t);
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function collect(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Drops inode numbers (they differ between trees) but keeps link counts. */
const normal = (lines: string[]) => lines.map((l) => l.replace(/ ino=\d+/, ""));

describe("createTar", () => {
  it("round-trips through applyLayer: modes, mtimes, symlinks, hardlinks, long names", async () => {
    const tarBuf = await collect(createTar(src));
    const dst = join(base, "dst");
    await mkdir(dst);
    await applyLayer(dst, Readable.from([tarBuf]));
    // The roots themselves differ (mtime); compare everything below.
    expect(normal(await snapshot(dst)).slice(1)).toEqual(normal(await snapshot(src)).slice(1));
    expect((await lstat(join(dst, "bin/hard"))).ino).toBe((await lstat(join(dst, "bin/busybox"))).ino);
    expect((await lstat(join(dst, "outside"))).isSymbolicLink()).toBe(true);
  });

  it("is deterministic, also gzip-compressed", async () => {
    const a = await collect(createTar(src));
    const b = await collect(createTar(src));
    expect(a.equals(b)).toBe(true);
    const ga = await collect(createTar(src, { compression: "gzip" }));
    const gb = await collect(createTar(src, { compression: "gzip" }));
    expect(ga.equals(gb)).toBe(true);
    expect(gunzipSync(ga).equals(a)).toBe(true);
  });

  it("paths select subtrees and never follow links out of the root", async () => {
    const dst = join(base, "dst");
    await mkdir(dst);
    await applyLayer(dst, createTar(src, { paths: ["etc", "/outside"] }));
    expect(await readFile(join(dst, "etc/hosts"), "utf8")).toBe("127.0.0.1 localhost\n");
    expect((await lstat(join(dst, "outside"))).isSymbolicLink()).toBe(true);
    await expect(collect(createTar(src, { paths: ["outside/x"] }))).rejects.toMatchObject({ code: "ENOENT" });
  });
});
