import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import * as zlib from "node:zlib";
import { createTar } from "@berth/archive";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ArchiveDir, ImageStore, loadArchive, saveArchive } from "../src/index.ts";
import {
  legacyDockerArchive,
  makeConfig,
  makeLayer,
  ociLayoutArchive,
  sha,
  stream,
  tarBytes,
} from "./archiveFixtures.ts";

let base: string;
let src: ImageStore;
let dst: ImageStore;
let tmp: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "berth-saveload-"));
  src = await ImageStore.open({ root: join(base, "src") });
  dst = await ImageStore.open({ root: join(base, "dst") });
  tmp = join(base, "tmp");
  await mkdir(tmp);
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function collect(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** listTar returns the member names and contents of a tar. */
async function listTar(b: Buffer): Promise<Map<string, Buffer>> {
  const tar = await import("tar-stream");
  const ex = tar.extract();
  const out = new Map<string, Buffer>();
  const done = (async () => {
    for await (const e of ex) {
      const parts: Buffer[] = [];
      for await (const c of e) parts.push(c as Buffer);
      out.set(e.header.name, Buffer.concat(parts));
    }
  })();
  ex.end(b);
  await done;
  return out;
}

async function importBox(store: ImageStore, ref: string, content = "hello"): Promise<string> {
  const dir = await mkdtemp(join(base, "rootfs-"));
  await mkdir(join(dir, "etc"));
  await writeFile(join(dir, "etc/motd"), content);
  const img = await store.importRootfs(createTar(dir, { compression: "gzip" }), {
    ref,
    changes: { Cmd: ["cat", "/etc/motd"] },
  });
  return img.id;
}

describe("saveArchive", () => {
  it("writes docker 25's layout: blobs, index.json with names, manifest.json into blobs, oci-layout, repositories", async () => {
    const id = await importBox(src, "box:1");
    await src.tag("box:1", "example.com/team/box:2");
    const bytes = await collect(await saveArchive(src, ["box:1", "example.com/team/box:2"]));
    const files = await listTar(bytes);
    const img = src.get(id)!;
    const names = [...files.keys()];
    expect(names.slice(0, 2)).toEqual(["blobs/", "blobs/sha256/"]);
    expect(names.slice(-4)).toEqual(["index.json", "manifest.json", "oci-layout", "repositories"]);
    for (const d of [img.id, img.manifestDigest, img.layers[0]!.digest]) {
      expect(sha(files.get(`blobs/sha256/${d.slice(7)}`)!)).toBe(d);
    }
    expect(JSON.parse(files.get("oci-layout")!.toString())).toEqual({ imageLayoutVersion: "1.0.0" });
    const manifest = JSON.parse(files.get("manifest.json")!.toString());
    expect(manifest).toEqual([
      {
        Config: `blobs/sha256/${id.slice(7)}`,
        RepoTags: ["box:1", "example.com/team/box:2"],
        Layers: [`blobs/sha256/${img.layers[0]!.digest.slice(7)}`],
      },
    ]);
    const index = JSON.parse(files.get("index.json")!.toString());
    expect(index.mediaType).toBe("application/vnd.oci.image.index.v1+json");
    expect(index.manifests.map((m: { annotations: object }) => m.annotations)).toEqual([
      { "io.containerd.image.name": "docker.io/library/box:1", "org.opencontainers.image.ref.name": "1" },
      { "io.containerd.image.name": "example.com/team/box:2", "org.opencontainers.image.ref.name": "2" },
    ]);
    expect(index.manifests[0].digest).toBe(img.manifestDigest);
    expect(index.manifests[0].size).toBe(files.get(`blobs/sha256/${img.manifestDigest.slice(7)}`)!.length);
    expect(index.manifests[0].platform).toEqual({ architecture: img.config.architecture, os: "linux" });
    expect(JSON.parse(files.get("repositories")!.toString())).toEqual({
      box: { "1": img.layers[0]!.diffId.slice(7) },
      "example.com/team/box": { "2": img.layers[0]!.diffId.slice(7) },
    });
  });

  it("saves a bare repository name as all its tags, and an ID without tags", async () => {
    const a = await importBox(src, "repo:a", "a");
    await src.tag("repo:a", "repo:b");
    const other = await importBox(src, "other:1", "o");
    const byRepo = JSON.parse(
      (await listTar(await collect(await saveArchive(src, ["repo"])))).get("manifest.json")!.toString(),
    );
    expect(byRepo).toHaveLength(1);
    expect(byRepo[0].RepoTags).toEqual(["repo:a", "repo:b"]);
    expect(byRepo[0].Config).toBe(`blobs/sha256/${a.slice(7)}`);
    const files = await listTar(await collect(await saveArchive(src, [other.slice(7, 19)])));
    expect(JSON.parse(files.get("manifest.json")!.toString())[0].RepoTags).toBeNull();
    expect(files.has("repositories")).toBe(false);
    expect(JSON.parse(files.get("index.json")!.toString()).manifests[0].annotations).toBeUndefined();
  });

  it("is deterministic: the same images give the same bytes", async () => {
    await importBox(src, "box:1");
    const a = await collect(await saveArchive(src, ["box:1"]));
    const b = await collect(await saveArchive(src, ["box:1"]));
    expect(sha(a)).toBe(sha(b));
  });

  it("refuses an unknown name before writing anything", async () => {
    await importBox(src, "box:1");
    await expect(saveArchive(src, ["box:1", "nope:1"])).rejects.toThrow(/No such image: nope:1/);
  });

  it("fails the stream when a stored blob no longer matches its digest", async () => {
    const id = await importBox(src, "box:1");
    const layer = src.get(id)!.layers[0]!;
    const path = src.content.blobPath(layer.digest);
    await rm(path);
    await writeFile(path, zlib.gzipSync(Buffer.from("tampered")));
    await expect(collect(await saveArchive(src, ["box:1"]))).rejects.toThrow(/is corrupt/);
  });
});

describe("loadArchive", () => {
  it("round-trips berth save -> load: same ID, manifest digest, tags, layers and sizes", async () => {
    const id = await importBox(src, "box:1");
    await src.tag("box:1", "box:latest");
    const bytes = await collect(await saveArchive(src, ["box"]));
    const report = await loadArchive(dst, stream(bytes), { tmpDir: tmp });
    expect(report.messages).toEqual(["Loaded image: box:1", "Loaded image: box:latest"]);
    expect(report.images).toEqual([{ id, tags: ["box:1", "box:latest"] }]);
    const a = src.get(id)!;
    const b = dst.get(id)!;
    expect(b.manifestDigest).toBe(a.manifestDigest);
    expect(b.layers).toEqual(a.layers);
    expect(b.size).toBe(a.size);
    expect(b.repoTags).toEqual(["box:1", "box:latest"]);
    expect(await readdir(tmp)).toEqual([]);
  });

  it("loads a gzip-compressed archive and says when a tag moves to the loaded image", async () => {
    const id = await importBox(src, "box:1", "new");
    const old = await importBox(dst, "box:1", "old");
    const bytes = zlib.gzipSync(await collect(await saveArchive(src, ["box:1"])));
    const report = await loadArchive(dst, stream(bytes), { tmpDir: tmp });
    expect(report.messages).toEqual([
      `The image box:1 already exists, renaming the old one with ID ${old} to empty string`,
      "Loaded image: box:1",
    ]);
    expect(dst.resolve("box:1").id).toBe(id);
  });

  it("loading an image the store has (stored differently) only moves names and adds no blobs", async () => {
    const id = await importBox(src, "box:1");
    const gz = await collect(await saveArchive(src, ["box:1"]));
    await loadArchive(dst, stream(gz), { tmpDir: tmp });
    // The same image with its layer gzip-compressed (the store has it uncompressed).
    const img = dst.get(id)!;
    const layerTar = zlib.gzipSync(await dst.content.readBytes(img.layers[0]!.digest, 1 << 30));
    const cfg = await dst.content.readBytes(id, 1 << 20);
    const plain = await tarBytes([
      { name: `${id.slice(7)}.json`, data: cfg },
      { name: "l/layer.tar", data: layerTar },
      {
        name: "manifest.json",
        data: JSON.stringify([
          { Config: `${id.slice(7)}.json`, RepoTags: ["box:2"], Layers: ["l/layer.tar"] },
        ]),
      },
    ]);
    const before = (await dst.content.list()).sort();
    expect((await loadArchive(dst, stream(plain), { tmpDir: tmp })).messages).toEqual([
      "Loaded image: box:2",
    ]);
    expect((await dst.content.list()).sort()).toEqual(before);
    expect(dst.get(id)!.repoTags).toEqual(["box:1", "box:2"]);
  });

  it.skipIf(spawnSync("sh", ["-c", "command -v zstd"]).status !== 0)(
    "loads a zstd-compressed archive whose OCI layout has zstd layers",
    async () => {
      const l = await makeLayer({ "bin/z": "zstd" });
      const zst = spawnSync("zstd", ["-q", "-c"], { input: l.tar }).stdout;
      const oci = await ociLayoutArchive({
        layers: [{ ...l, gz: zst }],
        layerMediaType: "application/vnd.oci.image.layer.v1.tar+zstd",
        annotations: { "io.containerd.image.name": "docker.io/library/z:1" },
      });
      const archive = spawnSync("zstd", ["-q", "-c"], { input: oci.tar }).stdout;
      const report = await loadArchive(dst, stream(archive), { tmpDir: tmp });
      expect(report.messages).toEqual(["Loaded image: z:1"]);
      expect(dst.resolve("z:1").layers[0]!.digest).toBe(sha(zst));
      expect(dst.resolve("z:1").layers[0]).toMatchObject({
        diffId: l.diffId,
        mediaType: "application/vnd.oci.image.layer.v1.tar+zstd",
      });
    },
  );

  it("loads an untagged image as `Loaded image ID`", async () => {
    const id = await importBox(src, "box:1");
    const bytes = await collect(await saveArchive(src, [id]));
    const report = await loadArchive(dst, stream(bytes), { tmpDir: tmp });
    expect(report.messages).toEqual([`Loaded image ID: ${id}`]);
    expect(dst.get(id)!.repoTags).toEqual([]);
  });

  it("loads docker 1.10-24 archives: <id>/layer.tar, <hex>.json configs, symlinked shared layers", async () => {
    const base1 = await makeLayer({ "etc/os": "base" });
    const app = await makeLayer({ "app/run": "app" });
    const tool = await makeLayer({ "usr/bin/tool": "tool" });
    const bytes = await legacyDockerArchive([
      { layers: [base1, app], tags: ["friendlyhello:bk"] },
      { layers: [base1, tool], tags: ["friendlyhello:latest"], cmd: ["tool"] },
    ]);
    const report = await loadArchive(dst, stream(bytes), { tmpDir: tmp });
    expect(report.messages).toEqual(["Loaded image: friendlyhello:bk", "Loaded image: friendlyhello:latest"]);
    const latest = dst.resolve("friendlyhello:latest");
    expect(latest.id).toBe(sha(makeConfig([base1, tool], ["tool"])));
    expect(latest.layers.map((l) => l.diffId)).toEqual([base1.diffId, tool.diffId]);
    expect(latest.layers[0]!.mediaType).toBe("application/vnd.oci.image.layer.v1.tar");
    expect(latest.config.config?.Cmd).toEqual(["tool"]);
    expect(latest.size).toBe(4 + 4);
  });

  it("loads a plain OCI layout with gzip layers, keeping its manifest, named by annotation", async () => {
    const l = await makeLayer({ "bin/x": "x" });
    const oci = await ociLayoutArchive({
      layers: [l],
      annotations: { "io.containerd.image.name": "docker.io/library/oci:1" },
    });
    const report = await loadArchive(dst, stream(oci.tar), { tmpDir: tmp });
    expect(report.messages).toEqual(["Loaded image: oci:1"]);
    const img = dst.resolve("oci:1");
    expect(img.manifestDigest).toBe(oci.manifests[0]);
    expect(img.layers[0]!.mediaType).toBe("application/vnd.oci.image.layer.v1.tar+gzip");
    expect(img.layers[0]!.digest).toBe(sha(l.gz));
  });

  it("loads an OCI layout made with `tar -C dir .` (./ names) whose ref.name is a full reference", async () => {
    const l = await makeLayer({ "bin/x": "x" });
    const oci = await ociLayoutArchive({
      layers: [l],
      annotations: { "org.opencontainers.image.ref.name": "example.com/x:2" },
      prefix: "./",
    });
    const report = await loadArchive(dst, stream(oci.tar), { tmpDir: tmp });
    expect(report.messages).toEqual(["Loaded image: example.com/x:2"]);
  });

  it("picks the host platform from a multi-platform OCI index; a bare tag in ref.name names nothing", async () => {
    const l = await makeLayer({ "bin/x": "x" });
    const oci = await ociLayoutArchive({
      layers: [l],
      annotations: { "org.opencontainers.image.ref.name": "latest" },
      platforms: [
        { os: "linux", architecture: "arm64", cmd: ["arm"] },
        { os: "linux", architecture: "amd64", cmd: ["amd"] },
      ],
    });
    const report = await loadArchive(dst, stream(oci.tar), {
      tmpDir: tmp,
      platform: { os: "linux", architecture: "amd64" },
    });
    expect(report.images).toEqual([{ id: oci.configs[1], tags: [] }]);
    expect(dst.get(oci.configs[1]!)!.config.config?.Cmd).toEqual(["amd"]);
    expect(dst.get(oci.configs[0]!)).toBeUndefined();
  });

  it("refuses a windows image and an archive with no manifest, storing nothing", async () => {
    const l = await makeLayer({ x: "x" });
    const cfg = makeConfig([l], ["x"], "windows");
    const win = await tarBytes([
      { name: "c.json", data: cfg },
      { name: "l.tar", data: l.tar },
      {
        name: "manifest.json",
        data: JSON.stringify([{ Config: "c.json", RepoTags: ["w:1"], Layers: ["l.tar"] }]),
      },
    ]);
    await expect(loadArchive(dst, stream(win), { tmpDir: tmp })).rejects.toThrow(
      /operating system "windows"/,
    );
    const none = await tarBytes([{ name: "hello.txt", data: "hi" }]);
    await expect(loadArchive(dst, stream(none), { tmpDir: tmp })).rejects.toThrow(
      /neither manifest.json .* nor index.json/,
    );
    expect(dst.list()).toEqual([]);
    expect(await dst.content.list()).toEqual([]);
    expect(await readdir(tmp)).toEqual([]);
  });

  it("verifies layers inspected while unpacking and, when a first chunk is too short to tell, in a second pass", async () => {
    const l = await makeLayer({ "etc/motd": "two passes" });
    const cfg = makeConfig([l]);
    const entries = [
      { name: "layer.tar", data: l.tar },
      { name: "c.json", data: cfg },
      {
        name: "manifest.json",
        data: JSON.stringify([{ Config: "c.json", RepoTags: ["two:1"], Layers: ["layer.tar"] }]),
      },
    ];
    const bytes = await tarBytes(entries);
    const inspected = async (chunk?: number) => {
      const dir = await mkdtemp(join(base, "x-"));
      return (await ArchiveDir.extract(stream(bytes, chunk), dir)).resolve("layer.tar").layer;
    };
    expect(await inspected()).toMatchObject({ diffId: l.diffId, compression: "none", bytes: 10 });
    expect(await inspected(600)).toBeUndefined();
    // 600-byte chunks: the layer's first data chunk is 88 bytes, too short to recognise a tar.
    expect((await loadArchive(dst, stream(bytes, 600), { tmpDir: tmp })).messages).toEqual([
      "Loaded image: two:1",
    ]);
    await dst.remove("two:1");
    const bad = await makeLayer({ "etc/motd": "other" });
    const wrong = await tarBytes([{ name: "layer.tar", data: bad.tar }, ...entries.slice(1)]);
    await expect(loadArchive(dst, stream(wrong, 600), { tmpDir: tmp })).rejects.toThrow(
      /invalid diffID for layer 0/,
    );
    await expect(loadArchive(dst, stream(wrong), { tmpDir: tmp })).rejects.toThrow(
      /invalid diffID for layer 0/,
    );
    expect(dst.list()).toEqual([]);
  });

  it("streams: a 64 MiB layer loads through a small-chunk stream", async () => {
    const big = Buffer.alloc(64 * 1024 * 1024, 7);
    const t = await tarBytes([{ name: "big.bin", data: big }]);
    const layer = { tar: t, gz: Buffer.alloc(0), diffId: sha(t) };
    const cfg = makeConfig([layer]);
    const archive = await tarBytes([
      { name: "c.json", data: cfg },
      { name: "l.tar", data: t },
      {
        name: "manifest.json",
        data: JSON.stringify([{ Config: "c.json", RepoTags: ["big:1"], Layers: ["l.tar"] }]),
      },
    ]);
    const report = await loadArchive(dst, Readable.from([archive]), { tmpDir: tmp });
    expect(report.messages).toEqual(["Loaded image: big:1"]);
    expect(dst.resolve("big:1").size).toBe(big.length);
  });
});
