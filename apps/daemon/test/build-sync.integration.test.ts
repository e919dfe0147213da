import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { useDaemon } from "./harness.ts";

// Berth's incremental context: `berth build` lists its context, berthd keeps a copy per context
// and the CLI sends only what the copy lacks. The docker CLI's full tar keeps working alongside.
const d = useDaemon();
const ctx = mkdtempSync(join(tmpdir(), "berth-build-sync-"));
afterAll(() => rmSync(ctx, { recursive: true, force: true }));
const idOf = (out: string) => out.trim().split("\n").pop() ?? "";
const build = () => d.berth(["build", "-t", "synced", ctx], { timeoutMs: 120_000 });
const copies = () => join(d.dataRoot, "build-contexts");

mkdirSync(join(ctx, "src"));
for (let i = 0; i < 20; i++) writeFileSync(join(ctx, "src", `f${i}.txt`), `file ${i}\n`);
writeFileSync(join(ctx, "big.bin"), Buffer.alloc(300_000, 7));
writeFileSync(join(ctx, ".dockerignore"), "*.log\n");
writeFileSync(join(ctx, "skip.log"), "never sent");
writeFileSync(
  join(ctx, "Dockerfile"),
  'FROM busybox\nCOPY big.bin /data/big.bin\nCOPY src/ /app/src/\nRUN ls /app/src > /app/list\nCMD ["sh", "-c", "cat /app/list; cat /app/src/f1.txt"]\n',
);

describe("build with the incremental context", () => {
  let first = "";
  it("sends everything once, then nothing for an unchanged context", () => {
    const a = build();
    expect(a.code, a.stderr).toBe(0);
    expect(a.stderr).toContain("(23 entries, 23 changed)");
    first = /Successfully built ([0-9a-f]{12})/.exec(a.stdout)?.[1] ?? "";
    expect(first).not.toBe("");
    const b = build();
    expect(b.stderr).toContain("(23 entries, 0 changed)");
    expect(b.stdout.match(/Using cache/g)?.length).toBe(4);
    expect(b.stdout).toContain(`Successfully built ${first}`);
    // The ignored file never reached the daemon's copy.
    const [key] = readdirSync(copies());
    expect(existsSync(join(copies(), key as string, "fs", "skip.log"))).toBe(false);
  });

  it("gives the same image as a full-tar build and as the docker CLI", () => {
    // The CLI's switch to the plain tar (the path a daemon without the extension gets).
    process.env.BERTH_BUILD_FULL_CONTEXT = "1";
    let full: ReturnType<typeof build>;
    try {
      full = d.berth(["build", "-q", "-t", "synced", ctx], { timeoutMs: 120_000 });
    } finally {
      delete process.env.BERTH_BUILD_FULL_CONTEXT;
    }
    expect(full.code, full.stderr).toBe(0);
    expect(idOf(full.stdout)).toContain(first);
    const docker = d.docker(["build", "-q", "-t", "synced", ctx], { env: { DOCKER_BUILDKIT: "0" } });
    expect(idOf(docker.stdout)).toContain(first);
  });

  it("sends one changed file, sees a same-size rewrite with the mtime put back, and deletions", () => {
    writeFileSync(join(ctx, "src", "f1.txt"), "changed\n");
    const one = build();
    expect(one.stderr).toContain("(23 entries, 1 changed)");
    expect(one.stdout.match(/Using cache/g)?.length).toBe(1);
    expect(d.berth(["run", "--rm", "synced"]).stdout).toContain("changed\n");

    // Same size, mtime restored: the ctime in the listing still moves, so the file is sent.
    const before = statSync(join(ctx, "src", "f1.txt"));
    writeFileSync(join(ctx, "src", "f1.txt"), "CHANGED\n");
    utimesSync(join(ctx, "src", "f1.txt"), before.atime, before.mtime);
    const same = build();
    expect(same.stderr).toContain("(23 entries, 1 changed)");
    expect(d.berth(["run", "--rm", "synced"]).stdout).toContain("CHANGED\n");

    rmSync(join(ctx, "src", "f2.txt"));
    const del = build();
    expect(del.stderr).toContain("(22 entries, 0 changed)");
    const out = d.berth(["run", "--rm", "synced"]).stdout;
    expect(out).toContain("f3.txt");
    expect(out).not.toContain("f2.txt");
  });

  it("counts the copies as build cache and prunes them", () => {
    const df = d.docker(["system", "df", "-v"]).stdout;
    expect(df).toContain("source.local");
    const prune = d.docker(["builder", "prune", "-af"]);
    expect(prune.code).toBe(0);
    expect(readdirSync(copies())).toEqual([]);
    const again = build();
    expect(again.stderr).toContain("(22 entries, 22 changed)");
  });

  it("builder prune also empties RUN --mount=type=cache directories", () => {
    const cm = mkdtempSync(join(tmpdir(), "berth-build-cm-"));
    try {
      writeFileSync(
        join(cm, "Dockerfile"),
        "FROM busybox\nRUN --mount=type=cache,target=/cache echo run >> /cache/log && wc -l < /cache/log > /count\n",
      );
      const count = () => {
        expect(d.berth(["build", "-q", "--no-cache", "-t", "cm", cm], { timeoutMs: 120_000 }).code).toBe(0);
        return d.berth(["run", "--rm", "cm", "cat", "/count"]).stdout.trim();
      };
      expect(count()).toBe("1");
      expect(count()).toBe("2");
      expect(d.docker(["builder", "prune", "-f"]).code).toBe(0);
      expect(count()).toBe("1");
    } finally {
      rmSync(cm, { recursive: true, force: true });
    }
  });
});
