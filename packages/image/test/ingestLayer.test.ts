import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { applyLayer } from "@berth/archive";
import { type Digest, sha256 } from "@berth/oci";
import { build } from "tsup";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ContentStore, ingestLayer, layerDiffId, layerWorkerUrl } from "../src/index.ts";
import { tarBytes } from "./archiveFixtures.ts";

const isRoot = process.getuid?.() === 0;
let bundleDir: string;
let root: string;
let content: ContentStore;
const savedEnv = process.env.BERTH_LAYER_WORKER;

// The worker runs bundled, as in berthd: build the entry the daemon's tsup config ships.
beforeAll(async () => {
  bundleDir = await mkdtemp(join(tmpdir(), "berth-layer-worker-"));
  await build({
    config: false,
    entry: { "layer-worker": join(import.meta.dirname, "../src/layerWorker.ts") },
    outDir: bundleDir,
    format: ["esm"],
    platform: "node",
    target: "node20",
    silent: true,
    noExternal: [/./],
    banner: {
      js: 'import { createRequire as __berthRequire } from "node:module"; const require = __berthRequire(import.meta.url);',
    },
    esbuildOptions(options) {
      options.conditions = ["source"];
    },
  });
}, 60_000);
afterAll(async () => {
  if (savedEnv === undefined) delete process.env.BERTH_LAYER_WORKER;
  else process.env.BERTH_LAYER_WORKER = savedEnv;
  await rm(bundleDir, { recursive: true, force: true });
});
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "berth-ingest-layer-"));
  content = await ContentStore.open(root);
  return () => rm(root, { recursive: true, force: true });
});

/** A gzip layer of several MiB (many chunks), with a directory, a symlink and an opaque dir. */
async function layer(opts: { opaque?: boolean } = {}) {
  const big = Buffer.alloc(3 * 1024 * 1024 + 17);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
  const tarred = await tarBytes([
    { type: "dir", name: "etc" },
    { name: "etc/hosts", data: "127.0.0.1 localhost\n" },
    { name: "data/big", data: big },
    { type: "symlink", name: "link", target: "/etc/hosts" },
    ...(opts.opaque
      ? [
          { type: "dir" as const, name: "keep" },
          { name: "keep/.wh..wh..opq", data: "" },
          { name: "keep/mine", data: "x" },
        ]
      : []),
  ]);
  // Padding after the end-of-archive blocks is part of the diff ID.
  const withPadding = Buffer.concat([tarred, Buffer.alloc(4096)]);
  const gz = gzipSync(withPadding);
  return {
    gz,
    digest: sha256(gz),
    diffId: sha256(withPadding),
    bytes: big.length + 20 + (opts.opaque ? 1 : 0),
  };
}

/**
 * Feeds `bytes` in 64 KiB chunks, as a socket does: slices of one buffer, or (`own`) each chunk
 * in its own memory, as the HTTP parser hands out body chunks.
 */
function chunked(bytes: Buffer, own = false): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 65536) {
    const part = bytes.subarray(i, i + 65536);
    parts.push(own ? Buffer.from(part) : part);
  }
  return Readable.from(parts);
}

