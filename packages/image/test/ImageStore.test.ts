import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { createTar } from "@berth/archive";
import { OCI_LAYER } from "@berth/oci";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ImageRecord, ImageStore } from "../src/index.ts";

let base: string;
let root: string;
let rootfs: string;
let store: ImageStore;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "berth-images-"));
  root = join(base, "data");
  rootfs = join(base, "rootfs");
  await mkdir(join(rootfs, "bin"), { recursive: true });
  await writeFile(join(rootfs, "bin/tool"), "0123456789", { mode: 0o755 });
  await symlink("tool", join(rootfs, "bin/sh"));
  await mkdir(join(rootfs, "etc"));
  await writeFile(join(rootfs, "etc/hostname"), "box\n");
  store = await ImageStore.open({ root });
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const importTagged = (ref?: string, gzip = false) =>
  store.importRootfs(
    createTar(rootfs, { compression: gzip ? "gzip" : "none" }),
    ref === undefined ? {} : { ref },
  );

/** shortestUniquePrefix returns the shortest hex prefix of `id` no other image shares. */
function shortestUniquePrefix(id: string, all: ImageRecord[]): string {
  const hex = id.slice(7);
  for (let n = 1; n <= 64; n++) {
    const p = hex.slice(0, n);
    if (all.filter((r) => r.id.slice(7).startsWith(p)).length === 1) return p;
  }
  return hex;
}

