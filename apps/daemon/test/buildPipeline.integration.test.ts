import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { useDaemon } from "./harness.ts";

// Build pipeline features end to end: zstd layers (berth build --compression), the build cache in
// `system df`, `docker builder prune` / `berth builder prune` (POST /build/prune), -q.
const d = useDaemon();
const ctx = mkdtempSync(join(tmpdir(), "berth-bp-ctx-"));
afterAll(() => rmSync(ctx, { recursive: true, force: true }));
writeFileSync(
  join(ctx, "Dockerfile"),
  "FROM busybox AS data\nRUN head -c 200000 /dev/urandom > /blob && echo stays-here > /only-in-data\nFROM busybox\nCOPY --from=data /blob /blob\nRUN echo ok > /ok\n",
);

describe("build pipeline", () => {
  it("builds zstd layers with berth build --compression zstd; the image runs and saves", () => {
    const b = d.berth(["build", "--compression", "zstd", "--progress", "plain", "-t", "bp:zstd", ctx], {
      timeoutMs: 120_000,
    });
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toContain("Step 5/5 : RUN echo ok > /ok");
    const run = () => d.docker(["run", "--rm", "bp:zstd", "sh", "-c", "wc -c < /blob; cat /ok"]);
    expect(
      run()
        .stdout.split("\n")
        .map((l) => l.trim()),
    ).toEqual(["200000", "ok", ""]);
    // saved with zstd layers (the manifest says so), loaded back, runs the same
    const archive = join(ctx, "bp.tar");
    expect(d.docker(["save", "-o", archive, "bp:zstd"]).code).toBe(0);
    expect(readFileSync(archive).toString("latin1")).toContain("application/vnd.oci.image.layer.v1.tar+zstd");
    expect(d.docker(["rmi", "bp:zstd"]).code).toBe(0);
    const load = d.docker(["load", "-i", archive]);
    expect(load.code, load.stderr).toBe(0);
    expect(
      run()
        .stdout.split("\n")
        .map((l) => l.trim()),
    ).toEqual(["200000", "ok", ""]);
    rmSync(archive);
    const bad = d.berth(["build", "--compression", "lz4", ctx]);
    expect(bad.code).toBe(125);
  });

  it("-q prints only the image ID", () => {
    const q = d.berth(["build", "-q", "-t", "bp:gzip", ctx], { timeoutMs: 120_000 });
    expect(q.code, q.stderr).toBe(0);
    expect(q.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
  });

  it("system df lists the build cache and builder prune empties it", () => {
    const df = d.docker(["system", "df"]);
    expect(df.code).toBe(0);
    const cacheLine = df.stdout.split("\n").find((l) => l.startsWith("Build Cache"));
    expect(cacheLine).toBeDefined();
    expect(cacheLine).not.toMatch(/Build Cache\s+0\s/);
    // Without -a: only steps whose layer no image holds (the data stage's 200 kB RUN layer, in
    // its gzip and zstd variants); their blobs (2 x 200 kB) are deleted, and the gzip one's
    // unpacked snapshot (200 kB; the zstd one went with `rmi bp:zstd` above).
    const p = d.berth(["builder", "prune", "-f"]);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toContain("Deleted build cache objects:");
    expect(p.stdout).toMatch(/Total reclaimed space: [5-9]\d\d(\.\d+)?kB/);
    const again = d.docker(["builder", "prune", "-f"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe("Total reclaimed space: 0B\n");
    // -a: every step goes (the blobs images hold stay)
    const all = d.docker(["builder", "prune", "-a", "-f"]);
    expect(all.stdout).toContain("Deleted build cache objects:");
    const df2 = d
      .docker(["system", "df"])
      .stdout.split("\n")
      .find((l) => l.startsWith("Build Cache"));
    expect(df2).toMatch(/Build Cache\s+0\s/);
    expect(d.docker(["run", "--rm", "bp:gzip", "cat", "/ok"]).stdout).toBe("ok\n");
    const rebuilt = d.berth(["build", "--progress", "plain", "-t", "bp:gzip", ctx], { timeoutMs: 120_000 });
    expect(rebuilt.stdout).not.toContain("Using cache");
  });
});
