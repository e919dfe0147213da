import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { contextListing, syncedContextBody } from "../src/syncedContext.ts";

const dir = mkdtempSync(join(tmpdir(), "berth-listing-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, "src/empty"), { recursive: true });
writeFileSync(join(dir, "Dockerfile"), "FROM scratch\n");
writeFileSync(join(dir, ".dockerignore"), "*.log\n");
writeFileSync(join(dir, "src/a.txt"), "aaaa");
writeFileSync(join(dir, "x.log"), "ignored");
symlinkSync("../etc/passwd", join(dir, "src/link"));
const sigOf = async (p: string) => new Map((await contextListing(dir, "Dockerfile")).entries).get(p);

describe("contextListing", () => {
  it("lists the filtered context with types and link targets, under a stable key", async () => {
    const l = await contextListing(dir, "Dockerfile");
    expect(l.entries.map((e) => e[0])).toEqual([
      ".dockerignore",
      "Dockerfile",
      "src/a.txt",
      "src/empty",
      "src/link",
    ]);
    expect(l.key).toMatch(/^[0-9a-f]{64}$/);
    expect((await contextListing(dir, "Dockerfile")).key).toBe(l.key);
    expect((await contextListing(dir, "other/Dockerfile")).key).not.toBe(l.key);
    expect(await sigOf("src/link")).toMatch(/^l:.*:\.\.\/etc\/passwd$/);
    expect(await sigOf("src/empty")).toMatch(/^d:/);
  });

  it("changes a file's signature on a write, a chmod, and a same-size rewrite with the mtime put back", async () => {
    const f = join(dir, "src/a.txt");
    const s0 = await sigOf("src/a.txt");
    expect(await sigOf("src/a.txt")).toBe(s0);
    chmodSync(f, 0o600);
    const s1 = await sigOf("src/a.txt");
    expect(s1).not.toBe(s0);
    const before = statSync(f);
    await new Promise((r) => setTimeout(r, 20));
    writeFileSync(f, "bbbb");
    utimesSync(f, before.atime, before.mtime);
    expect(await sigOf("src/a.txt")).not.toBe(s1);
  });

  it("heads the body with the listing line and sends only the named paths", async () => {
    const l = await contextListing(dir, "Dockerfile");
    const chunks: Buffer[] = [];
    for await (const c of syncedContextBody(dir, l, ["src/a.txt"])) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const nl = body.indexOf(0x0a);
    expect(JSON.parse(body.subarray(0, nl).toString())).toEqual(l.entries.map((e) => [...e]));
    const tar = body.subarray(nl + 1);
    expect(tar.subarray(0, 9).toString()).toBe("src/a.txt");
    expect(tar.includes(Buffer.from("Dockerfile"))).toBe(false);
    // Nothing missing: just the end-of-archive blocks.
    const empty: Buffer[] = [];
    for await (const c of syncedContextBody(dir, l, [])) empty.push(c as Buffer);
    const rest = Buffer.concat(empty).subarray(nl + 1);
    expect(rest).toEqual(Buffer.alloc(1024));
  });
});
