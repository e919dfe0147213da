import { createHash } from "node:crypto";
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import type { Digest } from "@berth/oci";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ContentStore } from "../src/index.ts";

let root: string;
let store: ContentStore;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "berth-content-"));
  store = await ContentStore.open(root);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const digestOf = (s: string) => `sha256:${createHash("sha256").update(s).digest("hex")}` as Digest;
const blobs = () => readdir(join(root, "content/blobs/sha256"));
const ingests = () => readdir(join(root, "content/ingest"));

describe("ContentStore", () => {
  it("I1 commits a verified blob read-only and removes the ingest", async () => {
    const info = await store.ingest(Readable.from(["hello"]), {
      expected: digestOf("hello"),
      size: 5,
      ref: "r1",
    });
    expect(info).toEqual({ digest: digestOf("hello"), size: 5 });
    const st = await stat(store.blobPath(info.digest));
    expect(st.mode & 0o777).toBe(0o444);
    expect(await ingests()).toEqual([]);
    expect(await store.info(info.digest)).toEqual(info);
    expect(await store.has(info.digest)).toBe(true);
    const chunks: Buffer[] = [];
    for await (const c of await store.readStream(info.digest)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe("hello");
    await store.verify(info.digest);
  });

  it("I2 a wrong expected digest is FailedPrecondition and nothing is visible", async () => {
    await expect(
      store.ingest(Readable.from(["hello"]), { expected: digestOf("other") }),
    ).rejects.toMatchObject({
      _tag: "FailedPrecondition",
      message: expect.stringContaining("unexpected commit digest"),
    });
    expect(await blobs()).toEqual([]);
    expect(await ingests()).toEqual([]);
  });

  it("I3 a wrong size (short or long) is FailedPrecondition and nothing is visible", async () => {
    await expect(store.ingest(Readable.from(["hello"]), { size: 6 })).rejects.toMatchObject({
      _tag: "FailedPrecondition",
    });
    await expect(store.ingest(Readable.from(["hello", "more"]), { size: 4 })).rejects.toMatchObject({
      _tag: "FailedPrecondition",
    });
    expect(await blobs()).toEqual([]);
  });

  it("I4 committing an existing digest is AlreadyExists and leaves the blob unchanged", async () => {
    const a = await store.ingest(Readable.from(["same"]));
    const before = await stat(store.blobPath(a.digest));
    await expect(store.ingest(Readable.from(["same"]))).rejects.toMatchObject({ _tag: "AlreadyExists" });
    expect((await stat(store.blobPath(a.digest))).ino).toBe(before.ino);
    expect(await ingests()).toEqual([]);
    expect(await store.ingest(Readable.from(["same"]), { ifExists: "ok" })).toEqual(a);
  });

  it("I5 a second writer on the same ref gets Unavailable, the first is unaffected", async () => {
    const slow = new PassThrough();
    const first = store.ingest(slow, { ref: "layer-1" });
    slow.write("part1");
    await new Promise((r) => setTimeout(r, 20));
    await expect(store.ingest(Readable.from(["x"]), { ref: "layer-1" })).rejects.toMatchObject({
      _tag: "Unavailable",
      message: expect.stringMatching(/^ref layer-1 locked since /),
    });
    slow.end("part2");
    expect((await first).digest).toBe(digestOf("part1part2"));
  });

  it("I7 crash leftovers in ingest are cleaned at open; partial data is never a blob", async () => {
    const leftover = join(root, "content/ingest", "f".repeat(64));
    await mkdir(leftover);
    await writeFile(join(leftover, "data"), "partial");
    const reopened = await ContentStore.open(root);
    expect(await ingests()).toEqual([]);
    expect(await reopened.list()).toEqual([]);
  });

  it("I8 a corrupted blob fails verify and bounded reads", async () => {
    const a = await store.ingest(Readable.from(['{"a":1}']));
    await chmod(store.blobPath(a.digest), 0o644);
    await writeFile(store.blobPath(a.digest), '{"a":2}');
    await expect(store.verify(a.digest)).rejects.toMatchObject({ _tag: "FailedPrecondition" });
    await expect(store.readJSON(a.digest, 100)).rejects.toMatchObject({ _tag: "FailedPrecondition" });
  });

  it("I11 readJSON is bounded; delete and NotFound; digests are validated before paths", async () => {
    const a = await store.put(JSON.stringify({ big: "x".repeat(100) }));
    await expect(store.readJSON(a.digest, 10)).rejects.toMatchObject({ _tag: "ResourceExhausted" });
    expect(await store.readJSON(a.digest, 1000)).toEqual({ big: "x".repeat(100) });
    await store.delete(a.digest);
    await expect(store.info(a.digest)).rejects.toMatchObject({ _tag: "NotFound" });
    await expect(store.delete(a.digest)).rejects.toMatchObject({ _tag: "NotFound" });
    expect(() => store.blobPath("sha256:../../etc/passwd")).toThrow(/invalid digest/);
  });

  it("an input stream error removes the ingest and commits nothing", async () => {
    const bad = new Readable({
      read() {
        this.destroy(new Error("network down"));
      },
    });
    await expect(store.ingest(bad)).rejects.toThrow(/network down/);
    expect(await blobs()).toEqual([]);
    expect(await ingests()).toEqual([]);
  });
});
