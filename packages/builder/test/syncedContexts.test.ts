import { chmod, lstat, mkdir, mkdtemp, readFile, readlink, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { createTar } from "@berth/archive";
import * as tarStream from "tar-stream";
import { afterAll, describe, expect, it } from "vitest";
import { extractContext } from "../src/extractContext.ts";
import { FileDigests } from "../src/FileDigests.ts";
import { hashSources, SourceTree } from "../src/SourceTree.ts";
import { type ContextEntry, checkEntries, SyncedContexts } from "../src/SyncedContexts.ts";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "berth-sync-"));
  dirs.push(d);
  return d;
}
const KEY = "a".repeat(64);

/** listing is a client's listing of `paths` under `root` (the CLI's signature, from lstat). */
async function listing(root: string, paths: string[]): Promise<ContextEntry[]> {
  return Promise.all(
    paths.map(async (p) => {
      const st = await lstat(join(root, p), { bigint: true });
      const t = st.isFile() ? "f" : st.isDirectory() ? "d" : "l";
      const link = st.isSymbolicLink() ? await readlink(join(root, p)) : "";
      return { path: p, sig: `${t}:${st.mode}:${st.size}:${st.mtimeNs}:${st.ino}:${link}` };
    }),
  );
}

async function sync(store: SyncedContexts, root: string, paths: string[]) {
  const entries = await listing(root, paths);
  const missing = await store.missing(KEY, entries);
  let dir = "";
  await store.use(KEY, entries, createTar(root, { paths: missing }), async (d) => {
    dir = d;
  });
  return { missing, dir };
}

describe("SyncedContexts", () => {
  it("sends everything first, then only changed files; deletions and emptied directories go", async () => {
    const client = await tmp();
    const store = await SyncedContexts.open(join(await tmp(), "ctx"));
    await mkdir(join(client, "src/sub"), { recursive: true });
    await writeFile(join(client, "Dockerfile"), "FROM scratch\n");
    await writeFile(join(client, "src/a.txt"), "a");
    await writeFile(join(client, "src/sub/b.txt"), "b");
    const paths = ["Dockerfile", "src/a.txt", "src/sub/b.txt"];
    const first = await sync(store, client, paths);
    expect(first.missing).toEqual(paths);
    expect(await readFile(join(first.dir, "src/sub/b.txt"), "utf8")).toBe("b");

    const again = await sync(store, client, paths);
    expect(again.missing).toEqual([]);

    await writeFile(join(client, "src/a.txt"), "A2");
    const changed = await sync(store, client, paths);
    expect(changed.missing).toEqual(["src/a.txt"]);
    expect(await readFile(join(changed.dir, "src/a.txt"), "utf8")).toBe("A2");

    // A mode change alone is a new version.
    await chmod(join(client, "src/a.txt"), 0o600);
    expect((await sync(store, client, paths)).missing).toEqual(["src/a.txt"]);

    await rm(join(client, "src/sub"), { recursive: true });
    const gone = await sync(store, client, ["Dockerfile", "src/a.txt"]);
    expect(gone.missing).toEqual([]);
    await expect(lstat(join(gone.dir, "src/sub"))).rejects.toThrow(/ENOENT/);
    expect((await lstat(join(gone.dir, "src/a.txt"))).mode & 0o777).toBe(0o600);
  });

  it("detects a changed mtime with the same size and content", async () => {
    const client = await tmp();
    const store = await SyncedContexts.open(join(await tmp(), "ctx"));
    await writeFile(join(client, "f"), "same");
    expect((await sync(store, client, ["f"])).missing).toEqual(["f"]);
    await utimes(join(client, "f"), new Date(1000), new Date(2000));
    expect((await sync(store, client, ["f"])).missing).toEqual(["f"]);
  });

  it("refuses unclean listing paths", () => {
    for (const p of ["../x", "/etc/passwd", "a/../b", "a//b", "", "a/"])
      expect(() => checkEntries([{ path: p, sig: "f:1" }])).toThrow(/clean relative path/);
    expect(() =>
      checkEntries([
        { path: "a", sig: "f" },
        { path: "a", sig: "f" },
      ]),
    ).toThrow(/twice/);
  });

  it("fails with Conflict when a listed path is not in the sent tar", async () => {
    const client = await tmp();
    const store = await SyncedContexts.open(join(await tmp(), "ctx"));
    await writeFile(join(client, "f"), "x");
    const entries = await listing(client, ["f"]);
    await expect(
      store.use(KEY, entries, createTar(client, { paths: [] }), async () => "ran"),
    ).rejects.toMatchObject({ _tag: "Conflict" });
  });

  it("keeps a symlink escape in the partial tar inside the copy", async () => {
    const store = await SyncedContexts.open(join(await tmp(), "ctx"));
    const outside = await tmp();
    const pack = tarStream.pack();
    pack.entry({ name: "link", type: "symlink", linkname: outside });
    pack.entry({ name: "link/evil", type: "file" }, "pwned");
    pack.entry({ name: "../escape", type: "file" }, "pwned");
    pack.finalize();
    const entries = [
      { path: "link", sig: "l:1" },
      { path: "link/evil", sig: "f:1" },
    ];
    await store
      .use(KEY, entries, Readable.from(pack as unknown as AsyncIterable<Buffer>), async () => {})
      .catch(() => {});
    await expect(lstat(join(outside, "evil"))).rejects.toThrow(/ENOENT/);
    await expect(lstat(join(store.dir, KEY, "escape"))).rejects.toThrow(/ENOENT/);
    // A deletion through the symlink does not reach outside either.
    await writeFile(join(outside, "keep"), "k");
    await store
      .use(KEY, [{ path: "link/keep", sig: "f:2" }], createTar(outside, { paths: [] }), async () => {})
      .catch(() => {});
    expect(await readFile(join(outside, "keep"), "utf8")).toBe("k");
  });

  it("counts copies and prunes them; a cap keeps the most recent", async () => {
    const client = await tmp();
    const store = await SyncedContexts.open(join(await tmp(), "ctx"), { keep: 2 });
    await writeFile(join(client, "f"), "x".repeat(10000));
    const entries = await listing(client, ["f"]);
    for (const k of ["1", "2", "3"])
      await store.use(k.repeat(64), entries, createTar(client, { paths: ["f"] }), async () => {});
    const u = await store.usage();
    expect(u.map((x) => x.key)).toEqual(["3".repeat(64), "2".repeat(64)]);
    expect(u[0]?.size).toBeGreaterThan(10000);
    const pruned = await store.prune();
    expect(pruned.keys).toHaveLength(2);
    expect(await store.usage()).toEqual([]);
  });
});

