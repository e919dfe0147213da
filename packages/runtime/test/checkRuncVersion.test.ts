import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkRuncVersion, parseRuncVersion, Runtime } from "../src/index.ts";

const dir = await mkdtemp(join(tmpdir(), "berth-runcver-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

async function fakeRunc(version: string, commit: string): Promise<string> {
  const p = join(dir, `runc-${version}-${commit}`);
  await writeFile(
    p,
    `#!/bin/sh\necho "runc version ${version}"\necho "commit: ${commit}"\necho "spec: 1.0.2-dev"\n`,
  );
  await chmod(p, 0o755);
  return p;
}

describe("runc version gate (T1)", () => {
  it("warns loudly about runc older than 1.1.12", async () => {
    const r = await checkRuncVersion(await fakeRunc("1.1.4", "v1.1.4-0-g5fd4c4d1"));
    expect(r.upToDate).toBe(false);
    expect(r.warnings.join()).toMatch(/CVE-2024-21626/);
  });
  it("notes Debian's backported fixes for 1.1.5+ds1-1+deb12u1", () => {
    const r = parseRuncVersion("runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\n");
    expect(r.version).toBe("1.1.5");
    expect(r.backportedFixes).toContain("CVE-2024-21626");
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/backports/);
  });
  it("is quiet for current runc", async () => {
    const r = await checkRuncVersion(await fakeRunc("1.2.8", "v1.2.8"));
    expect(r).toMatchObject({ upToDate: true, warnings: [] });
  });
  it("Runtime logs the warning once", async () => {
    const warned: string[] = [];
    const rt = new Runtime({
      runc: await fakeRunc("1.0.0", "x"),
      stateRoot: join(dir, "state"),
      logger: { warn: (m) => warned.push(m) },
    });
    await rt.checkRunc();
    await rt.checkRunc();
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatch(/^WARNING: runc 1.0.0 is older than 1.1.12/);
  });
});
