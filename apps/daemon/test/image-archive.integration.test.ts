import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  type Entry,
  hex,
  legacyDockerArchive,
  makeConfig,
  makeLayer,
  sha,
  tarBytes,
} from "../../../packages/image/test/archiveFixtures.ts";
import { busyboxTar, repo, run, useDaemon } from "./harness.ts";

// docker save / docker load against berthd, with the real docker CLI and with berth: round trips
// that end in a running container, archives of older docker versions, and hostile archives that
// must be refused with nothing stored and nothing written outside the daemon's temp dir.
const d = useDaemon();
const work = mkdtempSync(join(tmpdir(), "berth-save-load-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** sh runs a shell pipeline with DOCKER_HOST pointing at the test daemon. */
function sh(script: string) {
  return run("sh", ["-c", script], {
    env: { DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.dir, "docker-config"), BERTH_NO_AUTOSTART: "1" },
    timeoutMs: 120_000,
  });
}
/** hasTool tells whether a command is on the PATH (tests of optional interop tools skip otherwise). */
function hasTool(name: string): boolean {
  return run("sh", ["-c", `command -v ${name}`]).code === 0;
}
const berthBin = `${process.execPath} ${join(repo, "apps/cli/bin/berth.js")}`;

/** storeState lists what must not change when a load is refused: images, blobs, temp dirs. */
function storeState(): { images: string; blobs: string[]; tmp: string[] } {
  const blobsDir = join(d.dataRoot, "content", "content", "blobs", "sha256");
  const tmp = join(d.dataRoot, "tmp", "load");
  return {
    images: d.docker(["images", "-a", "-q", "--no-trunc"]).stdout,
    blobs: existsSync(blobsDir) ? readdirSync(blobsDir).sort() : [],
    tmp: existsSync(tmp) ? readdirSync(tmp) : [],
  };
}

function buildApp(tag: string, text: string): void {
  const ctx = mkdtempSync(join(work, "ctx-"));
  writeFileSync(
    join(ctx, "Dockerfile"),
    `FROM busybox\nRUN mkdir -p /srv && echo ${text} > /srv/msg\nENV WHO=${text}\nCMD ["cat", "/srv/msg"]\n`,
  );
  const b = d.docker(["build", "-q", "-t", tag, ctx], { env: { DOCKER_BUILDKIT: "0" }, timeoutMs: 120_000 });
  expect(b.code, b.stderr).toBe(0);
}

describe("save and load", () => {
  it("berth save -o -> rmi -> berth load -i -> run: same image ID, tags and output", () => {
    buildApp("app:1", "round-trip");
    const id = d.docker(["inspect", "-f", "{{.Id}}", "app:1"]).stdout.trim();
    const file = join(work, "app.tar");
    const s = d.berth(["save", "-o", file, "app:1"]);
    expect(s).toMatchObject({ code: 0, stdout: "", stderr: "" });
    const list = run("tar", ["-tf", file]).stdout.split("\n").filter(Boolean);
    expect(list).toEqual(
      expect.arrayContaining(["oci-layout", "index.json", "manifest.json", "repositories"]),
    );
    expect(list.filter((n) => /^blobs\/sha256\/[0-9a-f]{64}$/.test(n)).length).toBe(2 + 2); // config, manifest, 2 layers
    expect(d.docker(["rmi", "app:1"]).code).toBe(0);
    const l = d.berth(["load", "-i", file]);
    expect(l).toMatchObject({ code: 0, stdout: "Loaded image: app:1\n" });
    expect(d.docker(["inspect", "-f", "{{.Id}}", "app:1"]).stdout.trim()).toBe(id);
    expect(d.docker(["run", "--rm", "app:1"]).stdout).toBe("round-trip\n");
    expect(d.docker(["run", "--rm", "app:1", "sh", "-c", "echo $WHO"]).stdout).toBe("round-trip\n");
    // From standard input, as `docker load < file` (-f: an --rm container may still be going).
    expect(d.docker(["rmi", "-f", "app:1"]).code).toBe(0);
    expect(sh(`${berthBin} load < ${file}`)).toMatchObject({ code: 0, stdout: "Loaded image: app:1\n" });
    expect(d.docker(["inspect", "-f", "{{.Id}}", "app:1"]).stdout.trim()).toBe(id);
  });

  it("docker save (to a pipe and -o) -> docker load (-i and stdin) with the real docker CLI", () => {
    buildApp("multi:a", "alpha");
    d.docker(["tag", "multi:a", "multi:b"]);
    buildApp("other:1", "other");
    const file = join(work, "multi.tar");
    const s = sh(`docker save multi other:1 > ${file}`);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stderr).toBe("");
    expect(d.docker(["rmi", "multi:a", "multi:b", "other:1"]).code).toBe(0);
    const l = sh(`docker load < ${file}`);
    expect(l.code).toBe(0);
    expect(l.stdout.split("\n").filter(Boolean).sort()).toEqual([
      "Loaded image: multi:a",
      "Loaded image: multi:b",
      "Loaded image: other:1",
    ]);
    expect(d.docker(["run", "--rm", "multi:b"]).stdout).toBe("alpha\n");
    expect(d.docker(["run", "--rm", "other:1"]).stdout).toBe("other\n");
    // -o and -i; loading again over existing tags is fine.
    const file2 = join(work, "other.tar");
    expect(d.docker(["save", "-o", file2, "other:1"]).code).toBe(0);
    expect(d.docker(["load", "-i", file2])).toMatchObject({ code: 0, stdout: "Loaded image: other:1\n" });
    // berth reads what the docker CLI wrote through the API and vice versa: the bytes are the daemon's.
    const file3 = join(work, "other-berth.tar");
    expect(sh(`${berthBin} save other:1 > ${file3}`).code).toBe(0);
    expect(sha(readFileSync(file3))).toBe(sha(readFileSync(file2)));
  });

  it("says when a loaded tag moves, and loads an untagged image by ID", () => {
    buildApp("mv:1", "first");
    const file = join(work, "mv.tar");
    expect(d.docker(["save", "-o", file, "mv:1"]).code).toBe(0);
    const firstId = d.docker(["inspect", "-f", "{{.Id}}", "mv:1"]).stdout.trim();
    buildApp("mv:1", "second");
    const secondId = d.docker(["inspect", "-f", "{{.Id}}", "mv:1"]).stdout.trim();
    const l = d.docker(["load", "-i", file]);
    expect(l.stdout).toBe(
      `The image mv:1 already exists, renaming the old one with ID ${secondId} to empty string\nLoaded image: mv:1\n`,
    );
    expect(d.docker(["run", "--rm", "mv:1"]).stdout).toBe("first\n");
    const byId = join(work, "byid.tar");
    expect(d.docker(["save", "-o", byId, secondId]).code).toBe(0);
    expect(d.docker(["rmi", secondId]).code).toBe(0);
    expect(d.docker(["load", "-i", byId]).stdout).toBe(`Loaded image ID: ${secondId}\n`);
    expect(firstId).not.toBe(secondId);
  });

  it("loads an archive in docker 1.10-24's layout (<id>/layer.tar, <hex>.json, symlinked layers) and runs it", async () => {
    const busybox = readFileSync(busyboxTar());
    const base = { tar: busybox, gz: Buffer.alloc(0), diffId: sha(busybox) };
    const extra = await makeLayer({ "etc/legacy": "from an old docker\n" });
    const archive = await legacyDockerArchive([
      { layers: [base, extra], tags: ["legacy:1"], cmd: ["cat", "/etc/legacy"] },
      { layers: [base], tags: ["legacy:base"], cmd: ["echo", "base"] },
    ]);
    const file = join(work, "legacy.tar");
    writeFileSync(file, archive);
    const l = d.berth(["load", "-q", "-i", file]);
    expect(l).toMatchObject({ code: 0, stdout: "Loaded image: legacy:1\nLoaded image: legacy:base\n" });
    expect(d.docker(["run", "--rm", "legacy:1"]).stdout).toBe("from an old docker\n");
    expect(d.docker(["run", "--rm", "legacy:base"]).stdout).toBe("base\n");
  });

  it("shows docker's per-layer progress on a terminal, and serves GET /images/{name}/get", async () => {
    const file = join(work, "busybox.tar");
    expect(d.docker(["save", "-o", file, "busybox"]).code).toBe(0);
    const tty = run("script", ["-qec", `docker load -i ${file}`, "/dev/null"], {
      env: { DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.dir, "docker-config") },
    });
    expect(tty.code).toBe(0);
    // The docker CLI draws the bar itself from progressDetail (`Loading layer [==>] 2.1MB/2.1MB`).
    expect(tty.stdout).toMatch(/[0-9a-f]{12}: Loading layer .*[\d.]+MB\/[\d.]+MB/);
    expect(tty.stdout).toContain("Loaded image: busybox:latest");
    const one = await d.api("GET", "/v1.41/images/busybox/get");
    expect(one.status).toBe(200);
    const missing = await d.api("GET", "/v1.41/images/get?names=nope");
    expect(missing).toMatchObject({ status: 404, body: '{"message":"No such image: nope:latest"}\n' });
  });

  it.skipIf(!hasTool("skopeo"))(
    "OCI tools: skopeo reads berth's archive and its copies load back into berth",
    () => {
      buildApp("ocitools:1", "via-skopeo");
      const file = join(work, "ocitools.tar");
      expect(d.berth(["save", "-o", file, "ocitools:1"]).code).toBe(0);
      const inspect = run("skopeo", ["inspect", `docker-archive:${file}`]);
      expect(inspect.code, inspect.stderr).toBe(0);
      expect(JSON.parse(inspect.stdout).Layers).toHaveLength(2);
      const oci = join(work, "ocitools-oci.tar");
      const toOci = run("skopeo", [
        "copy",
        `docker-archive:${file}`,
        `oci-archive:${oci}:example.com/tools/app:oci`,
      ]);
      expect(toOci.code, toOci.stderr).toBe(0);
      expect(d.berth(["load", "-i", oci])).toMatchObject({
        code: 0,
        stdout: "Loaded image: example.com/tools/app:oci\n",
      });
      expect(d.docker(["run", "--rm", "example.com/tools/app:oci"]).stdout).toBe("via-skopeo\n");
      const dock = join(work, "ocitools-docker.tar");
      const toDocker = run("skopeo", ["copy", `oci-archive:${oci}`, `docker-archive:${dock}:skopeo/app:1`]);
      expect(toDocker.code, toDocker.stderr).toBe(0);
      expect(d.docker(["load", "-i", dock])).toMatchObject({
        code: 0,
        stdout: "Loaded image: skopeo/app:1\n",
      });
      expect(d.docker(["run", "--rm", "skopeo/app:1"]).stdout).toBe("via-skopeo\n");
    },
  );

  it.skipIf(!hasTool("umoci"))("OCI tools: umoci unpacks berth's archive as an OCI image layout", () => {
    buildApp("umoci:1", "via-umoci");
    const file = join(work, "umoci.tar");
    expect(d.berth(["save", "-o", file, "umoci:1"]).code).toBe(0);
    const layout = join(work, "umoci-layout");
    mkdirSync(layout);
    expect(run("tar", ["-xf", file, "-C", layout]).code).toBe(0);
    const bundle = join(work, "umoci-bundle");
    const u = run("umoci", ["unpack", "--image", `${layout}:1`, bundle]);
    expect(u.code, u.stderr).toBe(0);
    expect(readFileSync(join(bundle, "rootfs/srv/msg"), "utf8")).toBe("via-umoci\n");
    expect(existsSync(join(bundle, "rootfs/bin/busybox"))).toBe(true);
    rmSync(bundle, { recursive: true, force: true });
  });

  it("refuses to write a tar to a terminal, and to load from one", () => {
    const s = run("script", ["-qec", `${berthBin} save busybox`, "/dev/null"], {
      env: { DOCKER_HOST: d.host, BERTH_NO_AUTOSTART: "1" },
    });
    expect(s.stdout).toContain("cowardly refusing to save to a terminal. Use the -o flag or redirect");
    expect(s.code).toBe(1);
    const l = run("script", ["-qec", `${berthBin} load`, "/dev/null"], {
      env: { DOCKER_HOST: d.host, BERTH_NO_AUTOSTART: "1" },
    });
    expect(l.stdout).toContain("requested load from stdin, but stdin is empty");
    expect(l.code).toBe(1);
    expect(d.berth(["save", "nope:1"])).toMatchObject({ code: 1 });
    expect(d.berth(["save", "nope:1"]).stderr).toContain("No such image: nope:1");
  });
});

