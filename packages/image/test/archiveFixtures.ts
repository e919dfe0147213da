/**
 * Declarative tar fixtures for archive tests: an archive is a table of entries (file, dir,
 * symlink, link), never a checked-in binary.
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import * as tar from "tar-stream";

/** One entry of a fixture tar. */
export type Entry =
  | { type?: "file"; name: string; data: string | Buffer }
  | { type: "dir"; name: string }
  | { type: "symlink"; name: string; target: string }
  | { type: "link"; name: string; target: string }
  | { type: "fifo"; name: string };

/** tarBytes packs the entries, in order, into an uncompressed tar. */
export async function tarBytes(entries: readonly Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((res, rej) => {
    pack.on("data", (c) => chunks.push(c as Buffer));
    pack.on("end", () => res());
    pack.on("error", rej);
  });
  for (const e of entries) {
    const base = { name: e.name, mtime: new Date(0), uid: 0, gid: 0 };
    if (e.type === undefined || e.type === "file") {
      await new Promise<void>((res, rej) =>
        pack.entry({ ...base, mode: 0o644 }, Buffer.from(e.data), (err) => (err ? rej(err) : res())),
      );
    } else if (e.type === "dir") pack.entry({ ...base, type: "directory", mode: 0o755 });
    else if (e.type === "symlink") pack.entry({ ...base, type: "symlink", linkname: e.target, mode: 0o777 });
    else if (e.type === "link") pack.entry({ ...base, type: "link", linkname: e.target, mode: 0o644 });
    else pack.entry({ ...base, type: "fifo", mode: 0o644 });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** sha returns `sha256:<hex>` of the bytes. */
export const sha = (b: Buffer | string): `sha256:${string}` =>
  `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** hex returns the hex of the sha256 of the bytes. */
export const hex = (b: Buffer | string): string => sha(b).slice(7);

/** A layer made from file entries: its tar bytes and diff ID. */
export interface FixtureLayer {
  tar: Buffer;
  gz: Buffer;
  diffId: `sha256:${string}`;
}

/** makeLayer makes a layer tar from `files` (name -> content). */
export async function makeLayer(files: Record<string, string>): Promise<FixtureLayer> {
  const t = await tarBytes(Object.entries(files).map(([name, data]) => ({ name, data })));
  return { tar: t, gz: gzipSync(t), diffId: sha(t) };
}

/** makeConfig makes an image config JSON for the layers (linux/amd64, Cmd given). */
export function makeConfig(layers: readonly FixtureLayer[], cmd: string[] = ["sh"], os = "linux"): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os,
      created: "2024-01-01T00:00:00Z",
      config: { Cmd: cmd, Env: ["PATH=/bin"] },
      rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
      history: layers.map(() => ({ created: "2024-01-01T00:00:00Z", created_by: "fixture" })),
    }),
  );
}

/**
 * legacyDockerArchive lays out images as docker 1.10-24 saved them: `<v1id>/layer.tar`,
 * `<v1id>/json`, `<v1id>/VERSION`, `<confighex>.json`, `manifest.json`, `repositories`; a layer
 * shared by two images is a symlink to the first copy, as docker writes it.
 */
export async function legacyDockerArchive(
  images: ReadonlyArray<{ layers: FixtureLayer[]; tags: string[]; cmd?: string[] }>,
): Promise<Buffer> {
  const entries: Entry[] = [];
  const manifest: Array<{ Config: string; RepoTags: string[] | null; Layers: string[] }> = [];
  const saved = new Map<string, string>();
  for (const img of images) {
    const config = makeConfig(img.layers, img.cmd);
    entries.push({ name: `${hex(config)}.json`, data: config });
    const paths: string[] = [];
    for (const l of img.layers) {
      const v1 = hex(`${manifest.length}-${l.diffId}-${paths.length}`);
      const first = saved.get(l.diffId);
      entries.push({ type: "dir", name: `${v1}/` });
      entries.push({ name: `${v1}/VERSION`, data: "1.0" });
      entries.push({ name: `${v1}/json`, data: JSON.stringify({ id: v1 }) });
      if (first === undefined) {
        entries.push({ name: `${v1}/layer.tar`, data: l.tar });
        saved.set(l.diffId, v1);
      } else {
        entries.push({ type: "symlink", name: `${v1}/layer.tar`, target: `../${first}/layer.tar` });
      }
      paths.push(`${v1}/layer.tar`);
    }
    manifest.push({
      Config: `${hex(config)}.json`,
      RepoTags: img.tags.length ? img.tags : null,
      Layers: paths,
    });
  }
  entries.push({ name: "manifest.json", data: JSON.stringify(manifest) });
  entries.push({ name: "repositories", data: "{}" });
  return tarBytes(entries);
}

/**
 * ociLayoutArchive makes a plain OCI image layout tar (no manifest.json) with gzip layers, an
 * image index for `platforms` (a nested index when more than one) and the given annotations on
 * the top descriptor.
 */
export async function ociLayoutArchive(opts: {
  layers: FixtureLayer[];
  annotations?: Record<string, string>;
  platforms?: Array<{ os: string; architecture: string; cmd: string[] }>;
  prefix?: string;
  /** Media type of the layers (their bytes are each FixtureLayer's `gz`); default tar+gzip. */
  layerMediaType?: string;
}): Promise<{ tar: Buffer; manifests: Array<`sha256:${string}`>; configs: Array<`sha256:${string}`> }> {
  const blobs = new Map<string, Buffer>();
  const put = (b: Buffer) => {
    blobs.set(hex(b), b);
    return { digest: sha(b), size: b.length };
  };
  const platforms = opts.platforms ?? [{ os: "linux", architecture: "amd64", cmd: ["sh"] }];
  const manifests: Array<{ mediaType: string; digest: string; size: number; platform: object }> = [];
  const configs: Array<`sha256:${string}`> = [];
  for (const p of platforms) {
    const cfg = JSON.parse(makeConfig(opts.layers, p.cmd).toString());
    cfg.architecture = p.architecture;
    cfg.os = p.os;
    const cbytes = Buffer.from(JSON.stringify(cfg));
    const c = put(cbytes);
    configs.push(c.digest);
    const m = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", ...c },
        layers: opts.layers.map((l) => ({
          mediaType: opts.layerMediaType ?? "application/vnd.oci.image.layer.v1.tar+gzip",
          ...put(l.gz),
        })),
      }),
    );
    manifests.push({
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      ...put(m),
      platform: { os: p.os, architecture: p.architecture },
    });
  }
  let top: object;
  if (manifests.length === 1) top = { ...manifests[0]!, annotations: opts.annotations };
  else {
    const nested = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests }),
    );
    top = {
      mediaType: "application/vnd.oci.image.index.v1+json",
      ...put(nested),
      annotations: opts.annotations,
    };
  }
  const pre = opts.prefix ?? "";
  const entries: Entry[] = [
    { name: `${pre}oci-layout`, data: '{"imageLayoutVersion":"1.0.0"}' },
    { name: `${pre}index.json`, data: JSON.stringify({ schemaVersion: 2, manifests: [top] }) },
    ...[...blobs.entries()].map(([h, b]) => ({ name: `${pre}blobs/sha256/${h}`, data: b })),
  ];
  return {
    tar: await tarBytes(entries),
    manifests: manifests.map((m) => m.digest as `sha256:${string}`),
    configs,
  };
}

/** stream wraps bytes as a Readable in small chunks (to exercise chunk boundaries). */
export function stream(b: Buffer, chunk = 7000): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < b.length; i += chunk) parts.push(b.subarray(i, i + chunk));
  return Readable.from(parts);
}
