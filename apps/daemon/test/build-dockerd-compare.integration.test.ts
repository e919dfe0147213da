import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { busyboxTar, repo, useDaemon } from "./harness.ts";
import { hasDockerd, ReferenceDockerd } from "./referenceDockerd.ts";

// One Dockerfile using every instruction (test-fixtures/every-instruction), built by berthd and by
// a reference dockerd's classic builder (DOCKER_BUILDKIT=0) from the same busybox import, through
// the same docker CLI: the image Config and the history must match. Skipped without dockerd.
describe.skipIf(!hasDockerd())("build: berth against a reference dockerd, every instruction", () => {
  const d = useDaemon();
  const ref = new ReferenceDockerd();
  const work = mkdtempSync(join(tmpdir(), "berth-build-cmp-"));
  const ctx = join(work, "ctx");
  cpSync(join(repo, "test-fixtures/every-instruction"), ctx, { recursive: true });
  const legacy = { env: { DOCKER_BUILDKIT: "0" }, timeoutMs: 180_000 };
  type Side = { docker: typeof ref.docker };
  const sides: Array<[string, Side]> = [
    ["berthd", d],
    ["dockerd", ref],
  ];

  beforeAll(async () => {
    await ref.start();
    const r = ref.docker(["import", "--change", 'CMD ["sh"]', busyboxTar(), "busybox:latest"]);
    if (r.code !== 0) throw new Error(`dockerd import failed: ${r.stderr}`);
    for (const [name, side] of sides) {
      const b = side.docker(["build", "--build-arg", "GREETING=hi", "-t", "every:1", ctx], legacy);
      if (b.code !== 0) throw new Error(`${name} build failed: ${b.stdout}\n${b.stderr}`);
    }
  }, 300_000);
  afterAll(async () => {
    await ref.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const inspect = (s: Side, format: string) =>
    s.docker(["image", "inspect", "-f", format, "every:1"]).stdout.trim();

  it("the image Config matches field by field", () => {
    const fields = [
      "User",
      "ExposedPorts",
      "Env",
      "Cmd",
      "Healthcheck",
      "Volumes",
      "WorkingDir",
      "Entrypoint",
      "OnBuild",
      "Labels",
      "StopSignal",
      "Shell",
    ];
    for (const f of fields) {
      const fmt = `{{json .Config.${f}}}`;
      expect(inspect(d, fmt), f).toBe(inspect(ref, fmt));
    }
    for (const f of ["Author", "Os", "Architecture"]) {
      expect(inspect(d, `{{json .${f}}}`), f).toBe(inspect(ref, `{{json .${f}}}`));
    }
  });

  it("history has the same steps with the same created_by and empty-layer marks", () => {
    const hist = (s: Side) =>
      s
        .docker([
          "history",
          "--no-trunc",
          "--format",
          '{{.CreatedBy}}|{{if eq .Size "0B"}}0{{else}}1{{end}}',
          "every:1",
        ])
        .stdout.trim()
        .split("\n");
    // COPY/ADD name their sources by a content hash docker computes its own way (`file:<hex>`).
    // Known differences, left to the builder's config steps: docker 20.10 writes HEALTHCHECK as
    // Go's %q of the struct (`&{["CMD" "true"] "30s" "3s" "0s" '\x02'}`) and a SHELL step under
    // the new shell (`/bin/sh -ec #(nop)  SHELL [/bin/sh -ec]`).
    const norm = (lines: string[]) =>
      lines
        .map((l) => l.replace(/file:[0-9a-f]{64}/, "file:<hash>").replace(/dir:[0-9a-f]{64}/, "dir:<hash>"))
        .filter((l) => !/#\(nop\) {2}(HEALTHCHECK|SHELL) /.test(l));
    const a = norm(hist(d));
    const b = norm(hist(ref));
    expect(a).toEqual(b);
  });

  it("both images run with the same output", () => {
    const out = (s: Side) => s.docker(["run", "--rm", "--network", "none", "every:1", "there"]).stdout;
    expect(out(d)).toBe("hi there from /app\n");
    expect(out(ref)).toBe(out(d));
  });
});
