import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, lstat, readdir, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import type { ImageStore } from "@berth/image";
import { beforeAll, describe, expect, it } from "vitest";
import { type BuildFixture, canBuild, useBuildFixture } from "./buildFixture.ts";

const repo = resolve(import.meta.dirname, "../../..");

describe.skipIf(!canBuild())("RUN/COPY/ADD features with real runc, conmon and overlayfs", () => {
  const f = useBuildFixture({ prefix: "bf" });
  let tmp: string;
  let images: ImageStore;
  beforeAll(() => {
    ({ tmp, images } = f as BuildFixture);
  });
  const { context, run, unpack, layerNames, exists } = f;

  it("runs RUN heredocs: plain body, #! script, several on one line, <<- and quoted delimiters", async () => {
    const ctx = await context("heredoc", {
      Dockerfile: [
        "FROM busybox",
        "ENV WHO=env",
        "RUN <<EOF",
        "echo plain-$WHO > /plain",
        "echo second line >> /plain",
        "EOF",
        "RUN <<EOF",
        "#!/bin/sh -e",
        "echo script-$0 > /script",
        "EOF",
        "RUN cat <<A > /a && cat <<'B' > /b",
        "a-$WHO",
        "A",
        "b-$WHO",
        "B",
        "RUN <<-EOF",
        "\techo chomped > /chomp",
        "\tEOF",
        "",
      ].join("\n"),
    });
    const r = await run({ contextDir: ctx, tags: ["hd:1"] });
    const dir = await unpack(r.imageId);
    expect(await readFile(join(dir, "plain"), "utf8")).toBe("plain-env\nsecond line\n");
    expect(await readFile(join(dir, "script"), "utf8")).toBe("script-/dev/pipes/EOF\n");
    expect(await readFile(join(dir, "a"), "utf8")).toBe("a-env\n");
    expect(await readFile(join(dir, "b"), "utf8")).toBe("b-$WHO\n");
    expect(await readFile(join(dir, "chomp"), "utf8")).toBe("chomped\n");
    // the script's mount point is not in the image
    expect(await exists(join(dir, "dev/pipes"))).toBe(false);
    const again = await run({ contextDir: ctx, tags: ["hd:1"] });
    expect(again.steps.executed).toBe(0);
    // a change in a heredoc body invalidates that step
    await writeFile(
      join(ctx, "Dockerfile"),
      (await readFile(join(ctx, "Dockerfile"), "utf8")).replace("script-$0", "script2-$0"),
    );
    const changed = await run({ contextDir: ctx, tags: ["hd:1"] });
    expect(changed.steps.executed).toBe(3);
    expect(await readFile(join(await unpack(changed.imageId), "script"), "utf8")).toBe(
      "script2-/dev/pipes/EOF\n",
    );
  });

  it("copies heredoc sources with --chmod and --chown, expanding unless quoted", async () => {
    const ctx = await context("copyhd", {
      Dockerfile: [
        "FROM busybox",
        "ARG NAME=berth",
        "COPY --chmod=0755 --chown=1:2 <<EOF /usr/bin/hello",
        "#!/bin/sh",
        "echo hello $NAME",
        "EOF",
        "COPY <<one <<'two' /etc/more/",
        "1-$NAME",
        "one",
        "2-$NAME",
        "two",
        "RUN /usr/bin/hello > /out",
        "",
      ].join("\n"),
    });
    const r = await run({ contextDir: ctx });
    const dir = await unpack(r.imageId);
    const st = await lstat(join(dir, "usr/bin/hello"));
    expect(st.mode & 0o7777).toBe(0o755);
    expect([st.uid, st.gid]).toEqual([1, 2]);
    expect(await readFile(join(dir, "out"), "utf8")).toBe("hello berth\n");
    expect(await readFile(join(dir, "etc/more/one"), "utf8")).toBe("1-berth\n");
    expect(await readFile(join(dir, "etc/more/two"), "utf8")).toBe("2-$NAME\n");
  });

  it("keeps cache mounts across builds and out of layers; binds, tmpfs and secrets", async () => {
    const ctx = await context("mounts", {
      Dockerfile: [
        "FROM busybox",
        "RUN --mount=type=cache,target=/var/cache/thing,uid=5,gid=6,mode=0750 \\",
        "    echo run >> /var/cache/thing/log && cp /var/cache/thing/log /seen && stat -c '%u:%g:%a' /var/cache/thing > /owner",
        "RUN --mount=type=bind,source=data,target=/mnt/data \\",
        "    cat /mnt/data/x > /bound && (touch /mnt/data/y 2>/dev/null && echo writable || echo readonly) > /bindmode",
        "RUN --mount=type=bind,source=data,target=/mnt/rw,rw touch /mnt/rw/new && ls /mnt/rw > /rwlist",
        "RUN --mount=type=tmpfs,target=/scratch,size=1m df /scratch | tail -1 > /tmpfs && echo x > /scratch/f",
        "RUN --mount=type=secret,id=tok --mount=type=secret,id=tok,env=TOKEN,target=/custom/tok \\",
        '    cat /run/secrets/tok > /got && echo "$TOKEN" >> /got && stat -c %a /custom/tok >> /got',
        "RUN --mount=type=secret,id=absent ls /run/secrets > /absent 2>&1 || echo none > /absent",
        "",
      ].join("\n"),
      "data/x": "bound-content\n",
    });
    const secrets = { tok: "s3cr3t" };
    const r = await run({ contextDir: ctx, secrets });
    expect(r.output).not.toContain("s3cr3t");
    const dir = await unpack(r.imageId);
    expect(await readFile(join(dir, "seen"), "utf8")).toBe("run\n");
    expect(await readFile(join(dir, "owner"), "utf8")).toBe("5:6:750\n");
    expect(await readFile(join(dir, "bound"), "utf8")).toBe("bound-content\n");
    expect(await readFile(join(dir, "bindmode"), "utf8")).toBe("readonly\n");
    expect(await readFile(join(dir, "rwlist"), "utf8")).toBe("new\nx\n");
    expect(await exists(join(ctx, "data/new"))).toBe(false);
    expect(await readFile(join(dir, "tmpfs"), "utf8")).toMatch(/^tmpfs\s+1024\s/);
    expect(await readFile(join(dir, "got"), "utf8")).toBe("s3cr3ts3cr3t\n400\n");
    expect(await readFile(join(dir, "absent"), "utf8")).toBe("none\n");
    // no mount point or mounted content reached a layer
    for (const p of ["var/cache/thing", "mnt", "scratch", "run/secrets", "custom"])
      expect(await exists(join(dir, p)), p).toBe(false);
    const rec = images.resolve(r.imageId);
    for (const l of rec.layers.slice(1)) {
      const names = await layerNames(l.digest);
      expect(names.filter((n) => /thing|secrets|custom|scratch|mnt/.test(n))).toEqual([]);
    }
    expect(JSON.stringify(rec.config)).not.toContain("s3cr3t");
    // the cache directory persists: a no-cache rebuild appends to it
    const again = await run({ contextDir: ctx, secrets, noCache: true });
    expect(await readFile(join(await unpack(again.imageId), "seen"), "utf8")).toBe("run\nrun\n");
    // a changed bound file invalidates the RUN that binds it
    await writeFile(join(ctx, "data/x"), "changed\n");
    const third = await run({ contextDir: ctx, secrets });
    expect(third.steps.cached).toBe(1);
    // a required secret that is missing fails the step
    await writeFile(join(ctx, "Dockerfile"), "FROM busybox\nRUN --mount=type=secret,id=nope,required true\n");
    await expect(run({ contextDir: ctx })).rejects.toThrow(/secret nope: not found/);
  });

  it("leaves secret bytes in no blob, config, history, cache index or progress (threat row D10)", async () => {
    const secret = "d10-secret-value-7f3a";
    const ctx = await context("d10", {
      Dockerfile: [
        "FROM busybox",
        "RUN --mount=type=secret,id=tok cp /run/secrets/tok /copied-hash-input && sha256sum /run/secrets/tok > /sum && rm /copied-hash-input && mount | grep /run/secrets > /mounts",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax in a Dockerfile
        "RUN --mount=type=secret,id=tok,env=TOK echo ${#TOK} > /len",
        "",
      ].join("\n"),
    });
    const r = await run({ contextDir: ctx, secrets: { tok: Buffer.from(secret) } });
    expect(r.output).not.toContain(secret);
    const dir = await unpack(r.imageId);
    expect(await readFile(join(dir, "len"), "utf8")).toBe(`${secret.length}\n`);
    // mounted from a tmpfs of its own
    expect(await readFile(join(dir, "mounts"), "utf8")).toMatch(/^tmpfs on \/run\/secrets\/tok /);
    const blobs: string[] = [];
    const walk = async (d: string): Promise<void> => {
      for (const e of await readdir(d, { withFileTypes: true })) {
        if (e.isDirectory()) await walk(join(d, e.name));
        else if (e.isFile()) blobs.push(join(d, e.name));
      }
    };
    await walk(join(tmp, "store"));
    expect(blobs.length).toBeGreaterThan(3);
    for (const b of blobs) {
      let data = await readFile(b);
      if (data[0] === 0x1f && data[1] === 0x8b) data = gunzipSync(data);
      expect(data.includes(secret), b).toBe(false);
    }
  });

  it("binds from another stage and seeds a cache from it", async () => {
    const ctx = await context("fromstage", {
      Dockerfile: [
        "FROM busybox AS tools",
        "RUN mkdir /tools && echo tool-v1 > /tools/version",
        "FROM busybox",
        "RUN --mount=type=bind,from=tools,source=/tools,target=/t cat /t/version > /v",
        "RUN --mount=type=cache,id=seeded,from=tools,source=/tools,target=/c cat /c/version > /cv",
        "",
      ].join("\n"),
    });
    const r = await run({ contextDir: ctx });
    const dir = await unpack(r.imageId);
    expect(await readFile(join(dir, "v"), "utf8")).toBe("tool-v1\n");
    expect(await readFile(join(dir, "cv"), "utf8")).toBe("tool-v1\n");
    expect(await exists(join(dir, "t"))).toBe(false);
    expect((await run({ contextDir: ctx })).steps.executed).toBe(0);
    // a cache mount's options are part of the step's key
    await writeFile(
      join(ctx, "Dockerfile"),
      (await readFile(join(ctx, "Dockerfile"), "utf8")).replace("id=seeded,", "id=seeded,sharing=locked,"),
    );
    expect((await run({ contextDir: ctx })).steps.executed).toBe(1);
  });

  it("uses RUN --network: none and host", async () => {
    const ctx = await context("net", {
      Dockerfile: [
        "FROM busybox",
        "RUN --network=none ls /sys/class/net > /none",
        "RUN --network=host ls /sys/class/net > /host",
        "",
      ].join("\n"),
    });
    const r = await run({ contextDir: ctx });
    const dir = await unpack(r.imageId);
    expect((await readFile(join(dir, "none"), "utf8")).trim()).toBe("lo");
    const host = (await readFile(join(dir, "host"), "utf8")).trim().split("\n");
    // other processes add and remove links meanwhile: compare with the host's stable ones
    const hostLinks = (await readdir("/sys/class/net")).filter((n) => n === "lo" || n.startsWith("eth"));
    expect(hostLinks.length).toBeGreaterThan(1);
    for (const n of hostLinks) expect(host).toContain(n);
  });

  it("copies with --exclude, --parents and symbolic --chmod", async () => {
    const ctx = await context("excl", {
      Dockerfile: [
        "FROM busybox",
        "COPY --exclude=*.md --exclude=sub/skip docs /docs/",
        "COPY --exclude=*.txt hom* /homes/",
        "COPY --parents a/b/c.txt x/./y/z.txt /par/",
        "COPY --chmod=u+x,g-w,o= run.sh /run.sh",
        "",
      ].join("\n"),
      "docs/keep.html": "k",
      "docs/readme.md": "r",
      "docs/sub/skip/f": "s",
      "docs/sub/ok": "o",
      "home1.sh": "1",
      "home2.txt": "2",
      "a/b/c.txt": "c",
      "x/y/z.txt": "z",
      "run.sh": "echo",
    });
    await chmod(join(ctx, "run.sh"), 0o664);
    const r = await run({ contextDir: ctx });
    const dir = await unpack(r.imageId);
    expect((await readdir(join(dir, "docs"))).sort()).toEqual(["keep.html", "sub"]);
    expect(await readdir(join(dir, "docs/sub"))).toEqual(["ok"]);
    expect(await readdir(join(dir, "homes"))).toEqual(["home1.sh"]);
    expect(await readFile(join(dir, "par/a/b/c.txt"), "utf8")).toBe("c");
    expect(await readFile(join(dir, "par/y/z.txt"), "utf8")).toBe("z");
    expect((await lstat(join(dir, "run.sh"))).mode & 0o777).toBe(0o740);
  });

  it("ADDs an http URL: checksum, Last-Modified, name from the path, not extracted, keyed by content", async () => {
    let body = Buffer.from("downloaded\n");
    const tgz = execFileSync("tar", ["-czf", "-", "-C", repo, "package.json"]);
    const server = createServer((req, res) => {
      if (req.url === "/files/pkg.tar.gz") {
        res.writeHead(200, { "Content-Type": "application/gzip" });
        res.end(tgz);
        return;
      }
      res.writeHead(200, { "Last-Modified": "Wed, 21 Oct 2015 07:28:00 GMT" });
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    try {
      const sum = `sha256:${createHash("sha256").update(body).digest("hex")}`;
      const ctx = await context("addurl", {
        Dockerfile: [
          "FROM busybox",
          `ADD --checksum=${sum} http://127.0.0.1:${port}/dl/file.txt /got/`,
          `ADD http://127.0.0.1:${port}/files/pkg.tar.gz /pkg/`,
          `ADD http://127.0.0.1:${port}/dl/file.txt /renamed`,
          "",
        ].join("\n"),
      });
      const r = await run({ contextDir: ctx });
      const dir = await unpack(r.imageId);
      const st = await lstat(join(dir, "got/file.txt"));
      expect(await readFile(join(dir, "got/file.txt"), "utf8")).toBe("downloaded\n");
      expect(st.mode & 0o777).toBe(0o600);
      expect(st.mtime.toISOString()).toBe("2015-10-21T07:28:00.000Z");
      expect(await readdir(join(dir, "pkg"))).toEqual(["pkg.tar.gz"]);
      expect(await readFile(join(dir, "renamed"), "utf8")).toBe("downloaded\n");
      const same = await run({ contextDir: ctx });
      expect(same.steps.executed).toBe(0);
      body = Buffer.from("new content\n");
      await expect(run({ contextDir: ctx })).rejects.toThrow(/digest mismatch/);
      await writeFile(
        join(ctx, "Dockerfile"),
        `FROM busybox\nADD http://127.0.0.1:${port}/dl/file.txt /renamed\n`,
      );
      const changed = await run({ contextDir: ctx });
      expect(changed.steps.executed).toBe(1);
      expect(await readFile(join(await unpack(changed.imageId), "renamed"), "utf8")).toBe("new content\n");
      await writeFile(join(ctx, "Dockerfile"), "FROM busybox\nADD git@github.com:moby/moby.git /src\n");
      await expect(run({ contextDir: ctx })).rejects.toThrow(/git repository .* is not supported/);
    } finally {
      server.close();
    }
  });
});
