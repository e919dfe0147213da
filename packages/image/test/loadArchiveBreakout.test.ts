/**
 * Hostile `docker load` archives: path escapes (../, absolute, symlinks), devices, digest and
 * diff ID mismatches, truncation. Each is refused, nothing is stored, and nothing is written
 * outside the load's temp dir.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ArchiveDir, ImageStore, loadArchive, memberName } from "../src/index.ts";
import {
  type Entry,
  hex,
  makeConfig,
  makeLayer,
  ociLayoutArchive,
  sha,
  stream,
  tarBytes,
} from "./archiveFixtures.ts";

let base: string;
let store: ImageStore;
let tmp: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "berth-load-hostile-"));
  store = await ImageStore.open({ root: join(base, "store") });
  tmp = join(base, "tmp");
  await mkdir(tmp);
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

/** A valid one-image docker archive's entries, to which a case adds or changes entries. */
async function validEntries(): Promise<{ entries: Entry[]; configHex: string; layerTar: Buffer }> {
  const l = await makeLayer({ "etc/motd": "hi" });
  const cfg = makeConfig([l]);
  return {
    configHex: hex(cfg),
    layerTar: l.tar,
    entries: [
      { name: `blobs/sha256/${hex(cfg)}`, data: cfg },
      { name: `blobs/sha256/${hex(l.tar)}`, data: l.tar },
      {
        name: "manifest.json",
        data: JSON.stringify([
          {
            Config: `blobs/sha256/${hex(cfg)}`,
            RepoTags: ["evil:1"],
            Layers: [`blobs/sha256/${hex(l.tar)}`],
          },
        ]),
      },
    ],
  };
}

async function expectRefused(bytes: Buffer, message: RegExp): Promise<void> {
  await expect(loadArchive(store, stream(bytes), { tmpDir: tmp })).rejects.toThrow(message);
  expect(store.list()).toEqual([]);
  expect(await store.content.list()).toEqual([]);
  expect(await readdir(tmp)).toEqual([]);
  expect(await readdir(base)).toEqual(["store", "tmp"]);
}

describe("memberName", () => {
  it("cleans ./ and slashes, refuses absolute and .. names", () => {
    expect(memberName("./blobs//sha256/x/")).toBe("blobs/sha256/x");
    expect(memberName(".")).toBe("");
    expect(() => memberName("/etc/passwd")).toThrow(/absolute path/);
    expect(() => memberName("a/../../x")).toThrow(/escapes the archive/);
    expect(() => memberName("..")).toThrow(/escapes the archive/);
  });
});

