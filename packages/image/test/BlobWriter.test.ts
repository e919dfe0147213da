import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Digest } from "@berth/oci";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BlobWriter, ContentStore } from "../src/index.ts";

let root: string;
let store: ContentStore;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "berth-writer-"));
  store = await ContentStore.open(root);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const digestOf = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}` as Digest;

describe("ContentStore.writer", () => {
  it("commits chunks written in order, across many write batches, read-only", async () => {
    const parts = Array.from({ length: 40 }, (_, i) => Buffer.alloc(100_000 + i, i));
    const w = await store.writer({ ref: "w1" });
    for (const p of parts) {
      const back = w.write(p);
      if (back !== undefined && parts.indexOf(p) % 2 === 0) await back; // some awaited, some not
    }
    const all = Buffer.concat(parts);
    const info = await w.commit();
    expect(info).toEqual({ digest: digestOf(all), size: all.length });
    expect((await readFile(store.blobPath(info.digest))).equals(all)).toBe(true);
    expect((await stat(store.blobPath(info.digest))).mode & 0o777).toBe(0o444);
    expect(await readdir(store.ingestDir)).toEqual([]);
  });

  it("a wrong expected digest or size shows nothing", async () => {
    const w = await store.writer({ expected: digestOf(Buffer.from("other")) });
    w.write(Buffer.from("hello"));
    await expect(w.commit()).rejects.toMatchObject({ _tag: "FailedPrecondition" });
    const s = await store.writer({ size: 3 });
    await expect(s.write(Buffer.from("hello"))).rejects.toMatchObject({ _tag: "FailedPrecondition" });
    expect(await store.list()).toEqual([]);
    expect(await readdir(store.ingestDir)).toEqual([]);
  });

  it("holds its ref until aborted, and abort leaves nothing", async () => {
    const w = await store.writer({ ref: "same" });
    w.write(Buffer.from("partial"));
    await expect(store.writer({ ref: "same" })).rejects.toMatchObject({ _tag: "Unavailable" });
    await w.abort();
    expect(await readdir(store.ingestDir)).toEqual([]);
    const again = await store.writer({ ref: "same" });
    await again.abort();
    expect(await store.list()).toEqual([]);
  });
});

describe("BlobWriter.toFile", () => {
  it("leaves the synced, read-only file for ingestWith to place; abort removes it", async () => {
    const parts = Array.from({ length: 5 }, (_, i) => Buffer.alloc(600_000, i + 1));
    const all = Buffer.concat(parts);
    const info = await store.ingestWith({ ifExists: "ok" }, async (dataPath) => {
      const w = await BlobWriter.toFile(dataPath);
      for (const p of parts) await w.write(p);
      const r = await w.commit();
      expect((await stat(dataPath)).mode & 0o777).toBe(0o444);
      return r;
    });
    expect(info).toEqual({ digest: digestOf(all), size: all.length });
    expect((await readFile(store.blobPath(info.digest))).equals(all)).toBe(true);
    expect(await readdir(store.ingestDir)).toEqual([]);

    const path = join(root, "partial");
    const w = await BlobWriter.toFile(path);
    w.write(Buffer.alloc(10));
    await w.abort();
    await expect(stat(path)).rejects.toMatchObject({ code: "ENOENT" });
    await expect(BlobWriter.toFile(join(root, "content"))).rejects.toMatchObject({ code: "EEXIST" });
  });
});
