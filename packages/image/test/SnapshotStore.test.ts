import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { sha256 } from "@berth/oci";
import * as tar from "tar-stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ContentStore, chainIds, SnapshotStore } from "../src/index.ts";

let root: string;
let content: ContentStore;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "berth-snap-"));
  content = await ContentStore.open(root);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function layerBlob(files: Record<string, string | Buffer>) {
  const pack = tar.pack();
  const out = Readable.from(pack as unknown as AsyncIterable<Buffer>).toArray();
  for (const [name, data] of Object.entries(files)) pack.entry({ name, mode: 0o644 }, data);
  pack.finalize();
  const buf = Buffer.concat(await out);
  const info = await content.put(buf);
  return { digest: info.digest, diffId: info.digest };
}

describe("SnapshotStore", () => {
  it("chain IDs follow the OCI formula", () => {
    const a = sha256("a");
    const b = sha256("b");
    expect(chainIds([a, b])).toEqual([a, sha256(`${a} ${b}`)]);
  });

  it("unpacks each layer once into snapshots/<n>/fs with a meta file, lowerdirs top first", async () => {
    const snaps = await SnapshotStore.open({ root, content });
    const l1 = await layerBlob({ a: "1" });
    const l2 = await layerBlob({ b: "2" });
    const dirs = await snaps.prepareImage({ layers: [l1, l2] });
    expect(dirs).toEqual([join(snaps.snapshotsDir, "2/fs"), join(snaps.snapshotsDir, "1/fs")]);
    expect(await readFile(join(dirs[0]!, "b"), "utf8")).toBe("2");
    const meta = JSON.parse(await readFile(join(snaps.snapshotsDir, "2/meta.json"), "utf8"));
    expect(meta.chainId).toBe(chainIds([l1.diffId, l2.diffId])[1]);
    expect(await snaps.prepareImage({ layers: [l1] })).toEqual([dirs[1]]);
    const reopened = await SnapshotStore.open({ root, content });
    expect(reopened.list()).toHaveLength(2);
    expect(await reopened.prepareImage({ layers: [l1, l2] })).toEqual(dirs);
  });

  it("a failed unpack leaves nothing visible and crash leftovers are removed at open", async () => {
    const snaps = await SnapshotStore.open({ root, content });
    const bad = await content.put(Buffer.alloc(1024, 9));
    await expect(
      snaps.prepareImage({ layers: [{ digest: bad.digest, diffId: bad.digest }] }),
    ).rejects.toMatchObject({
      _tag: "InvalidArgument",
    });
    expect((await readdir(snaps.snapshotsDir)).sort()).toEqual(["empty"]);
    await mkdir(join(snaps.snapshotsDir, "tmp-deadbeef/fs"), { recursive: true });
    await mkdir(join(snaps.snapshotsDir, "7/fs"), { recursive: true });
    await writeFile(join(snaps.snapshotsDir, "7/fs/x"), "no meta: incomplete");
    await SnapshotStore.open({ root, content });
    expect((await readdir(snaps.snapshotsDir)).sort()).toEqual(["empty"]);
  });

  it("unpacks an image's layers concurrently but commits them bottom-up, one unpack per chain", async () => {
    const snaps = await SnapshotStore.open({ root, content, unpackConcurrency: 4 });
    // The big bottom layer finishes last; the small ones above must still be numbered after it.
    const big = await layerBlob({ big: Buffer.alloc(24 * 1024 * 1024, 7) });
    const l2 = await layerBlob({ b: "2" });
    const l3 = await layerBlob({ c: "3" });
    const image = { layers: [big, l2, l3] };
    const [dirs, again] = await Promise.all([snaps.prepareImage(image), snaps.prepareImage(image)]);
    expect(dirs).toEqual(["3", "2", "1"].map((n) => join(snaps.snapshotsDir, n, "fs")));
    expect(again).toEqual(dirs);
    expect((await readdir(snaps.snapshotsDir)).sort()).toEqual(["1", "2", "3", "empty"]);
    const chains = chainIds(image.layers.map((l) => l.diffId));
    for (const [i, n] of ["1", "2", "3"].entries()) {
      const meta = JSON.parse(await readFile(join(snaps.snapshotsDir, n, "meta.json"), "utf8"));
      expect(meta.chainId).toBe(chains[i]);
      expect(meta.parent).toBe(i === 0 ? undefined : chains[i - 1]);
    }
    expect((await lstat(join(dirs[2]!, "big"))).size).toBe(24 * 1024 * 1024);
  });

  it.skipIf(process.getuid?.() !== 0)(
    "an opaque directory unpacked alongside its lower layer still hides the lower's children",
    async () => {
      const snaps = await SnapshotStore.open({ root, content, unpackConcurrency: 2 });
      const lower = await layerBlob({ "d/gone": "x", "d/big": Buffer.alloc(16 * 1024 * 1024, 1) });
      const upper = await layerBlob({ "d/kept": "y", "d/.wh..wh..opq": "" });
      const [top] = await snaps.prepareImage({ layers: [lower, upper] });
      for (const name of ["gone", "big"]) {
        const st = await lstat(join(top!, "d", name));
        expect(st.isCharacterDevice() && st.rdev === 0).toBe(true);
      }
      expect(await readFile(join(top!, "d/kept"), "utf8")).toBe("y");
    },
  );

  it("a failed lower layer fails the layers above it and registers none of them", async () => {
    const snaps = await SnapshotStore.open({ root, content, unpackConcurrency: 2 });
    const bad = await content.put(Buffer.alloc(1024, 9));
    const good = await layerBlob({ a: "1" });
    await expect(
      snaps.prepareImage({ layers: [{ digest: bad.digest, diffId: bad.digest }, good] }),
    ).rejects.toMatchObject({ _tag: "InvalidArgument" });
    expect(snaps.list()).toEqual([]);
    expect((await readdir(snaps.snapshotsDir)).sort()).toEqual(["empty"]);
    // The good layer alone (another chain) still unpacks.
    expect(await snaps.prepareImage({ layers: [good] })).toEqual([join(snaps.snapshotsDir, "1/fs")]);
  });

  it("unpacks a layer from its download stream, committing only once verified and above its parent", async () => {
    const snaps = await SnapshotStore.open({ root, content });
    const l1 = await layerBlob({ a: "1" });
    const l2 = await layerBlob({ b: "2" });
    let verify!: () => void;
    const verified = new Promise<void>((res) => {
      verify = res;
    });
    let lowersAsked = 0;
    const lowers = async () => {
      lowersAsked++;
      return snaps.prepareImage({ layers: [l1] });
    };
    const committed = snaps.unpackLayerStream(
      { layers: [l1, l2] },
      Readable.from([await content.readBytes(l2.digest, 1 << 20)]),
      { verified, lowers },
    );
    // The stream is applied, but nothing is registered before the bytes are verified.
    await new Promise((r) => setTimeout(r, 100));
    const chain = chainIds([l1.diffId, l2.diffId])[1]!;
    expect(snaps.get(chain)).toBeUndefined();
    verify();
    const info = await committed;
    expect(lowersAsked).toBe(1);
    expect(snaps.get(chain)).toEqual(info);
    expect(info.parent).toBe(chainIds([l1.diffId])[0]);
    expect(await readFile(join(info.path, "b"), "utf8")).toBe("2");
    // Bottom-up: the parent got the lower number.
    expect(await snaps.prepareImage({ layers: [l1, l2] })).toEqual([
      join(snaps.snapshotsDir, "2/fs"),
      join(snaps.snapshotsDir, "1/fs"),
    ]);
    // A chain already unpacked only drains the stream.
    const again = Readable.from([Buffer.alloc(4096)]);
    const drained = new Promise((r) => again.on("end", r));
    expect(await snaps.unpackLayerStream({ layers: [l1, l2] }, again, { verified, lowers })).toEqual(info);
    await drained;
  });

  it("a streamed unpack whose bytes fail verification is discarded; prepareImage unpacks the blob", async () => {
    const snaps = await SnapshotStore.open({ root, content });
    const l1 = await layerBlob({ a: "stored" });
    // The stream carries other bytes than the stored blob: a tampered download.
    const tampered = await layerBlob({ a: "tampered" });
    let reject!: (err: unknown) => void;
    const verified = new Promise<void>((_res, rej) => {
      reject = rej;
    });
    const committed = snaps.unpackLayerStream(
      { layers: [l1] },
      Readable.from([await content.readBytes(tampered.digest, 1 << 20)]),
      { verified, lowers: async () => [] },
    );
    // prepareImage joins the streamed unpack, and falls back to the stored blob when it fails.
    const prepared = snaps.prepareImage({ layers: [l1] });
    reject(new Error("digest mismatch"));
    await expect(committed).rejects.toThrow("digest mismatch");
    const [dir] = await prepared;
    expect(await readFile(join(dir!, "a"), "utf8")).toBe("stored");
    expect((await readdir(snaps.snapshotsDir)).sort()).toEqual(["1", "empty"]);
  });

  it("rejects container ids that are not plain names", async () => {
    const snaps = await SnapshotStore.open({ root, content });
    await expect(snaps.createContainerLayer("../escape", { layers: [] })).rejects.toMatchObject({
      _tag: "InvalidArgument",
    });
  });
});

