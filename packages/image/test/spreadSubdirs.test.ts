import { execFileSync, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ContentStore, SnapshotStore, spreadSubdirs } from "../src/index.ts";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "berth-spread-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Whether chattr/lsattr work on the temp file system (ext2/3/4). */
const ext4 = (() => {
  const r = spawnSync("lsattr", ["-d", tmpdir()]);
  return r.status === 0;
})();

const attrs = (dir: string) => execFileSync("lsattr", ["-d", dir]).toString().split(" ")[0] ?? "";

describe("spreadSubdirs", () => {
  it.skipIf(!ext4)("marks a directory +T (top of hierarchy) and SnapshotStore marks its own", async () => {
    await spreadSubdirs(root);
    expect(attrs(root)).toContain("T");
    const snaps = await SnapshotStore.open({
      root: join(root, "store"),
      content: await ContentStore.open(join(root, "store")),
    });
    expect(attrs(snaps.snapshotsDir)).toContain("T");
    expect(attrs(snaps.containersDir)).toContain("T");
  });

  it("never fails, whatever the directory", async () => {
    await expect(spreadSubdirs(join(root, "missing"))).resolves.toBeUndefined();
  });
});
