import { execFileSync } from "node:child_process";
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { createTar } from "../src/createTar.ts";
import { legacyCreateTar } from "./legacyCreateTar.ts";

async function bytes(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe("createTar writes the same bytes as the tar-stream implementation", () => {
  const root = mkdtempSync(join(tmpdir(), "berth-tarbytes-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, "dir/sub"), { recursive: true });
  writeFileSync(join(root, "empty"), "");
  writeFileSync(join(root, "small.txt"), "hello\n");
  writeFileSync(join(root, "block.bin"), Buffer.alloc(512, 7));
  writeFileSync(join(root, "dir/big.bin"), Buffer.alloc(3 * 1024 * 1024 + 123, 1));
  writeFileSync(join(root, "dir/sub/é-ünïcode.txt"), "x");
  writeFileSync(join(root, `dir/${"n".repeat(120)}`), "long name");
  symlinkSync("../small.txt", join(root, "dir/link"));
  symlinkSync(`/${"t".repeat(150)}`, join(root, "dir/longlink"));
  linkSync(join(root, "small.txt"), join(root, "dir/hard"));
  execFileSync("mkfifo", [join(root, "dir/fifo")]);
  utimesSync(join(root, "small.txt"), 1_700_000_000, 1_700_000_000);

  it("for a whole tree", async () => {
    const now = await bytes(createTar(root));
    expect(now.equals(await bytes(legacyCreateTar(root)))).toBe(true);
    expect(now.length % 512).toBe(0);
  });

  it("for chosen paths, renamed", async () => {
    const opts = { paths: ["dir/sub", "small.txt", "dir/big.bin"], rename: (n: string) => `./${n}` };
    expect((await bytes(createTar(root, opts))).equals(await bytes(legacyCreateTar(root, opts)))).toBe(true);
  });

  it("fails the stream for a path that does not exist", async () => {
    await expect(bytes(createTar(root, { paths: ["nope"] }))).rejects.toThrow(/ENOENT/);
  });
});
