import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { busyboxTar, repo, run, runAsync, useDaemon } from "./harness.ts";
import { hasDockerd, ReferenceDockerd } from "./referenceDockerd.ts";

// Images move between berthd and a reference dockerd (Debian's docker.io 20.10) through
// save/load archives, in both directions, and run with the same output and the same image ID.
// Skipped cleanly where dockerd is not installed.
describe.skipIf(!hasDockerd())("save/load with a reference dockerd", () => {
  const d = useDaemon();
  const ref = new ReferenceDockerd();
  const work = mkdtempSync(join(tmpdir(), "berth-dockerd-interop-"));
  beforeAll(async () => {
    await ref.start();
    const r = ref.docker(["import", "--change", 'CMD ["sh"]', busyboxTar(), "busybox:latest"]);
    if (r.code !== 0) throw new Error(`dockerd import failed: ${r.stderr}`);
  }, 120_000);
  afterAll(async () => {
    await ref.stop();
    rmSync(work, { recursive: true, force: true });
  });

  function context(text: string): string {
    const ctx = mkdtempSync(join(work, "ctx-"));
    writeFileSync(
      join(ctx, "Dockerfile"),
      `FROM busybox\nRUN mkdir /data && echo ${text} > /data/msg && rm -rf /tmp\nENV WHO=${text}\nWORKDIR /data\nCMD ["cat", "msg"]\n`,
    );
    return ctx;
  }
  const legacy = { env: { DOCKER_BUILDKIT: "0" }, timeoutMs: 120_000 };

  it("berth save -> dockerd load -> run", () => {
    expect(d.docker(["build", "-q", "-t", "from-berth:1", context("made-by-berth")], legacy).code).toBe(0);
    const file = join(work, "from-berth.tar");
    expect(d.berth(["save", "-o", file, "from-berth:1"]).code).toBe(0);
    const l = ref.docker(["load", "-i", file]);
    expect(l.stderr).toBe("");
    expect(l).toMatchObject({ code: 0, stdout: "Loaded image: from-berth:1\n" });
    const id = (x: { docker: typeof ref.docker }) =>
      x.docker(["inspect", "-f", "{{.Id}} {{json .Config.Cmd}} {{.Config.WorkingDir}}", "from-berth:1"])
        .stdout;
    expect(id(ref)).toBe(id(d));
    const r = ref.docker(["run", "--rm", "--network", "none", "from-berth:1"]);
    expect(r).toMatchObject({ code: 0, stdout: "made-by-berth\n" });
    // The whiteout of /tmp survives the trip: dockerd's overlay hides the base layer's /tmp.
    expect(ref.docker(["run", "--rm", "--network", "none", "from-berth:1", "ls", "/tmp"]).code).not.toBe(0);
  });

  it.skipIf(run("sh", ["-c", "command -v debootstrap"]).code !== 0)(
    "the seed's friendlyhello, built by berth, saved, loaded into dockerd, answers Hello World! there",
    async () => {
      const env = {
        DOCKER_HOST: d.host,
        BERTH_NO_AUTOSTART: "1",
        BERTH: `${process.execPath} ${join(repo, "apps/cli/bin/berth.js")}`,
      };
      const mk = await runAsync(join(repo, "test-fixtures/python/make-image.sh"), [], {
        env,
        timeoutMs: 600_000,
      });
      expect(mk.code, mk.stderr).toBe(0);
      const b = d.berth(["build", "-q", "-t", "friendlyhello", join(repo, "test-fixtures/friendlyhello")], {
        timeoutMs: 300_000,
      });
      expect(b.code, b.stderr).toBe(0);
      const file = join(work, "friendlyhello.tar");
      expect(d.berth(["save", "-o", file, "friendlyhello"]).code).toBe(0);
      expect(ref.docker(["load", "-i", file], { timeoutMs: 300_000 }).stdout).toBe(
        "Loaded image: friendlyhello:latest\n",
      );
      const id = ref.docker(["run", "-d", "--network", "none", "--hostname", "on-dockerd", "friendlyhello"]);
      expect(id.code, id.stderr).toBe(0);
      const probe =
        "import time, urllib.request\n" +
        "for i in range(100):\n" +
        "    try:\n" +
        "        print(urllib.request.urlopen('http://127.0.0.1:80/').read().decode()); break\n" +
        "    except OSError: time.sleep(0.1)\n";
      const r = ref.docker(["exec", id.stdout.trim(), "python", "-c", probe]);
      expect(r.stdout).toContain("<h3>Hello World!</h3><b>Hostname:</b> on-dockerd");
      ref.docker(["rm", "-f", id.stdout.trim()]);
    },
    600_000,
  );

  it("dockerd save -> berth load -> run", () => {
    expect(ref.docker(["build", "-q", "-t", "from-dockerd:1", context("made-by-dockerd")], legacy).code).toBe(
      0,
    );
    const file = join(work, "from-dockerd.tar");
    expect(ref.docker(["save", "-o", file, "from-dockerd:1"]).code).toBe(0);
    const l = d.berth(["load", "-i", file]);
    expect(l).toMatchObject({ code: 0, stdout: "Loaded image: from-dockerd:1\n" });
    const id = (x: { docker: typeof ref.docker }) =>
      x.docker(["inspect", "-f", "{{.Id}} {{json .Config.Cmd}} {{.Config.WorkingDir}}", "from-dockerd:1"])
        .stdout;
    expect(id(d)).toBe(id(ref));
    expect(d.docker(["run", "--rm", "from-dockerd:1"])).toMatchObject({
      code: 0,
      stdout: "made-by-dockerd\n",
    });
    expect(d.docker(["run", "--rm", "from-dockerd:1", "sh", "-c", "echo $WHO; ls /tmp"]).stdout).toBe(
      "made-by-dockerd\n",
    );
    // And back again: berth's save of a dockerd-made image loads into dockerd under a new tag.
    d.docker(["tag", "from-dockerd:1", "round:trip"]);
    const back = join(work, "back.tar");
    expect(d.docker(["save", "-o", back, "round:trip"]).code).toBe(0);
    expect(ref.docker(["load", "-i", back]).stdout).toBe("Loaded image: round:trip\n");
    expect(ref.docker(["run", "--rm", "--network", "none", "round:trip"]).stdout).toBe("made-by-dockerd\n");
  });
});
