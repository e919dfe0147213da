import { execFileSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { type ContentStore, chainIds, type ImageStore } from "@berth/image";
import { OCI_LAYER_GZIP, OCI_LAYER_ZSTD } from "@berth/oci";
import { beforeAll, describe, expect, it } from "vitest";
import { type BuildCache, type BuildDeps, type BuildProgress, build } from "../src/index.ts";
import { type BuildFixture, canBuild, useBuildFixture } from "./buildFixture.ts";

describe.skipIf(!canBuild("zstd"))("build pipeline: concurrent stages, zstd layers, cache prune", () => {
  const f = useBuildFixture({ prefix: "bp", cache: true });
  let tmp: string;
  let deps: BuildDeps;
  let images: ImageStore;
  let content: ContentStore;
  let cache: BuildCache;
  beforeAll(() => {
    ({ tmp, deps, images, content, cache } = f as BuildFixture & { cache: BuildCache });
  });
  const { context, run } = f;

  const twoBranches = `FROM busybox AS a
RUN sleep 1; cut -d' ' -f1 /proc/uptime > /t; echo built-a
FROM busybox AS b
RUN sleep 1; cut -d' ' -f1 /proc/uptime > /t; echo built-b
FROM busybox AS unused
RUN echo never-built
FROM busybox
COPY --from=a /t /a
COPY --from=b /t /b
`;

  it("runs independent stages concurrently, skips unneeded ones, prints steps in Dockerfile order", async () => {
    const dir = await context("par", { Dockerfile: twoBranches });
    const t0 = performance.now();
    const r = await run({ contextDir: dir, tags: ["par:1"], noCache: true });
    const elapsed = performance.now() - t0;
    expect(r.output).not.toContain("never-built");
    const steps = r.events.filter((e) => e.kind === "step").map((e) => e.stream.trim());
    expect(steps).toEqual([
      "Step 1/7 : FROM busybox AS a",
      "Step 2/7 : RUN sleep 1; cut -d' ' -f1 /proc/uptime > /t; echo built-a",
      "Step 3/7 : FROM busybox AS b",
      "Step 4/7 : RUN sleep 1; cut -d' ' -f1 /proc/uptime > /t; echo built-b",
      "Step 5/7 : FROM busybox",
      "Step 6/7 : COPY --from=a /t /a",
      "Step 7/7 : COPY --from=b /t /b",
    ]);
    // a's output comes before b's step line although both ran at once
    expect(r.output.indexOf("built-a")).toBeLessThan(r.output.indexOf("Step 3/7"));
    // Both RUNs overlapped: their end times are less than the 1 s sleep apart.
    const rec = images.resolve(r.imageId);
    expect(rec.layers.length).toBe(3);
    expect(elapsed).toBeLessThan(60_000);
    const times = await Promise.all(
      [1, 2].map(async (i) => {
        const layer = rec.layers[i];
        if (layer === undefined) throw new Error("missing layer");
        const out = execFileSync("sh", ["-c", `tar -xzOf ${content.blobPath(layer.digest)}`]);
        return Number(out.toString().trim());
      }),
    );
    expect(Math.abs((times[0] as number) - (times[1] as number))).toBeLessThan(0.9);
  });

  it("stops at --target with only the stages it needs", async () => {
    const dir = await context("tgt", { Dockerfile: twoBranches });
    const r = await run({ contextDir: dir, target: "b" });
    const steps = r.events.filter((e) => e.kind === "step").map((e) => e.stream.trim());
    expect(steps).toEqual([
      "Step 1/2 : FROM busybox AS b",
      "Step 2/2 : RUN sleep 1; cut -d' ' -f1 /proc/uptime > /t; echo built-b",
    ]);
  });

  it("a failing stage fails the build with its error and output, and cancels the other", async () => {
    const dir = await context("fail", {
      Dockerfile: `FROM busybox AS slow
RUN sleep 30
FROM busybox AS bad
RUN echo about-to-fail; exit 7
FROM busybox
COPY --from=slow / /s
COPY --from=bad / /b
`,
    });
    const events: BuildProgress[] = [];
    const t0 = performance.now();
    const err = await build({ contextDir: dir, noCache: true }, deps, (e) => events.push(e)).catch(
      (e: unknown) => e,
    );
    expect((err as { runExitCode?: number }).runExitCode).toBe(7);
    expect(performance.now() - t0).toBeLessThan(20_000);
    const out = events.map((e) => e.stream).join("");
    expect(out).toContain("about-to-fail");
    expect(out.indexOf("Step 1/")).toBeLessThan(out.indexOf("Step 3/"));
  });

  it("commits zstd layers on request, kept apart from gzip cache entries", async () => {
    const dir = await context("z", {
      Dockerfile: "FROM busybox\nCOPY f /f\nRUN echo hi > /g\n",
      f: "zstd me\n",
    });
    const gz = await run({ contextDir: dir, tags: ["z:gzip"] });
    const zs = await run({ contextDir: dir, tags: ["z:zstd"], compression: "zstd" });
    expect(zs.steps.cached).toBe(0);
    const g = images.resolve(gz.imageId);
    const z = images.resolve(zs.imageId);
    expect(g.layers.slice(1).map((l) => l.mediaType)).toEqual([OCI_LAYER_GZIP, OCI_LAYER_GZIP]);
    expect(z.layers.slice(1).map((l) => l.mediaType)).toEqual([OCI_LAYER_ZSTD, OCI_LAYER_ZSTD]);
    // The COPY layer has the same tar (same diff ID) in both; the blob is a real zstd frame
    expect(z.layers[1]?.diffId).toBe(g.layers[1]?.diffId);
    const blob = readFileSync(content.blobPath(z.layers[1]?.digest as string));
    expect([...blob.subarray(0, 4)]).toEqual([0x28, 0xb5, 0x2f, 0xfd]);
    // The base layer's content size was measured once and is remembered in the index.
    const index = JSON.parse(readFileSync(join(tmp, "store", "build-cache.json"), "utf8")) as {
      sizes?: Record<string, number>;
    };
    expect(index.sizes?.[g.layers[0]?.digest as string]).toBeGreaterThan(100_000);
    const again = await run({ contextDir: dir, compression: "zstd" });
    expect(again.steps).toEqual({ executed: 0, cached: 2 });
  });

  it("the next step runs on the committed upper dir itself (adopted as a snapshot), whiteouts and opaque dirs included", async () => {
    const dir = await context("adopt", {
      Dockerfile: `FROM busybox
RUN mkdir -p /d/sub && echo a > /d/sub/f && echo x > /gone
RUN rm /gone && rm -rf /d && mkdir /d && echo b > /d/new
RUN test ! -e /gone && test ! -e /d/sub && cat /d/new > /seen
`,
    });
    const r = await run({ contextDir: dir, noCache: true });
    const rec = images.resolve(r.imageId);
    expect(rec.layers.length).toBe(4);
    // Nothing ever needed the last layer as a lower dir: its snapshot exists only if adopted.
    const chains = chainIds(rec.layers.map((l) => l.diffId));
    const top = deps.snapshots.get(chains[3] as string);
    expect(top).toBeDefined();
    expect(readFileSync(join(top?.path as string, "seen"), "utf8")).toBe("b\n");
    expect(statSync(top?.path as string).mode & 0o7777).toBe(0o755);
  });

  it("prunes cache entries and the blobs only they use", async () => {
    const dir = await context("pr", {
      Dockerfile: "FROM busybox\nRUN head -c 100000 /dev/urandom > /r\nRUN echo x > /x\n",
    });
    const r = await run({ contextDir: dir });
    const rec = images.resolve(r.imageId);
    const inUse = new Set(images.list().flatMap((i) => i.layers.map((l) => l.digest)));
    // without all: entries whose layer is in an image stay
    const before = cache.size;
    const records = cache.records(inUse);
    expect(records.some((x) => x.shared)).toBe(true);
    const p1 = await cache.prune({ inUse });
    expect(cache.size).toBe(before - p1.cachesDeleted.length);
    for (const l of rec.layers) expect(await content.has(l.digest)).toBe(true);
    // prune -a with only busybox in use (as if the image were gone): its own layers go
    const busybox = images.resolve("busybox");
    const onlyBusybox = new Set(busybox.layers.map((l) => l.digest));
    const p2 = await cache.prune({ all: true, inUse: onlyBusybox });
    expect(cache.size).toBe(0);
    expect(p2.cachesDeleted.length).toBeGreaterThan(0);
    expect(p2.spaceReclaimed).toBeGreaterThan(100_000);
    expect(await content.has(rec.layers[1]?.digest as string)).toBe(false);
    expect(await content.has(rec.layers[0]?.digest as string)).toBe(true);
    await images.remove(r.imageId, { force: true });
    const again = await run({ contextDir: dir });
    expect(again.steps.cached).toBe(0);
  });
});