describe("FileDigests", () => {
  it("hashes a file once and again only after it changes; survives reopening", async () => {
    const root = await tmp();
    await writeFile(join(root, "f"), "one");
    const file = join(await tmp(), "digests.json");
    const digests = await FileDigests.open(root, file);
    const tree = await SourceTree.open(root, undefined, digests);
    const h1 = await hashSources(await tree.match("f"), digests);
    expect(digests.size).toBe(1);
    await digests.save();
    const reopened = await FileDigests.open(root, file);
    const [m] = await tree.match("f");
    expect(reopened.get(m?.top.abs as string, m?.top.stat as never)).toMatch(/^sha256:/);
    // Same hash with and without the cache.
    expect(await hashSources(await tree.match("f"))).toBe(h1);
    // A same-size rewrite with the mtime put back is still seen (ctime moves).
    const before = await lstat(join(root, "f"));
    await writeFile(join(root, "f"), "two");
    await utimes(join(root, "f"), before.atime, before.mtime);
    const h2 = await hashSources(await tree.match("f"), reopened);
    expect(h2).not.toBe(h1);
    expect(await hashSources(await tree.match("f"))).toBe(h2);
  });
});

describe("extractContext", () => {
  it("remembers the digest of every file it writes, equal to hashing it, so sources are not read again", async () => {
    const client = await tmp();
    await mkdir(join(client, "src"), { recursive: true });
    await writeFile(join(client, "src/a"), "alpha");
    await writeFile(join(client, "big"), Buffer.alloc(2 * 1024 * 1024 + 5, 7));
    await writeFile(join(client, "src/b"), "beta");
    const dir = await tmp();
    const digests = await FileDigests.open(dir);
    await extractContext(dir, createTar(client, { paths: ["big", "src", "src/a", "src/b"] }), digests);
    expect(digests.size).toBe(3);
    const tree = await SourceTree.open(dir, undefined, digests);
    for (const src of ["big", "src/"]) {
      const matched = await tree.match(src);
      for (const e of matched.flatMap((m) => m.entries))
        if (e.stat.isFile()) expect(digests.get(e.abs, e.stat)).toMatch(/^sha256:[0-9a-f]{64}$/);
      // The remembered digests give the same source hash as reading the files.
      expect(await hashSources(matched, digests)).toBe(await hashSources(matched));
    }
    // A file changed after extraction no longer matches its remembered digest.
    await writeFile(join(dir, "src/a"), "ALPHA");
    const [a] = await tree.match("src/a");
    expect(digests.get(a?.top.abs as string, a?.top.stat as never)).toBeUndefined();
  });
});