describe("loadArchive refuses hostile archives and stores nothing", () => {
  it("an entry with ../ in its name", async () => {
    const { entries } = await validEntries();
    await expectRefused(
      await tarBytes([{ name: "../escaped", data: "x" }, ...entries]),
      /path escapes the archive/,
    );
    expect(existsSync(join(base, "escaped"))).toBe(false);
  });

  it("an entry with an absolute name", async () => {
    const { entries } = await validEntries();
    await expectRefused(
      await tarBytes([...entries, { name: `/${base.slice(1)}/abs`, data: "x" }]),
      /absolute path/,
    );
    expect(existsSync(join(base, "abs"))).toBe(false);
  });

  it("a symlink pointing outside, then a file written through it", async () => {
    const { entries } = await validEntries();
    await expectRefused(
      await tarBytes([
        { type: "symlink", name: "out", target: "../../.." },
        { name: "out/pwned", data: "x" },
        ...entries,
      ]),
      /points outside the archive/,
    );
  });

  it("an absolute symlink", async () => {
    const { entries } = await validEntries();
    await expectRefused(
      await tarBytes([...entries, { type: "symlink", name: "etc", target: "/etc" }]),
      /points outside the archive/,
    );
  });

  it("manifest.json whose layer path climbs out of the archive through a nested symlink chain", async () => {
    const { entries, configHex } = await validEntries();
    const chained: Entry[] = [
      ...entries.filter((e) => e.name !== "manifest.json"),
      { type: "dir", name: "a/" },
      { type: "symlink", name: "a/up", target: ".." },
      {
        name: "manifest.json",
        data: JSON.stringify([
          { Config: `blobs/sha256/${configHex}`, RepoTags: ["evil:1"], Layers: ["a/up/../../etc/passwd"] },
        ]),
      },
    ];
    await expectRefused(await tarBytes(chained), /leaves the archive/);
  });

  it("manifest.json with an absolute layer path", async () => {
    const { entries, configHex } = await validEntries();
    const abs: Entry[] = [
      ...entries.filter((e) => e.name !== "manifest.json"),
      {
        name: "manifest.json",
        data: JSON.stringify([
          { Config: `blobs/sha256/${configHex}`, RepoTags: ["e:1"], Layers: ["/etc/passwd"] },
        ]),
      },
    ];
    await expectRefused(await tarBytes(abs), /absolute path/);
  });

  it("a hard link to a file that is not in the archive", async () => {
    const { entries } = await validEntries();
    await expectRefused(
      await tarBytes([...entries, { type: "link", name: "pw", target: "../../etc/passwd" }]),
      /escapes the archive/,
    );
  });

  it("a device or FIFO entry", async () => {
    const { entries } = await validEntries();
    await expectRefused(
      await tarBytes([...entries, { type: "fifo", name: "fifo" }]),
      /unsupported type fifo/,
    );
  });

  it("a blob whose bytes do not match its name", async () => {
    const { entries, layerTar } = await validEntries();
    const tampered = entries.map((e) =>
      e.name === `blobs/sha256/${hex(layerTar)}`
        ? { ...e, data: Buffer.concat([layerTar, Buffer.alloc(512)]) }
        : e,
    );
    await expectRefused(await tarBytes(tampered), /does not match its digest/);
  });

  it("a layer whose content does not match the config's diff ID", async () => {
    const other = await makeLayer({ "etc/motd": "tampered" });
    const l = await makeLayer({ "etc/motd": "hi" });
    const cfg = makeConfig([l]);
    await expectRefused(
      await tarBytes([
        { name: "c.json", data: cfg },
        { name: "layer.tar", data: other.tar },
        {
          name: "manifest.json",
          data: JSON.stringify([{ Config: "c.json", RepoTags: ["e:1"], Layers: ["layer.tar"] }]),
        },
      ]),
      /invalid diffID for layer 0/,
    );
  });

  it("a manifest.json of the wrong shape", async () => {
    const l = await makeLayer({ "etc/motd": "hi" });
    const cfg = makeConfig([l]);
    const files: Entry[] = [
      { name: "c.json", data: cfg },
      { name: "layer.tar", data: l.tar },
    ];
    for (const [manifest, message] of [
      [{ Config: "c.json" }, /manifest.json is not a JSON array/],
      [[{ Config: "c.json" }], /needs a Config path and a Layers array/],
      [[{ Config: "c.json", RepoTags: "e:1", Layers: ["layer.tar"] }], /RepoTags is not an array/],
      [
        [{ Config: "c.json", RepoTags: ["e@sha256:" + "a".repeat(64)], Layers: ["layer.tar"] }],
        /invalid tag/,
      ],
      [[{ Config: "c.json", RepoTags: ["e:1"], Layers: [] }], /lists 0 layers, its config has 1 diff_ids/],
      [[{ Config: "missing.json", RepoTags: ["e:1"], Layers: ["layer.tar"] }], /not a file in the archive/],
    ] as const) {
      await expectRefused(
        await tarBytes([...files, { name: "manifest.json", data: JSON.stringify(manifest) }]),
        message as RegExp,
      );
    }
  });

  it("a config whose name is not its digest", async () => {
    const l = await makeLayer({ "etc/motd": "hi" });
    const cfg = makeConfig([l]);
    const wrong = "0".repeat(64);
    await expectRefused(
      await tarBytes([
        { name: `${wrong}.json`, data: cfg },
        { name: "layer.tar", data: l.tar },
        {
          name: "manifest.json",
          data: JSON.stringify([{ Config: `${wrong}.json`, RepoTags: ["e:1"], Layers: ["layer.tar"] }]),
        },
      ]),
      /does not match its name/,
    );
  });

  it("a second image that fails verification keeps the first one out too", async () => {
    const good = await makeLayer({ a: "a" });
    const bad = await makeLayer({ b: "b" });
    const goodCfg = makeConfig([good]);
    const badCfg = makeConfig([bad]);
    await expectRefused(
      await tarBytes([
        { name: "g.json", data: goodCfg },
        { name: "g.tar", data: good.tar },
        { name: "b.json", data: badCfg },
        { name: "b.tar", data: good.tar },
        {
          name: "manifest.json",
          data: JSON.stringify([
            { Config: "g.json", RepoTags: ["good:1"], Layers: ["g.tar"] },
            { Config: "b.json", RepoTags: ["bad:1"], Layers: ["b.tar"] },
          ]),
        },
      ]),
      /invalid diffID/,
    );
  });

  it("an OCI layout whose descriptor size lies", async () => {
    const l = await makeLayer({ "bin/x": "x" });
    const oci = await ociLayoutArchive({
      layers: [l],
      annotations: { "io.containerd.image.name": "docker.io/library/x:1" },
    });
    // Rewrite index.json so the manifest descriptor claims one byte more.
    const tar = await import("tar-stream");
    const ex = tar.extract();
    const entries: Entry[] = [];
    const done = (async () => {
      for await (const e of ex) {
        const parts: Buffer[] = [];
        for await (const c of e) parts.push(c as Buffer);
        let data = Buffer.concat(parts);
        if (e.header.name === "index.json") {
          const idx = JSON.parse(data.toString());
          idx.manifests[0].size += 1;
          data = Buffer.from(JSON.stringify(idx));
        }
        entries.push({ name: e.header.name, data });
      }
    })();
    ex.end(oci.tar);
    await done;
    await expectRefused(await tarBytes(entries), /its descriptor says/);
  });

  it("a truncated archive (cut inside the layer)", async () => {
    const { entries } = await validEntries();
    const whole = await tarBytes(entries);
    await expectRefused(whole.subarray(0, 1700), /invalid archive: unexpected end of data/i);
  });

  it("a truncated gzip stream", async () => {
    const { gzipSync } = await import("node:zlib");
    const { entries } = await validEntries();
    const gz = gzipSync(await tarBytes(entries));
    await expectRefused(gz.subarray(0, gz.length - 20), /invalid archive: unexpected end of file/i);
  });
});

