import { execFileSync } from "node:child_process";
import { createReadStream, readFileSync } from "node:fs";
import { lstat, readdir, readFile, symlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isKind } from "@berth/errdefs";
import { chainIds, type ImageStore, layerDiffId } from "@berth/image";
import { beforeAll, describe, expect, it } from "vitest";
import { FileDigests, RunFailedError } from "../src/index.ts";
import { type BuildFixture, canBuild, useBuildFixture } from "./buildFixture.ts";

describe.skipIf(!canBuild())("build with real runc, conmon and overlayfs", () => {
  const f = useBuildFixture({ prefix: "bb" });
  let tmp: string;
  let images: ImageStore;
  beforeAll(() => {
    ({ tmp, images } = f as BuildFixture);
  });
  const { context, run, unpack, layerNames, exists } = f;

  const mainDockerfile = `FROM busybox
RUN mkdir -p /data && echo hello > /data/a && echo bye > /data/b && rm /etc/group && echo run-output
RUN rm /data/b && rm -rf /etc && mkdir /etc && echo only > /etc/only
ENV GREETING=hi NAME="the world"
WORKDIR /app
COPY . ./
COPY --chown=1:1 --chmod=0600 keep.txt /owned
CMD ["sh", "-c", "echo $GREETING"]
`;

  it("builds RUN, ENV, WORKDIR, COPY and CMD into an image with whiteouts and history", async () => {
    const ctx = await context("main", {
      Dockerfile: mainDockerfile,
      "keep.txt": "keep me\n",
      "ignored.txt": "secret\n",
      "sub/dir/file": "nested\n",
      ".dockerignore": "ignored.txt\n",
    });
    const r = await run({ contextDir: ctx, tags: ["built:one"] });
    expect(r.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(r.tags).toEqual(["built:one"]);
    expect(r.output).toContain("Step 1/8 : FROM busybox");
    expect(r.output).toContain("run-output");
    const rec = images.resolve("built:one");
    const cfg = rec.config.config!;
    // docker's builder gives a base without PATH the default one, first
    expect(cfg.Env).toEqual([
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "GREETING=hi",
      "NAME=the world",
    ]);
    expect(cfg.WorkingDir).toBe("/app");
    expect(cfg.Cmd).toEqual(["sh", "-c", "echo $GREETING"]);
    const hist = rec.config.history!;
    expect(hist.map((h) => h.created_by).slice(1)).toEqual([
      "/bin/sh -c mkdir -p /data && echo hello > /data/a && echo bye > /data/b && rm /etc/group && echo run-output",
      "/bin/sh -c rm /data/b && rm -rf /etc && mkdir /etc && echo only > /etc/only",
      "/bin/sh -c #(nop)  ENV GREETING=hi NAME=the world",
      "/bin/sh -c #(nop) WORKDIR /app",
      expect.stringMatching(/^\/bin\/sh -c #\(nop\) COPY dir:[0-9a-f]{64} in \.\/ $/),
      expect.stringMatching(/^\/bin\/sh -c #\(nop\) COPY file:[0-9a-f]{64} in \/owned $/),
      '/bin/sh -c #(nop)  CMD ["sh" "-c" "echo $GREETING"]',
    ]);
    expect(hist.filter((h) => h.empty_layer !== true)).toHaveLength(rec.layers.length);
    // busybox + 2 RUN + WORKDIR (made /app) + 2 COPY
    expect(rec.layers).toHaveLength(6);

    const secondRun = await layerNames(rec.layers[2]!.digest);
    expect(secondRun).toContain("data/.wh.b");
    expect(secondRun).toContain("etc/.wh..wh..opq");

    const fs = await unpack(r.imageId);
    expect(await readFile(join(fs, "data/a"), "utf8")).toBe("hello\n");
    expect(await exists(join(fs, "data/b"))).toBe(false);
    expect(await readdir(join(fs, "etc"))).toEqual(["only"]);
    expect(await readFile(join(fs, "app/keep.txt"), "utf8")).toBe("keep me\n");
    expect(await readFile(join(fs, "app/sub/dir/file"), "utf8")).toBe("nested\n");
    expect(await exists(join(fs, "app/ignored.txt"))).toBe(false);
    const owned = await lstat(join(fs, "owned"));
    expect([owned.uid, owned.gid, owned.mode & 0o777]).toEqual([1, 1, 0o600]);
  });

  it("reuses every step on a second build and misses from the changed COPY on", async () => {
    const ctx = join(tmp, "ctx", "main");
    const first = await run({ contextDir: ctx, tags: ["built:two"] });
    expect(first.steps.executed).toBe(0);
    expect(first.output).toContain("Using cache");
    expect(first.imageId).toBe(images.resolve("built:one").id);

    // Each build opens the cache index from disk (no deps.cache), so hits survive a restart.
    await writeFile(join(ctx, "keep.txt"), "changed\n");
    const second = await run({ contextDir: ctx });
    expect(second.steps).toEqual({ executed: 3, cached: 4 });
    expect(second.imageId).not.toBe(first.imageId);
    const fs = await unpack(second.imageId);
    expect(await readFile(join(fs, "app/keep.txt"), "utf8")).toBe("changed\n");

    const noCache = await run({ contextDir: ctx, noCache: true });
    expect(noCache.steps.cached).toBe(0);
  });

  it("builds multi-stage with build args, COPY --from and --target", async () => {
    const ctx = await context("multi", {
      Dockerfile: `ARG BASE=busybox
FROM \${BASE} AS build
ARG MSG=default
RUN echo "$MSG" > /out.txt
FROM scratch
COPY --from=build /out.txt /result.txt
COPY --from=busybox /bin/busybox /bin/
LABEL stage=final
`,
    });
    const r = await run({
      contextDir: ctx,
      buildArgs: { MSG: "from-cli", UNUSED: "x" },
      labels: { extra: "1" },
    });
    expect(r.output).toContain("[Warning] One or more build-args [UNUSED] were not consumed");
    const fs = await unpack(r.imageId);
    expect(await readFile(join(fs, "result.txt"), "utf8")).toBe("from-cli\n");
    expect((await lstat(join(fs, "bin/busybox"))).isFile()).toBe(true);
    expect(await exists(join(fs, "etc"))).toBe(false);
    const rec = images.resolve(r.imageId);
    expect(rec.config.config?.Labels).toEqual({ stage: "final", extra: "1" });
    expect(rec.config.history?.map((h) => h.created_by)).toEqual([
      expect.stringMatching(/COPY file:[0-9a-f]{64} in \/result.txt $/),
      expect.stringMatching(/COPY file:[0-9a-f]{64} in \/bin\/ $/),
      "/bin/sh -c #(nop)  LABEL stage=final",
    ]);

    const withCli = await run({ contextDir: ctx, target: "build", buildArgs: { MSG: "from-cli" } });
    expect(withCli.steps.executed).toBe(0);
    expect(images.resolve(withCli.imageId).config.history?.at(-1)?.created_by).toBe(
      '|1 MSG=from-cli /bin/sh -c echo "$MSG" > /out.txt',
    );
    const t = await run({ contextDir: ctx, target: "build" });
    expect(t.steps.executed).toBe(2); // ARG and RUN: a different MSG is a different cache key
    const tfs = await unpack(t.imageId);
    expect(await readFile(join(tfs, "out.txt"), "utf8")).toBe("default\n");
  });

  it("runs steps on volatile overlays and stores layers in the background: every blob hashes to its diff ID", async () => {
    const bytes = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < bytes.length; i += 4) bytes.writeUInt32LE((i * 2654435761) >>> 0, i);
    const big = bytes.toString("base64");
    const ctx = await context("pipelined", {
      Dockerfile:
        "FROM busybox\nCOPY big.bin /big.bin\nRUN grep -q volatile /proc/self/mountinfo && echo ran > /ran\nCOPY small.txt /s/\nENV X=1\nRUN cat /s/small.txt > /copied\n",
      "big.bin": big,
      "small.txt": "small\n",
    });
    const first = await run({ contextDir: ctx, tags: ["piped:one"] });
    expect(first.steps).toEqual({ executed: 5, cached: 0 });
    const rec = images.resolve("piped:one");
    expect(rec.layers).toHaveLength(5);
    for (const l of rec.layers) {
      expect(l.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      const measured = await layerDiffId(await f.content.readStream(l.digest));
      expect(measured.diffId).toBe(l.diffId);
      expect((await f.content.info(l.digest)).size).toBe(l.size);
    }
    const fs = await unpack(rec.id);
    expect(await readFile(join(fs, "copied"), "utf8")).toBe("small\n");
    expect((await readFile(join(fs, "big.bin"))).length).toBe(big.length);
    // The cache records written after the background stores serve a full rebuild.
    const again = await run({ contextDir: ctx });
    expect(again.steps).toEqual({ executed: 0, cached: 5 });
    expect(again.imageId).toBe(rec.id);
  });

  it("COPY hard-links context files into the layer; a later RUN that changes one never reaches the context", async () => {
    const ctx = await context("linked", {
      Dockerfile:
        "FROM busybox\nCOPY a.txt sub/ /app/\nRUN echo changed >> /app/a.txt && chmod 600 /app/b.txt\n",
      "a.txt": "original\n",
      "sub/b.txt": "b\n",
    });
    // Whole-second mtimes, as a context sent as a tar has.
    for (const f of ["a.txt", "sub/b.txt"]) await utimes(join(ctx, f), 1_700_000_000, 1_700_000_000);
    const digests = await FileDigests.open(ctx);
    const before = await lstat(join(ctx, "a.txt"));
    const r = await run({ contextDir: ctx, fileDigests: digests, ownContext: true, tags: ["linked:one"] });
    const rec = images.resolve("linked:one");
    // The COPY layer's snapshot holds the context's inode; the context file is untouched.
    const snap = f.deps.snapshots.get(chainIds(rec.layers.slice(0, 2).map((l) => l.diffId))[1]!);
    expect((await lstat(join(snap!.path, "app/a.txt"))).ino).toBe(before.ino);
    expect(await readFile(join(ctx, "a.txt"), "utf8")).toBe("original\n");
    expect((await lstat(join(ctx, "sub/b.txt"))).mode & 0o777).toBe(0o644);
    // The image has the RUN's change on top; the COPY layer itself is plain files.
    const fs = await unpack(rec.id);
    expect(await readFile(join(fs, "app/a.txt"), "utf8")).toBe("original\nchanged\n");
    expect(await layerNames(rec.layers[1]!.digest)).toEqual(["app/", "app/a.txt", "app/b.txt"]);
    // The link moved the source's ctime; its digest was kept under the new stat.
    expect(digests.get(join(ctx, "a.txt"), await lstat(join(ctx, "a.txt")))).toMatch(/^sha256:/);
    const again = await run({ contextDir: ctx, fileDigests: digests, ownContext: true });
    expect(again.steps.executed).toBe(0);
    expect(again.imageId).toBe(r.imageId);
    // A context that is not the build's own copy is copied, never linked.
    const other = await context("not-linked", {
      Dockerfile: "FROM busybox\nCOPY c.txt /c.txt\n",
      "c.txt": "c\n",
    });
    await utimes(join(other, "c.txt"), 1_700_000_000, 1_700_000_000);
    const copied = images.resolve((await run({ contextDir: other })).imageId);
    const snap2 = f.deps.snapshots.get(chainIds(copied.layers.map((l) => l.diffId)).at(-1)!);
    expect((await lstat(join(snap2!.path, "c.txt"))).ino).not.toBe((await lstat(join(other, "c.txt"))).ino);
  });

  it("a failing step after background stores waits for them and leaves no ingest or mount", async () => {
    const ctx = await context("pipelined-fail", {
      Dockerfile: "FROM busybox\nCOPY a.txt /a.txt\nRUN echo x > /x\nRUN exit 4\n",
      "a.txt": "a\n".repeat(100_000),
    });
    const err = await run({ contextDir: ctx }).catch((e: unknown) => e);
    expect((err as RunFailedError).runExitCode).toBe(4);
    expect(await readdir(f.content.ingestDir)).toEqual([]);
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(join(tmp, "store"));
    // The steps that completed before the failure were recorded: the next build reuses them.
    await writeFile(join(ctx, "Dockerfile"), "FROM busybox\nCOPY a.txt /a.txt\nRUN echo x > /x\n");
    const resumed = await run({ contextDir: ctx });
    expect(resumed.steps).toEqual({ executed: 0, cached: 2 });
  });

  it("reports a failing RUN's exit code and leaves no image or mount behind", async () => {
    const ctx = await context("fail", { Dockerfile: "FROM busybox\nRUN echo before && exit 3\n" });
    const before = images.list().length;
    const err = await run({ contextDir: ctx, tags: ["failed:x"] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunFailedError);
    expect((err as RunFailedError).runExitCode).toBe(3);
    expect((err as Error).message).toBe(
      "The command '/bin/sh -c echo before && exit 3' returned a non-zero code: 3",
    );
    expect(images.list()).toHaveLength(before);
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(join(tmp, "store"));
    expect(await readdir(join(tmp, "store", "containers"))).toEqual([]);
  });

  it("never reads outside the context (D1-D3) and extracts ADD of a local tar", async () => {
    const ctx = await context("escape", { "ok.txt": "ok\n" });
    await writeFile(join(tmp, "ctx", "secret"), "top secret\n");
    await symlink("/etc", join(ctx, "etclink"));
    await symlink("../secret", join(ctx, "uplink"));
    await symlink("/etc/passwd", join(ctx, "Dockerfile.link"));
    const refused = async (dockerfile: string) => {
      const e = await run({ contextDir: ctx, dockerfileText: dockerfile }).catch((x: unknown) => x);
      expect(isKind(e, "NotFound")).toBe(true);
    };
    await refused("FROM busybox\nCOPY ../secret /x\n");
    await refused("FROM busybox\nCOPY etclink/passwd /x\n");
    await refused("FROM busybox\nCOPY uplink/../secret /x\n");
    const e = await run({ contextDir: ctx, dockerfile: "Dockerfile.link" }).catch((x: unknown) => x);
    expect(isKind(e, "NotFound")).toBe(true);

    // A link is copied as a link, never followed to ../secret.
    execFileSync("tar", ["-C", join(ctx), "-cf", join(ctx, "a.tar"), "ok.txt"]);
    const r = await run({
      contextDir: ctx,
      dockerfileText: "FROM busybox\nCOPY uplink /copied-link\nADD a.tar /extracted/\n",
    });
    const fs = await unpack(r.imageId);
    expect((await lstat(join(fs, "copied-link"))).isSymbolicLink()).toBe(true);
    expect(await readFile(join(fs, "extracted/ok.txt"), "utf8")).toBe("ok\n");
  });

  it("accepts the context as a tar stream", async () => {
    const dir = await context("tarred", {
      Dockerfile: "FROM busybox\nCOPY hello.txt /\n",
      "hello.txt": "hi\n",
    });
    const tarPath = join(tmp, "ctx.tar");
    execFileSync("tar", ["-C", dir, "-cf", tarPath, "."]);
    const r = await run({ contextTar: createReadStream(tarPath) });
    const fs = await unpack(r.imageId);
    expect(await readFile(join(fs, "hello.txt"), "utf8")).toBe("hi\n");
  });
});