describe("SnapshotStore: snapshots adopted from volatile mounts", () => {
  const layer = { digest: sha256("blob"), diffId: sha256("tar") };
  const metaOf = async (s: SnapshotStore) =>
    JSON.parse(
      await readFile(
        join((s.get(chainIds([layer.diffId])[0]!) as { path: string }).path, "../meta.json"),
        "utf8",
      ),
    );

  it("marks an unsynced adoption with the boot ID and clears the mark after the background sync", async () => {
    const snaps = await SnapshotStore.open({ root, content, bootId: "boot-a" });
    const upper = join(root, "upper");
    await mkdir(upper);
    await writeFile(join(upper, "f"), "data");
    const info = await snaps.adoptLayer({ layers: [layer] }, upper, { unsynced: true });
    expect(info?.unsyncedBoot).toBe("boot-a");
    expect((await metaOf(snaps)).unsyncedBoot).toBe("boot-a");
    await snaps.synced();
    expect((await metaOf(snaps)).unsyncedBoot).toBeUndefined();
    expect(snaps.get(info!.chainId)?.unsyncedBoot).toBeUndefined();
    expect(await readFile(join(info!.path, "f"), "utf8")).toBe("data");
  });

  it("drops a snapshot still marked from another boot at open, keeps (and syncs) one from this boot", async () => {
    const snaps = await SnapshotStore.open({ root, content, bootId: "boot-a" });
    const upper = join(root, "upper");
    await mkdir(upper);
    await writeFile(join(upper, "f"), "data");
    const info = await snaps.adoptLayer({ layers: [layer] }, upper, { unsynced: true });
    await snaps.synced();
    // As if the machine went down before the sync: the mark is still in meta.json.
    const metaPath = join(info!.path, "../meta.json");
    await writeFile(metaPath, JSON.stringify({ ...(await metaOf(snaps)), unsyncedBoot: "boot-a" }));
    const sameBoot = await SnapshotStore.open({ root, content, bootId: "boot-a" });
    expect(sameBoot.list()).toHaveLength(1);
    await sameBoot.synced();
    expect((await metaOf(sameBoot)).unsyncedBoot).toBeUndefined();
    await writeFile(metaPath, JSON.stringify({ ...(await metaOf(sameBoot)), unsyncedBoot: "boot-a" }));
    const nextBoot = await SnapshotStore.open({ root, content, bootId: "boot-b" });
    expect(nextBoot.list()).toEqual([]);
    expect((await readdir(nextBoot.snapshotsDir)).sort()).toEqual(["empty"]);
  });
});
