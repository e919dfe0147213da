import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ANONYMOUS_LABEL, Volumes } from "../src/Volumes.ts";

const root = mkdtempSync(join(tmpdir(), "berth-volumes-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("Volumes", () => {
  it("creates, lists with filters, survives a reopen and removes", async () => {
    const users = new Map<string, string[]>();
    const v = await Volumes.open(root);
    v.setUsers((n) => users.get(n) ?? []);
    await v.create({ name: "aa", labels: { k: "v" } });
    const anon = await v.create({ labels: { [ANONYMOUS_LABEL]: "" } });
    expect(anon.name).toMatch(/^[0-9a-f]{64}$/);
    expect(await v.create({ name: "aa" })).toMatchObject({ name: "aa", labels: { k: "v" } });
    expect(v.inspect("aa")).toMatchObject({
      Driver: "local",
      Mountpoint: join(root, "volumes", "aa", "_data"),
      Scope: "local",
      Options: null,
    });
    expect(v.list({ label: ["k=v"] }).map((x) => x.Name)).toEqual(["aa"]);
    users.set("aa", ["c1"]);
    expect(v.list({ dangling: ["true"] }).map((x) => x.Name)).toEqual([anon.name]);
    await expect(v.remove("aa")).rejects.toThrow("remove aa: volume is in use - [c1]");
    await expect(v.remove("aa", { force: true })).rejects.toThrow(/in use/);
    await expect(v.remove("nosuch")).rejects.toThrow("get nosuch: no such volume");
    await v.remove("nosuch", { force: true });

    writeFileSync(join(v.mountpoint(anon.name), "f"), "12345");
    const again = await Volumes.open(root);
    again.setUsers((n) => users.get(n) ?? []);
    expect(
      again
        .list()
        .map((x) => x.Name)
        .sort(),
    ).toEqual([anon.name, "aa"].sort());
    expect(await again.prune()).toEqual({ VolumesDeleted: [anon.name], SpaceReclaimed: 5 });
    expect(await again.prune({ all: ["true"] })).toEqual({ VolumesDeleted: [], SpaceReclaimed: 0 });
    users.delete("aa");
    expect((await again.prune({ all: ["true"] })).VolumesDeleted).toEqual(["aa"]);
    expect(readdirSync(join(root, "volumes"))).toEqual([]);
  });

  it("refuses bad names, drivers and options without touching the disk", async () => {
    const v = await Volumes.open(root);
    await expect(v.create({ name: "../x" })).rejects.toThrow(/invalid characters/);
    await expect(v.create({ name: "." })).rejects.toThrow(/invalid characters/);
    await expect(v.create({ name: "xx", driver: "nfs" })).rejects.toThrow('plugin "nfs" not found');
    await expect(v.create({ name: "xx", options: { type: "nfs" } })).rejects.toThrow(/invalid option key/);
    expect(existsSync(join(root, "x"))).toBe(false);
    expect(readdirSync(join(root, "volumes"))).toEqual([]);
  });
});
