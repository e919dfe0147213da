import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
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

async function layerBlob(files: Record<string, string>) {
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

  it("rejects container ids that are not plain names", async () => {
    const snaps = await SnapshotStore.open({ root, content });
    await expect(snaps.createContainerLayer("../escape", { layers: [] })).rejects.toMatchObject({
      _tag: "InvalidArgument",
    });
  });
});