for (const mode of ["worker", "in-thread"] as const) {
  describe(`ingestLayer (${mode})`, () => {
    beforeEach(() => {
      process.env.BERTH_LAYER_WORKER = mode === "worker" ? join(bundleDir, "layer-worker.js") : "0";
      expect(layerWorkerUrl() !== undefined).toBe(mode === "worker");
    });

    it("stores the blob, checks the diff ID (padding included) and extracts the layer in one pass", async () => {
      const l = await layer();
      const dir = join(root, "unpack", "fs");
      const r = await ingestLayer(content, chunked(l.gz), {
        expected: l.digest,
        size: l.gz.length,
        diffId: l.diffId,
        unpack: { dir, lowerDirs: async () => [] },
      });
      expect(r).toEqual({ digest: l.digest, size: l.gz.length, diffId: l.diffId, bytes: l.bytes });
      expect(await content.readBytes(l.digest, 1 << 30)).toEqual(l.gz);
      expect((await lstat(content.blobPath(l.digest))).mode & 0o777).toBe(0o444);
      expect(await readFile(join(dir, "etc/hosts"), "utf8")).toBe("127.0.0.1 localhost\n");
      expect((await lstat(join(dir, "data/big"))).size).toBe(3 * 1024 * 1024 + 17);
      expect(await readlink(join(dir, "link"))).toBe("/etc/hosts");
      // The measurement agrees with the store's own reader of the same blob.
      const m = await layerDiffId(await content.readStream(l.digest));
      expect({ diffId: m.diffId, bytes: m.bytes }).toEqual({ diffId: l.diffId, bytes: l.bytes });
      expect(await readdir(content.ingestDir)).toEqual([]);
    });

    it("takes chunks each in its own memory (HTTP body chunks) as well as slices of one buffer", async () => {
      const l = await layer();
      const dir = join(root, "own", "fs");
      const r = await ingestLayer(content, chunked(l.gz, true), {
        expected: l.digest,
        size: l.gz.length,
        diffId: l.diffId,
        unpack: { dir, lowerDirs: async () => [] },
      });
      expect(r.bytes).toBe(l.bytes);
      expect(await content.readBytes(l.digest, 1 << 30)).toEqual(l.gz);
      expect((await lstat(join(dir, "data/big"))).size).toBe(3 * 1024 * 1024 + 17);
    });

    it("without an unpack dir, only stores and measures, reporting its progress", async () => {
      const l = await layer();
      const seen: number[] = [];
      const r = await ingestLayer(content, chunked(l.gz), {
        expected: l.digest,
        size: l.gz.length,
        diffId: l.diffId,
        onBytes: (n) => seen.push(n),
      });
      expect(r.bytes).toBe(l.bytes);
      expect(seen.length).toBe(Math.ceil(l.gz.length / 65536));
      expect(seen.at(-1)).toBe(l.gz.length);
      expect(await content.has(l.digest)).toBe(true);
    });

    it("a tampered blob stores nothing and is reported as a digest mismatch", async () => {
      const l = await layer();
      const bad = Buffer.from(l.gz);
      bad[bad.length >> 1]! ^= 0xff;
      await expect(
        ingestLayer(content, chunked(bad), {
          expected: l.digest,
          size: l.gz.length,
          diffId: l.diffId,
          unpack: { dir: join(root, "u"), lowerDirs: async () => [] },
        }),
      ).rejects.toMatchObject({
        _tag: "FailedPrecondition",
        message: expect.stringMatching(/unexpected commit digest/),
      });
      expect(await content.list()).toEqual([]);
      expect(await readdir(content.ingestDir)).toEqual([]);
    });

    it("a blob longer than its size stops with a size error and stores nothing", async () => {
      const l = await layer();
      await expect(
        ingestLayer(content, chunked(l.gz), { expected: l.digest, size: l.gz.length - 1, diffId: l.diffId }),
      ).rejects.toMatchObject({ _tag: "FailedPrecondition", message: expect.stringMatching(/size/) });
      expect(await content.list()).toEqual([]);
    });

    it("a blob whose tar does not match the config's diff ID stores nothing", async () => {
      const l = await layer();
      const lie = sha256("another layer") as Digest;
      await expect(
        ingestLayer(content, chunked(l.gz), { expected: l.digest, size: l.gz.length, diffId: lie }),
      ).rejects.toMatchObject({
        _tag: "FailedPrecondition",
        message: expect.stringMatching(/diff ID mismatch/),
      });
      expect(await content.list()).toEqual([]);
    });

    it("a blob that is not a tar is refused (InvalidArgument) and stores nothing", async () => {
      const gz = gzipSync(Buffer.alloc(2048, 7));
      await expect(
        ingestLayer(content, chunked(gz), {
          expected: sha256(gz),
          size: gz.length,
          diffId: sha256(Buffer.alloc(2048, 7)),
          unpack: { dir: join(root, "u"), lowerDirs: async () => [] },
        }),
      ).rejects.toMatchObject({ _tag: "InvalidArgument" });
      expect(await content.list()).toEqual([]);
    });

    it("takes an uncompressed layer blob as it is (its digest is its diff ID)", async () => {
      const tarred = await tarBytes([{ name: "plain", data: Buffer.alloc(200_000, 3) }]);
      const dir = join(root, "plain", "fs");
      const r = await ingestLayer(content, chunked(tarred), {
        expected: sha256(tarred),
        size: tarred.length,
        diffId: sha256(tarred),
        unpack: { dir, lowerDirs: async () => [] },
      });
      expect(r.bytes).toBe(200_000);
      expect(await readFile(join(dir, "plain"))).toEqual(Buffer.alloc(200_000, 3));
    });

    it("takes a blob of several gzip members (one tar) as zlib's gunzip does", async () => {
      const tarred = await tarBytes([
        { name: "a", data: "first " },
        { name: "b", data: "second" },
      ]);
      const cut = 1024 + 37;
      const gz = Buffer.concat([gzipSync(tarred.subarray(0, cut)), gzipSync(tarred.subarray(cut))]);
      const dir = join(root, "members", "fs");
      const r = await ingestLayer(content, chunked(gz), {
        expected: sha256(gz),
        size: gz.length,
        diffId: sha256(tarred),
        unpack: { dir, lowerDirs: async () => [] },
      });
      expect(r.bytes).toBe(12);
      expect(await readFile(join(dir, "b"), "utf8")).toBe("second");
    });

    it("takes a layer that expands a thousandfold (the gunzip waits for the tar side)", async () => {
      const tarred = await tarBytes([{ name: "zeros", data: Buffer.alloc(48 * 1024 * 1024) }]);
      const gz = gzipSync(tarred);
      expect(gz.length).toBeLessThan(100 * 1024);
      const dir = join(root, "zeros", "fs");
      const r = await ingestLayer(content, chunked(gz), {
        expected: sha256(gz),
        size: gz.length,
        diffId: sha256(tarred),
        unpack: { dir, lowerDirs: async () => [] },
      });
      expect(r.bytes).toBe(48 * 1024 * 1024);
      expect((await lstat(join(dir, "zeros"))).size).toBe(48 * 1024 * 1024);
    });

    it("extracts a tar whose first bytes look like another compression once, as a direct extraction does", async () => {
      // The first entry's name starts with bzip2's magic "BZh": the tar must not be taken for a
      // bzip2 stream after the gunzip (a direct applyLayer of the blob extracts it).
      const tarred = await tarBytes([
        { name: "BZh91AY", data: "not bzip2" },
        { name: "big", data: Buffer.alloc(3 * 1024 * 1024, 5) },
      ]);
      const gz = gzipSync(tarred);
      await mkdir(join(root, "direct"));
      const direct = await applyLayer(join(root, "direct"), Readable.from([gz]), { whiteouts: "none" });
      const dir = join(root, "magic", "fs");
      const r = await ingestLayer(content, chunked(gz), {
        expected: sha256(gz),
        size: gz.length,
        diffId: sha256(tarred),
        unpack: { dir, lowerDirs: async () => [] },
      });
      expect(r.bytes).toBe(direct.bytes);
      expect(await readFile(join(dir, "BZh91AY"), "utf8")).toBe("not bzip2");
      expect((await lstat(join(dir, "big"))).size).toBe(3 * 1024 * 1024);
      // Measured only (no unpack dir): the same diff ID check passes.
      await content.delete(sha256(gz));
      const m = await ingestLayer(content, chunked(gz), {
        expected: sha256(gz),
        size: gz.length,
        diffId: sha256(tarred),
      });
      expect(m.bytes).toBe(direct.bytes);
    });

    it("a gzip blob with a bad checksum is refused as a direct extraction refuses it, storing nothing", async () => {
      const l = await layer();
      const bad = Buffer.from(l.gz);
      bad[bad.length - 8]! ^= 0xff; // the gzip trailer's CRC-32
      await mkdir(join(root, "direct"));
      const direct = await applyLayer(join(root, "direct"), Readable.from([bad]), { whiteouts: "none" }).then(
        () => undefined,
        (err: unknown) => err as Error,
      );
      expect(direct).toBeDefined();
      await expect(
        ingestLayer(content, chunked(bad), {
          expected: sha256(bad),
          size: bad.length,
          diffId: l.diffId,
          unpack: { dir: join(root, "u"), lowerDirs: async () => [] },
        }),
      ).rejects.toMatchObject({ _tag: "InvalidArgument", message: direct!.message });
      expect(await content.list()).toEqual([]);
      expect(await readdir(content.ingestDir)).toEqual([]);
    });

    it.skipIf(!isRoot)("asks for the lower dirs at the end of a layer with an opaque directory", async () => {
      const lower = join(root, "lower");
      const ll = await layer();
      await ingestLayer(content, chunked(ll.gz), {
        expected: ll.digest,
        size: ll.gz.length,
        diffId: ll.diffId,
        unpack: { dir: lower, lowerDirs: async () => [] },
      });
      const { writeFile } = await import("node:fs/promises");
      await mkdir(join(lower, "keep"));
      await writeFile(join(lower, "keep/old"), "old");
      const l = await layer({ opaque: true });
      let asked = 0;
      const dir = join(root, "upper");
      await ingestLayer(content, chunked(l.gz), {
        expected: l.digest,
        size: l.gz.length,
        diffId: l.diffId,
        unpack: {
          dir,
          lowerDirs: async () => {
            asked++;
            return [lower];
          },
        },
      });
      expect(asked).toBe(1);
      const wh = await lstat(join(dir, "keep/old"));
      expect(wh.isCharacterDevice() && wh.rdev === 0).toBe(true);
      expect(await readFile(join(dir, "keep/mine"), "utf8")).toBe("x");
    });

    it("an aborted ingest is Canceled and leaves no ingest behind", async () => {
      const l = await layer();
      const ac = new AbortController();
      const slow = Readable.from(
        (async function* () {
          yield l.gz.subarray(0, 65536);
          ac.abort();
          await new Promise((r) => setTimeout(r, 50));
          yield l.gz.subarray(65536);
        })(),
      );
      await expect(
        ingestLayer(content, slow, {
          expected: l.digest,
          size: l.gz.length,
          diffId: l.diffId,
          signal: ac.signal,
        }),
      ).rejects.toMatchObject({ _tag: "Canceled" });
      expect(await content.list()).toEqual([]);
      expect(await readdir(content.ingestDir)).toEqual([]);
    });
  });
}