describe("ArchiveDir", () => {
  it("writes only generated names into its directory and resolves relative symlinks inside the archive", async () => {
    const dir = join(base, "x");
    await mkdir(dir);
    const data = "payload";
    const a = await ArchiveDir.extract(
      stream(
        await tarBytes([
          { type: "dir", name: "one/" },
          { name: "one/layer.tar", data },
          { type: "dir", name: "two/" },
          { type: "symlink", name: "two/layer.tar", target: "../one/layer.tar" },
          { type: "symlink", name: "three", target: "two" },
        ]),
      ),
      dir,
    );
    expect(await readdir(dir)).toEqual(["f2"]);
    expect(a.resolve("three/layer.tar").digest).toBe(sha(data));
    expect(a.resolve("three/layer.tar").layer).toBeUndefined(); // not a tar: not inspected
    expect(a.resolve("two/../one/layer.tar").digest).toBe(sha(data));
    expect(() => a.resolve("two/../../x")).toThrow(/leaves the archive/);
    expect(() => a.resolve("one/missing")).toThrow(/not a file in the archive/);
  });

  it("refuses symlink loops", async () => {
    const dir = join(base, "y");
    await mkdir(dir);
    const a = await ArchiveDir.extract(
      stream(
        await tarBytes([
          { type: "symlink", name: "a", target: "b" },
          { type: "symlink", name: "b", target: "a" },
        ]),
      ),
      dir,
    );
    expect(() => a.resolve("a/x")).toThrow(/too many levels/);
  });
});
