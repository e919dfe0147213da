import { execFileSync, spawnSync } from "node:child_process";
import { createReadStream, readFileSync } from "node:fs";
import { lstat, mkdir, mkdtemp, readdir, rm, rmdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { applyLayer, decompress } from "@berth/archive";
import { ContentStore, ImageStore, SnapshotStore } from "@berth/image";
import { Runtime } from "@berth/runtime";
import * as tar from "tar-stream";
import { afterAll, beforeAll } from "vitest";
import { BuildCache, type BuildDeps, type BuildOptions, type BuildProgress, build } from "../src/index.ts";

export const repo = resolve(import.meta.dirname, "../../..");

/** canBuild: the builder's integration tests need root, runc and conmon (and whatever `extra` names). */
export function canBuild(...extra: string[]): boolean {
  if (process.getuid?.() !== 0) return false;
  return ["runc", "conmon", ...extra].every((t) => spawnSync(t, ["--version"]).status === 0);
}

/** The stores, runtime and helpers of one test file's builds (see {@link useBuildFixture}). */
export interface BuildFixture {
  tmp: string;
  deps: BuildDeps;
  images: ImageStore;
  content: ContentStore;
  cache: BuildCache | undefined;
  /** context writes a build context directory from a map of relative paths to contents. */
  context(name: string, files: Record<string, string>): Promise<string>;
  /** run builds and collects the progress events and the classic output stream. */
  run(
    opts: BuildOptions,
  ): Promise<Awaited<ReturnType<typeof build>> & { events: BuildProgress[]; output: string }>;
  /** unpack applies every layer of an image (OCI whiteouts) into a fresh directory. */
  unpack(imageId: string): Promise<string>;
  /** layerNames lists the entry names of a stored layer blob. */
  layerNames(digest: string): Promise<string[]>;
  exists(path: string): Promise<boolean>;
}

/**
 * useBuildFixture gives a test file real stores under a short temp dir (conmon's attach socket path
 * must fit in 107 bytes) with `busybox:latest` imported from the busybox fixture, a runtime, and a
 * cgroup parent of its own; afterAll unmounts, removes the cgroups and deletes everything.
 */
export function useBuildFixture(o: { prefix: string; cache?: boolean }): BuildFixture {
  const cgroupParent = `/berth-${o.prefix}-test-${process.pid}`;
  const f = { cache: undefined } as unknown as BuildFixture;
  beforeAll(async () => {
    f.tmp = await mkdtemp(join(tmpdir(), `${o.prefix}-`));
    const bbTar = join(f.tmp, "busybox.tar");
    execFileSync(join(repo, "test-fixtures/busybox/make-rootfs.sh"), [bbTar]);
    const root = join(f.tmp, "store");
    f.content = await ContentStore.open(root);
    f.images = await ImageStore.open({ root, content: f.content });
    const snapshots = await SnapshotStore.open({ root, content: f.content });
    await f.images.importRootfs(createReadStream(bbTar), { ref: "busybox:latest" });
    const runtime = new Runtime({ stateRoot: join(f.tmp, "rt"), logger: { warn: () => {} } });
    if (o.cache) f.cache = await BuildCache.open(root, f.content);
    f.deps = {
      images: f.images,
      snapshots,
      content: f.content,
      runtime,
      root,
      workDir: join(f.tmp, "w"),
      cgroupParent,
      ...(f.cache ? { cache: f.cache } : {}),
    };
  });
  afterAll(async () => {
    for (const ctrl of await readdir("/sys/fs/cgroup").catch(() => [] as string[])) {
      await rmdir(join("/sys/fs/cgroup", ctrl, cgroupParent)).catch(() => {});
    }
    if (!f.tmp) return;
    // The background sync of adopted step snapshots rewrites their meta files: let it finish.
    await f.deps?.snapshots.synced();
    for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
      const mp = line.split(" ")[4];
      if (mp?.startsWith(f.tmp)) spawnSync("umount", ["-l", mp]);
    }
    await rm(f.tmp, { recursive: true, force: true });
  });
  f.context = async (name, files) => {
    const dir = join(f.tmp, "ctx", name);
    for (const [rel, data] of Object.entries(files)) {
      await mkdir(join(dir, rel, ".."), { recursive: true });
      await writeFile(join(dir, rel), data);
    }
    await mkdir(dir, { recursive: true });
    return dir;
  };
  f.run = async (opts) => {
    const events: BuildProgress[] = [];
    const r = await build(opts, f.deps, (e) => events.push(e));
    return { ...r, events, output: events.map((e) => e.stream).join("") };
  };
  f.unpack = async (imageId) => {
    const rec = f.images.resolve(imageId);
    const dir = await mkdtemp(join(f.tmp, "unpacked-"));
    for (const l of rec.layers) await applyLayer(dir, await f.content.readStream(l.digest));
    return dir;
  };
  f.layerNames = async (digest) => {
    const { stream } = await decompress(await f.content.readStream(digest));
    const ex = tar.extract();
    stream.pipe(ex);
    const names: string[] = [];
    for await (const e of ex as unknown as AsyncIterable<{ header: { name: string }; resume(): void }>) {
      names.push(e.header.name);
      e.resume();
    }
    return names;
  };
  f.exists = (p) =>
    lstat(p).then(
      () => true,
      () => false,
    );
  return f;
}
