import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { link, mkdir, mkdtemp, readdir, readFile, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ContentStore } from "@berth/image";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commitLayer, diffLayer, storeLayer } from "../src/commitLayer.ts";
import type { LayerCompression } from "../src/types.ts";
import { legacyCommitLayer } from "./legacyCommitLayer.ts";

const root = process.getuid?.() === 0;
const hasZstd = spawnSync("zstd", ["--version"]).status === 0;

let tmp: string;
let upper: string;
let lower: string;
let merged: string;
let content: ContentStore;

/**
 * A tree with what a layer meets: files of 0 bytes, of exactly a block, over the synchronous
 * read limit and over several gzip blocks (random and text), directories, symlinks (short and
 * long targets), hard links, long and non-ASCII names, odd modes; as root also overlay
 * whiteouts (0/0 character devices), a fifo and a device node, and an opaque directory.
 */
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "berth-commit-"));
  upper = join(tmp, "upper");
  lower = join(tmp, "lower");
  merged = join(tmp, "merged");
  content = await ContentStore.open(join(tmp, "store"));
  await mkdir(join(upper, "app/src/deep"), { recursive: true });
  await mkdir(lower, { recursive: true });
  await writeFile(join(upper, "empty"), "");
  await writeFile(join(upper, "block512"), Buffer.alloc(512, 1));
  await writeFile(join(upper, "app/src/a.txt"), "hello\n");
  await writeFile(join(upper, "app/src/deep/text.txt"), "lorem ipsum dolor sit amet\n".repeat(60_000));
  await writeFile(join(upper, "app/random.bin"), randomBytes(3 * 1024 * 1024 + 12_345));
  await writeFile(join(upper, "app/medium.bin"), randomBytes(300 * 1024 + 7), { mode: 0o4755 });
  await symlink("src/a.txt", join(upper, "app/link"));
  await symlink("t".repeat(150), join(upper, "app/longlink"));
  await link(join(upper, "app/src/a.txt"), join(upper, "app/hard"));
  const long = join(upper, "d".repeat(120));
  await mkdir(long);
  await writeFile(join(long, "f".repeat(90)), "long");
  await writeFile(join(upper, "café.txt"), "utf-8 name");
  await writeFile(join(upper, "x".repeat(140)), "pax name");
  // opaque: `op` is in the lower with a child, in the upper without it, and hidden in `merged`
  await mkdir(join(lower, "op"), { recursive: true });
  await writeFile(join(lower, "op/hidden"), "lower");
  await mkdir(join(upper, "op"));
  await writeFile(join(upper, "op/new"), "upper");
  await mkdir(join(merged, "op"), { recursive: true });
  if (root) {
    spawnSync("mknod", [join(upper, "app/gone"), "c", "0", "0"]);
    spawnSync("mknod", [join(upper, "app/null"), "c", "1", "3"]);
    spawnSync("mkfifo", [join(upper, "app/pipe")]);
  }
  const t = new Date(1_700_000_000_500);
  for (const p of ["empty", "app/src/a.txt", "app/src", "app", "op"]) await utimes(join(upper, p), t, t);
});
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const dirs = () => ({ upperdir: upper, lowerdirs: [lower], merged });

describe("commitLayer", () => {
  const kinds: LayerCompression[] = hasZstd ? ["gzip", "zstd"] : ["gzip"];
  for (const compression of kinds) {
    it(`stores exactly the blob the tar-stream pipeline stored (${compression})`, async () => {
      const want = await legacyCommitLayer(dirs(), content, { compression });
      const got = await commitLayer(dirs(), content, { compression });
      expect(got).toEqual(want);
      expect(got.empty).toBe(false);
      expect(await readdir(content.ingestDir)).toEqual([]);
    });
  }

  it("marks opaque directories and turns whiteouts into .wh. entries", async () => {
    const d = await commitLayer(dirs(), content);
    const out = spawnSync("tar", ["-tzv"], { input: await readFile(content.blobPath(d.layer.digest)) });
    expect(out.status).toBe(0);
    const listing = out.stdout.toString();
    expect(listing).toContain("op/.wh..wh..opq");
    expect(listing).toContain(`${"d".repeat(120)}/${"f".repeat(90)}`);
    expect(listing).toContain("app/src/a.txt link to app/hard");
    if (root) expect(listing).toContain("app/.wh.gone");
  });

  it("honours exclude and reports an empty diff", async () => {
    const d = await commitLayer(dirs(), content, { exclude: () => true });
    const want = await legacyCommitLayer(dirs(), content, { exclude: () => true });
    expect(d).toEqual(want);
    expect(d.empty).toBe(true);
  });

  it("leaves nothing in the store when the walk fails", async () => {
    const before = await content.list();
    await expect(
      commitLayer({ upperdir: join(tmp, "missing"), lowerdirs: [], merged }, content),
    ).rejects.toMatchObject({ code: "ENOENT" });
    expect(await content.list()).toEqual(before);
    expect(await readdir(content.ingestDir)).toEqual([]);
  });
});

describe("diffLayer + storeLayer (a commit in two halves)", () => {
  it("measures the diff ID and opaque dirs, then stores exactly commitLayer's blob from the upper dir alone", async () => {
    const want = await commitLayer(dirs(), content);
    const measured = await diffLayer(dirs());
    expect(measured.diffId).toBe(want.layer.diffId);
    expect(measured.opaque).toEqual(["op"]);
    expect(measured.unpackedSize).toBe(want.layer.unpackedSize);
    expect(measured.empty).toBe(false);
    // `merged` is not needed any more: the opaque dirs were recorded.
    const got = await storeLayer(upper, measured, content);
    expect(got).toEqual(want);
    expect(await readdir(content.ingestDir)).toEqual([]);
  });

  it("refuses to store a directory that changed after it was measured, leaving nothing behind", async () => {
    const measured = await diffLayer(dirs());
    const copy = join(tmp, "changed");
    spawnSync("cp", ["-a", upper, copy]);
    await writeFile(join(copy, "app/src/a.txt"), "HELLO\n");
    const before = await content.list();
    await expect(storeLayer(copy, measured, content)).rejects.toThrow(/changed while it was stored/);
    expect(await readdir(content.ingestDir)).toEqual([]);
    // The mismatching blob itself was committed before the check (content-addressed, harmless);
    // every blob that was there before is still there.
    for (const b of before) expect(await content.has(b)).toBe(true);
  });
});
