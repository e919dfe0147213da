import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { contextPaths, contextTar } from "../src/buildContext.ts";

describe("build context", () => {
  const root = mkdtempSync(join(tmpdir(), "berth-ctx-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("names only what exists: no .dockerignore, no Dockerfile listed when they are absent", async () => {
    writeFileSync(join(root, "Dockerfile"), "FROM scratch\n");
    mkdirSync(join(root, "src"));
    writeFileSync(join(root, "src", "a.txt"), "a");
    expect(await contextPaths(root, "Dockerfile")).toEqual(["Dockerfile", "src/a.txt"]);
    expect(await contextPaths(root, "Other.Dockerfile")).toEqual(["Dockerfile", "src/a.txt"]);
    const stats = new Map();
    expect(await contextPaths(root, "Dockerfile", stats)).toEqual(["Dockerfile", "src/a.txt"]);
    expect([...stats.keys()].sort()).toEqual(["Dockerfile", "src/a.txt"]);
  });

  it("makes a tar of the context that reads to the end (compose builds use it)", async () => {
    const { stream, count } = await contextTar(root, "Dockerfile");
    expect(count).toBe(2);
    let bytes = 0;
    for await (const chunk of stream) bytes += (chunk as Buffer).length;
    expect(bytes).toBeGreaterThan(1024);
  });
});