describe("ImageStore.importRootfs", () => {
  it("stores one uncompressed layer, a config whose digest is the id, and docker's history entry", async () => {
    const img = await importTagged("busybox", true);
    expect(img.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    const cbytes = await store.content.readBytes(img.id, 1 << 20);
    expect(sha(cbytes)).toBe(img.id);
    expect(img.layers).toHaveLength(1);
    expect(img.layers[0]!.mediaType).toBe(OCI_LAYER);
    expect(img.layers[0]!.diffId).toBe(img.layers[0]!.digest);
    expect(img.config.rootfs.diff_ids).toEqual([img.layers[0]!.digest]);
    expect(img.config.history).toEqual([
      { created: img.created, created_by: "", comment: "Imported from -" },
    ]);
    expect(img.size).toBe(14);
    expect(img.repoTags).toEqual(["busybox:latest"]);
    expect(img.config.os).toBe("linux");
    const layer = await store.content.readBytes(img.layers[0]!.digest, 1 << 20);
    const plain = Buffer.concat(await Readable.from(createTar(rootfs)).toArray());
    expect(layer.equals(plain)).toBe(true);
  });

  it("applies message and changes, and rejects input that is not a tar", async () => {
    const img = await store.importRootfs(createTar(rootfs), {
      ref: "x/y:1",
      message: "hello",
      changes: { Cmd: ["/bin/sh"], Env: ["A=b"] },
    });
    expect(img.config.config).toEqual({ Cmd: ["/bin/sh"], Env: ["A=b"] });
    expect(img.config.history?.[0]?.comment).toBe("hello");
    expect(img.repoTags).toEqual(["x/y:1"]);
    await expect(store.importRootfs(Readable.from([Buffer.alloc(1024, 7)]))).rejects.toMatchObject({
      _tag: "InvalidArgument",
    });
    expect(store.list()).toHaveLength(1);
  });
});

describe("ImageStore names", () => {
  it("resolves every spelling docker accepts and reports No such image otherwise", async () => {
    const img = await importTagged("busybox");
    const other = await importTagged("other:2");
    const hex = img.id.slice(7);
    const prefix = shortestUniquePrefix(img.id, store.list());
    for (const s of [
      "busybox",
      "busybox:latest",
      "library/busybox",
      "docker.io/library/busybox:latest",
      img.id,
      hex,
      hex.slice(0, 12),
      prefix,
      `sha256:${prefix}`,
    ]) {
      expect(store.resolve(s).id, s).toBe(img.id);
    }
    expect(store.resolve("other:2").id).toBe(other.id);
    expect(() => store.resolve("nope")).toThrow("No such image: nope:latest");
    expect(() => store.resolve("other")).toThrow("No such image: other:latest");
    expect(() => store.resolve(`sha256:${"0".repeat(64)}`)).toThrow(
      `No such image: sha256:${"0".repeat(64)}`,
    );
  });

  it("tags, untags and keeps repo digests; names survive reopening", async () => {
    const img = await importTagged("busybox");
    await store.tag("busybox", "localhost:5000/me/bb:v1");
    await store.addImage({
      manifest: await store.content.readBytes(img.manifestDigest, 1 << 20),
      config: await store.content.readBytes(img.id, 1 << 20),
      names: [`busybox@${img.manifestDigest}`],
    });
    const rec = store.resolve(img.id);
    expect(rec.repoTags).toEqual(["busybox:latest", "localhost:5000/me/bb:v1"]);
    expect(rec.repoDigests).toEqual([`busybox@${img.manifestDigest}`]);
    expect(store.resolve(`busybox@${img.manifestDigest}`).id).toBe(img.id);
    expect(await store.untag("localhost:5000/me/bb:v1")).toBe("localhost:5000/me/bb:v1");
    await expect(store.untag("localhost:5000/me/bb:v1")).rejects.toMatchObject({ _tag: "NotFound" });
    const again = await ImageStore.open({ root });
    expect(again.resolve("busybox").repoTags).toEqual(["busybox:latest"]);
    expect(again.resolve("busybox").repoDigests).toEqual([`busybox@${img.manifestDigest}`]);
    expect((await readdir(root)).filter((n) => n.includes(".tmp-"))).toEqual([]);
    expect(JSON.parse(await readFile(join(root, "images.json"), "utf8")).version).toBe(1);
  });
});

describe("ImageStore.remove (docker rmi semantics)", () => {
  it("by name with several tags only untags", async () => {
    const img = await importTagged("img-a");
    await store.tag("img-a", "img-b");
    expect(await store.remove("img-a")).toEqual([{ Untagged: "img-a:latest" }]);
    expect(store.resolve("img-b").id).toBe(img.id);
  });

  it("by id with tags in several repositories needs force", async () => {
    const img = await importTagged("img-a");
    await store.tag("img-a", "img-b");
    const short = img.id.slice(7, 19);
    await expect(store.remove(short)).rejects.toMatchObject({
      _tag: "Conflict",
      message: `conflict: unable to delete ${short} (must be forced) - image is referenced in multiple repositories`,
    });
    const report = await store.remove(short, { force: true });
    expect(report).toEqual([
      { Untagged: "img-a:latest" },
      { Untagged: "img-b:latest" },
      { Deleted: img.id },
      { Deleted: img.layers[0]!.diffId },
    ]);
    expect(store.list()).toEqual([]);
    expect(await store.content.has(img.id)).toBe(false);
    expect(await store.content.has(img.layers[0]!.digest)).toBe(false);
  });

  it("by id with one tag untags and deletes", async () => {
    const img = await importTagged("img-a");
    expect(await store.remove(img.id)).toEqual([
      { Untagged: "img-a:latest" },
      { Deleted: img.id },
      { Deleted: img.layers[0]!.diffId },
    ]);
  });

  it("a stopped container blocks removing the last name unless forced", async () => {
    const img = await importTagged("img-a");
    const ctr = "c".repeat(64);
    const isInUse = (id: string) => (id === img.id ? ctr : undefined);
    await expect(store.remove("img-a", { isInUse })).rejects.toMatchObject({
      _tag: "Conflict",
      message: `conflict: unable to remove repository reference "img-a" (must force) - container cccccccccccc is using its referenced image ${img.id.slice(7, 19)}`,
    });
    await expect(store.remove(img.id, { isInUse })).rejects.toMatchObject({
      message: `conflict: unable to delete ${img.id.slice(7, 19)} (must be forced) - image is being used by stopped container cccccccccccc`,
    });
    expect(await store.remove("img-a", { isInUse, force: true })).toEqual([
      { Untagged: "img-a:latest" },
      { Deleted: img.id },
      { Deleted: img.layers[0]!.diffId },
    ]);
  });

  it("a running container's image cannot be deleted, even forced", async () => {
    const img = await importTagged("img-a");
    const isInUse = () => ({ id: "d".repeat(64), running: true });
    await expect(store.remove(img.id, { isInUse, force: true })).rejects.toMatchObject({
      _tag: "Conflict",
      message: `conflict: unable to delete ${img.id.slice(7, 19)} (cannot be forced) - image is being used by running container dddddddddddd`,
    });
    expect(store.list()).toHaveLength(1);
  });

  it("layers shared with another image are kept", async () => {
    const a = await importTagged("img-a");
    const b = await importTagged("img-b");
    expect(a.layers[0]!.digest).toBe(b.layers[0]!.digest);
    expect(await store.remove("img-a")).toEqual([{ Untagged: "img-a:latest" }, { Deleted: a.id }]);
    expect(await store.content.has(b.layers[0]!.digest)).toBe(true);
    await expect(store.remove("img-a")).rejects.toMatchObject({
      _tag: "NotFound",
      message: "No such image: img-a:latest",
    });
  });
});
