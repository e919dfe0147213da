import { execFileSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { busyboxTar, useDaemon } from "./harness.ts";

// Volumes, binds and tmpfs through the real docker CLI (v28) and berth, against berthd.
const d = useDaemon();
const host = mkdtempSync(join(tmpdir(), "berth-vol-host-"));
afterAll(() => rmSync(host, { recursive: true, force: true }));

function ok(args: string[], input?: string): string {
  const r = d.docker(args, input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`docker ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

describe("volumes", () => {
  it("creates, lists, inspects and removes named volumes with labels", () => {
    expect(ok(["volume", "create", "--label", "purpose=test", "vol1"])).toBe("vol1\n");
    const anon = ok(["volume", "create"]).trim();
    expect(anon).toMatch(/^[0-9a-f]{64}$/);
    const ls = ok(["volume", "ls"]);
    expect(ls.split("\n")[0]).toMatch(/^DRIVER\s+VOLUME NAME$/);
    expect(ls).toMatch(/local\s+vol1/);
    const [info] = JSON.parse(ok(["volume", "inspect", "vol1"])) as Array<Record<string, unknown>>;
    expect(info).toMatchObject({
      Driver: "local",
      Labels: { purpose: "test" },
      Mountpoint: join(d.dataRoot, "volumes", "vol1", "_data"),
      Name: "vol1",
      Options: null,
      Scope: "local",
    });
    expect(info!.CreatedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(ok(["volume", "ls", "-q", "--filter", "label=purpose=test"])).toBe("vol1\n");
    expect(ok(["volume", "ls", "-q", "--filter", "name=vol"])).toBe("vol1\n");
    expect(ok(["volume", "rm", "vol1", anon])).toBe(`vol1\n${anon}\n`);
    const missing = d.docker(["volume", "inspect", "vol1"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no such volume");
    expect(d.docker(["volume", "rm", "-f", "nosuch"]).code).toBe(0);
  });

  it("refuses invalid names and drivers", () => {
    const bad = d.docker(["volume", "create", "../escape"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("includes invalid characters for a local volume name");
    const drv = d.docker(["volume", "create", "-d", "nfs", "x1"]);
    expect(drv.code).toBe(1);
    expect(drv.stderr).toContain('plugin "nfs" not found');
    expect(existsSync(join(d.dataRoot, "escape"))).toBe(false);
  });

  it("keeps data in a named volume across containers", () => {
    ok(["run", "--rm", "-v", "keep:/data", "busybox", "sh", "-c", "echo persisted > /data/f"]);
    expect(ok(["run", "--rm", "-v", "keep:/data", "busybox", "cat", "/data/f"])).toBe("persisted\n");
    expect(readFileSync(join(d.dataRoot, "volumes", "keep", "_data", "f"), "utf8")).toBe("persisted\n");
  });

  it("fills a new volume from the image's content at the mount path", () => {
    const out = ok(["run", "--rm", "-v", "bins:/bin", "busybox", "ls", "/bin/busybox"]);
    expect(out).toBe("/bin/busybox\n");
    expect(existsSync(join(d.dataRoot, "volumes", "bins", "_data", "busybox"))).toBe(true);
    // nocopy: an empty volume stays empty.
    ok(["volume", "create", "empty"]);
    const r = d.docker([
      "run",
      "--rm",
      "--mount",
      "type=volume,src=empty,dst=/etc,volume-nocopy",
      "busybox",
      "ls",
      "-A",
      "/etc",
    ]);
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout.split("\n").filter(Boolean).sort()).toEqual(["hostname", "hosts", "resolv.conf"]);
    expect(readdirSync(join(d.dataRoot, "volumes", "empty", "_data")).sort()).toEqual([
      "hostname",
      "hosts",
      "resolv.conf",
    ]);
  });

  it("bind mounts read-write and read-only", () => {
    writeFileSync(join(host, "in.txt"), "from host\n");
    ok(["run", "--rm", "-v", `${host}:/h`, "busybox", "sh", "-c", "cat /h/in.txt; echo back > /h/out.txt"]);
    expect(readFileSync(join(host, "out.txt"), "utf8")).toBe("back\n");
    const ro = d.docker(["run", "--rm", "-v", `${host}:/h:ro`, "busybox", "sh", "-c", "echo x > /h/x"]);
    expect(ro.code).not.toBe(0);
    expect(ro.stderr).toContain("Read-only file system");
    expect(existsSync(join(host, "x"))).toBe(false);
  });

  it("creates a missing -v bind source as docker does, and refuses a missing --mount bind source", () => {
    const made = join(d.dir, "made-by-bind", "deep");
    const v = d.docker(["run", "--rm", "-v", `${made}:/x`, "busybox", "sh", "-c", "echo hi > /x/f"]);
    expect(v.code).toBe(0);
    expect(readFileSync(join(made, "f"), "utf8")).toBe("hi\n");
    expect(statSync(made).mode & 0o777).toBe(0o755);
    const r = d.docker([
      "run",
      "--rm",
      "--mount",
      "type=bind,src=/nonexistent-berth-x,dst=/x",
      "busybox",
      "true",
    ]);
    expect(r.code).toBe(125);
    expect(r.stderr).toContain(
      'invalid mount config for type "bind": bind source path does not exist: /nonexistent-berth-x',
    );
    expect(existsSync("/nonexistent-berth-x")).toBe(false);
  });

  it("mounts tmpfs with --tmpfs and --mount type=tmpfs", () => {
    const a = ok([
      "run",
      "--rm",
      "--tmpfs",
      "/scratch:size=1m,mode=1770",
      "busybox",
      "sh",
      "-c",
      "grep ' /scratch ' /proc/mounts; stat -c %a /scratch",
    ]);
    expect(a).toMatch(/^tmpfs \/scratch tmpfs rw,nosuid,nodev,noexec,\S*size=1024k,mode=1770/);
    expect(a.trim().split("\n").at(-1)).toBe("1770");
    const b = ok([
      "run",
      "--rm",
      "--mount",
      "type=tmpfs,dst=/t,tmpfs-size=2m",
      "busybox",
      "grep",
      " /t ",
      "/proc/mounts",
    ]);
    expect(b).toMatch(/size=2048k/);
  });

  it("shows mounts in inspect as docker does", () => {
    ok([
      "create",
      "--name",
      "insp",
      "-v",
      "named1:/data",
      "-v",
      `${host}:/h:ro`,
      "--mount",
      "type=volume,src=named2,dst=/m",
      "busybox",
    ]);
    // docker lists mounts in no guaranteed order (it walks a map): compare them by destination.
    const mounts = (
      JSON.parse(ok(["inspect", "--format", "{{json .Mounts}}", "insp"])) as Array<{ Destination: string }>
    ).sort((a, b) => a.Destination.localeCompare(b.Destination));
    expect(mounts).toEqual([
      {
        Type: "volume",
        Name: "named1",
        Source: join(d.dataRoot, "volumes", "named1", "_data"),
        Destination: "/data",
        Driver: "local",
        Mode: "z",
        RW: true,
        Propagation: "",
      },
      { Type: "bind", Source: host, Destination: "/h", Mode: "ro", RW: false, Propagation: "rprivate" },
      {
        Type: "volume",
        Name: "named2",
        Source: join(d.dataRoot, "volumes", "named2", "_data"),
        Destination: "/m",
        Driver: "local",
        Mode: "",
        RW: true,
        Propagation: "",
      },
    ]);
    // In use: 409 with docker's text, also with -f.
    const id = ok(["inspect", "--format", "{{.Id}}", "insp"]).trim();
    const inUse = d.docker(["volume", "rm", "named1"]);
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toContain(`Error response from daemon: remove named1: volume is in use - [${id}]`);
    expect(d.docker(["volume", "rm", "-f", "named1"]).code).toBe(1);
    expect(ok(["volume", "ls", "-q", "--filter", "dangling=false"]).split("\n")).toContain("named1");
    ok(["rm", "insp"]);
    expect(ok(["volume", "rm", "named1", "named2"])).toBe("named1\nnamed2\n");
  });

  it("makes anonymous volumes for image VOLUMEs and removes them with rm -v", () => {
    const imp = d.docker([
      "import",
      "--change",
      "VOLUME /data",
      "--change",
      'CMD ["sh"]',
      busyboxTar(),
      "withvol",
    ]);
    expect(imp.code).toBe(0);
    ok(["run", "--name", "anon1", "withvol", "sh", "-c", "echo hi > /data/x"]);
    const [m] = JSON.parse(ok(["inspect", "--format", "{{json .Mounts}}", "anon1"])) as Array<
      Record<string, string>
    >;
    expect(m).toMatchObject({ Type: "volume", Destination: "/data", Driver: "local", Mode: "", RW: true });
    const name = m!.Name!;
    expect(name).toMatch(/^[0-9a-f]{64}$/);
    const [vol] = JSON.parse(ok(["volume", "inspect", name])) as Array<Record<string, unknown>>;
    expect(vol!.Labels).toEqual({ "com.docker.volume.anonymous": "" });
    expect(readFileSync(join(d.dataRoot, "volumes", name, "_data", "x"), "utf8")).toBe("hi\n");
    ok(["rm", "-v", "anon1"]);
    expect(existsSync(join(d.dataRoot, "volumes", name))).toBe(false);
    // --rm takes the anonymous volume along too; a named one stays.
    const before = ok(["volume", "ls", "-q"]);
    ok(["run", "--rm", "-v", "/anon", "busybox", "true"]);
    expect(ok(["volume", "ls", "-q"])).toBe(before);
  });

  it("prunes anonymous volumes only unless --all", () => {
    ok(["volume", "create", "keepme"]);
    ok(["create", "--name", "leaves", "-v", "/leftover", "busybox"]);
    const [m] = JSON.parse(ok(["inspect", "--format", "{{json .Mounts}}", "leaves"])) as Array<
      Record<string, string>
    >;
    ok(["rm", "leaves"]); // without -v: the anonymous volume stays
    const pruned = ok(["volume", "prune", "-f"]);
    expect(pruned).toContain(`Deleted Volumes:\n`);
    expect(pruned).toContain(m!.Name!);
    expect(pruned).toMatch(/Total reclaimed space: \S+\n$/);
    expect(ok(["volume", "ls", "-q"]).split("\n")).toContain("keepme");
    const all = ok(["volume", "prune", "-af"]);
    expect(all).toContain("keepme");
    expect(ok(["volume", "ls", "-q"])).toBe("");
  });

  it("refuses '..' in destinations and creates nothing outside the data root", async () => {
    const before = readdirSync(d.dataRoot).sort();
    for (const args of [
      ["-v", "evil:/a/../../etc"],
      ["--mount", "type=volume,src=evil2,dst=/x/../y"],
      ["--tmpfs", "/t/../u"],
      ["-v", "evil3:rel/path"],
    ]) {
      const r = d.docker(["run", "--rm", ...args, "busybox", "true"]);
      expect(r.code, args.join(" ")).toBe(125);
    }
    // Straight to the API (the docker CLI makes relative sources absolute): never a path.
    for (const hc of [
      { Binds: ["../../x:/data"] },
      { Binds: ["v:/data/.."] },
      { Mounts: [{ Type: "volume", Source: "../v", Target: "/d" }] },
      { Mounts: [{ Type: "bind", Source: "/tmp", Target: "d" }] },
    ]) {
      const r = await d.api(
        "POST",
        "/v1.47/containers/create",
        JSON.stringify({ Image: "busybox", HostConfig: hc }),
        { "Content-Type": "application/json" },
      );
      expect(r.status, JSON.stringify(hc)).toBe(400);
    }
    expect(existsSync("/x")).toBe(false);
    expect(ok(["volume", "ls", "-q"])).toBe("");
    expect(readdirSync(d.dataRoot).sort()).toEqual(before);
  });

  it("copy-up follows an image symlink only inside the root file system", () => {
    // An image whose /evil is a symlink climbing towards the host's /etc, with VOLUME /evil.
    const tar = join(host, "evil.tar");
    copyFileSync(busyboxTar(), tar);
    const extra = join(host, "extra");
    mkdirSync(extra);
    symlinkSync("../../../../../../../../etc", join(extra, "evil"));
    execFileSync("tar", ["-rf", tar, "-C", extra, "evil"]);
    expect(ok(["import", "--change", "VOLUME /evil", "--change", 'CMD ["sh"]', tar, "evil"])).toMatch(
      /^sha256:/,
    );
    ok(["run", "--name", "cu", "evil", "true"]);
    const [m] = JSON.parse(ok(["inspect", "--format", "{{json .Mounts}}", "cu"])) as Array<
      Record<string, string>
    >;
    expect(m!.Destination).toBe("/evil");
    const data = join(d.dataRoot, "volumes", m!.Name!, "_data");
    expect(existsSync(join(data, "os-release"))).toBe(false);
    // What is there is the image's own /etc (busybox's passwd and group), never the host's.
    const rootfsEtc = ["group", "passwd", "hostname", "hosts", "resolv.conf"];
    expect(readdirSync(data).filter((f) => !rootfsEtc.includes(f))).toEqual([]);
    expect(readFileSync(join(data, "passwd"), "utf8")).not.toEqual(readFileSync("/etc/passwd", "utf8"));
    ok(["rm", "-v", "cu"]);
  });

  it("berth volume commands and run -v/--mount/--tmpfs", () => {
    expect(d.berth(["volume", "create", "--label", "a=b", "bv"]).stdout).toBe("bv\n");
    const ls = d.berth(["volume", "ls"]);
    expect(ls.stdout).toMatch(/^DRIVER\s+VOLUME NAME\nlocal\s+bv\n$/);
    expect(d.berth(["volume", "ls", "-q", "--filter", "label=a"]).stdout).toBe("bv\n");
    expect(d.berth(["volume", "ls", "--format", "{{.Name}} {{.Labels}}"]).stdout).toBe("bv a=b\n");
    const insp = JSON.parse(d.berth(["volume", "inspect", "bv"]).stdout) as Array<{ Name: string }>;
    expect(insp[0]!.Name).toBe("bv");
    const w = d.berth(["run", "--rm", "-v", "bv:/d", "busybox", "sh", "-c", "echo b > /d/f"]);
    expect(w.code).toBe(0);
    const r = d.berth([
      "run",
      "--rm",
      "--mount",
      "type=volume,src=bv,dst=/d,ro",
      "--tmpfs",
      "/t",
      "busybox",
      "sh",
      "-c",
      "cat /d/f; echo x > /d/g || true; grep -c ' /t ' /proc/mounts",
    ]);
    expect(r.stdout).toBe("b\n1\n");
    expect(r.stderr).toContain("Read-only file system");
    ok(["create", "--name", "busy", "-v", "bv:/d", "busybox"]);
    const rm = d.berth(["volume", "rm", "bv"]);
    expect(rm.code).toBe(1);
    expect(rm.stderr).toContain("remove bv: volume is in use");
    expect(d.berth(["rm", "busy"]).code).toBe(0);
    expect(d.berth(["volume", "rm", "bv"]).stdout).toBe("bv\n");
    expect(d.berth(["volume", "prune", "-f"]).stdout).toBe("Total reclaimed space: 0B\n");
  });
});
