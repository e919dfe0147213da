import { mkdtemp, realpath, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseMount } from "@berth/dockerfile";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CacheMounts } from "../src/CacheMounts.ts";
import { prepareRunMounts, type RunMountEnv } from "../src/runMounts.ts";
import type { BuildDeps } from "../src/types.ts";

// Threat row D8 (CVE-2024-23651, BuildKit testCacheMountSourceEscape): an earlier RUN made
// `sel -> /etc` inside a cache; a later `--mount=type=cache,source=sel` must not bind the host's
// /etc: `source` resolves inside the cache directory.
let tmp: string;
beforeAll(async () => {
  tmp = await realpath(await mkdtemp(join(tmpdir(), "cmse-")));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("cache mount source", () => {
  it("never resolves outside the cache directory", async () => {
    const root = join(tmp, "builder");
    const lease = await CacheMounts.forRoot(root).acquire({ id: "c1", sharing: "shared" });
    await symlink("/etc", join(lease.dir, "sel"));
    await symlink("../../../../../../../../etc", join(lease.dir, "up"));
    await lease.release();
    const env: RunMountEnv = {
      deps: { root } as unknown as BuildDeps,
      cwd: "/",
      contextRoot: join(tmp, "ctx"),
      resolveFrom: () => Promise.reject(new Error("no stages")),
      secrets: new Map(),
      scratch: join(tmp, "scratch"),
    };
    for (const source of ["sel", "up", "../../etc", "/sel/passwd"]) {
      const prepared = await prepareRunMounts(
        [parseMount(`type=cache,id=c1,source=${source},target=/mnt`)],
        env,
      );
      try {
        const src = prepared.mounts[0]?.source ?? "";
        expect(src.startsWith(`${lease.dir}/`), `${source} -> ${src}`).toBe(true);
        expect(await realpath(src)).toBe(src);
      } finally {
        await prepared.release();
      }
    }
  });
});