describe("hostile archives are refused and nothing is stored", () => {
  const victim = join(work, "victim");
  mkdirSync(victim, { recursive: true });

  async function validEntries(): Promise<Entry[]> {
    const l = await makeLayer({ "etc/motd": "hi" });
    const cfg = makeConfig([l]);
    return [
      { name: `blobs/sha256/${hex(cfg)}`, data: cfg },
      { name: `blobs/sha256/${hex(l.tar)}`, data: l.tar },
      {
        name: "manifest.json",
        data: JSON.stringify([
          {
            Config: `blobs/sha256/${hex(cfg)}`,
            RepoTags: ["evil:1"],
            Layers: [`blobs/sha256/${hex(l.tar)}`],
          },
        ]),
      },
    ];
  }

  const cases: Array<{ name: string; make: () => Promise<Buffer>; error: RegExp }> = [
    {
      name: "an entry climbing out with ../",
      make: async () =>
        tarBytes([{ name: `../../../../../../..${victim}/dotdot`, data: "x" }, ...(await validEntries())]),
      error: /path escapes the archive/,
    },
    {
      name: "an absolute entry",
      make: async () => tarBytes([...(await validEntries()), { name: `${victim}/absolute`, data: "x" }]),
      error: /absolute path/,
    },
    {
      name: "a symlink out of the archive and a file through it",
      make: async () =>
        tarBytes([
          { type: "symlink", name: "escape", target: victim },
          { name: "escape/through-link", data: "x" },
          ...(await validEntries()),
        ]),
      error: /points outside the archive/,
    },
    {
      name: "a layer blob whose bytes do not match its digest",
      make: async () =>
        tarBytes(
          (await validEntries()).map((e) =>
            e.name.startsWith("blobs/") && "data" in e && Buffer.from(e.data).length > 1000
              ? { ...e, data: Buffer.concat([Buffer.from(e.data), Buffer.alloc(512)]) }
              : e,
          ),
        ),
      error: /does not match its digest/,
    },
    {
      name: "a truncated archive",
      make: async () => (await tarBytes(await validEntries())).subarray(0, 1700),
      error: /unexpected end of data/i,
    },
  ];

  it("a stored blob that went bad fails the save with an error, not a short archive", async () => {
    const rootfs = await tarBytes([{ name: "etc/unique", data: `only here ${Date.now()}` }]);
    const tarFile = join(work, "unique-rootfs.tar");
    writeFileSync(tarFile, rootfs);
    expect(d.docker(["import", tarFile, "corrupt:1"]).code).toBe(0);
    const diffId = JSON.parse(
      d.docker(["inspect", "-f", "{{json .RootFS.Layers}}", "corrupt:1"]).stdout,
    )[0] as string;
    // Imported layers are stored uncompressed: the blob's digest is the diff ID.
    const blob = join(d.dataRoot, "content", "content", "blobs", "sha256", diffId.slice(7));
    writeFileSync(blob, Buffer.concat([rootfs.subarray(0, 512), Buffer.alloc(rootfs.length - 512, 0x41)]));
    const out = join(work, "corrupt.tar");
    const s = d.docker(["save", "-o", out, "corrupt:1"]);
    expect(s).toMatchObject({ code: 1, stderr: "unexpected EOF\n" });
    // The docker CLI keeps what it got; it is no archive a loader would take for whole.
    expect(run("tar", ["-tf", out]).stdout).not.toContain("manifest.json");
    // berth save writes to a temp file and renames it only when complete.
    const viaBerth = join(work, "corrupt-berth.tar");
    const b = d.berth(["save", "-o", viaBerth, "corrupt:1"]);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/^failed to save image: /);
    expect(existsSync(viaBerth)).toBe(false);
    expect(readdirSync(work).filter((n) => n.includes("berth-save"))).toEqual([]);
  });

  for (const c of cases) {
    it(`docker load: ${c.name}`, async () => {
      const file = join(work, "hostile.tar");
      writeFileSync(file, await c.make());
      const before = storeState();
      const l = d.docker(["load", "-i", file]);
      expect(l.code).toBe(1);
      expect(l.stderr).toMatch(c.error);
      expect(storeState()).toEqual(before);
      expect(readdirSync(victim)).toEqual([]);
      // The same archive through berth: the same refusal.
      const b = d.berth(["load", "-i", file]);
      expect(b.code).toBe(1);
      expect(b.stderr).toMatch(c.error);
      expect(storeState()).toEqual(before);
      expect(d.docker(["ps"]).code).toBe(0);
    });
  }
});
