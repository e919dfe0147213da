import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import {
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { createTar } from "@berth/archive";
import { type Digest, type Manifest, OCI_CONFIG, OCI_LAYER, OCI_MANIFEST } from "@berth/oci";
import * as tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ContentStore, type ImageRecord, ImageStore, mountPoints, SnapshotStore } from "../src/index.ts";

const run = promisify(execFile);
const canRun = process.getuid?.() === 0 && existsSync("/bin/busybox");

let base: string;
let root: string;
let images: ImageStore;
let snaps: SnapshotStore;

async function tarOf(
  entries: Array<{ name: string; type?: "file" | "directory"; content?: string }>,
): Promise<Buffer> {
  const pack = tar.pack();
  const out = Readable.from(pack as unknown as AsyncIterable<Buffer>).toArray();
  for (const e of entries) {
    if (e.type === "directory") pack.entry({ name: e.name, type: "directory", mode: 0o755 });
    else pack.entry({ name: e.name, mode: 0o644 }, e.content ?? "");
  }
  pack.finalize();
  return Buffer.concat(await out);
}

/** addLayers makes an image from `base` plus extra layers, through the public store API. */
async function withLayers(
  baseImg: ImageRecord | undefined,
  layers: Buffer[],
  name: string,
): Promise<ImageRecord> {
  const content: ContentStore = images.content;
  const descs = [
    ...(baseImg?.layers ?? []).map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  ];
  const diffIds: Digest[] = [...(baseImg?.config.rootfs.diff_ids ?? [])];
  for (const l of layers) {
    const info = await content.ingest(Readable.from([l]), { ifExists: "ok" });
    descs.push({ mediaType: OCI_LAYER, digest: info.digest, size: info.size });
    diffIds.push(info.digest);
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: diffIds },
      config: {},
    }),
  );
  const cinfo = await content.put(config);
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: cinfo.digest, size: cinfo.size },
    layers: descs,
  };
  return images.addImage({ manifest, config, names: [name] });
}

async function mountsUnder(dir: string): Promise<string[]> {
  return (await mountPoints()).filter((m) => m.startsWith(dir));
}

beforeAll(async () => {
  if (!canRun) return;
  base = await mkdtemp(join(tmpdir(), "berth-overlay-"));
  root = join(base, "data");
  images = await ImageStore.open({ root });
  snaps = await SnapshotStore.open({ root, content: images.content });
});

afterAll(async () => {
  if (!canRun) return;
  for (const m of (await mountsUnder(base)).reverse()) await run("umount", ["-l", m]).catch(() => {});
  await rm(base, { recursive: true, force: true });
});

describe.skipIf(!canRun)("overlay container layers (root)", () => {
  it("imports a busybox rootfs, mounts it with whiteouts from a second layer, writes, unmounts and removes", async () => {
    const rootfs = join(base, "rootfs");
    await mkdir(join(rootfs, "bin"), { recursive: true });
    await copyFile("/bin/busybox", join(rootfs, "bin/busybox"));
    for (const applet of ["sh", "ls", "cat", "echo"]) await symlink("busybox", join(rootfs, "bin", applet));
    await mkdir(join(rootfs, "etc"));
    await writeFile(join(rootfs, "etc/hostname"), "lower\n");
    await mkdir(join(rootfs, "opt/sub"), { recursive: true });
    await writeFile(join(rootfs, "opt/old"), "old");
    await writeFile(join(rootfs, "opt/sub/deep"), "deep");
    const img = await images.importRootfs(createTar(rootfs, { compression: "gzip" }), { ref: "busybox" });
    expect(images.resolve("busybox").id).toBe(img.id);

    const layer2 = await tarOf([
      { name: "etc/.wh.hostname" },
      { name: "opt/", type: "directory" },
      { name: "opt/.wh..wh..opq" },
      { name: "opt/new", content: "new" },
      { name: "opt/sub/", type: "directory" },
      { name: "opt/sub/mine", content: "mine" },
    ]);
    const img2 = await withLayers(img, [layer2], "busybox:two");

    const id = "a".repeat(64);
    const layer = await snaps.createContainerLayer(id, img2);
    expect(layer.lowerdirs).toHaveLength(2);
    // The first layer is shared with the one-layer image: prepared once, keyed by chain ID.
    expect(await snaps.prepareImage(img)).toEqual([layer.lowerdirs[1]]);
    const merged = await snaps.mountContainer(id);
    expect(await snaps.isMounted(id)).toBe(true);
    expect(await mountsUnder(base)).toEqual([merged]);

    expect(await readlink(join(merged, "bin/sh"))).toBe("busybox");
    expect(existsSync(join(merged, "etc/hostname"))).toBe(false);
    expect((await readdir(join(merged, "opt"))).sort()).toEqual(["new", "sub"]);
    expect(await readdir(join(merged, "opt/sub"))).toEqual(["mine"]);
    const { stdout } = await run("chroot", [
      merged,
      "/bin/sh",
      "-c",
      "echo hi > /out && cat /out && ls /opt",
    ]);
    expect(stdout).toBe("hi\nnew\nsub\n");
    expect(await readFile(join(layer.upperdir, "out"), "utf8")).toBe("hi\n");
    expect(existsSync(join(layer.lowerdirs[0]!, "out"))).toBe(false);

    await snaps.mountContainer(id); // idempotent
    await snaps.unmountContainer(id);
    await snaps.unmountContainer(id); // tolerated when not mounted
    expect(await mountsUnder(base)).toEqual([]);
    await snaps.removeContainerLayer(id);
    expect(existsSync(join(root, "containers", id))).toBe(false);
  });

  it("mounts an image with zero layers on the empty lowerdir", async () => {
    const scratch = await withLayers(undefined, [], "scratch-img");
    const id = "b".repeat(64);
    const layer = await snaps.createContainerLayer(id, scratch);
    expect(layer.lowerdirs).toEqual([join(snaps.snapshotsDir, "empty")]);
    const merged = await snaps.mountContainer(id);
    expect(await readdir(merged)).toEqual([]);
    await snaps.removeContainerLayer(id);
    expect(await mountsUnder(base)).toEqual([]);
  });

  it("falls back to relative lowerdirs when the options exceed a page", async () => {
    const layers: Buffer[] = [];
    for (let i = 0; i < 110; i++) layers.push(await tarOf([{ name: `f${i}`, content: String(i) }]));
    const big = await withLayers(undefined, layers, "many-layers");
    const id = "c".repeat(64);
    const layer = await snaps.createContainerLayer(id, big);
    expect(layer.lowerdirs.join(":").length).toBeGreaterThan(4096);
    const merged = await snaps.mountContainer(id);
    expect((await readdir(merged)).length).toBe(110);
    expect(await readFile(join(merged, "f0"), "utf8")).toBe("0");
    await snaps.removeContainerLayer(id);
    expect(await mountsUnder(base)).toEqual([]);
  });
});
