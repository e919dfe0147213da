import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { useDaemon } from "./harness.ts";

// CVE-2018-15664 class (threat cases E1, E2, E4): symlinks inside a container that point outside
// it must never let `cp` read or write the host, in either direction, also while the container
// flips a path component between a directory and a symlink during the copy.
const d = useDaemon();
const work = mkdtempSync(join(tmpdir(), "berth-cp-escape-"));
const tag = `berth-cp-${process.pid}-${Date.now()}`;
const hostSecret = join(tmpdir(), `${tag}-secret`);
writeFileSync(hostSecret, "host secret\n");
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(hostSecret, { force: true });
  for (const p of [join(tmpdir(), `${tag}-pwned`), `/etc/${tag}-pwned`, join(tmpdir(), `${tag}-race`)])
    rmSync(p, { force: true });
});

function ok(args: string[]): string {
  const r = d.docker(args);
  if (r.code !== 0) throw new Error(`docker ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

describe("cp cannot escape the container through its symlinks", () => {
  it("reads the container's files, never the host's, through `/escape -> /` and `/x -> /etc`", () => {
    ok([
      "run",
      "-d",
      "--name",
      "esc",
      "busybox",
      "sh",
      "-c",
      "ln -s / /escape; ln -s /etc /x; ln -s ../../../.. /up; sleep 300",
    ]);
    for (let i = 0; i < 50 && d.docker(["exec", "esc", "test", "-L", "/up"]).code !== 0; i++) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
    for (const path of [`/escape${hostSecret}`, `/up${hostSecret}`, `/x/../..${hostSecret}`]) {
      const r = d.docker(["cp", `esc:${path}`, join(work, "leak")]);
      expect(r.code, path).toBe(1);
      expect(r.stderr).toContain("Could not find the file");
      expect(existsSync(join(work, "leak"))).toBe(false);
    }
    const passwd = join(work, "passwd");
    ok(["cp", "esc:/x/passwd", passwd]);
    const got = readFileSync(passwd, "utf8");
    expect(got).toContain("nobody:x:65534:65534:nobody:/home:/bin/false");
    expect(got).toBe(ok(["exec", "esc", "cat", "/etc/passwd"]));
    // The same through the raw API: the stat header and a tar stream.
    const tarPath = join(work, "escape.tar");
    const r = d.docker(["cp", "esc:/escape/etc/passwd", "-"]);
    expect(r.code).toBe(0);
    writeFileSync(tarPath, r.stdout);
    expect(r.stdout).toContain("nobody:x:65534");
    expect(r.stdout).not.toContain(readFileSync("/etc/passwd", "utf8").split("\n")[0]!);
  });

  it("writes into the container, never the host, through the same links", () => {
    const local = join(work, "payload");
    writeFileSync(local, "payload\n");
    ok(["cp", local, `esc:/escape/tmp/${tag}-pwned`]);
    expect(existsSync(join(tmpdir(), `${tag}-pwned`))).toBe(false);
    expect(ok(["exec", "esc", "cat", `/tmp/${tag}-pwned`])).toBe("payload\n");
    ok(["cp", local, `esc:/x/${tag}-pwned`]);
    expect(existsSync(`/etc/${tag}-pwned`)).toBe(false);
    expect(ok(["exec", "esc", "cat", `/etc/${tag}-pwned`])).toBe("payload\n");
    // `/escape` exists as a link to a directory: the file goes inside the container's `/`.
    ok(["cp", local, "esc:/escape"]);
    expect(ok(["exec", "esc", "cat", "/payload"])).toBe("payload\n");
    // A tar with a hostile name and a symlink-then-write pair stays inside too.
    const t = d.berth(["cp", local, "esc:/up/tmp/"]);
    expect(t.code).toBe(0);
    expect(ok(["exec", "esc", "cat", "/tmp/payload"])).toBe("payload\n");
  });

  it("stays inside while the container flips a path between a directory and a link to /", () => {
    ok([
      "exec",
      "-d",
      "esc",
      "sh",
      "-c",
      "mkdir -p /flipdir; while true; do rm -rf /flip; ln -s / /flip; rm -f /flip; mkdir /flip; done",
    ]);
    const local = join(work, `${tag}-race`);
    writeFileSync(local, "race\n");
    for (let i = 0; i < 15; i++) {
      d.docker(["cp", local, `esc:/flip${tmpdir()}/`]);
      d.docker(["cp", `esc:/flip${hostSecret}`, join(work, `leak${i}`)]);
      expect(existsSync(join(tmpdir(), `${tag}-race`)), `round ${i}`).toBe(false);
      expect(existsSync(join(work, `leak${i}`)), `round ${i}`).toBe(false);
    }
    ok(["rm", "-f", "esc"]);
  }, 120_000);
});
